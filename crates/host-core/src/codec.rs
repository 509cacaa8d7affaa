//! bincode 1.x "legacy" encoding (what `bincode::serialize` writes in 1.3), written here so that
//! decoding plugin data is depth- and size-limited (bincode 1.3 overflows the stack at ~7k levels).
//!
//! Little-endian fixed-width integers, `u64` length prefixes on strings, sequences and maps, `u32`
//! enum variant index, 1-byte `Option`/`bool`, chars as their UTF-8 bytes, `()` as nothing.
//! Unlike `bincode::deserialize`, trailing bytes after a value are an error.

use crate::error::{DecodeError, Error, ErrorKind};
use crate::schema::Type;
use crate::value::Value;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use std::fmt;

/// Nesting limit for decoded values (RELIABILITY.md §4.1.5: serde depth ≤ 64).
pub(crate) const MAX_DEPTH: u32 = 64;

/// Most zero-sized values (`()` in `Vec<()>`, however nested) one decode may produce.
const MAX_ZERO_SIZED: u64 = 1 << 20;

/// Encodes a serde value.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    value
        .serialize(&mut Enc { out: &mut out })
        .map_err(|e| e.into_error(true))?;
    Ok(out)
}

/// Decodes a serde value, rejecting trailing bytes.
pub(crate) fn from_bytes<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut d = Dec::new(bytes);
    let v = T::deserialize(&mut d).map_err(|e| e.into_error(false))?;
    if !d.input.is_empty() {
        return Err(DecodeError::TrailingBytes {
            count: d.input.len(),
        }
        .into());
    }
    Ok(v)
}

/// The serde error of the codec: a decode error, or a message from a `Serialize`/`Deserialize`
/// impl.
#[derive(Debug)]
pub(crate) enum CodecError {
    Decode(DecodeError),
    Custom(String),
}

impl CodecError {
    fn into_error(self, encoding: bool) -> Error {
        match self {
            CodecError::Decode(d) => d.into(),
            CodecError::Custom(reason) if encoding => ErrorKind::Encode { reason }.into(),
            CodecError::Custom(reason) => DecodeError::Mismatch { reason }.into(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Decode(d) => fmt::Display::fmt(d, f),
            CodecError::Custom(s) => f.write_str(s),
        }
    }
}
impl std::error::Error for CodecError {}
impl ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::Custom(msg.to_string())
    }
}
impl de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CodecError::Custom(msg.to_string())
    }
}
impl From<DecodeError> for CodecError {
    fn from(d: DecodeError) -> Self {
        CodecError::Decode(d)
    }
}

// ---------------------------------------------------------------- encoder

struct Enc<'a> {
    out: &'a mut Vec<u8>,
}

impl Enc<'_> {
    fn len(&mut self, len: Option<usize>) -> Result<(), CodecError> {
        let len = len.ok_or_else(|| {
            CodecError::Custom("sequences must know their length (bincode)".into())
        })?;
        self.out.extend_from_slice(&(len as u64).to_le_bytes());
        Ok(())
    }
}

macro_rules! put_le {
    ($($fn:ident: $ty:ty),*) => {$(
        fn $fn(self, v: $ty) -> Result<(), CodecError> {
            self.out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        }
    )*};
}

