//! [`Host`] and [`HostBuilder`]: the registry of host functions, default limits, loading plugins.

use crate::abi::kernel::{HttpRequest, HttpResponse, HTTP_FUNCTION, HTTP_NAMESPACE};
use crate::call::LocalBoxFuture;
use crate::codec;
use crate::error::{Error, ErrorKind, HostFunctionFailure};
use crate::limits::Limits;
use crate::plugin::{Plugin, PluginOptions};
use crate::schema::{Signature, Type};
use crate::value::Value;
use crate::wasm::wasi::WasiConfig;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;

/// Where plugin output goes: WASI stdout/stderr and panic reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The plugin's name ([`PluginOptions::name`]).
    pub plugin: String,
    pub stream: LogStream,
    /// The bytes written, decoded as UTF-8 (invalid sequences replaced).
    pub message: String,
}

/// Which stream a [`LogRecord`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogStream {
    Stdout,
    Stderr,
    /// A log call of the plugin (Extism's `log_*`).
    Log(LogLevel),
}

/// Severity of a plugin's log message, lowest first (the numbering is Extism's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

pub(crate) type LogSink = Rc<dyn Fn(&LogRecord)>;

/// A host function's reply: ready now, or later (an async host function).
pub(crate) enum Reply<T> {
    Ready(T),
    Later(LocalBoxFuture<Result<T, Error>>),
}

/// The reply in a wire format (bincode for the buffer ABI, bytes for the kernel ABI).
pub(crate) type HostReply = Reply<Vec<u8>>;

type RawFn = dyn Fn(&[u8]) -> Result<HostReply, HostFunctionFailure>;
/// What a [`HostBuilder::func_value`] function returns: a value now, or a future of one.
pub enum HostReturn {
    Ready(Value),
    Later(Pin<Box<dyn Future<Output = Result<Value, String>>>>),
}

impl fmt::Debug for HostReturn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostReturn::Ready(v) => f.debug_tuple("Ready").field(v).finish(),
            HostReturn::Later(_) => f.write_str("Later(..)"),
        }
    }
}

/// The self-describing entry point (Lua, nvim): arguments as JSON, the reply as a [`Value`].
type JsonFn = dyn Fn(serde_json::Value) -> Result<Reply<Value>, HostFunctionFailure>;
/// The Extism entry point: each argument's bytes in, the reply's bytes out.
type BytesFn = dyn Fn(&[Vec<u8>]) -> Result<HostReply, HostFunctionFailure>;

/// A host function's entry points, one per wire convention.
struct Entries {
    raw: Box<RawFn>,
    json: Box<JsonFn>,
    extism: Box<BytesFn>,
}

/// One registered host function. Its wire form is bincode bytes in and out; typed closures
/// decode and encode with serde, dynamic ones through their [`Signature`].
pub(crate) struct HostFn {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) signature: Option<Signature>,
    pub(crate) is_async: bool,
    raw: Box<RawFn>,
    json: Box<JsonFn>,
    extism: Box<BytesFn>,
}

impl HostFn {
    /// Runs the function on encoded arguments. A panic in the function is contained natively
    /// (wasmi aborts the process on a panic that unwinds through it).
    pub(crate) fn invoke(&self, args: &[u8]) -> Result<HostReply, Error> {
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.raw)(args)))
            .unwrap_or_else(|panic| Err(HostFunctionFailure::Panicked(panic_message(&panic))));
        outcome.map_err(|reason| self.error(reason))
    }

    /// Runs the function on the arguments of an Extism plugin, each its bytes (a number
    /// argument as its decimal text); the reply's bytes go back to the plugin. How a function
    /// sees the bytes depends on how it was registered: see [`HostBuilder::func`] (by its
    /// Rust types) and [`HostBuilder::func_value`] (as [`Value::Bytes`]).
    pub(crate) fn invoke_raw(&self, parts: &[Vec<u8>]) -> Result<HostReply, Error> {
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.extism)(parts)))
            .unwrap_or_else(|panic| Err(HostFunctionFailure::Panicked(panic_message(&panic))));
        outcome.map_err(|reason| self.error(reason))
    }

    /// Runs the function on self-describing arguments (one as itself, several as an array);
    /// the reply is a [`Value`].
    pub(crate) fn invoke_json(&self, args: serde_json::Value) -> Result<Reply<Value>, Error> {
        let outcome = catch_unwind(AssertUnwindSafe(|| (self.json)(args)))
            .unwrap_or_else(|panic| Err(HostFunctionFailure::Panicked(panic_message(&panic))));
        outcome.map_err(|reason| self.error(reason))
    }

    pub(crate) fn error(&self, reason: HostFunctionFailure) -> Error {
        ErrorKind::HostFunction {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            reason,
        }
        .into()
    }
}

