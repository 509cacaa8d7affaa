//! Malformed and hostile modules are rejected with `InvalidModule` (or the limit they hit), never
//! a panic, and the host keeps working (RELIABILITY.md §5.1).

use crate::common::{assert_kind, buffer_wat, canary};
use plugboard_host_core::{ErrorKind, Host, Limits, TrapCode};

fn host() -> Host {
    Host::builder().build()
}

#[test]
fn mod_01_empty_bytes_rejected() {
    let h = host();
    assert_kind(h.load_wasm(b""), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(&h);
}

#[test]
fn mod_02_bad_magic_rejected() {
    let h = host();
    assert_kind(h.load_wasm(b"\0asn\x01\0\0\0"), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(&h);
}

#[test]
fn mod_03_bad_version_rejected() {
    let h = host();
    for v in [[2u8, 0, 0, 0], [0x0d, 0, 0, 0], [0xff, 0xff, 0xff, 0xff]] {
        let mut b = b"\0asm".to_vec();
        b.extend_from_slice(&v);
        assert_kind(h.load_wasm(&b), |k| {
            matches!(k, ErrorKind::InvalidModule { .. })
        });
    }
    canary(&h);
}

#[test]
fn mod_04_every_truncation_of_valid_plugin_rejected() {
    let h = host();
    for (name, bytes) in plugboard_fixtures::ALL {
        // Every prefix through the section headers and the last 256 bytes, and 300 evenly
        // spread in between: parse time grows with the prefix, so all ~400k prefixes of the
        // fixtures would take minutes (the fuzz targets cover the rest).
        let n = bytes.len();
        let spread = (0..300).map(|k| k * n / 300);
        let cuts: std::collections::BTreeSet<usize> = (0..512.min(n))
            .chain(n.saturating_sub(256)..n)
            .chain(spread)
            .collect();
        let boundaries = section_boundaries(bytes);
        for i in cuts {
            let accepted = h.load_wasm(&bytes[..i]).is_ok();
            // A cut exactly between sections can leave a valid module (the trailing sections
            // are custom ones); everywhere else the prefix must be rejected.
            if accepted {
                assert!(
                    boundaries.contains(&i),
                    "{name}: prefix of {i} bytes (not a section boundary) was accepted"
                );
            }
        }
    }
    canary(&h);
}

/// Offsets at which a section ends, walking the section headers.
fn section_boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut at = 8;
    let mut out = vec![at];
    while at < bytes.len() {
        at += 1; // section id
        let (mut size, mut shift) = (0usize, 0);
        loop {
            let b = bytes[at];
            at += 1;
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        at += size;
        out.push(at);
    }
    out
}

#[test]
fn mod_05_seeded_bitflip_mutants_never_panic() {
    let h = host();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut ok = 0;
    for (_, bytes) in plugboard_fixtures::ALL {
        for _ in 0..250 {
            let mut m = bytes.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % m.len();
                m[i] ^= 1 << (next() % 8);
            }
            match h.load_wasm(&m) {
                Ok(mut p) => {
                    ok += 1;
                    // Whatever loads must also be callable without harming the host: any
                    // outcome but a panic of the engine.
                    if let Err(e) = p.call_bytes("noop", Vec::new()) {
                        assert!(!matches!(e.kind(), ErrorKind::EnginePanic { .. }), "{e:?}");
                    }
                }
                Err(e) => assert!(
                    !e.to_string().is_empty() && !matches!(e.kind(), ErrorKind::EnginePanic { .. }),
                    "{e:?}"
                ),
            }
        }
    }
    assert!(
        ok < 1000,
        "mutants should mostly be rejected or loaded, not crash"
    );
    canary(&h);
}

#[test]
fn mod_11_wat_text_is_not_accepted() {
    let h = host();
    assert_kind(h.load_wasm(b"(module)"), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
}

#[test]
fn mod_12_module_size_cap() {
    let h = Host::builder()
        .limits(Limits {
            max_module_bytes: 1024,
            ..Limits::default()
        })
        .build();
    let big = vec![0u8; 1025];
    assert_kind(h.load_wasm(&big), |k| {
        matches!(
            k,
            ErrorKind::ModuleTooLarge {
                len: 1025,
                max: 1024
            }
        )
    });
    let h = host();
    let big = vec![0u8; (8 << 20) + 1];
    assert_kind(h.load_wasm(&big), |k| {
        matches!(k, ErrorKind::ModuleTooLarge { .. })
    });
    canary(&h);
}

#[test]
fn mod_13_function_count_bomb_rejected() {
    let funcs = "(func)".repeat(60_000);
    let bytes = wat::parse_str(format!("(module {funcs})")).unwrap();
    let h = host();
    assert_kind(h.load_wasm(&bytes), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(&h);
}

#[test]
fn mod_18_invalid_function_body_rejected_eagerly() {
    let bytes = buffer_wat(
        "",
        r#"(func $never (result i32) (i64.const 1) (drop) (f32.const 0) )"#
            .replace("(f32.const 0)", "(i32.const 0) (i32.const 0) (i64.add)")
            .as_str(),
    );
    let h = host();
    let e = assert_kind(h.load_wasm(&bytes), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    assert!(e.to_string().contains("invalid module"));
}

#[test]
fn mod_19_unsupported_features_rejected() {
    let h = host();
    let shared = wat::parse_str("(module (memory 1 1 shared))").unwrap();
    assert_kind(h.load_wasm(&shared), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    let mem64 = wat::parse_str("(module (memory i64 1))").unwrap();
    assert_kind(h.load_wasm(&mem64), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    canary(&h);
}

#[test]
fn mod_20_component_binary_rejected() {
    let h = host();
    let e = assert_kind(h.load_wasm(b"\0asm\x0d\0\x01\0"), |k| {
        matches!(k, ErrorKind::InvalidModule { .. })
    });
    assert!(e.to_string().contains("component"), "{e}");
}

#[test]
fn mod_21_start_function_infinite_loop() {
    let bytes = buffer_wat("", r#"(func $spin (loop $l (br $l))) (start $spin)"#);
    let h = host();
    assert_kind(h.load_wasm(&bytes), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    canary(&h);
}

#[test]
fn mod_22_data_segment_out_of_bounds() {
    let bytes = wat::parse_str(r#"(module (memory (export "memory") 1) (data (i32.const 0xFFFFFFF0) "abcdefghijklmnopqrstuvwxyz")
        (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64)))"#).unwrap();
    let h = host();
    // Instantiation fails (the segment does not fit): a trap of the start-up, not a crash.
    let e = h
        .load_wasm(&bytes)
        .expect_err("an out-of-bounds data segment must not load");
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Trap {
                code: TrapCode::MemoryOutOfBounds,
                ..
            }
        ),
        "{e:?}"
    );
    canary(&h);
}

#[test]
fn mod_23_declared_memory_over_cap() {
    let h = host();
    for pages in [300, 65536] {
        let bytes = wat::parse_str(format!(r#"(module (memory (export "memory") {pages})
            (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64)))"#)).unwrap();
        assert_kind(h.load_wasm(&bytes), |k| {
            matches!(k, ErrorKind::MemoryLimit { .. })
        });
    }
    canary(&h);
}

#[test]
fn mod_24_table_min_over_limit() {
    let h = host();
    let bytes = wat::parse_str(r#"(module (memory (export "memory") 1) (table 10000000 funcref)
        (func (export "__alloc_buffer") (param i32) (result i32) (i32.const 8)) (func (export "__free_buffer") (param i64)))"#).unwrap();
    // A table of 10M elements is over the table limit: refused before it is allocated.
    let e = h
        .load_wasm(&bytes)
        .expect_err("a 10M-element table must not load");
    assert!(matches!(e.kind(), ErrorKind::MemoryLimit { .. }), "{e:?}");
    canary(&h);
}

#[test]
fn no_known_abi_is_a_detection_error() {
    let h = host();
    let bytes =
        wat::parse_str(r#"(module (func (export "run") (result i32) (i32.const 1)))"#).unwrap();
    let e = assert_kind(h.load_wasm(&bytes), |k| {
        matches!(k, ErrorKind::AbiDetection { .. })
    });
    assert!(e.to_string().contains("__alloc_buffer"), "{e}");
}
