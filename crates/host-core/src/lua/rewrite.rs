//! Operators piccolo 0.3.3 gets wrong or dangerous, rewritten into calls of our functions
//! before piccolo compiles a source (parsed with full_moon, Lua 5.4):
//!
//! - `a .. b` → `__pb_concat(a, b)`: piccolo concatenates with no size limit and no fuel per
//!   byte, so `s = s .. s` forty times asks for a terabyte in one VM step, between two memory
//!   checks (RELIABILITY.md LUA-R6). Ours checks the size against the memory cap first.
//! - `a // b` → `__pb_idiv(a, b)`: piccolo truncates integer division (`-7 // 2` is -3; Lua
//!   says -4).
//! - `a % b` → `__pb_mod(a, b)`: piccolo panics on `math.mininteger % -1` (LUA-05).
//! - `a << b`, `a >> b` → `__pb_shl`, `__pb_shr`: piccolo panics (debug) or wraps the count
//!   (release) on shifts of 64 or more (LUA-07).
//! - `a & b`, `a | b`, `a ~ b`, `~a` → `__pb_band`, `__pb_bor`, `__pb_bxor`, `__pb_bnot`:
//!   piccolo converts a string operand with an out-of-bounds index when it is `""`, `"-"`,
//!   `"0"` or `"-0"` (a panic in the compiler's constant folding and in the VM; found by the
//!   `lua_ast` fuzz target).
//! - `a, b = b, a` → `do local __pb_1, __pb_2 = b, a a = __pb_1 b = __pb_2 end`: piccolo
//!   assigns the targets one after the other, so a swap gives `2, 2`; Lua evaluates every
//!   expression before assigning. (A first pass, before the operators.)
//!
//! The rewrite only inserts text on the same lines, so line numbers in errors stay the
//! source's.

use crate::error::{Error, ErrorKind};
use full_moon::ast::{Assignment, BinOp, Expression};
use full_moon::node::Node;
use full_moon::visitors::Visitor;

/// The globals the rewrite calls.
pub(crate) const CONCAT: &str = "__pb_concat";
pub(crate) const IDIV: &str = "__pb_idiv";
pub(crate) const MOD: &str = "__pb_mod";
pub(crate) const SHL: &str = "__pb_shl";
pub(crate) const SHR: &str = "__pb_shr";
pub(crate) const BAND: &str = "__pb_band";
pub(crate) const BOR: &str = "__pb_bor";
pub(crate) const BXOR: &str = "__pb_bxor";
pub(crate) const BNOT: &str = "__pb_bnot";

/// The function a binary operator becomes, if it is one we take over.
fn replacement(op: &BinOp) -> Option<&'static str> {
    Some(match op {
        BinOp::TwoDots(_) => CONCAT,
        BinOp::DoubleSlash(_) => IDIV,
        BinOp::Percent(_) => MOD,
        BinOp::DoubleLessThan(_) => SHL,
        BinOp::DoubleGreaterThan(_) => SHR,
        BinOp::Ampersand(_) => BAND,
        BinOp::Pipe(_) => BOR,
        BinOp::Tilde(_) => BXOR,
        _ => return None,
    })
}

/// Operators worth parsing for (a cheap first look at the bytes).
const OPERATORS: [&[u8]; 7] = [b"..", b"//", b"%", b"<<", b">>", b"&", b"|"];

/// `~` (binary xor and unary not) also starts `~=`, so it is looked for on its own.
fn has_tilde_operator(src: &[u8]) -> bool {
    src.iter()
        .enumerate()
        .any(|(i, &b)| b == b'~' && src.get(i + 1) != Some(&b'='))
}

