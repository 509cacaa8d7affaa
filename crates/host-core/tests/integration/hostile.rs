//! RELIABILITY.md §5 cases not covered by the per-ABI files: malformed-module encodings
//! (MOD-06..10, 14..17), resource exhaustion (RES-04, RES-08, RES-09, RES-10), host-function faults in
//! Lua (HFN-11..13), re-entrancy across plugins (CON-03), suspended-call lifetimes (CON-06),
//! independent hosts on threads (CON-07), and round trips (DAT-03, DAT-04, DAT-09). Each case
//! asserts the error kind, then the canary answers on the same host.

use crate::common::{assert_kind, buffer_wat, canary, plugin_recovers};
use plugboard_host_core::{ErrorKind, Host, Limits, Step, Value};

fn host() -> Host {
    Host::builder()
        .limits(Limits {
            fuel: 10_000_000,
            ..Limits::default()
        })
        .func("env", "log", |s: String| s.len() as u32)
        .build()
}

const HEADER: &[u8] = b"\0asm\x01\0\0\0";

fn module(sections: &[&[u8]]) -> Vec<u8> {
    let mut m = HEADER.to_vec();
    for s in sections {
        m.extend_from_slice(s);
    }
    m
}

fn leb(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![id];
    leb(body.len() as u64, &mut s);
    s.extend_from_slice(body);
    s
}

/// A module of `n` functions of type `() -> ()`, each with `body` (without its size prefix).
fn functions(n: usize, locals: &[u8], code: &[u8]) -> Vec<u8> {
    let types = section(1, &[1, 0x60, 0, 0]);
    let mut funcs = Vec::new();
    leb(n as u64, &mut funcs);
    funcs.extend(std::iter::repeat_n(0u8, n));
    let mut body = locals.to_vec();
    body.extend_from_slice(code);
    let mut entry = Vec::new();
    leb(body.len() as u64, &mut entry);
    entry.extend_from_slice(&body);
    let mut codes = Vec::new();
    leb(n as u64, &mut codes);
    for _ in 0..n {
        codes.extend_from_slice(&entry);
    }
    module(&[&types, &section(3, &funcs), &section(10, &codes)])
}

/// Either outcome is fine for a module at the edge of the limits, if it is a typed one and
/// quick (no stack overflow, no huge allocation); the canary answers after it.
fn loads_or_is_invalid(h: &Host, bytes: &[u8]) {
    if let Err(e) = h.load_wasm(bytes) {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidModule { .. } | ErrorKind::AbiDetection { .. }
            ),
            "{e:?}"
        );
    }
    canary(h);
}

