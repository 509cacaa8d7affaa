//! The Extism kernel ABI with unmodified extism-pdk plugins, and hostile kernel calls
//! (docs/abis.md §4, KRN-*).

use crate::common::{assert_kind, canary};
use plugboard_host_core::{
    AbiViolation, ErrorKind, Host, HostBuilder, HttpRequest, HttpResponse, KernelConfig, Limits,
    LogLevel, LogStream, Plugin, PluginOptions, WasiConfig,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(serde::Deserialize, serde::Serialize)]
struct Pair {
    a: i64,
    b: i64,
}

fn builder() -> HostBuilder {
    Host::builder()
        .func("env", "shout", |s: String| s.to_uppercase())
        .func(
            "env",
            "add",
            |p: Pair| serde_json::json!({ "sum": p.a + p.b }),
        )
}

/// The kitchen plugin on a host with its user host functions and the given kernel options.
pub fn kitchen(kernel: KernelConfig) -> Plugin {
    builder()
        .build()
        .load_wasm_with(
            plugboard_fixtures::EXTISM_KITCHEN,
            PluginOptions::named("kitchen").with_kernel(kernel),
        )
        .unwrap()
}

fn text(out: Vec<u8>) -> String {
    String::from_utf8(out).unwrap()
}

#[test]
fn count_vowels_matches_extism_and_accumulates_total() {
    let mut p = kitchen(KernelConfig::default());
    let out = text(
        p.call_bytes("count_vowels", b"hello world".to_vec())
            .unwrap(),
    );
    assert_eq!(out, r#"{"count":3,"total":3,"vowels":"aeiouAEIOU"}"#);
    let out = text(
        p.call_bytes("count_vowels", b"hello world".to_vec())
            .unwrap(),
    );
    assert_eq!(out, r#"{"count":3,"total":6,"vowels":"aeiouAEIOU"}"#);
}

#[test]
fn config_is_honoured() {
    let mut p = kitchen(KernelConfig::default().config("vowels", "oy"));
    let out = text(
        p.call_bytes("count_vowels", b"hello world, yay".to_vec())
            .unwrap(),
    );
    assert_eq!(out, r#"{"count":4,"total":4,"vowels":"oy"}"#);
}

#[test]
fn vars_survive_a_trap_and_reinstantiation() {
    let h = builder()
        .limits(Limits {
            fuel: 2_000_000,
            ..Limits::default()
        })
        .build();
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::EXTISM_KITCHEN,
            PluginOptions::named("k"),
        )
        .unwrap();
    p.call_bytes("count_vowels", b"aaa".to_vec()).unwrap();
    assert_kind(p.call_bytes("spin", vec![]), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    let out = text(p.call_bytes("count_vowels", b"a".to_vec()).unwrap());
    assert_eq!(out, r#"{"count":1,"total":4,"vowels":"aeiouAEIOU"}"#);
    assert!(p.reinstantiations() >= 1);
    canary(&h);
}

#[test]
fn user_host_functions_over_text_and_json() {
    let mut p = kitchen(KernelConfig::default());
    assert_eq!(
        text(p.call_bytes("call_host", b"hello".to_vec()).unwrap()),
        "HELLO 5"
    );
}

#[test]
fn plugin_error_and_return_code() {
    let mut p = kitchen(KernelConfig::default());
    // extism-pdk sets the error message and returns -1.
    let e = assert_kind(
        p.call_bytes("fail", b"it broke".to_vec()),
        |k| matches!(k, ErrorKind::CallFailed { code: -1, message: Some(m) } if m == "it broke"),
    );
    assert_eq!(e.to_string(), "plugin failed (code -1): it broke");
    assert_kind(p.call_bytes("code", vec![]), |k| {
        matches!(
            k,
            ErrorKind::CallFailed {
                code: 7,
                message: None
            }
        )
    });
    // An error does not stick to the next call.
    assert_eq!(p.call_bytes("echo", b"ok".to_vec()).unwrap(), b"ok");
}

#[test]
fn runaway_plugin_is_stopped_by_fuel() {
    let h = builder()
        .limits(Limits {
            fuel: 5_000_000,
            ..Limits::default()
        })
        .build();
    let mut p = h.load_wasm(plugboard_fixtures::EXTISM_KITCHEN).unwrap();
    assert_kind(p.call_bytes("spin", vec![]), |k| {
        matches!(k, ErrorKind::OutOfFuel { budget: 5_000_000 })
    });
    assert_eq!(p.call_bytes("echo", b"after".to_vec()).unwrap(), b"after");
}

#[test]
fn logs_go_to_the_sink_by_level() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let h = builder()
        .on_log(move |r| s.borrow_mut().push((r.stream, r.message.clone())))
        .build();
    let cfg = KernelConfig {
        log_level: Some(LogLevel::Warn),
        ..KernelConfig::default()
    };
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::EXTISM_KITCHEN,
            PluginOptions::named("k").with_kernel(cfg),
        )
        .unwrap();
    p.call_bytes("logs", b"x".to_vec()).unwrap();
    let seen = seen.borrow();
    assert_eq!(
        *seen,
        vec![
            (LogStream::Log(LogLevel::Warn), "warn x".to_owned()),
            (LogStream::Log(LogLevel::Error), "error x".to_owned())
        ]
    );
}

#[test]
fn dat_02_kernel_bytes_roundtrip() {
    let mut p = kitchen(KernelConfig::default());
    let mut seed = 7u64;
    for len in [
        0usize,
        1,
        7,
        8,
        9,
        255,
        256,
        4095,
        4096,
        65535,
        65536,
        65540,
        1 << 20,
    ] {
        let input: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 33) as u8
            })
            .collect();
        assert_eq!(
            p.call_bytes("echo", input.clone()).unwrap(),
            input,
            "length {len}"
        );
    }
}

