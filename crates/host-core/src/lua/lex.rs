//! Lua 5.4's lexical grammar, read the way PUC Lua 5.4 reads it, for our parser
//! ([`super::parse`]).
//!
//! Our own because piccolo 0.3.3's lexer refuses or misreads valid Lua 5.4: `\u{…}` escapes
//! above U+10FFFF or for surrogates (Lua encodes every value below 2^31 with the old extended
//! UTF-8 scheme, up to 6 bytes), `--[=` starting a short comment, hex integers that wrap
//! (`0xffffffffffffffff` is -1 in Lua, a float in piccolo).
//!
//! - The source is bytes: a string may hold any byte; names are ASCII letters, digits and `_`
//!   (Lua's default C locale); any other byte is a one-byte token ([`Token::Other`]) that no
//!   grammar rule accepts, so the parser reports it ("unexpected symbol near '<\255>'").
//! - Lines are counted from 0, as piccolo does: `\n`, `\r`, `\r\n` and `\n\r` are one line each.
//! - A first line starting with `#` (a shebang) is skipped, as `luaL_loadfile` does.
//! - Errors are PUC Lua's words: the message, then `near` and the text read so far (a string's
//!   delimiter and what was decoded, plus the escape at fault), or `near <eof>`. That text is
//!   cut after [`NEAR_MAX`] bytes, where PUC Lua would quote a whole hostile token; a string
//!   the parser rejects is quoted as written, where PUC Lua shows it decoded.

use super::parse::SyntaxError;
use piccolo::compiler::{LineNumber, StringInterner};
use std::ops::Range;

/// The most bytes of a token an error message quotes.
const NEAR_MAX: usize = 80;
const VERTICAL_TAB: u8 = 0x0b;
const FORM_FEED: u8 = 0x0c;

/// The tokens with a fixed spelling: keywords and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sym {
    And,
    Break,
    Do,
    Else,
    ElseIf,
    End,
    False,
    For,
    Function,
    Goto,
    If,
    In,
    Local,
    Nil,
    Not,
    Or,
    Repeat,
    Return,
    Then,
    True,
    Until,
    While,
    Plus,
    Minus,
    Star,
    Slash,
    DoubleSlash,
    Percent,
    Caret,
    Hash,
    Amp,
    Tilde,
    Pipe,
    ShiftLeft,
    ShiftRight,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
    Assign,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    DoubleColon,
    SemiColon,
    Colon,
    Comma,
    Dot,
    Concat,
    Dots,
}

impl Sym {
    /// The spelling, as error messages quote it.
    pub(crate) fn text(self) -> &'static str {
        match self {
            Sym::And => "and",
            Sym::Break => "break",
            Sym::Do => "do",
            Sym::Else => "else",
            Sym::ElseIf => "elseif",
            Sym::End => "end",
            Sym::False => "false",
            Sym::For => "for",
            Sym::Function => "function",
            Sym::Goto => "goto",
            Sym::If => "if",
            Sym::In => "in",
            Sym::Local => "local",
            Sym::Nil => "nil",
            Sym::Not => "not",
            Sym::Or => "or",
            Sym::Repeat => "repeat",
            Sym::Return => "return",
            Sym::Then => "then",
            Sym::True => "true",
            Sym::Until => "until",
            Sym::While => "while",
            Sym::Plus => "+",
            Sym::Minus => "-",
            Sym::Star => "*",
            Sym::Slash => "/",
            Sym::DoubleSlash => "//",
            Sym::Percent => "%",
            Sym::Caret => "^",
            Sym::Hash => "#",
            Sym::Amp => "&",
            Sym::Tilde => "~",
            Sym::Pipe => "|",
            Sym::ShiftLeft => "<<",
            Sym::ShiftRight => ">>",
            Sym::Equal => "==",
            Sym::NotEqual => "~=",
            Sym::LessEqual => "<=",
            Sym::GreaterEqual => ">=",
            Sym::Less => "<",
            Sym::Greater => ">",
            Sym::Assign => "=",
            Sym::LeftParen => "(",
            Sym::RightParen => ")",
            Sym::LeftBrace => "{",
            Sym::RightBrace => "}",
            Sym::LeftBracket => "[",
            Sym::RightBracket => "]",
            Sym::DoubleColon => "::",
            Sym::SemiColon => ";",
            Sym::Colon => ":",
            Sym::Comma => ",",
            Sym::Dot => ".",
            Sym::Concat => "..",
            Sym::Dots => "...",
        }
    }
}

