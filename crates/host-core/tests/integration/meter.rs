//! The instrumenter on real plugins: the fixture perf loops compute the same results metered by
//! the instrumenter as by wasmi, and the two fuel counts agree within ±25%.

use crate::raw_wasmi::{Metering, Raw};

/// (plugin, call, the fuel wasmi counts, the fuel the instrumenter counts).
fn both_ways() -> Vec<(&'static str, u64, u64)> {
    let mut rows = Vec::new();
    for (name, export, input) in [
        (
            "rust `sum(10_000)`",
            "__sum",
            bincode::serialize(&10_000u64).unwrap(),
        ),
        (
            "rust `count_primes(1000)`",
            "__count_primes",
            bincode::serialize(&1000u32).unwrap(),
        ),
    ] {
        let (a, wasmi) =
            Raw::new(plugboard_fixtures::PERF, Metering::Wasmi).call_buffer(export, &input);
        let (b, meter) =
            Raw::new(plugboard_fixtures::PERF, Metering::Instrumented).call_buffer(export, &input);
        assert_eq!(a, b, "{name}: the same result both ways");
        rows.push((name, wasmi, meter));
    }
    for (name, export, input) in [
        ("zig `for_loop(10_000)`", "for_loop", "10000"),
        ("zig `primes(1000)`", "primes", "1000"),
    ] {
        let (a, wasmi) =
            Raw::new(plugboard_fixtures::ZIG_PERF, Metering::Wasmi).call_nvim(export, input);
        let (b, meter) =
            Raw::new(plugboard_fixtures::ZIG_PERF, Metering::Instrumented).call_nvim(export, input);
        assert_eq!(a, b, "{name}: the same result both ways");
        rows.push((name, wasmi, meter));
    }
    rows
}

#[test]
fn perf_loops_count_about_the_same_fuel_as_wasmi() {
    let rows = both_ways();
    for (name, wasmi, meter) in &rows {
        let ratio = *meter as f64 / *wasmi as f64;
        assert!(
            (0.75..=1.25).contains(&ratio),
            "{name}: {meter} against wasmi's {wasmi} ({ratio:.2})"
        );
    }
}
