//! Host functions: registered once, typed or dynamic, sync or async; their failures and panics
//! become errors of their own kind and the host survives (HFN-*).

use crate::common::{assert_kind, buffer_wat, canary};
use plugboard_host_core::{
    ErrorKind, Host, HostFunctionFailure, PluginOptions, Signature, Type, Value,
};
use std::cell::Cell;
use std::rc::Rc;

/// A plugin whose `__run` forwards its input to `env.__<import>` and returns the reply.
fn forwarder(import: &str) -> Vec<u8> {
    buffer_wat(
        &format!(r#"(import "env" "__{import}" (func $f (param i64) (result i64)))"#),
        r#"(func (export "__run") (param $p i64) (result i64) (call $f (local.get $p)))"#,
    )
}

#[test]
fn hfn_01_host_fn_error_propagates() {
    let h = Host::builder()
        .try_func("kv", "get", |k: String| {
            if k == "ok" {
                Ok(1u32)
            } else {
                Err("denied")
            }
        })
        .build();
    let mut p = h.load_wasm(&forwarder("get")).unwrap();
    let e = assert_kind(p.call::<str, u32>("run", "nope"), |k| {
        matches!(k,
        ErrorKind::HostFunction { namespace, name, reason: HostFunctionFailure::Failed(m) } if namespace == "kv" && name == "get" && m == "denied")
    });
    assert_eq!(e.to_string(), "host function `kv.get` failed: denied");
    assert_eq!(p.call::<str, u32>("run", "ok").unwrap(), 1);
    canary(&h);
}

#[test]
fn hfn_02_host_fn_panic_is_contained_natively() {
    let h = Host::builder()
        .func("env", "boom", |_: String| -> u32 { panic!("kaboom") })
        .build();
    let mut p = h.load_wasm(&forwarder("boom")).unwrap();
    assert_kind(p.call::<str, u32>("run", "x"), |k| {
        matches!(k,
        ErrorKind::HostFunction { reason: HostFunctionFailure::Panicked(m), .. } if m == "kaboom")
    });
    canary(&h);
    assert_kind(p.call::<str, u32>("run", "x"), |k| {
        matches!(k, ErrorKind::HostFunction { .. })
    });
}

#[test]
fn host_fn_gets_undecodable_arguments() {
    let h = Host::builder().func("env", "half", |x: u32| x / 2).build();
    let mut p = h.load_wasm(&forwarder("half")).unwrap();
    // Two bytes are not a u32.
    assert_kind(
        p.call_bytes("run", vec![1, 2]),
        |k| matches!(k, ErrorKind::HostFunction { reason: HostFunctionFailure::Failed(m), .. } if m.contains("bad arguments")),
    );
}

#[test]
fn hfn_08_capability_denied_has_no_side_effects() {
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let c = calls.clone();
    let h = Host::builder()
        .func("fs", "delete", move |_: String| c.set(c.get() + 1))
        .build();
    let e = assert_kind(
        h.load_wasm_with(
            &forwarder("delete"),
            PluginOptions::named("p").allow(&["math"]),
        ),
        |k| matches!(k, ErrorKind::LinkError { .. }),
    );
    assert!(e.to_string().contains("not allowed"), "{e}");
    assert_eq!(calls.get(), 0);
    // Allowed, it links and runs.
    let mut p = h
        .load_wasm_with(
            &forwarder("delete"),
            PluginOptions::named("p").allow(&["fs"]),
        )
        .unwrap();
    p.call::<str, ()>("run", "x").unwrap();
    assert_eq!(calls.get(), 1);
}

#[test]
fn ambiguous_import_names_both_candidates() {
    let h = Host::builder()
        .func("a", "get", |(): ()| 1u8)
        .func("b", "get", |(): ()| 2u8)
        .build();
    let e = assert_kind(h.load_wasm(&forwarder("get")), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    assert!(
        e.to_string().contains("a.get") && e.to_string().contains("b.get"),
        "{e}"
    );
    let mut p = h
        .load_wasm_with(&forwarder("get"), PluginOptions::named("p").allow(&["b"]))
        .unwrap();
    assert_eq!(p.call::<(), u8>("run", &()).unwrap(), 2);
}

#[test]
fn dynamic_host_function_over_values() {
    let sig = Signature::new(vec![Type::F64, Type::F64], Type::F64);
    let h = Host::builder()
        .func_dynamic("math", "add", sig, |args| match args.as_slice() {
            [Value::Float(a), Value::Float(b)] => Ok(Value::Float(a + b)),
            other => Err(format!("expected two floats, got {other:?}")),
        })
        .build();
    let mut p = h.load_wasm(&forwarder("add")).unwrap();
    assert_eq!(
        p.call::<(f64, f64), f64>("run", &(1.5, 2.25)).unwrap(),
        3.75
    );
}

#[test]
fn hfn_10_async_host_fn_inside_a_nested_call_is_awaited_natively() {
    // The allocator (run by the host, non-resumably) calls an async host function, once.
    // Natively the future is awaited where it is called; on wasm32 a future that is not ready
    // at once fails with `AsyncNotSupported` there (the crates/web tests cover that side).
    let calls = Rc::new(Cell::new(0));
    let seen = calls.clone();
    let h = Host::builder()
        .func_async("env", "slow", move |(): ()| {
            seen.set(seen.get() + 1);
            async { Ok::<u32, String>(1) }
        })
        .build();
    let alloc = r#"(global $once (mut i32) (i32.const 0))
      (func (export "__alloc_buffer") (param i32) (result i32)
        (if (i32.eqz (global.get $once))
          (then (global.set $once (i32.const 1)) (drop (call $slow (i64.const 0)))))
        (i32.const 1024))"#;
    let bytes = crate::common::buffer_wat_with_alloc(
        r#"(import "env" "__slow" (func $slow (param i64) (result i64)))"#,
        "",
        alloc,
    );
    let mut p = h.load_wasm(&bytes).unwrap();
    assert_eq!(p.call_bytes("ping", vec![1]).unwrap(), b"pong");
    assert_eq!(calls.get(), 1);
    canary(&h);
}

#[test]
fn con_01_allocator_and_host_function_recursion_is_bounded() {
    // The allocator calls a host function whose reply needs the allocator, which calls the
    // host function again, …: the depth limit stops it, sync or async alike.
    for asynchronous in [false, true] {
        let b = Host::builder();
        let b = if asynchronous {
            b.func_async("env", "again", |(): ()| async { Ok::<u32, String>(1) })
        } else {
            b.func("env", "again", |(): ()| 1u32)
        };
        let h = b.build();
        let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32) (drop (call $again (i64.const 0))) (i32.const 1024))"#;
        let bytes = crate::common::buffer_wat_with_alloc(
            r#"(import "env" "__again" (func $again (param i64) (result i64)))"#,
            "",
            alloc,
        );
        let mut p = h.load_wasm(&bytes).unwrap();
        assert_kind(p.call_bytes("ping", vec![1]), |k| {
            matches!(k, ErrorKind::ReentrancyLimit { .. })
        });
        canary(&h);
    }
}

