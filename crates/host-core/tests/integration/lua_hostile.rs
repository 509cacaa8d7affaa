//! Hostile Lua (RELIABILITY.md §5.3 LUA-R*, §5.5 LUA-*): each case asserts its outcome, then a
//! canary call on the same host succeeds. Cases piccolo 0.3.3 makes impossible to pass as
//! written say so, with what happens instead.

use crate::common::{assert_kind, canary};
use plugboard_host_core::{ErrorKind, Host, Limits, Plugin, PluginOptions, Value};

fn host() -> Host {
    Host::builder()
        .limits(Limits {
            fuel: 5_000_000,
            memory_bytes: 8 << 20,
            ..Limits::default()
        })
        .func("host", "log", |s: String| s.len())
        .build()
}

fn plugin(h: &Host, body: &str) -> Plugin {
    h.load_lua(
        "hostile",
        &format!("function f(...)\n{body}\nend\nfunction ok() return 'ok' end"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn run(h: &Host, body: &str) -> Result<Value, plugboard_host_core::Error> {
    let mut p = plugin(h, body);
    let r = p.call_value("f", vec![]);
    assert_eq!(
        p.call_value("ok", vec![]).unwrap(),
        Value::String("ok".into()),
        "the plugin recovers"
    );
    r
}

#[test]
fn lua_01_globals_allowlist_exact() {
    let h = host();
    let names = run(&h, "local g = {} for k in pairs(_G) do if k ~= 'f' and k ~= 'ok' then g[#g + 1] = k end end table.sort(g) return table.concat(g, ' ')").unwrap();
    assert_eq!(
        names,
        Value::String("_G _VERSION assert collectgarbage coroutine debug error getmetatable host io ipairs load math next os package pairs pcall plugins print rawequal rawget rawlen rawset require select setmetatable string table tonumber tostring type utf8 xpcall".into())
    );
    let libs = run(&h, "local out = {} for _, lib in ipairs({'string', 'table', 'os', 'utf8', 'debug', 'package', 'coroutine'}) do local g = {} for k in pairs(_G[lib]) do g[#g + 1] = k end table.sort(g) out[#out + 1] = lib .. ':' .. table.concat(g, ',') end return table.concat(out, ' ')").unwrap();
    assert_eq!(
        libs,
        Value::String("string:byte,char,find,format,gmatch,gsub,len,lower,match,pack,packsize,rep,reverse,sub,unpack,upper table:concat,insert,move,pack,remove,sort,unpack os:clock,date,setlocale,time utf8:char,charpattern,codepoint,codes,len,offset debug:getinfo,getmetatable,setmetatable,traceback package:config,cpath,loaded,path,preload coroutine:close,continue,create,isyieldable,resume,running,status,wrap,yield,yieldto".into())
    );
    // Answered, without forcing a cycle (the collector runs on its own between steps).
    assert_eq!(
        run(&h, "return collectgarbage('collect')").unwrap(),
        Value::Int(0)
    );
    canary(&h);
}

#[test]
fn lua_02_no_bytecode_path() {
    let e = host().load_lua("b", "\x1bLuaT\x00\x19").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LuaSyntax { .. }), "{e}");
}

#[test]
fn lua_03_syntax_error_reports_line() {
    let e = host()
        .load_lua("s", "local ok = 1\nlocal x = = 1")
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::LuaSyntax { line: Some(2), .. }),
        "{e}"
    );
}

#[test]
fn lua_04_runtime_error_values_render_without_addresses() {
    let h = host();
    for body in [
        "error(nil)",
        "error({})",
        "error(setmetatable({}, {__tostring = function() while true do end end}))",
        "error(function() end)",
    ] {
        let e = assert_kind(run(&h, body), |k| matches!(k, ErrorKind::LuaError { .. }));
        assert!(!e.to_string().contains("0x"), "{body}: {e}");
    }
    canary(&h);
}

