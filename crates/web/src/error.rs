//! Errors as JS sees them: real `Error` objects with `name = "PluginError"`, `kind` (the
//! camelCase name of the [`ErrorKind`], e.g. `"outOfFuel"`), and `message`. A few kinds carry
//! more fields: `plugin`, `line` (Lua syntax), `namespace`/`function` (host functions).

use js_sys::Reflect;
use plugboard_host_core::{Error, ErrorKind};
use wasm_bindgen::JsValue;

/// A result whose error is a thrown JS value.
pub type JsResult<T> = Result<T, JsValue>;

/// The `PluginError` for `e`.
pub fn to_js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("PluginError");
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&err, &JsValue::from_str(k), &v);
    };
    set("kind", JsValue::from_str(e.kind_name()));
    match e.kind() {
        ErrorKind::LuaSyntax {
            plugin, file, line, ..
        } => {
            set("plugin", JsValue::from_str(plugin));
            set("file", JsValue::from_str(file));
            set(
                "line",
                line.map_or(JsValue::NULL, |l| JsValue::from_f64(f64::from(l))),
            );
        }
        ErrorKind::LuaError { plugin, .. } => set("plugin", JsValue::from_str(plugin)),
        ErrorKind::HostFunction {
            namespace, name, ..
        } => {
            set("namespace", JsValue::from_str(namespace));
            set("function", JsValue::from_str(name));
        }
        ErrorKind::OutOfFuel { budget } => set("budget", JsValue::from_f64(*budget as f64)),
        _ => {}
    }
    err.into()
}
