//! The `debug` subset a sandbox can offer on piccolo (what it cannot see is absent, not faked),
//! and metatable protection (`__metatable`).

use crate::common::lua_body as run;

#[test]
fn getinfo_of_the_caller_and_of_functions() {
    assert_eq!(
        run("local i = debug.getinfo(1) return i.currentline, i.short_src, i.source, i.what"),
        r#"[2,"main.lua","@main.lua","Lua"]"#
    );
    assert_eq!(
        run("local function g(a, b, ...) end local i = debug.getinfo(g) return i.nparams, i.isvararg, i.what, i.linedefined, i.func == g"),
        r#"[2,true,"Lua",2,true]"#
    );
    assert_eq!(
        run("return debug.getinfo(print).what, debug.getinfo(5)"),
        r#"["C",null]"#
    );
}

#[test]
fn traceback_keeps_the_message() {
    assert_eq!(
        run("local t = debug.traceback('boom') return string.sub(t, 1, 21)"),
        r#""boom\nstack traceback:""#
    );
    assert_eq!(run("local e = {} return debug.traceback(e) == e"), "true");
}

#[test]
fn traceback_and_getinfo_see_every_level() {
    // inner (line 2, a tail call of traceback), outer (line 3), the body (line 4), in order.
    let out = run("local function inner() return debug.traceback('x') end
local function outer() local t = inner() return t end
local t = outer() return t");
    let text: String = serde_json::from_str(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..2], ["x", "stack traceback:"], "{text}");
    let at: Vec<usize> = ["\tmain.lua:2: in", "\tmain.lua:3: in", "\tmain.lua:4: in"]
        .iter()
        .map(|l| {
            lines
                .iter()
                .position(|x| x.starts_with(l))
                .unwrap_or_else(|| panic!("{l}: {text}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    // getinfo(2) is the caller's caller; a level past the bottom is nil.
    assert_eq!(
        run(
            "local function f() return debug.getinfo(2, 'l').currentline end
local x = f()
return x, debug.getinfo(1000)"
        ),
        "[3,null]"
    );
}

#[test]
fn what_cannot_be_offered_is_absent() {
    assert_eq!(
        run("return debug.getlocal, debug.sethook, debug.getupvalue, debug.getregistry"),
        "[null,null,null,null]"
    );
}

#[test]
fn protected_metatables() {
    assert_eq!(
        run("local t = setmetatable({}, {__metatable = 'locked'}) return getmetatable(t), pcall(setmetatable, t, {})"),
        r#"["locked",false,"cannot change a protected metatable"]"#
    );
    // debug.getmetatable sees through the protection; strings share the string metatable.
    assert_eq!(
        run("local mt = {__metatable = 'locked'} local t = setmetatable({}, mt) return debug.getmetatable(t) == mt, debug.getmetatable('').__index == string"),
        "[true,true]"
    );
}
