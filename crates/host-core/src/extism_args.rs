//! Typed Rust values from Extism's bytes: the deserializer behind typed host functions that
//! Extism plugins call and typed results of Extism calls.
//!
//! Extism hands bytes around. A value is read from them as its Rust type asks, so nothing is
//! guessed: a `String` is the bytes' exact text (`"quoted"` stays `"quoted"`, `1.50` stays
//! `1.50`; bytes that are not UTF-8 are an error, never replacement characters), bytes
//! (`serde_bytes`) are the bytes themselves, no bytes are `()`/`None`, and every other type
//! (numbers, bools, structs, maps, sequences, enums) is read as JSON, as extism-pdk's `Json<T>`
//! writes it. A self-describing target (`serde_json::Value`, [`crate::Value`]) takes JSON when
//! the bytes parse as JSON, else text, else bytes. Several arguments are a tuple.

use serde::de::value::SeqDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use std::fmt;

/// Why bytes do not read as the requested type.
#[derive(Debug)]
pub(crate) struct DeError(String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }
}

impl DeError {
    fn json(e: serde_json::Error) -> Self {
        DeError(format!("not JSON of the expected type: {e}"))
    }
}

/// `T` from one value's bytes.
pub(crate) fn from_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DeError> {
    T::deserialize(Bytes(bytes))
}

/// `T` from a host function's arguments: one is itself, none is `()`, several are a tuple.
pub(crate) fn from_args<T: DeserializeOwned>(parts: &[Vec<u8>]) -> Result<T, DeError> {
    match parts {
        [one] => from_bytes(one),
        [] => T::deserialize(Bytes(&[])),
        many => T::deserialize(SeqDeserializer::<_, DeError>::new(
            many.iter().map(|p| Bytes(p)),
        )),
    }
}

/// One value's bytes, read as the visitor's type asks.
#[derive(Clone, Copy)]
struct Bytes<'de>(&'de [u8]);

impl<'de> Bytes<'de> {
    fn text(self) -> Result<&'de str, DeError> {
        std::str::from_utf8(self.0).map_err(|e| {
            DeError(format!(
                "expected text, found bytes that are not UTF-8 ({e})"
            ))
        })
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Bytes<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// Methods read as JSON, with the type hint kept (serde_json needs it for structs and enums).
macro_rules! as_json {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, DeError> {
            let mut de = serde_json::Deserializer::from_slice(self.0);
            let v = de::Deserializer::$method(&mut de, $($arg,)* visitor).map_err(DeError::json)?;
            de.end().map_err(DeError::json)?;
            Ok(v)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Bytes<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.0.is_empty() {
            return visitor.visit_unit();
        }
        if serde_json::from_slice::<de::IgnoredAny>(self.0).is_ok() {
            let mut de = serde_json::Deserializer::from_slice(self.0);
            return de::Deserializer::deserialize_any(&mut de, visitor).map_err(DeError::json);
        }
        match std::str::from_utf8(self.0) {
            Ok(text) => visitor.visit_borrowed_str(text),
            Err(_) => visitor.visit_borrowed_bytes(self.0),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.text()?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.text()?)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.text()?)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_bytes(self.0)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_bytes(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.0.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.0.is_empty() {
            return visitor.visit_unit();
        }
        let mut de = serde_json::Deserializer::from_slice(self.0);
        de::Deserializer::deserialize_unit(&mut de, visitor).map_err(DeError::json)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    as_json! {
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_ignored_any();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn text_is_exact() {
        assert_eq!(from_bytes::<String>(br#""quoted""#).unwrap(), r#""quoted""#);
        assert_eq!(from_bytes::<String>(br#"{"a": 1}"#).unwrap(), r#"{"a": 1}"#);
        assert_eq!(from_bytes::<String>(b"1.50").unwrap(), "1.50");
        assert!(from_bytes::<String>(&[0xff, 0x00, 0x41, 0xfe]).is_err());
    }

    #[test]
    fn bytes_are_raw_and_the_rest_json() {
        /// What `serde_bytes::ByteBuf` is: bytes through `deserialize_byte_buf`.
        struct Raw(Vec<u8>);
        impl<'de> Deserialize<'de> for Raw {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = Raw;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, b: &[u8]) -> Result<Raw, E> {
                        Ok(Raw(b.to_vec()))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
        let b: Raw = from_bytes(&[0xff, 0x00, 0x41, 0xfe]).unwrap();
        assert_eq!(b.0, vec![0xff, 0x00, 0x41, 0xfe]);
        assert_eq!(from_bytes::<f64>(b"1.50").unwrap(), 1.5);
        assert_eq!(from_bytes::<Option<u32>>(b"").unwrap(), None);
        assert_eq!(
            from_bytes::<Option<String>>(b"7").unwrap().as_deref(),
            Some("7")
        );
        #[derive(Deserialize, PartialEq, Debug)]
        struct P {
            a: u32,
        }
        assert_eq!(from_bytes::<P>(br#"{"a": 1}"#).unwrap(), P { a: 1 });
        assert!(from_bytes::<u32>(b"1 2").is_err());
    }

    #[test]
    fn several_arguments_are_a_tuple() {
        let parts = vec![b"x y".to_vec(), b"2".to_vec()];
        let (s, n): (String, u8) = from_args(&parts).unwrap();
        assert_eq!((s.as_str(), n), ("x y", 2));
        let _: () = from_args(&[]).unwrap();
        assert!(from_args::<(String, u8, u8)>(&parts).is_err());
    }
}
