//! The part of Lua's `io` library a sandbox has: no files, but the standard streams. `io.write`
//! and `io.stdout:write` go to the plugin's log (stdout), `io.stderr:write` to its stderr, as
//! `print` does; `io.stdin` reads nothing (`nil`, the end of input); `io.type` knows the three
//! handles. Absent: `open`, `close`, `input`, `output`, `lines`, `popen`, `tmpfile` (no files).

use super::stdlib::{emit, lua_err, tostring_bytes};
use super::Shared;
use crate::host::LogStream;
use piccolo::{Callback, CallbackReturn, Context, Table, UserData, Value};
use std::rc::Rc;

/// Which standard stream a handle is.
#[derive(Clone, Copy, PartialEq)]
enum Stream {
    In,
    Out,
    Err,
}

fn stream_of(v: Value<'_>) -> Option<Stream> {
    match v {
        Value::UserData(u) => u.downcast_static::<Stream>().ok().copied(),
        _ => None,
    }
}

/// Writes the strings and numbers from `stack[from..]` to `stream`.
fn write_values(
    sh: &Shared,
    exec: &mut piccolo::Execution<'_, '_>,
    stream: LogStream,
    stack: &piccolo::Stack<'_, '_>,
    from: usize,
) -> Result<(), String> {
    let mut out = Vec::new();
    for i in from..stack.len() {
        match stack.get(i) {
            v @ (Value::String(_) | Value::Integer(_) | Value::Number(_)) => {
                out.extend_from_slice(&tostring_bytes(v))
            }
            other => {
                return Err(format!(
                    "bad argument #{} to 'write' (string expected, got {})",
                    i + 1 - from,
                    other.type_name()
                ))
            }
        }
    }
    emit(sh, exec, stream, &out);
    Ok(())
}

pub(crate) fn install<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let io = Table::new(&ctx);
    let methods = Table::new(&ctx);
    let mt = Table::new(&ctx);
    let _ = mt.set(ctx, "__index", methods);
    let _ = mt.set(ctx, "__name", "FILE*");
    let handle = |s: Stream| {
        let u = UserData::new_static(&ctx, s);
        u.set_metatable(&ctx, Some(mt));
        u
    };
    let (stdin, stdout, stderr) = (handle(Stream::In), handle(Stream::Out), handle(Stream::Err));
    let sh = shared.clone();
    let _ = methods.set(
        ctx,
        "write",
        Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let stream = match stream_of(stack.get(0)) {
                Some(Stream::Out) => LogStream::Stdout,
                Some(Stream::Err) => LogStream::Stderr,
                Some(Stream::In) => return Err(lua_err(ctx, "file not writable")),
                None => return Err(lua_err(ctx, "bad argument #1 to 'write' (FILE* expected)")),
            };
            write_values(&sh, &mut exec, stream, &stack, 1).map_err(|m| lua_err(ctx, m))?;
            let file = stack.get(0);
            stack.replace(ctx, file);
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = methods.set(
        ctx,
        "read",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            stack.replace(ctx, Value::Nil);
            Ok(CallbackReturn::Return)
        }),
    );
    for name in ["flush", "setvbuf"] {
        let _ = methods.set(
            ctx,
            name,
            Callback::from_fn(&ctx, |ctx, _, mut stack| {
                let file = stack.get(0);
                stack.replace(ctx, file);
                Ok(CallbackReturn::Return)
            }),
        );
    }
    let _ = methods.set(
        ctx,
        "close",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            stack.replace(ctx, (Value::Nil, "cannot close standard file"));
            Ok(CallbackReturn::Return)
        }),
    );
    let sh = shared.clone();
    let _ = io.set(
        ctx,
        "write",
        Callback::from_fn_with(&ctx, stdout, move |stdout, ctx, mut exec, mut stack| {
            write_values(&sh, &mut exec, LogStream::Stdout, &stack, 0)
                .map_err(|m| lua_err(ctx, m))?;
            stack.replace(ctx, *stdout);
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = io.set(
        ctx,
        "read",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            stack.replace(ctx, Value::Nil);
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = io.set(
        ctx,
        "type",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let answer = if stream_of(stack.get(0)).is_some() {
                Value::String(ctx.intern(b"file"))
            } else {
                Value::Nil
            };
            stack.replace(ctx, answer);
            Ok(CallbackReturn::Return)
        }),
    );
    let _ = io.set(ctx, "stdin", stdin);
    let _ = io.set(ctx, "stdout", stdout);
    let _ = io.set(ctx, "stderr", stderr);
    let _ = ctx.globals().set(ctx, "io", io);
}
