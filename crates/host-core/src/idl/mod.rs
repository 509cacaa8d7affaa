//! `interface.d.ts`: the interface file of Extism JS-PDK plugins (docs/abis.md §5).
//!
//! A JS-PDK plugin is a *core* module that exports `__invoke(i32) -> i32` (run the n-th export,
//! in code-point order of the names) and imports its host functions through one entry point,
//! `shim.__invokeHostFunc`. The interface file says which exports and host functions there
//! are. This module parses the file ([`Interface::parse`]), checks a core module against it,
//! generates the two shim modules ([`shim`]), and writes TypeScript declarations for JS callers
//! ([`Interface::typescript`]). The shims are linked to the core module at instantiation.

pub(crate) mod shim;

use crate::error::{Error, ErrorKind};
use std::fmt;

/// The largest interface file accepted, in bytes.
pub const MAX_INTERFACE_BYTES: usize = 1 << 20;
/// Host functions take at most this many arguments (the width of `__invokeHostFunc`).
pub const MAX_HOST_ARGS: usize = 5;
/// At most this many exports or host functions (each becomes a shim function).
pub const MAX_FUNCTIONS: usize = 4096;

/// A WebAssembly value type as the interface file names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdlType {
    I32,
    I64,
    F32,
    F64,
    /// An offset into Extism memory: an `i64` holding a kernel handle.
    Ptr,
}

impl IdlType {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "I32" => Self::I32,
            "I64" => Self::I64,
            "F32" => Self::F32,
            "F64" => Self::F64,
            "PTR" => Self::Ptr,
            _ => return None,
        })
    }

    /// The name in the interface file.
    pub fn name(self) -> &'static str {
        match self {
            Self::I32 => "I32",
            Self::I64 => "I64",
            Self::F32 => "F32",
            Self::F64 => "F64",
            Self::Ptr => "PTR",
        }
    }

    /// The code `__get_function_arg_type`/`__get_function_return_type` report (0 is "none").
    pub fn code(self) -> i32 {
        match self {
            Self::I32 => 1,
            Self::I64 | Self::Ptr => 2,
            Self::F32 => 3,
            Self::F64 => 4,
        }
    }

    pub(crate) fn wasm(self) -> wasmi::ValType {
        use wasmi::ValType;
        match self {
            Self::I32 => ValType::I32,
            Self::I64 | Self::Ptr => ValType::I64,
            Self::F32 => ValType::F32,
            Self::F64 => ValType::F64,
        }
    }
}

impl fmt::Display for IdlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A host function the plugin imports from `extism:host/user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostImport {
    pub name: String,
    /// Parameter names and types, in order.
    pub params: Vec<(String, IdlType)>,
    /// `None` for `void`.
    pub result: Option<IdlType>,
}

impl HostImport {
    /// The WebAssembly type, e.g. `(i32, i64) -> (i64)`.
    pub fn wasm_type(&self) -> String {
        let params: Vec<_> = self.params.iter().map(|(_, t)| t.wasm()).collect();
        let results: Vec<_> = self.result.iter().map(|t| t.wasm()).collect();
        crate::wasm::fmt_sig(&params, &results)
    }
}

/// A parsed `interface.d.ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The plugin's exports, in the order `__invoke` numbers them (code-point order).
    exports: Vec<String>,
    /// The host functions, in the order `__invokeHostFunc` numbers them (declaration order).
    imports: Vec<HostImport>,
}

impl Interface {
    /// Parses an interface file.
    ///
    /// The accepted subset: `declare module 'main' { export function NAME(): I32; … }` and
    /// `declare module 'extism:host' { interface user { NAME(p: TYPE, …): TYPE; … } }`, with
    /// `I32 I64 F32 F64 PTR` (and `void` as a host function's result), `//` and `/* */`
    /// comments. Anything else is an [`ErrorKind::Interface`] error with its line and column.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Interface`].
    pub fn parse(source: &str) -> Result<Self, Error> {
        if source.len() > MAX_INTERFACE_BYTES {
            return Err(ErrorKind::Interface {
                line: 1,
                column: 1,
                message: format!(
                    "the file is {} bytes; at most {MAX_INTERFACE_BYTES} are accepted",
                    source.len()
                ),
            }
            .into());
        }
        Parser::new(source).file()
    }

