//! Shared helpers: WAT plugins built around a bump allocator, and the canary check.

use plugboard_host_core::{Error, ErrorKind, Host, Plugin};

/// A buffer-ABI module: memory, a bump `__alloc_buffer` from 1024, a no-op `__free_buffer`,
/// `__ping` returning "pong", plus `extra` (functions, imports placed first via `imports`).
pub fn buffer_wat(imports: &str, extra: &str) -> Vec<u8> {
    buffer_wat_with_alloc(imports, extra, DEFAULT_ALLOC)
}

pub const DEFAULT_ALLOC: &str = r#"
  (func (export "__alloc_buffer") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $p))"#;

pub fn buffer_wat_with_alloc(imports: &str, extra: &str, alloc: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  {imports}
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const 16) "pong")
  {alloc}
  (func (export "__free_buffer") (param i64))
  (func (export "__ping") (param i64) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 4)))
  {extra}
)"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{text}"))
}

/// The canary of RELIABILITY.md §5.11: a fresh plugin on the same host answers.
#[track_caller]
pub fn canary(host: &Host) {
    let mut p = host.load_wasm(&buffer_wat("", "")).expect("canary loads");
    let out = p.call_bytes("ping", b"x".to_vec()).expect("canary answers");
    assert_eq!(out, b"pong");
}

/// Asserts the error kind matches, printing the error otherwise.
#[track_caller]
pub fn assert_kind(
    result: Result<impl std::fmt::Debug, Error>,
    check: impl Fn(&ErrorKind) -> bool,
) -> Error {
    match result {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => {
            assert!(check(e.kind()), "unexpected error kind: {e:?} ({e})");
            e
        }
    }
}

/// Also checks that the plugin itself works again afterwards (it re-instantiates).
#[track_caller]
pub fn plugin_recovers(p: &mut Plugin) {
    assert_eq!(
        p.call_bytes("ping", Vec::new()).expect("plugin recovers"),
        b"pong"
    );
}

/// Runs `body` as the body of `function f()` in a fresh Lua plugin on `host`: the result as
/// JSON, or the error.
pub fn lua_body_on(host: &Host, body: &str) -> Result<String, Error> {
    let mut p = host
        .load_lua("t", &format!("function f()\n{body}\nend"))
        .unwrap_or_else(|e| panic!("{e}"));
    p.call_value("f", vec![]).map(|v| v.to_json())
}

/// [`lua_body_on`] a default host, which must succeed.
#[track_caller]
pub fn lua_body(body: &str) -> String {
    lua_body_on(&Host::builder().build(), body).unwrap_or_else(|e| panic!("{body}: {e}"))
}
