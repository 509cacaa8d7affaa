//! Lua values ↔ [`Value`]: sequences ↔ lists, other tables ↔ maps, strings ↔ strings (bytes when
//! not UTF-8). Depth-limited both ways; functions, threads and userdata do not convert.

use crate::error::{DecodeError, Error, ErrorKind};
use crate::value::Value;
use piccolo::{Context, Table, Value as LuaValue};

/// Deepest nesting converted (cycles end here too).
pub(crate) const MAX_DEPTH: u32 = 64;

/// A Lua value as a [`Value`].
///
/// An empty table becomes an empty list. A table whose keys are exactly `1..=n` becomes a
/// list; any other table a map (keys converted like values).
pub(crate) fn to_value(v: LuaValue<'_>) -> Result<Value, Error> {
    to_value_at(v, 0)
}

fn mismatch(reason: String) -> Error {
    ErrorKind::Decode(DecodeError::Mismatch { reason }).into()
}

fn to_value_at(v: LuaValue<'_>, depth: u32) -> Result<Value, Error> {
    Ok(match v {
        LuaValue::Nil => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(b),
        LuaValue::Integer(i) => Value::Int(i),
        LuaValue::Number(n) => Value::Float(n),
        LuaValue::String(s) => match std::str::from_utf8(s.as_bytes()) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => Value::Bytes(s.as_bytes().to_vec()),
        },
        LuaValue::Table(t) => {
            if depth >= MAX_DEPTH {
                return Err(ErrorKind::Decode(DecodeError::DepthLimit { max: MAX_DEPTH }).into());
            }
            table_to_value(t, depth + 1)?
        }
        // An error caught by pcall (a host function's or the runtime's) leaves as its message.
        LuaValue::UserData(ud) => match ud.downcast_static::<piccolo::RuntimeError>() {
            Ok(e) => Value::String(e.to_string()),
            Err(_) => return Err(mismatch("a Lua userdata cannot leave the plugin".into())),
        },
        other => {
            return Err(mismatch(format!(
                "a Lua {} cannot leave the plugin",
                other.type_name()
            )))
        }
    })
}

fn table_to_value(t: Table<'_>, depth: u32) -> Result<Value, Error> {
    let mut entries = Vec::new();
    let mut is_sequence = true;
    for (k, v) in t.iter() {
        if is_sequence && !matches!(k, LuaValue::Integer(i) if i >= 1) {
            is_sequence = false;
        }
        entries.push((k, v));
    }
    let n = entries.len();
    if is_sequence {
        // Keys are positive integers; a sequence has each of 1..=n exactly once.
        let mut items: Vec<Option<Value>> = vec![None; n];
        let mut complete = true;
        for (k, v) in &entries {
            match k {
                LuaValue::Integer(i) if (*i as u64) <= n as u64 => {
                    items[(*i - 1) as usize] = Some(to_value_at(*v, depth)?);
                }
                _ => {
                    complete = false;
                    break;
                }
            }
        }
        if complete {
            return Ok(Value::List(
                items
                    .into_iter()
                    .map(|v| v.unwrap_or(Value::Null))
                    .collect(),
            ));
        }
    }
    let mut map = Vec::with_capacity(n);
    for (k, v) in entries {
        map.push((to_value_at(k, depth)?, to_value_at(v, depth)?));
    }
    // Table iteration order is the hash order: sort string keys for a stable result.
    map.sort_by_key(|(k, _)| key_order(k));
    Ok(Value::Map(map))
}

fn key_order(v: &Value) -> (u8, String) {
    match v {
        Value::Int(i) => (0, format!("{:020}", (*i as i128 - i64::MIN as i128))),
        Value::String(s) => (1, s.clone()),
        other => (2, other.to_json()),
    }
}

/// A [`Value`] as a Lua value.
pub(crate) fn from_value<'gc>(ctx: Context<'gc>, v: &Value) -> Result<LuaValue<'gc>, Error> {
    from_value_at(ctx, v, 0)
}

fn from_value_at<'gc>(ctx: Context<'gc>, v: &Value, depth: u32) -> Result<LuaValue<'gc>, Error> {
    if depth > MAX_DEPTH {
        return Err(ErrorKind::Decode(DecodeError::DepthLimit { max: MAX_DEPTH }).into());
    }
    Ok(match v {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Int(i) => LuaValue::Integer(*i),
        Value::Uint(u) => match i64::try_from(*u) {
            Ok(i) => LuaValue::Integer(i),
            Err(_) => LuaValue::Number(*u as f64),
        },
        Value::Float(f) => LuaValue::Number(*f),
        Value::String(s) => LuaValue::String(ctx.intern(s.as_bytes())),
        Value::Bytes(b) => LuaValue::String(ctx.intern(b)),
        Value::List(items) => {
            let t = Table::new(&ctx);
            for (i, item) in items.iter().enumerate() {
                let value = from_value_at(ctx, item, depth + 1)?;
                t.set(ctx, i as i64 + 1, value)
                    .map_err(|e| mismatch(e.to_string()))?;
            }
            LuaValue::Table(t)
        }
        Value::Map(entries) => {
            let t = Table::new(&ctx);
            for (k, item) in entries {
                let key = from_value_at(ctx, k, depth + 1)?;
                let value = from_value_at(ctx, item, depth + 1)?;
                t.set(ctx, key, value)
                    .map_err(|e| mismatch(format!("map key: {e}")))?;
            }
            LuaValue::Table(t)
        }
    })
}

/// A Lua value rendered for a message that leaves the plugin: no metamethods run, no
/// addresses (`table`, `function`, … instead of `table: 0x…`).
pub(crate) fn render(v: LuaValue<'_>) -> String {
    match v {
        LuaValue::Nil => "nil".to_owned(),
        LuaValue::Boolean(b) => b.to_string(),
        LuaValue::Integer(i) => i.to_string(),
        LuaValue::Number(n) => format_number(n),
        LuaValue::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        other => format!("({} value)", other.type_name()),
    }
}

/// A float as Lua 5.4 prints it (`%.14g`, with `.0` on integral values).
pub(crate) fn format_number(n: f64) -> String {
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_owned();
    }
    if n.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.to_owned();
    }
    let sign = if n.is_sign_negative() { "-" } else { "" };
    let s = format!(
        "{sign}{}",
        crate::lua::format::g_format(n.abs(), 14, false, false)
    );
    if s.contains(['.', 'e', 'n', 'i']) {
        s
    } else {
        format!("{s}.0")
    }
}
