//! Named structs and enums in the signature language: their declarations
//! (`struct Doc { id: u64, tags: Vec<String> }`, `enum Shape { Circle(f64), Empty }`), how a
//! name in a signature is resolved to one, and how their values look.
//!
//! On the wire they are what serde and bincode 1 make of them: a struct is its fields in
//! order (as a tuple), an enum a `u32` variant index followed by the variant's fields. As
//! values they are what serde_json makes of them: a struct with named fields is an object
//! (a map by field name), a tuple struct a list (a newtype struct its one field, a unit struct
//! null); an enum's unit variant is its name as a string, any other variant
//! `{"Variant": payload}` (externally tagged), the payload as the struct of the same shape.

use super::{Parser, Type, MAX_TYPE_DEPTH};
use crate::error::{DecodeError, Error, ErrorKind};
use crate::value::Value;
use std::fmt;

/// The most type nodes the named types of one signature may expand to: a declaration may use
/// another many times, and each use is a copy.
const MAX_EXPANDED_NODES: usize = 100_000;

/// The fields of a struct or of an enum variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fields {
    /// `struct Unit;`, `Variant`: no fields.
    Unit,
    /// `struct Pair(u32, String);`, `Variant(u32, String)`: fields by position.
    Tuple(Vec<Type>),
    /// `struct Doc { id: u64 }`, `Variant { id: u64 }`: fields by name, in order.
    Named(Vec<(String, Type)>),
}

/// One variant of a named enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    pub fields: Fields,
}

impl Fields {
    /// The field types in wire order.
    pub fn types(&self) -> Vec<&Type> {
        match self {
            Fields::Unit => Vec::new(),
            Fields::Tuple(ts) => ts.iter().collect(),
            Fields::Named(fs) => fs.iter().map(|(_, t)| t).collect(),
        }
    }

    fn is_known(&self) -> bool {
        self.types().into_iter().all(Type::is_known)
    }

    /// The fields' values in wire order, from the value of a struct of these fields (`what`
    /// names it in errors).
    pub(crate) fn values<'v>(
        &self,
        value: &'v Value,
        what: &str,
    ) -> Result<Vec<FieldValue<'v>>, Error> {
        let mismatch = |expected: &str| -> Error {
            ErrorKind::Encode {
                reason: format!("{what}: expected {expected}, found {}", value.shape()),
            }
            .into()
        };
        match self {
            Fields::Unit => match value {
                Value::Null => Ok(Vec::new()),
                Value::List(l) if l.is_empty() => Ok(Vec::new()),
                _ => Err(mismatch("null")),
            },
            // A newtype is its one field (serde's newtype struct).
            Fields::Tuple(ts) if ts.len() == 1 => Ok(vec![FieldValue::Given(value)]),
            Fields::Tuple(ts) => match value {
                Value::List(items) if items.len() == ts.len() => {
                    Ok(items.iter().map(FieldValue::Given).collect())
                }
                _ => Err(mismatch(&format!("a list of {} values", ts.len()))),
            },
            Fields::Named(fields) => match value {
                Value::Map(entries) => {
                    fn key(k: &Value) -> Option<&str> {
                        match k {
                            Value::String(s) => Some(s.as_str()),
                            _ => None,
                        }
                    }
                    if let Some((k, _)) = entries
                        .iter()
                        .find(|(k, _)| key(k).is_none_or(|k| !fields.iter().any(|(f, _)| f == k)))
                    {
                        let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
                        return Err(ErrorKind::Encode {
                            reason: format!(
                                "{what}: unknown field {} (fields: {})",
                                k.to_json(),
                                names.join(", ")
                            ),
                        }
                        .into());
                    }
                    fields
                        .iter()
                        .map(|(name, ty)| {
                            match entries.iter().rev().find(|(k, _)| key(k) == Some(name)) {
                                Some((_, v)) => Ok(FieldValue::Given(v)),
                                // A missing `Option` field is `None`, as serde has it.
                                None if matches!(ty, Type::Option(_)) => Ok(FieldValue::Absent),
                                None => Err(ErrorKind::Encode {
                                    reason: format!("{what}: missing field `{name}`"),
                                }
                                .into()),
                            }
                        })
                        .collect()
                }
                // By position, as serde's derived Deserialize also takes a struct.
                Value::List(items) if items.len() == fields.len() => {
                    Ok(items.iter().map(FieldValue::Given).collect())
                }
                _ => Err(mismatch("an object")),
            },
        }
    }

    /// The value of a struct of these fields from its fields' values in wire order.
    pub(crate) fn value(&self, mut values: Vec<Value>) -> Value {
        match self {
            Fields::Unit => Value::Null,
            Fields::Tuple(ts) if ts.len() == 1 => values.pop().unwrap_or(Value::Null),
            Fields::Tuple(_) => Value::List(values),
            Fields::Named(fields) => Value::Map(
                fields
                    .iter()
                    .map(|(name, _)| Value::String(name.clone()))
                    .zip(values)
                    .collect(),
            ),
        }
    }
}