/// A reply in the Extism bytes convention: text for a string, raw bytes for bytes, nothing for
/// null (`()`), JSON otherwise.
pub(crate) fn extism_bytes(v: Value) -> Vec<u8> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => s.into_bytes(),
        Value::Bytes(b) => b,
        other => other.to_json().into_bytes(),
    }
}

pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

impl fmt::Debug for HostFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostFn")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("signature", &self.signature)
            .field("is_async", &self.is_async)
            .finish_non_exhaustive()
    }
}

/// The link-error reason for an import no registered host function matches.
pub(crate) const NO_SUCH_HOST_FUNCTION: &str = "no such host function";

/// All host functions, by namespace and name.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    fns: Vec<Rc<HostFn>>,
}

impl Registry {
    /// Every registered function, in registration order.
    pub(crate) fn all(&self) -> &[Rc<HostFn>] {
        &self.fns
    }

    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<&Rc<HostFn>> {
        self.fns
            .iter()
            .find(|f| f.namespace == namespace && f.name == name)
    }

    /// The host function an import names. With an explicit `namespace`, the function there;
    /// otherwise the one in `default_ns`, else the only one of that name in any namespace. Only
    /// namespaces in `allow` count (all, if `None`). The error is the reason, for a link error.
    pub(crate) fn resolve(
        &self,
        namespace: Option<&str>,
        default_ns: &str,
        name: &str,
        allow: Option<&[String]>,
    ) -> Result<&Rc<HostFn>, String> {
        let allowed = |f: &&Rc<HostFn>| allow.is_none_or(|a| a.contains(&f.namespace));
        let found = match namespace {
            Some(ns) => self.get(ns, name).filter(allowed),
            None => match self.get(default_ns, name).filter(allowed) {
                Some(f) => Some(f),
                None => {
                    let mut candidates = self.fns_named(name).filter(allowed);
                    match (candidates.next(), candidates.next()) {
                        (Some(a), Some(b)) => {
                            return Err(format!(
                                "ambiguous: `{}.{name}` and `{}.{name}` both match; register it in `{default_ns}` or restrict the allowed namespaces",
                                a.namespace, b.namespace
                            ))
                        }
                        (one, _) => one,
                    }
                }
            },
        };
        match found {
            Some(f) => Ok(f),
            None if self
                .fns_named(name)
                .any(|f| namespace.is_none_or(|ns| f.namespace == ns)) =>
            {
                Err("the host function's namespace is not allowed for this plugin".to_owned())
            }
            None => Err(NO_SUCH_HOST_FUNCTION.to_owned()),
        }
    }

    /// Every function of this name, in any namespace.
    pub(crate) fn fns_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Rc<HostFn>> + 'a {
        let name = name.to_owned();
        self.fns.iter().filter(move |f| f.name == name)
    }
}

/// Configures and builds a [`Host`].
#[must_use]
#[derive(Default)]
pub struct HostBuilder {
    registry: Registry,
    peers: Option<Rc<crate::peers::Peers>>,
    limits: Limits,
    log: Option<LogSink>,
    wasi: WasiConfig,
}

