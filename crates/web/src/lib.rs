//! `plugboard-web`: the npm package `plugboard`, a thin wasm-bindgen shell over
//! [`plugboard_host_core`]. Everything a plugin does is host-core's; this crate converts JS values,
//! JS functions and Promises at the boundary and drives calls from the event loop:
//!
//! - The wrapper's `Plugin.call` (`js/wrapper.js`) runs the call state machine one fuel slice
//!   at a time through [`RawPlugin::step`] and yields to the event loop (a macrotask) between
//!   slices, so a page stays responsive; an `AbortSignal` cancels between slices.
//! - A JS host function that returns a Promise suspends the plugin's call
//!   ([`Step::Pending`](plugboard_host_core::Step)) until it settles — on wasm and Lua plugins,
//!   with no JSPI, no worker and no SharedArrayBuffer.
//! - Errors are `Error` objects with `name = "PluginError"` and a `kind` (see [`error`]).

pub mod convert;
pub mod error;

use error::{to_js_error, JsResult};
use js_sys::{Array, Function, Object, Promise, Reflect};
use plugboard_host_core::{
    Abi, Error, ErrorKind, Host, HostReturn, HttpRequest, HttpResponse, Interface, KernelConfig,
    Limits, LogLevel, LogRecord, LogStream, Manifest, Plugin as CorePlugin, PluginOptions,
    SharedPlugin, Signature, Step, Value,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// Host options: the default limits of every plugin the host loads, camelCase.
#[derive(Debug, Default)]
struct HostOptions {
    limits: Limits,
    /// Extism plugins' log level, unless a load says otherwise.
    log_level: Option<LogLevel>,
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn usage(reason: String) -> Error {
    ErrorKind::Encode { reason }.into()
}

/// An option the host, a load or a call cannot take.
fn bad_option(option: &str, reason: impl Into<String>) -> Error {
    ErrorKind::InvalidOption {
        option: option.to_owned(),
        reason: reason.into(),
    }
    .into()
}

/// A non-negative integer option, if given.
fn number(obj: &JsValue, key: &str) -> Result<Option<u64>, Error> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    match v.as_f64() {
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_991.0 => {
            Ok(Some(x as u64))
        }
        _ => Err(bad_option(key, "must be a non-negative integer")),
    }
}

/// The `logLevel` option: `"trace"`, `"debug"`, `"info"`, `"warn"`, `"error"` or `"off"`
/// (`Some(None)`), if given.
fn log_level(obj: &JsValue) -> Result<Option<Option<LogLevel>>, Error> {
    let v = get(obj, "logLevel");
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let level = match v.as_string().as_deref() {
        Some("trace") => Some(LogLevel::Trace),
        Some("debug") => Some(LogLevel::Debug),
        Some("info") => Some(LogLevel::Info),
        Some("warn") => Some(LogLevel::Warn),
        Some("error") => Some(LogLevel::Error),
        Some("off") => None,
        _ => {
            return Err(bad_option(
                "logLevel",
                "must be \"trace\", \"debug\", \"info\", \"warn\", \"error\" or \"off\"",
            ))
        }
    };
    Ok(Some(level))
}

fn limits_from(obj: &JsValue, base: &Limits) -> Result<Limits, Error> {
    let mut l = base.clone();
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    if let Some(n) = number(obj, "fuel")? {
        l.fuel = n;
    }
    if let Some(n) = number(obj, "fuelSlice")? {
        l.fuel_slice = n.max(1);
    }
    if let Some(n) = number(obj, "instantiateFuel")? {
        l.instantiate_fuel = n;
    }
    if let Some(n) = number(obj, "memoryBytes")? {
        l.memory_bytes = size(n);
    }
    if let Some(n) = number(obj, "maxReentrancy")? {
        l.max_reentrancy = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(n) = number(obj, "maxModuleBytes")? {
        l.max_module_bytes = size(n);
    }
    if let Some(n) = number(obj, "maxInputBytes")? {
        l.max_input_bytes = size(n);
    }
    if let Some(n) = number(obj, "maxOutputBytes")? {
        l.max_output_bytes = size(n);
    }
    if let Some(n) = number(obj, "maxLogBytes")? {
        l.max_log_bytes = size(n);
    }
    if let Some(n) = number(obj, "maxHandles")? {
        l.max_handles = size(n);
    }
    Ok(l)
}

/// A JS function defined as a host function.
struct Definition {
    namespace: String,
    name: String,
    f: Function,
    signature: Option<Signature>,
}

/// What a [`PluginHost`] shares with its plugins and calls.
struct HostState {
    options: HostOptions,
    definitions: RefCell<Vec<Definition>>,
    /// Built from the definitions when a plugin is loaded; `define` marks it stale, and the
    /// next one shares its exposed plugins.
    host: RefCell<Option<Host>>,
    stale: std::cell::Cell<bool>,
    on_log: RefCell<Option<Function>>,
}

impl HostState {
    fn host(self: &Rc<Self>) -> Host {
        if let (Some(h), false) = (self.host.borrow().as_ref(), self.stale.get()) {
            return h.clone();
        }
        let mut b = Host::builder().limits(self.options.limits.clone());
        if let Some(previous) = self.host.borrow().as_ref() {
            b = b.peers_of(previous);
        }
        let weak = Rc::downgrade(self);
        b = b.on_log(move |r: &LogRecord| {
            if let Some(state) = weak.upgrade() {
                state.log(r);
            }
        });
        // Extism plugins' HTTP requests and manifest URLs go through the global `fetch`, subject
        // to each plugin's allowed hosts (checked by host-core before this is called).
        b = b.http(|req: HttpRequest| async move { fetch(req).await });
        for d in self.definitions.borrow().iter() {
            let f = d.f.clone();
            let label = format!("{}.{}", d.namespace, d.name);
            b = b.func_value(&d.namespace, &d.name, d.signature.clone(), move |args| {
                call_js_function(&f, &label, args)
            });
        }
        let h = b.build();
        *self.host.borrow_mut() = Some(h.clone());
        self.stale.set(false);
        h
    }

    fn log(&self, r: &LogRecord) {
        let Some(f) = self.on_log.borrow().clone() else {
            return;
        };
        let event = Object::new();
        let stream = match r.stream {
            LogStream::Stdout => "stdout".to_owned(),
            LogStream::Stderr => "stderr".to_owned(),
            LogStream::Log(level) => format!("{level:?}").to_lowercase(),
            _ => "log".to_owned(),
        };
        let _ = Reflect::set(&event, &"plugin".into(), &JsValue::from_str(&r.plugin));
        let _ = Reflect::set(&event, &"stream".into(), &JsValue::from_str(&stream));
        let _ = Reflect::set(&event, &"message".into(), &JsValue::from_str(&r.message));
        // A throwing log listener must not fail the plugin's call.
        let _ = f.call1(&JsValue::NULL, &event);
    }
}

/// Calls a JS host function: the plugin's arguments spread by the function's declared arity
/// (`fn.length`): a list for a function of several parameters (or of none: `(...args)`) is
/// spread; otherwise the value is its one argument. A returned Promise suspends the call.
fn call_js_function(f: &Function, label: &str, args: Value) -> Result<HostReturn, String> {
    let arity = f.length();
    let list: Array = match (arity, args) {
        (_, Value::Null) => Array::new(),
        (1, v) => std::iter::once(convert::to_js(&v)).collect(),
        (_, Value::List(items)) => items.iter().map(convert::to_js).collect(),
        (_, v) => std::iter::once(convert::to_js(&v)).collect(),
    };
    let out = f.apply(&JsValue::NULL, &list).map_err(|e| {
        let message = describe_js_error(&e);
        error::remember_thrown(label, e);
        message
    })?;
    if let Some(promise) = out.dyn_ref::<Promise>() {
        let fut = JsFuture::from(promise.clone());
        let label = label.to_owned();
        return Ok(HostReturn::Later(Box::pin(async move {
            let v = fut.await.map_err(|e| {
                let message = describe_js_error(&e);
                error::remember_thrown(&label, e);
                message
            })?;
            convert::from_js(&v).map_err(|e| format!("{label} resolved to {e}"))
        })));
    }
    convert::from_js(&out)
        .map(HostReturn::Ready)
        .map_err(|e| format!("{label} returned {e}"))
}

/// One HTTP request through the environment's `fetch`.
async fn fetch(req: HttpRequest) -> Result<HttpResponse, String> {
    let global = js_sys::global();
    let f = Reflect::get(&global, &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| "this environment has no fetch".to_owned())?;
    let init = Object::new();
    let headers = Object::new();
    for (k, v) in &req.headers {
        let _ = Reflect::set(&headers, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let _ = Reflect::set(&init, &"method".into(), &JsValue::from_str(&req.method));
    let _ = Reflect::set(&init, &"headers".into(), &headers);
    let _ = Reflect::set(&init, &"redirect".into(), &"manual".into());
    if let Some(body) = &req.body {
        let _ = Reflect::set(
            &init,
            &"body".into(),
            &js_sys::Uint8Array::from(body.as_slice()),
        );
    }
    let promise = f
        .call2(&global, &JsValue::from_str(&req.url), &init)
        .map_err(|e| describe_js_error(&e))?
        .dyn_into::<Promise>()
        .map_err(|_| "fetch did not return a Promise".to_owned())?;
    let resp = JsFuture::from(promise)
        .await
        .map_err(|e| describe_js_error(&e))?;
    let status = Reflect::get(&resp, &"status".into())
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0) as u16;
    let mut out_headers = BTreeMap::new();
    if let Ok(h) = Reflect::get(&resp, &"headers".into()) {
        if let Ok(Some(entries)) = js_sys::try_iter(&h) {
            for entry in entries.flatten() {
                let pair = Array::from(&entry);
                if let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                    out_headers.insert(k, v);
                }
            }
        }
    }
    let buffer = Reflect::get(&resp, &"arrayBuffer".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| "the response has no arrayBuffer".to_owned())?
        .call0(&resp)
        .map_err(|e| describe_js_error(&e))?
        .dyn_into::<Promise>()
        .map_err(|_| "arrayBuffer did not return a Promise".to_owned())?;
    let body = JsFuture::from(buffer)
        .await
        .map_err(|e| describe_js_error(&e))?;
    Ok(HttpResponse {
        status,
        headers: out_headers,
        body: js_sys::Uint8Array::new(&body).to_vec(),
    })
}

/// A thrown JS value as a message, without running any of its code: an `Error`'s `message`, a
/// string itself, a primitive's value, else JSON (which may fail: then just its type).
fn describe_js_error(e: &JsValue) -> String {
    let text = if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        let name = Reflect::get(err, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        let message = Reflect::get(err, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_default();
        if name.is_empty() || name == "Error" {
            message
        } else {
            format!("{name}: {message}")
        }
    } else if let Some(s) = e.as_string() {
        s
    } else if e.is_undefined() {
        "undefined was thrown".into()
    } else if e.is_null() {
        "null was thrown".into()
    } else if let Some(x) = e.as_f64() {
        format!("{x} was thrown")
    } else if let Some(b) = e.as_bool() {
        format!("{b} was thrown")
    } else {
        match js_sys::JSON::stringify(e) {
            Ok(s) => format!("{} was thrown", String::from(s)),
            Err(_) => format!(
                "a {} was thrown",
                e.js_typeof().as_string().unwrap_or_default()
            ),
        }
    };
    text.chars().take(1024).collect()
}

/// The plugin host: host functions, default limits, loading plugins. JS code uses the
/// `PluginHost` class of the package's wrapper (`js/wrapper.js`), which holds one of these and
/// rebuilds it after a runtime crash.
#[wasm_bindgen]
pub struct RawHost {
    state: Rc<HostState>,
}

impl std::fmt::Debug for RawHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawHost").finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl RawHost {
    /// `new RawHost({ fuel, fuelSlice, memoryBytes, maxReentrancy, … })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> JsResult<RawHost> {
        let limits = limits_from(&options, &Limits::default()).map_err(to_js_error)?;
        let log_level = log_level(&options)
            .map_err(to_js_error)?
            .unwrap_or(KernelConfig::default().log_level);
        Ok(RawHost {
            state: Rc::new(HostState {
                options: HostOptions { limits, log_level },
                definitions: RefCell::new(Vec::new()),
                host: RefCell::new(None),
                stale: std::cell::Cell::new(false),
                on_log: RefCell::new(None),
            }),
        })
    }

    /// Defines a host function `namespace.name` for plugins loaded from now on. `signature`
    /// (`{ params: ["f64", "f64"], returns: "f64" }` or `"(f64, f64) -> f64"`) lets bincode
    /// plugins (buffer ABI) call it; self-describing ABIs (Lua, Extism, nvim) need none.
    pub fn define(
        &self,
        namespace: String,
        name: String,
        f: Function,
        signature: JsValue,
    ) -> JsResult<()> {
        let signature = parse_signature(&signature).map_err(to_js_error)?;
        let mut defs = self.state.definitions.borrow_mut();
        defs.retain(|d| !(d.namespace == namespace && d.name == name));
        defs.push(Definition {
            namespace,
            name,
            f,
            signature,
        });
        self.state.stale.set(true);
        Ok(())
    }

    /// Exposes a loaded plugin to the other plugins of this host: Lua plugins call it as
    /// `plugins.<name>.<function>(…)`.
    pub fn expose(&self, plugin: &RawPlugin) -> JsResult<()> {
        let shared = plugin.shared().map_err(to_js_error)?;
        self.state
            .host()
            .expose_shared(&shared)
            .map_err(to_js_error)
    }

    /// Designates a loaded Lua plugin as the VM that runs nvim plugins' `lua_exec`/`lua_eval`.
    #[wasm_bindgen(js_name = setLuaVm)]
    pub fn set_lua_vm(&self, plugin: &RawPlugin) -> JsResult<()> {
        let shared = plugin.shared().map_err(to_js_error)?;
        let host = self.state.host();
        host.expose_shared(&shared).map_err(to_js_error)?;
        host.set_lua_vm(&shared).map_err(to_js_error)
    }

    /// Receives plugin output: `{ plugin, stream, message }` for stdout, stderr and log calls.
    #[wasm_bindgen(js_name = onLog)]
    pub fn on_log(&self, f: Option<Function>) {
        *self.state.on_log.borrow_mut() = f;
    }

    /// Loads a WebAssembly plugin (`Uint8Array` or `ArrayBuffer`); its ABI is detected.
    /// Options: `name`, `abi`, `interface` (an Extism JS-PDK `interface.d.ts`), `allow`
    /// (host-function namespaces), `keepInstance`, `stubMissingImports`, and limits.
    #[wasm_bindgen(js_name = loadWasm)]
    pub fn load_wasm(&self, bytes: JsValue, options: JsValue) -> JsResult<RawPlugin> {
        self.load_wasm_now(&bytes, &options).map_err(to_js_error)
    }

    /// Loads a Lua plugin: `files` is its `main.lua` source or an object of file names to
    /// sources (`require` finds the others). Options: `allow` and limits.
    #[wasm_bindgen(js_name = loadLua)]
    pub fn load_lua(&self, name: String, files: JsValue, options: JsValue) -> JsResult<RawPlugin> {
        self.load_lua_now(&name, &files, &options, false)
            .map_err(to_js_error)
    }

    /// As `loadLua`, but returns with `main.lua` started, not run: drive it with `step` and
    /// `awaitHost` like a call (so it may await async host functions); when `step` returns
    /// 0 the plugin is loaded. A failure of `main.lua` throws from `step`.
    #[wasm_bindgen(js_name = startLua)]
    pub fn start_lua(&self, name: String, files: JsValue, options: JsValue) -> JsResult<RawPlugin> {
        self.load_lua_now(&name, &files, &options, true)
            .map_err(to_js_error)
    }

    /// Loads an Extism manifest (JSON text) whose modules are given as `data` (bytes as an
    /// array or base64). Options: `name`, `logLevel`.
    #[wasm_bindgen(js_name = loadManifest)]
    pub fn load_manifest(&self, manifest: String, options: JsValue) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let host = state.host();
            let mut m = Manifest::parse(&manifest).map_err(to_js_error)?;
            m.log_level = log_level(&options)
                .map_err(to_js_error)?
                .unwrap_or(state.options.log_level);
            m.name = get(&options, "name").as_string();
            let plugin = host
                .load_from_manifest_async(&m)
                .await
                .map_err(to_js_error)?;
            Ok(RawPlugin::wrap(plugin).into())
        })
    }
}