#[test]
fn lua_05_mod_minint_no_panic() {
    let h = host();
    // piccolo 0.3.3 panics on `math.mininteger % -1`; `%` and `//` are rewritten into ours.
    assert_eq!(
        run(&h, "return math.mininteger % -1").unwrap(),
        Value::Int(0)
    );
    assert_eq!(
        run(&h, "return math.mininteger // -1").unwrap(),
        Value::Int(i64::MIN)
    );
    assert_eq!(
        run(&h, "return -7 // 2, -7 % 3, 7.5 % -2")
            .unwrap()
            .to_json(),
        "[-4,2,-0.5]"
    );
    assert_kind(run(&h, "return 1 // 0"), |k| {
        matches!(k, ErrorKind::LuaError { .. })
    });
    canary(&h);
}

#[test]
fn lua_06_unpack_extremes() {
    let h = host();
    assert_kind(
        run(
            &h,
            "return table.unpack({}, math.mininteger, math.maxinteger)",
        ),
        |k| matches!(k, ErrorKind::LuaError { message, .. } if message.contains("too many results")),
    );
    assert_eq!(
        run(&h, "return select('#', table.unpack({}, 1, -1))").unwrap(),
        Value::Int(0)
    );
}

#[test]
fn lua_07_shift_semantics() {
    // Lua 5.4's, in every profile: `<<` and `>>` are rewritten into ours (piccolo 0.3.3 panics
    // with overflow checks on and wraps the count without them).
    let h = host();
    assert_eq!(
        run(
            &h,
            "local n, m = 64, -1 return 1 << 64, 1 << -1, 1 >> 64, -1 >> 1, 1 << n, 1 << m, 3 << 1"
        )
        .unwrap()
        .to_json(),
        format!("[0,0,0,{},0,0,6]", i64::MAX)
    );
    canary(&h);
}

#[test]
fn lua_08_numeric_for_at_the_integer_limits() {
    // Lua: exactly 2 iterations at either end of the integer range (piccolo 0.3.3 overflowed
    // the loop counter: our patch 0007).
    let h = host();
    for body in [
        "local n = 0 for i = math.maxinteger - 1, math.maxinteger do n = n + 1 end return n",
        "local n = 0 for i = math.mininteger + 1, math.mininteger, -1 do n = n + 1 end return n",
        "local n = 0 for i = math.mininteger, math.mininteger + 1 do n = n + 1 end return n",
    ] {
        assert_eq!(run(&h, body).unwrap(), Value::Int(2), "{body}");
    }
    canary(&h);
}

#[test]
fn lua_09_for_zero_step_is_an_error() {
    // Lua raises "'for' step is zero" (piccolo 0.3.3 looped until out of fuel: patch 0007).
    let h = host();
    assert_kind(
        run(&h, "for i = 1, 10, 0 do end"),
        |k| matches!(k, ErrorKind::LuaError { message, .. } if message.ends_with("'for' step is zero")),
    );
    canary(&h);
}

#[test]
fn lua_10_register_overflow_is_an_error() {
    let h = host();
    let locals: String = (0..300).map(|i| format!("local v{i} = {i}\n")).collect();
    let e = h
        .load_lua("r", &format!("function f()\n{locals}end"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::LuaSyntax { .. } | ErrorKind::EnginePanic { .. }
        ),
        "{e}"
    );
    let args = vec!["1"; 300].join(", ");
    let e = h
        .load_lua("r", &format!("function f() return g({args}) end"))
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::LuaSyntax { .. } | ErrorKind::EnginePanic { .. }
        ),
        "{e}"
    );
    canary(&h);
}

#[test]
fn lua_11_lua_12_nesting_guards() {
    let h = host();
    for src in [
        format!("return a{}", ".b".repeat(5000)),
        format!("return f{}", "()".repeat(5000)),
        format!("return o{}", ":m()".repeat(5000)),
        format!("return x{}", " or x".repeat(5000)),
        format!("return x{}", " and x".repeat(5000)),
        format!("return x{}", " .. x".repeat(5000)),
        format!("return {}1{}", "{".repeat(5000), "}".repeat(5000)),
    ] {
        let e = h.load_lua("deep", &src).unwrap_err();
        assert!(e.to_string().contains("nesting too deep"), "{e}");
    }
    canary(&h);
}