/// The keyword spelled `word`, if it is one.
fn keyword(word: &[u8]) -> Option<Sym> {
    Some(match word {
        b"and" => Sym::And,
        b"break" => Sym::Break,
        b"do" => Sym::Do,
        b"else" => Sym::Else,
        b"elseif" => Sym::ElseIf,
        b"end" => Sym::End,
        b"false" => Sym::False,
        b"for" => Sym::For,
        b"function" => Sym::Function,
        b"goto" => Sym::Goto,
        b"if" => Sym::If,
        b"in" => Sym::In,
        b"local" => Sym::Local,
        b"nil" => Sym::Nil,
        b"not" => Sym::Not,
        b"or" => Sym::Or,
        b"repeat" => Sym::Repeat,
        b"return" => Sym::Return,
        b"then" => Sym::Then,
        b"true" => Sym::True,
        b"until" => Sym::Until,
        b"while" => Sym::While,
        _ => return None,
    })
}

/// The one-byte operator `c`, if it is one (`[` starts a long string or is [`Sym::LeftBracket`]).
fn single(c: u8) -> Option<Sym> {
    Some(match c {
        b'+' => Sym::Plus,
        b'-' => Sym::Minus,
        b'*' => Sym::Star,
        b'/' => Sym::Slash,
        b'%' => Sym::Percent,
        b'^' => Sym::Caret,
        b'#' => Sym::Hash,
        b'&' => Sym::Amp,
        b'~' => Sym::Tilde,
        b'|' => Sym::Pipe,
        b'<' => Sym::Less,
        b'>' => Sym::Greater,
        b'=' => Sym::Assign,
        b'(' => Sym::LeftParen,
        b')' => Sym::RightParen,
        b'{' => Sym::LeftBrace,
        b'}' => Sym::RightBrace,
        b']' => Sym::RightBracket,
        b';' => Sym::SemiColon,
        b':' => Sym::Colon,
        b',' => Sym::Comma,
        b'.' => Sym::Dot,
        _ => return None,
    })
}

/// The two-byte operator starting with `c` then `next`, if it is one.
fn double(c: u8, next: u8) -> Option<Sym> {
    Some(match (c, next) {
        (b'.', b'.') => Sym::Concat,
        (b'=', b'=') => Sym::Equal,
        (b'~', b'=') => Sym::NotEqual,
        (b'<', b'=') => Sym::LessEqual,
        (b'>', b'=') => Sym::GreaterEqual,
        (b'<', b'<') => Sym::ShiftLeft,
        (b'>', b'>') => Sym::ShiftRight,
        (b'/', b'/') => Sym::DoubleSlash,
        (b':', b':') => Sym::DoubleColon,
        _ => return None,
    })
}

#[derive(Debug, PartialEq)]
pub(crate) enum Token<S> {
    Sym(Sym),
    Name(S),
    String(S),
    Integer(i64),
    Float(f64),
    /// A byte that starts no token: Lua makes it a token of its own, which no rule accepts.
    Other(u8),
    Eof,
}

/// A token, the line it starts on, and where it is in the source (for error messages).
#[derive(Debug)]
pub(crate) struct Lexeme<S> {
    pub(crate) token: Token<S>,
    pub(crate) line: LineNumber,
    span: Range<usize>,
}

/// Reads tokens from a source, one at a time (so an error is the first one in the source,
/// lexical or syntactic, as in PUC Lua).
pub(crate) struct Lexer<'a, I> {
    source: &'a [u8],
    pos: usize,
    line: u64,
    interner: &'a mut I,
}

impl<'a, I: StringInterner> Lexer<'a, I> {
    pub(crate) fn new(source: &'a [u8], interner: &'a mut I) -> Self {
        // The shebang's line end stays, so it still counts as a line.
        let pos = match source.first() {
            Some(b'#') => source.iter().position(|&c| is_newline(c)),
            _ => Some(0),
        };
        Lexer {
            source,
            pos: pos.unwrap_or(source.len()),
            line: 0,
            interner,
        }
    }

    pub(crate) fn intern(&mut self, bytes: &[u8]) -> I::String {
        self.interner.intern(bytes)
    }

    /// The next token; [`Token::Eof`] (on the last line) at the end, and again after that.
    pub(crate) fn next(&mut self) -> Result<Lexeme<I::String>, SyntaxError> {
        self.skip_space_and_comments()?;
        let (start, line) = (self.pos, LineNumber(self.line));
        let token = self.token()?;
        Ok(Lexeme {
            token,
            line,
            span: start..self.pos,
        })
    }