/// A field's value to encode: given, or an `Option` field left out (`None`).
pub(crate) enum FieldValue<'v> {
    Given(&'v Value),
    Absent,
}

impl FieldValue<'_> {
    pub(crate) fn value(&self) -> &Value {
        match self {
            FieldValue::Given(v) => v,
            FieldValue::Absent => &Value::Null,
        }
    }
}

/// The variant an enum value names, and its payload (`None` for a bare name).
pub(crate) fn enum_variant<'t, 'v>(
    name: &str,
    variants: &'t [Variant],
    value: &'v Value,
) -> Result<(u32, &'t Variant, Option<&'v Value>), Error> {
    let (tag, payload) = match value {
        Value::String(s) => (s.as_str(), None),
        Value::Map(entries) if entries.len() == 1 => match &entries[0] {
            (Value::String(s), v) => (s.as_str(), Some(v)),
            _ => return Err(enum_mismatch(name, value)),
        },
        _ => return Err(enum_mismatch(name, value)),
    };
    let (index, variant) = variants
        .iter()
        .enumerate()
        .find(|(_, v)| v.name == tag)
        .ok_or_else(|| {
            let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
            Error::from(ErrorKind::Encode {
                reason: format!(
                    "`{name}` has no variant `{tag}` (variants: {})",
                    names.join(", ")
                ),
            })
        })?;
    let index = u32::try_from(index).map_err(|_| enum_mismatch(name, value))?;
    match (&variant.fields, payload) {
        // `{"Unit": null}` is the unit variant too.
        (Fields::Unit, None | Some(Value::Null)) => Ok((index, variant, None)),
        (Fields::Unit, Some(_)) => Err(ErrorKind::Encode {
            reason: format!("`{name}::{tag}` has no fields: give it as \"{tag}\""),
        }
        .into()),
        (_, None) => Err(ErrorKind::Encode {
            reason: format!("`{name}::{tag}` has fields: give it as {{\"{tag}\": …}}"),
        }
        .into()),
        (_, Some(p)) => Ok((index, variant, Some(p))),
    }
}

fn enum_mismatch(name: &str, value: &Value) -> Error {
    ErrorKind::Encode {
        reason: format!(
            "expected `{name}` (a variant name, or {{\"Variant\": payload}}), found {}",
            value.shape()
        ),
    }
    .into()
}

/// The value of a decoded enum variant.
pub(crate) fn enum_value(variant: &Variant, payload: Vec<Value>) -> Value {
    match variant.fields {
        Fields::Unit => Value::String(variant.name.clone()),
        _ => Value::Map(vec![(
            Value::String(variant.name.clone()),
            variant.fields.value(payload),
        )]),
    }
}

/// The variant of a decoded tag.
pub(crate) fn variant_of(variants: &[Variant], tag: u32) -> Result<&Variant, Error> {
    usize::try_from(tag)
        .ok()
        .and_then(|i| variants.get(i))
        .ok_or_else(|| {
            DecodeError::InvalidTag {
                what: "enum variant",
                value: u64::from(tag),
            }
            .into()
        })
}

