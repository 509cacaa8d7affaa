//! The nvim ABI (wasm_nvim): the Zig example set, `lua_exec`/`lua_eval`, plugins calling each
//! other, and the JSN-* hostile cases of RELIABILITY.md §5.2.

use crate::common::{assert_kind, canary};
use plugboard_host_core::{
    Abi, AbiViolation, DecodeError, ErrorKind, Host, HostBuilder, Limits, LogRecord, LogStream,
    PluginOptions, ResourceLimit, SharedPlugin, Value,
};
use std::cell::RefCell;
use std::rc::Rc;

/// A host with the examples' host function `add(a, b)`.
fn builder() -> HostBuilder {
    Host::builder().func("host", "add", |(a, b): (i64, i64)| a + b)
}

fn host_with_log() -> (Host, Rc<RefCell<Vec<LogRecord>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    let host = builder()
        .on_log(move |r| sink.borrow_mut().push(r.clone()))
        .build();
    (host, log)
}

fn json(text: &str) -> Value {
    Value::from_json(text).unwrap()
}

/// The designated Lua VM of the examples: `greet` and the counter `lua_exec` bumps.
fn lua_vm(host: &Host) -> SharedPlugin {
    let vm = host
        .load_lua(
            "vm",
            "function greet(who) return 'hello ' .. who end\nfunction runs() return zig_runs end",
        )
        .unwrap();
    let vm = host.expose(vm).unwrap();
    host.set_lua_vm(&vm).unwrap();
    vm
}

#[test]
fn functionality_becomes_the_export_list_with_arities() {
    let (host, _) = host_with_log();
    let p = host
        .load_wasm_with(
            plugboard_fixtures::ZIG_NVIM_EXAMPLES,
            PluginOptions::named("zig"),
        )
        .unwrap();
    assert_eq!(p.abi(), Abi::Nvim);
    let exports: Vec<String> = p
        .exports()
        .iter()
        .map(|e| format!("{}{}", e.name, e.signature.as_ref().unwrap()))
        .collect();
    assert_eq!(
        exports,
        [
            "consuming(json) -> ()",
            "returning() -> json",
            "luaExecExample() -> ()",
            "luaEvalExample() -> json",
            "hostAdd(json) -> json",
            "echo(json) -> json",
        ]
    );
}