    /// The export names, in `__invoke` order.
    pub fn exports(&self) -> &[String] {
        &self.exports
    }

    /// The host functions, in `__invokeHostFunc` order.
    pub fn imports(&self) -> &[HostImport] {
        &self.imports
    }

    /// TypeScript declarations for JS code that calls this plugin and provides its host
    /// functions (through the plugboard npm package).
    pub fn typescript(&self) -> String {
        let mut out = String::from(
            "// Generated by plugboard from interface.d.ts. Do not edit.\n\n\
             /** Input or output of a plugin call: text, bytes, or a JSON value. */\n\
             export type PluginData = string | Uint8Array | null | boolean | number | object;\n\n\
             /** The functions the plugin exports, in the order `__invoke` numbers them. */\n",
        );
        out.push_str("export type ExportName =");
        if self.exports.is_empty() {
            out.push_str(" never");
        }
        for (i, e) in self.exports.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { " | " });
            out.push_str(&ts_string(e));
        }
        out.push_str(";\n\n/** Calling the plugin: each export takes the call's input and resolves to its output. */\nexport interface PluginExports {\n");
        for e in &self.exports {
            out.push_str(&format!(
                "  {}(input?: PluginData): Promise<PluginData>;\n",
                ts_key(e)
            ));
        }
        out.push_str(
            "}\n\n/**\n * The host functions the plugin imports from `extism:host/user`. A `PTR`/`I64` \
             argument is an\n * Extism memory handle: the function receives the block's contents \
             (JSON, else text); a `PTR`/`I64`\n * result is stored as a new block (a string as \
             text, anything else as JSON). Numbers stay numbers.\n */\nexport interface HostFunctions {\n",
        );
        for f in &self.imports {
            let params: Vec<String> = f
                .params
                .iter()
                .map(|(n, t)| format!("{}: {}", ts_ident(n), ts_type(*t)))
                .collect();
            let result = f.result.map_or("void", ts_type);
            out.push_str(&format!(
                "  {}({}): {result} | Promise<{result}>;\n",
                ts_key(&f.name),
                params.join(", ")
            ));
        }
        out.push_str("}\n");
        out
    }
}

fn ts_type(t: IdlType) -> &'static str {
    match t {
        IdlType::I32 | IdlType::F32 | IdlType::F64 => "number",
        IdlType::I64 | IdlType::Ptr => "PluginData",
    }
}

fn ts_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A property name: bare if it is an identifier, quoted otherwise.
fn ts_key(s: &str) -> String {
    if is_ident(s) {
        s.to_owned()
    } else {
        ts_string(s)
    }
}

/// A parameter name (always an identifier in the subset; reserved words get a suffix).
fn ts_ident(s: &str) -> String {
    const RESERVED: &[&str] = &[
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
    ];
    if RESERVED.contains(&s) {
        format!("{s}_")
    } else {
        s.to_owned()
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "`{s}`"),
            Tok::Str(s) => write!(f, "the string {}", ts_string(s)),
            Tok::Punct(c) => write!(f, "`{c}`"),
            Tok::Eof => f.write_str("the end of the file"),
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Line and column of the token last read.
    at: (u32, u32),
    peeked: Option<(Tok, (u32, u32), usize)>,
}