#[test]
fn guest_panic_message_reaches_the_error() {
    let h = Host::builder().build();
    let mut p = h.load_wasm(plugboard_fixtures::WASI_PROBE).unwrap();
    let e = assert_kind(
        p.call::<str, u32>("boom", "now"),
        |k| matches!(k, ErrorKind::Trap { message: Some(m), .. } if m.contains("boom: now")),
    );
    assert!(e.to_string().contains("boom: now"), "{e}");
    assert_eq!(
        p.call::<(), Vec<String>>("args", &()).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn one_host_function_serves_many_plugins() {
    let h = Host::builder()
        .func("env", "mystery_number", |x: u32| x + 7)
        .func("env", "import_noop", |(): ()| ())
        .func("env", "import_identity", |x: u32| x)
        .func("env", "import_swap", |(a, b): (u32, u32)| (b, a))
        .func_async("env", "import_half", |a: u32| async move {
            Ok::<u32, String>(a / 2)
        })
        .func_async("env", "command_async", |c: String| async move {
            Ok::<Option<Vec<u8>>, String>(Some(c.into_bytes()))
        })
        .build();
    let mut a = h.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
    let mut b = h.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
    assert_eq!(a.call::<u32, u32>("and_back", &1).unwrap(), 8);
    assert_eq!(b.call::<u32, u32>("and_back", &2).unwrap(), 9);
}

#[test]
fn missing_host_functions_can_be_stubbed_explicitly() {
    let h = Host::builder().build();
    // By default a missing host function is a link error …
    assert_kind(h.load_wasm(&forwarder("absent")), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    // … and with the option the plugin loads, and fails only when it calls it.
    let mut p = h
        .load_wasm_with(
            &forwarder("absent"),
            PluginOptions::named("p").stub_missing_imports(),
        )
        .unwrap();
    assert_eq!(p.call_bytes("ping", vec![]).unwrap(), b"pong");
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k,
        ErrorKind::HostFunction { reason: HostFunctionFailure::Failed(m), .. } if m == "not provided by this host")
    });
    // A denied namespace is not "missing": stubbing does not bypass the allow-list.
    let h = Host::builder().func("fs", "absent", |(): ()| ()).build();
    let opts = PluginOptions::named("p")
        .allow(&["math"])
        .stub_missing_imports();
    assert_kind(h.load_wasm_with(&forwarder("absent"), opts), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
}
