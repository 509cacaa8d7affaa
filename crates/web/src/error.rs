//! Errors as JS sees them: instances of the package's `PluginError` class (the wrapper
//! registers it with [`set_error_class`]; before that, plain `Error`s) with `name =
//! "PluginError"`, `kind` (the camelCase name of the [`ErrorKind`], e.g. `"outOfFuel"`), and
//! `message`. Some kinds carry more fields: `plugin`, `file`/`line` (Lua syntax),
//! `namespace`/`function` and `cause` (the value a JS host function threw or rejected with),
//! `code` (an Extism plugin's return code), `status` (a WASI exit), `exports`
//! (`unknownFunction`), `option` (`invalidOption`), `budget` (`outOfFuel`).

use js_sys::{Array, Function, Reflect};
use plugboard_host_core::{Error, ErrorKind};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// A result whose error is a thrown JS value.
pub type JsResult<T> = Result<T, JsValue>;

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
    /// What JS host functions threw, by `namespace.name`, until an error reports it.
    static THROWN: RefCell<Vec<(String, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// Makes every error of the runtime an instance of `class` (`new class(message)`), so that
/// `instanceof PluginError` holds for them.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

/// Keeps the value a JS host function threw (or rejected with), to be the `cause` of the
/// `hostFunction` error its plugin's call fails with.
pub fn remember_thrown(label: &str, thrown: JsValue) {
    THROWN.with(|t| {
        let mut t = t.borrow_mut();
        t.retain(|(l, _)| l != label);
        t.push((label.to_owned(), thrown));
    });
}

/// Forgets kept host-function exceptions (at the start of a call).
pub fn forget_thrown() {
    THROWN.with(|t| t.borrow_mut().clear());
}

fn take_thrown(label: &str) -> Option<JsValue> {
    THROWN.with(|t| {
        let mut t = t.borrow_mut();
        let i = t.iter().position(|(l, _)| l == label)?;
        Some(t.remove(i).1)
    })
}

fn new_error(message: &str) -> js_sys::Error {
    let class = ERROR_CLASS.with(|c| c.borrow().clone());
    if let Some(class) = class {
        let args: Array = std::iter::once(JsValue::from_str(message)).collect();
        if let Ok(e) = Reflect::construct(&class, &args) {
            if let Ok(e) = e.dyn_into::<js_sys::Error>() {
                return e;
            }
        }
    }
    js_sys::Error::new(message)
}

/// The `PluginError` for `e`.
pub fn to_js_error(e: Error) -> JsValue {
    let message = e
        .to_string()
        .replace("(Host::set_lua_vm)", "(PluginHost.setLuaVm)");
    let err = new_error(&message);
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
        ErrorKind::LuaError { plugin, .. } | ErrorKind::Closed { plugin } => {
            set("plugin", JsValue::from_str(plugin));
        }
        ErrorKind::HostFunction {
            namespace, name, ..
        } => {
            set("namespace", JsValue::from_str(namespace));
            set("function", JsValue::from_str(name));
            if let Some(thrown) = take_thrown(&format!("{namespace}.{name}")) {
                set("cause", thrown);
            }
        }
        ErrorKind::OutOfFuel { budget } => set("budget", JsValue::from_f64(*budget as f64)),
        ErrorKind::CallFailed { code, .. } => set("code", JsValue::from_f64(f64::from(*code))),
        ErrorKind::Exit { status } => set("status", JsValue::from_f64(f64::from(*status))),
        ErrorKind::UnknownFunction { exports, .. } => {
            let list: Array = exports.iter().map(|n| JsValue::from_str(n)).collect();
            set("exports", list.into());
        }
        ErrorKind::InvalidOption { option, .. } => set("option", JsValue::from_str(option)),
        _ => {}
    }
    err.into()
}
