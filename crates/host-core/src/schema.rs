//! [`Type`]: the shape of a value where the wire format does not describe itself.
//!
//! Types come from three places: typed Rust closures (implicit, through serde), an explicit
//! [`Signature`] given with a dynamic host function, or the `plugboard.signatures` custom section
//! that the guest SDK's `#[export]`/`#[import]` embed, which holds Rust type syntax
//! (`double(x: Vec<f64>) -> Vec<f64>`). [`Type::parse`] reads that syntax; [`Signature::parse`]
//! also reads named struct and enum declarations before the signature ([`Declarations`]), the
//! language docs/signatures.md describes.

use crate::error::{DecodeError, Error};
use std::fmt;

mod named;

pub(crate) use named::{enum_value, enum_variant, variant_of};
pub use named::{Declarations, Fields, Variant};

/// Nesting limit for types parsed from plugin-supplied text.
const MAX_TYPE_DEPTH: u32 = 32;

/// The shape of a value on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Type {
    Unit,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Char,
    String,
    /// A variable-length sequence (`Vec<T>`, `&[T]`).
    List(Box<Type>),
    /// A fixed-length array `[T; N]`: no length prefix on the wire.
    Array(Box<Type>, usize),
    Tuple(Vec<Type>),
    Option(Box<Type>),
    /// `Result<T, E>`: the enum `{Ok(T), Err(E)}`.
    Result(Box<Type>, Box<Type>),
    Map(Box<Type>, Box<Type>),
    /// A named struct ([`Declarations`]): on the wire its fields in order, as a tuple; as a
    /// value an object by field name (a tuple struct a list, a newtype its field, a unit
    /// struct null).
    Struct {
        name: String,
        fields: Fields,
    },
    /// A named enum ([`Declarations`]): on the wire a `u32` variant index, then the variant's
    /// fields; as a value a unit variant's name, else `{"Variant": payload}`.
    Enum {
        name: String,
        variants: Vec<Variant>,
    },
    /// A type named in a signature whose structure is unknown to the host.
    Opaque(String),
}

/// The parameter and return types of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<Type>,
    pub returns: Type,
}

impl Signature {
    /// A signature from parameter types and a return type.
    pub fn new(params: impl Into<Vec<Type>>, returns: Type) -> Self {
        Self {
            params: params.into(),
            returns,
        }
    }

    /// Parses `(A, B) -> R` (Rust type syntax; `-> R` may be left out for `()`), as a caller
    /// gives the types of a plugin that embeds none. Named structs and enums may be declared
    /// first and used in it: `struct Doc { id: u64, tags: Vec<String> } (Doc) -> u64`
    /// (see [`Declarations`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) on malformed syntax.
    pub fn parse(text: &str) -> Result<Signature, Error> {
        let stripped = named::strip_comments(text);
        let mut p = Parser::new(&stripped);
        let decls = Declarations::parse_leading(&mut p)?;
        p.skip_ws();
        let rest = stripped.get(p.pos..).unwrap_or("");
        let sig = Self::parse_bare(rest)?;
        if decls.is_empty() {
            return Ok(sig);
        }
        decls.check()?;
        decls.resolve_signature(&sig)
    }

