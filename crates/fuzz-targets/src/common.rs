//! What the targets share: a host per thread with small limits, the canary, and the check
//! that an error is one of the kinds a hostile plugin may cause.

use plugboard_host_core::{Error, ErrorKind, Host, Limits};
use std::cell::OnceCell;

/// Limits small enough that one execution stays well under a millisecond or two.
pub fn limits() -> Limits {
    Limits {
        fuel: 200_000,
        fuel_slice: 50_000,
        instantiate_fuel: 100_000,
        memory_bytes: 1 << 20,
        max_output_bytes: 64 << 10,
        max_input_bytes: 64 << 10,
        max_log_bytes: 4 << 10,
        max_handles: 64,
        ..Limits::default()
    }
}

/// A buffer-ABI plugin that answers `ping` with `pong` (RELIABILITY.md §5.11).
const CANARY: &str = r#"(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const 16) "pong")
  (func (export "__alloc_buffer") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $p))
  (func (export "__free_buffer") (param i64))
  (func (export "__ping") (param i64) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 4))))"#;

struct Shared {
    host: Host,
    canary: Vec<u8>,
}

thread_local! {
    static SHARED: OnceCell<Shared> = const { OnceCell::new() };
}

/// Runs `f` with this thread's host, then checks the canary on the same host.
pub fn with_host(f: impl FnOnce(&Host)) {
    SHARED.with(|cell| {
        let shared = cell.get_or_init(|| Shared {
            host: Host::builder()
                .limits(limits())
                .func("env", "echo", |s: String| s)
                .build(),
            canary: wat::parse_str(CANARY).expect("canary WAT"),
        });
        f(&shared.host);
        canary(&shared.host, &shared.canary);
    });
}

fn canary(host: &Host, module: &[u8]) {
    let mut p = host.load_wasm(module).expect("canary loads");
    let out = p.call_bytes("ping", b"x".to_vec()).expect("canary answers");
    assert_eq!(out, b"pong", "canary answered wrongly");
}

/// Panics unless `e` is an error a plugin or its input may legitimately cause. Anything
/// else (a host-side bug surfacing as, say, `NoCallInFlight`) fails the oracle.
pub fn expect_hostile(e: &Error) {
    let ok = !matches!(e.kind(), ErrorKind::EnginePanic { .. }) && is_hostile(e);
    assert!(ok, "an error no plugin input should cause: {e:?} ({e})");
}

/// As [`expect_hostile`], and also a contained panic of the Lua engine (a piccolo bug the
/// host catches and recovers from: `EnginePanic`).
pub fn expect_hostile_lua(e: &Error) {
    let ok = matches!(e.kind(), ErrorKind::EnginePanic { .. }) || is_hostile(e);
    assert!(ok, "an error no plugin input should cause: {e:?} ({e})");
}

fn is_hostile(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::InvalidModule { .. }
            | ErrorKind::ModuleTooLarge { .. }
            | ErrorKind::MissingExport { .. }
            | ErrorKind::SignatureMismatch { .. }
            | ErrorKind::LinkError { .. }
            | ErrorKind::AbiDetection { .. }
            | ErrorKind::UnknownFunction { .. }
            | ErrorKind::OutOfFuel { .. }
            | ErrorKind::MemoryLimit { .. }
            | ErrorKind::StackOverflow
            | ErrorKind::Trap { .. }
            | ErrorKind::AbiViolation(_)
            | ErrorKind::Decode(_)
            | ErrorKind::Encode { .. }
            | ErrorKind::InputTooLarge { .. }
            | ErrorKind::OutputTooLarge { .. }
            | ErrorKind::HostFunction { .. }
            | ErrorKind::ReentrancyLimit { .. }
            | ErrorKind::Exit { .. }
            | ErrorKind::CallFailed { .. }
            | ErrorKind::ResourceLimit(_)
            | ErrorKind::LuaSyntax { .. }
            | ErrorKind::LuaError { .. }
            | ErrorKind::CapabilityDenied { .. }
            | ErrorKind::Interface { .. }
    )
}
