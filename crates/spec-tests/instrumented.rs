//! The spec testsuite a second time, every module rewritten by host-core's fuel instrumenter
//! ([`plugboard_host_core::meter`]) and run by wasmi with its own fuel metering off.
//!
//! The `.wast` text is rewritten before `wasmi_wast` reads it: each module a directive
//! instantiates (`(module …)` at the top level, and the module of `assert_unlinkable`) is encoded, instrumented with a budget no test can exhaust, and put back
//! as `(module $name binary "…")`; a first module provides the `out_of_fuel` import (it traps,
//! so a test that ran out of fuel would fail with the wrong message). Modules that must not
//! validate or parse (`assert_invalid`, `assert_malformed`) are left alone: the instrumenter only
//! sees modules host-core has validated. `assert_exhaustion` must still report the call stack,
//! not fuel.
//!
//! The modules of `assert_trap (module …)` (instantiation that fails part way) are left alone
//! too: `linking.wast` then calls a function such a module left in a shared table, and wasmi 2.0
//! crashes the process (SIGSEGV) when that function reads a global of its never-finished
//! instance; instrumented, every function reads the fuel global. plugboard never shares tables
//! between plugins, so a plugin cannot reach this.

use plugboard_host_core::meter::{instrument, MeterConfig};

/// Provides `plugboard.out_of_fuel` to every instrumented module.
const PRELUDE: &str =
    "(module (func (export \"out_of_fuel\") unreachable))\n(register \"plugboard\")\n";

/// The first words of the directives of a `.wast` file.
const DIRECTIVES: &[&str] = &[
    "module",
    "register",
    "invoke",
    "get",
    "assert_return",
    "assert_trap",
    "assert_exhaustion",
    "assert_invalid",
    "assert_malformed",
    "assert_unlinkable",
    "assert_exception",
    "component",
];

/// The file's text with every module that gets instantiated instrumented; the number of
/// modules rewritten.
pub fn rewrite(wast: &str) -> Result<(String, usize), String> {
    // A file of bare module fields is one inline module (inline-module.wast).
    let inline;
    let wast = match forms(wast, 0, wast.len()).first() {
        Some(&(s, e)) if !DIRECTIVES.contains(&head(&wast[s..e])) => {
            inline = format!("(module\n{wast}\n)");
            inline.as_str()
        }
        _ => wast,
    };
    let config = MeterConfig {
        initial_fuel: i64::MAX,
        ..MeterConfig::default()
    };
    let mut out = String::from(PRELUDE);
    let mut copied = 0;
    let mut rewritten = 0;
    for (start, end) in forms(wast, 0, wast.len()) {
        let form = &wast[start..end];
        let module = match head(form) {
            "module" => Some((start, end)),
            "assert_unlinkable" => forms(wast, start + 1, end - 1)
                .into_iter()
                .find(|&(s, e)| head(&wast[s..e]) == "module"),
            _ => None,
        };
        let Some((s, e)) = module else { continue };
        let text = &wast[s..e];
        if is_quote_or_definition(text) {
            continue;
        }
        let (name, bytes) = encode(text)?;
        let metered =
            instrument(&bytes, &config).map_err(|err| format!("{err} in {}", first_line(text)))?;
        out.push_str(&wast[copied..s]);
        out.push_str("(module");
        if let Some(name) = name {
            out.push_str(" $");
            out.push_str(&name);
        }
        out.push_str(" binary \"");
        for b in metered {
            out.push_str(&format!("\\{b:02x}"));
        }
        out.push_str("\")");
        copied = e;
        rewritten += 1;
    }
    out.push_str(&wast[copied..]);
    Ok((out, rewritten))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn is_quote_or_definition(module: &str) -> bool {
    let rest = module[1..].trim_start().trim_start_matches("module");
    let mut words = rest.split_whitespace();
    let word = words.next().unwrap_or("");
    let word = if word.starts_with('$') {
        words.next().unwrap_or("")
    } else {
        word
    };
    matches!(word, "quote" | "definition" | "instance")
}

/// A module form's `$name` and its binary encoding.
fn encode(text: &str) -> Result<(Option<String>, Vec<u8>), String> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true); // names.wast's export names
    let buffer = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(|e| e.to_string())?;
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer)
        .map_err(|e| format!("{e} in {}", first_line(text)))?;
    let name = match &wat {
        wast::Wat::Module(m) => m.id.map(|id| id.name().to_string()),
        wast::Wat::Component(_) => return Err("a component".into()),
    };
    let bytes = wat.encode().map_err(|e| e.to_string())?;
    Ok((name, bytes))
}

/// The first word of a form, past whitespace and comments: `(assert_trap …` → `assert_trap`.
fn head(form: &str) -> &str {
    let mut rest = &form[1..];
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("(;") {
            rest = after.find(";)").map_or("", |i| &after[i + 2..]);
        } else if let Some(after) = trimmed.strip_prefix(";;") {
            rest = after.find('\n').map_or("", |i| &after[i..]);
        } else {
            rest = trimmed;
            break;
        }
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';'))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The byte ranges of the parenthesised forms directly inside `text[from..to]`, skipping
/// strings and comments.
fn forms(text: &str, from: usize, to: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = from;
    while i < to {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < to && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b';' if bytes.get(i + 1) == Some(&b';') => {
                while i < to && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' if bytes.get(i + 1) == Some(&b';') => {
                let mut nest = 1;
                i += 2;
                while i < to && nest > 0 {
                    if bytes[i] == b'(' && bytes.get(i + 1) == Some(&b';') {
                        nest += 1;
                        i += 1;
                    } else if bytes[i] == b';' && bytes.get(i + 1) == Some(&b')') {
                        nest -= 1;
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            b'(' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    found.push((start, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_skip_strings_and_comments() {
        let text = r#"(module ";)(" (; ( ;) ) ;; (
(assert_trap (module (func)) "x")"#;
        let f = forms(text, 0, text.len());
        assert_eq!(f.len(), 2);
        assert_eq!(head(&text[f[1].0..f[1].1]), "assert_trap");
    }
}
