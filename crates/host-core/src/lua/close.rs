//! To-be-closed variables at run time: `__pb_closing(x, "x", scope, ...)` calls the scope's
//! function (the rest of the block, [`super::lower`]), then `x`'s `__close(x, nil)` — or, if
//! the scope raised an error, `__close(x, error)` and raises the error again (an error in
//! `__close` replaces it, as in Lua 5.4). It returns the scope's outcome as a table
//! `{how, values…, n = count}` for the lowered code to return or break with; `__pb_unpack`
//! gives its values back.

use super::stdlib::{lua_err, metamethod};
use gc_arena::Collect;
use piccolo::{
    meta_ops, BoxSequence, Callback, CallbackReturn, Context, Error, Execution, Function, Sequence,
    SequencePoll, Stack, Table, Value,
};

/// Where a closing is.
#[derive(Collect)]
#[collect(no_drop)]
enum Phase<'gc> {
    /// The scope's function is running.
    Scope,
    /// `__close` is running after the scope returned these values.
    Closing(Vec<Value<'gc>>),
    /// `__close` is running after the scope raised this error.
    Failing(Error<'gc>),
}

#[derive(Collect)]
#[collect(no_drop)]
struct Closing<'gc> {
    value: Value<'gc>,
    /// `None` when the value is `nil` or `false` (nothing to close).
    close: Option<Function<'gc>>,
    phase: Phase<'gc>,
}

impl<'gc> Closing<'gc> {
    /// Calls `__close(value, error)`, or finishes at once when there is none.
    fn close(
        &mut self,
        ctx: Context<'gc>,
        stack: &mut Stack<'gc, '_>,
        error: Value<'gc>,
        next: Phase<'gc>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        self.phase = next;
        match self.close {
            Some(close) => {
                stack.clear();
                stack.push_back(self.value);
                stack.push_back(error);
                Ok(SequencePoll::Call {
                    function: close,
                    is_tail: false,
                })
            }
            None => self.finish(ctx, stack),
        }
    }

    fn finish(
        &mut self,
        ctx: Context<'gc>,
        stack: &mut Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        match std::mem::replace(&mut self.phase, Phase::Scope) {
            Phase::Failing(error) => Err(error),
            Phase::Closing(values) => {
                let outcome = Table::new(&ctx);
                let n = values.len();
                for (i, v) in values.into_iter().enumerate() {
                    let _ = outcome.set(ctx, i64::try_from(i + 1).unwrap_or(i64::MAX), v);
                }
                let _ = outcome.set(ctx, "n", i64::try_from(n).unwrap_or(i64::MAX));
                stack.replace(ctx, outcome);
                Ok(SequencePoll::Return)
            }
            Phase::Scope => Err(lua_err(ctx, "to-be-closed scope ended twice")),
        }
    }
}

impl<'gc> Sequence<'gc> for Closing<'gc> {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        _exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        match self.phase {
            Phase::Scope => {
                let values: Vec<Value<'gc>> = stack.drain(..).collect();
                self.close(ctx, &mut stack, Value::Nil, Phase::Closing(values))
            }
            _ => self.finish(ctx, &mut stack),
        }
    }

    fn error(
        &mut self,
        ctx: Context<'gc>,
        _exec: Execution<'gc, '_>,
        error: Error<'gc>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        match self.phase {
            Phase::Scope => {
                let value = error.to_value(ctx);
                self.close(ctx, &mut stack, value, Phase::Failing(error))
            }
            // `__close` itself failed: its error goes on.
            _ => Err(error),
        }
    }
}

pub(crate) fn install<'gc>(ctx: Context<'gc>, helpers: Table<'gc>) {
    let closing = Callback::from_fn(&ctx, |ctx, _, mut stack| {
        let value = stack.get(0);
        let name = stack.get(1);
        let scope = meta_ops::call(ctx, stack.get(2))
            .map_err(|_| lua_err(ctx, "to-be-closed scope is not a function"))?;
        let close = match value {
            Value::Nil | Value::Boolean(false) => None,
            v => match metamethod(ctx, v, "__close") {
                Some(close) => Some(close),
                None => {
                    let name = match name {
                        Value::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                        _ => "?".into(),
                    };
                    return Err(lua_err(
                        ctx,
                        format!("variable '{name}' got a non-closable value"),
                    ));
                }
            },
        };
        drop(stack.drain(..3));
        Ok(CallbackReturn::Call {
            function: scope,
            then: Some(BoxSequence::new(
                &ctx,
                Closing {
                    value,
                    close,
                    phase: Phase::Scope,
                },
            )),
        })
    });
    let _ = helpers.set(ctx, super::lower::CLOSING, closing);
    let unpack = Callback::from_fn(&ctx, |ctx, _, mut stack| {
        let Value::Table(outcome) = stack.get(0) else {
            return Err(lua_err(ctx, "to-be-closed scope outcome is not a table"));
        };
        let n = match outcome.get(ctx, "n") {
            Value::Integer(n) => n,
            _ => 0,
        };
        stack.clear();
        for i in 2..=n {
            stack.push_back(outcome.get(ctx, i));
        }
        Ok(CallbackReturn::Return)
    });
    let _ = helpers.set(ctx, super::lower::UNPACK, unpack);
}
