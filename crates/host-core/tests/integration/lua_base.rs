//! Base-library behaviour of Lua 5.4 that piccolo's lacked: `pcall` hands errors as strings,
//! `collectgarbage` answers every option, `table.sort` uses `__lt`, `%p`.

use crate::common::lua_body as run;

#[test]
fn library_errors_caught_by_pcall_are_strings() {
    assert_eq!(
        run("local ok, e = pcall(string.rep) return ok, type(e), e"),
        r#"[false,"string","bad argument #1 to 'rep' (string expected, got no value)"]"#
    );
    assert_eq!(
        run("return xpcall(string.rep, function(e) return type(e) end)"),
        r#"[false,"string"]"#
    );
    // A raised table stays that table.
    assert_eq!(
        run("local t = {} local ok, e = pcall(error, t) return e == t"),
        "true"
    );
}

#[test]
fn collectgarbage_answers_every_option() {
    assert_eq!(
        run("return collectgarbage(), collectgarbage('step'), collectgarbage('isrunning'), collectgarbage('incremental'), collectgarbage('generational'), collectgarbage('incremental'), math.type(collectgarbage('count'))"),
        r#"[0,true,true,"incremental","incremental","generational","float"]"#
    );
    assert_eq!(
        run("collectgarbage('stop') local a = collectgarbage('isrunning') collectgarbage('restart') return a, collectgarbage('isrunning')"),
        "[false,true]"
    );
    assert_eq!(
        run("return pcall(collectgarbage, 'nope')"),
        r#"[false,"bad argument #1 to 'collectgarbage' (invalid option 'nope')"]"#
    );
}

#[test]
fn sort_compares_tables_through_lt() {
    assert_eq!(
        run("local mt = {__lt = function(a, b) return a.v < b.v end} local t = {} for i = 5, 1, -1 do t[#t + 1] = setmetatable({v = i}, mt) end table.sort(t) local out = {} for i, x in ipairs(t) do out[i] = x.v end return out"),
        "[1,2,3,4,5]"
    );
}

#[test]
fn format_p_gives_identities_not_addresses() {
    assert_eq!(
        run("local t = {} return string.format('%p', t) == string.format('%p', t), string.format('%p', t) ~= string.format('%p', {}), string.format('%p', 1), string.format('%10p', nil)"),
        r#"[true,true,"(null)","    (null)"]"#
    );
}

#[test]
fn select_compares_indices_as_integers() {
    // A huge index answers nothing (piccolo's `usize` cast wrapped on wasm32), the smallest
    // integer and 0 are out of range; the package's Node test runs the same on wasm32.
    assert_eq!(run("return select('#', select(2^32 + 1, 'a', 'b'))"), "0");
    assert_eq!(
        run("return select(-1, 'a', 'b'), select('#', select(3, 'a', 'b'))"),
        r#"["b",0]"#
    );
    for call in [
        "select(math.mininteger, 'a')",
        "select(0, 'a')",
        "select(-3, 'a', 'b')",
    ] {
        assert_eq!(
            run(&format!("return pcall(function() return {call} end)")),
            r#"[false,"main.lua:2: bad argument #1 to 'select' (index out of range)"]"#,
            "{call}"
        );
    }
}

#[test]
fn io_has_the_standard_streams_and_no_files() {
    assert_eq!(
        run("return io.type(io.stdout), io.type({}), io.stdin:read(), io.stdout:write('z') == io.stdout, rawequal(io.write('q'), io.stdout), io.open, io.popen, io.lines"),
        r#"["file",null,null,true,true,null,null,null]"#
    );
    assert_eq!(
        run("return pcall(io.write, {})"),
        r#"[false,"bad argument #1 to 'write' (string expected, got table)"]"#
    );
}

#[test]
fn io_write_goes_to_the_log_like_print() {
    let lines = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = lines.clone();
    let host = plugboard_host_core::Host::builder()
        .on_log(move |r: &plugboard_host_core::LogRecord| {
            sink.borrow_mut()
                .push(format!("{:?}:{}", r.stream, r.message))
        })
        .build();
    let mut p = host
        .load_lua(
            "t",
            "function f() io.write('a', 1) io.stderr:write('e') print('p') end",
        )
        .unwrap();
    p.call_value("f", vec![]).unwrap();
    assert_eq!(*lines.borrow(), ["Stdout:a1", "Stderr:e", "Stdout:p\n"]);
}

#[test]
fn randomseed_returns_the_seed_that_repeats_the_sequence() {
    assert_eq!(
        run("local x, y = math.randomseed() local r = math.random(0)
             local x2, y2 = math.randomseed(x, y) local same = math.random(0) == r
             return same, x == x2, y == y2, math.type(x), math.type(math.random(0))"),
        r#"[true,true,true,"integer","integer"]"#
    );
    // One numeric argument seeds as before: an integer and the equal float agree.
    assert_eq!(
        run("math.randomseed(42) local a = math.random(1000) math.randomseed(42.0) return a == math.random(1000)"),
        "true"
    );
}