    /// How an error message shows `lexeme` after `near`.
    pub(crate) fn near(&self, lexeme: &Lexeme<I::String>) -> String {
        match lexeme.token {
            Token::Eof => "<eof>".to_owned(),
            Token::Other(c) if !(b' '..=b'~').contains(&c) => format!("'<\\{c}>'"),
            _ => quote(self.source.get(lexeme.span.clone()).unwrap_or_default()),
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.source.get(self.pos.saturating_add(ahead)).copied()
    }

    fn error_near(&self, message: &str, text: &[u8]) -> SyntaxError {
        SyntaxError {
            line: LineNumber(self.line),
            message: format!("{message} near {}", quote(text)),
        }
    }

    fn error_at_eof(&self, message: &str) -> SyntaxError {
        SyntaxError {
            line: LineNumber(self.line),
            message: format!("{message} near <eof>"),
        }
    }

    /// Skips one line end: `\n`, `\r`, `\r\n` or `\n\r`.
    fn newline(&mut self) {
        let first = self.peek(0);
        self.pos += 1;
        let second = self.peek(0);
        if second.is_some_and(is_newline) && second != first {
            self.pos += 1;
        }
        self.line += 1;
    }

    fn skip_space_and_comments(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek(0) {
                Some(b' ' | b'\t' | VERTICAL_TAB | FORM_FEED) => self.pos += 1,
                Some(b'\n' | b'\r') => self.newline(),
                Some(b'-') if self.peek(1) == Some(b'-') => self.comment()?,
                _ => return Ok(()),
            }
        }
    }

    /// A comment: long if `--` is followed by a long bracket, else up to the line's end (so
    /// `--[=x` is a short comment).
    fn comment(&mut self) -> Result<(), SyntaxError> {
        self.pos += 2;
        if let Some(level) = self.long_bracket_level() {
            let line = self.line;
            self.pos += level + 2;
            return self.long_body(level, line, "comment").map(drop);
        }
        while self.peek(0).is_some_and(|c| !is_newline(c)) {
            self.pos += 1;
        }
        Ok(())
    }

    /// The level of the long bracket opening at the cursor (`[[` is 0, `[==[` is 2), if any.
    fn long_bracket_level(&self) -> Option<usize> {
        if self.peek(0) != Some(b'[') {
            return None;
        }
        let level = self.count_equals(1);
        (self.peek(level + 1) == Some(b'[')).then_some(level)
    }

    /// How many `=` follow, `from` bytes after the cursor.
    fn count_equals(&self, from: usize) -> usize {
        let rest = self.source.get(self.pos.saturating_add(from)..);
        rest.map_or(0, |rest| rest.iter().take_while(|&&c| c == b'=').count())
    }

