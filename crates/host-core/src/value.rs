//! [`Value`]: the dynamic value every ABI converts to and from.

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A dynamically typed value, shaped like JSON plus bytes and a signed/unsigned integer split.
///
/// Where a wire format is not self-describing (bincode), a [`Type`](crate::Type) says how a
/// `Value` maps onto it: tuples and fixed arrays are [`Value::List`], structs are maps with
/// string keys, enums (and `Result`) are a one-entry map `{variant: payload}` (a unit variant is
/// the bare string), `Option` is [`Value::Null`] or the inner value — except where the inner
/// type can itself be null (`Option<()>`, `Option<Option<T>>`): there `Some(x)` is the
/// one-element list `[x]`, so `Some(None)` and `None` stay apart.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    /// Ordered entries; keys are usually strings.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// A short name of the value's shape, for error messages.
    pub fn shape(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Uint(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// Parses JSON text into a value. Arrays and objects may nest [`Value::MAX_JSON_DEPTH`]
    /// deep; of duplicate keys the last wins (keeping the first one's position); integers stay
    /// exact up to `u64::MAX` and down to `i64::MIN`, larger ones become floats; `-0` is the
    /// float `-0.0`; a number out of the float range (`1e999999`) is an error.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode): [`DecodeError::DepthLimit`](crate::DecodeError::DepthLimit)
    /// past the depth limit, [`DecodeError::Mismatch`](crate::DecodeError::Mismatch) if the
    /// text is not JSON (including lone surrogate escapes such as `"\ud800"`).
    pub fn from_json(text: &str) -> Result<Self, crate::Error> {
        check_json_depth(text.as_bytes(), Self::MAX_JSON_DEPTH)?;
        serde_json::from_str(text).map_err(|e| {
            crate::DecodeError::Mismatch {
                reason: format!("invalid json: {e}"),
            }
            .into()
        })
    }

    /// Renders the value as compact JSON. Bytes become an array of numbers; non-finite floats
    /// become `null` (JSON has no NaN).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "null".to_owned())
    }
}

impl Value {
    /// How deeply [`Value::from_json`] lets arrays and objects nest.
    pub const MAX_JSON_DEPTH: u32 = 64;
}

/// Fails if brackets nest deeper than `max` (outside strings): checked before parsing, so a
/// `[[[[…` bomb costs one pass over the text and no recursion.
fn check_json_depth(text: &[u8], max: u32) -> Result<(), crate::Error> {
    let (mut depth, mut in_string, mut escaped) = (0u32, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(crate::DecodeError::DepthLimit { max }.into());
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Uint(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Uint(u) => s.serialize_u64(*u),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_unit(),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(b) => {
                let mut seq = s.serialize_seq(Some(b.len()))?;
                for byte in b {
                    seq.serialize_element(byte)?;
                }
                seq.end()
            }
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    match k {
                        Value::String(key) => map.serialize_entry(key, v)?,
                        other => map.serialize_entry(&other.to_json(), v)?,
                    }
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Uint(v), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        // Duplicate keys: the last value wins, in the first one's place. Small maps are
        // searched; past 16 entries an index keeps a large object linear.
        let mut index: Option<std::collections::HashMap<String, usize>> = None;
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            let found = match &index {
                Some(ix) => ix.get(&k).copied(),
                None => entries
                    .iter()
                    .position(|(key, _)| matches!(key, Value::String(s) if *s == k)),
            };
            match found {
                Some(i) => entries[i].1 = v,
                None => {
                    if let Some(ix) = &mut index {
                        ix.insert(k.clone(), entries.len());
                    } else if entries.len() >= 16 {
                        let mut ix: std::collections::HashMap<String, usize> = entries
                            .iter()
                            .enumerate()
                            .filter_map(|(i, (key, _))| match key {
                                Value::String(s) => Some((s.clone(), i)),
                                _ => None,
                            })
                            .collect();
                        ix.insert(k.clone(), entries.len());
                        index = Some(ix);
                    }
                    entries.push((Value::String(k), v));
                }
            }
        }
        Ok(Value::Map(entries))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_integer_and_float_apart() {
        let v = Value::from_json(r#"{"a":[1,1.0,-2,18446744073709551615,"x",null,true]}"#).unwrap();
        let Value::Map(entries) = &v else {
            panic!("not a map")
        };
        let Value::List(items) = &entries[0].1 else {
            panic!("not a list")
        };
        assert_eq!(items[0], Value::Int(1));
        assert_eq!(items[1], Value::Float(1.0));
        assert_eq!(items[3], Value::Uint(u64::MAX));
        assert_eq!(
            v.to_json(),
            r#"{"a":[1,1.0,-2,18446744073709551615,"x",null,true]}"#
        );
    }

    #[test]
    fn json_depth_bomb_is_an_error() {
        let text = "[".repeat(100_000);
        assert!(Value::from_json(&text).is_err());
    }

    #[test]
    fn non_finite_floats_render_as_null() {
        assert_eq!(
            Value::List(vec![Value::Float(f64::NAN)]).to_json(),
            "[null]"
        );
    }
}
