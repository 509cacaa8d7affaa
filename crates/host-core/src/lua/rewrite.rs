//! Bounding `..`: piccolo 0.3.3 concatenates strings inside the VM with no size limit and no
//! fuel per byte, so `s = s .. s` forty times asks for a terabyte in one VM step, between two
//! memory checks (RELIABILITY.md LUA-R6). Before piccolo compiles a source, we parse it
//! (full_moon, Lua 5.4) and rewrite every binary `a .. b` into `__pb_concat(a, b)`, a host
//! function that checks the result's size against the plugin's memory cap and charges fuel
//! per byte. The rewrite only inserts text on the same lines, so line numbers in errors stay
//! the source's.

use crate::error::{Error, ErrorKind};
use full_moon::ast::{BinOp, Expression};
use full_moon::node::Node;
use full_moon::visitors::Visitor;

/// The global the rewrite calls.
pub(crate) const CONCAT: &str = "__pb_concat";

struct Concats(Vec<(usize, usize, usize, usize)>);

impl Visitor for Concats {
    fn visit_expression(&mut self, e: &Expression) {
        if let Expression::BinaryOperator {
            lhs,
            binop: BinOp::TwoDots(op),
            rhs,
        } = e
        {
            if let (Some(a), Some(b), Some(c), Some(d)) = (
                lhs.start_position(),
                op.start_position(),
                op.end_position(),
                rhs.end_position(),
            ) {
                self.0.push((a.bytes(), b.bytes(), c.bytes(), d.bytes()));
            }
        }
    }
}

/// The source with every `..` operator replaced by a call of [`CONCAT`].
pub(crate) fn rewrite(file: &str, src: &[u8]) -> Result<Vec<u8>, Error> {
    if !src.windows(2).any(|w| w == b"..") {
        return Ok(src.to_vec());
    }
    let text = std::str::from_utf8(src).map_err(|e| {
        Error::from(ErrorKind::LuaSyntax {
            file: file.to_owned(),
            line: Some(line_of(src, e.valid_up_to())),
            message: "Lua sources must be UTF-8 (write other bytes as \\ddd or \\xXX escapes)"
                .into(),
        })
    })?;
    let parsed = full_moon::parse_fallible(text, full_moon::LuaVersion::lua54());
    if let Some(e) = parsed.errors().first() {
        return Err(ErrorKind::LuaSyntax {
            file: file.to_owned(),
            line: u32::try_from(e.range().0.line()).ok(),
            message: e.error_message().into_owned(),
        }
        .into());
    }
    let mut found = Concats(Vec::new());
    found.visit_ast(&parsed.into_ast());
    if found.0.is_empty() {
        return Ok(src.to_vec());
    }
    // Edits: (position, order at that position, replaced length, text). At one position a
    // closing parenthesis (the end of one operand) goes before an opening call.
    let mut edits: Vec<(usize, u8, usize, &str)> = Vec::with_capacity(found.0.len() * 3);
    let open = format!("{CONCAT}(");
    for &(lhs, op, op_end, rhs_end) in &found.0 {
        edits.push((lhs, 2, 0, open.as_str()));
        edits.push((op, 1, op_end - op, ","));
        edits.push((rhs_end, 0, 0, ")"));
    }
    edits.sort_by_key(|&(pos, order, ..)| (pos, order));
    let mut out = Vec::with_capacity(src.len() + edits.len() * 8);
    let mut at = 0usize;
    for (pos, _, len, insert) in edits {
        if pos < at {
            continue; // cannot happen for a well-formed tree; never copy backwards
        }
        out.extend_from_slice(&src[at..pos]);
        out.extend_from_slice(insert.as_bytes());
        at = pos + len;
    }
    out.extend_from_slice(&src[at..]);
    Ok(out)
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
}
