//! A pre-scan of Lua sources before piccolo's compiler sees them (RELIABILITY.md §4.2): the
//! compiler recurses once per suffix (`a.b.c`, `f()()`, `o:m():m()`) and per `and`/`or` term
//! without a depth guard, so a few kilobytes of such a chain overflow the stack. This scanner
//! tokenizes just enough (strings, long brackets, comments, names, symbols) to measure those
//! chains and rejects sources whose chains are longer than [`MAX_CHAIN`].

use crate::error::{Error, ErrorKind};

/// The longest suffix chain or `and`/`or` chain accepted.
pub const MAX_CHAIN: u32 = 200;

fn reject(file: &str, line: u32, message: String) -> Error {
    ErrorKind::LuaSyntax {
        file: file.to_owned(),
        line: Some(line),
        message,
    }
    .into()
}

/// Rejects a binary chunk and any chain over [`MAX_CHAIN`].
pub(crate) fn check(file: &str, src: &[u8]) -> Result<(), Error> {
    if src.first() == Some(&0x1b) {
        return Err(reject(
            file,
            1,
            "binary chunks are not accepted: give Lua source".into(),
        ));
    }
    let mut i = 0usize;
    let mut line = 1u32;
    // Per bracket depth: the current suffix chain and and/or chain.
    let mut chains: Vec<(u32, u32)> = vec![(0, 0)];
    // Whether the previous token ends an expression (a suffix may follow).
    let mut after_operand = false;
    let long_bracket = |at: usize| -> Option<usize> {
        // `[` `=`* `[`: returns the level.
        let mut j = at + 1;
        while src.get(j) == Some(&b'=') {
            j += 1;
        }
        (src.get(j) == Some(&b'[')).then_some(j - at - 1)
    };
    while i < src.len() {
        let c = src[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0b | 0x0c => i += 1,
            b'-' if src.get(i + 1) == Some(&b'-') => {
                // A comment: long (`--[==[ … ]==]`) or to the end of the line.
                if src.get(i + 2) == Some(&b'[') {
                    if let Some(level) = long_bracket(i + 2) {
                        i = skip_long(src, i + 2, level, &mut line);
                        continue;
                    }
                }
                while i < src.len() && src[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                i += 1;
                while i < src.len() && src[i] != c && src[i] != b'\n' {
                    if src[i] == b'\\' {
                        if src.get(i + 1) == Some(&b'\n') {
                            line += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                suffix(&mut chains, &mut after_operand, file, line, true)?;
            }
            b'[' if long_bracket(i).is_some() => {
                let level = long_bracket(i).unwrap_or(0);
                i = skip_long(src, i, level, &mut line);
                suffix(&mut chains, &mut after_operand, file, line, true)?;
            }
            b'(' | b'[' | b'{' => {
                // A call or index after an operand extends the chain.
                let extends = after_operand;
                if extends {
                    bump(&mut chains, file, line)?;
                } else if let Some(top) = chains.last_mut() {
                    top.0 = 0;
                }
                chains.push((0, 0));
                if chains.len() > 2 * MAX_CHAIN as usize {
                    return Err(reject(file, line, "brackets nested too deeply".into()));
                }
                after_operand = false;
                i += 1;
            }
            b')' | b']' | b'}' => {
                if chains.len() > 1 {
                    chains.pop();
                }
                after_operand = true;
                i += 1;
            }
            b'.' if src.get(i + 1) == Some(&b'.') => {
                // `..` or `...`: an operator (or vararg), not a suffix.
                let vararg = src.get(i + 2) == Some(&b'.');
                i += if vararg { 3 } else { 2 };
                reset(&mut chains);
                after_operand = vararg;
            }
            b'.' if src.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = skip_number(src, i);
                after_operand = true;
            }
            b'.' | b':' if src.get(i + 1) != Some(&b':') => {
                if after_operand {
                    bump(&mut chains, file, line)?;
                }
                after_operand = false;
                i += 1;
            }
            c if c.is_ascii_digit() => {
                i = skip_number(src, i);
                after_operand = true;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < src.len() && (src[i].is_ascii_alphanumeric() || src[i] == b'_') {
                    i += 1;
                }
                match &src[start..i] {
                    b"and" | b"or" => {
                        if let Some(top) = chains.last_mut() {
                            top.0 = 0;
                            top.1 += 1;
                            if top.1 > MAX_CHAIN {
                                return Err(reject(
                                    file,
                                    line,
                                    format!("expression nesting too deep: more than {MAX_CHAIN} `and`/`or` terms in a row"),
                                ));
                            }
                        }
                        after_operand = false;
                    }
                    b"nil" | b"true" | b"false" => after_operand = true,
                    b"local" | b"if" | b"then" | b"else" | b"elseif" | b"end" | b"do"
                    | b"while" | b"repeat" | b"until" | b"for" | b"in" | b"return"
                    | b"function" | b"goto" | b"break" | b"not" => {
                        reset(&mut chains);
                        after_operand = false;
                    }
                    _ => {
                        // A name continues a chain only right after `.` or `:`.
                        let continues = !after_operand
                            && start > 0
                            && prev_symbol(src, start).is_some_and(|p| p == b'.' || p == b':');
                        if !continues {
                            if let Some(top) = chains.last_mut() {
                                top.0 = 0;
                            }
                        }
                        after_operand = true;
                    }
                }
            }
            _ => {
                // Any other symbol (operators, `=`, `,`, `;`) ends a suffix chain; statement
                // separators end an and/or chain too.
                if matches!(c, b'=' | b';' | b',') {
                    reset(&mut chains);
                } else if let Some(top) = chains.last_mut() {
                    top.0 = 0;
                }
                after_operand = false;
                i += 1;
            }
        }
    }
    Ok(())
}

fn prev_symbol(src: &[u8], mut at: usize) -> Option<u8> {
    while at > 0 {
        at -= 1;
        if !src[at].is_ascii_whitespace() {
            return Some(src[at]);
        }
    }
    None
}

fn reset(chains: &mut [(u32, u32)]) {
    if let Some(top) = chains.last_mut() {
        *top = (0, 0);
    }
}

fn bump(chains: &mut [(u32, u32)], file: &str, line: u32) -> Result<(), Error> {
    if let Some(top) = chains.last_mut() {
        top.0 += 1;
        if top.0 > MAX_CHAIN {
            return Err(reject(
                file,
                line,
                format!("expression nesting too deep: a chain of more than {MAX_CHAIN} suffixes (`.x`, `[e]`, `()`, `:m()`)"),
            ));
        }
    }
    Ok(())
}

/// A string literal: a call argument after an operand (`f"x"`), else an operand.
fn suffix(
    chains: &mut [(u32, u32)],
    after_operand: &mut bool,
    file: &str,
    line: u32,
    _is_string: bool,
) -> Result<(), Error> {
    if *after_operand {
        bump(chains, file, line)?;
    }
    *after_operand = true;
    Ok(())
}

fn skip_long(src: &[u8], at: usize, level: usize, line: &mut u32) -> usize {
    let close: Vec<u8> = std::iter::once(b']')
        .chain(std::iter::repeat_n(b'=', level))
        .chain(std::iter::once(b']'))
        .collect();
    let mut i = at + level + 2;
    while i < src.len() {
        if src[i] == b'\n' {
            *line += 1;
        }
        if src[i..].starts_with(&close) {
            return i + close.len();
        }
        i += 1;
    }
    src.len()
}

fn skip_number(src: &[u8], mut i: usize) -> usize {
    while i < src.len() {
        let c = src[i];
        let exp_sign =
            (c == b'+' || c == b'-') && i > 0 && matches!(src[i - 1], b'e' | b'E' | b'p' | b'P');
        if c.is_ascii_alphanumeric() || c == b'.' || exp_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> bool {
        check("t.lua", src.as_bytes()).is_ok()
    }

    #[test]
    fn ordinary_code_passes() {
        assert!(ok(
            "local t = {a = {b = {c = 1}}}\nprint(t.a.b.c, t['a'].b, f(1)(2), o:m():n())"
        ));
        assert!(ok(&"if a and b then x = 1 end\n".repeat(1000)));
        assert!(ok(&"x = a.b.c\n".repeat(1000)));
        assert!(ok(
            "local s = [==[ a.b.b.b ]==] -- a.b.c\n--[[ long\ncomment ]] x = 1"
        ));
        assert!(ok("x = 1 .. 2 .. 'a' .. \"b\""));
    }

    #[test]
    fn long_chains_are_rejected_with_their_line() {
        let src = format!("x = 1\nreturn a{}", ".b".repeat(3000));
        let e = check("t.lua", src.as_bytes()).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LuaSyntax { line: Some(2), .. }),
            "{e}"
        );
        assert!(!ok(&format!("return f{}", "()".repeat(3000))));
        assert!(!ok(&format!("return o{}", ":m()".repeat(3000))));
        assert!(!ok(&format!("return x{}", " or x".repeat(3000))));
        assert!(!ok(&format!("return x{}", " and x".repeat(3000))));
        assert!(!ok(&format!(
            "return {}1{}",
            "(".repeat(1000),
            ")".repeat(1000)
        )));
        assert!(!ok("\x1bLua binary"));
    }
}