/// One declaration, as written: its names are resolved when a signature uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decl {
    Struct(Fields),
    Enum(Vec<Variant>),
}

/// Named struct and enum declarations that resolve the names a signature uses:
/// `struct Doc { id: u64, tags: Vec<String> }`, `struct Id(u64);`, `struct Marker;`,
/// `enum Shape { Circle(f64), Rect { w: f64, h: f64 }, Empty }`. Declarations may refer to
/// each other in any order, but not to themselves (no recursive types); generics are not
/// supported. `pub`, attributes (`#[derive(…)]`) and `//` comments are skipped, so Rust
/// source can be pasted as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declarations {
    items: Vec<(String, Decl)>,
}

impl Declarations {
    /// Parses declarations only.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) on malformed syntax, a name declared
    /// twice, a recursive declaration or a name that is neither declared nor known.
    pub fn parse(text: &str) -> Result<Declarations, Error> {
        let text = strip_comments(text);
        let mut p = Parser::new(&text);
        let decls = Self::parse_leading(&mut p)?;
        p.expect_end()?;
        decls.check()?;
        Ok(decls)
    }

    /// The names declared, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(n, _)| n.as_str())
    }

    /// `true` if nothing is declared.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds the declarations of `other`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) if a name is declared in both.
    pub fn extend(&mut self, other: Declarations) -> Result<(), Error> {
        for (name, decl) in other.items {
            if self.items.iter().any(|(n, _)| *n == name) {
                return Err(mismatch(format!("`{name}` is declared twice")));
            }
            self.items.push((name, decl));
        }
        Ok(())
    }

    /// `ty` with every name these declarations declare replaced by its structure; other
    /// names stay [`Type::Opaque`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](crate::ErrorKind::Decode) on a recursive declaration or one that
    /// expands too far.
    pub fn resolve(&self, ty: &Type) -> Result<Type, Error> {
        let mut budget = MAX_EXPANDED_NODES;
        self.resolve_in(ty, &mut Vec::new(), &mut budget)
    }

    /// `sig` with its names resolved (see [`Declarations::resolve`]).
    ///
    /// # Errors
    ///
    /// As [`Declarations::resolve`].
    pub fn resolve_signature(&self, sig: &super::Signature) -> Result<super::Signature, Error> {
        Ok(super::Signature {
            params: sig
                .params
                .iter()
                .map(|t| self.resolve(t))
                .collect::<Result<_, _>>()?,
            returns: self.resolve(&sig.returns)?,
        })
    }

    /// Declarations at the start of a text; stops before anything that is not one.
    pub(super) fn parse_leading(p: &mut Parser<'_>) -> Result<Declarations, Error> {
        let mut decls = Declarations::default();
        loop {
            skip_attributes_and_pub(p)?;
            let Some(keyword) = p.peek_word() else {
                break;
            };
            let is_struct = match keyword.as_str() {
                "struct" => true,
                "enum" => false,
                _ => break,
            };
            p.ident()?;
            let name = p.ident()?;
            if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                return Err(p.err(&format!("`{name}` is not a type name")));
            }
            if p.peek_is('<') {
                return Err(p.err(&format!("generic type `{name}` is not supported")));
            }
            let decl = if is_struct {
                let fields = fields(p)?;
                if !matches!(fields, Fields::Named(_)) && !p.peek_is(';') && p.peek().is_some() {
                    return Err(p.err("expected `;` after the struct"));
                }
                Decl::Struct(fields)
            } else {
                Decl::Enum(variants(p)?)
            };
            if p.peek_is(';') {
                p.eat(';')?;
            }
            let mut one = Declarations::default();
            one.items.push((name, decl));
            decls.extend(one)?;
        }
        Ok(decls)
    }

    /// Every name the declarations use is declared or a known type, and none is recursive.
    pub(super) fn check(&self) -> Result<(), Error> {
        for (name, _) in &self.items {
            let resolved = self.resolve(&Type::Opaque(name.clone()))?;
            if let Some(unknown) = first_opaque(&resolved) {
                return Err(mismatch(format!(
                    "`{name}` uses `{unknown}`, which is not declared"
                )));
            }
        }
        Ok(())
    }

    fn resolve_in(
        &self,
        ty: &Type,
        stack: &mut Vec<String>,
        budget: &mut usize,
    ) -> Result<Type, Error> {
        *budget = budget
            .checked_sub(1)
            .ok_or_else(|| mismatch("the declared types expand too far".to_owned()))?;
        if stack.len() > MAX_TYPE_DEPTH as usize {
            return Err(DecodeError::DepthLimit {
                max: MAX_TYPE_DEPTH,
            }
            .into());
        }
        let mut go = |t: &Type| self.resolve_in(t, stack, budget);
        Ok(match ty {
            Type::Opaque(name) => {
                let Some((_, decl)) = self.items.iter().find(|(n, _)| n == name) else {
                    return Ok(ty.clone());
                };
                if stack.contains(name) {
                    return Err(mismatch(format!(
                        "`{name}` contains itself ({} → {name}): recursive types are not supported",
                        stack.join(" → ")
                    )));
                }
                stack.push(name.clone());
                let resolved = match decl {
                    Decl::Struct(f) => Type::Struct {
                        name: name.clone(),
                        fields: self.resolve_fields(f, stack, budget)?,
                    },
                    Decl::Enum(vs) => Type::Enum {
                        name: name.clone(),
                        variants: vs
                            .iter()
                            .map(|v| {
                                Ok(Variant {
                                    name: v.name.clone(),
                                    fields: self.resolve_fields(&v.fields, stack, budget)?,
                                })
                            })
                            .collect::<Result<_, Error>>()?,
                    },
                };
                stack.pop();
                resolved
            }
            Type::List(t) => Type::List(Box::new(go(t)?)),
            Type::Array(t, n) => Type::Array(Box::new(go(t)?), *n),
            Type::Option(t) => Type::Option(Box::new(go(t)?)),
            Type::Tuple(ts) => Type::Tuple(ts.iter().map(&mut go).collect::<Result<_, _>>()?),
            Type::Result(a, b) => Type::Result(Box::new(go(a)?), Box::new(go(b)?)),
            Type::Map(a, b) => Type::Map(Box::new(go(a)?), Box::new(go(b)?)),
            Type::Struct { name, fields } => Type::Struct {
                name: name.clone(),
                fields: self.resolve_fields(fields, stack, budget)?,
            },
            Type::Enum { name, variants } => Type::Enum {
                name: name.clone(),
                variants: variants
                    .iter()
                    .map(|v| {
                        Ok(Variant {
                            name: v.name.clone(),
                            fields: self.resolve_fields(&v.fields, stack, budget)?,
                        })
                    })
                    .collect::<Result<_, Error>>()?,
            },
            other => other.clone(),
        })
    }

    fn resolve_fields(
        &self,
        fields: &Fields,
        stack: &mut Vec<String>,
        budget: &mut usize,
    ) -> Result<Fields, Error> {
        Ok(match fields {
            Fields::Unit => Fields::Unit,
            Fields::Tuple(ts) => Fields::Tuple(
                ts.iter()
                    .map(|t| self.resolve_in(t, stack, budget))
                    .collect::<Result<_, _>>()?,
            ),
            Fields::Named(fs) => Fields::Named(
                fs.iter()
                    .map(|(n, t)| Ok((n.clone(), self.resolve_in(t, stack, budget)?)))
                    .collect::<Result<_, Error>>()?,
            ),
        })
    }
}

