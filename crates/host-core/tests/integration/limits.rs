//! Fuel and memory limits: a runaway plugin is stopped by fuel, memory never exceeds the cap,
//! and after each the host and the plugin keep working (RES-*, G9).

use crate::common::{assert_kind, buffer_wat, canary, plugin_recovers};
use plugboard_host_core::{ErrorKind, Host, Limits, PluginOptions};

#[test]
fn res_01_wasm_infinite_loop_stopped() {
    let h = Host::builder()
        .limits(Limits {
            fuel: 10_000_000,
            ..Limits::default()
        })
        .build();
    let mut p = h
        .load_wasm(&buffer_wat(
            "",
            r#"(func (export "__spin") (param i64) (result i64) (loop $l (br $l)) (i64.const 0))"#,
        ))
        .unwrap();
    assert_kind(p.call_bytes("spin", vec![]), |k| {
        matches!(k, ErrorKind::OutOfFuel { budget: 10_000_000 })
    });
    // The whole budget was used, and no more than one slice beyond it.
    assert!(p.fuel_consumed() <= 10_000_000, "{}", p.fuel_consumed());
    assert!(
        p.fuel_consumed() >= 10_000_000 - 1_000_000,
        "{}",
        p.fuel_consumed()
    );
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn long_metered_loop_runs_to_the_end() {
    // 10 M iterations under fuel: guards the interpreter's dispatch against stack growth.
    let h = Host::builder()
        .limits(Limits {
            fuel: 2_000_000_000,
            ..Limits::default()
        })
        .build();
    let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
    let n = 10_000_000u64;
    assert_eq!(p.call::<u64, u64>("sum", &n).unwrap(), n * (n + 1) / 2);
    assert!(p.fuel_consumed() > n);
}

#[test]
fn res_03_wasm_deep_recursion() {
    let h = Host::builder().build();
    let mut p = h
        .load_wasm(&buffer_wat(
            "",
            r#"(func $r (export "__rec") (param i64) (result i64) (call $r (local.get 0)))"#,
        ))
        .unwrap();
    assert_kind(p.call_bytes("rec", vec![]), |k| {
        matches!(k, ErrorKind::StackOverflow)
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn res_05_wasm_memory_grow_to_cap() {
    let cap = (16 << 20) + 12_345;
    let h = Host::builder()
        .limits(Limits {
            memory_bytes: cap,
            ..Limits::default()
        })
        .build();
    // Grows one page at a time until memory.grow fails, then returns the page count.
    let extra = r#"(func (export "__grow") (param i64) (result i64)
        (block $done (loop $l (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1))) (br $l)))
        (i64.store (i32.const 0) (i64.extend_i32_u (memory.size)))
        (i64.const 8))"#;
    let mut p = h.load_wasm(&buffer_wat("", extra)).unwrap();
    let pages: u64 = p.call("grow", &()).unwrap();
    assert_eq!(pages, 256);
    assert!(p.memory_bytes() <= cap && cap - p.memory_bytes() < 65536);
    // At the cap, the plugin still answers, and so does a fresh one.
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn rust_plugin_over_memory_cap_is_memory_limit() {
    let h = Host::builder()
        .limits(Limits {
            memory_bytes: 4 << 20,
            ..Limits::default()
        })
        .build();
    let mut p = h.load_wasm(plugboard_fixtures::WASI_PROBE).unwrap();
    assert_eq!(p.call::<u32, usize>("grow", &1).unwrap(), 1 << 20);
    assert_kind(
        p.call::<u32, usize>("grow", &8),
        |k| matches!(k, ErrorKind::MemoryLimit { cap } if *cap == 4 << 20),
    );
    assert!(p.memory_bytes() <= 4 << 20);
    assert_eq!(p.call::<u32, usize>("grow", &1).unwrap(), 1 << 20);
}

#[test]
fn res_07_bulk_fill_loop_charged() {
    // The wall-clock deadline is only a watchdog: were memory.fill not charged by length, the
    // loop would never run out of fuel and the call would end as `timeout`, failing the test
    // instead of hanging it.
    let h = Host::builder()
        .limits(Limits {
            fuel: 5_000_000,
            memory_bytes: 32 << 20,
            timeout_ms: Some(120_000),
            ..Limits::default()
        })
        .build();
    let extra = r#"(func (export "__fill") (param i64) (result i64)
        (drop (memory.grow (i32.const 255)))
        (loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 16000000)) (br $l)) (i64.const 0))"#;
    let mut p = h.load_wasm(&buffer_wat("", extra)).unwrap();
    assert_kind(p.call_bytes("fill", vec![]), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn input_size_cap() {
    let h = Host::builder()
        .limits(Limits {
            max_input_bytes: 16,
            ..Limits::default()
        })
        .build();
    let mut p = h.load_wasm(&buffer_wat("", "")).unwrap();
    assert_kind(p.call_bytes("ping", vec![0; 17]), |k| {
        matches!(k, ErrorKind::InputTooLarge { len: 17, max: 16 })
    });
    plugin_recovers(&mut p);
}

#[test]
fn per_plugin_limits_override_the_hosts() {
    let h = Host::builder().build();
    let tight = Limits {
        fuel: 1000,
        ..Limits::default()
    };
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::PERF,
            PluginOptions::named("perf").with_limits(tight),
        )
        .unwrap();
    assert_kind(p.call::<u64, u64>("sum", &1_000_000), |k| {
        matches!(k, ErrorKind::OutOfFuel { budget: 1000 })
    });
    let mut q = h.load_wasm(plugboard_fixtures::PERF).unwrap();
    assert_eq!(q.call::<u64, u64>("sum", &1000).unwrap(), 500_500);
}

