//! A pre-scan of Lua sources before piccolo's compiler sees them (RELIABILITY.md §4.2): the
//! compiler recurses once per suffix (`a.b.c`, `f()()`, `o:m():m()`) and per `and`/`or` term
//! without a depth guard, so a few kilobytes of such a chain overflow the stack. This scanner
//! tokenizes just enough (strings, long brackets, comments, names, symbols) to measure those
//! chains and rejects sources nested deeper than [`MAX_DEPTH`].

use crate::error::{Error, ErrorKind};

/// The deepest nesting accepted, counted as piccolo's compiler (and our lowering of its tree)
/// recurse: each suffix of a chain (`.x`, `[e]`, `(…)`, `:m()`), each operator of
/// a chain (`a + b + …`, `and`, `or`, unary `-`/`not`) costs 1; each open bracket or block
/// (`function`, `if`, `do`, `repeat`) and each `..` (lowered into a nested call) costs
/// [`NEST_COST`]; summed over everything enclosing.
/// Measured on a 1 MiB stack: about 150 chained `+` fit, but only 40–60 nested brackets, calls,
/// table constructors, `if` blocks or functions (piccolo 0.3.3 uses ~17 KiB of stack per level).
pub const MAX_DEPTH: u32 = 120;
/// What one bracket or block costs of [`MAX_DEPTH`]: 40 levels of nesting.
pub const NEST_COST: u32 = 3;

fn reject(file: &str, line: u32, message: String) -> Error {
    ErrorKind::LuaSyntax {
        plugin: String::new(),
        file: file.to_owned(),
        line: Some(line),
        message,
    }
    .into()
}

/// Nesting per open bracket or block: what opening it cost, and the chain in progress in it.
struct Levels {
    levels: Vec<(u32, u32)>,
    total: u32,
}

impl Levels {
    fn new() -> Self {
        Self {
            levels: vec![(0, 0)],
            total: 0,
        }
    }