impl fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBuilder")
            .field("registry", &self.registry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl HostBuilder {
    /// Default limits for every plugin this host loads.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where WASI stdout/stderr of every plugin goes. Without a sink, output is dropped.
    pub fn on_log(mut self, sink: impl Fn(&LogRecord) + 'static) -> Self {
        self.log = Some(Rc::new(sink));
        self
    }

    /// The WASI environment plugins see (args, environment, clock, files).
    pub fn wasi(mut self, wasi: WasiConfig) -> Self {
        self.wasi = wasi;
        self
    }

    fn push(
        mut self,
        namespace: &str,
        name: &str,
        signature: Option<Signature>,
        is_async: bool,
        Entries { raw, json, extism }: Entries,
    ) -> Self {
        // Re-registering replaces: the last definition wins.
        self.registry
            .fns
            .retain(|f| !(f.namespace == namespace && f.name == name));
        self.registry.fns.push(Rc::new(HostFn {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            signature,
            is_async,
            raw,
            json,
            extism,
        }));
        self
    }

    /// Registers a typed host function: `host.func("math", "add", |(a, b): (f64, f64)| a + b)`.
    /// Several arguments arrive as a tuple, none as `()`.
    pub fn func<A, R, F>(self, namespace: &str, name: &str, f: F) -> Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
        F: Fn(A) -> R + 'static,
    {
        self.try_func(namespace, name, move |a: A| Ok::<R, String>(f(a)))
    }

    /// Registers a typed host function that can fail; the error's text reaches the caller as
    /// [`ErrorKind::HostFunction`].
    pub fn try_func<A, R, E, F>(self, namespace: &str, name: &str, f: F) -> Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: fmt::Display,
        F: Fn(A) -> Result<R, E> + 'static,
    {
        let f = Rc::new(f);
        let (g, h) = (f.clone(), f.clone());
        let raw = move |bytes: &[u8]| {
            let args: A = decode_args(bytes)?;
            let r = f(args).map_err(|e| HostFunctionFailure::Failed(e.to_string()))?;
            Ok(HostReply::Ready(encode_reply(&r)?))
        };
        let json = move |args: serde_json::Value| {
            let args: A = decode_json_args(args)?;
            let r = g(args).map_err(|e| HostFunctionFailure::Failed(e.to_string()))?;
            Ok(Reply::Ready(to_value(&r)?))
        };
        let extism = move |parts: &[Vec<u8>]| {
            let args: A = decode_extism_args(parts)?;
            let r = h(args).map_err(|e| HostFunctionFailure::Failed(e.to_string()))?;
            Ok(Reply::Ready(extism_bytes(to_value(&r)?)))
        };
        let (raw, json, extism) = (Box::new(raw), Box::new(json), Box::new(extism));
        self.push(namespace, name, None, false, Entries { raw, json, extism })
    }

    /// Registers an asynchronous host function. A plugin calling it suspends
    /// ([`Step::Pending`](crate::Step::Pending)) until the future completes.
    pub fn func_async<A, R, E, F, Fut>(self, namespace: &str, name: &str, f: F) -> Self
    where
        A: DeserializeOwned + 'static,
        R: Serialize + 'static,
        E: fmt::Display + 'static,
        Fut: Future<Output = Result<R, E>> + 'static,
        F: Fn(A) -> Fut + 'static,
    {
        let fq = format!("{namespace}.{name}");
        let f = Rc::new(f);
        fn later<T: 'static, R: 'static, E: fmt::Display + 'static>(
            fut: impl Future<Output = Result<R, E>> + 'static,
            fq: String,
            encode: fn(&R) -> Result<T, HostFunctionFailure>,
        ) -> Reply<T> {
            Reply::Later(Box::pin(async move {
                let r = fut
                    .await
                    .map_err(|e| host_failure(&fq, HostFunctionFailure::Failed(e.to_string())))?;
                encode(&r).map_err(|reason| host_failure(&fq, reason))
            }))
        }
        let (g, fq2) = (f.clone(), fq.clone());
        let (h, fq3) = (f.clone(), fq.clone());
        let raw = move |bytes: &[u8]| {
            let args: A = decode_args(bytes)?;
            Ok(later(f(args), fq.clone(), encode_reply::<R>))
        };
        let json = move |args: serde_json::Value| {
            let args: A = decode_json_args(args)?;
            Ok(later(g(args), fq2.clone(), to_value::<R>))
        };
        let extism = move |parts: &[Vec<u8>]| {
            let args: A = decode_extism_args(parts)?;
            Ok(later(h(args), fq3.clone(), |r: &R| {
                to_value(r).map(extism_bytes)
            }))
        };
        let (raw, json, extism) = (Box::new(raw), Box::new(json), Box::new(extism));
        self.push(namespace, name, None, true, Entries { raw, json, extism })
    }

    /// Registers a dynamic host function over [`Value`]s. The signature says how to decode its
    /// arguments (one `Value` per parameter) and encode its result where the wire format needs it.
    pub fn func_dynamic<F>(self, namespace: &str, name: &str, signature: Signature, f: F) -> Self
    where
        F: Fn(Vec<Value>) -> Result<Value, String> + 'static,
    {
        let f = Rc::new(f);
        let g = f.clone();
        let h = f.clone();
        let sig = signature.clone();
        let raw = move |bytes: &[u8]| {
            let args = codec::decode_value(bytes, &sig.args_type())
                .map_err(|e| HostFunctionFailure::Failed(format!("bad arguments: {e}")))?;
            let r = f(spread(sig.params.len(), args)).map_err(HostFunctionFailure::Failed)?;
            let mut out = Vec::new();
            codec::encode_value(&r, &sig.returns, &mut out)
                .map_err(|e| HostFunctionFailure::Failed(format!("bad return value: {e}")))?;
            Ok(HostReply::Ready(out))
        };
        let n_params = signature.params.len();
        let json = move |args: serde_json::Value| {
            let args: Value = decode_json_args(args)?;
            let r = g(spread(n_params, args)).map_err(HostFunctionFailure::Failed)?;
            Ok(Reply::Ready(r))
        };
        let params = signature.params.clone();
        let extism = move |parts: &[Vec<u8>]| {
            let args = typed_extism_args(&params, parts)?;
            Ok(Reply::Ready(extism_bytes(
                h(args).map_err(HostFunctionFailure::Failed)?,
            )))
        };
        let (raw, json, extism) = (Box::new(raw), Box::new(json), Box::new(extism));
        self.push(
            namespace,
            name,
            Some(signature),
            false,
            Entries { raw, json, extism },
        )
    }

    /// Registers a dynamic host function over one [`Value`] that may answer later: the
    /// arguments arrive as the self-describing convention has them (one as itself, several as
    /// a list, none as null) and it returns [`HostReturn::Ready`] or a future
    /// ([`HostReturn::Later`], which suspends the plugin's call). With a `signature`,
    /// bincode plugins (buffer ABI) can call it too: it decodes their arguments into the same
    /// value and encodes the result. This is what a JS function defined in the npm package is.
    pub fn func_value<F>(
        self,
        namespace: &str,
        name: &str,
        signature: Option<Signature>,
        f: F,
    ) -> Self
    where
        F: Fn(Value) -> Result<HostReturn, String> + 'static,
    {
        let fq = format!("{namespace}.{name}");
        let f = Rc::new(f);
        let g = f.clone();
        let h = f.clone();
        let sig = signature.clone();
        let fq2 = fq.clone();
        let raw = move |bytes: &[u8]| {
            let Some(sig) = &sig else {
                return Err(HostFunctionFailure::Failed(
                    "defined without a signature, so a bincode plugin cannot call it: give its types".into(),
                ));
            };
            let args = codec::decode_value(bytes, &sig.args_type())
                .map_err(|e| HostFunctionFailure::Failed(format!("bad arguments: {e}")))?;
            let returns = sig.returns.clone();
            let encode = move |v: Value| -> Result<Vec<u8>, HostFunctionFailure> {
                let mut out = Vec::new();
                codec::encode_value(&v, &returns, &mut out)
                    .map_err(|e| HostFunctionFailure::Failed(format!("bad return value: {e}")))?;
                Ok(out)
            };
            match f(args).map_err(HostFunctionFailure::Failed)? {
                HostReturn::Ready(v) => Ok(HostReply::Ready(encode(v)?)),
                HostReturn::Later(fut) => {
                    let fq = fq.clone();
                    Ok(HostReply::Later(Box::pin(async move {
                        let v = fut
                            .await
                            .map_err(|e| host_failure(&fq, HostFunctionFailure::Failed(e)))?;
                        encode(v).map_err(|reason| host_failure(&fq, reason))
                    })))
                }
            }
        };
        let json = move |args: serde_json::Value| {
            let args: Value = decode_json_args(args)?;
            match g(args).map_err(HostFunctionFailure::Failed)? {
                HostReturn::Ready(v) => Ok(Reply::Ready(v)),
                HostReturn::Later(fut) => {
                    let fq = fq2.clone();
                    Ok(Reply::Later(Box::pin(async move {
                        fut.await
                            .map_err(|e| host_failure(&fq, HostFunctionFailure::Failed(e)))
                    })))
                }
            }
        };
        let fq3 = format!("{namespace}.{name}");
        let extism = move |parts: &[Vec<u8>]| {
            let mut args: Vec<Value> = parts.iter().map(|p| Value::Bytes(p.clone())).collect();
            let args = match args.len() {
                0 => Value::Null,
                1 => args.pop().unwrap_or(Value::Null),
                _ => Value::List(args),
            };
            match h(args).map_err(HostFunctionFailure::Failed)? {
                HostReturn::Ready(v) => Ok(Reply::Ready(extism_bytes(v))),
                HostReturn::Later(fut) => {
                    let fq = fq3.clone();
                    Ok(Reply::Later(Box::pin(async move {
                        fut.await
                            .map(extism_bytes)
                            .map_err(|e| host_failure(&fq, HostFunctionFailure::Failed(e)))
                    })))
                }
            }
        };
        let (raw, json, extism) = (Box::new(raw), Box::new(json), Box::new(extism));
        self.push(
            namespace,
            name,
            signature,
            true,
            Entries { raw, json, extism },
        )
    }

    /// The HTTP client plugins' requests go through (Extism's `http_request`), subject to each
    /// plugin's `allowed_hosts`. Without one, every request is denied. May be async.
    pub fn http<E, F, Fut>(self, f: F) -> Self
    where
        E: fmt::Display + 'static,
        Fut: Future<Output = Result<HttpResponse, E>> + 'static,
        F: Fn(HttpRequest) -> Fut + 'static,
    {
        self.func_async(HTTP_NAMESPACE, HTTP_FUNCTION, f)
    }

    /// Shares `host`'s exposed plugins and Lua VM with the host being built: plugins of either
    /// see the plugins exposed on either (for an embedder that rebuilds its host to add host
    /// functions, as the npm package does).
    pub fn peers_of(mut self, host: &Host) -> Self {
        self.peers = Some(host.peers.clone());
        self
    }

    /// Builds the host.
    pub fn build(self) -> Host {
        Host {
            engines: crate::wasm::Engines::of_this_thread(),
            registry: Rc::new(self.registry),
            limits: self.limits,
            log: self.log,
            wasi: self.wasi,
            peers: self.peers.unwrap_or_default(),
        }
    }
}