#[test]
fn fuel_consumed_is_deterministic() {
    // Same plugin, same input, fresh instance: same fuel. (A second call on one instance can
    // differ: the first grows the guest's heap and installs its panic hook.)
    let h = Host::builder().build();
    let run = || {
        let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
        p.call::<u64, u64>("sum", &10_000).unwrap();
        p.fuel_consumed()
    };
    let a = run();
    assert_eq!(a, run());
    assert!(a > 10_000);
}

#[test]
fn log_flood_is_truncated_per_call() {
    let log = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let sink = log.clone();
    let h = crate::conformance::builder(Default::default())
        .limits(Limits {
            max_log_bytes: 64,
            ..Limits::default()
        })
        .on_log(move |r| sink.borrow_mut().push_str(&r.message))
        .build();
    let mut p = h.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
    let long = "x".repeat(1000);
    p.call::<str, ()>("print", &long).unwrap();
    let text = log.borrow().clone();
    assert!(text.len() < 200, "{} bytes logged", text.len());
    assert!(text.contains("log truncated"));
}

/// RES-12: `Limits::max_output_bytes` holds on every ABI and engine. The buffer, fixed and
/// nvim ABIs are covered by ABI-10 and their own tests; here the Extism kernel (`output_set`)
/// and Lua results, each just under and just over a 1 KiB cap, then the canary.
#[test]
fn res_12_output_cap_on_the_kernel_and_lua() {
    let h = Host::builder()
        .limits(Limits {
            max_output_bytes: 1024,
            ..Limits::default()
        })
        .build();
    // An Extism plugin that outputs `len` bytes of a fresh block, `len` taken from the input.
    let kernel = wat::parse_str(
        r#"(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $n i64)
    (local.set $n (call $input_load_u64 (i64.const 0)))
    (call $output_set (call $alloc (local.get $n)) (local.get $n))
    (i32.const 0)))"#,
    )
    .unwrap();
    let mut p = h.load_wasm(&kernel).unwrap();
    let out = p.call_bytes("run", 1024u64.to_le_bytes().to_vec()).unwrap();
    assert_eq!(out.len(), 1024);
    assert_kind(p.call_bytes("run", 1025u64.to_le_bytes().to_vec()), |k| {
        matches!(
            k,
            ErrorKind::OutputTooLarge {
                len: 1025,
                max: 1024
            }
        )
    });
    assert_eq!(
        p.call_bytes("run", 3u64.to_le_bytes().to_vec())
            .unwrap()
            .len(),
        3
    );

    // Lua: the result as the caller receives it (JSON: a string of n bytes is n + 2).
    let mut lua = h
        .load_lua("big", "function f(n) return string.rep('x', n) end")
        .unwrap();
    let ok = lua
        .call_value("f", vec![plugboard_host_core::Value::Int(1022)])
        .unwrap();
    assert_eq!(ok, plugboard_host_core::Value::String("x".repeat(1022)));
    assert_kind(
        lua.call_value("f", vec![plugboard_host_core::Value::Int(1023)]),
        |k| {
            matches!(
                k,
                ErrorKind::OutputTooLarge {
                    len: 1025,
                    max: 1024
                }
            )
        },
    );
    assert_eq!(
        lua.call_value("f", vec![plugboard_host_core::Value::Int(2)])
            .unwrap(),
        plugboard_host_core::Value::String("xx".into())
    );
    canary(&h);
}

/// RES-16: a loop of `memory.grow`/`table.grow` that fail (-1: past the memory's absolute
/// maximum, past the table's own) runs until its fuel is gone, on a 2 MiB thread. wasmi 2.0 left
/// a native stack frame per failing grow and the loop aborted the host process (fixed by
/// patches/wasmi-2.0.0).
#[test]
fn res_16_failing_grow_loop_keeps_the_native_stack() {
    for grow in [
        "(drop (memory.grow (i32.const 65536)))",
        "(drop (table.grow $t (ref.null func) (i32.const 5)))",
    ] {
        let outcome = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let h = Host::builder()
                    .limits(Limits {
                        fuel: 5_000_000,
                        ..Limits::default()
                    })
                    .build();
                let extra = format!(
                    r#"(table $t 1 2 funcref)
                    (func (export "__run") (param i64) (result i64) (loop $l {grow} (br $l)) (i64.const 0))"#
                );
                let mut p = h.load_wasm(&buffer_wat("", &extra)).unwrap();
                assert_kind(p.call_bytes("run", Vec::new()), |k| {
                    matches!(k, ErrorKind::OutOfFuel { .. })
                });
                plugin_recovers(&mut p);
                canary(&h);
            })
            .unwrap()
            .join();
        assert!(
            outcome.is_ok(),
            "{grow}: the loop did not end as out of fuel"
        );
    }
}
