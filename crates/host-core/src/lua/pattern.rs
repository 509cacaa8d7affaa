//! Lua 5.4 patterns: character classes, sets, `%b`, `%f`, captures, position captures,
//! back-references, anchors, and the quantifiers `* + - ?`. Our own matcher, written from the
//! Lua reference manual (§6.4.1), with two bounds the reference implementation lacks: a step
//! budget (each attempt of a pattern item is a step), so that a backtracking pattern ends with
//! an error instead of running for minutes, and the reference's recursion limit of 200.

/// Most captures in one pattern (Lua's `LUA_MAXCAPTURES`).
pub(crate) const MAX_CAPTURES: usize = 32;
/// Deepest recursion of the matcher (Lua's `MAXCCALLS`).
const MAX_DEPTH: u32 = 200;
const ESC: u8 = b'%';
/// Characters that make a pattern more than a plain substring.
pub(crate) const SPECIALS: &[u8] = b"^$*+?.([%-";

/// Why matching stopped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// The pattern is malformed (the message is Lua's).
    Malformed(String),
    /// The step budget ran out.
    Budget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapLen {
    Unfinished,
    Position,
    Len(usize),
}

/// A capture's value: a substring or a (1-based) position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capture {
    Range(usize, usize),
    Position(usize),
}

pub(crate) struct Matcher<'a> {
    src: &'a [u8],
    pat: &'a [u8],
    level: usize,
    captures: [(usize, CapLen); MAX_CAPTURES],
    depth: u32,
    /// Steps taken so far, over all matches of this matcher.
    pub(crate) steps: u64,
    budget: u64,
}

type R<T> = Result<T, PatternError>;

fn malformed<T>(msg: &str) -> R<T> {
    Err(PatternError::Malformed(msg.to_owned()))
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn match_class(c: u8, class: u8) -> bool {
    let res = match class.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        b's' => is_space(c),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        _ => return class == c,
    };
    if class.is_ascii_uppercase() {
        !res
    } else {
        res
    }
}