fn mismatch(reason: String) -> Error {
    DecodeError::Mismatch { reason }.into()
}

/// The first name in `ty` whose structure is unknown.
pub(super) fn first_opaque(ty: &Type) -> Option<&str> {
    match ty {
        Type::Opaque(n) => Some(n),
        Type::List(t) | Type::Array(t, _) | Type::Option(t) => first_opaque(t),
        Type::Tuple(ts) => ts.iter().find_map(first_opaque),
        Type::Result(a, b) | Type::Map(a, b) => first_opaque(a).or_else(|| first_opaque(b)),
        Type::Struct { fields, .. } => fields.types().into_iter().find_map(first_opaque),
        Type::Enum { variants, .. } => variants
            .iter()
            .find_map(|v| v.fields.types().into_iter().find_map(first_opaque)),
        _ => None,
    }
}

/// `true` if the struct or every variant has known field types.
pub(super) fn fields_known(fields: &Fields) -> bool {
    fields.is_known()
}

/// The text with `//` comments blanked (same length, so columns in errors stay right).
pub(super) fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => format!("{}{}", &line[..i], " ".repeat(line.len() - i)),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Skips `#[…]` attributes and a `pub` or `pub(…)` visibility.
fn skip_attributes_and_pub(p: &mut Parser<'_>) -> Result<(), Error> {
    loop {
        if p.peek_is('#') {
            p.eat('#')?;
            p.eat('[')?;
            let mut depth = 1u32;
            while depth > 0 {
                match p.next_char() {
                    Some('[') => depth += 1,
                    Some(']') => depth -= 1,
                    Some(_) => {}
                    None => return Err(p.err("unclosed attribute")),
                }
            }
        } else if p.peek_word().as_deref() == Some("pub") {
            p.ident()?;
            if p.peek_is('(') {
                p.eat('(')?;
                while !p.peek_is(')') {
                    if p.next_char().is_none() {
                        return Err(p.err("unclosed visibility"));
                    }
                }
                p.eat(')')?;
            }
        } else {
            return Ok(());
        }
    }
}