#[test]
fn krn_08_var_bytes_limit() {
    let cfg = KernelConfig {
        max_var_bytes: 100,
        ..KernelConfig::default()
    };
    let mut p = kitchen(cfg);
    // extism-pdk encodes a u64 result as 8 little-endian bytes.
    assert_eq!(
        p.call_bytes("store_blob", vec![1; 50]).unwrap(),
        50u64.to_le_bytes()
    );
    assert_kind(p.call_bytes("store_blob", vec![1; 101]), |k| {
        matches!(k, ErrorKind::CapabilityDenied { .. })
    });
    let disabled = KernelConfig {
        max_var_bytes: 0,
        ..KernelConfig::default()
    };
    let mut p = kitchen(disabled);
    let e = assert_kind(p.call_bytes("store_blob", vec![1]), |k| {
        matches!(k, ErrorKind::CapabilityDenied { .. })
    });
    assert!(e.to_string().contains("vars are disabled"), "{e}");
}

fn http_host(calls: Rc<RefCell<Vec<HttpRequest>>>, asynchronous: bool) -> Host {
    let respond = move |req: HttpRequest| {
        calls.borrow_mut().push(req.clone());
        HttpResponse {
            status: 201,
            headers: BTreeMap::from([("x-seen".to_owned(), req.url.clone())]),
            body: b"pong".to_vec(),
        }
    };
    let b = builder();
    if asynchronous {
        b.http(move |req| {
            let r = respond(req);
            async move { Ok::<_, String>(r) }
        })
        .build()
    } else {
        // A client whose future is ready at once.
        b.http(move |req| std::future::ready(Ok::<_, String>(respond(req))))
            .build()
    }
}

#[test]
fn krn_11_http_denied_by_default_with_no_side_effects() {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let h = http_host(calls.clone(), true);
    let mut p = h.load_wasm(plugboard_fixtures::EXTISM_KITCHEN).unwrap();
    let e = assert_kind(
        p.call_bytes("fetch", b"https://example.com/".to_vec()),
        |k| matches!(k, ErrorKind::CapabilityDenied { .. }),
    );
    assert!(e.to_string().contains("https://example.com/"), "{e}");
    let cfg = KernelConfig::default().allow_host("*.example.org");
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::EXTISM_KITCHEN,
            PluginOptions::named("k").with_kernel(cfg),
        )
        .unwrap();
    assert_kind(
        p.call_bytes("fetch", b"https://example.org.evil.net/".to_vec()),
        |k| matches!(k, ErrorKind::CapabilityDenied { .. }),
    );
    assert!(calls.borrow().is_empty());
}

#[test]
fn http_through_the_embedders_client() {
    for asynchronous in [false, true] {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let h = http_host(calls.clone(), asynchronous);
        let cfg = KernelConfig::default().allow_host("api.example.com");
        let mut p = h
            .load_wasm_with(
                plugboard_fixtures::EXTISM_KITCHEN,
                PluginOptions::named("k").with_kernel(cfg),
            )
            .unwrap();
        let out = text(
            p.call_bytes("fetch", b"https://api.example.com/v1".to_vec())
                .unwrap(),
        );
        assert_eq!(out, "201 pong");
        let calls = calls.borrow();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].method, "GET");
        assert_eq!(
            calls[0].headers.get("x-plugin").map(String::as_str),
            Some("kitchen")
        );
    }
}