    fn parse_bare(text: &str) -> Result<Signature, Error> {
        let bad = |why: &str| -> Error {
            DecodeError::Mismatch {
                reason: format!("signature `{text}`: {why}"),
            }
            .into()
        };
        let text = text.trim();
        let rest = text
            .strip_prefix('(')
            .ok_or_else(|| bad("expected `(` before the parameter types"))?;
        // The parameter list ends at the `)` that closes the first `(`.
        let mut depth = 0i32;
        let mut close = None;
        for (i, c) in rest.char_indices() {
            match c {
                '(' | '<' | '[' => depth += 1,
                ')' if depth == 0 => {
                    close = Some(i);
                    break;
                }
                ')' | '>' | ']' => depth -= 1,
                _ => {}
            }
        }
        let close = close.ok_or_else(|| bad("unclosed parameter list"))?;
        let (params_text, after) = (&rest[..close], rest[close + 1..].trim());
        let mut params = Vec::new();
        let mut depth = 0i32;
        let mut start = 0usize;
        for (i, c) in params_text.char_indices() {
            match c {
                '(' | '<' | '[' => depth += 1,
                ')' | '>' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    params.push(Type::parse(params_text[start..i].trim())?);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if !params_text[start..].trim().is_empty() {
            params.push(Type::parse(params_text[start..].trim())?);
        }
        let returns = match after.strip_prefix("->") {
            Some(r) => Type::parse(r.trim())?,
            None if after.is_empty() => Type::Unit,
            None => return Err(bad("expected `-> R` after the parameters")),
        };
        Ok(Signature { params, returns })
    }

    /// The type of the argument payload: `()` for none, `T` for one, a tuple for several
    /// (the buffer ABI's convention).
    pub fn args_type(&self) -> Type {
        match self.params.as_slice() {
            [] => Type::Unit,
            [one] => one.clone(),
            many => Type::Tuple(many.to_vec()),
        }
    }
}

/// One entry of a plugin's embedded signature section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSignature {
    /// `export` or `import`.
    pub direction: Direction,
    pub name: String,
    pub param_names: Vec<String>,
    pub signature: Signature,
}

/// Whether a function is provided by the plugin or required from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Export,
    Import,
}

impl Type {
    /// Parses Rust type syntax: primitives, `String`/`&str`, `Vec<T>`, `&[T]`, `[T; N]`, tuples,
    /// `Option`, `Result`, `HashMap`/`BTreeMap`, `Box<T>`; any other path is [`Type::Opaque`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) on malformed or too deeply nested syntax.
    pub fn parse(text: &str) -> Result<Type, Error> {
        let mut p = Parser::new(text);
        let ty = p.ty(0)?;
        p.expect_end()?;
        Ok(ty)
    }

    /// `true` if the type (and everything inside it) can be encoded without more information.
    pub fn is_known(&self) -> bool {
        match self {
            Type::Opaque(_) => false,
            Type::Struct { fields, .. } => named::fields_known(fields),
            Type::Enum { variants, .. } => variants.iter().all(|v| named::fields_known(&v.fields)),
            Type::List(t) | Type::Array(t, _) | Type::Option(t) => t.is_known(),
            Type::Tuple(ts) => ts.iter().all(Type::is_known),
            Type::Result(a, b) | Type::Map(a, b) => a.is_known() && b.is_known(),
            _ => true,
        }
    }
}

impl FunctionSignature {
    /// Parses every entry of a `plugboard.signatures` section: one per line,
    /// `export name(a: A, b: B) -> R` or `import name(a: A) -> R`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) naming the first malformed line.
    pub fn parse_section(section: &[u8]) -> Result<Vec<FunctionSignature>, Error> {
        let text = std::str::from_utf8(section).map_err(|_| DecodeError::InvalidUtf8)?;
        text.split(['\n', '\0'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                Self::parse_line(line).map_err(|e| {
                    DecodeError::Mismatch {
                        reason: format!("signature `{line}`: {e}"),
                    }
                    .into()
                })
            })
            .collect()
    }