impl RawHost {
    fn load_wasm_now(&self, bytes: &JsValue, options: &JsValue) -> Result<RawPlugin, Error> {
        let bytes = match convert::from_js(bytes)? {
            Value::Bytes(b) => b,
            other => {
                return Err(usage(format!(
                    "loadWasm takes a Uint8Array or ArrayBuffer, not a {}",
                    other.shape()
                )))
            }
        };
        let host = self.state.host();
        let mut o = plugin_options(options, host.limits())?;
        if let Some(name) = get(options, "abi").as_string() {
            o = o.with_abi(parse_abi(&name)?);
        }
        if let Some(text) = get(options, "interface").as_string() {
            o = o.with_interface(Interface::parse(&text)?);
        }
        if get(options, "keepInstance").is_truthy() {
            o = o.keep_instance();
        }
        if get(options, "stubMissingImports").is_truthy() {
            o = o.stub_missing_imports();
        }
        // Extism plugins: `config` (an object of strings), `allowedHosts` (globs), `wasi`,
        // `logLevel`.
        let mut kernel = KernelConfig {
            log_level: log_level(options)?.unwrap_or(self.state.options.log_level),
            ..KernelConfig::default()
        };
        if let Value::Map(entries) = convert::from_js(&get(options, "config"))? {
            for (k, v) in entries {
                match (k, v) {
                    (Value::String(k), Value::String(v)) => kernel = kernel.config(&k, &v),
                    _ => return Err(bad_option("config", "takes string keys and values")),
                }
            }
        }
        if let Value::List(hosts) = convert::from_js(&get(options, "allowedHosts"))? {
            for h in hosts {
                let Value::String(h) = h else {
                    return Err(bad_option("allowedHosts", "takes strings"));
                };
                kernel = kernel.allow_host(&h);
            }
        }
        o = o.with_kernel(kernel);
        if get(options, "wasi").is_truthy() {
            o.enable_wasi = true;
        }
        let plugin = host.load_wasm_with(&bytes, o)?;
        Ok(RawPlugin::wrap(plugin))
    }

