//! `load(chunk [, chunkname [, mode [, env]]])`: text chunks only, given as a string or as a
//! reader function, compiled as a plugin's own files are ([`super::compile`]) and charged fuel
//! per byte. Binary chunks are refused (there is no `string.dump` to make one, and piccolo's
//! prototypes are not a format to trust from a plugin).
//!
//! piccolo's compiler keeps its syntax tree and prototypes in the host's memory, outside the
//! VM's heap: a chunk whose compile could take more than the plugin's memory cap (estimated
//! from its tokens before parsing, as for a plugin's files: [`super::compile`]) is refused as
//! [`ErrorKind::MemoryLimit`], so a plugin cannot make the host allocate much more than its
//! own cap.

use super::compile::{compile, over_cap};
use super::stdlib::{bad_arg, charge, lua_err};
use super::Shared;
use crate::error::ErrorKind;
use piccolo::{
    BoxSequence, Callback, CallbackReturn, Context, Error, Execution, Function, Sequence,
    SequencePoll, Stack, Value,
};
use std::rc::Rc;

/// Pieces a reader function may return (each call is charged like a step).
const MAX_READER_CALLS: usize = 1 << 20;

/// The chunk's name as Lua shows it in messages (`luaO_chunkid`): `=name` as `name`, `@file`
/// as `file`, a source string as `[string "its first line..."]`.
pub(crate) fn display_name(chunkname: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(chunkname);
    if let Some(rest) = text.strip_prefix('=').or_else(|| text.strip_prefix('@')) {
        return rest.chars().take(MAX - 1).collect();
    }
    let first = text.lines().next().unwrap_or("");
    let truncated =
        first.len() < text.trim_end_matches('\n').len() || first.chars().count() > MAX - 15;
    let shown: String = first.chars().take(MAX - 15).collect();
    if truncated {
        format!("[string \"{shown}...\"]")
    } else {
        format!("[string \"{shown}\"]")
    }
}

/// The arguments after the chunk: its name, mode and environment.
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct Options<'gc> {
    #[collect(require_static)]
    name: Option<Vec<u8>>,
    #[collect(require_static)]
    mode: Vec<u8>,
    /// `Some` when a fourth argument was given (even `nil`).
    env: Option<Value<'gc>>,
}

fn options<'gc>(ctx: Context<'gc>, stack: &Stack<'gc, '_>) -> Result<Options<'gc>, Error<'gc>> {
    let name = match stack.get(1) {
        Value::Nil => None,
        Value::String(s) => Some(s.as_bytes().to_vec()),
        _ => return Err(bad_arg(ctx, 1, "load", "string expected")),
    };
    let mode = match stack.get(2) {
        Value::Nil => b"bt".to_vec(),
        Value::String(s) => s.as_bytes().to_vec(),
        _ => return Err(bad_arg(ctx, 2, "load", "string expected")),
    };
    let env = (stack.len() > 3).then(|| stack.get(3));
    Ok(Options { name, mode, env })
}

/// Compiles `source`: `Ok(closure)`, or `Err(message)` for `load` to return after `nil`.
fn load_source<'gc>(
    ctx: Context<'gc>,
    exec: &mut Execution<'gc, '_>,
    shared: &Shared,
    source: &[u8],
    options: &Options<'gc>,
) -> Result<Result<Function<'gc>, String>, Error<'gc>> {
    let chunkname = options.name.as_deref().unwrap_or(source);
    let name = display_name(chunkname);
    if source.starts_with(b"\x1bLua") {
        let why = if options.mode.contains(&b'b') {
            "binary chunks are not supported"
        } else {
            "attempt to load a binary chunk (mode is 't')"
        };
        return Ok(Err(format!("{name}: {why}")));
    }
    if !options.mode.contains(&b't') {
        let mode = String::from_utf8_lossy(&options.mode);
        return Ok(Err(format!(
            "{name}: attempt to load a text chunk (mode is '{mode}')"
        )));
    }
    charge(exec, source.len());
    let compiled = match compile(&name, source, shared.limits.memory_bytes, 0) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(match e.kind() {
                ErrorKind::LuaSyntax {
                    line: Some(line),
                    message,
                    ..
                } => format!("{name}:{line}: {message}"),
                ErrorKind::LuaSyntax { message, .. } => format!("{name}: {message}"),
                _ => return Err(Error::Runtime(super::anyhow_error(e))),
            }))
        }
    };
    let env = options.env.unwrap_or(Value::Table(ctx.globals()));
    compiled
        .closure_with_env(ctx, super::helpers(ctx, shared), env)
        .map(|c| Ok(Function::Closure(c)))
        .map_err(|e| Error::Runtime(super::anyhow_error(e)))
}