#[test]
fn lua_14_plugins_are_isolated() {
    let h = host();
    let mut a = h.load_lua("a", "shared = 'from a'\nsetmetatable(_G, {__index = function() return 'leak' end})\nstring.evil = true").unwrap();
    let mut b = h
        .load_lua(
            "b",
            "function f() return shared, string.evil, rawget(_G, 'x') end",
        )
        .unwrap();
    a.call_value("ok", vec![]).ok();
    assert_eq!(
        b.call_value("f", vec![]).unwrap().to_json(),
        "[null,null,null]"
    );
}

#[test]
fn lua_15_host_namespace_tamper_only_affects_the_plugin() {
    let h = host();
    let mut a = h
        .load_lua(
            "a",
            "host.log = function() return -1 end\nfunction f() return host.log('abc') end",
        )
        .unwrap();
    let mut b = h
        .load_lua("b", "function f() return host.log('abc') end")
        .unwrap();
    assert_eq!(a.call_value("f", vec![]).unwrap(), Value::Int(-1));
    assert_eq!(b.call_value("f", vec![]).unwrap(), Value::Int(3));
}

#[test]
fn lua_17_nan_and_float_keys() {
    let h = host();
    assert_kind(run(&h, "local t = {} t[0/0] = 1"), |k| {
        matches!(k, ErrorKind::LuaError { .. })
    });
    assert_eq!(
        run(
            &h,
            "local t = {} t[2^53] = 1 t[1.0] = 'one' return t[2^53], t[1]"
        )
        .unwrap()
        .to_json(),
        r#"[1,"one"]"#
    );
}

#[test]
fn lua_18_invalid_utf8_reaches_the_host_as_bytes_not_text() {
    let h = host();
    // `host.log` takes a string: bytes that are not UTF-8 do not convert, the call fails cleanly.
    let e = assert_kind(run(&h, "return host.log('\\xff\\xfe')"), |k| {
        matches!(k, ErrorKind::HostFunction { .. })
    });
    assert!(e.to_string().contains("bad arguments"), "{e}");
    // Returned to the embedder, they are bytes.
    assert_eq!(run(&h, "return '\\xff'").unwrap(), Value::Bytes(vec![0xff]));
}

#[test]
fn lua_20_coroutine_edges() {
    let h = host();
    // A yield outside a coroutine is an error, as in Lua 5.4 (piccolo's ended the call as if
    // it had returned the values).
    assert_kind(
        run(&h, "return coroutine.yield(1, 2)"),
        |k| matches!(k, ErrorKind::LuaError { message, .. } if message.contains("attempt to yield from outside a coroutine")),
    );
    assert_eq!(
        run(&h, "local co = coroutine.create(function() end) coroutine.resume(co) return coroutine.resume(co)").unwrap().to_json(),
        r#"[false,"cannot resume dead coroutine"]"#
    );
    assert_eq!(
        run(&h, "return coroutine.resume(coroutine.running())")
            .unwrap()
            .to_json(),
        r#"[false,"cannot resume non-suspended coroutine"]"#
    );
    canary(&h);
}

#[test]
fn lua_21_goto_errors() {
    let h = host();
    let e = h.load_lua("g", "goto nowhere").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LuaSyntax { .. }), "{e}");
    let e = h
        .load_lua("g", "do goto l local x = 1 ::l:: print(x) end")
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::LuaSyntax { .. }), "{e}");
}