#[test]
fn zig_example_set_runs_through_the_nvim_abi() {
    let (host, log) = host_with_log();
    let vm = lua_vm(&host);
    let mut p = host
        .load_wasm_with(
            plugboard_fixtures::ZIG_NVIM_EXAMPLES,
            PluginOptions::named("zig"),
        )
        .unwrap();
    // Consumes a table.
    let out = p
        .call_value("consuming", vec![json(r#"{"a":1,"b":2.5,"c":"x"}"#)])
        .unwrap();
    assert_eq!(out, Value::Null);
    let printed: Vec<String> = log
        .borrow()
        .iter()
        .filter(|r| r.stream == LogStream::Stdout)
        .map(|r| r.message.clone())
        .collect();
    assert_eq!(printed.concat(), "consumed a b c; total 3.5\n");
    // Returns a table.
    assert_eq!(
        p.call_value("returning", vec![]).unwrap(),
        json(r#"{"yoo":"YOLO!!","list":[1,2,3],"nested":{"ok":true}}"#)
    );
    // Runs Lua in the designated VM, whose globals persist.
    p.call_value("luaExecExample", vec![]).unwrap();
    p.call_value("luaExecExample", vec![]).unwrap();
    assert_eq!(vm.call_value("runs", vec![]).unwrap(), Value::Int(2));
    // Evaluates Lua there.
    assert_eq!(
        p.call_value("luaEvalExample", vec![]).unwrap(),
        json(r#"{"number":42,"greeting":"hello zig"}"#)
    );
    // Calls a host function with positional arguments.
    assert_eq!(
        p.call_value("hostAdd", vec![json("[2, 40]")]).unwrap(),
        Value::Int(42)
    );
    // Typed calls and raw JSON bytes work too.
    let s: u64 = p.call("hostAdd", &(20, 22)).unwrap();
    assert_eq!(s, 42);
    assert_eq!(
        p.call_bytes("echo", b"[1,null]".to_vec()).unwrap(),
        b"[1,null]"
    );
    assert_eq!(p.call_bytes("echo", Vec::new()).unwrap(), b"");
}

#[test]
fn zig_perf_plugin_sums_and_counts_primes() {
    let host = builder().build();
    let mut p = host.load_wasm(plugboard_fixtures::ZIG_PERF).unwrap();
    let n: u64 = 100_000;
    let sum: u64 = p.call("for_loop", &n).unwrap();
    assert_eq!(sum, n * (n + 1) / 2);
    let primes: u64 = p.call("primes", &1000).unwrap();
    assert_eq!(primes, 168);
}

#[test]
fn values_round_trip_through_echo() {
    let host = builder().build();
    let mut p = host
        .load_wasm(plugboard_fixtures::ZIG_NVIM_EXAMPLES)
        .unwrap();
    for text in [
        "0",
        "-9223372036854775808",
        "18446744073709551615",
        "1.5",
        "true",
        r#""text with \u0000 and ünïcödé""#,
        "[]",
        "{}",
        r#"{"a":[1,{"b":null}],"c":"d"}"#,
    ] {
        let v = json(text);
        assert_eq!(p.call_value("echo", vec![v.clone()]).unwrap(), v, "{text}");
    }
    // nil in, nil out (id 0).
    assert_eq!(p.call_value("echo", vec![]).unwrap(), Value::Null);
}

#[test]
fn lua_plugin_calls_a_wasm_plugin_and_gets_a_table() {
    let host = builder().build();
    let zig = host
        .load_wasm_with(
            plugboard_fixtures::ZIG_NVIM_EXAMPLES,
            PluginOptions::named("zig"),
        )
        .unwrap();
    let _zig = host.expose(zig).unwrap();
    let mut lua = host
        .load_lua(
            "caller",
            r#"
            function go()
                local t = plugins.zig.returning()
                return { ok = t.nested.ok, n = #t.list, yoo = t.yoo,
                         echoed = plugins.zig.echo({ 1, 2, x = "y" }).x,
                         missing = plugins.nope == nil }
            end"#,
        )
        .unwrap();
    assert_eq!(
        lua.call_value("go", vec![]).unwrap(),
        json(r#"{"echoed":"y","missing":true,"n":3,"ok":true,"yoo":"YOLO!!"}"#)
    );
}

#[test]
fn lua_calls_buffer_extism_and_lua_plugins_the_same_way() {
    let host = builder().build();
    let keep: Vec<SharedPlugin> = vec![
        host.expose(
            host.load_wasm_with(plugboard_fixtures::PERF, PluginOptions::named("rust"))
                .unwrap(),
        )
        .unwrap(),
        host.expose(
            host.load_wasm_with(
                plugboard_fixtures::EXTISM_KITCHEN,
                PluginOptions::named("extism").stub_missing_imports(),
            )
            .unwrap(),
        )
        .unwrap(),
        host.expose(
            host.load_lua("other", "function twice(x) return 2 * x end")
                .unwrap(),
        )
        .unwrap(),
    ];
    let mut lua = host
        .load_lua(
            "caller",
            r#"
            function go()
                return plugins.rust.sum(100), plugins.rust.add(2, 3),
                       plugins.extism.count_vowels("plugboard"), plugins.other.twice(21)
            end"#,
        )
        .unwrap();
    let out = lua.call_value("go", vec![]).unwrap();
    let Value::List(items) = out else {
        panic!("{out:?}")
    };
    assert_eq!(items[0], Value::Int(5050)); // a u64 arrives in Lua as an integer
    assert_eq!(items[1], Value::Int(5));
    assert_eq!(
        items[2],
        json(r#"{"count":3,"total":3,"vowels":"aeiouAEIOU"}"#)
    );
    assert_eq!(items[3], Value::Int(42));
    drop(keep);
    // Unexposed once the last handle is gone.
    let err = lua.call_value("go", vec![]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::LuaError { .. }), "{err}");
}

#[test]
fn nested_calls_share_the_outer_fuel_and_depth() {
    let host = builder().build();
    let _vm = lua_vm(&host);
    let zig = host
        .load_wasm_with(plugboard_fixtures::ZIG_PERF, PluginOptions::named("zig"))
        .unwrap();
    let zig = host.expose(zig).unwrap();
    // A cheap nested call is charged to the caller.
    let src = "function small() return plugins.zig.for_loop(1000) end\n\
               function big() return plugins.zig.for_loop(100000000) end\n\
               function caught() return pcall(plugins.zig.for_loop, 100000000) end";
    let mut lua = host
        .load_lua_files(
            [("main.lua", src)],
            PluginOptions::named("caller").with_limits(Limits {
                fuel: 2_000_000,
                ..Limits::default()
            }),
        )
        .unwrap();
    assert_eq!(
        lua.call_value("small", vec![]).unwrap(),
        Value::Int(500_500)
    );
    let inner = zig.borrow().unwrap().fuel_consumed();
    assert!(inner > 10_000, "the loop ran in the nested plugin: {inner}");
    assert!(
        lua.fuel_consumed() >= inner,
        "caller charged {} for a nested call of {inner}",
        lua.fuel_consumed()
    );
    // A nested call gets no more than the caller has left: the caller's budget stops it.
    assert_kind(lua.call_value("big", vec![]), |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    assert!(zig.borrow().unwrap().fuel_consumed() <= 2_000_000);
    // The error is a Lua error the caller can catch, and the host goes on.
    let out = lua.call_value("caught", vec![]);
    assert!(out.is_err() || matches!(out, Ok(Value::List(ref l)) if l[0] == Value::Bool(false)));
    assert_eq!(
        lua.call_value("small", vec![]).unwrap(),
        Value::Int(500_500)
    );

    // Depth: a plugin that allows one level only refuses to run nested in another's call.
    let _shallow = host
        .expose(
            host.load_wasm_with(
                plugboard_fixtures::ZIG_PERF,
                PluginOptions::named("zig1").with_limits(Limits {
                    max_reentrancy: 1,
                    ..Limits::default()
                }),
            )
            .unwrap(),
        )
        .unwrap();
    let mut shallow = host
        .load_lua(
            "shallow",
            "function go() return plugins.zig1.for_loop(10) end",
        )
        .unwrap();
    assert_kind(shallow.call_value("go", vec![]), |k| {
        matches!(k, ErrorKind::ReentrancyLimit { .. })
    });
    canary(&host);
}

#[test]
fn wasm_evaluates_lua_that_calls_back_into_wasm() {
    // Lua (caller) → zig.luaEvalExample → lua_eval in the VM → greet → plugins.perf.for_loop.
    let host = builder().build();
    let vm = host
        .load_lua(
            "vm",
            "function greet(who) return who .. ' ' .. plugins.perf.for_loop(10) end",
        )
        .unwrap();
    let vm = host.expose(vm).unwrap();
    host.set_lua_vm(&vm).unwrap();
    let _perf = host
        .expose(
            host.load_wasm_with(plugboard_fixtures::ZIG_PERF, PluginOptions::named("perf"))
                .unwrap(),
        )
        .unwrap();
    let _zig = host
        .expose(
            host.load_wasm_with(
                plugboard_fixtures::ZIG_NVIM_EXAMPLES,
                PluginOptions::named("zig"),
            )
            .unwrap(),
        )
        .unwrap();
    let mut caller = host
        .load_lua(
            "caller",
            "function go() return plugins.zig.luaEvalExample() end",
        )
        .unwrap();
    assert_eq!(
        caller.call_value("go", vec![]).unwrap(),
        json(r#"{"greeting":"zig 55","number":42}"#) // Lua tables come back with sorted keys
    );
    // The VM calling into a plugin that evaluates Lua in that same VM: refused, not re-entered.
    let cyclic = host
        .load_lua(
            "cyclic",
            "function go() return plugins.zig.luaEvalExample() end",
        )
        .unwrap();
    let cyclic = host.expose(cyclic).unwrap();
    host.set_lua_vm(&cyclic).unwrap();
    let err = cyclic.call_value("go", vec![]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Busy), "{err:?}");
    assert_eq!(
        cyclic.call_value("go", vec![]).unwrap_err().kind(),
        &ErrorKind::Busy
    );
}

#[test]
fn peer_errors_have_their_own_kind() {
    let host = builder().build();
    let mut zig = host
        .load_wasm_with(
            plugboard_fixtures::ZIG_NVIM_EXAMPLES,
            PluginOptions::named("zig"),
        )
        .unwrap();
    // No designated Lua VM.
    assert_kind(zig.call_value("luaExecExample", vec![]), |k| {
        matches!(k, ErrorKind::Peer { .. })
    });
    // A wasm plugin cannot be the Lua VM; names are unique.
    let shared = host.expose(zig).unwrap();
    assert_kind(host.set_lua_vm(&shared), |k| {
        matches!(k, ErrorKind::Peer { .. })
    });
    let again = host
        .load_wasm_with(
            plugboard_fixtures::ZIG_NVIM_EXAMPLES,
            PluginOptions::named("zig"),
        )
        .unwrap();
    assert_kind(host.expose(again), |k| matches!(k, ErrorKind::Peer { .. }));
    assert!(host.exposed("zig").is_some());
    drop(shared);
    assert!(host.exposed("zig").is_none());
}

// ------------------------------------------------------------------ hostile nvim plugins

/// An nvim module written by hand: a bump allocator, a no-op `dealloc`, `$value(ptr, len)`
/// making an id, data strings laid out from 16, and `functions` listed by `functionality`
/// as `() -> id`.
struct Wat {
    data: String,
    next: usize,
    funcs: String,
    listed: Vec<String>,
}

impl Wat {
    fn new() -> Self {
        Wat {
            data: String::new(),
            next: 16,
            funcs: String::new(),
            listed: Vec::new(),
        }
    }

    /// A data string; returns `(ptr, len)` as WAT operands.
    fn text(&mut self, bytes: &[u8]) -> String {
        let at = self.next;
        let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        self.data
            .push_str(&format!("(data (i32.const {at}) \"{escaped}\")\n"));
        self.next += bytes.len() + 1;
        format!("(i32.const {at}) (i32.const {})", bytes.len())
    }

    /// `name() -> id` with this body, listed in `functionality`.
    fn func(&mut self, name: &str, body: &str) -> &mut Self {
        self.funcs.push_str(&format!(
            "(func (export \"{name}\") (result i32) (local $id i32) (local $i i32) {body})\n"
        ));
        self.listed.push(name.to_owned());
        self
    }

    fn build_with_listing(&mut self, listing: &[u8]) -> Vec<u8> {
        let listing = self.text(listing);
        let text = format!(
            r#"(module
  (import "host" "get_id" (func $get_id (result i32)))
  (import "host" "set_value" (func $set_value (param i32 i32 i32)))
  (import "host" "get_value_size" (func $size (param i32) (result i32)))
  (import "host" "get_value_addr" (func $addr (param i32) (result i32)))
  (import "host" "lua_exec" (func $lua_exec (param i32)))
  (import "host" "lua_eval" (func $lua_eval (param i32) (result i32)))
  (memory (export "memory") 8)
  (global $bump (mut i32) (i32.const 262144))
  (func (export "alloc") (param i32) (result i32) (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get 0)))
    (local.get $p))
  (func (export "dealloc") (param i32 i32))
  (func $value (param $ptr i32) (param $len i32) (result i32) (local $id i32)
    (local.set $id (call $get_id))
    (call $set_value (local.get $id) (local.get $ptr) (local.get $len))
    (local.get $id))
  (func (export "functionality") (result i32) (call $value {listing}))
  {}
  {})"#,
            self.funcs, self.data
        );
        wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{text}"))
    }

    fn build(&mut self) -> Vec<u8> {
        let listing: Vec<String> = self
            .listed
            .iter()
            .map(|n| format!(r#"{{"name":"{n}","params":"void","returns":"u32"}}"#))
            .collect();
        self.build_with_listing(format!("[{}]", listing.join(",")).as_bytes())
    }
}

fn hostile() -> Vec<u8> {
    let mut w = Wat::new();
    let ok = w.text(b"42");
    let nan = w.text(b"[NaN, Infinity]");
    let dup = w.text(br#"{"a":1,"b":2,"a":3}"#);
    let surrogate = w.text(br#""\ud800""#);
    let nul = w.text(b"\"a\\u0000b\"");
    let invalid = w.text(b"\"\xff\xfe\"");
    let numbers = w.text(b"[1e999999]");
    let edges = w.text(b"[-0, 9007199254740993, 18446744073709551616, 1.0, 1]");
    let exec_loop = w.text(b"while true do end");
    let exec_error = w.text(b"error('boom')");
    let exec_syntax = w.text(b"this is not lua");
    let eval_escape =
        w.text(b"io.open or io.popen or os.execute or string.dump or dofile or loadfile");
    let canary = format!("(call $value {ok})");
    w.func("canary", &canary)
        .func("zero", "(call $size (i32.const 0))")
        .func("max", "(call $size (i32.const -1))")
        .func(
            "stale",
            &format!(
                "(local.set $id (call $value {ok})) (drop (call $addr (local.get $id))) (call $size (local.get $id))"
            ),
        )
        .func(
            "set_stale",
            &format!(
                "(local.set $id (call $value {ok})) (drop (call $addr (local.get $id))) (call $set_value (local.get $id) {ok}) (i32.const 0)"
            ),
        )
        .func("unset", "(call $size (call $get_id))")
        .func("return_unset", "(call $get_id)")
        .func("return_forged", "(i32.const 12345)")
        .func(
            "exhaust_ids",
            "(loop $l (drop (call $get_id)) (br $l)) (i32.const 0)",
        )
        .func(
            "exhaust_bytes",
            "(loop $l (local.set $id (call $get_id)) (call $set_value (local.get $id) (i32.const 0) (i32.const 65536)) (br $l)) (i32.const 0)",
        )
        .func(
            "depth_bomb",
            "(memory.fill (i32.const 131072) (i32.const 91) (i32.const 100000)) (call $value (i32.const 131072) (i32.const 100000))",
        )
        .func(
            "huge_string",
            "(call $value (i32.const 0) (i32.const 524288))",
        )
        .func("out_of_bounds", "(call $value (i32.const 524000) (i32.const 1000))")
        .func("nan", &format!("(call $value {nan})"))
        .func("dup", &format!("(call $value {dup})"))
        .func("surrogate", &format!("(call $value {surrogate})"))
        .func("nul", &format!("(call $value {nul})"))
        .func("invalid_utf8", &format!("(call $value {invalid})"))
        .func("numbers", &format!("(call $value {numbers})"))
        .func("edges", &format!("(call $value {edges})"))
        .func(
            "lua_loop",
            &format!("(call $lua_exec (call $value {exec_loop})) (i32.const 0)"),
        )
        .func(
            "lua_error",
            &format!("(call $lua_exec (call $value {exec_error})) (i32.const 0)"),
        )
        .func(
            "lua_syntax",
            &format!("(call $lua_exec (call $value {exec_syntax})) (i32.const 0)"),
        )
        .func(
            "lua_escape",
            &format!("(call $lua_eval (call $value {eval_escape}))"),
        );
    w.build()
}

fn hostile_plugin(host: &Host) -> plugboard_host_core::Plugin {
    host.load_wasm_with(&hostile(), PluginOptions::named("hostile"))
        .unwrap()
}

/// Runs `f`, expects the error, then the plugin and the host still answer.
#[track_caller]
fn refused(
    host: &Host,
    p: &mut plugboard_host_core::Plugin,
    f: &str,
    check: impl Fn(&ErrorKind) -> bool,
) {
    assert_kind(p.call_value(f, vec![]), check);
    assert_eq!(
        p.call_value("canary", vec![]).unwrap(),
        Value::Int(42),
        "{f}"
    );
    canary(host);
}

fn bad_handle(k: &ErrorKind) -> bool {
    matches!(k, ErrorKind::AbiViolation(AbiViolation::BadHandle { .. }))
}

#[test]
fn forged_or_stale_id_rejected() {
    // JSN-01 (another plugin's id: ids carry a per-plugin generation; see the unit tests).
    let host = builder().build();
    let mut p = hostile_plugin(&host);
    for f in ["zero", "max", "stale", "set_stale", "return_forged"] {
        refused(&host, &mut p, f, bad_handle);
    }
}

#[test]
fn handle_type_confusion() {
    // JSN-02: a reserved id that never got a value is not a value.
    let host = builder().build();
    let mut p = hostile_plugin(&host);
    for f in ["unset", "return_unset"] {
        refused(&host, &mut p, f, |k| {
            matches!(k, ErrorKind::AbiViolation(AbiViolation::WrongType { .. }))
        });
    }
}

#[test]
fn handle_table_exhaustion() {
    // JSN-03: ids and the bytes they hold are capped.
    let host = builder()
        .limits(Limits {
            max_handles: 1000,
            memory_bytes: 1 << 20,
            ..Limits::default()
        })
        .build();
    let mut p = hostile_plugin(&host);
    refused(&host, &mut p, "exhaust_ids", |k| {
        matches!(
            k,
            ErrorKind::ResourceLimit(ResourceLimit::Handles { max: 1000 })
        )
    });
    refused(&host, &mut p, "exhaust_bytes", |k| {
        matches!(
            k,
            ErrorKind::ResourceLimit(ResourceLimit::ValueBytes { max }) if *max == 1 << 20
        )
    });
}

#[test]
fn dag_and_cycles_impossible_by_construction() {
    // JSN-04/05: a value is opaque text; an id inside one is just a number, so values
    // cannot reference each other and nothing expands when a value is read.
    let host = builder().build();
    let mut p = host
        .load_wasm(plugboard_fixtures::ZIG_NVIM_EXAMPLES)
        .unwrap();
    let v = json("[1048577, 1048577]");
    assert_eq!(p.call_value("echo", vec![v.clone()]).unwrap(), v);
}

#[test]
fn json_depth_bomb() {
    // JSN-06
    let host = builder().build();
    let mut p = hostile_plugin(&host);
    refused(&host, &mut p, "depth_bomb", |k| {
        matches!(k, ErrorKind::Decode(DecodeError::DepthLimit { max: 64 }))
    });
}

#[test]
fn json_number_edges() {
    // JSN-07: out-of-range is an error; -0 is the float -0.0; integers are exact to 64 bits;
    // past u64 they become floats; 1.0 stays a float and 1 an integer.
    let host = builder().build();
    let mut p = hostile_plugin(&host);
    refused(&host, &mut p, "numbers", |k| {
        matches!(k, ErrorKind::Decode(_))
    });
    let out = p.call_value("edges", vec![]).unwrap();
    let Value::List(items) = out else {
        panic!("{out:?}")
    };
    assert!(matches!(items[0], Value::Float(z) if z == 0.0 && z.is_sign_negative()));
    assert_eq!(items[1], Value::Int(9_007_199_254_740_993));
    assert_eq!(items[2], Value::Float(18_446_744_073_709_551_616.0));
    assert_eq!(items[3], Value::Float(1.0));
    assert_eq!(items[4], Value::Int(1));
}

#[test]
fn json_string_edges() {
    // JSN-08: lone surrogate → error; NUL preserved; invalid UTF-8 → error; size capped.
    let host = builder()
        .limits(Limits {
            max_output_bytes: 256 << 10,
            ..Limits::default()
        })
        .build();
    let mut p = hostile_plugin(&host);
    refused(&host, &mut p, "surrogate", |k| {
        matches!(k, ErrorKind::Decode(_))
    });
    assert_eq!(
        p.call_value("nul", vec![]).unwrap(),
        Value::String("a\0b".into())
    );
    refused(&host, &mut p, "invalid_utf8", |k| {
        matches!(k, ErrorKind::Decode(DecodeError::InvalidUtf8))
    });
    refused(&host, &mut p, "huge_string", |k| {
        matches!(k, ErrorKind::OutputTooLarge { .. })
    });
    refused(&host, &mut p, "out_of_bounds", |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::OutOfBounds { .. }))
    });
}

#[test]
fn nan_inf_from_plugin() {
    // JSN-09: NaN/Infinity are not JSON: a decode error, never invalid JSON passed on.
    let host = builder().build();
    let mut p = hostile_plugin(&host);
    refused(&host, &mut p, "nan", |k| matches!(k, ErrorKind::Decode(_)));
}

#[test]
fn duplicate_keys() {
    // JSN-10: the last value wins, in the first key's place.
    let host = builder().build();
    let mut p = hostile_plugin(&host);
    assert_eq!(
        p.call_value("dup", vec![]).unwrap(),
        Value::Map(vec![
            (Value::String("a".into()), Value::Int(3)),
            (Value::String("b".into()), Value::Int(2)),
        ])
    );
    assert_eq!(p.call_bytes("dup", vec![]).unwrap(), br#"{"a":3,"b":2}"#);
}

#[test]
fn lua_exec_that_errors_or_loops() {
    let host = builder()
        .limits(Limits {
            fuel: 5_000_000,
            ..Limits::default()
        })
        .build();
    let vm = host.load_lua("vm", "x = 1").unwrap();
    let vm = host.expose(vm).unwrap();
    host.set_lua_vm(&vm).unwrap();
    let mut p = hostile_plugin(&host);
    // The loop stops at the wasm call's remaining fuel, not the VM's own budget.
    refused(&host, &mut p, "lua_loop", |k| {
        matches!(k, ErrorKind::OutOfFuel { .. })
    });
    refused(
        &host,
        &mut p,
        "lua_error",
        |k| matches!(k, ErrorKind::LuaError { message, .. } if message.contains("boom")),
    );
    refused(&host, &mut p, "lua_syntax", |k| {
        matches!(k, ErrorKind::LuaSyntax { .. })
    });
    // The sandbox holds: no files, no processes, no binary chunks.
    assert_eq!(p.call_value("lua_escape", vec![]).unwrap(), Value::Null);
    // The VM itself is fine.
    assert_eq!(
        vm.borrow_mut()
            .unwrap()
            .call_value("tostring", vec![Value::Int(1)])
            .unwrap_or(Value::Null),
        Value::String("1".into())
    );
}

#[test]
fn bad_functionality_is_refused_at_load() {
    let host = builder().build();
    let load = |listing: &[u8]| {
        let mut w = Wat::new();
        w.func("f", "(i32.const 0)");
        host.load_wasm(&w.build_with_listing(listing))
    };
    assert_kind(load(b"not json"), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::Malformed { .. }))
    });
    assert_kind(load(br#"{"name":"f"}"#), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::Malformed { .. }))
    });
    assert_kind(load(br#"[{"name":"f","params":"void"}]"#), |k| {
        matches!(k, ErrorKind::AbiViolation(AbiViolation::Malformed { .. }))
    });
    assert_kind(
        load(br#"[{"name":"missing","params":"void","returns":"void"}]"#),
        |k| matches!(k, ErrorKind::MissingExport { name } if name == "missing"),
    );
    assert_kind(
        load(br#"[{"name":"f","params":"u32","returns":"u32"}]"#),
        |k| matches!(k, ErrorKind::SignatureMismatch { .. }),
    );
    // wasm_nvim's later form, `{"type": …}`, is accepted.
    let p = load(br#"[{"name":"f","params":{"type":"void"},"returns":{"type":"u32"}}]"#).unwrap();
    assert_eq!(p.exports().len(), 1);
    canary(&host);
}

#[test]
fn async_host_function_suspends_the_nvim_call() {
    use plugboard_host_core::Step;
    let host = Host::builder()
        .func_async("host", "add", |(a, b): (i64, i64)| async move {
            Ok::<i64, String>(a + b)
        })
        .build();
    let mut p = host
        .load_wasm(plugboard_fixtures::ZIG_NVIM_EXAMPLES)
        .unwrap();
    p.start_call("hostAdd", b"[40, 2]".to_vec()).unwrap();
    let pending = loop {
        match p.resume().unwrap() {
            Step::Pending(pending) => break pending,
            Step::Yielded => {}
            Step::Done(_) => panic!("should suspend on the async host function"),
        }
    };
    assert_eq!((pending.namespace(), pending.name()), ("host", "add"));
    p.complete(crate::conformance::block_on(pending)).unwrap();
    match p.resume().unwrap() {
        Step::Done(out) => assert_eq!(out, b"42"),
        other => panic!("expected Done, got {other:?}"),
    }
    // Driven to the end synchronously, the future is awaited where it is called.
    assert_eq!(
        p.call_value("hostAdd", vec![json("[1, 2]")]).unwrap(),
        Value::Int(3)
    );
}
