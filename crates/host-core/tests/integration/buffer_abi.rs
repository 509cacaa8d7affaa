//! Abuse of the buffer ABI by a plugin: every pointer, length and allocator result is checked;
//! every decode is limited (RELIABILITY.md §5.2, ABI-01..22).

use crate::common::{assert_kind, buffer_wat, buffer_wat_with_alloc, canary, plugin_recovers};
use plugboard_host_core::{AbiViolation, DecodeError, ErrorKind, Host, Limits, TrapCode};

fn host() -> Host {
    Host::builder()
        .func("env", "log", |s: String| s.len() as u32)
        .build()
}

/// A plugin whose `__run` returns the packed value `(ptr << 32) | len`.
fn returning(ptr: u64, len: u64) -> Vec<u8> {
    let packed = ((ptr << 32) | len) as i64;
    buffer_wat(
        "",
        &format!(r#"(func (export "__run") (param i64) (result i64) (i64.const {packed}))"#),
    )
}

/// A plugin whose `__run` returns `len` bytes of `payload` written at 2048.
fn payload(bytes: &[u8]) -> Vec<u8> {
    let data: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    let packed = (2048u64 << 32) | bytes.len() as u64;
    buffer_wat(
        "",
        &format!(
            r#"(data (i32.const 2048) "{data}")
        (func (export "__run") (param i64) (result i64) (i64.const {packed}))"#
        ),
    )
}

#[test]
fn abi_01_missing_required_exports() {
    let h = host();
    let no_memory = wat::parse_str(r#"(module (memory 1) (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64)))"#).unwrap();
    assert_kind(
        h.load_wasm(&no_memory),
        |k| matches!(k, ErrorKind::MissingExport { name } if name == "memory"),
    );
    let no_alloc = wat::parse_str(
        r#"(module (memory (export "memory") 1) (func (export "__free_buffer") (param i64)))"#,
    )
    .unwrap();
    assert_kind(
        h.load_wasm(&no_alloc),
        |k| matches!(k, ErrorKind::MissingExport { name } if name == "__alloc_buffer"),
    );
    let mut p = h.load_wasm(&buffer_wat("", "")).unwrap();
    assert_kind(p.call_bytes("nothing_here", vec![]), |k| {
        matches!(k, ErrorKind::UnknownFunction { .. })
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_02_export_wrong_kind() {
    let h = host();
    let alloc_global = wat::parse_str(r#"(module (memory (export "memory") 1) (global (export "__alloc_buffer") i32 (i32.const 0)) (func (export "__free_buffer") (param i64)))"#).unwrap();
    assert_kind(
        h.load_wasm(&alloc_global),
        |k| matches!(k, ErrorKind::MissingExport { name } if name == "__alloc_buffer"),
    );
    let memory_table = wat::parse_str(r#"(module (table (export "memory") 1 funcref) (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64)))"#).unwrap();
    assert_kind(
        h.load_wasm(&memory_table),
        |k| matches!(k, ErrorKind::MissingExport { name } if name == "memory"),
    );
    canary(&h);
}

#[test]
fn abi_03_export_wrong_signature() {
    let h = host();
    let bad_alloc = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "__alloc_buffer") (param i64) (result i64) (i64.const 8)) (func (export "__free_buffer") (param i64)))"#).unwrap();
    assert_kind(h.load_wasm(&bad_alloc), |k| {
        matches!(k, ErrorKind::SignatureMismatch { .. })
    });
    let mut p = h
        .load_wasm(&buffer_wat(
            "",
            r#"(func (export "__run") (param i32) (result i32) (i32.const 0))
        (func (export "__multi") (param i64) (result i64 i64) (i64.const 0) (i64.const 0))"#,
        ))
        .unwrap();
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k, ErrorKind::SignatureMismatch { .. })
    });
    assert_kind(p.call_bytes("multi", vec![]), |k| {
        matches!(k, ErrorKind::SignatureMismatch { .. })
    });
    // A mistyped export is reported without harming the instance.
    plugin_recovers(&mut p);
    assert_eq!(p.reinstantiations(), 0);
    canary(&h);
}

#[test]
fn abi_04_unknown_import_rejected() {
    let h = host();
    let bytes = buffer_wat(
        r#"(import "env" "__system" (func (param i64) (result i64)))"#,
        "",
    );
    let e = assert_kind(h.load_wasm(&bytes), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    assert!(e.to_string().contains("no such host function"), "{e}");
    let other_module = buffer_wat(r#"(import "os" "system" (func))"#, "");
    assert_kind(h.load_wasm(&other_module), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    canary(&h);
}

#[test]
fn abi_05_import_wrong_signature() {
    let h = host();
    let bytes = buffer_wat(r#"(import "env" "__log" (func (param f64)))"#, "");
    assert_kind(
        h.load_wasm(&bytes),
        |k| matches!(k, ErrorKind::LinkError { reason, .. } if reason.contains("(i64) -> (i64)")),
    );
    let bad_wasi = buffer_wat(
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32)))"#,
        "",
    );
    assert_kind(h.load_wasm(&bad_wasi), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    let unknown_wasi = buffer_wat(
        r#"(import "wasi_snapshot_preview1" "launch_missiles" (func))"#,
        "",
    );
    assert_kind(h.load_wasm(&unknown_wasi), |k| {
        matches!(k, ErrorKind::LinkError { .. })
    });
    canary(&h);
}

#[test]
fn abi_06_returned_range_out_of_bounds() {
    let h = host();
    let mut p = h.load_wasm(&returning(65536 - 4, 100)).unwrap();
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. }))
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_07_returned_range_wraps_u32() {
    let h = host();
    let mut p = h.load_wasm(&returning(0xFFFF_FFF0, 0x20)).unwrap();
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::Overflow { .. }))
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_08_returned_len_zero_edge_cases() {
    let h = host();
    assert_eq!(
        h.load_wasm(&returning(65536, 0))
            .unwrap()
            .call_bytes("run", vec![])
            .unwrap(),
        b""
    );
    assert_kind(
        h.load_wasm(&returning(65537, 0))
            .unwrap()
            .call_bytes("run", vec![]),
        |k| matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. })),
    );
    assert_eq!(
        h.load_wasm(&returning(0, 0))
            .unwrap()
            .call_bytes("run", vec![])
            .unwrap(),
        b""
    );
    canary(&h);
}