    fn load_lua_now(
        &self,
        name: &str,
        files: &JsValue,
        options: &JsValue,
        start: bool,
    ) -> Result<RawPlugin, Error> {
        let mut map: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        match convert::from_js(files)? {
            Value::String(source) => {
                map.insert("main.lua".into(), source.into_bytes());
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let (Value::String(file), source) = (k, v) else {
                        return Err(usage("Lua file names must be strings".into()));
                    };
                    let bytes = match source {
                        Value::String(s) => s.into_bytes(),
                        Value::Bytes(b) => b,
                        other => {
                            return Err(usage(format!(
                                "the source of {file} is a {}, not a string",
                                other.shape()
                            )))
                        }
                    };
                    map.insert(file, bytes);
                }
            }
            other => {
                return Err(usage(format!(
                    "loadLua takes a source string or an object of files, not a {}",
                    other.shape()
                )))
            }
        }
        let host = self.state.host();
        let mut o = plugin_options(options, host.limits())?;
        o.name = Some(name.to_owned());
        let plugin = if start {
            host.start_lua_files(map, o)?
        } else {
            host.load_lua_files(map, o)?
        };
        Ok(RawPlugin::wrap(plugin))
    }
}

fn plugin_options(options: &JsValue, base: &Limits) -> Result<PluginOptions, Error> {
    let mut o = PluginOptions::default();
    if let Some(name) = get(options, "name").as_string() {
        o.name = Some(name);
    }
    let limits = limits_from(options, base)?;
    if &limits != base {
        o = o.with_limits(limits);
    }
    let allow = get(options, "allow");
    if Array::is_array(&allow) {
        let names: Vec<String> = Array::from(&allow)
            .iter()
            .filter_map(|v| v.as_string())
            .collect();
        o.allow = Some(names);
    }
    Ok(o)
}