    /// Skips a long string's or comment's body, after its opening bracket, and its closing
    /// bracket; returns the body's span. A line end right after the opening is not part of it.
    fn long_body(
        &mut self,
        level: usize,
        start_line: u64,
        what: &str,
    ) -> Result<Range<usize>, SyntaxError> {
        if self.peek(0).is_some_and(is_newline) {
            self.newline();
        }
        let start = self.pos;
        loop {
            match self.peek(0) {
                None => {
                    let line = start_line.saturating_add(1);
                    let message = format!("unfinished long {what} (starting at line {line})");
                    return Err(self.error_at_eof(&message));
                }
                Some(b'\n' | b'\r') => self.newline(),
                Some(b']') => {
                    let end = self.pos;
                    let equals = self.count_equals(1);
                    self.pos += 1 + equals;
                    // Not the closing bracket: what was skipped is text, and a `]` here may
                    // start the closing bracket itself.
                    if equals == level && self.peek(0) == Some(b']') {
                        self.pos += 1;
                        return Ok(start..end);
                    }
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn token(&mut self) -> Result<Token<I::String>, SyntaxError> {
        let Some(c) = self.peek(0) else {
            return Ok(Token::Eof);
        };
        match c {
            b'"' | b'\'' => self.short_string(c),
            b'[' => self.bracket(),
            b'0'..=b'9' => self.numeral(),
            b'.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.numeral(),
            _ if is_name_start(c) => Ok(self.name()),
            _ => Ok(self.symbol(c)),
        }
    }

    fn symbol(&mut self, c: u8) -> Token<I::String> {
        let next = self.peek(1).and_then(|next| double(c, next));
        let (sym, len) = match next {
            Some(Sym::Concat) if self.peek(2) == Some(b'.') => (Sym::Dots, 3),
            Some(sym) => (sym, 2),
            None => match single(c) {
                Some(sym) => (sym, 1),
                None => {
                    self.pos += 1;
                    return Token::Other(c);
                }
            },
        };
        self.pos += len;
        Token::Sym(sym)
    }

    fn name(&mut self) -> Token<I::String> {
        let (source, start) = (self.source, self.pos);
        while self.peek(0).is_some_and(is_name_char) {
            self.pos += 1;
        }
        let word = source.get(start..self.pos).unwrap_or_default();
        match keyword(word) {
            Some(sym) => Token::Sym(sym),
            None => Token::Name(self.interner.intern(word)),
        }
    }

    /// `[`, or a long string `[==[…]==]`; `[=` not followed by more `=` and a `[` is an error.
    fn bracket(&mut self) -> Result<Token<I::String>, SyntaxError> {
        let (source, start) = (self.source, self.pos);
        if let Some(level) = self.long_bracket_level() {
            let line = self.line;
            self.pos += level + 2;
            let body = self.long_body(level, line, "string")?;
            let text = normalize_newlines(source.get(body).unwrap_or_default());
            return Ok(Token::String(self.interner.intern(&text)));
        }
        let equals = self.count_equals(1);
        self.pos += 1 + equals;
        if equals > 0 {
            let text = source.get(start..self.pos).unwrap_or_default();
            return Err(self.error_near("invalid long string delimiter", text));
        }
        Ok(Token::Sym(Sym::LeftBracket))
    }

    /// A string in `'` or `"`, its escapes decoded.
    fn short_string(&mut self, quote: u8) -> Result<Token<I::String>, SyntaxError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek(0) {
                None => return Err(self.error_at_eof("unfinished string")),
                Some(b'\n' | b'\r') => {
                    return Err(self.error_near("unfinished string", &[&[quote][..], &out].concat()))
                }
                Some(b'\\') => self.escape(quote, &mut out)?,
                Some(c) if c == quote => break,
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Ok(Token::String(self.interner.intern(&out)))
    }

    /// A `\` escape in a short string, decoded into `out`. An error shows what PUC Lua's
    /// buffer holds: the delimiter, what was decoded so far, and the escape up to the byte at
    /// fault.
    fn escape(&mut self, quote: u8, out: &mut Vec<u8>) -> Result<(), SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        let Err(message) = self.escape_body(out) else {
            return Ok(());
        };
        let end = self.pos.saturating_add(1).min(self.source.len());
        let escape = self.source.get(start..end).unwrap_or_default();
        Err(self.error_near(message, &[&[quote][..], out, escape].concat()))
    }

    /// What follows a `\`; an error leaves the cursor on the byte at fault.
    fn escape_body(&mut self, out: &mut Vec<u8>) -> Result<(), &'static str> {
        // At the end, the string's loop reports it unfinished.
        let Some(c) = self.peek(0) else {
            return Ok(());
        };
        match c {
            b'\n' | b'\r' => {
                self.newline();
                out.push(b'\n');
            }
            b'x' => {
                self.pos += 1;
                let high = self.hex_digit()?;
                let low = self.hex_digit()?;
                out.push(high << 4 | low);
            }
            b'u' => {
                self.pos += 1;
                push_utf8(self.utf8_value()?, out);
            }
            b'z' => {
                self.pos += 1;
                self.skip_space();
            }
            b'0'..=b'9' => out.push(self.decimal_escape()?),
            _ => {
                out.push(simple_escape(c).ok_or("invalid escape sequence")?);
                self.pos += 1;
            }
        }
        Ok(())
    }

    fn hex_digit(&mut self) -> Result<u8, &'static str> {
        let digit = self.peek(0).and_then(hex_value);
        let digit = digit.ok_or("hexadecimal digit expected")?;
        self.pos += 1;
        Ok(digit)
    }

    /// `\ddd`: one to three decimal digits, at most 255.
    fn decimal_escape(&mut self) -> Result<u8, &'static str> {
        let mut value = 0u32;
        for _ in 0..3 {
            let Some(digit) = self.peek(0).filter(u8::is_ascii_digit) else {
                break;
            };
            value = value * 10 + u32::from(digit - b'0');
            self.pos += 1;
        }
        u8::try_from(value).map_err(|_| "decimal escape too large")
    }

    /// `\u{XXX}` after the `u`: a value below 2^31.
    fn utf8_value(&mut self) -> Result<u32, &'static str> {
        if self.peek(0) != Some(b'{') {
            return Err("missing '{'");
        }
        self.pos += 1;
        let mut value = u32::from(self.hex_digit()?);
        while let Some(digit) = self.peek(0).and_then(hex_value) {
            if value > 0x7FF_FFFF {
                return Err("UTF-8 value too large");
            }
            value = value << 4 | u32::from(digit);
            self.pos += 1;
        }
        if self.peek(0) != Some(b'}') {
            return Err("missing '}'");
        }
        self.pos += 1;
        Ok(value)
    }

    /// `\z`: the spaces and line ends that follow are skipped.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                b'\n' | b'\r' => self.newline(),
                b' ' | b'\t' | VERTICAL_TAB | FORM_FEED => self.pos += 1,
                _ => return,
            }
        }
    }

    /// A numeral, read as PUC Lua reads one: hex digits, `.`, and exponent marks (with a sign
    /// right after them) as long as they come, and a letter touching the end (to reject `3x`).
    fn numeral(&mut self) -> Result<Token<I::String>, SyntaxError> {
        let (source, start) = (self.source, self.pos);
        let hex = self.peek(0) == Some(b'0') && matches!(self.peek(1), Some(b'x' | b'X'));
        let exponent: &[u8] = if hex { b"pP" } else { b"eE" };
        if hex {
            self.pos += 2;
        }
        while let Some(c) = self.peek(0) {
            if exponent.contains(&c) {
                self.pos += 1;
                if matches!(self.peek(0), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
            } else if c.is_ascii_hexdigit() || c == b'.' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.peek(0).is_some_and(is_name_start) {
            self.pos += 1;
        }
        let text = source.get(start..self.pos).unwrap_or_default();
        numeral_value(text).ok_or_else(|| self.error_near("malformed number", text))
    }
}

/// A numeral's value, as Lua's `luaO_str2num` reads it: an integer if it is one (hex ones wrap
/// around, decimal ones too large become floats), else a float.
fn numeral_value<S>(text: &[u8]) -> Option<Token<S>> {
    if let [b'0', b'x' | b'X', digits @ ..] = text {
        return match hex_integer(digits) {
            Some(i) => Some(Token::Integer(i)),
            None => hex_float(digits).map(Token::Float),
        };
    }
    let text = std::str::from_utf8(text).ok()?;
    if text.bytes().all(|c| c.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Token::Integer(i));
        }
    }
    // A numeral starts with a digit or '.', so it is never "inf" or "nan", which Rust reads
    // and Lua does not; otherwise Rust's syntax for floats is C's `strtod`'s.
    text.parse::<f64>().ok().map(Token::Float)
}

