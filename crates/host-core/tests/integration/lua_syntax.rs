//! Lua sources reach piccolo's compiler exactly as written (parsed by piccolo's own parser,
//! lowered on the syntax tree): what a text rewrite in front of the compiler used to refuse
//! or change, and the lowered operators' Lua 5.4 semantics.

use plugboard_host_core::{ErrorKind, Host};

/// Runs `src` as the body of `function f()` in a fresh plugin; the result as JSON.
fn run(src: &[u8]) -> String {
    let mut main = b"function f()\n".to_vec();
    main.extend_from_slice(src);
    main.extend_from_slice(b"\nend");
    let mut p = Host::builder()
        .build()
        .load_lua_files(
            [("main.lua".to_owned(), main)],
            plugboard_host_core::PluginOptions::named("t"),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(src)));
    p.call_value("f", vec![])
        .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(src)))
        .to_json()
}

#[test]
fn concatenation_of_an_indexed_operand() {
    assert_eq!(run(b"local a, i = {'y'}, 1 return 'x' .. a[i]"), r#""xy""#);
    assert_eq!(run(b"local t = {3} return 1 & t[1], 6 | t[1]"), "[1,7]");
}

#[test]
fn multiple_assignment_to_indexed_targets() {
    assert_eq!(
        run(b"local a, i, j = {1, 2}, 1, 2 a[i], a[j] = a[j], a[i] return a"),
        "[2,1]"
    );
    // The targets' keys are evaluated before any assignment (PUC Lua: t[3] = 20).
    assert_eq!(
        run(b"local i, t = 3, {} i, t[i] = i + 1, 20 return i, t[3], t[4]"),
        "[4,20,null]"
    );
    // Right to left, as PUC Lua assigns.
    assert_eq!(run(b"local a a, a = 1, 2 return a"), "1");
    // Missing values are nil, extra ones evaluated and dropped.
    assert_eq!(
        run(b"local n = 0 local function g() n = n + 1 return n end local x, y x, y = g() return x, y, n"),
        "[1,null,1]"
    );
    assert_eq!(
        run(b"local n = 0 local function g() n = n + 1 return n end local x x, x = 1, 2, g() return x, n"),
        "[1,1]"
    );
}

#[test]
fn parentheses_keep_one_value() {
    let f = b"local function f() return 1, 2, 3 end ";
    assert_eq!(run(&[f as &[u8], b"return (f())"].concat()), "1");
    assert_eq!(run(&[f as &[u8], b"return f()"].concat()), "[1,2,3]");
    assert_eq!(
        run(&[f as &[u8], b"return select('#', (f())), #{(f())}, #{f()}"].concat()),
        "[1,1,3]"
    );
    assert_eq!(
        run(b"local function g(...) return (...) end return g(7, 8, 9)"),
        "7"
    );
}

#[test]
fn empty_statements_and_bytes_that_are_not_utf8() {
    assert_eq!(run(b";;; do ;;; end ; return 1;"), "1");
    // A comment and a string with bytes that are not UTF-8.
    assert_eq!(run(b"-- \xff\xfe\nreturn #'\xc3\xff'"), "2");
    assert_eq!(run(b"return #('\\xff' .. '\\0')"), "2");
}

#[test]
fn lowered_operators_work_under_a_local_env() {
    // The lowered `..` is an upvalue of the chunk, not a global.
    assert_eq!(
        run(b"local s = 'a' local _ENV = {} return s .. 1 .. 2.5, 7 // 2, -7 % 3, 1 << 4, ~0"),
        r#"["a12.5",3,2,16,-1]"#
    );
    assert_eq!(run(b"return _G.__pb_concat"), "null");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = Host::builder()
        .build()
        .load_lua("t", "x = 1\n\ny = = 2")
        .map(|_| ())
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::LuaSyntax { line: Some(3), .. }),
        "{e:?}"
    );
    // A backtick is a syntax error (a panic of the previous parser).
    let e = Host::builder()
        .build()
        .load_lua("t", "x = 1 .. `y`")
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LuaSyntax { .. }), "{e:?}");
}

#[test]
fn strings_have_methods() {
    assert_eq!(
        run(
            b"local s = 'abc' return s:upper(), ('%d-%s'):format(5, 'x'), s:rep(2, ','), #s:sub(2)"
        ),
        r#"["ABC","5-x","abc,abc",2]"#
    );
    assert_eq!(run(b"return ('AbC'):upper():lower():len()"), "3");
    assert_eq!(
        run(b"function string.twice(s) return s .. s end return ('ab'):twice()"),
        r#""abab""#
    );
    assert_eq!(
        run(b"return getmetatable('').__index == string, getmetatable('x') == getmetatable('y')"),
        "[true,true]"
    );
}