fn parse_abi(name: &str) -> Result<Abi, Error> {
    Ok(match name {
        "buffer" => Abi::Buffer,
        "kernel" => Abi::Kernel,
        "idl" => Abi::Idl,
        "fixed" => Abi::Fixed,
        "nvim" => Abi::Nvim,
        other => {
            return Err(bad_option(
                "abi",
                format!("unknown abi `{other}` (buffer, kernel, idl, fixed, nvim)"),
            ))
        }
    })
}

/// `"(f64, f64) -> f64"` or `{ params: ["f64", "f64"], returns: "f64" }`.
fn parse_signature(v: &JsValue) -> Result<Option<Signature>, Error> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    if let Some(text) = v.as_string() {
        return Signature::parse(&text).map(Some);
    }
    let params = get(v, "params");
    let params: Vec<String> = if Array::is_array(&params) {
        Array::from(&params)
            .iter()
            .map(|p| {
                p.as_string()
                    .ok_or_else(|| usage("signature params must be type names".into()))
            })
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let returns = get(v, "returns").as_string().unwrap_or_else(|| "()".into());
    Signature::parse(&format!("({}) -> {returns}", params.join(", "))).map(Some)
}

/// A call in flight: what `step` found.
#[derive(Default)]
struct InFlight {
    function: String,
    signature: Option<Signature>,
    pending: Option<plugboard_host_core::PendingHostCall>,
    result: Option<Value>,
}

