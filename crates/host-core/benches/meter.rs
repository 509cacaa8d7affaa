//! The fuel instrumenter on wasmi: the perf loops metered by wasmi's own fuel, by host-core's
//! instrumenter (wasmi's fuel off), and not metered at all, timed in one run; and the fuel each
//! way for the same calls, written to `target/bench/meter-fuel.json` for `bench/report.mjs`.

// Benchmark harness: a failed setup should abort the run loudly.
#![allow(clippy::unwrap_used)]

#[path = "../tests/integration/raw_wasmi.rs"]
mod raw_wasmi;

use criterion::Criterion;
use raw_wasmi::{Metering, Raw};
use std::hint::black_box;

const WAYS: [(&str, Metering); 3] = [
    ("wasmi_fuel", Metering::Wasmi),
    ("instrumented", Metering::Instrumented),
    ("no_metering", Metering::Off),
];

fn rust_sum(c: &mut Criterion) {
    let input = bincode::serialize(&1_000_000u64).unwrap();
    let mut g = c.benchmark_group("meter_rust_sum_1M");
    for (name, metering) in WAYS {
        let mut raw = Raw::new(plugboard_fixtures::PERF, metering);
        g.bench_function(name, |b| {
            b.iter(|| raw.call_buffer("__sum", black_box(&input)))
        });
    }
    g.finish();
}

fn zig_sum(c: &mut Criterion) {
    let mut g = c.benchmark_group("meter_zig_for_loop_1M");
    for (name, metering) in WAYS {
        let mut raw = Raw::new(plugboard_fixtures::ZIG_PERF, metering);
        g.bench_function(name, |b| {
            b.iter(|| raw.call_nvim("for_loop", black_box("1000000")))
        });
    }
    g.finish();
}

/// The fuel of each fixture call both ways (deterministic: no timing involved), as JSON.
fn fuel_rows() -> String {
    let rows: Vec<String> = raw_wasmi::fuel_both_ways()
        .into_iter()
        .map(|(call, wasmi, meter)| {
            format!(r#"{{"call":"{call}","wasmi":{wasmi},"meter":{meter}}}"#)
        })
        .collect();
    format!("[{}]\n", rows.join(",\n"))
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("meter-fuel.json"), fuel_rows()).unwrap();
    let mut c = Criterion::default().sample_size(10).configure_from_args();
    rust_sum(&mut c);
    zig_sum(&mut c);
    c.final_summary();
}
