//! The part of Lua 5.4's `debug` library a sandbox can offer honestly on piccolo 0.3.3, which
//! exposes no call stack beyond the Lua function calling a library function:
//!
//! - `traceback([message [, level]])`: the message, then `stack traceback:` and the calling
//!   line (the only frame visible);
//! - `getinfo(f [, what])` for a function (`source`, `short_src`, `what`, `linedefined`,
//!   `nparams`, `isvararg`, `func`) or for level 1, the function that calls `getinfo`
//!   (`currentline`, `short_src`, `source`, `what`); deeper levels answer `nil`;
//! - `getmetatable(v)` and `setmetatable(t, mt)` without `__metatable` protection.
//!
//! Absent, rather than faked: `getlocal`, `setlocal`, `getupvalue`, `setupvalue`, `upvalueid`,
//! `upvaluejoin`, `sethook`, `gethook`, `getregistry`, `getuservalue`, `setuservalue`, `debug`.

use super::stdlib::lua_err;
use piccolo::compiler::FunctionRef;
use piccolo::{Callback, CallbackReturn, Context, Function, Table, Value};

/// `string_mt`: the metatable strings share ([`super::method`]).
pub(crate) fn install<'gc>(ctx: Context<'gc>, string_mt: Option<Table<'gc>>) {
    let debug = Table::new(&ctx);
    let set = |name: &'static str, f: Callback<'gc>| {
        let _ = debug.set(ctx, name, f);
    };
    set(
        "traceback",
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            let message = stack.get(0);
            if !matches!(
                message,
                Value::Nil | Value::String(_) | Value::Integer(_) | Value::Number(_)
            ) {
                stack.replace(ctx, message);
                return Ok(CallbackReturn::Return);
            }
            let mut text = match message {
                Value::Nil => Vec::new(),
                v => {
                    let mut t = super::stdlib::tostring_bytes(v);
                    t.push(b'\n');
                    t
                }
            };
            text.extend_from_slice(b"stack traceback:");
            if let Some(frame) = exec.upper_lua_frame() {
                text.extend_from_slice(
                    format!(
                        "\n\t{}:{}: in {}",
                        frame.chunk_name.to_str_lossy(),
                        frame.current_line,
                        describe(&frame.current_function)
                    )
                    .as_bytes(),
                );
            }
            text.extend_from_slice(b"\n\t[C]: in ?");
            stack.replace(ctx, ctx.intern(&text));
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        "getinfo",
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            let info = Table::new(&ctx);
            let put = |k: &'static str, v: Value<'gc>| {
                let _ = info.set(ctx, k, v);
            };
            match stack.get(0) {
                Value::Function(Function::Closure(c)) => {
                    let proto = c.prototype();
                    let name = proto.chunk_name.to_str_lossy().into_owned();
                    put(
                        "source",
                        Value::String(ctx.intern(format!("@{name}").as_bytes())),
                    );
                    put("short_src", Value::String(ctx.intern(name.as_bytes())));
                    let (what, line) = match proto.reference {
                        FunctionRef::Chunk => ("main", 0),
                        FunctionRef::Named(_, l) | FunctionRef::Expression(l) => (
                            "Lua",
                            i64::try_from(l.0).unwrap_or(i64::MAX).saturating_add(1),
                        ),
                    };
                    put("what", Value::String(ctx.intern(what.as_bytes())));
                    put("linedefined", Value::Integer(line));
                    put("currentline", Value::Integer(-1));
                    put("nparams", Value::Integer(i64::from(proto.fixed_params)));
                    put("isvararg", Value::Boolean(proto.has_varargs));
                    put(
                        "nups",
                        Value::Integer(i64::try_from(c.upvalues().len()).unwrap_or(0)),
                    );
                    put("func", stack.get(0));
                }
                f @ Value::Function(Function::Callback(_)) => {
                    put("source", Value::String(ctx.intern(b"=[C]")));
                    put("short_src", Value::String(ctx.intern(b"[C]")));
                    put("what", Value::String(ctx.intern(b"C")));
                    put("linedefined", Value::Integer(-1));
                    put("currentline", Value::Integer(-1));
                    put("nparams", Value::Integer(0));
                    put("isvararg", Value::Boolean(true));
                    put("nups", Value::Integer(0));
                    put("func", f);
                }
                Value::Integer(1) => {
                    let Some(frame) = exec.upper_lua_frame() else {
                        stack.replace(ctx, Value::Nil);
                        return Ok(CallbackReturn::Return);
                    };
                    let name = frame.chunk_name.to_str_lossy().into_owned();
                    put(
                        "source",
                        Value::String(ctx.intern(format!("@{name}").as_bytes())),
                    );
                    put("short_src", Value::String(ctx.intern(name.as_bytes())));
                    let line = i64::try_from(frame.current_line.0).unwrap_or(i64::MAX);
                    put("currentline", Value::Integer(line.saturating_add(1)));
                    let what = match frame.current_function {
                        FunctionRef::Chunk => "main",
                        _ => "Lua",
                    };
                    put("what", Value::String(ctx.intern(what.as_bytes())));
                }
                Value::Integer(n) if n >= 0 => {
                    // Level 0 (getinfo itself) and the levels above the caller are not visible.
                    stack.replace(ctx, Value::Nil);
                    return Ok(CallbackReturn::Return);
                }
                _ => {
                    return Err(lua_err(
                        ctx,
                        "bad argument #1 to 'getinfo' (function or level expected)",
                    ))
                }
            }
            stack.replace(ctx, info);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        "getmetatable",
        Callback::from_fn_with(&ctx, string_mt, |string_mt, ctx, _, mut stack| {
            let mt = match stack.get(0) {
                Value::String(_) => *string_mt,
                v => super::stdlib::metatable_of(v),
            };
            let mt = mt.map_or(Value::Nil, Value::Table);
            stack.replace(ctx, mt);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        "setmetatable",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let mt = match stack.get(1) {
                Value::Nil => None,
                Value::Table(t) => Some(t),
                _ => {
                    return Err(lua_err(
                        ctx,
                        "bad argument #2 to 'setmetatable' (nil or table expected)",
                    ))
                }
            };
            match stack.get(0) {
                Value::Table(t) => {
                    t.set_metatable(&ctx, mt);
                }
                other => {
                    return Err(lua_err(
                        ctx,
                        format!(
                            "debug.setmetatable of a {} value is not supported (tables only)",
                            other.type_name()
                        ),
                    ))
                }
            }
            let first = stack.get(0);
            stack.replace(ctx, first);
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = ctx.globals().set(ctx, "debug", debug);
}

/// How a traceback names a function.
fn describe<S: AsRef<[u8]>>(f: &FunctionRef<S>) -> String {
    match f {
        FunctionRef::Chunk => "main chunk".into(),
        FunctionRef::Named(name, _) => {
            format!("function '{}'", String::from_utf8_lossy(name.as_ref()))
        }
        FunctionRef::Expression(line) => format!("function <{line}>"),
    }
}