    fn check(&self, file: &str, line: u32) -> Result<(), Error> {
        if self.total > MAX_DEPTH {
            return Err(reject(
                file,
                line,
                format!("nesting too deep: brackets and blocks count {NEST_COST}, chained suffixes (`.x`, `[e]`, `()`, `:m()`) and operators 1, and the total may not exceed {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    /// One more link in the current chain.
    fn bump(&mut self, file: &str, line: u32) -> Result<(), Error> {
        if let Some(top) = self.levels.last_mut() {
            top.1 += 1;
            self.total += 1;
        }
        self.check(file, line)
    }

    /// The current chain ends (a statement or list separator).
    fn reset(&mut self) {
        if let Some(top) = self.levels.last_mut() {
            self.total -= top.1;
            top.1 = 0;
        }
    }

    fn open(&mut self, file: &str, line: u32) -> Result<(), Error> {
        self.levels.push((NEST_COST, 0));
        self.total += NEST_COST;
        self.check(file, line)
    }

    fn close(&mut self) {
        if self.levels.len() > 1 {
            if let Some((base, chain)) = self.levels.pop() {
                self.total -= base + chain;
            }
        }
    }
}

/// What the scan measured of an accepted source.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scanned {
    /// Tokens (names, keywords, literals, operators, brackets), comments and spaces not counted.
    pub tokens: u64,
}

/// Rejects a binary chunk and any expression deeper than [`MAX_DEPTH`].
pub(crate) fn check(file: &str, src: &[u8]) -> Result<Scanned, Error> {
    if src.first() == Some(&0x1b) {
        return Err(reject(
            file,
            1,
            "binary chunks are not accepted: give Lua source".into(),
        ));
    }
    let mut i = 0usize;
    let mut line = 1u32;
    let mut levels = Levels::new();
    // Whether the previous token ends an operand (a suffix or binary operator may follow).
    let mut after_operand = false;
    let long_bracket = |at: usize| -> Option<usize> {
        // `[` `=`* `[`: returns the level.
        let mut j = at + 1;
        while src.get(j) == Some(&b'=') {
            j += 1;
        }
        (src.get(j) == Some(&b'[')).then_some(j - at - 1)
    };
    let mut tokens = 0u64;
    while i < src.len() {
        let c = src[i];
        let trivia = matches!(c, b'\n' | b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
            || (c == b'-' && src.get(i + 1) == Some(&b'-'));
        tokens += u64::from(!trivia);
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
                // `f"x"` is a call: a suffix of the chain.
                if after_operand {
                    levels.bump(file, line)?;
                }
                after_operand = true;
            }
            b'[' if long_bracket(i).is_some() => {
                let level = long_bracket(i).unwrap_or(0);
                i = skip_long(src, i, level, &mut line);
                if after_operand {
                    levels.bump(file, line)?;
                }
                after_operand = true;
            }
            b'(' | b'[' | b'{' => {
                // After an operand: a call or index, a suffix of the chain.
                if after_operand {
                    levels.bump(file, line)?;
                }
                levels.open(file, line)?;
                after_operand = false;
                i += 1;
            }
            b')' | b']' | b'}' => {
                levels.close();
                after_operand = true;
                i += 1;
            }
            b'.' if src.get(i + 1) == Some(&b'.') => {
                // `...` is an operand; `..` a binary operator.
                if src.get(i + 2) == Some(&b'.') {
                    i += 3;
                    after_operand = true;
                } else {
                    // Lowering turns each `..` into a nested call: it costs like a bracket.
                    i += 2;
                    for _ in 0..NEST_COST {
                        levels.bump(file, line)?;
                    }
                    after_operand = false;
                }
            }
            b'.' if src.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i = skip_number(src, i);
                after_operand = true;
            }
            b'.' | b':' if src.get(i + 1) != Some(&b':') => {
                if after_operand {
                    levels.bump(file, line)?;
                }
                after_operand = false;
                i += 1;
            }
            b':' => {
                i += 2; // `::label::`
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
                    b"and" | b"or" | b"not" => {
                        levels.bump(file, line)?;
                        after_operand = false;
                    }
                    b"nil" | b"true" | b"false" => after_operand = true,
                    // Blocks nest like brackets: `function`, `if`, `do` (of `while`/`for` too)
                    // and `repeat` open one; `end` and `until` close it.
                    b"function" | b"if" | b"do" | b"repeat" => {
                        levels.reset();
                        levels.open(file, line)?;
                        after_operand = false;
                    }
                    b"end" | b"until" => {
                        levels.reset();
                        levels.close();
                        after_operand = b"end" == &src[start..i];
                    }
                    b"local" | b"then" | b"else" | b"elseif" | b"while" | b"for" | b"in"
                    | b"return" | b"goto" | b"break" => {
                        levels.reset();
                        after_operand = false;
                    }
                    _ => {
                        // A name right after an operand starts a statement (`f(1) g(2)`):
                        // the chain before it has ended.
                        if after_operand {
                            levels.reset();
                        }
                        after_operand = true;
                    }
                }
            }
            b'=' if src.get(i + 1) != Some(&b'=') => {
                levels.reset();
                after_operand = false;
                i += 1;
            }
            b';' | b',' => {
                levels.reset();
                after_operand = false;
                i += 1;
            }
            _ => {
                // An operator: binary after an operand, unary otherwise; both add a level.
                let len = match (c, src.get(i + 1)) {
                    (b'=' | b'~' | b'<' | b'>', Some(b'=')) | (b'/', Some(b'/')) => 2,
                    (b'<', Some(b'<')) | (b'>', Some(b'>')) => 2,
                    _ => 1,
                };
                // `//`, `%`, `<<`, `>>`, `&`, `|`, `~` are rewritten into nested calls: they cost
                // like brackets.
                let rewritten = matches!(c, b'%' | b'&' | b'|')
                    || (c == b'~' && len == 1)
                    || (len == 2 && matches!(c, b'/' | b'<' | b'>') && src.get(i + 1) == Some(&c));
                for _ in 0..if rewritten { NEST_COST } else { 1 } {
                    levels.bump(file, line)?;
                }
                after_operand = false;
                i += len;
            }
        }
    }
    Ok(Scanned { tokens })
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
        // Statements of bare calls, on one line or many: each starts a new chain.
        assert!(ok(&"f(1, 'a', x.y) ".repeat(1000)));
        assert!(ok(&"register('a', { n = 1 })\n".repeat(1000)));
        assert!(ok(&"o:m(1) t.f() ".repeat(1000)));
    }

    #[test]
    fn tokens_are_counted_without_comments_and_spaces() {
        let scanned = check("t.lua", b"local x = 1 -- one\n--[[ two ]] f(x, 'a b')").unwrap();
        // local x = 1 f ( x , 'a b' )
        assert_eq!(scanned.tokens, 10);
    }

    #[test]
    fn long_chains_are_rejected_with_their_line() {
        let src = format!("x = 1\nreturn a{}", ".b".repeat(3000));
        assert!(ok(&format!("x = 1\nreturn a{}", ".b".repeat(100))));
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

    #[test]
    fn every_kind_of_nesting_counts() {
        assert!(!ok(&format!("return a{}", " + a".repeat(200))));
        assert!(ok(&format!("return a{}", " + a".repeat(100))));
        assert!(!ok(&format!("return a{}", " .. a".repeat(200))));
        assert!(!ok(&format!("return {}1", "- ".repeat(200))));
        assert!(!ok(&format!("return {}true", "not ".repeat(200))));
        assert!(!ok(&format!(
            "return {}1{}",
            "f(".repeat(45),
            ")".repeat(45)
        )));
        assert!(ok(&format!("x = {}1{}", "{".repeat(35), "}".repeat(35))));
        assert!(!ok(&format!("x = {}1{}", "{".repeat(45), "}".repeat(45))));
        let ifs = |n: usize| {
            format!(
                "function f() {}{} end",
                "if x then ".repeat(n),
                "end ".repeat(n)
            )
        };
        assert!(ok(&ifs(30)));
        assert!(!ok(&ifs(45)));
        assert!(!ok(&format!(
            "return {}1{}",
            "function() return ".repeat(45),
            " end".repeat(45)
        )));
        // Sequential blocks do not add up.
        assert!(ok(&"function f() if x then y() end end\n".repeat(500)));
    }
}