/// One loaded plugin, with the call state machine exposed step by step: the wrapper's
/// `Plugin.call` drives it (`start`, then `step` until done, yielding to the event loop or
/// awaiting `awaitHost` in between), so that every entry into the runtime is a synchronous
/// call the wrapper can watch for a crash.
#[wasm_bindgen]
pub struct RawPlugin {
    name: String,
    abi: Abi,
    call: Rc<RefCell<InFlight>>,
    /// The plugin, shared with the future that completes a pending host call and with the
    /// other plugins it is exposed to; `None` once closed.
    shared: Rc<RefCell<Option<SharedPlugin>>>,
}

impl std::fmt::Debug for RawPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawPlugin")
            .field("name", &self.name)
            .field("abi", &self.abi)
            .finish_non_exhaustive()
    }
}

impl RawPlugin {
    fn wrap(plugin: CorePlugin) -> RawPlugin {
        RawPlugin {
            name: plugin.name().to_owned(),
            abi: plugin.abi(),
            call: Rc::new(RefCell::new(InFlight::default())),
            shared: Rc::new(RefCell::new(Some(SharedPlugin::new(plugin)))),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut CorePlugin) -> Result<T, Error>) -> Result<T, Error> {
        with_plugin(&self.shared, &self.name, f)
    }

