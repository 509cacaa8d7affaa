//! Ordinary Lua that killed piccolo 0.3.3's VM (an `enginePanic`) or misbehaved, fixed by our
//! patches to the published crate (patches/piccolo-0.3.3) or by our own library code; each
//! case runs on one plugin, which must still answer afterwards.

use plugboard_host_core::{Host, Plugin};

fn plugin(host: &Host) -> Plugin {
    host.load_lua(
        "fixes",
        "function run(src) return load(src)() end\nfunction ok() return 'ok' end",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `src` (a chunk) in the plugin; the result as JSON; then the plugin answers.
fn run(p: &mut Plugin, src: &str) -> String {
    let out = p
        .call_value("run", vec![plugboard_host_core::Value::String(src.into())])
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .to_json();
    assert_eq!(
        p.call_value("ok", vec![]).unwrap().to_json(),
        r#""ok""#,
        "the plugin answers after {src}"
    );
    out
}

#[test]
fn a_table_grows_after_a_field_is_set_to_nil() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(
            &mut p,
            "local t = {x = 1, y = 2}; t.x = nil; t.z = 3; t.w = 4 return t.w, t.x"
        ),
        "[4,null]"
    );
    // Many holes and regrowth, array part too.
    assert_eq!(
        run(&mut p, "local t = {} for i = 1, 200 do t['k' .. i] = i end for i = 1, 200, 2 do t['k' .. i] = nil end for i = 1, 300 do t[i] = i t['n' .. i] = i end local n = 0 for _ in pairs(t) do n = n + 1 end return n"),
        "700"
    );
}

#[test]
fn a_tail_call_with_fewer_arguments_than_parameters() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(&mut p, "local function foo(a, b) return a, b end local function g() return foo() end return g()"),
        "[null,null]"
    );
    assert_eq!(
        run(&mut p, "local function foo(a, b, c, d) return d end local function g(x) local y, z = 1, 2 return foo(x) end return g(5)"),
        "null"
    );
}

#[test]
fn gsub_with_a_table_that_lacks_a_match_keeps_it() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(&mut p, "return string.gsub('abc', '%w', {b = 'B'})"),
        r#"["aBc",3]"#
    );
    assert_eq!(
        run(&mut p, "return string.gsub('abc', '%w', function(c) if c == 'a' then return nil end return c:upper() end)"),
        r#"["aBC",3]"#
    );
}

#[test]
fn coroutines_as_lua_5_4() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(&mut p, "return pcall(coroutine.yield)"),
        r#"[false,"attempt to yield from outside a coroutine"]"#
    );
    assert_eq!(
        run(&mut p, "local f = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return f(1), f(10)"),
        "[2,20]"
    );
    assert_eq!(
        run(
            &mut p,
            "local f = coroutine.wrap(function() end) f() return pcall(f)"
        ),
        r#"[false,"cannot resume dead coroutine"]"#
    );
    assert_eq!(
        run(&mut p, "local co = coroutine.create(function() coroutine.yield() end) coroutine.resume(co) return coroutine.close(co), coroutine.status(co)"),
        r#"[true,"dead"]"#
    );
    assert_eq!(
        run(&mut p, "return coroutine.isyieldable(), coroutine.wrap(function() return coroutine.isyieldable() end)()"),
        "[false,true]"
    );
}