/// Hex digits (after `0x`) as an integer modulo 2^64.
fn hex_integer(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0i64, |value, &c| {
        let digit = i64::from(hex_value(c)?);
        Some(value.wrapping_mul(16).wrapping_add(digit))
    })
}

/// A hex float after its `0x` (`A.8p0`, `.8`, `1p-4`): hex digits with at most one `.`, at
/// least one digit, and an optional binary exponent; rounded to nearest, ties to even.
fn hex_float(digits: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match digits.iter().position(|&c| matches!(c, b'p' | b'P')) {
        Some(at) => (digits.get(..at)?, Some(digits.get(at + 1..)?)),
        None => (digits, None),
    };
    let (whole, fraction) = match mantissa.iter().position(|&c| c == b'.') {
        Some(at) => (mantissa.get(..at)?, mantissa.get(at + 1..)?),
        None => (mantissa, &[][..]),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut scale = exponent.map_or(Some(0), decimal_exponent)?;
    // 124 bits of digits are kept, far more than a double's 53; any nonzero digit dropped
    // after them sets the lowest bit, so that rounding still sees it.
    let mut bits: u128 = 0;
    let mut dropped = false;
    for (i, &c) in whole.iter().chain(fraction).enumerate() {
        let digit = hex_value(c)?;
        let in_fraction = i >= whole.len();
        if bits >> 120 == 0 {
            bits = bits << 4 | u128::from(digit);
            if in_fraction {
                scale = scale.saturating_sub(4);
            }
        } else {
            dropped |= digit != 0;
            if !in_fraction {
                scale = scale.saturating_add(4);
            }
        }
    }
    Some(scaled(bits | u128::from(dropped), scale))
}

/// A binary exponent's decimal digits, with an optional sign (saturating: far beyond any
/// double's range either way).
fn decimal_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let value = digits.iter().try_fold(0i64, |value, &c| {
        let digit = i64::from(c.checked_sub(b'0').filter(|d| *d < 10)?);
        Some(value.saturating_mul(10).saturating_add(digit).min(1 << 40))
    })?;
    Some(if negative { -value } else { value })
}

/// `mantissa × 2^exponent` as the nearest double (ties to even), subnormals included.
fn scaled(mantissa: u128, exponent: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let top = i64::from(127 - mantissa.leading_zeros()).saturating_add(exponent);
    if top > 1023 {
        return f64::INFINITY;
    }
    // The lowest bit a double keeps: 52 below the top one, and never below 2^-1074.
    let lowest = (top - 52).max(-1074);
    let drop = lowest.saturating_sub(exponent);
    if drop <= 0 {
        // Fits in 53 bits: exact.
        return mantissa as f64 * power_of_two(exponent);
    }
    round_shift(mantissa, drop) as f64 * power_of_two(lowest)
}

/// `value / 2^shift` (shift ≥ 1) rounded to nearest, ties to even.
fn round_shift(value: u128, shift: i64) -> u128 {
    let Ok(shift @ 1..=128) = u32::try_from(shift) else {
        // Below half of the lowest bit kept.
        return 0;
    };
    let (kept, rest) = if shift == 128 {
        (0, value)
    } else {
        (value >> shift, value & ((1 << shift) - 1))
    };
    let half = 1u128 << (shift - 1);
    if rest > half || (rest == half && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

/// 2^k exactly, for -1074 ≤ k ≤ 1023.
fn power_of_two(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074).clamp(0, 51))
    }
}