#[test]
fn http_response_size_cap() {
    let h = builder()
        .http(|_req: HttpRequest| async {
            Ok::<_, String>(HttpResponse {
                status: 200,
                headers: BTreeMap::new(),
                body: vec![0; 2048],
            })
        })
        .build();
    let cfg = KernelConfig {
        max_http_response_bytes: 1024,
        ..KernelConfig::default().allow_host("*")
    };
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::EXTISM_KITCHEN,
            PluginOptions::named("k").with_kernel(cfg),
        )
        .unwrap();
    assert_kind(p.call_bytes("fetch", b"https://x.test/".to_vec()), |k| {
        matches!(k, ErrorKind::OutputTooLarge { len: 2048, .. })
    });
}

#[test]
fn wasi_only_when_enabled_and_output_captured() {
    let out = Rc::new(RefCell::new(String::new()));
    let o = out.clone();
    let h = Host::builder()
        .on_log(move |r| o.borrow_mut().push_str(&r.message))
        .build();
    assert_kind(h.load_wasm(plugboard_fixtures::EXTISM_WASI), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    let mut p = h
        .load_wasm_with(
            plugboard_fixtures::EXTISM_WASI,
            PluginOptions::named("w").with_wasi(WasiConfig::new()),
        )
        .unwrap();
    assert_eq!(
        text(p.call_bytes("greet", b"Ada".to_vec()).unwrap()),
        "Hello, Ada!"
    );
    assert!(
        out.borrow().contains("printing to stdout for Ada"),
        "{}",
        out.borrow()
    );
}

// ---------------------------------------------------------------- hostile kernel plugins

/// A kernel plugin whose `run` is `body` (it may use every env function).
fn kernel_wat(body: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $p i64) (local $q i64)
    {body}
    (i32.const 0)))"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run(body: &str) -> Result<Vec<u8>, plugboard_host_core::Error> {
    let h = Host::builder().build();
    let mut p = h.load_wasm(&kernel_wat(body)).unwrap();
    let r = p.call_bytes("run", b"12345678".to_vec());
    canary(&h);
    r
}

#[test]
fn krn_01_output_set_wrapping_length_rejected() {
    // alloc twice, then output_set(p2, 2^64 - (p2 - p) + 1): the exact Extism bypass.
    let body = r#"(local.set $p (call $alloc (i64.const 16))) (local.set $q (call $alloc (i64.const 16)))
        (call $output_set (local.get $q) (i64.add (i64.sub (i64.const 0) (i64.sub (local.get $q) (local.get $p))) (i64.const 1)))"#;
    assert_kind(run(body), |k| {
        matches!(
            k,
            ErrorKind::AbiViolation(
                AbiViolation::Overflow { .. } | AbiViolation::OutOfBounds { .. }
            )
        )
    });
    // Past the block's end, without wrapping.
    let body = r#"(local.set $p (call $alloc (i64.const 16))) (call $output_set (local.get $p) (i64.const 17))"#;
    assert_kind(run(body), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. }))
    });
    // The exact end is fine.
    let body = r#"(local.set $p (call $alloc (i64.const 16))) (call $store_u64 (local.get $p) (i64.const 0x4948))
        (call $output_set (local.get $p) (i64.const 2))"#;
    assert_eq!(run(body).unwrap(), b"HI");
}

#[test]
fn krn_03_load_store_at_edges() {
    let ok = r#"(local.set $p (call $alloc (i64.const 16))) (call $store_u64 (i64.add (local.get $p) (i64.const 8)) (i64.const 1))
        (drop (call $load_u64 (i64.add (local.get $p) (i64.const 8))))"#;
    assert_eq!(run(ok).unwrap(), b"");
    for off in [
        "(i64.add (local.get $p) (i64.const 9))",
        "(i64.const -1)",
        "(i64.const -8)",
        "(i64.const 0)",
    ] {
        let body =
            format!("(local.set $p (call $alloc (i64.const 16))) (drop (call $load_u64 {off}))");
        assert_kind(run(&body), |k| matches!(k, ErrorKind::AbiViolation(_)));
        let body = format!(
            "(local.set $p (call $alloc (i64.const 16))) (call $store_u64 {off} (i64.const 1))"
        );
        assert_kind(run(&body), |k| matches!(k, ErrorKind::AbiViolation(_)));
    }
    // The input: reading past its end.
    assert_kind(run("(drop (call $input_load_u64 (i64.const 1)))"), |k| {
        matches!(k, ErrorKind::AbiViolation(_))
    });
    assert_eq!(
        run("(drop (call $input_load_u64 (i64.const 0)))").unwrap(),
        b""
    );
}