fn decode_args<A: DeserializeOwned>(bytes: &[u8]) -> Result<A, HostFunctionFailure> {
    codec::from_bytes(bytes).map_err(|e| HostFunctionFailure::Failed(format!("bad arguments: {e}")))
}

fn encode_reply<R: Serialize>(r: &R) -> Result<Vec<u8>, HostFunctionFailure> {
    codec::to_bytes(r).map_err(|e| HostFunctionFailure::Failed(format!("bad return value: {e}")))
}

fn decode_json_args<A: DeserializeOwned>(
    args: serde_json::Value,
) -> Result<A, HostFunctionFailure> {
    serde_json::from_value(args)
        .map_err(|e| HostFunctionFailure::Failed(format!("bad arguments: {e}")))
}

fn decode_extism_args<A: DeserializeOwned>(parts: &[Vec<u8>]) -> Result<A, HostFunctionFailure> {
    crate::extism_args::from_args(parts)
        .map_err(|e| HostFunctionFailure::Failed(format!("bad arguments: {e}")))
}

/// An Extism plugin's arguments as the values a signature's parameters take: a `String`
/// parameter gets the exact text, a `Vec<u8>` the bytes, any other type the JSON they hold.
fn typed_extism_args(
    params: &[Type],
    parts: &[Vec<u8>],
) -> Result<Vec<Value>, HostFunctionFailure> {
    if parts.len() != params.len() {
        return Err(HostFunctionFailure::Failed(format!(
            "bad arguments: {} given, {} expected",
            parts.len(),
            params.len()
        )));
    }
    params
        .iter()
        .zip(parts)
        .enumerate()
        .map(|(i, (ty, bytes))| {
            let bad = |what: String| {
                HostFunctionFailure::Failed(format!("bad argument {}: {what}", i + 1))
            };
            match ty {
                Type::String => String::from_utf8(bytes.clone())
                    .map(Value::String)
                    .map_err(|_| bad("expected text, found bytes that are not UTF-8".into())),
                Type::List(item) if **item == Type::U8 => Ok(Value::Bytes(bytes.clone())),
                Type::Unit if bytes.is_empty() => Ok(Value::Null),
                _ => std::str::from_utf8(bytes)
                    .map_err(|e| bad(e.to_string()))
                    .and_then(|text| Value::from_json(text).map_err(|e| bad(e.to_string()))),
            }
        })
        .collect()
}

