//! `load`: text chunks from strings and reader functions, with a chunk name, a mode and an
//! environment; binary chunks refused; compiling bounded by the memory cap and charged fuel.

use crate::common::{assert_kind, canary, lua_body as run, lua_body_on as run_on};
use plugboard_host_core::{ErrorKind, Host, Limits};

#[test]
fn load_compiles_a_string_with_its_own_operators() {
    assert_eq!(
        run("return load('return 1 + 2, \"a\" .. 7 // 2')()"),
        r#"[3,"a3"]"#
    );
    assert_eq!(
        run("local f = load('local a, b = ... return b, a') return f(1, 2)"),
        "[2,1]"
    );
    // Globals are the plugin's unless an environment is given.
    assert_eq!(run("x = 5 return load('return x')()"), "5");
    assert_eq!(
        run("return load('return x .. y', 'n', 't', {x = 'a', y = 'b'})()"),
        r#""ab""#
    );
    assert_eq!(run("return load('x = 1', 'n', 't', nil) ~= nil"), "true");
    assert_eq!(run("return (pcall(load('x = 1', 'n', 't', nil)))"), "false");
}

#[test]
fn load_reads_pieces_from_a_function() {
    assert_eq!(
        run("local parts, i = {'return ', '4', '2'}, 0 return load(function() i = i + 1 return parts[i] end)()"),
        "42"
    );
    assert_eq!(
        run("return load(function() return 1 end)"),
        r#"[null,"reader function must return a string"]"#
    );
}

#[test]
fn syntax_errors_are_returned_with_the_chunk_name_and_line() {
    assert_eq!(
        run("local f, m = load('x = 1\\ny = = 1', '=mine') return f, string.match(m, '^mine:2: ') ~= nil"),
        "[null,true]"
    );
    assert_eq!(
        run("local f, m = load('x = = 1') return string.match(m, '^%[string \"x = = 1\"%]:1: ') ~= nil"),
        "true"
    );
}

#[test]
fn binary_chunks_and_wrong_modes_are_refused() {
    assert_eq!(
        run("return load('\\27Lua...')"),
        r#"[null,"[string \"\u001bLua...\"]: binary chunks are not supported"]"#
    );
    assert_eq!(
        run("return load('return 1', '=c', 'b')"),
        r#"[null,"c: attempt to load a text chunk (mode is 'b')"]"#
    );
}

#[test]
fn a_chunk_too_large_to_compile_under_the_cap_is_memory_limit() {
    let host = Host::builder()
        .limits(Limits {
            memory_bytes: 4 << 20,
            ..Limits::default()
        })
        .build();
    // Compiling 8 KiB of assignments costs about 1 MiB (`memory_goals.rs` measures it): it
    // fits a 4 MiB cap; 1 MiB of them would take over 100 MiB and is refused before parsing.
    assert_eq!(
        run_on(&host, "return load(string.rep('x=1 ', 2048)) ~= nil").unwrap(),
        "true"
    );
    assert_kind(
        run_on(&host, "return load(string.rep('x=1 ', 262144))"),
        |k| matches!(k, ErrorKind::MemoryLimit { .. }),
    );
    canary(&host);
}

#[test]
fn require_uses_package_loaded_and_preload() {
    assert_eq!(
        run(
            "package.preload.x = function(n, d) return {n = n, d = d} end
             local m, d = require('x')
             return m.n, m.d, d, require('x') == m, package.loaded.string == string, package.path"
        ),
        r#"["x",":preload:",":preload:",true,true,""]"#
    );
    assert_eq!(
        run("package.loaded.y = 'given' return require('y')"),
        r#""given""#
    );
    assert_eq!(
        run("local ok, e = pcall(require, 'nope') return ok, string.find(e, \"module 'nope' not found\", 1, true) ~= nil"),
        "[false,true]"
    );
}
