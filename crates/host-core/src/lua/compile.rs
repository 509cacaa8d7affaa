//! Lua source → a piccolo closure, in two halves: [`compile`] (no VM needed: checked, parsed by
//! our parser ([`super::parse`]) from the source's bytes into piccolo's syntax tree,
//! [lowered](super::lower), compiled by piccolo's compiler to a
//! prototype whose strings are plain bytes) at load, and [`Compiled::closure`] (the prototype's
//! strings interned in a VM) each time a VM runs the file. A plugin's files are compiled once,
//! so a VM rebuilt after a failure, or a `require`, does not parse again.

use super::{lower, scan};
use crate::error::{Error, ErrorKind};
use gc_arena::{allocator_api::MetricsAlloc, Gc};
use piccolo::closure::{UpValue, UpValueState};
use piccolo::compiler::{compile_chunk, CompiledPrototype, StringInterner};
use piccolo::types::{RegisterIndex, UpValueDescriptor, UpValueIndex};
use piccolo::{Closure, Context, FunctionPrototype, Table, Value};
use std::collections::HashSet;
use std::rc::Rc;

/// The compiler's strings: byte strings shared by every use of the same name or constant.
#[derive(Default)]
struct Names(HashSet<Rc<[u8]>>);

impl StringInterner for Names {
    type String = Rc<[u8]>;

    fn intern(&mut self, s: &[u8]) -> Rc<[u8]> {
        if let Some(name) = self.0.get(s) {
            return name.clone();
        }
        let name: Rc<[u8]> = Rc::from(s);
        self.0.insert(name.clone());
        name
    }
}

/// One compiled source file.
pub(crate) struct Compiled {
    file: String,
    prototype: CompiledPrototype<Rc<[u8]>>,
    /// The source's length: what running it again (`require`) is charged.
    pub(crate) source_len: usize,
    /// The source's tokens, as the scan counted them.
    tokens: u64,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("file", &self.file)
            .field("source_len", &self.source_len)
            .finish_non_exhaustive()
    }
}

fn syntax_error(file: &str, line: piccolo::compiler::LineNumber, message: String) -> Error {
    ErrorKind::LuaSyntax {
        plugin: String::new(),
        file: file.to_owned(),
        // piccolo counts lines from 0.
        line: u32::try_from(line.0.saturating_add(1)).ok(),
        message,
    }
    .into()
}

// What compiling costs the host, outside the VM's heap, measured with a counting allocator
// over ten source shapes from 64 KiB to 1 MiB (`memory_goals.rs`, run with
// `PLUGBOARD_MEASURE_COMPILE=1`): the peak per token was 213 bytes at most (control flow;
// concatenations 189, assignments 149, constants in tables 110-156, calls 115), with 3 bytes per
// byte of a long literal; what a compiled file keeps was at most 14 bytes per token.

/// Peak host bytes compiling takes per token, at most: piccolo's syntax tree, our lowering of
/// it and the prototype (the worst shape measured, plus a margin).
const PEAK_BYTES_PER_TOKEN: u64 = 240;
/// Peak host bytes per byte of source besides its tokens: copies of names and literals.
const PEAK_BYTES_PER_SOURCE_BYTE: u64 = 4;
/// Host bytes a compiled file keeps per token, and per byte of source (its constants).
const KEPT_BYTES_PER_TOKEN: u64 = 16;
const KEPT_BYTES_PER_SOURCE_BYTE: u64 = 3;