    fn parse_line(line: &str) -> Result<FunctionSignature, Error> {
        let mut p = Parser::new(line);
        let direction = match p.ident()?.as_str() {
            "export" => Direction::Export,
            "import" => Direction::Import,
            other => return Err(p.err(&format!("expected export or import, found `{other}`"))),
        };
        let name = p.ident()?;
        p.eat('(')?;
        let mut param_names = Vec::new();
        let mut params = Vec::new();
        while !p.peek_is(')') {
            param_names.push(p.ident()?);
            p.eat(':')?;
            params.push(p.ty(0)?);
            if !p.peek_is(')') {
                p.eat(',')?;
            }
        }
        p.eat(')')?;
        let returns = if p.peek_is('-') {
            p.eat('-')?;
            p.eat('>')?;
            p.ty(0)?
        } else {
            Type::Unit
        };
        p.expect_end()?;
        Ok(FunctionSignature {
            direction,
            name,
            param_names,
            signature: Signature { params, returns },
        })
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    fn err(&self, msg: &str) -> Error {
        DecodeError::Mismatch {
            reason: format!("{msg} at column {}", self.pos + 1),
        }
        .into()
    }

    fn skip_ws(&mut self) {
        let rest = self.s.get(self.pos..).unwrap_or("");
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.s.get(self.pos..).and_then(|r| r.chars().next())
    }

    fn peek_is(&mut self, c: char) -> bool {
        self.peek() == Some(c)
    }

    /// The word (identifier) ahead, not consumed.
    fn peek_word(&mut self) -> Option<String> {
        let save = self.pos;
        let word = self.ident().ok();
        self.pos = save;
        word
    }

    /// The next character, whitespace included, consumed.
    fn next_char(&mut self) -> Option<char> {
        let c = self.s.get(self.pos..).and_then(|r| r.chars().next())?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> Result<(), Error> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}`")))
        }
    }

    fn expect_end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.err(&format!("unexpected `{c}`"))),
        }
    }

    fn ident(&mut self) -> Result<String, Error> {
        self.skip_ws();
        let rest = self.s.get(self.pos..).unwrap_or("");
        let len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return Err(self.err("expected a name"));
        }
        self.pos += len;
        Ok(rest.get(..len).unwrap_or("").to_owned())
    }

    /// A path like `std::collections::HashMap`; returns its last segment.
    fn path(&mut self) -> Result<String, Error> {
        let mut last = self.ident()?;
        loop {
            self.skip_ws();
            if self.s.get(self.pos..).is_some_and(|r| r.starts_with("::")) {
                self.pos += 2;
                last = self.ident()?;
            } else {
                return Ok(last);
            }
        }
    }

    fn generics(&mut self, depth: u32, n: usize) -> Result<Vec<Type>, Error> {
        self.eat('<')?;
        let mut out = Vec::new();
        loop {
            out.push(self.ty(depth + 1)?);
            if self.peek_is(',') {
                self.eat(',')?;
                if self.peek_is('>') {
                    break;
                }
            } else {
                break;
            }
        }
        self.eat('>')?;
        if out.len() != n {
            return Err(self.err(&format!("expected {n} type arguments, found {}", out.len())));
        }
        Ok(out)
    }

    fn one_generic(&mut self, depth: u32) -> Result<Box<Type>, Error> {
        let mut g = self.generics(depth, 1)?;
        g.pop()
            .map(Box::new)
            .ok_or_else(|| self.err("missing type argument"))
    }

    fn ty(&mut self, depth: u32) -> Result<Type, Error> {
        if depth > MAX_TYPE_DEPTH {
            return Err(DecodeError::DepthLimit {
                max: MAX_TYPE_DEPTH,
            }
            .into());
        }
        match self.peek() {
            Some('&') => {
                self.eat('&')?;
                self.skip_ws();
                if self.peek_is('\'') {
                    self.eat('\'')?;
                    self.ident()?;
                }
                self.skip_ws();
                if self
                    .s
                    .get(self.pos..)
                    .is_some_and(|r| r.starts_with("mut "))
                {
                    self.pos += 4;
                }
                self.ty(depth + 1)
            }
            Some('(') => {
                self.eat('(')?;
                let mut items = Vec::new();
                let mut trailing_comma = false;
                while !self.peek_is(')') {
                    items.push(self.ty(depth + 1)?);
                    trailing_comma = false;
                    if !self.peek_is(')') {
                        self.eat(',')?;
                        trailing_comma = true;
                    }
                }
                self.eat(')')?;
                Ok(match items.len() {
                    0 => Type::Unit,
                    1 if !trailing_comma => items.pop().unwrap_or(Type::Unit),
                    _ => Type::Tuple(items),
                })
            }
            Some('[') => {
                self.eat('[')?;
                let elem = Box::new(self.ty(depth + 1)?);
                if self.peek_is(';') {
                    self.eat(';')?;
                    self.skip_ws();
                    let rest = self.s.get(self.pos..).unwrap_or("");
                    let digits = rest.chars().take_while(char::is_ascii_digit).count();
                    let n: usize = rest
                        .get(..digits)
                        .and_then(|d| d.parse().ok())
                        .ok_or_else(|| self.err("expected an array length"))?;
                    self.pos += digits;
                    self.eat(']')?;
                    Ok(Type::Array(elem, n))
                } else {
                    self.eat(']')?;
                    Ok(Type::List(elem))
                }
            }
            Some(_) => {
                let name = self.path()?;
                Ok(match name.as_str() {
                    "bool" => Type::Bool,
                    "i8" => Type::I8,
                    "i16" => Type::I16,
                    "i32" | "isize" => Type::I32,
                    "i64" => Type::I64,
                    "u8" => Type::U8,
                    "u16" => Type::U16,
                    "u32" | "usize" => Type::U32,
                    "u64" => Type::U64,
                    "f32" => Type::F32,
                    "f64" => Type::F64,
                    "char" => Type::Char,
                    "str" | "String" => Type::String,
                    "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => {
                        Type::List(self.one_generic(depth)?)
                    }
                    "Option" => Type::Option(self.one_generic(depth)?),
                    "Box" | "Rc" | "Arc" => *self.one_generic(depth)?,
                    "Result" => {
                        let mut g = self.generics(depth, 2)?.into_iter();
                        match (g.next(), g.next()) {
                            (Some(t), Some(e)) => Type::Result(Box::new(t), Box::new(e)),
                            _ => return Err(self.err("expected Result<T, E>")),
                        }
                    }
                    "HashMap" | "BTreeMap" => {
                        let mut g = self.generics(depth, 2)?.into_iter();
                        match (g.next(), g.next()) {
                            (Some(k), Some(v)) => Type::Map(Box::new(k), Box::new(v)),
                            _ => return Err(self.err("expected a map with key and value")),
                        }
                    }
                    _ => {
                        if self.peek_is('<') {
                            return Err(
                                self.err(&format!("generic type `{name}` is not supported"))
                            );
                        }
                        Type::Opaque(name)
                    }
                })
            }
            None => Err(self.err("expected a type")),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Unit => f.write_str("()"),
            Type::Bool => f.write_str("bool"),
            Type::I8 => f.write_str("i8"),
            Type::I16 => f.write_str("i16"),
            Type::I32 => f.write_str("i32"),
            Type::I64 => f.write_str("i64"),
            Type::U8 => f.write_str("u8"),
            Type::U16 => f.write_str("u16"),
            Type::U32 => f.write_str("u32"),
            Type::U64 => f.write_str("u64"),
            Type::F32 => f.write_str("f32"),
            Type::F64 => f.write_str("f64"),
            Type::Char => f.write_str("char"),
            Type::String => f.write_str("String"),
            Type::List(t) => write!(f, "Vec<{t}>"),
            Type::Array(t, n) => write!(f, "[{t}; {n}]"),
            Type::Tuple(ts) => {
                f.write_str("(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                if ts.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Type::Option(t) => write!(f, "Option<{t}>"),
            Type::Result(t, e) => write!(f, "Result<{t}, {e}>"),
            Type::Map(k, v) => write!(f, "HashMap<{k}, {v}>"),
            Type::Struct { name, .. } | Type::Enum { name, .. } | Type::Opaque(name) => {
                f.write_str(name)
            }
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, t) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}")?;
        }
        write!(f, ") -> {}", self.returns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rust_type_syntax() {
        let t = Type::parse("Vec < Option < (u32 , String) > >").unwrap();
        assert_eq!(
            t,
            Type::List(Box::new(Type::Option(Box::new(Type::Tuple(vec![
                Type::U32,
                Type::String
            ])))))
        );
        assert_eq!(Type::parse("&'static str").unwrap(), Type::String);
        assert_eq!(
            Type::parse("[u8; 4]").unwrap(),
            Type::Array(Box::new(Type::U8), 4)
        );
        assert_eq!(
            Type::parse("std::collections::HashMap<String, i64>")
                .unwrap()
                .to_string(),
            "HashMap<String, i64>"
        );
        assert_eq!(
            Type::parse("MyStruct").unwrap(),
            Type::Opaque("MyStruct".into())
        );
        assert_eq!(Type::parse("(u8,)").unwrap(), Type::Tuple(vec![Type::U8]));
    }

    #[test]
    fn rejects_malformed_and_deep_types() {
        assert!(Type::parse("Vec<").is_err());
        assert!(Type::parse("Foo<u8>").is_err());
        assert!(Type::parse("u8 u8").is_err());
        let deep = format!("{}u8{}", "Vec<".repeat(1000), ">".repeat(1000));
        assert!(Type::parse(&deep).is_err());
    }

    #[test]
    fn parses_signature_section() {
        let sec = b"export double(x: Vec<f64>) -> Vec<f64>\nimport run(command: String) -> Vec<u8>\nexport noop()\n";
        let sigs = FunctionSignature::parse_section(sec).unwrap();
        assert_eq!(sigs.len(), 3);
        assert_eq!(sigs[0].name, "double");
        assert_eq!(sigs[1].direction, Direction::Import);
        assert_eq!(sigs[2].signature, Signature::new(vec![], Type::Unit));
        assert!(FunctionSignature::parse_section(b"export f(x u8)").is_err());
    }

    #[test]
    fn signatures_parse_from_text() {
        let s = Signature::parse("(u32, Vec<(String, u8)>, HashMap<String, i64>) -> Option<u8>")
            .unwrap();
        assert_eq!(s.params.len(), 3);
        assert_eq!(
            s.to_string(),
            "(u32, Vec<(String, u8)>, HashMap<String, i64>) -> Option<u8>"
        );
        assert_eq!(Signature::parse("()").unwrap().returns, Type::Unit);
        assert!(Signature::parse("u32 -> u32").is_err());
        assert!(Signature::parse("(u32 -> u32").is_err());
        assert!(Signature::parse("(u32) u32").is_err());
    }

    /// Named types, encoded by the host, are the bytes bincode 1 writes for the Rust types
    /// they declare, and decode back to the values serde_json would show.
    #[test]
    fn named_structs_and_enums_encode_as_bincode_does() {
        use serde::Serialize;
        #[derive(Serialize)]
        struct Doc {
            id: u64,
            tags: Vec<String>,
            note: Option<String>,
        }
        #[derive(Serialize)]
        struct Id(u64);
        #[derive(Serialize)]
        struct Pair(u8, i16);
        #[derive(Serialize)]
        #[allow(dead_code)]
        enum Shape {
            Circle(f64),
            Rect { w: f32, h: f32 },
            Line(i8, i8),
            Empty,
        }
        #[derive(Serialize)]
        struct All {
            doc: Doc,
            id: Id,
            pair: Pair,
            shapes: Vec<Shape>,
        }
        let sig = Signature::parse(
            "// Rust source, pasted\n\
             #[derive(Serialize)]\n\
             pub struct All { pub doc: Doc, id: Id, pair: Pair, shapes: Vec<Shape> }\n\
             struct Doc { id: u64, tags: Vec<String>, note: Option<String> }\n\
             struct Id(u64);\n\
             struct Pair(u8, i16);\n\
             enum Shape { Circle(f64), Rect { w: f32, h: f32 }, Line(i8, i8), Empty }\n\
             (All) -> Shape",
        )
        .unwrap();
        let json = r#"{"doc":{"id":7,"tags":["a","b"]},"id":9,"pair":[1,-2],
            "shapes":[{"Circle":1.5},{"Rect":{"w":2.0,"h":3.0}},{"Line":[1,-1]},"Empty"]}"#;
        let value = crate::Value::from_json(json).unwrap();
        let ours = crate::encode_value(&value, &sig.params[0]).unwrap();
        let theirs = ::bincode::serialize(&All {
            doc: Doc {
                id: 7,
                tags: vec!["a".into(), "b".into()],
                note: None,
            },
            id: Id(9),
            pair: Pair(1, -2),
            shapes: vec![
                Shape::Circle(1.5),
                Shape::Rect { w: 2.0, h: 3.0 },
                Shape::Line(1, -1),
                Shape::Empty,
            ],
        })
        .unwrap();
        assert_eq!(ours, theirs);
        let back = crate::decode_value(&ours, &sig.params[0]).unwrap();
        assert_eq!(
            back.to_json(),
            r#"{"doc":{"id":7,"tags":["a","b"],"note":null},"id":9,"pair":[1,-2],"shapes":[{"Circle":1.5},{"Rect":{"w":2.0,"h":3.0}}"#
                .to_owned()
                + r#",{"Line":[1,-1]},"Empty"]}"#
        );
        // The return type: an enum of its own.
        let empty = ::bincode::serialize(&Shape::Empty).unwrap();
        assert_eq!(
            crate::decode_value(&empty, &sig.returns).unwrap().to_json(),
            "\"Empty\""
        );
        assert_eq!(sig.to_string(), "(All) -> Shape");
    }

    #[test]
    fn named_values_that_do_not_fit_are_encode_errors() {
        let sig =
            Signature::parse("struct P { x: i32, y: i32 } enum E { A, B(u8) } (P, E)").unwrap();
        let enc = |json: &str, ty: &Type| {
            crate::encode_value(&crate::Value::from_json(json).unwrap(), ty)
                .unwrap_err()
                .to_string()
        };
        let (p, e) = (&sig.params[0], &sig.params[1]);
        assert!(enc(r#"{"x":1}"#, p).contains("missing field `y`"));
        assert!(enc(r#"{"x":1,"y":2,"z":3}"#, p).contains("unknown field \"z\""));
        assert!(enc("3", p).contains("expected an object"));
        assert!(enc(r#""C""#, e).contains("no variant `C` (variants: A, B)"));
        assert!(enc(r#""B""#, e).contains("has fields"));
        assert!(enc(r#"{"A":1}"#, e).contains("has no fields"));
        assert!(enc(r#"{"A":null,"B":1}"#, e).contains("expected `E`"));
        // Positional structs and `{"A": null}` are accepted, as serde accepts them.
        assert_eq!(
            crate::encode_value(&crate::Value::from_json("[1, 2]").unwrap(), p).unwrap(),
            [1, 0, 0, 0, 2, 0, 0, 0]
        );
        assert_eq!(
            crate::encode_value(&crate::Value::from_json(r#"{"A":null}"#).unwrap(), e).unwrap(),
            [0, 0, 0, 0]
        );
        // A variant index past the last one is malformed data.
        assert!(crate::decode_value(&[2, 0, 0, 0], e).is_err());
    }

    #[test]
    fn declarations_reject_what_they_cannot_mean() {
        for (text, needle) in [
            ("struct A { b: B } struct B { a: A } (A)", "recursive"),
            ("struct T { kids: Vec<T> } (T)", "recursive"),
            (
                "struct A { x: u8 } struct A { y: u8 } (A)",
                "declared twice",
            ),
            (
                "struct A { x: u8, x: u8 } (A)",
                "field `x` is declared twice",
            ),
            ("enum E { A, A } (E)", "variant `A` is declared twice"),
            ("enum E {} (E)", "without variants"),
            ("enum E { A = 1 } (E)", "discriminants"),
            ("struct G<T> { x: T } (G)", "generic"),
            ("struct A { x: Missing } (A)", "`A` uses `Missing`"),
            ("struct A { x: u8 (A)", "expected"),
            ("struct P(u8) (P)", "expected `;`"),
        ] {
            let e = Signature::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        // Exponential expansion is cut off, not attempted.
        let mut text = String::from("struct T0 { x: u8 }\n");
        for i in 1..40 {
            text.push_str(&format!("struct T{i} {{ a: T{}, b: T{} }}\n", i - 1, i - 1));
        }
        text.push_str("(T39)");
        assert!(Signature::parse(&text)
            .unwrap_err()
            .to_string()
            .contains("expand too far"));
    }

    #[test]
    fn declarations_resolve_names_of_embedded_signatures() {
        let decls =
            Declarations::parse("struct Doc { id: u64 }\nenum Level { Low, High }\nstruct Unit;")
                .unwrap();
        assert_eq!(decls.names().collect::<Vec<_>>(), ["Doc", "Level", "Unit"]);
        let embedded = Signature::parse("(Vec<Doc>, Option<Level>, Other) -> Unit").unwrap();
        assert!(!embedded.params[0].is_known());
        let resolved = decls.resolve_signature(&embedded).unwrap();
        assert!(resolved.params[0].is_known() && resolved.params[1].is_known());
        // Names not declared stay opaque.
        assert_eq!(resolved.params[2], Type::Opaque("Other".into()));
        assert!(
            matches!(resolved.returns, Type::Struct { ref fields, .. } if *fields == Fields::Unit)
        );
        assert!(Declarations::parse("struct A { x: u8 } (A)").is_err());
        let mut more = decls.clone();
        assert!(more
            .extend(Declarations::parse("struct Doc;").unwrap())
            .is_err());
    }
}
