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
