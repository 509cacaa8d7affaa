//! The part of Lua 5.4's `debug` library a sandbox can offer honestly on piccolo 0.3.3 with
//! our patch that lets a library function see the functions below it in its thread
//! (`Execution::frame_at`):
//!
//! - `traceback([message [, level]])`: the message, then `stack traceback:` and a line per
//!   function below it (`file:line: in …` for Lua, `[C]: in ?` for library functions);
//! - `getinfo(f [, what])` for a function (`source`, `short_src`, `what`, `linedefined`,
//!   `nparams`, `isvararg`, `func`) or for a level, 1 being the function that calls
//!   `getinfo` (`currentline`, `short_src`, `source`, `what`); past the bottom, `nil`;
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
            // Every function below `traceback` in this thread, from its caller down (as PUC
            // Lua, the first ten and the last eleven of a deeper stack).
            // `frame_at` walks the frames, so the depth is found by doubling and halving and
            // only the levels shown are visited: a traceback costs O(frames · log frames),
            // not O(frames²), at the 20,000-frame limit.
            let depth = stack_depth(&exec);
            let shown = (1..=depth).filter(|&l| depth <= 22 || l <= 10 || l > depth - 11);
            for level in shown {
                if depth > 22 && level == depth - 10 {
                    let skipped = depth - 21;
                    text.extend_from_slice(
                        format!("\n\t...\t(skipping {skipped} levels)").as_bytes(),
                    );
                }
                let line = match exec.frame_at(level).flatten() {
                    Some((proto, pc)) => format!(
                        "\n\t{}:{}: in {}",
                        proto.chunk_name.to_str_lossy(),
                        proto.line_at(pc).map_or("?".to_owned(), |l| l.to_string()),
                        describe(&proto.reference)
                    ),
                    None => "\n\t[C]: in ?".to_owned(),
                };
                text.extend_from_slice(line.as_bytes());
            }
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
                // Level n: the function n calls below `getinfo` (1: its caller), while the
                // thread has one; a Lua function's current line, or a callback's `[C]`.
                Value::Integer(n) if n >= 1 => {
                    let level = usize::try_from(n).unwrap_or(usize::MAX);
                    match exec.frame_at(level) {
                        None => {
                            stack.replace(ctx, Value::Nil);
                            return Ok(CallbackReturn::Return);
                        }
                        Some(None) => {
                            put("source", Value::String(ctx.intern(b"=[C]")));
                            put("short_src", Value::String(ctx.intern(b"[C]")));
                            put("what", Value::String(ctx.intern(b"C")));
                            put("currentline", Value::Integer(-1));
                        }
                        Some(Some((proto, pc))) => {
                            let name = proto.chunk_name.to_str_lossy().into_owned();
                            put(
                                "source",
                                Value::String(ctx.intern(format!("@{name}").as_bytes())),
                            );
                            put("short_src", Value::String(ctx.intern(name.as_bytes())));
                            let line = proto.line_at(pc).map_or(-1, |l| {
                                i64::try_from(l.0).unwrap_or(i64::MAX).saturating_add(1)
                            });
                            put("currentline", Value::Integer(line));
                            let what = match proto.reference {
                                FunctionRef::Chunk => "main",
                                _ => "Lua",
                            };
                            put("what", Value::String(ctx.intern(what.as_bytes())));
                            put("nparams", Value::Integer(i64::from(proto.fixed_params)));
                            put("isvararg", Value::Boolean(proto.has_varargs));
                        }
                    }
                }
                Value::Integer(_) => {
                    // Level 0 (getinfo itself) is not visible.
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

/// How many functions are below the running callback in its thread (the last level
/// `Execution::frame_at` answers), by doubling then halving.
fn stack_depth(exec: &piccolo::Execution<'_, '_>) -> usize {
    let exists = |level: usize| exec.frame_at(level).is_some();
    let mut high = 1;
    while exists(high) {
        high *= 2;
    }
    // Level `high` does not exist; level `high / 2` does (or is 0 when none does).
    let mut low = high / 2;
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if exists(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    low
}