type PResult<T> = Result<T, Error>;

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            pos: 0,
            at: (1, 1),
            peeked: None,
        }
    }

    fn position(&self, pos: usize) -> (u32, u32) {
        let before = &self.src[..pos];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (
            u32::try_from(line).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }

    fn error_at(&self, at: (u32, u32), message: String) -> Error {
        ErrorKind::Interface {
            line: at.0,
            column: at.1,
            message,
        }
        .into()
    }

    fn error(&self, message: String) -> Error {
        self.error_at(self.at, message)
    }

    /// Skips whitespace and comments; fails on an unterminated block comment.
    fn skip_trivia(&mut self) -> PResult<()> {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(body) = trimmed.strip_prefix("/*") {
                match body.find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => {
                        let at = self.position(self.pos);
                        return Err(self.error_at(at, "unterminated `/*` comment".into()));
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    fn lex(&mut self) -> PResult<(Tok, (u32, u32), usize)> {
        self.skip_trivia()?;
        let start = self.pos;
        let at = self.position(start);
        let rest = &self.src[start..];
        let Some(c) = rest.chars().next() else {
            return Ok((Tok::Eof, at, start));
        };
        if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            self.pos += len;
            return Ok((Tok::Ident(rest[..len].to_owned()), at, start));
        }
        if c == '\'' || c == '"' {
            let body = &rest[1..];
            let Some(end) = body.find([c, '\n', '\\']) else {
                return Err(self.error_at(at, "unterminated string".into()));
            };
            if !body[end..].starts_with(c) {
                return Err(self.error_at(
                    at,
                    "strings may not contain escapes or line breaks here".into(),
                ));
            }
            self.pos += end + 2;
            return Ok((Tok::Str(body[..end].to_owned()), at, start));
        }
        if "{}();:,".contains(c) {
            self.pos += 1;
            return Ok((Tok::Punct(c), at, start));
        }
        Err(self.error_at(at, format!("unexpected character {c:?}")))
    }

    fn next(&mut self) -> PResult<Tok> {
        let (tok, at, _) = match self.peeked.take() {
            Some(p) => p,
            None => self.lex()?,
        };
        self.at = at;
        Ok(tok)
    }

    fn peek(&mut self) -> PResult<&Tok> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex()?);
        }
        Ok(self.peeked.as_ref().map_or(&Tok::Eof, |p| &p.0))
    }

    fn expect_punct(&mut self, c: char, context: &str) -> PResult<()> {
        match self.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            other => Err(self.error(format!("expected `{c}` {context}, found {other}"))),
        }
    }

    fn expect_word(&mut self, word: &str, context: &str) -> PResult<()> {
        match self.next()? {
            Tok::Ident(w) if w == word => Ok(()),
            other => Err(self.error(format!("expected `{word}` {context}, found {other}"))),
        }
    }

    fn ident(&mut self, what: &str) -> PResult<String> {
        match self.next()? {
            Tok::Ident(w) => Ok(w),
            other => Err(self.error(format!("expected {what}, found {other}"))),
        }
    }

    fn ty(&mut self, allow_void: bool) -> PResult<Option<IdlType>> {
        let word = self.ident("a type (I32, I64, F32, F64 or PTR)")?;
        if allow_void && word == "void" {
            return Ok(None);
        }
        match IdlType::parse(&word) {
            Some(t) => Ok(Some(t)),
            None => Err(self.error(format!(
                "unsupported type `{word}`: the interface file knows I32, I64, F32, F64 and PTR{}",
                if allow_void { " (and void)" } else { "" }
            ))),
        }
    }

    fn optional_semicolon(&mut self) -> PResult<()> {
        if self.peek()? == &Tok::Punct(';') {
            self.next()?;
        }
        Ok(())
    }

    fn file(mut self) -> PResult<Interface> {
        let mut exports: Vec<(String, (u32, u32))> = Vec::new();
        let mut imports: Vec<HostImport> = Vec::new();
        let mut seen_main = false;
        let mut seen_host = false;
        loop {
            match self.next()? {
                Tok::Eof => break,
                Tok::Ident(w) if w == "declare" => {}
                other => {
                    return Err(
                        self.error(format!("expected `declare module '…' {{`, found {other}"))
                    )
                }
            }
            self.expect_word("module", "after `declare`")?;
            let name = match self.next()? {
                Tok::Str(s) => s,
                other => {
                    return Err(self.error(format!(
                        "expected a module name in quotes ('main' or 'extism:host'), found {other}"
                    )))
                }
            };
            let at = self.at;
            self.expect_punct('{', "to open the module")?;
            match name.as_str() {
                "main" if !seen_main => {
                    seen_main = true;
                    self.main_body(&mut exports)?;
                }
                "extism:host" if !seen_host => {
                    seen_host = true;
                    self.host_body(&mut imports)?;
                }
                "main" | "extism:host" => {
                    return Err(self.error_at(at, format!("module '{name}' is declared twice")))
                }
                other => {
                    return Err(self.error_at(
                        at,
                        format!("unknown module '{other}': only 'main' (the plugin's exports) and 'extism:host' (its host functions) are supported"),
                    ))
                }
            }
        }
        if !seen_main {
            return Err(self.error(
                "no `declare module 'main'`: the interface must declare the plugin's exports"
                    .into(),
            ));
        }
        exports.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Interface {
            exports: exports.into_iter().map(|(n, _)| n).collect(),
            imports,
        })
    }

    fn main_body(&mut self, exports: &mut Vec<(String, (u32, u32))>) -> PResult<()> {
        loop {
            match self.next()? {
                Tok::Punct('}') => return Ok(()),
                Tok::Ident(w) if w == "export" => {}
                other => {
                    return Err(self.error(format!(
                        "expected `export function NAME(): I32;` or `}}`, found {other}"
                    )))
                }
            }
            self.expect_word("function", "after `export`")?;
            let name = self.ident("the function's name")?;
            let at = self.at;
            if exports.iter().any(|(n, _)| *n == name) {
                return Err(self.error_at(at, format!("export `{name}` is declared twice")));
            }
            if exports.len() == MAX_FUNCTIONS {
                return Err(self.error_at(at, format!("more than {MAX_FUNCTIONS} exports")));
            }
            self.expect_punct('(', "after the function's name")?;
            if self.peek()? != &Tok::Punct(')') {
                self.next()?;
                return Err(self.error(format!(
                    "export `{name}` takes parameters: plugin exports take none (input goes through Extism memory) and return I32"
                )));
            }
            self.next()?;
            self.expect_punct(':', "before the result type")?;
            let ty = self.ty(false)?;
            if ty != Some(IdlType::I32) {
                return Err(self.error(format!(
                    "export `{name}` returns {}: plugin exports return I32 (the return code)",
                    ty.map_or("void", IdlType::name)
                )));
            }
            self.optional_semicolon()?;
            exports.push((name, at));
        }
    }

    fn host_body(&mut self, imports: &mut Vec<HostImport>) -> PResult<()> {
        loop {
            match self.next()? {
                Tok::Punct('}') => return Ok(()),
                Tok::Ident(w) if w == "interface" => {}
                other => {
                    return Err(self.error(format!(
                        "expected `interface user {{` or `}}`, found {other}"
                    )))
                }
            }
            let iface = self.ident("the interface's name")?;
            if iface != "user" {
                return Err(self.error(format!(
                    "unknown interface `{iface}`: host functions are declared in `interface user` (extism:host/user)"
                )));
            }
            self.expect_punct('{', "to open the interface")?;
            loop {
                let name = match self.next()? {
                    Tok::Punct('}') => break,
                    Tok::Ident(n) => n,
                    other => {
                        return Err(self.error(format!(
                        "expected a host function `NAME(p: TYPE, …): TYPE;` or `}}`, found {other}"
                    )))
                    }
                };
                let at = self.at;
                if imports.iter().any(|f| f.name == name) {
                    return Err(
                        self.error_at(at, format!("host function `{name}` is declared twice"))
                    );
                }
                if imports.len() == MAX_FUNCTIONS {
                    return Err(
                        self.error_at(at, format!("more than {MAX_FUNCTIONS} host functions"))
                    );
                }
                self.expect_punct('(', "after the function's name")?;
                let mut params: Vec<(String, IdlType)> = Vec::new();
                loop {
                    if self.peek()? == &Tok::Punct(')') {
                        self.next()?;
                        break;
                    }
                    let p = self.ident("a parameter name or `)`")?;
                    if params.iter().any(|(n, _)| *n == p) {
                        return Err(self.error(format!("parameter `{p}` is declared twice")));
                    }
                    if params.len() == MAX_HOST_ARGS {
                        return Err(self.error(format!(
                            "host function `{name}` takes more than {MAX_HOST_ARGS} parameters, the most `__invokeHostFunc` passes"
                        )));
                    }
                    self.expect_punct(':', "after the parameter's name")?;
                    let t = self.ty(false)?.unwrap_or(IdlType::I64);
                    params.push((p, t));
                    match self.next()? {
                        Tok::Punct(',') => {}
                        Tok::Punct(')') => break,
                        other => {
                            return Err(self.error(format!(
                                "expected `,` or `)` after a parameter, found {other}"
                            )))
                        }
                    }
                }
                self.expect_punct(':', "before the result type")?;
                let result = self.ty(true)?;
                self.optional_semicolon()?;
                imports.push(HostImport {
                    name,
                    params,
                    result,
                });
            }
            self.optional_semicolon()?;
        }
    }
}