impl<'a, 'b> ser::Serializer for &'a mut Enc<'b> {
    type Ok = ();
    type Error = CodecError;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    put_le!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_u128: u128, serialize_f32: f32, serialize_f64: f64);

    fn serialize_bool(self, v: bool) -> Result<(), CodecError> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), CodecError> {
        self.out.push(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), CodecError> {
        let mut buf = [0u8; 4];
        self.out
            .extend_from_slice(v.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CodecError> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CodecError> {
        self.len(Some(v.len()))?;
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), CodecError> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), CodecError> {
        self.out.push(1);
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), CodecError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        idx: u32,
        _: &'static str,
    ) -> Result<(), CodecError> {
        self.serialize_u32(idx)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        idx: u32,
        _: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        self.out.extend_from_slice(&idx.to_le_bytes());
        v.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, CodecError> {
        self.len(len)?;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        idx: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, CodecError> {
        self.out.extend_from_slice(&idx.to_le_bytes());
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, CodecError> {
        self.len(len)?;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, CodecError> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        idx: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, CodecError> {
        self.out.extend_from_slice(&idx.to_le_bytes());
        Ok(self)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

macro_rules! compound {
    ($($trait:ident :: $method:ident),*) => {$(
        impl<'a, 'b> ser::$trait for &'a mut Enc<'b> {
            type Ok = ();
            type Error = CodecError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), CodecError> {
                Ok(())
            }
        }
    )*};
}
compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl<'a, 'b> ser::SerializeMap for &'a mut Enc<'b> {
    type Ok = ();
    type Error = CodecError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CodecError> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

macro_rules! compound_struct {
    ($($trait:ident),*) => {$(
        impl<'a, 'b> ser::$trait for &'a mut Enc<'b> {
            type Ok = ();
            type Error = CodecError;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, v: &T) -> Result<(), CodecError> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), CodecError> {
                Ok(())
            }
        }
    )*};
}
compound_struct!(SerializeStruct, SerializeStructVariant);

// ---------------------------------------------------------------- decoder

struct Dec<'de> {
    input: &'de [u8],
    depth: u32,
    /// Elements every sequence and map of this decode may still claim, together: one per input
    /// byte (an element of a sized type takes at least one) plus [`MAX_ZERO_SIZED`]. Without it
    /// nested sequences of zero-sized values (`Vec<Vec<()>>`) would multiply a few bytes of
    /// length prefixes into billions of values.
    elements_left: u64,
}

impl<'de> Dec<'de> {
    fn new(input: &'de [u8]) -> Self {
        Dec {
            input,
            depth: 0,
            elements_left: (input.len() as u64).saturating_add(MAX_ZERO_SIZED),
        }
    }

    /// Charges a sequence's `claimed` elements to the decode's budget.
    fn claim(&mut self, claimed: u64) -> Result<(), DecodeError> {
        if claimed > self.elements_left {
            return Err(DecodeError::SizeLimit {
                claimed,
                available: self.elements_left,
            });
        }
        self.elements_left -= claimed;
        Ok(())
    }
}

impl<'de> Dec<'de> {
    fn take(&mut self, n: usize) -> Result<&'de [u8], DecodeError> {
        if self.input.len() < n {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.input.split_at(n);
        self.input = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A length prefix, checked against what is left: every element takes at least
    /// `min_elem` bytes, so a prefix of 2^60 in a 20-byte payload fails before any allocation.
    fn len(&mut self, min_elem: usize) -> Result<usize, DecodeError> {
        let claimed = u64::from_le_bytes(self.array()?);
        let available = self.input.len() as u64;
        if claimed.saturating_mul(min_elem as u64) > available {
            return Err(DecodeError::SizeLimit { claimed, available });
        }
        self.claim(claimed)?;
        usize::try_from(claimed).map_err(|_| DecodeError::SizeLimit { claimed, available })
    }

    /// A sequence or map length, where serde does not tell the element size: more elements
    /// than bytes left is only possible for zero-sized elements, and those are capped at 2^20.
    fn seq_len(&mut self) -> Result<usize, DecodeError> {
        let at = self.input;
        let claimed = u64::from_le_bytes(self.array()?);
        let available = self.input.len() as u64;
        if claimed > available && claimed > MAX_ZERO_SIZED {
            self.input = at;
            return Err(DecodeError::SizeLimit { claimed, available });
        }
        if let Err(e) = self.claim(claimed) {
            self.input = at;
            return Err(e);
        }
        usize::try_from(claimed).map_err(|_| DecodeError::SizeLimit { claimed, available })
    }

    fn bytes(&mut self) -> Result<&'de [u8], DecodeError> {
        let n = self.len(1)?;
        self.take(n)
    }

    fn str(&mut self) -> Result<&'de str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError::InvalidUtf8)
    }

    fn char(&mut self) -> Result<char, DecodeError> {
        let first = *self.input.first().ok_or(DecodeError::UnexpectedEnd)?;
        let width = match first {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => {
                return Err(DecodeError::InvalidTag {
                    what: "char",
                    value: u64::from(first),
                })
            }
        };
        let bytes = self.take(width)?;
        let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidTag {
            what: "char",
            value: u64::from(first),
        })?;
        s.chars().next().ok_or(DecodeError::UnexpectedEnd)
    }

    fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::InvalidTag {
                what: "bool",
                value: u64::from(v),
            }),
        }
    }

    fn option_tag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::InvalidTag {
                what: "option",
                value: u64::from(v),
            }),
        }
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(DecodeError::DepthLimit { max: MAX_DEPTH });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

