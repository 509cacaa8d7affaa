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
    // Holes, then growth of both parts, over many tables (each hashes with its own seed, and
    // the failure depended on where keys landed): every count exact.
    assert_eq!(
        run(
            &mut p,
            "for round = 1, 60 do
                local t = {} local m = round * 7
                for i = 1, m do t['k' .. i] = i end
                for i = 1, m, 3 do t['k' .. i] = nil end
                for i = 1, m do t[i] = i t['n' .. i] = i end
                local n = 0 for _ in pairs(t) do n = n + 1 end
                if n ~= m - (m + 2) // 3 + 2 * m then return round end
            end return 'ok'"
        ),
        r#""ok""#
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

#[test]
fn runtime_errors_are_strings_with_the_line_in_pucs_words() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    for (src, message) in [
        (
            "local t return t.x",
            "attempt to index a nil value (local 't')",
        ),
        ("local f f()", "attempt to call a nil value (local 'f')"),
        (
            "return -true",
            "attempt to perform arithmetic on a boolean value",
        ),
        (
            "return {} + 1",
            "attempt to perform arithmetic on a table value",
        ),
        ("return 1 < '2'", "attempt to compare number with string"),
        ("return {} < {}", "attempt to compare two table values"),
    ] {
        let chunk = format!("return pcall(function()\n{src}\nend)");
        assert_eq!(
            run(&mut p, &chunk),
            format!(r#"[false,"[string \"return pcall(function()...\"]:2: {message}"]"#),
            "{src}"
        );
    }
}

#[test]
fn operators_call_metamethods() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(&mut p, "local mt = {} for _, e in ipairs({'add', 'sub', 'mul', 'div', 'mod', 'pow', 'unm', 'idiv', 'band', 'bor', 'bxor', 'shl', 'shr', 'bnot', 'concat'}) do mt['__' .. e] = function() return e end end
            local v = setmetatable({}, mt)
            return table.concat({v + 1, 1 - v, v * v, v / 2, v % 2, v ^ 2, -v, v // 2, v & 1, 1 | v, v ~ 1, v << 1, v >> 1, ~v, v .. 'x', 'x' .. v}, ' ')"),
        r#""add sub mul div mod pow unm idiv band bor bxor shl shr bnot concat concat""#
    );
    assert_eq!(
        run(&mut p, "local mt = {__lt = function(a, b) return a.n < b.n end, __le = function(a, b) return a.n <= b.n end}
            local a, b = setmetatable({n = 1}, mt), setmetatable({n = 2}, mt)
            return a < b, b < a, a <= b, a > b, b >= a"),
        "[true,false,true,false,true]"
    );
}

#[test]
fn strings_in_arithmetic_are_the_numbers_they_spell() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(
            &mut p,
            "return '10' + 1, math.type('10' + 1), '3' * '4', '1.5' + 1, '0x10' + 0, 10 - '1e1'"
        ),
        "[11,\"integer\",12,2.5,16,0.0]"
    );
}

#[test]
fn unbounded_recursion_is_a_catchable_stack_overflow() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    // Caught at a fixed depth (not the memory cap), every time, and the plugin goes on.
    assert_eq!(
        run(&mut p, "local n = 0 local function r() n = n + 1 return 1 + r() end
            local results = {} for i = 1, 3 do n = 0 local ok, e = pcall(r) results[i] = tostring(ok) .. ' ' .. tostring(string.find(e, 'stack overflow', 1, true) ~= nil) .. ' ' .. n end
            return table.concat(results, ', ')"),
        r#""false true 19998, false true 19998, false true 19998""#
    );
    // Deep but bounded recursion and deep tail calls still run.
    assert_eq!(
        run(
            &mut p,
            "local function d(n) if n == 0 then return 0 end return 1 + d(n - 1) end
            local function t(n) if n == 0 then return 'done' end return t(n - 1) end
            return d(10000), t(1000000)"
        ),
        r#"[10000,"done"]"#
    );
}

#[test]
fn integer_for_loops_as_lua_5_4() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(&mut p, "local t = {} for i = 1, 2.5 do t[#t + 1] = i end for i = 10, 1, -4 do t[#t + 1] = i end for i = 1, 0 do t[#t + 1] = 'never' end return t"),
        "[1,2,10,6,2]"
    );
    assert_eq!(
        run(&mut p, "local n = 0 for i = math.maxinteger - 1, math.maxinteger do n = n + 1 end for i = math.mininteger, math.mininteger + 2 do n = n + 1 end return n"),
        "5"
    );
    assert_eq!(
        run(
            &mut p,
            "return pcall(function() for i = 1, 10, 0 do end end)"
        ),
        r#"[false,"[string \"return pcall(function() for i = 1, 10, 0 do e...\"]:1: 'for' step is zero"]"#
    );
}

#[test]
fn goto_out_of_generic_for_loops_and_ipairs_at_the_integer_limit() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    assert_eq!(
        run(&mut p, "local s = 0 for i in pairs({1, 2}) do for j in pairs({1, 2}) do s = s + 1 if s == 3 then goto out end end end ::out:: return s"),
        "3"
    );
    // Upvalues captured in the loop are closed by the jump.
    assert_eq!(
        run(&mut p, "local fns = {} for i in pairs({5, 6}) do local x = i * 10 fns[#fns + 1] = function() return x end if i == 2 then goto out end end ::out:: return fns[1](), fns[2]()"),
        "[10,20]"
    );
    assert_eq!(
        run(&mut p, "local f = ipairs({}) local k, v = f({[math.mininteger] = 10}, math.maxinteger) return k == math.mininteger, v"),
        "[true,10]"
    );
}

#[test]
fn a_function_may_use_its_last_register() {
    let host = Host::builder().build();
    let mut p = plugin(&host);
    // 253 locals and the temporaries of `return` fill the 256 registers up to the last one.
    for n in [250, 253, 254, 255] {
        let locals: String = (0..n).map(|i| format!("local v{i} = {i} ")).collect();
        let src = format!("return (function() {locals} return v0 + v{} end)()", n - 1);
        let out = p
            .call_value("run", vec![plugboard_host_core::Value::String(src)])
            .map(|v| v.to_json())
            .unwrap_or_else(|e| e.to_string());
        assert!(
            out == (n - 1).to_string() || out.contains("too many"),
            "{n} locals: {out}"
        );
        assert_eq!(p.call_value("ok", vec![]).unwrap().to_json(), r#""ok""#);
    }
    // Past them: a compile error, not a panic.
    let locals: String = (0..300)
        .map(|i| format!("local function f{i}() end "))
        .collect();
    let e = host
        .load_lua("many", &format!("local function g() {locals} end"))
        .unwrap_err();
    assert_eq!(e.kind_name(), "luaSyntax", "{e}");
}