fn wide(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The most compiling a source of `len` bytes and `tokens` tokens may take of the host's memory.
fn compile_cost(tokens: u64, len: usize) -> u64 {
    tokens
        .saturating_mul(PEAK_BYTES_PER_TOKEN)
        .saturating_add(wide(len).saturating_mul(PEAK_BYTES_PER_SOURCE_BYTE))
}

/// Whether compiling a source of `len` bytes and `tokens` tokens, after files that keep `kept`
/// bytes, could take more of the host's memory than `cap`.
pub(crate) fn over_cap(tokens: u64, len: usize, kept: u64, cap: usize) -> bool {
    kept.saturating_add(compile_cost(tokens, len)) > wide(cap)
}

/// Checks, parses, lowers and compiles one source file. Errors are `LuaSyntax` with the line,
/// or `MemoryLimit` when compiling it could take more of the host's memory than the `cap` less
/// what the plugin's files compiled before it keep (`kept`: the sum of their
/// [`Compiled::kept`]). The compiler allocates outside the VM's heap: this bounds it before
/// parsing, by what the scan counted.
pub(crate) fn compile(file: &str, source: &[u8], cap: usize, kept: u64) -> Result<Compiled, Error> {
    let scanned = scan::check(file, source)?;
    if over_cap(scanned.tokens, source.len(), kept, cap) {
        return Err(ErrorKind::MemoryLimit { cap }.into());
    }
    super::guarded(|| compile_checked(file, source, scanned.tokens))
}

fn compile_checked(file: &str, source: &[u8], tokens: u64) -> Result<Compiled, Error> {
    let mut names = Names::default();
    let mut chunk = super::parse::parse_chunk(source, &mut names)
        .map_err(|e| syntax_error(file, e.line, e.message))?;
    lower::lower(&mut chunk, &mut names);
    let prototype = compile_chunk(&chunk, &mut names)
        .map_err(|e| syntax_error(file, e.line_number, e.kind.to_string()))?;
    Ok(Compiled {
        file: file.to_owned(),
        prototype,
        source_len: source.len(),
        tokens,
    })
}

impl Compiled {
    /// The most host memory this compiled file keeps (its prototypes and constants).
    pub(crate) fn kept(&self) -> u64 {
        self.tokens
            .saturating_mul(KEPT_BYTES_PER_TOKEN)
            .saturating_add(wide(self.source_len).saturating_mul(KEPT_BYTES_PER_SOURCE_BYTE))
    }

    /// A closure of the file in this VM, with the globals as its `_ENV` and `helpers` (a table
    /// of the functions [`lower::HELPERS`] names) as the lowered nodes' functions.
    pub(crate) fn closure<'gc>(
        &self,
        ctx: Context<'gc>,
        helpers: Table<'gc>,
    ) -> Result<Closure<'gc>, Error> {
        self.closure_with_env(ctx, helpers, Value::Table(ctx.globals()))
    }

    /// [`closure`](Self::closure) with `env` as its `_ENV` (`load`'s fourth argument).
    pub(crate) fn closure_with_env<'gc>(
        &self,
        ctx: Context<'gc>,
        helpers: Table<'gc>,
        env: Value<'gc>,
    ) -> Result<Closure<'gc>, Error> {
        let bad = |what: &str| -> Error {
            ErrorKind::LuaSyntax {
                plugin: String::new(),
                file: self.file.clone(),
                line: None,
                message: format!("internal: the compiled chunk has {what}"),
            }
            .into()
        };
        // The wrapper's only inner function is the chunk itself.
        let [body] = self.prototype.prototypes.as_slice() else {
            return Err(bad("no body"));
        };
        let prototype = FunctionPrototype::from_compiled_map_strings(
            &ctx,
            ctx.intern(self.file.as_bytes()),
            body,
            |s| ctx.intern(s),
        );
        let mut upvalues = allocator_api2::vec::Vec::new_in(MetricsAlloc::new(&ctx));
        for &descriptor in prototype.upvalues.iter() {
            let value = match descriptor {
                // The wrapper's own upvalue 0 is `_ENV`.
                UpValueDescriptor::Outer(UpValueIndex(0)) => env,
                UpValueDescriptor::ParentLocal(RegisterIndex(r)) => {
                    let name = lower::HELPERS
                        .get(usize::from(r))
                        .ok_or_else(|| bad("an unknown helper"))?;
                    helpers.get(ctx, *name)
                }
                _ => return Err(bad("an unexpected upvalue")),
            };
            upvalues.push(UpValue::new(&ctx, UpValueState::Closed(value)));
        }
        Ok(Closure::from_parts(
            &ctx,
            Gc::new(&ctx, prototype),
            upvalues,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax_line(src: &str) -> Option<u32> {
        match compile("t.lua", src.as_bytes(), usize::MAX, 0)
            .map(|_| ())
            .unwrap_err()
            .kind()
        {
            ErrorKind::LuaSyntax { line, .. } => *line,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_the_text_rewrite_refused_compiles() {
        for src in [
            "local t, i = {'a'}, 1 print('x' .. t[i])",
            "local a, i, j = {1, 2}, 1, 2 a[i], a[j] = a[j], a[i]",
            "local x, t = 1, {2} x = x & t[1]",
            ";;; do ;;; end ;",
            "local s = '\\xff\\xfe' .. 'a'",
            "local s = '\\u{7FFFFFFF}'",
            "local x <const> = 1 local y <close> = nil",
            "return (f())",
        ] {
            compile("t.lua", src.as_bytes(), usize::MAX, 0)
                .unwrap_or_else(|e| panic!("{src}: {e}"));
        }
        // The source is bytes: not UTF-8 outside strings too (comments).
        compile(
            "t.lua",
            b"-- \xff\xfe\nlocal s = '\xc3' .. '\xa9'",
            usize::MAX,
            0,
        )
        .unwrap();
    }

    #[test]
    fn syntax_errors_have_the_sources_line() {
        assert_eq!(syntax_line("x = 1\ny = a .."), Some(2));
        assert_eq!(syntax_line("x = 1\n\n y = = 2"), Some(3));
    }
}
