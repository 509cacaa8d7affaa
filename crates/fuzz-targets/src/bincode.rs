//! `bincode_decode`: a type drawn from the input, then the rest of the input decoded as that
//! type with the buffer ABI's depth- and size-limited decoder. Oracle: no panic or stack
//! overflow, and decode → encode is a fixpoint (byte-identical to the input where the type
//! has no `f32`, whose NaN payloads may be quieted through `f64`).
//!
//! `buffer_abi`: a buffer-ABI "puppet" plugin whose allocator result, memory growth, returned
//! pointer and length and payload bytes all come from the input. Oracle: only ABI-abuse kinds
//! of error; an `Ok` output is exactly the bytes the plugin pointed at; then the bytes go
//! through `bincode_decode`'s oracle.

use crate::common::{expect_hostile, limits, with_host};
use arbitrary::{Arbitrary, Result, Unstructured};
use plugboard_host_core::{decode_value, encode_value, ErrorKind, PluginOptions, Type};

/// A type of bounded depth, drawn from the input.
fn ty(u: &mut Unstructured<'_>, depth: u32) -> Result<Type> {
    let leaf = depth >= 5;
    let choices = if leaf { 14 } else { 21 };
    Ok(match u.choose_index(choices)? {
        0 => Type::Unit,
        1 => Type::Bool,
        2 => Type::I8,
        3 => Type::I16,
        4 => Type::I32,
        5 => Type::I64,
        6 => Type::U8,
        7 => Type::U16,
        8 => Type::U32,
        9 => Type::U64,
        10 => Type::F32,
        11 => Type::F64,
        12 => Type::Char,
        13 => Type::String,
        14 | 15 => Type::List(Box::new(ty(u, depth + 1)?)),
        16 => Type::Array(Box::new(ty(u, depth + 1)?), u.int_in_range(0..=4)?),
        17 => {
            let n = u.int_in_range(0..=4)?;
            Type::Tuple((0..n).map(|_| ty(u, depth + 1)).collect::<Result<_>>()?)
        }
        18 => Type::Option(Box::new(ty(u, depth + 1)?)),
        19 => Type::Result(Box::new(ty(u, depth + 1)?), Box::new(ty(u, depth + 1)?)),
        _ => Type::Map(Box::new(ty(u, depth + 1)?), Box::new(ty(u, depth + 1)?)),
    })
}

fn has_f32(t: &Type) -> bool {
    match t {
        Type::F32 => true,
        Type::List(t) | Type::Array(t, _) | Type::Option(t) => has_f32(t),
        Type::Tuple(ts) => ts.iter().any(has_f32),
        Type::Result(a, b) | Type::Map(a, b) => has_f32(a) || has_f32(b),
        _ => false,
    }
}

/// The decode → encode fixpoint of `bytes` as `t`.
fn check_decode(bytes: &[u8], t: &Type) {
    let value = match decode_value(bytes, t) {
        Ok(v) => v,
        Err(e) => {
            assert!(
                matches!(e.kind(), ErrorKind::Decode(_)),
                "decode gave {e:?}"
            );
            return;
        }
    };
    let again = encode_value(&value, t).expect("a decoded value encodes as its type");
    if !has_f32(t) {
        assert_eq!(again, bytes, "decode → encode changed the bytes of {t:?}");
    }
    let value2 = decode_value(&again, t).expect("encoded bytes decode");
    let third = encode_value(&value2, t).expect("re-encodes");
    assert_eq!(third, again, "encode is not a fixpoint for {t:?}");
}

pub fn bincode_decode(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(t) = ty(&mut u, 0) else { return };
    check_decode(u.take_rest(), &t);
}

#[derive(Debug, Arbitrary)]
enum Alloc {
    /// A bump allocator from 1024.
    Bump,
    /// Always this pointer.
    Fixed(i32),
    /// Grows memory by this many pages, then bumps.
    Grow(u8),
    Trap,
    Loop,
}

#[derive(Debug, Arbitrary)]
struct Puppet {
    alloc: Alloc,
    pages: u8,
    returned_ptr: u32,
    returned_len: u32,
    payload_at: u16,
    payload: Vec<u8>,
    /// Point the returned buffer at the payload instead of `returned_ptr`/`returned_len`.
    at_payload: bool,
}

impl Puppet {
    fn wat(&self) -> String {
        let alloc_body = match self.alloc {
            Alloc::Bump => String::new(),
            Alloc::Fixed(p) => format!("(return (i32.const {p}))"),
            Alloc::Grow(n) => format!("(drop (memory.grow (i32.const {n})))"),
            Alloc::Trap => "(unreachable)".into(),
            Alloc::Loop => "(loop $l (br $l))".into(),
        };
        let (ptr, len) = self.returned();
        let packed = ((u64::from(ptr) << 32) | u64::from(len)) as i64;
        let data: String = self.payload.iter().map(|b| format!("\\{b:02x}")).collect();
        format!(
            r#"(module
  (memory (export "memory") {pages})
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const {at}) "{data}")
  (func (export "__alloc_buffer") (param $len i32) (result i32)
    (local $p i32)
    {alloc_body}
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $len)))
    (local.get $p))
  (func (export "__free_buffer") (param i64))
  (func (export "__run") (param i64) (result i64) (i64.const {packed})))"#,
            pages = 1 + u32::from(self.pages % 4),
            at = self.payload_at,
        )
    }

    fn returned(&self) -> (u32, u32) {
        if self.at_payload {
            (u32::from(self.payload_at), self.payload.len() as u32)
        } else {
            (self.returned_ptr, self.returned_len)
        }
    }
}

pub fn buffer_abi(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(puppet) = Puppet::arbitrary(&mut u) else {
        return;
    };
    let Ok(t) = ty(&mut u, 0) else { return };
    let input = u.take_rest().to_vec();
    let Ok(module) = wat::parse_str(puppet.wat()) else {
        return;
    };
    with_host(|host| {
        let options = PluginOptions::named("puppet").with_limits(limits());
        let mut plugin = match host.load_wasm_with(&module, options) {
            Ok(p) => p,
            Err(e) => return expect_hostile(&e),
        };
        match plugin.call_bytes("run", input) {
            Ok(out) => {
                let (ptr, len) = puppet.returned();
                assert_eq!(
                    out.len(),
                    len as usize,
                    "output length differs from the returned one"
                );
                // Inside the payload (and not overwritten by the input, which the bump
                // allocator puts at 1024): exactly the payload's bytes.
                let start = u64::from(ptr);
                let at = u64::from(puppet.payload_at);
                let end = at + puppet.payload.len() as u64;
                if matches!(puppet.alloc, Alloc::Fixed(_))
                    || start < at
                    || start + u64::from(len) > end
                {
                    return check_decode(&out, &t);
                }
                if end <= 1024 {
                    let s = (start - at) as usize;
                    assert_eq!(
                        out,
                        puppet.payload[s..s + len as usize],
                        "output is not the plugin's bytes"
                    );
                }
                check_decode(&out, &t);
            }
            Err(e) => {
                expect_hostile(&e);
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::AbiViolation(_)
                            | ErrorKind::Trap { .. }
                            | ErrorKind::OutOfFuel { .. }
                            | ErrorKind::MemoryLimit { .. }
                            | ErrorKind::OutputTooLarge { .. }
                            | ErrorKind::InputTooLarge { .. }
                    ),
                    "unexpected kind from a buffer-ABI puppet: {e:?}"
                );
            }
        }
    });
}