/// A JS-PDK core module: it exports `__invoke` or imports from the import shim.
pub(crate) fn looks_like(module: &wasmi::Module) -> bool {
    module.exports().any(|e| e.name() == shim::INVOKE)
        || module.imports().any(|i| i.module() == shim::IMPORT_SHIM)
}

/// Checks a core module against its interface: it must export `__invoke: (i32) -> (i32)`, its
/// imports from `shim` must be the shim's three functions with their types, and any
/// `extism:host/user` function it imports directly must be declared, with the declared type.
pub(crate) fn validate(interface: &Interface, module: &wasmi::Module) -> Result<(), Error> {
    use wasmi::ValType;
    let invoke = module.exports().find(|e| e.name() == shim::INVOKE);
    match invoke.as_ref().map(|e| e.ty()) {
        Some(wasmi::ExternType::Func(ty)) => {
            if ty.params() != [ValType::I32] || ty.results() != [ValType::I32] {
                return Err(ErrorKind::SignatureMismatch {
                    name: shim::INVOKE.into(),
                    expected: "(i32) -> (i32)".into(),
                    found: crate::wasm::fmt_sig(ty.params(), ty.results()),
                }
                .into());
            }
        }
        _ => {
            return Err(ErrorKind::MissingExport {
                name: format!(
                    "`{}` (i32) -> (i32), which runs the exports interface.d.ts declares ({}); the module does not export it",
                    shim::INVOKE,
                    list(interface.exports.iter().map(String::as_str))
                ),
            }
            .into())
        }
    }
    for import in module.imports() {
        let wasmi::ExternType::Func(ty) = import.ty() else {
            continue;
        };
        let found = crate::wasm::fmt_sig(ty.params(), ty.results());
        let (m, n) = (import.module(), import.name());
        if m == shim::IMPORT_SHIM {
            let Some(expected) = shim::shim_function_type(n) else {
                return Err(crate::plugin::link_error(
                    m,
                    n,
                    &format!(
                        "the core module imports `{m}.{n}`, which the import shim does not provide (it provides {})",
                        list(shim::SHIM_FUNCTIONS.iter().copied())
                    ),
                ));
            };
            if expected != found {
                return Err(ErrorKind::SignatureMismatch {
                    name: format!("{m}.{n} (imported by the core module)"),
                    expected,
                    found,
                }
                .into());
            }
        } else if m == crate::abi::kernel::USER_MODULE {
            let Some(declared) = interface.imports.iter().find(|f| f.name == n) else {
                return Err(crate::plugin::link_error(
                    m,
                    n,
                    &format!(
                        "the core module imports `{n}`, which interface.d.ts does not declare (it declares {})",
                        list(interface.imports.iter().map(|f| f.name.as_str()))
                    ),
                ));
            };
            if declared.wasm_type() != found {
                return Err(ErrorKind::SignatureMismatch {
                    name: format!("{m}.{n}: the core module's import against interface.d.ts"),
                    expected: declared.wasm_type(),
                    found,
                }
                .into());
            }
        }
    }
    Ok(())
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> (u32, u32, String) {
        match Interface::parse(src).map_err(|e| e.kind().clone()) {
            Err(ErrorKind::Interface {
                line,
                column,
                message,
            }) => (line, column, message),
            other => panic!("expected an interface error, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_abis_example() {
        let i = Interface::parse(
            "declare module 'main' {            // what the plugin exports\n  export function greet(): I32;\n}\n\
             declare module 'extism:host' {\n  interface user {\n    myHostFunction1(p: I32, q: I32): I32;\n    myHostFunction2(p: I32): I64;\n  }\n}\n",
        )
        .expect("parses");
        assert_eq!(i.exports(), ["greet"]);
        assert_eq!(i.imports().len(), 2);
        assert_eq!(i.imports()[0].wasm_type(), "(i32, i32) -> (i32)");
        assert_eq!(i.imports()[1].result, Some(IdlType::I64));
    }

    #[test]
    fn exports_are_numbered_in_code_point_order() {
        let i = Interface::parse(
            "declare module \"main\" { export function zeta(): I32\n export function Alpha(): I32; export function beta(): I32 }",
        )
        .expect("parses");
        assert_eq!(i.exports(), ["Alpha", "beta", "zeta"]);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let (line, column, message) =
            err("declare module 'main' {\n  export function greet(): String;\n}");
        assert_eq!((line, column), (2, 28));
        assert!(message.contains("unsupported type `String`"), "{message}");
        let (line, column, _) =
            err("declare module 'main' {\n  export function f(x: I32): I32;\n}");
        assert_eq!((line, column), (2, 21));
        assert!(err("declare module 'other' {}")
            .2
            .contains("unknown module 'other'"));
        assert!(err("/* never closed").2.contains("unterminated"));
        assert!(err("declare module 'main' { export function f(): I32; ")
            .2
            .contains("end of the file"));
        assert!(err("").2.contains("no `declare module 'main'`"));
        assert!(err(
            "declare module 'main' { export function f(): I32; export function f(): I32; }"
        )
        .2
        .contains("declared twice"));
        assert!(err("declare module 'main' {} declare module 'extism:host' { interface user { f(a: I32, b: I32, c: I32, d: I32, e: I32, g: I32): I32; } }").2.contains("more than 5 parameters"));
        assert!(
            err("declare module 'main' {} declare module 'extism:host' { interface env { } }")
                .2
                .contains("unknown interface")
        );
        assert!(err("declare module 'main' { export function f(): I32; } #")
            .2
            .contains("unexpected character"));
        assert!(err("declare module 'ma\\in' {}").2.contains("escapes"));
    }

    proptest::proptest! {
        /// Any text: a parse or a positioned error, never a panic; positions lie in the text.
        #[test]
        fn parse_never_panics(src in "[ -~\n\t{}();:,'\"/*é]{0,300}") {
            if let Err(e) = Interface::parse(&src) {
                let ErrorKind::Interface { line, .. } = e.kind() else {
                    panic!("not an interface error: {e}");
                };
                proptest::prop_assert!(*line as usize <= src.matches('\n').count() + 1);
            }
        }

        /// Mutations of a valid file: the same.
        #[test]
        fn mutated_files_never_panic(cut in 0usize..200, insert in "[ -~]{0,8}") {
            let good = "declare module 'main' { export function a(): I32; }\n\
                declare module 'extism:host' { interface user { f(x: I32, y: PTR): F64; } }";
            let at = (0..=cut.min(good.len())).rev().find(|i| good.is_char_boundary(*i)).unwrap_or(0);
            let src = format!("{}{insert}{}", &good[..at], &good[at..]);
            let _ = Interface::parse(&src);
        }
    }

    #[test]
    fn typescript_declares_exports_and_host_functions() {
        let i = Interface::parse(
            "declare module 'main' { export function greet(): I32; }\n\
             declare module 'extism:host' { interface user { add(a: I32, b: F64): F64; shout(text: PTR): PTR; tick(): void; } }",
        )
        .expect("parses");
        let ts = i.typescript();
        assert!(ts.contains("export type ExportName = \"greet\";"), "{ts}");
        assert!(
            ts.contains("greet(input?: PluginData): Promise<PluginData>;"),
            "{ts}"
        );
        assert!(
            ts.contains("add(a: number, b: number): number | Promise<number>;"),
            "{ts}"
        );
        assert!(
            ts.contains("shout(text: PluginData): PluginData | Promise<PluginData>;"),
            "{ts}"
        );
        assert!(ts.contains("tick(): void | Promise<void>;"), "{ts}");
    }
}
