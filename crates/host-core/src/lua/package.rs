//! `require` and the `package` table, as far as a sandbox has them: modules come from
//! `package.loaded`, then `package.preload`, then the plugin's own folder (`a.b` → `a/b.lua` or
//! `a/b/init.lua`, compiled at load), never from the file system. `package.path` and
//! `package.cpath` are empty strings; `searchers`, `searchpath` and `loadlib` are absent.

use super::stdlib::{charge, check_bytes, lua_err};
use super::Shared;
use piccolo::{
    BoxSequence, Callback, CallbackReturn, Context, Error, Execution, Sequence, SequencePoll,
    Stack, Table, Value,
};
use std::rc::Rc;

/// The libraries `package.loaded` lists from the start, as Lua does.
const LIBRARIES: [&str; 7] = [
    "string",
    "table",
    "math",
    "coroutine",
    "utf8",
    "os",
    "debug",
];

pub(crate) fn install<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let package = Table::new(&ctx);
    let loaded = Table::new(&ctx);
    let preload = Table::new(&ctx);
    let _ = loaded.set(ctx, "_G", ctx.globals());
    for lib in LIBRARIES {
        if let v @ Value::Table(_) = ctx.get_global(lib) {
            let _ = loaded.set(ctx, lib, v);
        }
    }
    let _ = package.set(ctx, "loaded", loaded);
    let _ = package.set(ctx, "preload", preload);
    let _ = package.set(ctx, "path", "");
    let _ = package.set(ctx, "cpath", "");
    let _ = package.set(ctx, "config", "/\n;\n?\n!\n-\n");
    let _ = loaded.set(ctx, "package", package);
    let _ = ctx.globals().set(ctx, "package", package);
    install_require(ctx, shared, package);
}

/// `require(name)`: `package.loaded[name]`, else `package.preload[name](name, ":preload:")`,
/// else the plugin's module file run once; the result (or `true`) is stored in
/// `package.loaded[name]` and returned with the loader data (`":preload:"` or the file name).
fn install_require<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>, package: Table<'gc>) {
    let sh = shared.clone();
    let require = Callback::from_fn_with(
        &ctx,
        package,
        move |package, ctx, mut exec, mut stack| {
            let name_bytes = check_bytes(ctx, &stack, 0, "require")?;
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            let key = ctx.intern(name_bytes);
            let table = |field: &'static str| match package.get(ctx, field) {
                Value::Table(t) => Ok(t),
                _ => Err(lua_err(ctx, format!("'package.{field}' must be a table"))),
            };
            let loaded = table("loaded")?;
            let cached = loaded.get(ctx, key);
            if !cached.is_nil() {
                stack.replace(ctx, cached);
                return Ok(CallbackReturn::Return);
            }
            let then = |data: String| {
                BoxSequence::new(
                    &ctx,
                    Required {
                        loaded,
                        name: name.clone(),
                        data,
                    },
                )
            };
            if let Value::Function(loader) = table("preload")?.get(ctx, key) {
                stack.clear();
                stack.push_back(Value::String(key));
                stack.push_back(Value::String(ctx.intern(b":preload:")));
                return Ok(CallbackReturn::Call {
                    function: loader,
                    then: Some(then(":preload:".into())),
                });
            }
            let path = name.replace('.', "/");
            let candidates = [format!("{path}.lua"), format!("{path}/init.lua")];
            let Some((file, source)) = candidates
                .iter()
                .find_map(|c| sh.files.get(c).map(|s| (c.clone(), s.clone())))
            else {
                return Err(lua_err(
                ctx,
                format!(
                    "module '{name}' not found:\n\tno field package.preload['{name}']\n\tno file '{}' in the plugin\n\tno file '{}' in the plugin",
                    candidates[0], candidates[1]
                ),
            ));
            };
            charge(&mut exec, source.source_len);
            // `files` holds the sources as compiled at load.
            let closure = source
                .closure(ctx, super::helpers(ctx, &sh))
                .map_err(|e| Error::Runtime(super::anyhow_error(e)))?;
            stack.clear();
            stack.push_back(Value::String(key));
            stack.push_back(Value::String(ctx.intern(file.as_bytes())));
            Ok(CallbackReturn::Call {
                function: closure.into(),
                then: Some(then(file)),
            })
        },
    );
    let _ = ctx.globals().set(ctx, "require", require);
}

/// Stores a module's result in `package.loaded` and returns it with the loader data.
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct Required<'gc> {
    loaded: Table<'gc>,
    #[collect(require_static)]
    name: String,
    #[collect(require_static)]
    data: String,
}

impl<'gc> Sequence<'gc> for Required<'gc> {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        _exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        let key = ctx.intern(self.name.as_bytes());
        if !stack.get(0).is_nil() {
            let _ = self.loaded.set(ctx, key, stack.get(0));
        }
        // A module that returned nothing but set `package.loaded[name]` itself keeps that.
        let result = match self.loaded.get(ctx, key) {
            Value::Nil => Value::Boolean(true),
            v => v,
        };
        let _ = self.loaded.set(ctx, key, result);
        stack.clear();
        stack.push_back(result);
        stack.push_back(Value::String(ctx.intern(self.data.as_bytes())));
        Ok(SequencePoll::Return)
    }
}
