//! `dts`: raw bytes as an Extism `interface.d.ts` through [`Interface::parse`]. Oracle: no
//! panic; every error is an `Interface` error with a line and column inside the text; a parsed
//! interface, printed back in the accepted subset, parses to the same interface.

use plugboard_host_core::{ErrorKind, Interface};
use std::fmt::Write;

fn print(i: &Interface) -> String {
    let mut s = String::from("declare module 'main' {\n");
    for name in i.exports() {
        let _ = writeln!(s, "  export function {name}(): I32;");
    }
    s.push_str("}\ndeclare module 'extism:host' {\n  interface user {\n");
    for f in i.imports() {
        let params: Vec<String> = f.params.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        let result = f.result.map_or("void", |t| t.name());
        let _ = writeln!(s, "    {}({}): {result};", f.name, params.join(", "));
    }
    s.push_str("  }\n}\n");
    s
}

pub fn dts(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match Interface::parse(&text) {
        Ok(i) => {
            let printed = print(&i);
            let again = Interface::parse(&printed)
                .unwrap_or_else(|e| panic!("printed interface does not parse: {e}\n{printed}"));
            assert_eq!(again, i, "interface changed through print/parse");
        }
        Err(e) => {
            let ErrorKind::Interface { line, column, .. } = e.kind() else {
                panic!("Interface::parse gave {e:?}")
            };
            let lines = text.split('\n').count() as u32;
            assert!(
                *line >= 1 && *line <= lines.max(1),
                "line {line} of {lines}"
            );
            assert!(*column >= 1, "column {column}");
        }
    }
}