/// Puts `load`'s results on the stack: the function, or `nil` and the message.
fn answer<'gc>(ctx: Context<'gc>, stack: &mut Stack<'gc, '_>, r: Result<Function<'gc>, String>) {
    stack.clear();
    match r {
        Ok(f) => stack.push_back(Value::Function(f)),
        Err(message) => {
            stack.push_back(Value::Nil);
            stack.push_back(Value::String(ctx.intern(message.as_bytes())));
        }
    }
}

/// Calls a reader function until it returns nothing or `""`, gathering the pieces.
#[derive(gc_arena::Collect)]
#[collect(no_drop)]
struct Reader<'gc> {
    reader: Function<'gc>,
    #[collect(require_static)]
    source: Vec<u8>,
    #[collect(require_static)]
    calls: usize,
    options: Options<'gc>,
    #[collect(require_static)]
    shared: Rc<Shared>,
}

impl<'gc> Sequence<'gc> for Reader<'gc> {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        mut exec: Execution<'gc, '_>,
        mut stack: Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        if self.calls > 0 {
            match stack.get(0) {
                Value::Nil => return self.finish(ctx, &mut exec, &mut stack),
                Value::String(s) if s.as_bytes().is_empty() => {
                    return self.finish(ctx, &mut exec, &mut stack)
                }
                Value::String(s) => {
                    // The pieces so far already cost more to compile than the cap allows.
                    let len = self.source.len() + s.as_bytes().len();
                    if over_cap(0, len, 0, self.shared.limits.memory_bytes) {
                        return Err(Error::Runtime(super::anyhow_error(
                            ErrorKind::MemoryLimit {
                                cap: self.shared.limits.memory_bytes,
                            }
                            .into(),
                        )));
                    }
                    self.source.extend_from_slice(s.as_bytes());
                }
                _ => {
                    answer(
                        ctx,
                        &mut stack,
                        Err("reader function must return a string".into()),
                    );
                    return Ok(SequencePoll::Return);
                }
            }
        }
        if self.calls >= MAX_READER_CALLS {
            return Err(lua_err(
                ctx,
                "load: too many pieces from the reader function",
            ));
        }
        self.calls += 1;
        charge(&mut exec, 64);
        stack.clear();
        Ok(SequencePoll::Call {
            function: self.reader,
            is_tail: false,
        })
    }
}

impl<'gc> Reader<'gc> {
    fn finish(
        &mut self,
        ctx: Context<'gc>,
        exec: &mut Execution<'gc, '_>,
        stack: &mut Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, Error<'gc>> {
        if self.options.name.is_none() {
            self.options.name = Some(b"=(load)".to_vec());
        }
        let source = std::mem::take(&mut self.source);
        let r = load_source(ctx, exec, &self.shared, &source, &self.options)?;
        answer(ctx, stack, r);
        Ok(SequencePoll::Return)
    }
}

pub(crate) fn install<'gc>(ctx: Context<'gc>, shared: &Rc<Shared>) {
    let sh = shared.clone();
    let load = Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
        let options = options(ctx, &stack)?;
        match stack.get(0) {
            Value::String(s) => {
                let r = load_source(ctx, &mut exec, &sh, s.as_bytes(), &options)?;
                answer(ctx, &mut stack, r);
                Ok(CallbackReturn::Return)
            }
            Value::Function(reader) => {
                stack.clear();
                Ok(CallbackReturn::Sequence(BoxSequence::new(
                    &ctx,
                    Reader {
                        reader,
                        source: Vec::new(),
                        calls: 0,
                        options,
                        shared: sh.clone(),
                    },
                )))
            }
            _ => Err(bad_arg(ctx, 0, "load", "string expected")),
        }
    });
    let _ = ctx.globals().set(ctx, "load", load);
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn chunk_names_as_lua_shows_them() {
        assert_eq!(display_name(b"=stdin"), "stdin");
        assert_eq!(display_name(b"@file.lua"), "file.lua");
        assert_eq!(display_name(b"return 1"), "[string \"return 1\"]");
        assert_eq!(display_name(b"x = 1\ny = 2"), "[string \"x = 1...\"]");
    }
}
