//! The parts of Lua 5.4's `coroutine` library piccolo 0.3.3 lacks or gets wrong, over its
//! `create`/`resume`/`status`/`running`: `yield` outside a coroutine is an error (piccolo's
//! ended the whole plugin call as if it had returned), `isyieldable`, `wrap` and `close`.

use super::stdlib::lua_err;
use piccolo::{meta_ops, Callback, CallbackReturn, Context, Thread, ThreadMode, Value};

pub(crate) fn install<'gc>(ctx: Context<'gc>) {
    let Value::Table(co) = ctx.get_global("coroutine") else {
        return;
    };
    let set = |name: &'static str, f: Callback<'gc>| {
        let _ = co.set(ctx, name, f);
    };
    set(
        "yield",
        Callback::from_fn(&ctx, |ctx, exec, _| {
            if exec.current_thread().is_main {
                return Err(lua_err(ctx, "attempt to yield from outside a coroutine"));
            }
            Ok(CallbackReturn::Yield {
                to_thread: None,
                then: None,
            })
        }),
    );
    // piccolo's `resume`, after Lua's checks (its own says "bad thread mode: …").
    if let Value::Function(original) = co.get(ctx, "resume") {
        set(
            "resume",
            Callback::from_fn_with(&ctx, original, |original, ctx, _, mut stack| {
                let answer = |why: &str| (false, why.to_owned());
                match stack.get(0) {
                    Value::Thread(t) => match t.mode() {
                        ThreadMode::Suspended | ThreadMode::Result => Ok(CallbackReturn::Call {
                            function: *original,
                            then: None,
                        }),
                        ThreadMode::Stopped => {
                            stack.replace(ctx, answer("cannot resume dead coroutine"));
                            Ok(CallbackReturn::Return)
                        }
                        _ => {
                            stack.replace(ctx, answer("cannot resume non-suspended coroutine"));
                            Ok(CallbackReturn::Return)
                        }
                    },
                    _ => Err(lua_err(
                        ctx,
                        "bad argument #1 to 'resume' (coroutine expected)",
                    )),
                }
            }),
        );
    }
    set(
        "isyieldable",
        Callback::from_fn(&ctx, |ctx, exec, mut stack| {
            stack.replace(ctx, !exec.current_thread().is_main);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        "wrap",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let body = meta_ops::call(ctx, stack.get(0))
                .map_err(|_| lua_err(ctx, "bad argument #1 to 'wrap' (function expected)"))?;
            let thread = Thread::new(ctx);
            thread
                .start_suspended(&ctx, body)
                .map_err(|e| lua_err(ctx, e.to_string()))?;
            // Each call resumes the coroutine; its errors propagate to the caller.
            let resume = Callback::from_fn_with(&ctx, thread, |thread, ctx, _, _| {
                if thread.mode() == ThreadMode::Stopped {
                    return Err(lua_err(ctx, "cannot resume dead coroutine"));
                }
                Ok(CallbackReturn::Resume {
                    thread: *thread,
                    then: None,
                })
            });
            stack.replace(ctx, resume);
            Ok(CallbackReturn::Return)
        }),
    );
    set(
        "close",
        Callback::from_fn(&ctx, |ctx, _, mut stack| {
            let Value::Thread(thread) = stack.get(0) else {
                return Err(lua_err(
                    ctx,
                    "bad argument #1 to 'close' (coroutine expected)",
                ));
            };
            match thread.mode() {
                ThreadMode::Suspended | ThreadMode::Result | ThreadMode::Stopped => {
                    // A coroutine that died of an error answers `false` and the error, once.
                    let died_of = thread.take_error(&ctx);
                    // Dropping its frames closes its upvalues; it is dead afterwards.
                    let _ = thread.reset(&ctx);
                    match died_of {
                        Some(error) => {
                            stack.replace(ctx, (false, super::stdlib::caught(ctx, error)))
                        }
                        None => stack.replace(ctx, true),
                    }
                    Ok(CallbackReturn::Return)
                }
                ThreadMode::Normal => Err(lua_err(ctx, "cannot close a normal coroutine")),
                ThreadMode::Running | ThreadMode::Waiting => {
                    Err(lua_err(ctx, "cannot close a running coroutine"))
                }
            }
        }),
    );
}