fn rejected(h: &Host, bytes: &[u8]) {
    assert_kind(h.load_wasm(bytes), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(h);
}

#[test]
fn mod_06_leb128_overlong_and_overflowing_rejected() {
    let h = host();
    // A section size as a 6-byte LEB, one over 2^32, and an overlong function count.
    rejected(
        &h,
        &module(&[&[1, 0x84, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 0x60, 0, 0]]),
    );
    rejected(
        &h,
        &module(&[&[1, 0x80, 0x80, 0x80, 0x80, 0x10, 1, 0x60, 0, 0]]),
    );
    rejected(
        &h,
        &module(&[
            &[1, 4, 1, 0x60, 0, 0],
            &[3, 7, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0],
        ]),
    );
}

#[test]
fn mod_07_section_order_and_duplicates_rejected() {
    let h = host();
    let types = section(1, &[1, 0x60, 0, 0]);
    let funcs = section(3, &[1, 0]);
    let memory = section(5, &[1, 0, 1]);
    rejected(&h, &module(&[&funcs, &types]));
    rejected(&h, &module(&[&types, &memory, &memory]));
    rejected(&h, &module(&[&types, &types]));
}

#[test]
fn mod_08_huge_section_size_no_preallocation() {
    let h = host();
    let mut m = module(&[&[0x01, 0xff, 0xff, 0xff, 0xff, 0x0f]]);
    m.resize(100, 0);
    rejected(&h, &m);
}

#[test]
fn mod_09_huge_vector_count_no_preallocation() {
    let h = host();
    // 0xFFFFFFF0 types, functions and code entries in a few bytes.
    let count = [0xf0, 0xff, 0xff, 0xff, 0x0f];
    for id in [1u8, 3, 10, 11] {
        let mut body = count.to_vec();
        body.extend_from_slice(&[0x60, 0, 0]);
        rejected(&h, &module(&[&section(id, &body)]));
    }
}

#[test]
fn mod_10_custom_section_bomb_ignored() {
    let h = host();
    // A 4 MiB "name" section of 1M tiny entries in a module that is otherwise a valid plugin:
    // accepted, because custom sections other than our own are not parsed.
    let mut names = Vec::new();
    leb(1_000_000, &mut names);
    for i in 0..1_000_000u32 {
        leb(u64::from(i), &mut names);
        names.extend_from_slice(&[1, b'x']);
    }
    let mut custom = vec![4];
    custom.extend_from_slice(b"name");
    custom.extend_from_slice(&names);
    let mut m = buffer_wat("", "");
    m.extend_from_slice(&section(0, &custom));
    let mut p = h.load_wasm(&m).expect("a custom section bomb is ignored");
    assert_eq!(p.call_bytes("ping", Vec::new()).unwrap(), b"pong");
    canary(&h);
}

/// Found by the `module_load` fuzz target: a code section that declares no functions but
/// holds bytes made wasmi 2.0 divide by zero (a panic natively, an abort on wasm32).
#[test]
fn code_section_without_functions_is_invalid_not_a_crash() {
    let h = host();
    rejected(&h, &module(&[&section(10, &[0; 2000])]));
    rejected(
        &h,
        &module(&[&section(1, &[1, 0x60, 0, 0]), &section(10, &[0, 1, 2, 3])]),
    );
}

#[test]
fn mod_14_min_avg_function_size_bomb() {
    // 5,000 functions with 2-byte bodies (no locals, `end`): strict limits want 40 on average.
    rejected(&host(), &functions(5_000, &[0], &[0x0b]));
}

#[test]
fn mod_15_deeply_nested_blocks() {
    let h = host();
    let depth = 100_000;
    let mut code = Vec::with_capacity(depth * 3 + 1);
    for _ in 0..depth {
        code.extend_from_slice(&[0x02, 0x40]);
    }
    code.extend(std::iter::repeat_n(0x0b, depth + 1));
    // Validation error or a module; never a stack overflow.
    loads_or_is_invalid(&h, &functions(1, &[0], &code));
}

#[test]
fn mod_16_huge_br_table() {
    let h = host();
    // block; i32.const 0; br_table with 1M targets of depth 0; end; end.
    let mut code = vec![0x02, 0x40, 0x41, 0x00, 0x0e];
    leb(1_000_000, &mut code);
    code.extend(std::iter::repeat_n(0u8, 1_000_001));
    code.extend_from_slice(&[0x0b, 0x0b]);
    loads_or_is_invalid(&h, &functions(1, &[0], &code));
}

#[test]
fn mod_17_many_locals() {
    let h = host();
    // 50,000 i64 locals in each of 100 functions.
    let mut locals = vec![1];
    leb(50_000, &mut locals);
    locals.push(0x7e);
    loads_or_is_invalid(&h, &functions(100, &locals, &[0x0b]));
    // Translated when first called (lazy translation): a body within the validator's limits
    // but over wasmi's translator's (40,000 locals; wasmi 2.0) fails that call as an invalid
    // module and the plugin's other functions still answer; past the validator's (70,000) the
    // load fails.
    let big = |n: usize| {
        buffer_wat(
            "",
            &format!(
                r#"(func (export "__big") (param i64) (result i64) (local {}) (i64.const 0))"#,
                vec!["i64"; n].join(" ")
            ),
        )
    };
    let mut p = h.load_wasm(&big(1_000)).unwrap();
    assert_eq!(p.call_bytes("big", Vec::new()).unwrap(), b"");
    let mut p = h.load_wasm(&big(40_000)).unwrap();
    assert_kind(
        p.call_bytes("big", Vec::new()),
        |k| matches!(k, ErrorKind::InvalidModule { reason } if reason.contains("when first called")),
    );
    assert_eq!(p.call_bytes("ping", Vec::new()).unwrap(), b"pong");
    assert_kind(h.load_wasm(&big(70_000)).map(drop), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(&h);
}

#[test]
fn res_04_wasm_recursion_with_big_frames() {
    let h = host();
    let locals: String = (0..1000).map(|_| " i64").collect();
    let plugin = buffer_wat(
        "",
        &format!(
            r#"(func $r (export "__run") (param i64) (result i64) (local{locals}) (call $r (local.get 0)))"#
        ),
    );
    let mut p = h.load_wasm(&plugin).unwrap();
    assert_kind(p.call_bytes("run", Vec::new()), |k| {
        matches!(k, ErrorKind::StackOverflow | ErrorKind::OutOfFuel { .. })
    });
    canary(&h);
}

/// RES-09: bodies are translated when first called (validated at load, MOD-18). 9,000
/// functions called once each through a table, with a fuel slice far smaller than the
/// translation of the module: the call completes slice by slice, translation is not charged
/// (wasmi would end the call if it ran out of fuel mid-translation, so it is free and bounded
/// by one pass over the module, as an eager load), fuel is the same on the first run and the
/// second, and a budget below the instructions' own fuel stops it with `OutOfFuel`.
#[test]
fn res_09_lazy_translation_bounded() {
    const N: usize = 9_000;
    let funcs: String = (0..N)
        // k ^ m, eight times over (even): 40+ bytes a body (strict limits reject tinier averages).
        .map(|k| {
            let mut body = format!("(i64.const {k})");
            for _ in 0..8 {
                body = format!("(i64.xor {body} (i64.const 123456789))");
            }
            format!("(func $f{k} (result i64) {body})\n")
        })
        .collect();
    let elems: String = (0..N).map(|k| format!(" $f{k}")).collect();
    let expected: u64 = (0..N as u64).sum();
    let plugin = buffer_wat(
        "",
        &format!(
            r#"(type $t (func (result i64)))
            (table {N} funcref)
            (elem (i32.const 0) func{elems})
            {funcs}
            (func (export "__run") (param i64) (result i64) (local $i i32) (local $sum i64)
              (loop $l
                (local.set $sum (i64.add (local.get $sum) (call_indirect (type $t) (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const {N}))))
              (if (i64.ne (local.get $sum) (i64.const {expected})) (then unreachable))
              (i64.const 0))"#
        ),
    );
    let slices = |fuel: u64| {
        Host::builder()
            .limits(Limits {
                fuel,
                fuel_slice: 1_000,
                ..Limits::default()
            })
            .build()
    };
    let h = slices(10_000_000);
    let mut p = h.load_wasm(&plugin).unwrap();
    p.call_bytes("run", Vec::new()).unwrap();
    let first = p.fuel_consumed();
    p.call_bytes("run", Vec::new()).unwrap();
    assert_eq!(p.fuel_consumed(), first, "the second run costs the same");
    assert!(first > N as u64 * 5, "{first}");
    let h = slices(first / 2);
    let mut p = h.load_wasm(&plugin).unwrap();
    assert_kind(p.call_bytes("run", Vec::new()), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    canary(&h);
}

/// Hosts of a thread share validated modules (wasm::Engines): loading the same bytes in two
/// hosts, or twice in one, gives plugins that share nothing but code — each its own memory,
/// globals and limits — and bytes that differ anywhere are another module.
#[test]
fn the_same_bytes_loaded_twice_share_no_state() {
    let counter = buffer_wat(
        "",
        r#"(global $n (mut i64) (i64.const 0))
        (func (export "__bump") (param i64) (result i64)
          (global.set $n (i64.add (global.get $n) (i64.const 1)))
          (i64.store (i32.const 64) (global.get $n))
          (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 8)))"#,
    );
    let bump = |p: &mut plugboard_host_core::Plugin| -> u64 {
        let out = p.call_bytes("bump", Vec::new()).unwrap();
        u64::from_le_bytes(out.try_into().unwrap())
    };
    let (h1, h2) = (host(), host());
    let mut a = h1.load_wasm(&counter).unwrap();
    let mut b = h1.load_wasm(&counter).unwrap();
    let mut c = h2.load_wasm(&counter).unwrap();
    assert_eq!([bump(&mut a), bump(&mut a), bump(&mut a)], [1, 2, 3]);
    assert_eq!(bump(&mut b), 1);
    assert_eq!(bump(&mut c), 1);
    drop(h1);
    assert_eq!(bump(&mut c), 2);
    // Other bytes (an export renamed) are another module, with its own exports.
    let renamed = buffer_wat(
        "",
        r#"(func (export "__bumq") (param i64) (result i64) (i64.const 0))"#,
    );
    let d = h2.load_wasm(&renamed).unwrap();
    assert!(d.exports().iter().any(|e| e.name == "bumq"));
    assert!(!d.exports().iter().any(|e| e.name == "bump"));
    canary(&h2);
}

/// Found by the `module_load` fuzz target: `memory.grow` in an endless loop (failing at the
/// cap, or growing by 0) overflowed the native stack (wasmi 2.0's `memory.grow` handler does
/// not tail-call the next instruction), aborting the host. The 65th refused growth of a call
/// ends it with `MemoryLimit`; growing by 0 forever runs out of fuel.
#[test]
fn memory_grow_in_an_endless_loop_is_out_of_fuel() {
    let h = host();
    for delta in [1, 0] {
        let plugin = buffer_wat(
            "",
            &format!(
                r#"(func (export "__run") (param i64) (result i64)
                  (loop $l (drop (memory.grow (i32.const {delta}))) (br $l))
                  (i64.const 0))"#
            ),
        );
        let mut p = h.load_wasm(&plugin).unwrap();
        assert_kind(p.call_bytes("run", Vec::new()), |k| {
            matches!(
                k,
                ErrorKind::OutOfFuel { .. } | ErrorKind::MemoryLimit { .. }
            )
        });
    }
    canary(&h);
}

#[test]
fn res_08_wasm_table_grow_to_cap() {
    let h = host();
    // table.grow by 10M answers -1 inside the plugin (the table limit is not a host error),
    // and the plugin reports what it got.
    let plugin = buffer_wat(
        "",
        r#"(table $t 1 funcref)
        (func (export "__run") (param i64) (result i64)
          (i32.store (i32.const 32) (table.grow $t (ref.null func) (i32.const 10000000)))
          (i64.or (i64.shl (i64.const 32) (i64.const 32)) (i64.const 4)))"#,
    );
    let mut p = h.load_wasm(&plugin).unwrap();
    let out = p
        .call_bytes("run", Vec::new())
        .expect("table.grow fails in the plugin");
    assert_eq!(i32::from_le_bytes(out.try_into().unwrap()), -1);
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn res_10_host_call_amplification_charged() {
    // A plugin that calls `env.log` with a 60 KiB string forever: each call costs the host a
    // copy and a decode, so each is charged fuel, and the call stops within its budget.
    let h = Host::builder()
        .limits(Limits {
            fuel: 2_000_000,
            ..Limits::default()
        })
        .func("env", "log", |s: String| s.len() as u32)
        .build();
    let plugin = buffer_wat(
        r#"(import "env" "__log" (func $log (param i64) (result i64)))"#,
        r#"(func (export "__run") (param i64) (result i64)
          (i64.store (i32.const 4096) (i64.const 60000))
          (loop $l
            (drop (call $log (i64.or (i64.shl (i64.const 4096) (i64.const 32)) (i64.const 60008))))
            (br $l))
          (i64.const 0))"#,
    );
    let mut p = h.load_wasm(&plugin).unwrap();
    let e = assert_kind(p.call_bytes("run", Vec::new()), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    assert!(
        p.fuel_consumed() <= 2_000_000 + 100_000,
        "{e}: {} fuel",
        p.fuel_consumed()
    );
    canary(&h);
}

fn lua_host() -> Host {
    Host::builder()
        .limits(Limits {
            fuel: 2_000_000,
            ..Limits::default()
        })
        .try_func("kv", "get", |key: String| {
            if key == "secret" {
                Err("denied".to_string())
            } else {
                Ok(key.len() as i64)
            }
        })
        .func("kv", "boom", |_: Value| -> i64 {
            panic!("host function bug")
        })
        .build()
}

#[test]
fn hfn_11_lua_host_fn_error_is_catchable_and_says_nothing_internal() {
    let h = lua_host();
    let mut p = h
        .load_lua(
            "p",
            r#"function go()
                local ok, e = pcall(kv.get, "secret")
                return {ok, tostring(e)}
            end"#,
        )
        .unwrap();
    let v = p.call_value("go", vec![]).unwrap();
    let Value::List(items) = v else {
        panic!("{v:?}")
    };
    assert_eq!(items[0], Value::Bool(false));
    let Value::String(msg) = &items[1] else {
        panic!("{items:?}")
    };
    assert!(msg.contains("denied"), "{msg}");
    assert!(
        !msg.contains("0x") && !msg.contains("src/"),
        "leaks internals: {msg}"
    );
    canary(&h);
}

#[test]
fn hfn_12_lua_host_fn_bad_arg_types() {
    let h = lua_host();
    // No argument is a string. Values that cannot leave a Lua plugin at all (functions,
    // coroutines) are `decode` errors before any host function is looked at; values that can
    // but are not what `kv.get` takes fail as `hostFunction`, naming it. Neither runs it.
    for (arg, host_function_error) in [
        ("{}", true),
        ("function() end", false),
        ("coroutine.create(function() end)", false),
        ("nil", true),
        ("0/0", true),
        ("math.maxinteger", true),
        ("1e308", true),
    ] {
        let mut p = h
            .load_lua("p", &format!("function go() return kv.get({arg}) end"))
            .unwrap();
        let e = p.call_value("go", vec![]).expect_err(arg);
        if host_function_error {
            assert!(
                matches!(e.kind(), ErrorKind::HostFunction { .. })
                    && e.to_string().contains("kv.get"),
                "{arg}: {e:?}"
            );
        } else {
            assert!(
                matches!(e.kind(), ErrorKind::Decode(_)) && e.to_string().contains("cannot leave"),
                "{arg}: {e:?}"
            );
        }
    }
    canary(&h);
}

#[test]
fn hfn_13_lua_callback_panic_contained() {
    let h = lua_host();
    let mut p = h
        .load_lua(
            "p",
            r#"function inside() local ok = pcall(kv.boom, 1) return ok end
               function outside() return kv.boom(1) end
               function fine() return 7 end"#,
        )
        .unwrap();
    assert_eq!(p.call_value("inside", vec![]).unwrap(), Value::Bool(false));
    let e = assert_kind(p.call_value("outside", vec![]), |k| {
        matches!(
            k,
            ErrorKind::LuaError { .. } | ErrorKind::HostFunction { .. }
        )
    });
    assert!(e.to_string().contains("host function bug"), "{e}");
    assert_eq!(p.call_value("fine", vec![]).unwrap(), Value::Int(7));
    canary(&h);
}

#[test]
fn con_03_cross_plugin_cycle_detected() {
    // a calls b, b calls a back: a is running, so the inner call is refused as busy (a cycle
    // cannot run); a chain deeper than the re-entrancy limit is refused too.
    let h = host();
    let a = h
        .load_lua(
            "a",
            "function go() return plugins.b.back() end function ping() return 1 end",
        )
        .unwrap();
    let b = h
        .load_lua("b", "function back() return plugins.a.ping() end")
        .unwrap();
    let a = h.expose(a).unwrap();
    let _b = h.expose(b).unwrap();
    let e = assert_kind(a.call_value("go", vec![]), |k| {
        matches!(
            k,
            ErrorKind::LuaError { .. }
                | ErrorKind::Busy
                | ErrorKind::Peer { .. }
                | ErrorKind::ReentrancyLimit { .. }
        )
    });
    assert!(
        e.to_string().to_lowercase().contains("busy") || e.to_string().contains("running"),
        "{e}"
    );
    assert_eq!(a.call_value("ping", vec![]).unwrap(), Value::Int(1));
    canary(&h);
}

#[test]
fn con_06_drop_plugin_while_suspended() {
    let h = Host::builder()
        .limits(Limits {
            fuel_slice: 10_000,
            ..Limits::default()
        })
        .build();
    for _ in 0..2_000 {
        let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
        p.start_call("sum", plugboard_host_core::encode(&u64::MAX).unwrap())
            .unwrap();
        assert!(matches!(p.resume().unwrap(), Step::Yielded));
        drop(p);
    }
    canary(&h);
}

#[test]
fn con_07_parallel_hosts_on_threads() {
    // Hosts are per thread (not Send); many at once give the same answers and fuel.
    let results: Vec<(u64, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let h = host();
                    let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
                    let mut last = (0, 0);
                    for _ in 0..50 {
                        let sum: u64 = p.call("sum", &10_000u64).unwrap();
                        last = (sum, p.fuel_consumed());
                    }
                    canary(&h);
                    last
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| *r == results[0]), "{results:?}");
    assert_eq!(results[0].0, 50_005_000);
}

#[test]
fn dat_09_no_cross_call_leakage() {
    // Call 1 leaves a secret in the Extism kernel's memory; call 2 cannot read it back:
    // every block is dropped between calls, so the old handle is not a live block.
    let h = host();
    let wat = r#"(module
      (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
      (import "extism:host/env" "store_u64" (func $st (param i64 i64)))
      (import "extism:host/env" "load_u64" (func $ld (param i64) (result i64)))
      (import "extism:host/env" "output_set" (func $out (param i64 i64)))
      (memory (export "memory") 1)
      (global $h (mut i64) (i64.const 0))
      (func (export "write") (result i32)
        (global.set $h (call $alloc (i64.const 8)))
        (call $st (global.get $h) (i64.const 0x5ec2e7))
        (i32.const 0))
      (func (export "read") (result i32) (local $o i64)
        (local.set $o (call $alloc (i64.const 8)))
        (call $st (local.get $o) (call $ld (global.get $h)))
        (call $out (local.get $o) (i64.const 8))
        (i32.const 0)))"#;
    let mut p = h.load_wasm(&wat::parse_str(wat).unwrap()).unwrap();
    p.call_bytes("write", Vec::new()).unwrap();
    match p.call_bytes("read", Vec::new()) {
        Ok(out) => assert_ne!(
            u64::from_le_bytes(out.try_into().unwrap()),
            0x5ec2e7,
            "secret leaked"
        ),
        Err(e) => assert!(matches!(e.kind(), ErrorKind::AbiViolation(_)), "{e:?}"),
    }
    canary(&h);
}

/// DAT-04's documented lossy mapping: a Lua table cannot hold nil, so nulls inside lists and
/// maps vanish (a list of nulls and a map of null values come back as empty lists).
#[test]
fn dat_04_lua_nulls_in_tables_vanish() {
    let h = host();
    let mut p = h.load_lua("echo", "function echo(x) return x end").unwrap();
    for (input, output) in [
        ("[null]", "[]"),
        ("{\"a\":null}", "[]"),
        ("[1,null]", "[1]"),
        ("{\"a\":1,\"b\":null}", "{\"a\":1}"),
    ] {
        let back = p
            .call_value("echo", vec![Value::from_json(input).unwrap()])
            .unwrap();
        assert_eq!(back.to_json(), output, "{input}");
    }
    canary(&h);
}

/// DAT-06 (native half): the fuel of the performance loop's first call is the figure the
/// wasm32 build reports too (crates/web/tests/common: the same constant).
#[test]
fn dat_06_fuel_is_the_same_on_every_target() {
    let h = host();
    let expected = plugboard_fixtures::PERF_FUEL_SUM_10000;
    let mut rust = h.load_wasm(plugboard_fixtures::PERF).unwrap();
    assert_eq!(rust.call::<u64, u64>("sum", &10_000).unwrap(), 50_005_000);
    let mut zig = h.load_wasm(plugboard_fixtures::ZIG_PERF).unwrap();
    assert_eq!(
        zig.call::<u64, u64>("for_loop", &10_000).unwrap(),
        50_005_000
    );
    let mut lua = h
        .load_lua(
            "perf",
            include_str!("../../../../plugins/lua/perf/main.lua"),
        )
        .unwrap();
    assert_eq!(lua.call::<u64, u64>("sum", &10_000).unwrap(), 50_005_000);
    let got = [
        ("rust", rust.fuel_consumed()),
        ("zig", zig.fuel_consumed()),
        ("lua", lua.fuel_consumed()),
    ];
    assert_eq!(got, expected);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Values of every JSON shape; `nested_null`: whether lists and maps may hold nulls (Lua
    /// tables cannot: see `dat_04_lua_nulls_in_tables_vanish`).
    fn value(nested_null: bool) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(if nested_null {
                Value::Null
            } else {
                Value::Bool(true)
            }),
            any::<bool>().prop_map(Value::Bool),
            prop_oneof![
                Just(i64::MIN),
                Just(-1i64),
                Just(0i64),
                Just(i64::MAX),
                any::<i64>()
            ]
            .prop_map(Value::Int),
            prop_oneof![
                Just(0.5f64),
                Just(-0.25),
                Just(1e300),
                any::<f64>().prop_filter("finite", |x| x.is_finite() && x.fract() != 0.0)
            ]
            .prop_map(Value::Float),
            "\\PC{0,16}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..6).prop_map(Value::List),
                prop::collection::btree_map("[a-z]{1,6}", inner, 1..6).prop_map(|m| Value::Map(
                    m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                )),
            ]
        })
    }

    /// The echo plugins of the round-trip properties, loaded once per test thread.
    struct Echoes {
        _host: Host,
        lua: plugboard_host_core::Plugin,
        zig: plugboard_host_core::Plugin,
    }

    thread_local! {
        static ECHOES: std::cell::RefCell<Option<Echoes>> = const { std::cell::RefCell::new(None) };
    }

    fn with_echoes<R>(f: impl FnOnce(&mut Echoes) -> R) -> R {
        ECHOES.with(|cell| {
            let mut cell = cell.borrow_mut();
            f(cell.get_or_insert_with(|| {
                let h = host();
                let lua = h.load_lua("echo", "function echo(x) return x end").unwrap();
                let zig = h
                    .load_wasm_with(
                        plugboard_fixtures::ZIG_NVIM_EXAMPLES,
                        plugboard_host_core::PluginOptions::named("zig").stub_missing_imports(),
                    )
                    .unwrap();
                Echoes { _host: h, lua, zig }
            }))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// DAT-04: host → Lua → host keeps integers and floats apart, strings byte-exact,
        /// lists as lists and string-keyed maps as maps.
        #[test]
        fn dat_04_lua_roundtrip(v in prop_oneof![Just(Value::Null), value(false)]) {
            with_echoes(|e| {
                let back = e.lua.call_value("echo", vec![v.clone()]).unwrap();
                prop_assert_eq!(back.to_json(), v.to_json());
                Ok(())
            })?;
        }

        /// DAT-05: the same value through the Lua ABI and the nvim ABI (and back) is the
        /// same host value (nested nulls excepted: Lua tables cannot hold nil).
        #[test]
        fn dat_05_cross_abi_differential(v in value(false)) {
            with_echoes(|e| {
                let through_lua = e.lua.call_value("echo", vec![v.clone()]).unwrap();
                let through_nvim = e.zig.call_value("echo", vec![v.clone()]).unwrap();
                prop_assert_eq!(&through_lua, &through_nvim);
                prop_assert_eq!(through_lua.to_json(), v.to_json());
                Ok(())
            })?;
        }

        /// DAT-01: a list through the conformance plugin's `sort` (bincode 1.3.3 in the guest,
        /// our codec in the host) comes back as Rust's own sort of it; `swap` swaps exactly.
        #[test]
        fn dat_01_bincode_roundtrip_through_the_guest(list in prop::collection::vec(any::<u32>(), 0..200), a in any::<u32>(), b in any::<u32>()) {
            thread_local! {
                static P: std::cell::RefCell<Option<(Host, plugboard_host_core::Plugin)>> = const { std::cell::RefCell::new(None) };
            }
            P.with(|cell| {
                let mut cell = cell.borrow_mut();
                let (_, p) = cell.get_or_insert_with(|| {
                    let h = crate::conformance::builder(Default::default()).build();
                    let p = h.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
                    (h, p)
                });
                let mut expected = list.clone();
                expected.sort_unstable();
                prop_assert_eq!(p.call::<Vec<u32>, Vec<u32>>("sort", &list).unwrap(), expected);
                prop_assert_eq!(p.call::<(u32, u32), (u32, u32)>("swap", &(a, b)).unwrap(), (b, a));
                Ok(())
            })?;
        }

        /// DAT-03: a JSON value stored under an id by the host, read back by the Zig plugin's
        /// echo through the nvim ABI, and read back again: equal.
        #[test]
        fn dat_03_json_by_id_roundtrip(v in value(true)) {
            with_echoes(|e| {
                let back = e.zig.call_value("echo", vec![v.clone()]).unwrap();
                prop_assert_eq!(back.to_json(), v.to_json());
                Ok(())
            })?;
        }
    }
}

/// HFN-09 for Lua: a host call is charged before it runs, by the size of its arguments as for
/// wasm plugins, and a call whose fuel cannot pay does not run the host function at all; a
/// `pcall` around it cannot turn running out of fuel into success.
#[test]
fn hfn_09_lua_host_calls_charged_before_they_run() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let budget = 200_000u64;
    let h = Host::builder()
        .limits(Limits {
            fuel: budget,
            ..Limits::default()
        })
        .func("kv", "put", move |s: String| {
            counted.fetch_add(1, Ordering::SeqCst);
            s.len() as u64
        })
        .build();
    // 8 KiB per call: at least 64 + 8192/8 fuel each, so at most budget/1088 calls run.
    let mut p = h
        .load_lua(
            "p",
            "function go(s) while true do pcall(kv.put, s) end end\n\
             function once(s) return kv.put(s) end",
        )
        .unwrap();
    let big = Value::String("x".repeat(8192));
    assert_kind(p.call_value("go", vec![big]), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    let ran = runs.swap(0, Ordering::SeqCst);
    assert!(ran > 0, "no call ran");
    assert!(
        ran as u64 <= budget / (64 + 8192 / 8),
        "{ran} calls of 8 KiB ran on a budget of {budget}"
    );
    // One call whose arguments alone cost more than the whole budget: never runs.
    let huge = Value::String("x".repeat(4 << 20));
    assert_kind(p.call_value("once", vec![huge]), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the host function ran");
    // The plugin still works within its budget.
    assert_eq!(
        p.call_value("once", vec![Value::String("abc".into())])
            .unwrap(),
        Value::Int(3)
    );
    canary(&h);
}

/// A Lua plugin loaded with an allow-list sees the host functions of those namespaces only:
/// the others are not there at all (indexing them is nil), not present-but-failing.
#[test]
fn lua_host_functions_follow_the_allow_list() {
    let h = Host::builder()
        .func("math2", "twice", |n: i64| n * 2)
        .func("fs", "read", |_: String| "secret".to_string())
        .build();
    let mut p = h
        .load_lua_files(
            [(
                "main.lua",
                "function go() return math2.twice(21), fs == nil, type(rawget(_G, 'fs')) end",
            )],
            plugboard_host_core::PluginOptions::named("p").allow(&["math2"]),
        )
        .unwrap();
    assert_eq!(
        p.call_value("go", vec![]).unwrap(),
        Value::List(vec![
            Value::Int(42),
            Value::Bool(true),
            Value::String("nil".into())
        ])
    );
    let mut denied = h
        .load_lua_files(
            [("main.lua", "function go() return fs.read('x') end")],
            plugboard_host_core::PluginOptions::named("q").allow(&["math2"]),
        )
        .unwrap();
    assert_kind(
        denied.call_value("go", vec![]),
        |k| matches!(k, ErrorKind::LuaError { message, .. } if message.contains("attempt to index a nil value")),
    );
    // Without an allow-list, every namespace is there.
    let mut open = h
        .load_lua("r", "function go() return fs.read('x') end")
        .unwrap();
    assert_eq!(
        open.call_value("go", vec![]).unwrap(),
        Value::String("secret".into())
    );
    canary(&h);
}
