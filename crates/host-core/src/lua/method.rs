//! Method calls `obj:name(args)` and the string metatable. piccolo 0.3.3 indexes only tables
//! and userdata, so `s:upper()` and `("%d"):format(n)` fail there; every method call is
//! lowered ([`super::lower`]) into `__pb_method(obj, "name", args…)`, which looks the method
//! up as Lua 5.4 does — a string's methods are those of the `string` library (its metatable's
//! `__index`), anything else is indexed with its metamethods — and tail-calls it with `obj`
//! as the first argument. `getmetatable` of a string answers that metatable.

use super::stdlib::lua_err;
use piccolo::meta_ops::{self, MetaResult};
use piccolo::{
    BoxSequence, Callback, CallbackReturn, Context, Error, Execution, Function, Sequence,
    SequencePoll, Stack, Table, Value,
};

/// The method's name as PUC's messages show it.
fn method_name(key: Value<'_>) -> String {
    match key {
        Value::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        other => other.type_name().to_owned(),
    }
}

/// The function to call for a method value, or PUC's error (at the position of the Lua code
/// making the call).
fn callable<'gc>(
    ctx: Context<'gc>,
    exec: &Execution<'gc, '_>,
    f: Value<'gc>,
    key: Value<'gc>,
) -> Result<Function<'gc>, Error<'gc>> {
    meta_ops::call(ctx, f).map_err(|_| {
        let msg = format!(
            "attempt to call a {} value (method '{}')",
            f.type_name(),
            method_name(key)
        );
        super::stdlib::operand_err(ctx, exec, None, &msg)
    })
}

/// Calls the method an `__index` function returned.
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct ThenCall<'gc> {
    key: Value<'gc>,
    /// The receiver and the arguments, kept while `__index` runs.
    args: Vec<Value<'gc>>,
}

impl<'gc> Sequence<'gc> for ThenCall<'gc> {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        let function = callable(ctx, &exec, stack.get(0), self.key)?;
        stack.clear();
        stack.extend(self.args.drain(..));
        Ok(SequencePoll::Call {
            function,
            is_tail: true,
        })
    }
}

/// Installs `__pb_method` into `helpers` and the string metatable's `getmetatable` answer.
pub(crate) fn install<'gc>(ctx: Context<'gc>, helpers: Table<'gc>, string_lib: Table<'gc>) {
    let method = Callback::from_fn_with(&ctx, string_lib, |string_lib, ctx, exec, mut stack| {
        let receiver = stack.get(0);
        let key = stack.get(1);
        // [receiver, name, args…] → [receiver, args…]
        drop(stack.drain(1..2));
        let found = match receiver {
            Value::String(_) => string_lib.get(ctx, key),
            other => match meta_ops::index(ctx, other, key) {
                Ok(MetaResult::Value(v)) => v,
                Ok(MetaResult::Call(call)) => {
                    let args: Vec<Value<'gc>> = stack.drain(..).collect();
                    stack.extend(call.args);
                    return Ok(CallbackReturn::Call {
                        function: call.function,
                        then: Some(BoxSequence::new(&ctx, ThenCall { key, args })),
                    });
                }
                // PUC names the receiver, as the VM's index error does.
                Err(e) if e.downcast::<piccolo::TypeError>().is_some() => {
                    let msg = format!("attempt to index a {} value", other.type_name());
                    return Err(super::stdlib::operand_err(ctx, &exec, Some(0), &msg));
                }
                Err(e) => return Err(e.into()),
            },
        };
        let function = callable(ctx, &exec, found, key)?;
        Ok(CallbackReturn::Call {
            function,
            then: None,
        })
    });
    let _ = helpers.set(ctx, super::lower::METHOD, method);
}

/// `getmetatable(v)` for any value, honouring `__metatable`; strings share one metatable,
/// `{__index = string}`, which this returns. `setmetatable` refuses to change a protected
/// metatable (one with a `__metatable` field), as Lua does.
pub(crate) fn install_getmetatable<'gc>(ctx: Context<'gc>, string_lib: Table<'gc>) -> Table<'gc> {
    let string_mt = Table::new(&ctx);
    let _ = string_mt.set(ctx, "__index", string_lib);
    let getmetatable = Callback::from_fn_with(&ctx, string_mt, |string_mt, ctx, _, mut stack| {
        let mt = match stack.get(0) {
            Value::String(_) => Some(*string_mt),
            v => super::stdlib::metatable_of(v),
        };
        let answer = match mt {
            None => Value::Nil,
            Some(mt) => match mt.get(ctx, "__metatable") {
                Value::Nil => Value::Table(mt),
                protected => protected,
            },
        };
        stack.replace(ctx, answer);
        Ok(CallbackReturn::Return)
    });
    let _ = ctx.globals().set(ctx, "getmetatable", getmetatable);
    let setmetatable = Callback::from_fn(&ctx, |ctx, _, mut stack| {
        let Value::Table(t) = stack.get(0) else {
            return Err(lua_err(
                ctx,
                format!(
                    "bad argument #1 to 'setmetatable' (table expected, got {})",
                    stack.get(0).type_name()
                ),
            ));
        };
        let mt = match stack.get(1) {
            Value::Nil => None,
            Value::Table(mt) => Some(mt),
            _ => {
                return Err(lua_err(
                    ctx,
                    "bad argument #2 to 'setmetatable' (nil or table expected)",
                ))
            }
        };
        if t.metatable()
            .is_some_and(|old| !old.get(ctx, "__metatable").is_nil())
        {
            return Err(lua_err(ctx, "cannot change a protected metatable"));
        }
        t.set_metatable(&ctx, mt);
        stack.replace(ctx, t);
        Ok(CallbackReturn::Return)
    });
    let _ = ctx.globals().set(ctx, "setmetatable", setmetatable);
    string_mt
}
