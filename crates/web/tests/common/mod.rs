// The JS binding, tested from Rust under wasm-bindgen-test: included (not a module: the
// tests are at each crate root) by `node.rs` (run with
// `wasm-pack test --node`) and `browser.rs` (`wasm-pack test --headless --chrome`).
use js_sys::{Function, Reflect};
use plugboard_web::{RawHost, RawPlugin};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

/// What the package's `Plugin.call` does: step, yield, await host functions.
async fn drive(p: &RawPlugin, f: &str, input: JsValue) -> Result<JsValue, JsValue> {
    p.start(f.into(), input, JsValue::UNDEFINED)?;
    loop {
        match p.step()? {
            0 => return Ok(p.result()),
            1 => {}
            _ => {
                JsFuture::from(p.await_host()).await?;
            }
        }
    }
}

/// The Lua performance-loop plugin (plugins/lua/perf).
fn lua_perf(host: &RawHost) -> RawPlugin {
    host.load_lua(
        "perf".into(),
        include_str!("../../../../plugins/lua/perf/main.lua").into(),
        JsValue::UNDEFINED,
    )
    .unwrap()
}

fn options(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn kind(e: &JsValue) -> String {
    assert_eq!(
        Reflect::get(e, &"name".into()).unwrap().as_string().as_deref(),
        Some("PluginError")
    );
    Reflect::get(e, &"kind".into()).unwrap().as_string().unwrap()
}

#[wasm_bindgen_test]
async fn lua_and_wasm_plugins_answer() {
    let host = RawHost::new(JsValue::UNDEFINED).unwrap();
    let lua = lua_perf(&host);
    assert_eq!(lua.abi(), "lua");
    let out = drive(&lua, "sum", JsValue::from_f64(1000.0)).await.unwrap();
    assert_eq!(out.as_f64(), Some(500_500.0));
    let bytes = js_sys::Uint8Array::from(plugboard_fixtures::PERF);
    let perf = host.load_wasm(bytes.into(), JsValue::UNDEFINED).unwrap();
    assert_eq!(perf.abi(), "buffer");
    let out = drive(&perf, "add", options("[2, 40]")).await.unwrap();
    assert_eq!(out.as_f64(), Some(42.0));
    let zig = host
        .load_wasm(
            js_sys::Uint8Array::from(plugboard_fixtures::ZIG_PERF).into(),
            JsValue::UNDEFINED,
        )
        .unwrap();
    assert_eq!(zig.abi(), "nvim");
    let out = drive(&zig, "for_loop", JsValue::from_f64(100.0)).await.unwrap();
    assert_eq!(out.as_f64(), Some(5050.0));
}

/// RELIABILITY.md DAT-06 (wasm32 half): the performance loop's first call uses exactly the fuel
/// it uses natively (host-core's `dat_06_fuel_is_the_same_on_every_target`).
#[wasm_bindgen_test]
async fn dat_06_fuel_is_the_same_as_native() {
    let host = RawHost::new(JsValue::UNDEFINED).unwrap();
    let load = |bytes: &[u8]| {
        host.load_wasm(js_sys::Uint8Array::from(bytes).into(), JsValue::UNDEFINED)
            .unwrap()
    };
    let rust = load(plugboard_fixtures::PERF);
    let zig = load(plugboard_fixtures::ZIG_PERF);
    let lua = lua_perf(&host);
    let mut got = Vec::new();
    for (name, p, f) in [("rust", &rust, "sum"), ("zig", &zig, "for_loop"), ("lua", &lua, "sum")] {
        let out = drive(p, f, JsValue::from_f64(10_000.0)).await.unwrap();
        assert_eq!(out.as_f64(), Some(50_005_000.0));
        got.push((name, p.fuel_consumed() as u64));
    }
    assert_eq!(got, plugboard_fixtures::PERF_FUEL_SUM_10000);
}

#[wasm_bindgen_test]
async fn a_promise_from_a_host_function_suspends_the_call() {
    let host = RawHost::new(JsValue::UNDEFINED).unwrap();
    let later = Function::new_with_args(
        "x",
        "return new Promise((resolve) => setTimeout(() => resolve(x * 2), 5))",
    );
    host.define("net".into(), "later".into(), later, JsValue::UNDEFINED)
        .unwrap();
    let lua = host
        .load_lua(
            "caller".into(),
            "function f(x) return net.later(x) + 1 end".into(),
            JsValue::UNDEFINED,
        )
        .unwrap();
    let out = drive(&lua, "f", JsValue::from_f64(20.0)).await.unwrap();
    assert_eq!(out.as_f64(), Some(41.0));
    // Synchronously it cannot wait.
    let err = lua
        .call_sync("f".into(), JsValue::from_f64(1.0), JsValue::UNDEFINED)
        .unwrap_err();
    assert_eq!(kind(&err), "hostFunction");
    // A throwing host function fails the call with its message.
    let throws = Function::new_no_args("throw new TypeError('nope')");
    host.define("bad".into(), "f".into(), throws, JsValue::UNDEFINED)
        .unwrap();
    let lua = host
        .load_lua(
            "bad".into(),
            "function f() return bad.f() end".into(),
            JsValue::UNDEFINED,
        )
        .unwrap();
    let err = drive(&lua, "f", JsValue::UNDEFINED).await.unwrap_err();
    assert_eq!(kind(&err), "hostFunction");
    let message = Reflect::get(&err, &"message".into()).unwrap().as_string().unwrap();
    assert!(message.contains("TypeError: nope"), "{message}");
}

#[wasm_bindgen_test]
async fn limits_are_plugin_errors_and_the_plugin_recovers() {
    let host = RawHost::new(options(r#"{"fuel": 2000000}"#)).unwrap();
    let perf = host
        .load_wasm(
            js_sys::Uint8Array::from(plugboard_fixtures::PERF).into(),
            JsValue::UNDEFINED,
        )
        .unwrap();
    let err = drive(&perf, "sum", JsValue::from_f64(1e12)).await.unwrap_err();
    assert_eq!(kind(&err), "outOfFuel");
    let out = drive(&perf, "add", options("[1, 2]")).await.unwrap();
    assert_eq!(out.as_f64(), Some(3.0));
    let err = host
        .load_wasm(js_sys::Uint8Array::from(&b"\0asm"[..]).into(), JsValue::UNDEFINED)
        .unwrap_err();
    assert_eq!(kind(&err), "invalidModule");
    // A fuzz finding: this module made wasmi's parser divide by zero (an abort on wasm32).
    let crasher = include_bytes!("../../../../fuzz/regressions/module_load/wasmi-empty-code-section-div-by-zero.wasm");
    let err = host
        .load_wasm(js_sys::Uint8Array::from(&crasher[..]).into(), JsValue::UNDEFINED)
        .unwrap_err();
    assert_eq!(kind(&err), "invalidModule");
    let out = drive(&perf, "add", options("[1, 2]")).await.unwrap();
    assert_eq!(out.as_f64(), Some(3.0));
    let err = host
        .load_lua("bad".into(), "function (".into(), JsValue::UNDEFINED)
        .unwrap_err();
    assert_eq!(kind(&err), "luaSyntax");
}

/// The condition for shipping a tail-call build (docs/toolchain.md): a 10-million-iteration loop
/// under fuel metering runs to its end in this engine.
#[wasm_bindgen_test]
async fn ten_million_iteration_metered_loop() {
    let host = RawHost::new(options(r#"{"fuel": 400000000}"#)).unwrap();
    let perf = host
        .load_wasm(
            js_sys::Uint8Array::from(plugboard_fixtures::PERF).into(),
            JsValue::UNDEFINED,
        )
        .unwrap();
    let out = drive(&perf, "sum", JsValue::from_f64(10_000_000.0)).await.unwrap();
    assert_eq!(out.as_f64(), Some(50_000_005_000_000.0));
}
