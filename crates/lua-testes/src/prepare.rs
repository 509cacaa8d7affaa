//! The text both engines run: a one-line prelude (the counting `assert`, the flags PUC's driver
//! sets for a portable, soft run), then the file or chunk as the body of `__testes_run`, placed
//! so that every line keeps its number in the file.

/// Defines `assert` (counts through `testes.tally`, returns its arguments, never raises), seeds
/// `math.random` and makes `math.randomseed()` seed with a constant (PUC seeds at random, and
/// some files loop a random number of times: the counts must not change from run to run) and
/// opens `function __testes_run(...)` on line 1.
const PRELUDE: &str = "_soft = true _port = true _nomsg = true \
local __seed = math.randomseed __seed(7) \
math.randomseed = function(...) if select('#', ...) == 0 then return __seed(7) end return __seed(...) end \
local __tally = testes.tally \
assert = function(c, ...) __tally(not not c) return c, ... end \
function __testes_run(...) ";

/// `code` (which starts on line `first` of its file) as the body of `__testes_run`.
pub(crate) fn text(code: &[u8], first: usize) -> Vec<u8> {
    let mut out = PRELUDE.as_bytes().to_vec();
    out.extend(std::iter::repeat_n(b'\n', first.saturating_sub(1)));
    // A shebang line is not Lua inside a function.
    let code = if code.starts_with(b"#") {
        let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
        &code[end..]
    } else {
        code
    };
    out.extend_from_slice(code);
    out.extend_from_slice(b"\nend\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_keep_their_numbers() {
        let t = super::text(b"x = 1\ny = 2", 3);
        let s = String::from_utf8(t).unwrap_or_default();
        assert_eq!(s.lines().nth(2), Some("x = 1"));
        assert!(s.starts_with("_soft = true"));
        assert!(s.ends_with("\nend\n"));
    }
}