#[test]
fn abi_09_packed_u64_bit_patterns() {
    let h = host();
    let mem = 65536u64;
    for (ptr, len) in [
        (0, mem),
        (1, mem),
        (mem, 1),
        (mem - 1, 1),
        (0xffff_ffff, 0xffff_ffff),
        (0x8000_0000, 0x8000_0000),
        (1024, 0xffff_ffff),
    ] {
        let out = h
            .load_wasm(&returning(ptr, len))
            .unwrap()
            .call_bytes("run", vec![]);
        match out {
            Ok(bytes) => {
                assert!(ptr + len <= mem, "({ptr}, {len}) was accepted");
                assert_eq!(bytes.len() as u64, len);
            }
            // Past the memory: out of bounds; past u32 arithmetic: overflow; longer than the
            // output cap (16 MiB): too large. Nothing else.
            Err(e) => assert!(
                ptr + len > mem
                    && matches!(
                        e.kind(),
                        ErrorKind::AbiViolation(
                            AbiViolation::OutOfBounds { .. } | AbiViolation::Overflow { .. }
                        ) | ErrorKind::OutputTooLarge { .. }
                    ),
                "({ptr}, {len}) -> {e:?}"
            ),
        }
    }
    canary(&h);
}

#[test]
fn abi_10_output_exceeds_max_output() {
    let h = Host::builder()
        .limits(Limits {
            max_output_bytes: 1 << 10,
            ..Limits::default()
        })
        .build();
    let mut p = h.load_wasm(&returning(0, 2048)).unwrap();
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k, ErrorKind::OutputTooLarge { len: 2048, .. })
    });
    // Exactly the cap passes on the same host.
    let mut p = h.load_wasm(&returning(0, 1 << 10)).unwrap();
    assert_eq!(p.call_bytes("run", vec![]).unwrap().len(), 1 << 10);
    canary(&h);
}

#[test]
fn abi_11_alloc_buffer_returns_out_of_bounds() {
    let h = host();
    let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32) (i32.const 65535))"#;
    let mut p = h.load_wasm(&buffer_wat_with_alloc("", "", alloc)).unwrap();
    assert_kind(p.call_bytes("ping", vec![1, 2, 3]), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. }))
    });
    canary(&h);
}