/// `value` in the extended UTF-8 Lua uses: up to 6 bytes, for any value below 2^31.
fn push_utf8(value: u32, out: &mut Vec<u8>) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    let len: u32 = match value {
        0x80..0x800 => 2,
        0x800..0x1_0000 => 3,
        0x1_0000..0x20_0000 => 4,
        0x20_0000..0x400_0000 => 5,
        _ => 6,
    };
    // The first byte: `len` ones, a zero, then the highest bits.
    let marker = 0xFFu8 << (8 - len);
    out.push(marker | (value >> (6 * (len - 1))) as u8);
    for i in (0..len - 1).rev() {
        out.push(0x80 | ((value >> (6 * i)) & 0x3F) as u8);
    }
}

/// A long string's body with each line end (`\n`, `\r`, `\r\n`, `\n\r`) as one `\n`.
fn normalize_newlines(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut bytes = body.iter().copied().peekable();
    while let Some(c) = bytes.next() {
        if is_newline(c) {
            bytes.next_if(|&d| is_newline(d) && d != c);
            out.push(b'\n');
        } else {
            out.push(c);
        }
    }
    out
}

/// The byte a one-letter escape (`\n`, `\\`, …) stands for.
fn simple_escape(c: u8) -> Option<u8> {
    Some(match c {
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => FORM_FEED,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => VERTICAL_TAB,
        b'\\' | b'"' | b'\'' => c,
        _ => return None,
    })
}