/// A typed result as a [`Value`] (through its JSON form).
fn to_value<R: Serialize>(r: &R) -> Result<Value, HostFunctionFailure> {
    serde_json::to_value(r)
        .and_then(serde_json::from_value::<Value>)
        .map_err(|e| HostFunctionFailure::Failed(format!("bad return value: {e}")))
}

/// One value per parameter from a decoded argument payload.
fn spread(n_params: usize, args: Value) -> Vec<Value> {
    match (n_params, args) {
        (0, _) => Vec::new(),
        (1, v) => vec![v],
        (_, Value::List(items)) => items,
        (_, other) => vec![other],
    }
}

fn host_failure(fq: &str, reason: HostFunctionFailure) -> Error {
    let (namespace, name) = fq.split_once('.').unwrap_or(("", fq));
    ErrorKind::HostFunction {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        reason,
    }
    .into()
}

/// The plugin host: host functions, default limits, and the engine plugins run on.
///
/// A `Host` is cheap to share by reference or to clone (its parts are reference-counted);
/// plugins keep what they need of it. It is `!Send`: host functions may hold non-thread-safe
/// state (JS functions, in the browser).
#[derive(Clone)]
pub struct Host {
    pub(crate) engines: Rc<crate::wasm::Engines>,
    pub(crate) registry: Rc<Registry>,
    pub(crate) limits: Limits,
    pub(crate) log: Option<LogSink>,
    pub(crate) wasi: WasiConfig,
    /// Plugins exposed to other plugins, and the Lua VM for `lua_exec`/`lua_eval`.
    pub(crate) peers: Rc<crate::peers::Peers>,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("registry", &self.registry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Starts configuring a host.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The default limits of plugins loaded by this host.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Loads a WebAssembly plugin; its ABI is detected from its imports and exports.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::ModuleTooLarge`], [`ErrorKind::InvalidModule`], [`ErrorKind::AbiDetection`],
    /// [`ErrorKind::MissingExport`], [`ErrorKind::SignatureMismatch`], [`ErrorKind::LinkError`],
    /// and the limit errors of instantiation ([`ErrorKind::MemoryLimit`], [`ErrorKind::OutOfFuel`]).
    pub fn load_wasm(&self, bytes: &[u8]) -> Result<Plugin, Error> {
        self.load_wasm_with(bytes, PluginOptions::default())
    }

    /// Loads a WebAssembly plugin with per-plugin options (name, limits, allowed namespaces).
    ///
    /// # Errors
    ///
    /// As [`Host::load_wasm`].
    pub fn load_wasm_with(&self, bytes: &[u8], options: PluginOptions) -> Result<Plugin, Error> {
        Plugin::load(self, bytes, options)
    }
}