/// `{ a: A, … }`, `(A, …)` or nothing.
fn fields(p: &mut Parser<'_>) -> Result<Fields, Error> {
    if p.peek_is('{') {
        p.eat('{')?;
        let mut out: Vec<(String, Type)> = Vec::new();
        loop {
            skip_attributes_and_pub(p)?;
            if p.peek_is('}') {
                break;
            }
            let name = p.ident()?;
            if out.iter().any(|(n, _)| *n == name) {
                return Err(p.err(&format!("field `{name}` is declared twice")));
            }
            p.eat(':')?;
            out.push((name, p.ty(1)?));
            if !p.peek_is('}') {
                p.eat(',')?;
            }
        }
        p.eat('}')?;
        Ok(Fields::Named(out))
    } else if p.peek_is('(') {
        p.eat('(')?;
        let mut out = Vec::new();
        loop {
            skip_attributes_and_pub(p)?;
            if p.peek_is(')') {
                break;
            }
            out.push(p.ty(1)?);
            if !p.peek_is(')') {
                p.eat(',')?;
            }
        }
        p.eat(')')?;
        Ok(if out.is_empty() {
            Fields::Unit
        } else {
            Fields::Tuple(out)
        })
    } else {
        Ok(Fields::Unit)
    }
}

/// `{ A, B(…), C { … }, … }`.
fn variants(p: &mut Parser<'_>) -> Result<Vec<Variant>, Error> {
    p.eat('{')?;
    let mut out: Vec<Variant> = Vec::new();
    loop {
        skip_attributes_and_pub(p)?;
        if p.peek_is('}') {
            break;
        }
        let name = p.ident()?;
        if out.iter().any(|v| v.name == name) {
            return Err(p.err(&format!("variant `{name}` is declared twice")));
        }
        let fields = fields(p)?;
        if p.peek_is('=') {
            return Err(p.err(
                "explicit discriminants are not supported (bincode numbers variants in order)",
            ));
        }
        out.push(Variant { name, fields });
        if !p.peek_is('}') {
            p.eat(',')?;
        }
    }
    p.eat('}')?;
    if out.is_empty() {
        return Err(p.err("an enum without variants has no values"));
    }
    Ok(out)
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fields::Unit => Ok(()),
            Fields::Tuple(ts) => {
                f.write_str("(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            Fields::Named(fs) => {
                f.write_str(" { ")?;
                for (i, (n, t)) in fs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {t}")?;
                }
                f.write_str(" }")
            }
        }
    }
}