#[test]
fn lua_22_lexer_edges() {
    let h = host();
    for src in [
        "return '\\0'".to_owned(),
        "return '\\u{7FFFFFFF}'".to_owned(),
        format!("return [{}[x]{}]", "=".repeat(100_000), "=".repeat(100_000)),
        format!("return {}", "9".repeat(100_000)),
        "x = 1\r\ny = 2\rz = 3".to_owned(),
    ] {
        // Each loads, as in PUC Lua 5.4 (a 100,000-digit numeral is the float inf there).
        h.load_lua("lex", &src)
            .unwrap_or_else(|e| panic!("{}: {e}", &src[..src.len().min(40)]));
    }
    // Past 2^31 a \u escape is a syntax error, as in PUC Lua ("UTF-8 value too large").
    assert_kind(h.load_lua("lex", "return '\\u{FFFFFFFFFFFF}'"), |k| {
        matches!(k, ErrorKind::LuaSyntax { .. })
    });
    canary(&h);
}

/// Found by the fuzz targets: piccolo indexes past the end of `""`, `"-"`, `"0"` and `"-0"`
/// when a bitwise operator converts them (in constant folding and in the VM), and full_moon
/// panics on a backtick. All are ordinary Lua results or errors now.
#[test]
fn bitwise_operators_on_short_strings_and_backticks() {
    let h = host();
    for (src, expected) in [
        ("return 5 & 3", "1"),
        ("return 5 | 3", "7"),
        ("return 5 ~ 3", "6"),
        ("return ~0", "-1"),
        ("return '0' & 1", "0"),
        ("return ~'-0'", "-1"),
        ("return '12' | 1.0", "13"),
    ] {
        assert_eq!(run(&h, src).unwrap().to_json(), expected, "{src}");
    }
    for src in [
        "return ~''",
        "return '-' | 1",
        "local s = '' return ~s",
        "return 1.5 & 1",
        "return {} | 1",
    ] {
        assert_kind(run(&h, src), |k| matches!(k, ErrorKind::LuaError { .. }));
    }
    assert_kind(h.load_lua("b", "return 1 .. `x`"), |k| {
        matches!(k, ErrorKind::LuaSyntax { .. })
    });
    canary(&h);
}

#[test]
fn lua_r2_pcall_cannot_swallow_the_budget() {
    let h = host();
    assert_kind(run(&h, "while true do pcall(error, 'x') end"), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    canary(&h);
}

#[test]
fn lua_r3_metamethod_loops() {
    let h = host();
    for body in [
        "local t = setmetatable({}, {}) getmetatable(t).__index = t return t.x",
        "local t t = setmetatable({}, {__index = function(s, k) return s[k] end}) return t.x",
        "local t t = setmetatable({}, {__len = function(s) return #s end}) return #t",
    ] {
        assert_kind(run(&h, body), |k| {
            matches!(
                k,
                ErrorKind::OutOfFuel { .. }
                    | ErrorKind::MemoryLimit { .. }
                    | ErrorKind::LuaError { .. }
            )
        });
    }
    canary(&h);
}

#[test]
fn lua_r4_unbounded_recursion_is_a_stack_overflow() {
    // A catchable error at a fixed depth (our patch to piccolo), not the memory cap: PUC Lua's
    // "stack overflow", with the line.
    let h = host();
    let mut p = h
        .load_lua("r", "function f(n) return f(n + 1) + 1 end")
        .unwrap();
    assert_kind(
        p.call_value("f", vec![Value::Int(0)]),
        |k| matches!(k, ErrorKind::LuaError { message, .. } if message == "main.lua:1: stack overflow"),
    );
    canary(&h);
}

#[test]
fn lua_r6_concat_doubling_is_bounded() {
    let h = host();
    assert_kind(
        run(
            &h,
            "local s = 'x' for i = 1, 40 do s = s .. s end return #s",
        ),
        |k| matches!(k, ErrorKind::MemoryLimit { .. }),
    );
    canary(&h);
}

#[test]
fn lua_r7_unpack_huge_is_an_error() {
    let h = host();
    let e = run(&h, "return table.unpack({}, 1, 1e8)").unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::LuaError { .. })
            && e.to_string().contains("too many results"),
        "{e}"
    );
    canary(&h);
}