impl<'a> Matcher<'a> {
    pub(crate) fn new(src: &'a [u8], pat: &'a [u8], budget: u64) -> Self {
        Self {
            src,
            pat,
            level: 0,
            captures: [(0, CapLen::Unfinished); MAX_CAPTURES],
            depth: MAX_DEPTH,
            steps: 0,
            budget,
        }
    }

    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > self.budget {
            return Err(PatternError::Budget);
        }
        Ok(())
    }

    /// Tries to match the pattern (from pattern index `p`) at `s`; the end of the match.
    pub(crate) fn match_at(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        self.level = 0;
        self.depth = MAX_DEPTH;
        self.do_match(s, p)
    }

    /// The captures of the last match from `s` to `e` (the whole match if there are none).
    pub(crate) fn captures(&self, s: usize, e: usize, whole_if_none: bool) -> R<Vec<Capture>> {
        let n = if self.level == 0 && whole_if_none {
            1
        } else {
            self.level
        };
        (0..n).map(|i| self.capture(i, s, e)).collect()
    }

    /// Capture `i` (0-based); capture 0 is the whole match when there are none.
    pub(crate) fn capture(&self, i: usize, s: usize, e: usize) -> R<Capture> {
        if i >= self.level {
            if i == 0 {
                return Ok(Capture::Range(s, e));
            }
            return Err(PatternError::Malformed(format!(
                "invalid capture index %{}",
                i + 1
            )));
        }
        match self.captures[i] {
            (start, CapLen::Position) => Ok(Capture::Position(start + 1)),
            (_, CapLen::Unfinished) => malformed("unfinished capture"),
            (start, CapLen::Len(len)) => Ok(Capture::Range(start, start + len)),
        }
    }

    fn class_end(&self, mut p: usize) -> R<usize> {
        let c = self.pat[p];
        p += 1;
        if c == ESC {
            if p >= self.pat.len() {
                return malformed("malformed pattern (ends with '%')");
            }
            return Ok(p + 1);
        }
        if c == b'[' {
            if self.pat.get(p) == Some(&b'^') {
                p += 1;
            }
            // The first character of the set is taken literally (so `[]]` is a set of `]`).
            loop {
                if p >= self.pat.len() {
                    return malformed("malformed pattern (missing ']')");
                }
                let cc = self.pat[p];
                p += 1;
                if cc == ESC && p < self.pat.len() {
                    p += 1;
                }
                if self.pat.get(p) == Some(&b']') {
                    return Ok(p + 1);
                }
            }
        }
        Ok(p)
    }

    /// Whether `c` is in the set `[...]` from `p` (at `[`) to `ec` (at `]`).
    fn match_bracket(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.pat.get(p + 1) == Some(&b'^') {
            sig = false;
            p += 1;
        }
        p += 1;
        while p < ec {
            if self.pat[p] == ESC {
                p += 1;
                if match_class(c, self.pat[p]) {
                    return sig;
                }
                p += 1;
            } else if self.pat.get(p + 1) == Some(&b'-') && p + 2 < ec {
                if self.pat[p] <= c && c <= self.pat[p + 2] {
                    return sig;
                }
                p += 3;
            } else {
                if self.pat[p] == c {
                    return sig;
                }
                p += 1;
            }
        }
        !sig
    }

    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            ESC => match_class(c, self.pat[p + 1]),
            b'[' => self.match_bracket(c, p, ep - 1),
            pc => pc == c,
        }
    }

    fn do_match(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        if self.depth == 0 {
            return malformed("pattern too complex");
        }
        self.depth -= 1;
        let r = self.match_inner(s, p);
        self.depth += 1;
        r
    }

    fn match_inner(&mut self, mut s: usize, mut p: usize) -> R<Option<usize>> {
        loop {
            self.step()?;
            if p >= self.pat.len() {
                return Ok(Some(s));
            }
            match self.pat[p] {
                b'(' => {
                    return if self.pat.get(p + 1) == Some(&b')') {
                        self.start_capture(s, p + 2, CapLen::Position)
                    } else {
                        self.start_capture(s, p + 1, CapLen::Unfinished)
                    };
                }
                b')' => return self.end_capture(s, p + 1),
                b'$' if p + 1 == self.pat.len() => {
                    return Ok((s == self.src.len()).then_some(s));
                }
                ESC if self.pat.get(p + 1) == Some(&b'b') => match self.match_balance(s, p + 2)? {
                    Some(e) => {
                        s = e;
                        p += 4;
                        continue;
                    }
                    None => return Ok(None),
                },
                ESC if self.pat.get(p + 1) == Some(&b'f') => {
                    p += 2;
                    if self.pat.get(p) != Some(&b'[') {
                        return malformed("missing '[' after '%f' in pattern");
                    }
                    let ep = self.class_end(p)?;
                    let previous = if s == 0 { 0 } else { self.src[s - 1] };
                    let current = self.src.get(s).copied().unwrap_or(0);
                    if !self.match_bracket(previous, p, ep - 1)
                        && self.match_bracket(current, p, ep - 1)
                    {
                        p = ep;
                        continue;
                    }
                    return Ok(None);
                }
                ESC if self.pat.get(p + 1).is_some_and(u8::is_ascii_digit) => {
                    match self.match_capture(s, self.pat[p + 1])? {
                        Some(e) => {
                            s = e;
                            p += 2;
                            continue;
                        }
                        None => return Ok(None),
                    }
                }
                _ => {
                    let ep = self.class_end(p)?;
                    let quantifier = self.pat.get(ep).copied();
                    if !self.single_match(s, p, ep) {
                        if matches!(quantifier, Some(b'*' | b'?' | b'-')) {
                            p = ep + 1;
                            continue;
                        }
                        return Ok(None);
                    }
                    match quantifier {
                        Some(b'?') => {
                            if let Some(e) = self.do_match(s + 1, ep + 1)? {
                                return Ok(Some(e));
                            }
                            p = ep + 1;
                        }
                        Some(b'+') => return self.max_expand(s + 1, p, ep),
                        Some(b'*') => return self.max_expand(s, p, ep),
                        Some(b'-') => return self.min_expand(s, p, ep),
                        _ => {
                            s += 1;
                            p = ep;
                        }
                    }
                }
            }
        }
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> R<Option<usize>> {
        let mut i = 0usize;
        while self.single_match(s + i, p, ep) {
            self.step()?;
            i += 1;
        }
        loop {
            if let Some(e) = self.do_match(s + i, ep + 1)? {
                return Ok(Some(e));
            }
            if i == 0 {
                return Ok(None);
            }
            i -= 1;
        }
    }

    fn min_expand(&mut self, mut s: usize, p: usize, ep: usize) -> R<Option<usize>> {
        loop {
            if let Some(e) = self.do_match(s, ep + 1)? {
                return Ok(Some(e));
            }
            if self.single_match(s, p, ep) {
                s += 1;
            } else {
                return Ok(None);
            }
        }
    }

    fn start_capture(&mut self, s: usize, p: usize, what: CapLen) -> R<Option<usize>> {
        if self.level >= MAX_CAPTURES {
            return malformed("too many captures");
        }
        self.captures[self.level] = (s, what);
        self.level += 1;
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.level -= 1;
        }
        Ok(r)
    }

    fn end_capture(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        let Some(l) = (0..self.level)
            .rev()
            .find(|&l| self.captures[l].1 == CapLen::Unfinished)
        else {
            return malformed("invalid pattern capture");
        };
        self.captures[l].1 = CapLen::Len(s - self.captures[l].0);
        let r = self.do_match(s, p)?;
        if r.is_none() {
            self.captures[l].1 = CapLen::Unfinished;
        }
        Ok(r)
    }

    fn match_balance(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        if p + 1 >= self.pat.len() {
            return malformed("malformed pattern (missing arguments to '%b')");
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        if self.src.get(s) != Some(&open) {
            return Ok(None);
        }
        let mut depth = 1u32;
        let mut i = s + 1;
        while i < self.src.len() {
            self.step()?;
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
            i += 1;
        }
        Ok(None)
    }

    fn match_capture(&mut self, s: usize, digit: u8) -> R<Option<usize>> {
        let l = usize::from(digit).wrapping_sub(usize::from(b'1'));
        let Some(&(start, CapLen::Len(len))) = self.captures[..self.level].get(l) else {
            return Err(PatternError::Malformed(format!(
                "invalid capture index %{}",
                l.wrapping_add(1)
            )));
        };
        self.steps += len as u64 / 64;
        if self.src.len() - s >= len && self.src[start..start + len] == self.src[s..s + len] {
            Ok(Some(s + len))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (start, end) of the first match and its captures as strings, like `string.find`.
    fn find(src: &str, pat: &str) -> Option<(usize, usize, Vec<String>)> {
        let (src, pat) = (src.as_bytes(), pat.as_bytes());
        let (anchor, p0) = if pat.first() == Some(&b'^') {
            (true, 1)
        } else {
            (false, 0)
        };
        let mut m = Matcher::new(src, pat, 1_000_000);
        for s in 0..=src.len() {
            if let Some(e) = m.match_at(s, p0).unwrap() {
                let caps = m
                    .captures(s, e, false)
                    .unwrap()
                    .into_iter()
                    .map(|c| match c {
                        Capture::Range(a, b) => String::from_utf8_lossy(&src[a..b]).into_owned(),
                        Capture::Position(p) => p.to_string(),
                    })
                    .collect();
                return Some((s + 1, e, caps));
            }
            if anchor {
                break;
            }
        }
        None
    }

    #[test]
    fn reference_manual_examples() {
        assert_eq!(find("hello world", "o w"), Some((5, 7, vec![])));
        assert_eq!(find("hello", "l+"), Some((3, 4, vec![])));
        assert_eq!(
            find("key = value", "(%w+)%s*=%s*(%w+)"),
            Some((1, 11, vec!["key".into(), "value".into()]))
        );
        assert_eq!(
            find("THE (quick) fox", "%((%a+)%)"),
            Some((5, 11, vec!["quick".into()]))
        );
        assert_eq!(
            find("x = [[a]] y", "%[(=*)%[(.-)%]%1%]"),
            Some((5, 9, vec!["".into(), "a".into()]))
        );
        assert_eq!(find("f(a(b)c) d", "%b()"), Some((2, 8, vec![])));
        assert_eq!(find("THE (quick) fox", "%f[%a]%a+"), Some((1, 3, vec![])));
        assert_eq!(
            find("hello", "()ll()"),
            Some((3, 4, vec!["3".into(), "5".into()]))
        );
        assert_eq!(find("  x", "^%s*(.-)%s*$"), Some((1, 3, vec!["x".into()])));
        assert_eq!(find("abc", "^b"), None);
        assert_eq!(find("abc", "c$"), Some((3, 3, vec![])));
        assert_eq!(find("a$b", "%$"), Some((2, 2, vec![])));
        assert_eq!(find("a]b", "[]]"), Some((2, 2, vec![])));
        assert_eq!(find("a-b", "[a%-]+"), Some((1, 2, vec![])));
        assert_eq!(find("x9z", "[^%a]"), Some((2, 2, vec![])));
        assert_eq!(
            find("2024-11-23", "(%d+)-(%d+)-(%d+)"),
            Some((1, 10, vec!["2024".into(), "11".into(), "23".into()]))
        );
        assert_eq!(find("aaa", "a-b"), None);
        assert_eq!(find("aaab", "a-b"), Some((1, 4, vec![])));
        assert_eq!(find("color colour", "colou?r"), Some((1, 5, vec![])));
    }

    #[test]
    fn malformed_patterns_are_errors() {
        for (pat, msg) in [
            ("%", "ends with '%'"),
            ("[a", "missing ']'"),
            ("(a", "unfinished capture"),
            ("a)", "invalid pattern capture"),
            ("%1", "invalid capture index"),
            ("%b", "missing arguments"),
            ("%fa", "missing '['"),
        ] {
            let mut m = Matcher::new(b"abc", pat.as_bytes(), 1000);
            let r = (0..=3).try_for_each(|s| match m.match_at(s, 0) {
                Ok(Some(e)) => m.captures(s, e, false).map(|_| ()),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            });
            match r {
                Err(PatternError::Malformed(m)) => assert!(m.contains(msg), "{pat}: {m}"),
                other => panic!("{pat}: expected an error, got {other:?}"),
            }
        }
    }

    #[test]
    fn backtracking_is_bounded_by_the_step_budget() {
        let src = "a".repeat(30);
        let pat = "(.-)(.-)(.-)(.-)(.-)b";
        let mut m = Matcher::new(src.as_bytes(), pat.as_bytes(), 100_000);
        let r = (0..=src.len()).try_for_each(|s| m.match_at(s, 0).map(|_| ()));
        assert_eq!(r, Err(PatternError::Budget));
    }

    #[test]
    fn deep_patterns_are_too_complex_not_a_stack_overflow() {
        let pat = "a?".repeat(5000);
        let src = "a".repeat(5000);
        let mut m = Matcher::new(src.as_bytes(), pat.as_bytes(), u64::MAX);
        assert!(
            matches!(m.match_at(0, 0), Err(PatternError::Malformed(e)) if e.contains("too complex"))
        );
    }
}
