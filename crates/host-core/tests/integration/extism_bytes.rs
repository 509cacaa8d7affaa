//! Extism plugins hand bytes to host functions and get bytes back, unchanged (Extism's SDKs
//! give host functions the raw bytes); `extism:host/user` imports are served by one namespace
//! and its one alias; every ABI says `unknownFunction`, listing the exports.

use crate::common::assert_kind;
use plugboard_host_core::{ErrorKind, Host, HostBuilder, HostReturn, PluginOptions, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// An Extism kernel plugin whose `run` hands its input, as one block, to the user host
/// function `extism:host/user::echo` and outputs the block it gets back.
fn echo_plugin() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "extism:host/env" "input_length" (func $ilen (result i64)))
  (import "extism:host/env" "input_load_u8" (func $iload (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/user" "echo" (func $echo (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $n i64) (local $p i64) (local $i i64) (local $r i64)
    (local.set $n (call $ilen))
    (local.set $p (call $alloc (local.get $n)))
    (block $done (loop $l
      (br_if $done (i64.ge_u (local.get $i) (local.get $n)))
      (call $store (i64.add (local.get $p) (local.get $i)) (call $iload (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (local.set $r (call $echo (local.get $p)))
    (call $out (local.get $r) (call $length (local.get $r)))
    (i32.const 0)))"#,
    )
    .unwrap()
}

const AWKWARD: [&[u8]; 6] = [
    br#""quoted""#,
    br#"{"a": 1}"#,
    b"1.50",
    b"123",
    b"  spaced  ",
    b"null",
];

fn echo_through(builder: HostBuilder, input: &[u8]) -> Result<Vec<u8>, plugboard_host_core::Error> {
    let host = builder.build();
    let mut p = host.load_wasm(&echo_plugin())?;
    p.call_bytes("run", input.to_vec())
}

#[test]
fn a_typed_string_host_function_gets_and_returns_the_exact_text() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let builder = Host::builder().func("extism:host/user", "echo", move |s: String| {
        s2.borrow_mut().push(s.clone());
        s
    });
    let host = builder.build();
    let mut p = host.load_wasm(&echo_plugin()).unwrap();
    for input in AWKWARD {
        assert_eq!(p.call_bytes("run", input.to_vec()).unwrap(), input);
    }
    let expected: Vec<String> = AWKWARD
        .iter()
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
        .collect();
    assert_eq!(*seen.borrow(), expected);
    // Typed calls read the output as their type asks: a String is the exact text.
    let out: String = p.call("run", r#""quoted""#).unwrap();
    assert_eq!(out, r#""quoted""#);
}

#[test]
fn bytes_that_are_not_text_fail_a_string_host_function_instead_of_being_mangled() {
    let builder = Host::builder().func("extism:host/user", "echo", |s: String| s);
    let e = assert_kind(echo_through(builder, &[0xff, 0x00, 0x41, 0xfe]), |k| {
        matches!(k, ErrorKind::HostFunction { .. })
    });
    assert!(e.to_string().contains("not UTF-8"), "{e}");
}

#[test]
fn a_value_host_function_gets_bytes_and_its_bytes_reply_goes_back_unchanged() {
    let bytes: &[u8] = &[0xff, 0x00, 0x41, 0xfe];
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s2 = seen.clone();
    let builder = Host::builder().func_value("extism:host/user", "echo", None, move |v| {
        s2.borrow_mut().push(v.clone());
        Ok(HostReturn::Ready(v))
    });
    assert_eq!(echo_through(builder, bytes).unwrap(), bytes);
    assert_eq!(*seen.borrow(), vec![Value::Bytes(bytes.to_vec())]);
    for input in AWKWARD {
        let b = Host::builder().func_value("extism:host/user", "echo", None, |v| {
            Ok(HostReturn::Ready(v))
        });
        assert_eq!(echo_through(b, input).unwrap(), input);
    }
    // A string reply is its text; null is no bytes; anything else is JSON.
    let reply = |v: Value| {
        let b = Host::builder().func_value("extism:host/user", "echo", None, move |_| {
            Ok(HostReturn::Ready(v.clone()))
        });
        echo_through(b, b"x").unwrap()
    };
    assert_eq!(reply(Value::String("123".into())), b"123");
    assert_eq!(reply(Value::Null), b"");
    assert_eq!(
        reply(Value::from_json(r#"{"a":1}"#).unwrap()),
        br#"{"a":1}"#
    );
}

#[test]
fn user_imports_are_served_by_extism_host_user_or_its_alias_env_only() {
    let echo = |tag: &'static str| move |s: String| format!("{tag}:{s}");
    // The official name.
    let b = Host::builder().func("extism:host/user", "echo", echo("user"));
    assert_eq!(echo_through(b, b"x").unwrap(), b"user:x");
    // The alias.
    let b = Host::builder().func("env", "echo", echo("env"));
    assert_eq!(echo_through(b, b"x").unwrap(), b"env:x");
    // Both: the official name wins, no ambiguity.
    let b = Host::builder().func("env", "echo", echo("env")).func(
        "extism:host/user",
        "echo",
        echo("user"),
    );
    assert_eq!(echo_through(b, b"x").unwrap(), b"user:x");
    // Any other namespace does not match, however many define the name (the demo page's
    // `user.add` and `host.add` used to be "ambiguous").
    for b in [
        Host::builder().func("user", "echo", echo("user")),
        Host::builder()
            .func("user", "echo", echo("user"))
            .func("host", "echo", echo("host")),
    ] {
        let e = assert_kind(
            echo_through(b, b"x"),
            |k| matches!(k, ErrorKind::LinkError { module, name, .. } if module == "extism:host/user" && name == "echo"),
        );
        assert!(
            e.to_string()
                .contains("define it in namespace `extism:host/user`"),
            "{e}"
        );
    }
    // `allow` still applies to the alias.
    let host = Host::builder().func("env", "echo", echo("env")).build();
    let denied = host.load_wasm_with(&echo_plugin(), PluginOptions::named("p").allow(&["other"]));
    assert_kind(denied, |k| matches!(k, ErrorKind::LinkError { .. }));
}

fn unknown(e: &plugboard_host_core::Error) -> Vec<String> {
    match e.kind() {
        ErrorKind::UnknownFunction { name, exports } => {
            assert_eq!(name, "nope");
            assert!(e.to_string().contains("its functions: "), "{e}");
            exports.clone()
        }
        other => panic!("expected unknownFunction, got {other:?} ({e})"),
    }
}

#[test]
fn every_abi_says_unknown_function_and_lists_the_exports() {
    let host = Host::builder()
        .func("extism:host/user", "echo", |s: String| s)
        .build();
    // Buffer ABI (bincode): the signature lookup used to answer first with `encode`.
    let mut buffer = host.load_wasm(plugboard_fixtures::PERF).unwrap();
    let e = buffer.call_input("nope", &Value::Null, None).unwrap_err();
    assert!(unknown(&e).iter().any(|n| n == "sum"), "{e}");
    let e = buffer.call_value("nope", vec![]).unwrap_err();
    assert!(!unknown(&e).is_empty());
    let e = buffer.call_bytes("nope", Vec::new()).unwrap_err();
    assert!(!unknown(&e).is_empty());
    // Extism.
    let mut extism = host.load_wasm(&echo_plugin()).unwrap();
    let e = extism.call_bytes("nope", Vec::new()).unwrap_err();
    assert_eq!(unknown(&e), vec!["run".to_owned()]);
    let e = extism.call_input("nope", &Value::Null, None).unwrap_err();
    assert_eq!(unknown(&e), vec!["run".to_owned()]);
    // Lua.
    let mut lua = host
        .load_lua("lua", "function hello() return 1 end")
        .unwrap();
    let e = lua.call_value("nope", vec![]).unwrap_err();
    assert!(unknown(&e).iter().any(|n| n == "hello"), "{e}");
    let e = lua.call_input("nope", &Value::Null, None).unwrap_err();
    assert!(unknown(&e).iter().any(|n| n == "hello"), "{e}");
}