#[test]
fn lua_r8_string_ops_charge_fuel() {
    let h = host();
    for op in ["upper", "lower", "reverse"] {
        assert_kind(
            run(&h, &format!("local s = string.rep('a', 4 * 1024 * 1024) while true do s = string.{op}(s) end")),
            |k| matches!(k, ErrorKind::OutOfFuel { .. } | ErrorKind::MemoryLimit { .. }),
        );
    }
    assert_kind(run(&h, "local s = string.rep('a', 4 * 1024 * 1024) while true do local t = string.sub(s, 2) end"), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. } | ErrorKind::MemoryLimit { .. })
    });
    // Pinned to fuel: 1,000 rounds cost the VM itself a few thousand fuel of the 5 M budget, so
    // only the string functions' charge per byte (256 KiB each: 4,096 fuel) can exhaust it.
    for op in ["upper", "lower", "reverse", "sub"] {
        let body = format!(
            "local s = string.rep('a', 256 * 1024) for i = 1, 2000 do local t = string.{op}(s{}) end return 'done'",
            if op == "sub" { ", 2" } else { "" }
        );
        assert_kind(run(&h, &body), |k| matches!(k, ErrorKind::OutOfFuel { .. }));
    }
    canary(&h);
}

#[test]
fn lua_r9_coroutine_bomb() {
    let h = host();
    assert_kind(
        run(
            &h,
            "local t = {} while true do t[#t + 1] = coroutine.create(function() end) end",
        ),
        |k| {
            matches!(
                k,
                ErrorKind::MemoryLimit { .. } | ErrorKind::OutOfFuel { .. }
            )
        },
    );
    canary(&h);
}

#[test]
fn lua_r11_source_size_cap() {
    let h = Host::builder()
        .limits(Limits {
            max_module_bytes: 1 << 20,
            ..Limits::default()
        })
        .build();
    let big = format!("return {{{}}}", "1,".repeat(600_000));
    assert_kind(h.load_lua("big", &big), |k| {
        matches!(k, ErrorKind::ModuleTooLarge { .. })
    });
    let e = h
        .load_lua_files(
            [("main.lua", "x = 1"), ("other.lua", &*"-".repeat(2 << 20))],
            PluginOptions::named("big"),
        )
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::ModuleTooLarge { .. }), "{e}");
    // Under the size limit, 300k constants are refused by the compile-memory bound before
    // parsing (they would take about 70 MiB to compile; the cap is 16 MiB).
    let constants = format!("return {{{}}}", "1,".repeat(300_000));
    assert_kind(h.load_lua("constants", &constants), |k| {
        matches!(k, ErrorKind::MemoryLimit { .. })
    });
    canary(&h);
}

/// CON-01 and LUA-16 for Lua: a host function that runs Lua (another plugin, which calls the
/// host function again, …) nests calls; the re-entrancy depth stops it, and a host function
/// that tries to re-enter the plugin that is running fails without a panic escaping.
#[test]
fn con_01_lua_host_lua_recursion_is_bounded() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let slot: Rc<RefCell<Option<Host>>> = Rc::default();
    let s = slot.clone();
    let h = Host::builder()
        .try_func("host", "again", move |n: i64| {
            let host = s.borrow().clone().ok_or("no host")?;
            let mut p = host
                .load_lua("nested", "function f(n) return host.again(n + 1) end")
                .map_err(|e| e.to_string())?;
            p.call_value("f", vec![Value::Int(n)])
                .map_err(|e| e.to_string())
        })
        .build();
    *slot.borrow_mut() = Some(h.clone());
    let mut p = h
        .load_lua("top", "function f() return host.again(0) end")
        .unwrap();
    let e = p.call_value("f", vec![]).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::HostFunction { .. }), "{e}");
    assert!(
        e.to_string()
            .ends_with("re-entrancy depth 9 exceeds the limit"),
        "{e}"
    );
    *slot.borrow_mut() = None;
    canary(&h);
}
