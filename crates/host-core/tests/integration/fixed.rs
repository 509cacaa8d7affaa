//! The fixed ABI of wasmer-plugin (docs/abis.md §2): input at offset 5, the result's length at 1,
//! a fresh instance per call.

use crate::common::{assert_kind, canary};
use plugboard_host_core::{Abi, AbiViolation, ErrorKind, Host, Plugin, PluginOptions};

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Thing {
    one: u32,
    two: String,
    three: Vec<u8>,
}

fn demo(options: PluginOptions) -> Plugin {
    Host::builder()
        .build()
        .load_wasm_with(plugboard_fixtures::FIXED_DEMO, options)
        .unwrap()
}

#[test]
fn detected_with_its_exports() {
    let p = demo(PluginOptions::default());
    assert_eq!(p.abi(), Abi::Fixed);
    let mut names: Vec<_> = p.exports().iter().map(|e| e.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["calls", "double", "greet", "interact"]);
}

#[test]
fn calls_round_trip_bincode() {
    let mut p = demo(PluginOptions::default());
    assert_eq!(p.call::<u32, u32>("double", &21).unwrap(), 42);
    assert_eq!(
        p.call::<str, String>("greet", "Ada").unwrap(),
        "Hello, Ada!"
    );
}

/// wasmer-plugin's `interact` sequence: a struct goes in, comes back with every field updated;
/// ten rounds.
#[test]
fn interact_sequence_updates_the_thing_ten_times() {
    let mut p = demo(PluginOptions::default());
    let mut thing = Thing {
        one: 0,
        two: "two".into(),
        three: vec![],
    };
    for _ in 0..10 {
        thing = p.call("interact", &thing).unwrap();
    }
    assert_eq!(
        thing,
        Thing {
            one: 10,
            two: format!("two{}", "!".repeat(10)),
            three: (0..10).collect(),
        }
    );
}

#[test]
fn a_fresh_instance_per_call_unless_asked_to_reuse() {
    let mut p = demo(PluginOptions::default());
    for _ in 0..3 {
        assert_eq!(p.call::<(), u32>("calls", &()).unwrap(), 1);
    }
    assert_eq!(p.reinstantiations(), 0, "fresh instances are not failures");
    let mut p = demo(PluginOptions::default().keep_instance());
    let counts: Vec<u32> = (0..3).map(|_| p.call("calls", &()).unwrap()).collect();
    assert_eq!(counts, [1, 2, 3]);
}

/// A hand-written fixed-ABI module whose `_f` writes `len_at_1` at address 1 and returns `ptr`.
fn evil(len_at_1: u32, ptr: i32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "_f") (param i32 i32) (result i32)
    (i32.store (i32.const 1) (i32.const {len_at_1}))
    (i32.const {ptr})))"#
    ))
    .unwrap()
}

#[test]
fn results_outside_memory_are_abi_violations() {
    let h = Host::builder().build();
    for (len, ptr) in [(100, 65_500), (u32::MAX, 8), (8, -1)] {
        let mut p = h.load_wasm(&evil(len, ptr)).unwrap();
        assert_kind(p.call_bytes("f", vec![1, 2, 3]), |k| {
            matches!(
                k,
                ErrorKind::AbiViolation(
                    AbiViolation::OutOfBounds { .. } | AbiViolation::Overflow { .. }
                ) | ErrorKind::OutputTooLarge { .. }
            )
        });
    }
    // An input larger than the memory cannot be written at offset 5.
    let mut p = h.load_wasm(&evil(0, 8)).unwrap();
    assert_kind(p.call_bytes("f", vec![0; 70_000]), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. }))
    });
    assert_eq!(p.call_bytes("f", vec![]).unwrap(), b"");
    canary(&h);
}

#[test]
fn fixed_plugins_import_no_host_functions() {
    let bytes = wat::parse_str(
        r#"(module (import "env" "x" (func)) (memory (export "memory") 1)
             (func (export "_f") (param i32 i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let h = Host::builder().func("env", "x", |(): ()| ()).build();
    let e = h
        .load_wasm_with(&bytes, PluginOptions::default().with_abi(Abi::Fixed))
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LinkError { .. }), "{e}");
    // Without forcing it, nothing fits: an error naming the candidates.
    let e = h.load_wasm(&bytes).unwrap_err();
    assert!(e.to_string().contains("fixed ABI"), "{e}");
}