#[test]
fn abi_12_alloc_buffer_returns_zero_or_negative() {
    let h = host();
    for ret in ["0", "-1", "-2147483648"] {
        let alloc = format!(
            r#"(func (export "__alloc_buffer") (param i32) (result i32) (i32.const {ret}))"#
        );
        let mut p = h.load_wasm(&buffer_wat_with_alloc("", "", &alloc)).unwrap();
        assert_kind(p.call_bytes("ping", vec![1]), |k| {
            matches!(k, ErrorKind::AbiViolation(AbiViolation::AllocFailed { .. }))
        });
    }
    canary(&h);
}

#[test]
fn abi_13_alloc_buffer_traps() {
    let h = host();
    let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32) (unreachable))"#;
    let mut p = h.load_wasm(&buffer_wat_with_alloc("", "", alloc)).unwrap();
    assert_kind(p.call_bytes("ping", vec![1]), |k| {
        matches!(
            k,
            ErrorKind::Trap {
                code: TrapCode::Unreachable,
                ..
            }
        )
    });
    // The instance was dropped; the next call re-creates it (and traps the same way).
    assert_kind(p.call_bytes("ping", vec![1]), |k| {
        matches!(k, ErrorKind::Trap { .. })
    });
    assert!(p.reinstantiations() >= 1);
    canary(&h);
}

#[test]
fn abi_14_alloc_buffer_infinite_loop() {
    let h = Host::builder()
        .limits(Limits {
            fuel: 1_000_000,
            ..Limits::default()
        })
        .build();
    let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32) (loop $l (br $l)) (i32.const 0))"#;
    let mut p = h.load_wasm(&buffer_wat_with_alloc("", "", alloc)).unwrap();
    assert_kind(p.call_bytes("ping", vec![1]), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    canary(&h);
}

#[test]
fn abi_15_alloc_buffer_grows_memory_to_cap() {
    let h = Host::builder()
        .limits(Limits {
            memory_bytes: 4 << 16,
            ..Limits::default()
        })
        .build();
    // Grows by 3 pages (to the cap) and returns a pointer in the new memory.
    let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32)
        (drop (memory.grow (i32.const 3))) (i32.const 200000))"#;
    let mut p = h.load_wasm(&buffer_wat_with_alloc("", "", alloc)).unwrap();
    assert_eq!(p.call_bytes("ping", vec![7; 100]).unwrap(), b"pong");
    assert_eq!(p.memory_bytes(), 4 << 16);
    // Growing past the cap fails inside the plugin (memory.grow returns -1), not in the host.
    let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32)
        (if (i32.eq (memory.grow (i32.const 100)) (i32.const -1)) (then unreachable)) (i32.const 8))"#;
    let mut p = h.load_wasm(&buffer_wat_with_alloc("", "", alloc)).unwrap();
    assert_kind(p.call_bytes("ping", vec![1]), |k| {
        matches!(k, ErrorKind::MemoryLimit { .. })
    });
    canary(&h);
}

#[test]
fn abi_16_alloc_buffer_aliases_previous_buffer() {
    let h = Host::builder()
        .func("env", "echo", |s: String| s + "!")
        .build();
    let alloc = r#"(func (export "__alloc_buffer") (param i32) (result i32) (i32.const 4096))"#;
    // __run forwards its input to env.__echo and returns the reply: input, argument and reply
    // buffers all live at 4096.
    let extra =
        r#"(func (export "__run") (param $p i64) (result i64) (call $echo (local.get $p)))"#;
    let bytes = buffer_wat_with_alloc(
        r#"(import "env" "__echo" (func $echo (param i64) (result i64)))"#,
        extra,
        alloc,
    );
    let mut p = h.load_wasm(&bytes).unwrap();
    let out = p
        .call_bytes("run", plugboard_host_core::encode("abc").unwrap())
        .unwrap();
    assert_eq!(plugboard_host_core::decode::<String>(&out).unwrap(), "abc!");
    canary(&h);
}