#[test]
fn krn_04_alloc_huge_fails_cleanly() {
    for n in ["-1", "1099511627776", "16777217"] {
        let body = format!("(local.set $p (call $alloc (i64.const {n}))) (if (i64.ne (local.get $p) (i64.const 0)) (then unreachable))");
        assert_eq!(run(&body).unwrap(), b"", "alloc({n}) must return 0");
        // A plugin that then uses the null handle fails as MemoryLimit.
        let body = format!("(local.set $p (call $alloc (i64.const {n}))) (call $store_u8 (local.get $p) (i32.const 1))");
        assert_kind(run(&body), |k| matches!(k, ErrorKind::MemoryLimit { .. }));
    }
}

#[test]
fn krn_05_free_invalid_double_and_zero() {
    let body = r#"(local.set $p (call $alloc (i64.const 16)))
        (call $free (i64.const 0)) (call $free (i64.add (local.get $p) (i64.const 1)))
        (call $free (local.get $p)) (call $free (local.get $p)) (call $free (i64.const 999999))
        (local.set $q (call $alloc (i64.const 8))) (call $store_u64 (local.get $q) (i64.const 0x6b6f))
        (call $output_set (local.get $q) (i64.const 2))"#;
    assert_eq!(run(body).unwrap(), b"ok");
    // A freed block can no longer be used.
    let body = r#"(local.set $p (call $alloc (i64.const 16))) (call $free (local.get $p)) (drop (call $load_u64 (local.get $p)))"#;
    assert_kind(run(body), |k| matches!(k, ErrorKind::AbiViolation(_)));
}

#[test]
fn krn_06_length_of_interior_pointer_is_zero() {
    let body = r#"(local.set $p (call $alloc (i64.const 16)))
        (if (i64.ne (call $length (i64.add (local.get $p) (i64.const 3))) (i64.const 0)) (then unreachable))
        (if (i64.ne (call $length (local.get $p)) (i64.const 16)) (then unreachable))
        (if (i64.ne (call $length (i64.const 0)) (i64.const 0)) (then unreachable))"#;
    assert_eq!(run(body).unwrap(), b"");
}

#[test]
fn krn_07_error_set_semantics() {
    let body = r#"(local.set $p (call $alloc (i64.const 2))) (call $store_u8 (local.get $p) (i32.const 0x6e))
        (call $store_u8 (i64.add (local.get $p) (i64.const 1)) (i32.const 0x6f)) (call $error_set (local.get $p))"#;
    assert_kind(
        run(body),
        |k| matches!(k, ErrorKind::CallFailed { code: 0, message: Some(m) } if m == "no"),
    );
    assert_kind(run("(call $error_set (i64.const 12345))"), |k| {
        matches!(k, ErrorKind::AbiViolation(_))
    });
    // error_set(0) clears.
    let body = r#"(local.set $p (call $alloc (i64.const 1))) (call $error_set (local.get $p)) (call $error_set (i64.const 0))"#;
    assert_eq!(run(body).unwrap(), b"");
}

#[test]
fn kernel_imports_are_checked() {
    let h = Host::builder().build();
    let unknown = wat::parse_str(r#"(module (import "extism:host/env" "launch" (func)) (func (export "run") (result i32) (i32.const 0)))"#).unwrap();
    assert_kind(h.load_wasm(&unknown), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    let mistyped = wat::parse_str(r#"(module (import "extism:host/env" "alloc" (func (param i32) (result i32))) (func (export "run") (result i32) (i32.const 0)))"#).unwrap();
    assert_kind(h.load_wasm(&mistyped), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    let no_user_fn = wat::parse_str(r#"(module (import "extism:host/env" "alloc" (func (param i64) (result i64))) (import "extism:host/user" "nope" (func (param i64) (result i64))) (func (export "run") (result i32) (i32.const 0)))"#).unwrap();
    assert_kind(h.load_wasm(&no_user_fn), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
}

#[test]
fn typed_calls_use_the_extism_convention() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Report {
        count: u64,
        total: u64,
        vowels: String,
    }
    let mut p = kitchen(KernelConfig::default());
    // A string goes in as its text; the JSON result decodes into a struct.
    let r: Report = p.call("count_vowels", "hello world").unwrap();
    assert_eq!(
        r,
        Report {
            count: 3,
            total: 3,
            vowels: "aeiouAEIOU".into()
        }
    );
    // Text comes back as a String even when it is not JSON.
    let s: String = p.call("call_host", "hi").unwrap();
    assert_eq!(s, "HI 5");
    // An empty output decodes as () or None.
    p.call::<str, ()>("logs", "x").unwrap();
    assert_eq!(p.call::<str, Option<String>>("echo", "").unwrap(), None);
    // A result that fits neither is a decode error, not a panic.
    assert_kind(p.call::<str, u64>("echo", "not a number"), |k| {
        matches!(k, ErrorKind::Decode(_))
    });
    let fut = p.call_async::<str, Report>("count_vowels", "aaa");
    assert_eq!(crate::conformance::block_on(fut).unwrap().total, 6);
}
