//! Plain JS values ↔ [`Value`], written out rather than through serde so that the mapping is
//! exact and documented:
//!
//! | JS | Value | back to JS |
//! |---|---|---|
//! | `null`, `undefined` | `Null` | `null` |
//! | boolean | `Bool` | boolean |
//! | number, an integer within ±2^53 | `Int` | number |
//! | number, otherwise | `Float` | number |
//! | bigint | `Int` (or `Uint` above `i64::MAX`) | number within ±2^53, else bigint |
//! | string | `String` | string |
//! | `Uint8Array`, `ArrayBuffer` | `Bytes` | `Uint8Array` |
//! | array | `List` | array |
//! | `Map` | `Map` | a plain object if every key is a string, else a `Map` |
//! | other object | `Map` of its own enumerable string keys | |
//!
//! Nesting deeper than [`MAX_DEPTH`] (or a cycle) is an encode error, never a stack overflow.

use js_sys::{Array, BigInt, Object, Reflect, Uint8Array};
use plugboard_host_core::{Error, ErrorKind, Value};
use wasm_bindgen::{JsCast, JsValue};

/// How deeply JS values may nest (as JSON from plugins: 64).
pub const MAX_DEPTH: u32 = 64;

const SAFE: f64 = 9_007_199_254_740_991.0;

fn encode_error(reason: String) -> Error {
    ErrorKind::Encode { reason }.into()
}

/// A JS value as a [`Value`].
///
/// # Errors
///
/// [`ErrorKind::Encode`] for values with no mapping (functions, symbols) and for nesting past
/// [`MAX_DEPTH`].
pub fn from_js(v: &JsValue) -> Result<Value, Error> {
    from_js_at(v, 0)
}

fn from_js_at(v: &JsValue, depth: u32) -> Result<Value, Error> {
    if depth > MAX_DEPTH {
        return Err(encode_error(format!(
            "the value nests deeper than {MAX_DEPTH} (or refers to itself)"
        )));
    }
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(x) = v.as_f64() {
        return Ok(if x.fract() == 0.0 && x.abs() <= SAFE {
            Value::Int(x as i64)
        } else {
            Value::Float(x)
        });
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if v.is_bigint() {
        let text: String = BigInt::unchecked_from_js_ref(v)
            .to_string(10)
            .map(String::from)
            .unwrap_or_default();
        return text
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| text.parse::<u64>().map(Value::Uint))
            .map_err(|_| encode_error(format!("bigint {text} does not fit 64 bits")));
    }
    if let Some(bytes) = v.dyn_ref::<Uint8Array>() {
        return Ok(Value::Bytes(bytes.to_vec()));
    }
    if let Some(buffer) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Value::Bytes(Uint8Array::new(buffer).to_vec()));
    }
    if Array::is_array(v) {
        let array = Array::unchecked_from_js_ref(v);
        let mut items = Vec::with_capacity(array.length() as usize);
        for item in array.iter() {
            items.push(from_js_at(&item, depth + 1)?);
        }
        return Ok(Value::List(items));
    }
    if let Some(map) = v.dyn_ref::<js_sys::Map>() {
        let mut entries = Vec::with_capacity(map.size() as usize);
        let mut failure = None;
        map.for_each(&mut |value, key| {
            if failure.is_some() {
                return;
            }
            match (from_js_at(&key, depth + 1), from_js_at(&value, depth + 1)) {
                (Ok(k), Ok(v)) => entries.push((k, v)),
                (Err(e), _) | (_, Err(e)) => failure = Some(e),
            }
        });
        return match failure {
            Some(e) => Err(e),
            None => Ok(Value::Map(entries)),
        };
    }
    if v.is_function() || v.is_symbol() {
        return Err(encode_error(format!(
            "a {} has no plugin value",
            v.js_typeof().as_string().unwrap_or_default()
        )));
    }
    if v.is_object() {
        let object: &Object = Object::unchecked_from_js_ref(v);
        let keys = Object::keys(object);
        let mut entries = Vec::with_capacity(keys.length() as usize);
        for key in keys.iter() {
            let value = Reflect::get(object, &key).unwrap_or(JsValue::UNDEFINED);
            if value.is_undefined() {
                continue; // as JSON.stringify does
            }
            entries.push((
                Value::String(key.as_string().unwrap_or_default()),
                from_js_at(&value, depth + 1)?,
            ));
        }
        return Ok(Value::Map(entries));
    }
    Err(encode_error("a value of an unknown kind".into()))
}

/// A [`Value`] as a plain JS value.
pub fn to_js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Int(n) if (*n as f64).abs() <= SAFE => JsValue::from_f64(*n as f64),
        Value::Int(n) => BigInt::from(*n).into(),
        Value::Uint(n) if (*n as f64) <= SAFE => JsValue::from_f64(*n as f64),
        Value::Uint(n) => BigInt::from(*n).into(),
        Value::Float(x) => JsValue::from_f64(*x),
        Value::String(s) => JsValue::from_str(s),
        Value::Bytes(b) => Uint8Array::from(b.as_slice()).into(),
        Value::List(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Map(entries) => {
            if entries.iter().all(|(k, _)| matches!(k, Value::String(_))) {
                let object = Object::new();
                for (k, v) in entries {
                    // Defining on a fresh plain object cannot fail.
                    let _ = Reflect::set(&object, &to_js(k), &to_js(v));
                }
                object.into()
            } else {
                let map = js_sys::Map::new();
                for (k, v) in entries {
                    map.set(&to_js(k), &to_js(v));
                }
                map.into()
            }
        }
    }
}