#[test]
fn abi_17_bincode_claims_huge_len() {
    let h = host();
    let mut b = (1u64 << 60).to_le_bytes().to_vec();
    b.extend_from_slice(&[0; 12]);
    let mut p = h.load_wasm(&payload(&b)).unwrap();
    assert_kind(p.call::<(), Vec<u8>>("run", &()), |k| {
        matches!(k, ErrorKind::Decode(DecodeError::SizeLimit { .. }))
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_18_bincode_deep_nesting() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Node(Option<Box<Node>>);
    let h = host();
    let mut deep = vec![1u8; 10_000];
    deep.push(0);
    let mut p = h.load_wasm(&payload(&deep)).unwrap();
    assert_kind(p.call::<(), Node>("run", &()), |k| {
        matches!(k, ErrorKind::Decode(DecodeError::DepthLimit { .. }))
    });
    // The same through a dynamic type deeper than the decoder's limit of 64 (built in code:
    // the signature parser stops at 32), over a payload that nests that deep: the depth limit
    // fires, not a length or tag error.
    let mut ty = plugboard_host_core::Type::U8;
    for _ in 0..70 {
        ty = plugboard_host_core::Type::Option(Box::new(ty));
    }
    let mut nested = vec![1u8; 70];
    nested.push(9);
    let mut p = h.load_wasm(&payload(&nested)).unwrap();
    let sig = plugboard_host_core::Signature::new(vec![], ty);
    assert_kind(p.call_with_signature("run", &sig, vec![]), |k| {
        matches!(k, ErrorKind::Decode(DecodeError::DepthLimit { max: 64 }))
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_19_bincode_trailing_bytes_rejected() {
    let h = host();
    let mut p = h.load_wasm(&payload(&[7, 0, 0, 0, 0xee])).unwrap();
    assert_kind(p.call::<(), u32>("run", &()), |k| {
        matches!(
            k,
            ErrorKind::Decode(DecodeError::TrailingBytes { count: 1 })
        )
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_20_bincode_invalid_utf8() {
    let h = host();
    let mut b = 2u64.to_le_bytes().to_vec();
    b.extend_from_slice(&[0xff, 0xfe]);
    let mut p = h.load_wasm(&payload(&b)).unwrap();
    assert_kind(p.call::<(), String>("run", &()), |k| {
        matches!(k, ErrorKind::Decode(DecodeError::InvalidUtf8))
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_21_bincode_invalid_tags() {
    let h = host();
    let mut p = h.load_wasm(&payload(&[2])).unwrap();
    assert_kind(p.call::<(), bool>("run", &()), |k| {
        matches!(
            k,
            ErrorKind::Decode(DecodeError::InvalidTag { what: "bool", .. })
        )
    });
    assert_kind(p.call::<(), Option<u8>>("run", &()), |k| {
        matches!(
            k,
            ErrorKind::Decode(DecodeError::InvalidTag { what: "option", .. })
        )
    });
    let mut p = h.load_wasm(&payload(&[0xed, 0xa0, 0x80])).unwrap();
    assert_kind(p.call::<(), char>("run", &()), |k| {
        matches!(
            k,
            ErrorKind::Decode(DecodeError::InvalidTag { what: "char", .. })
        )
    });
    let mut p = h.load_wasm(&payload(&99u32.to_le_bytes())).unwrap();
    assert_kind(p.call::<(), Result<u8, u8>>("run", &()), |k| {
        matches!(k, ErrorKind::Decode(_)) && format!("{k:?}").contains("99")
    });
    plugin_recovers(&mut p);
    canary(&h);
}

#[test]
fn abi_22_deep_value_drop_is_safe() {
    // The deepest value the decoder accepts is dropped on a 1 MiB stack without overflow.
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(|| {
        let ty =
            plugboard_host_core::Type::parse(&format!("{}u8{}", "Vec<".repeat(30), ">".repeat(30)))
                .unwrap();
        let mut bytes = Vec::new();
        for _ in 0..30 {
            bytes.extend_from_slice(&1u64.to_le_bytes());
        }
        bytes.push(9);
        let v = plugboard_host_core::decode_value(&bytes, &ty).unwrap();
        drop(v);
    });
    handle.unwrap().join().unwrap();
    canary(&host());
}

#[test]
fn host_import_with_out_of_bounds_argument_fails_cleanly() {
    let h = host();
    let extra = r#"(func (export "__run") (param i64) (result i64) (call $log (i64.const 0x0000FFFF00001000)))"#;
    let bytes = buffer_wat(
        r#"(import "env" "__log" (func $log (param i64) (result i64)))"#,
        extra,
    );
    let mut p = h.load_wasm(&bytes).unwrap();
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. }))
    });
    plugin_recovers(&mut p);
    canary(&h);
}