struct Found(Vec<(&'static str, usize, usize, usize, usize)>);

impl Visitor for Found {
    fn visit_expression(&mut self, e: &Expression) {
        if let Expression::UnaryOperator {
            unop: full_moon::ast::UnOp::Tilde(op),
            expression,
        } = e
        {
            if let (Some(b), Some(c), Some(d)) = (
                op.start_position(),
                op.end_position(),
                expression.end_position(),
            ) {
                self.0
                    .push((BNOT, b.bytes(), b.bytes(), c.bytes(), d.bytes()));
            }
            return;
        }
        if let Expression::BinaryOperator { lhs, binop, rhs } = e {
            let Some(f) = replacement(binop) else {
                return;
            };
            let op = binop.token();
            if let (Some(a), Some(b), Some(c), Some(d)) = (
                lhs.start_position(),
                op.start_position(),
                op.end_position(),
                rhs.end_position(),
            ) {
                self.0.push((f, a.bytes(), b.bytes(), c.bytes(), d.bytes()));
            }
        }
    }
}

/// One multiple assignment: where the statement starts, where its first expression starts,
/// where it ends, and the targets' source spans.
struct MultiAssign {
    start: usize,
    first: usize,
    end: usize,
    targets: Vec<(usize, usize)>,
}

struct Multi(Vec<MultiAssign>);

impl Visitor for Multi {
    fn visit_assignment(&mut self, a: &Assignment) {
        if a.variables().len() < 2 {
            return;
        }
        let (Some(start), Some(first), Some(end)) = (
            a.start_position(),
            a.expressions().iter().next().and_then(Node::start_position),
            a.end_position(),
        ) else {
            return;
        };
        // A target ends where its comma (or the `=`) begins: a node's own end position can
        // stop before a closing `]`.
        let ends: Vec<Option<usize>> = a
            .variables()
            .pairs()
            .map(|p| match p {
                full_moon::ast::punctuated::Pair::Punctuated(_, comma) => {
                    comma.start_position().map(|p| p.bytes())
                }
                full_moon::ast::punctuated::Pair::End(_) => {
                    a.equal_token().start_position().map(|p| p.bytes())
                }
            })
            .collect();
        let targets = a
            .variables()
            .iter()
            .zip(ends)
            .filter_map(|(v, end)| Some((v.start_position()?.bytes(), end?)))
            .collect();
        self.0.push(MultiAssign {
            start: start.bytes(),
            first: first.bytes(),
            end: end.bytes(),
            targets,
        });
    }
}

fn parse<'a>(file: &str, src: &'a [u8]) -> Result<(&'a str, full_moon::ast::Ast), Error> {
    let text = std::str::from_utf8(src).map_err(|e| {
        Error::from(ErrorKind::LuaSyntax {
            plugin: String::new(),
            file: file.to_owned(),
            line: Some(line_of(src, e.valid_up_to())),
            message: "Lua sources must be UTF-8 (write other bytes as \\ddd or \\xXX escapes)"
                .into(),
        })
    })?;
    // full_moon 3.0 panics (`unreachable!`) on a backtick outside a string or comment (found
    // by the `lua_source` fuzz target). Parse a copy with `$` in its place: one byte too, just
    // as invalid as a token, and the same inside strings and comments; edits use positions.
    let backtick_free;
    let text_for_parse = if text.contains('`') {
        backtick_free = text.replace('`', "$");
        backtick_free.as_str()
    } else {
        text
    };
    let parsed = full_moon::parse_fallible(text_for_parse, full_moon::LuaVersion::lua54());
    if let Some(e) = parsed.errors().first() {
        return Err(ErrorKind::LuaSyntax {
            plugin: String::new(),
            file: file.to_owned(),
            line: u32::try_from(e.range().0.line()).ok(),
            message: e.error_message().into_owned(),
        }
        .into());
    }
    Ok((text, parsed.into_ast()))
}

/// Applies edits `(position, order at that position, replaced length, text)`; at one position
/// a lower order goes first. Edits inside a replaced range are dropped.
fn apply(src: &[u8], mut edits: Vec<(usize, u8, usize, String)>) -> Vec<u8> {
    edits.sort_by_key(|&(pos, order, ..)| (pos, order));
    let mut out = Vec::with_capacity(src.len() + edits.len() * 8);
    let mut at = 0usize;
    for (pos, _, len, insert) in edits {
        if pos < at {
            continue;
        }
        out.extend_from_slice(&src[at..pos]);
        out.extend_from_slice(insert.as_bytes());
        at = pos + len;
    }
    out.extend_from_slice(&src[at..]);
    out
}

/// First pass: every multiple assignment through fresh locals.
fn rewrite_assignments(file: &str, src: &[u8]) -> Result<Vec<u8>, Error> {
    if !src.contains(&b',') {
        return Ok(src.to_vec());
    }
    let (text, ast) = parse(file, src)?;
    let mut found = Multi(Vec::new());
    found.visit_ast(&ast);
    if found.0.is_empty() {
        return Ok(src.to_vec());
    }
    let mut edits = Vec::new();
    for MultiAssign {
        start,
        first,
        end,
        targets,
    } in found.0
    {
        let temps: Vec<String> = (1..=targets.len()).map(|i| format!("__pb_{i}")).collect();
        // The targets and `=` go; their line breaks stay, so lines keep their numbers.
        let breaks = "\n".repeat(text[start..first].matches('\n').count());
        edits.push((
            start,
            1,
            first - start,
            format!("do local {} = {breaks}", temps.join(", ")),
        ));
        let assigns: String = targets
            .iter()
            .zip(&temps)
            .map(|(&(a, b), t)| format!(" {} = {t}", text[a..b].trim_end().replace('\n', " ")))
            .collect();
        edits.push((end, 0, 0, format!("{assigns} end")));
    }
    Ok(apply(src, edits))
}

/// The source with every multiple assignment and every operator we take over rewritten.
pub(crate) fn rewrite(file: &str, src: &[u8]) -> Result<Vec<u8>, Error> {
    let assigned = rewrite_assignments(file, src)?;
    rewrite_operators(file, &assigned)
}

/// Second pass: every operator we take over replaced by a call of its function.
fn rewrite_operators(file: &str, src: &[u8]) -> Result<Vec<u8>, Error> {
    if !OPERATORS
        .iter()
        .any(|op| src.windows(op.len()).any(|w| w == *op))
        && !has_tilde_operator(src)
    {
        return Ok(src.to_vec());
    }
    let (_, ast) = parse(file, src)?;
    let mut found = Found(Vec::new());
    found.visit_ast(&ast);
    if found.0.is_empty() {
        return Ok(src.to_vec());
    }
    // Edits: (position, order at that position, replaced length, text). At one position a
    // closing parenthesis (the end of one operand) goes before an opening call.
    let opens: Vec<(&str, String)> = [CONCAT, IDIV, MOD, SHL, SHR, BAND, BOR, BXOR]
        .iter()
        .map(|f| (*f, format!("{f}(")))
        .collect();
    let open_of = |f: &str| {
        opens
            .iter()
            .find(|(name, _)| *name == f)
            .map_or("(", |(_, open)| open.as_str())
    };
    // At one position a closing parenthesis (the end of one operand) goes before an opening
    // call.
    let mut edits = Vec::with_capacity(found.0.len() * 3);
    for &(f, lhs, op, op_end, rhs_end) in &found.0 {
        if f == BNOT {
            // `~x` → `__pb_bnot(x)`: the operator becomes the call's opening.
            edits.push((op, 2, op_end - op, format!("{BNOT}(")));
            edits.push((rhs_end, 0, 0, ")".to_owned()));
            continue;
        }
        edits.push((lhs, 2, 0, open_of(f).to_owned()));
        edits.push((op, 1, op_end - op, ",".to_owned()));
        edits.push((rhs_end, 0, 0, ")".to_owned()));
    }
    Ok(apply(src, edits))
}

fn line_of(src: &[u8], at: usize) -> u32 {
    let n = src[..at.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        String::from_utf8(rewrite("t.lua", s.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn bitwise_operators_become_calls() {
        assert_eq!(rw("return a & b"), "return __pb_band(a , b)");
        assert_eq!(
            rw("return a | b ~ c"),
            "return __pb_bor(a , __pb_bxor(b , c))"
        );
        assert_eq!(rw("return ~x + 1"), "return __pb_bnot(x) + 1");
        assert_eq!(rw("return ~~x"), "return __pb_bnot(__pb_bnot(x))");
        assert_eq!(rw("return a ~= b"), "return a ~= b");
        assert_eq!(rw("return ~'' == -1"), "return __pb_bnot('') == -1");
    }

    #[test]
    fn a_backtick_is_a_syntax_error_not_a_panic() {
        let e = rewrite("main.lua", b"x = 1 .. `y`").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::LuaSyntax { .. }), "{e:?}");
        assert_eq!(rw("x = '`' .. y -- `"), "x = __pb_concat('`' , y) -- `");
    }

    #[test]
    fn concatenations_become_calls_on_the_same_lines() {
        assert_eq!(rw("return a .. b"), "return __pb_concat(a , b)");
        assert_eq!(rw("x = a..b..c"), "x = __pb_concat(a,__pb_concat(b,c))");
        assert_eq!(
            rw("x = (a .. b) .. 1 + 2"),
            "x = __pb_concat((__pb_concat(a , b)) , 1 + 2)"
        );
        assert_eq!(rw("f(a..b,c..d)"), "f(__pb_concat(a,b),__pb_concat(c,d))");
        assert_eq!(
            rw("s = 'a..b' -- x..y\nt = [[..]]"),
            "s = 'a..b' -- x..y\nt = [[..]]"
        );
        assert_eq!(
            rw("t = {...}\nreturn x\n..\ny"),
            "t = {...}\nreturn __pb_concat(x\n,\ny)"
        );
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = rewrite("t.lua", b"x = 1\ny = a ..").unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LuaSyntax { line: Some(2), .. }),
            "{e}"
        );
        let e = rewrite("t.lua", b"x = '\xff' .. y").unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }

    #[test]
    fn arithmetic_operators_piccolo_gets_wrong_become_calls() {
        assert_eq!(rw("x = a // b % c"), "x = __pb_mod(__pb_idiv(a , b) , c)");
        assert_eq!(rw("x = 1 << n >> 2"), "x = __pb_shr(__pb_shl(1 , n) , 2)");
        assert_eq!(rw("x = a + b * c"), "x = a + b * c");
        assert_eq!(
            rw("s = string.format('%d', 1)"),
            "s = string.format('%d', 1)"
        );
    }

    #[test]
    fn multiple_assignments_go_through_fresh_locals() {
        assert_eq!(
            rw("a, b = b, a"),
            "do local __pb_1, __pb_2 = b, a a = __pb_1 b = __pb_2 end"
        );
        assert_eq!(
            rw("t[i], x =\n f(), y .. z"),
            "do local __pb_1, __pb_2 = \nf(), __pb_concat(y , z) t[i] = __pb_1 x = __pb_2 end"
        );
        assert_eq!(rw("local a, b = b, a"), "local a, b = b, a");
        assert_eq!(rw("f(a, b)"), "f(a, b)");
    }
}