macro_rules! get_le {
    ($($fn:ident: $ty:ty => $visit:ident),*) => {$(
        fn $fn<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
            v.$visit(<$ty>::from_le_bytes(self.array()?))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Dec<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CodecError> {
        Err(CodecError::Custom(
            "bincode is not self-describing: the type must be known".into(),
        ))
    }

    get_le!(deserialize_i8: i8 => visit_i8, deserialize_i16: i16 => visit_i16,
        deserialize_i32: i32 => visit_i32, deserialize_i64: i64 => visit_i64,
        deserialize_i128: i128 => visit_i128, deserialize_u8: u8 => visit_u8,
        deserialize_u16: u16 => visit_u16, deserialize_u32: u32 => visit_u32,
        deserialize_u64: u64 => visit_u64, deserialize_u128: u128 => visit_u128,
        deserialize_f32: f32 => visit_f32, deserialize_f64: f64 => visit_f64);

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_bool(self.bool()?)
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_char(self.char()?)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_borrowed_str(self.str()?)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        self.deserialize_str(v)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_borrowed_bytes(self.bytes()?)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        self.deserialize_bytes(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        if self.option_tag()? {
            self.enter()?;
            let r = v.visit_some(&mut *self);
            self.leave();
            r
        } else {
            v.visit_none()
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, CodecError> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, CodecError> {
        self.enter()?;
        let r = v.visit_newtype_struct(&mut *self);
        self.leave();
        r
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        let len = self.seq_len()?;
        self.deserialize_tuple(len, v)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, CodecError> {
        self.enter()?;
        let r = v.visit_seq(Access {
            dec: &mut *self,
            left: len,
        });
        self.leave();
        r
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, CodecError> {
        self.deserialize_tuple(len, v)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, CodecError> {
        let len = self.seq_len()?;
        self.enter()?;
        let r = v.visit_map(Access {
            dec: &mut *self,
            left: len,
        });
        self.leave();
        r
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        self.deserialize_tuple(fields.len(), v)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        self.enter()?;
        let r = v.visit_enum(&mut *self);
        self.leave();
        r
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CodecError> {
        Err(CodecError::Custom(
            "identifiers are not encoded in bincode".into(),
        ))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CodecError> {
        Err(CodecError::Custom(
            "bincode cannot skip values of unknown type".into(),
        ))
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

struct Access<'a, 'de> {
    dec: &'a mut Dec<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Access<'_, 'de> {
    type Error = CodecError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, CodecError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.dec).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        // Never let a claimed length drive a large preallocation.
        Some(self.left.min(4096))
    }
}

impl<'de> de::MapAccess<'de> for Access<'_, 'de> {
    type Error = CodecError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CodecError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.dec).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, CodecError> {
        seed.deserialize(&mut *self.dec)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left.min(4096))
    }
}

impl<'de> de::EnumAccess<'de> for &mut Dec<'de> {
    type Error = CodecError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), CodecError> {
        let idx = self.u32()?;
        let v = seed.deserialize(IntoDeserializer::<CodecError>::into_deserializer(idx))?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Dec<'de> {
    type Error = CodecError;
    fn unit_variant(self) -> Result<(), CodecError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, CodecError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_tuple(self, len, v)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, CodecError> {
        de::Deserializer::deserialize_tuple(self, fields.len(), v)
    }
}

// ---------------------------------------------------------------- text-or-JSON (Extism)

/// A serde value in the Extism convention: a string as its text, `()` as nothing, else JSON.
pub(crate) fn text_or_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s.into_bytes()),
        Ok(serde_json::Value::Null) => Ok(Vec::new()),
        Ok(v) => Ok(v.to_string().into_bytes()),
        Err(e) => Err(ErrorKind::Encode {
            reason: e.to_string(),
        }
        .into()),
    }
}

/// Decodes Extism-convention bytes as `T`, as its type asks: a string is the exact text, bytes
/// are themselves, nothing is `()`/`None`, anything else JSON (see `extism_args`).
pub(crate) fn from_json_or_text<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    crate::extism_args::from_bytes(bytes).map_err(|e| {
        DecodeError::Mismatch {
            reason: format!("output does not read as the expected type: {e}"),
        }
        .into()
    })
}

/// Call input from values in the Extism convention: no value (or nil) is nothing, one string
/// its text, one byte string itself, anything else (several values: their list) JSON.
pub(crate) fn extism_input(args: &[Value]) -> Result<Vec<u8>, Error> {
    Ok(match args {
        [] | [Value::Null] => Vec::new(),
        [Value::String(s)] => s.clone().into_bytes(),
        [Value::Bytes(b)] => b.clone(),
        [one] => one.to_json().into_bytes(),
        more => Value::List(more.to_vec()).to_json().into_bytes(),
    })
}

/// Call output in the Extism convention as a value: nothing is nil, JSON its value, other
/// UTF-8 text a string, anything else bytes.
pub(crate) fn extism_output(out: Vec<u8>) -> Value {
    if out.is_empty() {
        return Value::Null;
    }
    match std::str::from_utf8(&out) {
        Ok(text) => Value::from_json(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        Err(_) => Value::Bytes(out),
    }
}

// ---------------------------------------------------------------- Value <-> bytes by Type

/// A type one of whose values is [`Value::Null`]: `Some(x)` of an `Option` of it must be told
/// apart from `None` (found by the `bincode_decode` fuzz target: `Some(())` came back `None`).
fn nullable(t: &Type) -> bool {
    matches!(t, Type::Unit | Type::Option(_))
}

/// Encodes a dynamic value as `ty`.
///
/// # Errors
///
/// [`ErrorKind::Encode`] when the value does not fit the type.
pub(crate) fn encode_value(value: &Value, ty: &Type, out: &mut Vec<u8>) -> Result<(), Error> {
    fn mismatch(value: &Value, ty: &Type) -> Error {
        ErrorKind::Encode {
            reason: format!("expected {ty}, found {}", value.shape()),
        }
        .into()
    }
    fn int(value: &Value, ty: &Type) -> Result<i128, Error> {
        match value {
            Value::Int(i) => Ok(i128::from(*i)),
            Value::Uint(u) => Ok(i128::from(*u)),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 1.8e19 => Ok(*f as i128),
            _ => Err(mismatch(value, ty)),
        }
    }
    macro_rules! put_int {
        ($t:ty) => {{
            let i = int(value, ty)?;
            let v = <$t>::try_from(i).map_err(|_| {
                Error::from(ErrorKind::Encode {
                    reason: format!("{i} does not fit {ty}"),
                })
            })?;
            out.extend_from_slice(&v.to_le_bytes());
        }};
    }
    fn float(value: &Value, ty: &Type) -> Result<f64, Error> {
        match value {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Uint(u) => Ok(*u as f64),
            _ => Err(mismatch(value, ty)),
        }
    }
    fn put_len(out: &mut Vec<u8>, n: usize) {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    match ty {
        Type::Unit => match value {
            Value::Null => {}
            Value::List(l) if l.is_empty() => {}
            _ => return Err(mismatch(value, ty)),
        },
        Type::Bool => match value {
            Value::Bool(b) => out.push(u8::from(*b)),
            _ => return Err(mismatch(value, ty)),
        },
        Type::I8 => put_int!(i8),
        Type::I16 => put_int!(i16),
        Type::I32 => put_int!(i32),
        Type::I64 => put_int!(i64),
        Type::U8 => put_int!(u8),
        Type::U16 => put_int!(u16),
        Type::U32 => put_int!(u32),
        Type::U64 => put_int!(u64),
        Type::F32 => out.extend_from_slice(&(float(value, ty)? as f32).to_le_bytes()),
        Type::F64 => out.extend_from_slice(&float(value, ty)?.to_le_bytes()),
        Type::Char => match value {
            Value::String(s) if s.chars().count() == 1 => out.extend_from_slice(s.as_bytes()),
            _ => return Err(mismatch(value, ty)),
        },
        Type::String => match value {
            Value::String(s) => {
                put_len(out, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            _ => return Err(mismatch(value, ty)),
        },
        Type::List(elem) => match value {
            Value::List(items) => {
                put_len(out, items.len());
                for item in items {
                    encode_value(item, elem, out)?;
                }
            }
            Value::Bytes(b) if **elem == Type::U8 => {
                put_len(out, b.len());
                out.extend_from_slice(b);
            }
            Value::String(s) if **elem == Type::U8 => {
                put_len(out, s.len());
                out.extend_from_slice(s.as_bytes());
            }
            _ => return Err(mismatch(value, ty)),
        },
        Type::Array(elem, n) => match value {
            Value::List(items) if items.len() == *n => {
                for item in items {
                    encode_value(item, elem, out)?;
                }
            }
            Value::Bytes(b) if **elem == Type::U8 && b.len() == *n => out.extend_from_slice(b),
            _ => return Err(mismatch(value, ty)),
        },
        Type::Tuple(types) => match value {
            Value::List(items) if items.len() == types.len() => {
                for (item, t) in items.iter().zip(types) {
                    encode_value(item, t, out)?;
                }
            }
            _ => return Err(mismatch(value, ty)),
        },
        Type::Option(inner) => match value {
            Value::Null => out.push(0),
            // `Some(x)` of a type that can itself be null is `[x]` (see `Value`).
            Value::List(items) if nullable(inner) && items.len() == 1 => {
                out.push(1);
                encode_value(&items[0], inner, out)?;
            }
            v if nullable(inner) => return Err(mismatch(v, ty)),
            v => {
                out.push(1);
                encode_value(v, inner, out)?;
            }
        },
        Type::Result(ok, err) => match value {
            Value::Map(entries) if entries.len() == 1 => match &entries[..] {
                [(Value::String(k), v)] if k == "Ok" => {
                    out.extend_from_slice(&0u32.to_le_bytes());
                    encode_value(v, ok, out)?;
                }
                [(Value::String(k), v)] if k == "Err" => {
                    out.extend_from_slice(&1u32.to_le_bytes());
                    encode_value(v, err, out)?;
                }
                _ => return Err(mismatch(value, ty)),
            },
            _ => return Err(mismatch(value, ty)),
        },
        Type::Map(k, v) => match value {
            Value::Map(entries) => {
                put_len(out, entries.len());
                for (key, val) in entries {
                    match (key, &**k) {
                        // JSON object keys are strings; accept "3" for an integer key.
                        (Value::String(s), kt) if *kt != Type::String && *kt != Type::Char => {
                            let parsed = Value::from_json(s)?;
                            encode_value(&parsed, kt, out)?;
                        }
                        _ => encode_value(key, k, out)?,
                    }
                    encode_value(val, v, out)?;
                }
            }
            _ => return Err(mismatch(value, ty)),
        },
        Type::Struct { name, fields } => {
            let values = fields.values(value, &format!("`{name}`"))?;
            for (field, t) in values.iter().zip(fields.types()) {
                encode_value(field.value(), t, out)?;
            }
        }
        Type::Enum { name, variants } => {
            let (index, variant, payload) = crate::schema::enum_variant(name, variants, value)?;
            out.extend_from_slice(&index.to_le_bytes());
            if let Some(payload) = payload {
                let what = format!("`{name}::{}`", variant.name);
                let values = variant.fields.values(payload, &what)?;
                for (field, t) in values.iter().zip(variant.fields.types()) {
                    encode_value(field.value(), t, out)?;
                }
            }
        }
        Type::Opaque(name) => {
            return Err(ErrorKind::Encode {
                reason: format!(
                    "the structure of type `{name}` is unknown to the host: declare it \
                     (`struct {name} {{ … }}` or `enum {name} {{ … }}`)"
                ),
            }
            .into())
        }
    }
    Ok(())
}

/// Decodes bytes of type `ty` into a dynamic value, rejecting trailing bytes.
///
/// # Errors
///
/// [`ErrorKind::Decode`] on malformed or hostile data.
pub(crate) fn decode_value(bytes: &[u8], ty: &Type) -> Result<Value, Error> {
    let mut d = Dec::new(bytes);
    let v = decode_with(&mut d, ty)?;
    if !d.input.is_empty() {
        return Err(DecodeError::TrailingBytes {
            count: d.input.len(),
        }
        .into());
    }
    Ok(v)
}

/// The least number of bytes any value of `ty` takes, so length prefixes can be checked.
fn min_size(ty: &Type) -> usize {
    match ty {
        Type::Unit | Type::Opaque(_) => 0,
        Type::Bool | Type::I8 | Type::U8 | Type::Char | Type::Option(_) => 1,
        Type::I16 | Type::U16 => 2,
        Type::I32 | Type::U32 | Type::F32 | Type::Result(..) => 4,
        Type::I64 | Type::U64 | Type::F64 | Type::String | Type::List(_) | Type::Map(..) => 8,
        Type::Array(t, n) => min_size(t).saturating_mul(*n),
        Type::Tuple(ts) => ts.iter().map(min_size).fold(0, usize::saturating_add),
        Type::Struct { fields, .. } => fields
            .types()
            .into_iter()
            .map(min_size)
            .fold(0, usize::saturating_add),
        Type::Enum { .. } => 4,
    }
}

fn decode_with(d: &mut Dec<'_>, ty: &Type) -> Result<Value, Error> {
    macro_rules! le {
        ($t:ty, $wrap:expr) => {{
            let v = <$t>::from_le_bytes(d.array()?);
            $wrap(v)
        }};
    }
    let nested = |d: &mut Dec<'_>, f: &mut dyn FnMut(&mut Dec<'_>) -> Result<Value, Error>| {
        d.enter()?;
        let r = f(d);
        d.leave();
        r
    };
    Ok(match ty {
        Type::Unit => Value::Null,
        Type::Bool => Value::Bool(d.bool()?),
        Type::I8 => le!(i8, |v| Value::Int(i64::from(v))),
        Type::I16 => le!(i16, |v| Value::Int(i64::from(v))),
        Type::I32 => le!(i32, |v| Value::Int(i64::from(v))),
        Type::I64 => le!(i64, Value::Int),
        Type::U8 => le!(u8, |v| Value::Int(i64::from(v))),
        Type::U16 => le!(u16, |v| Value::Int(i64::from(v))),
        Type::U32 => le!(u32, |v| Value::Int(i64::from(v))),
        Type::U64 => le!(u64, |v: u64| i64::try_from(v)
            .map_or(Value::Uint(v), Value::Int)),
        Type::F32 => le!(f32, |v| Value::Float(f64::from(v))),
        Type::F64 => le!(f64, Value::Float),
        Type::Char => Value::String(d.char()?.to_string()),
        Type::String => Value::String(d.str()?.to_owned()),
        Type::List(elem) => {
            let n = d.len(min_size(elem).max(if **elem == Type::Unit { 0 } else { 1 }))?;
            if **elem == Type::Unit && n as u64 > MAX_ZERO_SIZED {
                return Err(DecodeError::SizeLimit {
                    claimed: n as u64,
                    available: MAX_ZERO_SIZED,
                }
                .into());
            }
            nested(d, &mut |d| {
                let mut items = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    items.push(decode_with(d, elem)?);
                }
                Ok(Value::List(items))
            })?
        }
        Type::Array(elem, n) => nested(d, &mut |d| {
            let mut items = Vec::with_capacity((*n).min(4096));
            for _ in 0..*n {
                items.push(decode_with(d, elem)?);
            }
            Ok(Value::List(items))
        })?,
        Type::Tuple(types) => nested(d, &mut |d| {
            types
                .iter()
                .map(|t| decode_with(d, t))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List)
        })?,
        Type::Option(inner) => {
            if !d.option_tag()? {
                Value::Null
            } else if nullable(inner) {
                Value::List(vec![nested(d, &mut |d| decode_with(d, inner))?])
            } else {
                nested(d, &mut |d| decode_with(d, inner))?
            }
        }
        Type::Result(ok, err) => {
            let (name, t) = match d.u32()? {
                0 => ("Ok", ok),
                1 => ("Err", err),
                v => {
                    return Err(DecodeError::InvalidTag {
                        what: "enum variant",
                        value: u64::from(v),
                    }
                    .into())
                }
            };
            let payload = nested(d, &mut |d| decode_with(d, t))?;
            Value::Map(vec![(Value::String(name.to_owned()), payload)])
        }
        Type::Map(k, v) => {
            let n = d.len(min_size(k).saturating_add(min_size(v)).max(1))?;
            nested(d, &mut |d| {
                let mut entries = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    let key = decode_with(d, k)?;
                    let val = decode_with(d, v)?;
                    entries.push((key, val));
                }
                Ok(Value::Map(entries))
            })?
        }
        Type::Struct { fields, .. } => nested(d, &mut |d| {
            let values = fields
                .types()
                .into_iter()
                .map(|t| decode_with(d, t))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(fields.value(values))
        })?,
        Type::Enum { variants, .. } => {
            let variant = crate::schema::variant_of(variants, d.u32()?)?;
            nested(d, &mut |d| {
                let values = variant
                    .fields
                    .types()
                    .into_iter()
                    .map(|t| decode_with(d, t))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(crate::schema::enum_value(variant, values))
            })?
        }
        Type::Opaque(name) => {
            return Err(DecodeError::Mismatch {
                reason: format!("the structure of type `{name}` is unknown to the host"),
            }
            .into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum E {
        A,
        B(u8),
        C { x: i16, y: String },
        D(u8, u8),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct S {
        a: Option<Vec<u32>>,
        b: E,
        c: char,
        d: BTreeMap<String, f64>,
        e: (),
        f: [u8; 3],
    }

    #[test]
    fn reference_bytes_of_abis_md() {
        assert_eq!(to_bytes(&(3u32, 4u32)).unwrap(), hex("0300000004000000"));
        assert_eq!(to_bytes("Hi!").unwrap(), hex("0300000000000000486921"));
        assert_eq!(
            to_bytes(&vec![1u32, 3]).unwrap(),
            hex("02000000000000000100000003000000")
        );
        assert_eq!(to_bytes(&Some(7u32)).unwrap(), hex("0107000000"));
        assert_eq!(to_bytes(&None::<u32>).unwrap(), hex("00"));
        assert_eq!(
            to_bytes(&Err::<u8, String>("e".into())).unwrap(),
            hex("01000000010000000000000065")
        );
        assert_eq!(to_bytes(&2.5f64).unwrap(), hex("0000000000000440"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn sample() -> S {
        S {
            a: Some(vec![1, 2, 3]),
            b: E::C {
                x: -5,
                y: "héllo".into(),
            },
            c: '€',
            d: [("k".to_owned(), 1.5)].into_iter().collect(),
            e: (),
            f: [7, 8, 9],
        }
    }

    #[test]
    fn matches_bincode_1_3_byte_for_byte() {
        let s = sample();
        let ours = to_bytes(&s).unwrap();
        assert_eq!(ours, ::bincode::serialize(&s).unwrap());
        assert_eq!(from_bytes::<S>(&ours).unwrap(), s);
        for e in [E::A, E::B(3), E::D(1, 2)] {
            assert_eq!(to_bytes(&e).unwrap(), ::bincode::serialize(&e).unwrap());
        }
    }

    #[test]
    fn value_codec_matches_serde_codec() {
        let ty = Type::parse("(Vec<Option<u32>>, Result<String, i8>, HashMap<u16, bool>, char)")
            .unwrap();
        let typed = (
            vec![Some(1u32), None],
            Ok::<String, i8>("x".into()),
            [(3u16, true)].into_iter().collect::<BTreeMap<_, _>>(),
            'z',
        );
        let bytes = ::bincode::serialize(&typed).unwrap();
        let v = decode_value(&bytes, &ty).unwrap();
        assert_eq!(v.to_json(), r#"[[1,null],{"Ok":"x"},{"3":true},"z"]"#);
        let mut again = Vec::new();
        encode_value(&v, &ty, &mut again).unwrap();
        assert_eq!(again, bytes);
    }

    #[test]
    fn huge_length_prefix_fails_without_allocating() {
        let mut b = (1u64 << 60).to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 12]);
        assert!(matches!(
            from_bytes::<Vec<u8>>(&b).unwrap_err().kind(),
            ErrorKind::Decode(DecodeError::SizeLimit { .. })
        ));
        assert!(matches!(
            decode_value(&b, &Type::List(Box::new(Type::U64)))
                .unwrap_err()
                .kind(),
            ErrorKind::Decode(DecodeError::SizeLimit { .. })
        ));
        // A Vec<()> claims elements that take no bytes: capped separately.
        assert!(decode_value(&b, &Type::List(Box::new(Type::Unit))).is_err());
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        #[derive(Debug, Serialize, Deserialize)]
        struct Node(Option<Box<Node>>);
        let mut b = vec![1u8; 10_000];
        b.push(0);
        let e = from_bytes::<Node>(&b).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Decode(DecodeError::DepthLimit { .. })),
            "{e}"
        );
    }

    #[test]
    fn nested_zero_sized_sequences_share_one_budget() {
        // 100 inner `Vec<()>` of 2^20 each would be 100M values from 808 bytes.
        let mut bytes = 100u64.to_le_bytes().to_vec();
        for _ in 0..100 {
            bytes.extend((1u64 << 20).to_le_bytes());
        }
        let ty = Type::List(Box::new(Type::List(Box::new(Type::Unit))));
        let e = decode_value(&bytes, &ty).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Decode(DecodeError::SizeLimit { .. })),
            "{e:?}"
        );
        let e = from_bytes::<Vec<Vec<()>>>(&bytes).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Decode(DecodeError::SizeLimit { .. })),
            "{e:?}"
        );
        // One of them is fine.
        let mut one = 1u64.to_le_bytes().to_vec();
        one.extend((1u64 << 20).to_le_bytes());
        assert_eq!(from_bytes::<Vec<Vec<()>>>(&one).unwrap()[0].len(), 1 << 20);
    }

    #[test]
    fn trailing_invalid_utf8_and_tags_are_typed_errors() {
        assert!(matches!(
            from_bytes::<u8>(&[1, 2]).unwrap_err().kind(),
            ErrorKind::Decode(DecodeError::TrailingBytes { count: 1 })
        ));
        let mut s = 2u64.to_le_bytes().to_vec();
        s.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(
            from_bytes::<String>(&s).unwrap_err().kind(),
            ErrorKind::Decode(DecodeError::InvalidUtf8)
        ));
        assert!(matches!(
            from_bytes::<bool>(&[2]).unwrap_err().kind(),
            ErrorKind::Decode(DecodeError::InvalidTag { what: "bool", .. })
        ));
        assert!(matches!(
            from_bytes::<Option<u8>>(&[2]).unwrap_err().kind(),
            ErrorKind::Decode(DecodeError::InvalidTag { what: "option", .. })
        ));
        assert!(from_bytes::<E>(&99u32.to_le_bytes()).is_err());
        assert!(from_bytes::<char>(&[0xed, 0xa0, 0x80]).is_err()); // U+D800 as UTF-8
    }

    type Mixed = (Vec<i64>, Option<String>, u8, bool, Vec<(u16, f32)>);

    proptest::proptest! {
        #[test]
        fn roundtrip_agrees_with_bincode(v: Mixed) {
            let ours = to_bytes(&v).unwrap();
            proptest::prop_assert_eq!(&ours, &::bincode::serialize(&v).unwrap());
            let back: Mixed = from_bytes(&ours).unwrap();
            proptest::prop_assert_eq!(to_bytes(&back).unwrap(), ours);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b: Vec<u8>) {
            let _ = from_bytes::<(String, Vec<Option<u64>>, E)>(&b);
            let _ = decode_value(&b, &Type::parse("Vec<(String, Option<char>, Result<u8, bool>)>").unwrap());
        }
    }
}