/// How PUC Lua quotes source text in a message (cut after [`NEAR_MAX`] bytes).
fn quote(text: &[u8]) -> String {
    match text.get(..NEAR_MAX) {
        Some(head) if text.len() > NEAR_MAX => format!("'{}...'", String::from_utf8_lossy(head)),
        _ => format!("'{}'", String::from_utf8_lossy(text)),
    }
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny interner for tests: strings as bytes, shown as text.
    #[derive(Clone, PartialEq)]
    pub(crate) struct Bytes(pub(crate) Vec<u8>);

    impl std::fmt::Debug for Bytes {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", String::from_utf8_lossy(&self.0))
        }
    }

    impl AsRef<[u8]> for Bytes {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    pub(crate) struct Interner;

    impl StringInterner for Interner {
        type String = Bytes;

        fn intern(&mut self, s: &[u8]) -> Bytes {
            Bytes(s.to_vec())
        }
    }

    /// Every token of `source` with its line, up to the end.
    fn lex(source: &[u8]) -> Result<Vec<(Token<Bytes>, u64)>, SyntaxError> {
        let mut interner = Interner;
        let mut lexer = Lexer::new(source, &mut interner);
        let mut tokens = Vec::new();
        loop {
            let lexeme = lexer.next()?;
            if lexeme.token == Token::Eof {
                return Ok(tokens);
            }
            tokens.push((lexeme.token, lexeme.line.0));
        }
    }

    fn tokens(source: &[u8]) -> Vec<Token<Bytes>> {
        lex(source)
            .unwrap()
            .into_iter()
            .map(|(token, _)| token)
            .collect()
    }

    fn one(source: &[u8]) -> Token<Bytes> {
        let mut all = tokens(source);
        assert_eq!(all.len(), 1, "{source:?}: {all:?}");
        all.remove(0)
    }

    fn string(source: &[u8]) -> Vec<u8> {
        match one(source) {
            Token::String(s) => s.0,
            other => panic!("{source:?}: {other:?}"),
        }
    }

    fn error(source: &[u8]) -> (String, u64) {
        let e = lex(source).unwrap_err();
        (e.message, e.line.0)
    }

    #[test]
    fn operators_and_keywords() {
        let all =
            tokens(b"+ - * / // % ^ # & ~ | << >> == ~= <= >= < > = ( ) { } [ ] :: ; : , . .. ...");
        let syms: Vec<&str> = all
            .iter()
            .map(|t| match t {
                Token::Sym(s) => s.text(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            syms.join(" "),
            "+ - * / // % ^ # & ~ | << >> == ~= <= >= < > = ( ) { } [ ] :: ; : , . .. ..."
        );
        assert_eq!(
            tokens(b"a...b..c.d"),
            [
                Token::Name(Bytes(b"a".to_vec())),
                Token::Sym(Sym::Dots),
                Token::Name(Bytes(b"b".to_vec())),
                Token::Sym(Sym::Concat),
                Token::Name(Bytes(b"c".to_vec())),
                Token::Sym(Sym::Dot),
                Token::Name(Bytes(b"d".to_vec())),
            ]
        );
        assert_eq!(one(b"goto"), Token::Sym(Sym::Goto));
        assert_eq!(one(b"elseif"), Token::Sym(Sym::ElseIf));
        assert_eq!(one(b"_end9"), Token::Name(Bytes(b"_end9".to_vec())));
        // Bytes that start no token are tokens of their own, for the parser to refuse.
        assert_eq!(
            tokens(b"@\xff!"),
            [Token::Other(b'@'), Token::Other(0xff), Token::Other(b'!')]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            string(br#""\a\b\f\n\r\t\v\\\"\'""#),
            b"\x07\x08\x0c\n\r\t\x0b\\\"'"
        );
        assert_eq!(string(br"'\x41\x6a\65\066\0a\255'"), b"Aj\x41\x42\x00a\xff");
        assert_eq!(
            string(br"'\u{48}\u{7FF}\u{FFFF}\u{10FFFF}'"),
            "H\u{7ff}\u{ffff}\u{10ffff}".as_bytes()
        );
        // Surrogates and values beyond Unicode: the old extended UTF-8, up to 6 bytes.
        assert_eq!(string(br"'\u{D800}'"), b"\xed\xa0\x80");
        assert_eq!(string(br"'\u{110000}'"), b"\xf4\x90\x80\x80");
        assert_eq!(string(br"'\u{3FFFFFF}'"), b"\xfb\xbf\xbf\xbf\xbf");
        assert_eq!(string(br"'\u{7FFFFFFF}'"), b"\xfd\xbf\xbf\xbf\xbf\xbf");
        assert_eq!(string(br"'\u{000000041}'"), b"A");
        // `\z` skips spaces and line ends; an escaped line end is one `\n`.
        assert_eq!(string(b"'a\\z  \n\r \t b'"), b"ab");
        assert_eq!(string(b"'a\\\r\nb\\\n\rc\\\rd\\\ne'"), b"a\nb\nc\nd\ne");
        // Any byte may be in a string.
        assert_eq!(string(b"'\xff\x00\xc3('"), b"\xff\x00\xc3(");
        let lines = lex(b"'a\\\r\nb' x").unwrap();
        assert_eq!(lines[1].1, 1);
    }

    #[test]
    fn long_brackets_and_comments() {
        assert_eq!(string(b"[[abc]]"), b"abc");
        assert_eq!(string(b"[==[\nab]]c]=]]==]"), b"ab]]c]=]");
        assert_eq!(string(b"[[\r\nx\r\ny\n\rz\rw]]"), b"x\ny\nz\nw");
        assert_eq!(string(b"[[]]"), b"");
        assert_eq!(string(b"[=[]]=]"), b"]");
        assert_eq!(string(b"[[\xff]]"), b"\xff");
        assert_eq!(
            tokens(b"--[[ long\n comment ]] x -- short\n--[==[ ]] ]==] y"),
            [
                Token::Name(Bytes(b"x".to_vec())),
                Token::Name(Bytes(b"y".to_vec())),
            ]
        );
        // `--[=` without a second bracket is a short comment.
        assert_eq!(tokens(b"--[=x\ny"), [Token::Name(Bytes(b"y".to_vec()))]);
        assert_eq!(tokens(b"--[==\ny"), [Token::Name(Bytes(b"y".to_vec()))]);
        assert_eq!(
            tokens(b"-- \xff\xfe\nz"),
            [Token::Name(Bytes(b"z".to_vec()))]
        );
        assert_eq!(one(b"["), Token::Sym(Sym::LeftBracket));
    }

    #[test]
    fn lines() {
        let all = lex(b"a\nb\r\nc\n\rd\re\n\nf [[\n\n]] g --[[\r\r]] h").unwrap();
        let lines: Vec<u64> = all.iter().map(|(_, line)| *line).collect();
        assert_eq!(lines, [0, 1, 2, 3, 4, 6, 6, 8, 10]);
        // A shebang line is skipped but counted.
        let all = lex(b"#!/usr/bin/lua \xff\nx").unwrap();
        assert_eq!(all, [(Token::Name(Bytes(b"x".to_vec())), 1)]);
        assert_eq!(lex(b"# only").unwrap(), []);
    }

    #[test]
    fn numbers() {
        let cases: &[(&[u8], Token<Bytes>)] = &[
            (b"3", Token::Integer(3)),
            (b"0", Token::Integer(0)),
            (b"00012", Token::Integer(12)),
            (b"3.", Token::Float(3.0)),
            (b".5", Token::Float(0.5)),
            (b"3.25", Token::Float(3.25)),
            (b"1e10", Token::Float(1e10)),
            (b"1E+2", Token::Float(100.0)),
            (b"2.5e-1", Token::Float(0.25)),
            (b"1.e2", Token::Float(100.0)),
            (b"9223372036854775807", Token::Integer(i64::MAX)),
            (b"9223372036854775808", Token::Float(9223372036854775808.0)),
            (b"0x10", Token::Integer(16)),
            (b"0XfF", Token::Integer(255)),
            (b"0x7fffffffffffffff", Token::Integer(i64::MAX)),
            (b"0xffffffffffffffff", Token::Integer(-1)),
            (b"0x10000000000000000", Token::Integer(0)),
            (b"0x1p4", Token::Float(16.0)),
            (b"0x.8", Token::Float(0.5)),
            (b"0xA.8p0", Token::Float(10.5)),
            (b"0x1P-2", Token::Float(0.25)),
            (b"0x1p+2", Token::Float(4.0)),
            (b"0x.1", Token::Float(0.0625)),
            (b"0x1.", Token::Float(1.0)),
            (b"0x1e", Token::Integer(30)),
            (b"0x1.fffffffffffff8p0", Token::Float(2.0)),
            (
                b"0x1.fffffffffffff7ffp0",
                Token::Float(f64::from_bits(0x3FFF_FFFF_FFFF_FFFF)),
            ),
            (b"0x1p-1074", Token::Float(f64::from_bits(1))),
            (b"0x1p-1075", Token::Float(0.0)),
            (b"0x1.8p-1075", Token::Float(f64::from_bits(1))),
            (b"0x1p1023", Token::Float(2f64.powi(1023))),
            (b"0x1p1024", Token::Float(f64::INFINITY)),
            (b"0x0p99999999999999999999", Token::Float(0.0)),
        ];
        for (source, expected) in cases {
            assert_eq!(
                &one(source),
                expected,
                "{}",
                String::from_utf8_lossy(source)
            );
        }
        // A hex float with more digits than a double keeps is still rounded right.
        let long = format!("0x1{}1p0", "0".repeat(40));
        assert_eq!(one(long.as_bytes()), Token::Float(2f64.powi(164)));
        assert_eq!(
            tokens(b"0x1e+5 1-2"),
            [
                Token::Integer(30),
                Token::Sym(Sym::Plus),
                Token::Integer(5),
                Token::Integer(1),
                Token::Sym(Sym::Minus),
                Token::Integer(2),
            ]
        );
    }

    #[test]
    fn malformed_numbers() {
        for bad in [
            "3x", "0x", "1e", "1e+", "3..2", "0x1p", "0xg", "1.2.3", "0x.p1", "12a", "1_",
        ] {
            let (message, _) = error(bad.as_bytes());
            assert_eq!(message, format!("malformed number near '{bad}'"));
        }
    }

    #[test]
    fn errors() {
        let cases: &[(&[u8], &str, u64)] = &[
            (b"x = \"abc", "unfinished string near <eof>", 0),
            (b"\n'abc\nx'", "unfinished string near ''abc'", 1),
            (b"'a\\tb\n'", "unfinished string near ''a\tb'", 0),
            (br"'\256'", r"decimal escape too large near ''\256''", 0),
            (br"'ab\q'", r"invalid escape sequence near ''ab\q'", 0),
            (br"'\xg0'", r"hexadecimal digit expected near ''\xg'", 0),
            (br"'\x5'", r"hexadecimal digit expected near ''\x5''", 0),
            (
                br"'\u{80000000}'",
                r"UTF-8 value too large near ''\u{80000000'",
                0,
            ),
            (
                br"'\u{110000000}'",
                r"UTF-8 value too large near ''\u{110000000'",
                0,
            ),
            (br"'\u0041'", r"missing '{' near ''\u0'", 0),
            (br"'\u{41'", r"missing '}' near ''\u{41''", 0),
            (br"'\u{}'", r"hexadecimal digit expected near ''\u{}'", 0),
            (b"'abc\\", "unfinished string near <eof>", 0),
            (
                b"x = [==[\n\nabc]=]",
                "unfinished long string (starting at line 1) near <eof>",
                2,
            ),
            (
                b"\n--[[ never closed",
                "unfinished long comment (starting at line 2) near <eof>",
                1,
            ),
            (b"[=x", "invalid long string delimiter near '[='", 0),
            (
                b"[==[ ]=]",
                "unfinished long string (starting at line 1) near <eof>",
                0,
            ),
        ];
        for (source, message, line) in cases {
            assert_eq!(error(source), (message.to_string(), *line), "{source:?}");
        }
    }

    #[test]
    fn hostile_inputs() {
        // Long tokens are quoted cut in messages.
        let (message, _) = error(format!("'{}", "a".repeat(10_000)).as_bytes());
        assert!(message.len() < 200, "{message}");
        let huge = "9".repeat(100_000);
        assert_eq!(one(huge.as_bytes()), Token::Float(f64::INFINITY));
        let hex = format!("0x{}", "f".repeat(100_000));
        assert_eq!(one(hex.as_bytes()), Token::Integer(-1));
        assert_eq!(one(b"1e999999999999999999999"), Token::Float(f64::INFINITY));
        assert!(lex(&[b'['; 100_000]).is_err());
        assert!(lex("[".repeat(50_000).as_bytes()).is_err());
        assert_eq!(tokens(&[b']'; 1000]).len(), 1000);
        let many = format!("[==[{}]==]", "]=]".repeat(10_000));
        assert_eq!(string(many.as_bytes()).len(), 30_000);
        for source in [
            &b"--[["[..],
            b"\"",
            b"'\\",
            b"'\\u{",
            b"0x",
            b"[=",
            b"--[==[ ]=",
        ] {
            assert!(lex(source).is_err(), "{source:?}");
        }
    }
}