    /// Whether calls hand bytes (the Extism ABIs), not values.
    fn is_extism(&self) -> bool {
        matches!(self.abi, Abi::Kernel | Abi::Idl)
    }

    fn shared(&self) -> Result<SharedPlugin, Error> {
        self.shared
            .borrow()
            .clone()
            .ok_or_else(|| closed(&self.name))
    }

    /// Reads the plugin, if it is open and not in a call.
    fn read<T>(&self, f: impl FnOnce(&CorePlugin) -> T) -> Option<T> {
        let shared = self.shared.borrow().clone()?;
        let p = shared.borrow().ok()?;
        Some(f(&p))
    }
}

fn closed(plugin: &str) -> Error {
    ErrorKind::Closed {
        plugin: plugin.to_owned(),
    }
    .into()
}

/// Runs `f` on the plugin, if it is still open and not in a call.
fn with_plugin<T>(
    slot: &RefCell<Option<SharedPlugin>>,
    name: &str,
    f: impl FnOnce(&mut CorePlugin) -> Result<T, Error>,
) -> Result<T, Error> {
    let shared = slot.borrow().clone().ok_or_else(|| closed(name))?;
    let mut p = shared.borrow_mut()?;
    f(&mut p)
}

/// What `step` returns.
const DONE: u8 = 0;
const YIELDED: u8 = 1;
const PENDING: u8 = 2;

#[wasm_bindgen]
impl RawPlugin {
    /// The plugin's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The ABI: `"buffer"`, `"kernel"`, `"idl"`, `"fixed"`, `"nvim"` or `"lua"`.
    #[wasm_bindgen(getter)]
    pub fn abi(&self) -> String {
        self.abi.name().to_owned()
    }