#[test]
fn method_calls_on_tables_keep_their_semantics() {
    // A class through an __index table, a statement call, a chain, multiple results.
    assert_eq!(
        run(b"local C = {} C.__index = C
              function C.new(n) return setmetatable({n = n}, C) end
              function C:add(k) self.n = self.n + k return self end
              function C:get() return self.n, 'x' end
              local o = C.new(1) o:add(2) return o:add(3):get()"),
        r#"[6,"x"]"#
    );
    // __index as a function, and a callable table as a method.
    assert_eq!(
        run(b"local o = setmetatable({}, {__index = function(t, k) return function(self, a) return k .. a end end})
              local c = setmetatable({}, {__call = function(self, recv, a) return a * 2 end})
              local p = {m = c}
              return o:hello('!'), p:m(21)"),
        r#"["hello!",42]"#
    );
}

#[test]
fn method_errors_say_what_puc_says() {
    let host = Host::builder().build();
    let mut p = host
        .load_lua(
            "t",
            "function f() local t = {} return t:nope() end\nfunction g() local n return n:x() end",
        )
        .unwrap();
    let e = p.call_value("f", vec![]).unwrap_err().to_string();
    assert!(
        e.contains("main.lua:1: attempt to call a nil value (method 'nope')"),
        "{e}"
    );
    let e = p.call_value("g", vec![]).unwrap_err().to_string();
    assert!(
        e.contains("main.lua:2: attempt to index a nil value (local 'n')"),
        "{e}"
    );
}

#[test]
fn const_locals_are_checked_when_compiling() {
    assert_eq!(
        run(b"local x <const> = 5 local y <const>, z = 1, 2 z = 3 return x + y + z"),
        "9"
    );
    for src in [
        "local x <const> = 1 x = 2",
        "local x <const> = 1 local function f() x = 2 end",
    ] {
        let e = Host::builder()
            .build()
            .load_lua("t", src)
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::LuaSyntax { message, .. } if message.contains("attempt to assign to const variable 'x'")),
            "{src}: {e:?}"
        );
    }
    // A shadowing local is not const.
    assert_eq!(
        run(b"local x <const> = 1 do local x = 2 x = 3 end return x"),
        "1"
    );
}

#[test]
fn close_locals_are_closed_on_every_exit() {
    let prelude = b"local log = {} local function c(n) return setmetatable({}, {__close = function(_, e) log[#log + 1] = n .. (e and ('!' .. tostring(e):match('[^:]*$')) or '') end}) end\n";
    let with = |body: &[u8]| run(&[prelude as &[u8], body].concat());
    // Normal end, in reverse order of declaration.
    assert_eq!(
        with(b"do local a <close> = c('a') local b <close> = c('b') end return table.concat(log, ' ')"),
        r#""b a""#
    );
    // `return` from the enclosing function, with all its values.
    assert_eq!(
        with(b"local function f() local x <close> = c('x') return 1, 2, 3 end local n = select('#', f()) return n, table.concat(log, ' ')"),
        r#"[3,"x"]"#
    );
    // `break` out of the enclosing loop.
    assert_eq!(
        with(b"for i = 1, 5 do local y <close> = c('y' .. i) if i == 2 then break end end return table.concat(log, ' ')"),
        r#""y1 y2""#
    );
    // An error: __close gets it, and the error goes on.
    assert_eq!(
        with(b"local ok = pcall(function() local z <close> = c('z') error('boom') end) return ok, table.concat(log, ' ')"),
        r#"[false,"z! boom"]"#
    );
    // `goto` to a label outside the scope.
    assert_eq!(
        with(b"do local g <close> = c('g') if true then goto out end log[#log + 1] = 'no' end ::out:: return table.concat(log, ' ')"),
        r#""g""#
    );
    // nil and false need no closing; other values without __close are an error.
    assert_eq!(
        with(b"do local n <close> = nil local f <close> = false end return #log"),
        "0"
    );
    assert_eq!(
        with(b"return pcall(function() local x <close> = {} end)"),
        r#"[false,"main.lua:3: variable 'x' got a non-closable value"]"#
    );
}

#[test]
fn unicode_escapes_up_to_2_pow_31() {
    assert_eq!(
        run(b"return #'\\u{7FFFFFFF}', #'\\u{10FFFF}', '\\u{48}\\u{49}'"),
        r#"[6,4,"HI"]"#
    );
    let e = Host::builder()
        .build()
        .load_lua("t", "return '\\u{80000000}'")
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LuaSyntax { .. }), "{e:?}");
}
