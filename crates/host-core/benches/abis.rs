//! The performance loop in each kind of plugin, natively, in one run (the comparison the demo
//! page shows), and the nvim ABI's per-call cost against the buffer ABI's.
//!
//! - `perf_loop_by_plugin`: sum 1..=1,000,000 through `Plugin::call` in the Rust buffer-ABI
//!   plugin (`plugins/rust/perf`), the Zig nvim-ABI plugin (`plugins/zig/perf.zig`) and the Lua
//!   plugin (`plugins/lua/perf`).
//! - `abi_echo`: a 5-byte string round trip, the input already encoded (`call_bytes`): bincode
//!   through the buffer ABI's `echo(String)`, JSON text through the nvim ABI's `echo(id)` (which
//!   hands back the id it got: the guest does nothing, so this is the ABI's own cost: a value
//!   in the slab, one host call of the export, the result checked as JSON and rendered).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use plugboard_host_core::{Host, Value};
use std::hint::black_box;

const N: u64 = 1_000_000;

fn perf_loop(c: &mut Criterion) {
    let host = Host::builder().build();
    let mut rust = host.load_wasm(plugboard_fixtures::PERF).unwrap();
    let mut zig = host.load_wasm(plugboard_fixtures::ZIG_PERF).unwrap();
    let mut lua = host
        .load_lua("perf", include_str!("../../../plugins/lua/perf/main.lua"))
        .unwrap();
    let expected = N * (N + 1) / 2;
    assert_eq!(rust.call::<u64, u64>("sum", &N).unwrap(), expected);
    assert_eq!(zig.call::<u64, u64>("for_loop", &N).unwrap(), expected);
    assert_eq!(lua.call::<u64, u64>("sum", &N).unwrap(), expected);
    let mut g = c.benchmark_group("perf_loop_by_plugin");
    g.sample_size(10);
    g.bench_function("rust_buffer_abi", |b| {
        b.iter(|| rust.call::<u64, u64>("sum", black_box(&N)).unwrap())
    });
    g.bench_function("zig_nvim_abi", |b| {
        b.iter(|| zig.call::<u64, u64>("for_loop", black_box(&N)).unwrap())
    });
    g.bench_function("lua", |b| {
        b.iter(|| lua.call::<u64, u64>("sum", black_box(&N)).unwrap())
    });
    g.finish();
}

fn abi_echo(c: &mut Criterion) {
    let host = Host::builder()
        .func("host", "add", |(a, b): (i64, i64)| a + b)
        .build();
    let mut buffer = host.load_wasm(plugboard_fixtures::PERF).unwrap();
    let mut nvim = host
        .load_wasm(plugboard_fixtures::ZIG_NVIM_EXAMPLES)
        .unwrap();
    let bincode = {
        let mut v = 5u64.to_le_bytes().to_vec();
        v.extend_from_slice(b"hello");
        v
    };
    let json = br#""hello""#.to_vec();
    assert_eq!(buffer.call_bytes("echo", bincode.clone()).unwrap(), bincode);
    assert_eq!(nvim.call_bytes("echo", json.clone()).unwrap(), json);
    let mut g = c.benchmark_group("abi_echo");
    g.bench_function("buffer_bincode", |b| {
        b.iter(|| {
            buffer
                .call_bytes("echo", black_box(bincode.clone()))
                .unwrap()
        })
    });
    g.bench_function("nvim_json", |b| {
        b.iter(|| nvim.call_bytes("echo", black_box(json.clone())).unwrap())
    });
    g.bench_function("nvim_value", |b| {
        b.iter(|| {
            nvim.call_value("echo", vec![black_box(Value::String("hello".into()))])
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, perf_loop, abi_echo);
criterion_main!(benches);