    /// `[{ name, signature }]`: the callable functions, with their signature where known.
    #[wasm_bindgen(getter)]
    pub fn exports(&self) -> Array {
        self.read(|p| {
            p.exports()
                .iter()
                .map(|e| {
                    let o = Object::new();
                    let _ = Reflect::set(&o, &"name".into(), &JsValue::from_str(&e.name));
                    let sig = e
                        .signature
                        .as_ref()
                        .map_or(JsValue::NULL, |s| JsValue::from_str(&s.to_string()));
                    let _ = Reflect::set(&o, &"signature".into(), &sig);
                    JsValue::from(o)
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Fuel the last call used.
    #[wasm_bindgen(getter, js_name = fuelConsumed)]
    pub fn fuel_consumed(&self) -> f64 {
        self.read(|p| p.fuel_consumed() as f64).unwrap_or(0.0)
    }

    /// Bytes of memory the plugin holds.
    #[wasm_bindgen(getter, js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        self.read(|p| p.memory_bytes() as f64).unwrap_or(0.0)
    }

    /// Starts a call of `function` with one input value. Options: `signature` (for bincode
    /// plugins without embedded types).
    pub fn start(&self, function: String, input: JsValue, options: JsValue) -> JsResult<()> {
        let signature = parse_signature(&get(&options, "signature")).map_err(to_js_error)?;
        let input = convert::from_js(&input).map_err(to_js_error)?;
        error::forget_thrown();
        self.with(|p| p.start_call_input(&function, &input, signature.as_ref()))
            .map_err(to_js_error)?;
        *self.call.borrow_mut() = InFlight {
            function,
            signature,
            ..InFlight::default()
        };
        Ok(())
    }

    /// Runs one fuel slice: 0 done (take the value with `result`), 1 yielded (call again after
    /// the event loop ran), 2 waiting on an async host function (await `awaitHost`, then call
    /// again). A plugin's failure throws its `PluginError`.
    pub fn step(&self) -> JsResult<u8> {
        let step = self.with(CorePlugin::resume).map_err(to_js_error)?;
        match step {
            Step::Done(out) => {
                let (function, signature) = {
                    let c = self.call.borrow();
                    (c.function.clone(), c.signature.clone())
                };
                // Extism calls return the plugin's bytes; the wrapper's `PluginBytes` decodes
                // them as the caller asks.
                let v = if self.is_extism() {
                    Value::Bytes(out)
                } else {
                    self.with(|p| p.decode_output(&function, out, signature.as_ref()))
                        .map_err(to_js_error)?
                };
                self.call.borrow_mut().result = Some(v);
                Ok(DONE)
            }
            Step::Yielded => Ok(YIELDED),
            Step::Pending(pending) => {
                self.call.borrow_mut().pending = Some(pending);
                Ok(PENDING)
            }
        }
    }

    /// The finished call's result as a plain JS value.
    pub fn result(&self) -> JsValue {
        self.call
            .borrow_mut()
            .result
            .take()
            .map_or(JsValue::UNDEFINED, |v| convert::to_js(&v))
    }

    /// Awaits the async host function the call waits on and hands its result to the plugin;
    /// the next `step` continues the call.
    #[wasm_bindgen(js_name = awaitHost)]
    pub fn await_host(&self) -> Promise {
        let pending = self.call.borrow_mut().pending.take();
        let shared = self.shared.clone();
        let name = self.name.clone();
        future_to_promise(async move {
            let Some(pending) = pending else {
                return Err(to_js_error(ErrorKind::NoCallInFlight.into()));
            };
            let reply = pending.await;
            with_plugin(&shared, &name, |p| p.complete(reply)).map_err(to_js_error)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Abandons the call in flight.
    pub fn cancel(&self) {
        let _ = self.with(|p| {
            p.cancel();
            Ok(())
        });
        *self.call.borrow_mut() = InFlight::default();
    }

    /// Calls `function` synchronously to its end, without yielding. An async host function
    /// fails the call with kind `hostFunction`.
    #[wasm_bindgen(js_name = callSync)]
    pub fn call_sync(
        &self,
        function: String,
        input: JsValue,
        options: JsValue,
    ) -> JsResult<JsValue> {
        let signature = parse_signature(&get(&options, "signature")).map_err(to_js_error)?;
        let input = convert::from_js(&input).map_err(to_js_error)?;
        error::forget_thrown();
        let extism = self.is_extism();
        let v = self
            .with(|p| {
                if extism {
                    let bytes = p.encode_input(&function, &input, signature.as_ref())?;
                    p.call_bytes(&function, bytes).map(Value::Bytes)
                } else {
                    p.call_input(&function, &input, signature.as_ref())
                }
            })
            .map_err(to_js_error)?;
        Ok(convert::to_js(&v))
    }

    /// Unloads the plugin; later calls fail.
    pub fn close(&self) {
        if let Ok(mut slot) = self.shared.try_borrow_mut() {
            *slot = None;
        }
    }
}

/// Makes the runtime abort as a Rust panic on wasm32 does (an `unreachable` trap), so tests
/// can check that the package rebuilds the runtime and reloads its plugins. Never call it
/// otherwise: every plugin loses its state.
#[wasm_bindgen(js_name = __abortForTesting)]
#[allow(clippy::panic)]
pub fn abort_for_testing(message: String) {
    panic!("{message}");
}
