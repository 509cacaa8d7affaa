//! The Extism kernel ABI, implemented in Rust: unmodified `extism-pdk` plugins run on it.
//!
//! ```text
//!  plugin (wasm)                          host (this file)
//!  ─────────────                          ────────────────────────────────────────────────
//!  export  fn() -> i32 | fn()             kernel memory: Vec<u8>, owned by the host;
//!  import  extism:host/env.*   ───────►   a handle is an i64 offset into it, 0 = null
//!                                         blocks: offset → { capacity, length, live }
//!                                         input block · output (handle, len) · error handle
//!                                         vars (survive calls) · config · log level
//! ```
//!
//! All 25 functions of `extism:host/env` are provided, with the signatures extism-pdk 1.4
//! imports: `alloc free length length_unsafe load_u8 load_u64 store_u8 store_u64 input_length
//! input_load_u8 input_load_u64 output_set error_set config_get var_get var_set http_request
//! http_status_code http_headers log_trace log_debug log_info log_warn log_error get_log_level`.
//!
//! - `alloc(0)` is 0; a failed allocation (over the cap) is 0 and is reported as
//!   `MemoryLimit` if the call then fails. `length` of anything but a live block start is 0.
//! - Every load/store must lie inside one live block (checked with `checked_add`): a plugin
//!   cannot read or write kernel memory it does not own. Violations end the call with
//!   `AbiViolation`. (Extism's own kernel checked `p + len - 1` in u64, which wraps.)
//! - The host frees the key/value/message/request handles it is passed (`config_get`,
//!   `var_get`, `var_set`, `http_request`, `log_*`), even when the log level filters a message.
//!   `output_set` and `error_set` take ownership. Arguments of user host functions are *not*
//!   freed (the PDK frees them).
//! - Before every call the kernel is reset (all blocks dropped, error/input/output cleared) and
//!   the input is written as a block. Vars survive calls and re-instantiation; handles never do.
//! - After the call: an error block ⇒ `CallFailed` with its message; else a non-zero return
//!   code ⇒ `CallFailed` with the code; WASI `proc_exit(0)` with no error ⇒ success.
//! - `http_request` goes through the embedder's HTTP function ([`HostBuilder::http`]), which may
//!   be async (the call suspends), and only to hosts matching `allowed_hosts` (deny by default).
//!
//! [`HostBuilder::http`]: crate::HostBuilder::http

use crate::error::{AbiViolation, Error, ErrorKind};
use crate::host::{HostReply, LogLevel, LogStream, Registry};
use crate::plugin::{link_error, ExportInfo};
use crate::schema::FunctionSignature;
use crate::wasm::{self, abort_with, StoreData, Suspend};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use wasmi::{Caller, Func, Instance, Linker, Module, Store, Val, ValType};

/// The kernel's import module.
pub(crate) const ENV_MODULE: &str = "extism:host/env";
/// The default module of user host functions.
pub(crate) const USER_MODULE: &str = "extism:host/user";
/// The one alias of `extism:host/user` in the registry (as the buffer ABI's `env`): an import
/// `extism:host/user::f` is served by `extism:host/user.f`, else by `env.f`.
pub(crate) const USER_NAMESPACE_ALIAS: &str = "env";
/// Registry entry of the embedder's HTTP client ([`crate::HostBuilder::http`]).
pub(crate) const HTTP_NAMESPACE: &str = "plugboard";
pub(crate) const HTTP_FUNCTION: &str = "http";

/// Every function of `extism:host/env`, with its type: (name, params, results).
const ENV_FUNCTIONS: [(&str, &[ValType], &[ValType]); 25] = {
    use ValType::{I32, I64};
    [
        ("alloc", &[I64], &[I64]),
        ("free", &[I64], &[]),
        ("length", &[I64], &[I64]),
        ("length_unsafe", &[I64], &[I64]),
        ("load_u8", &[I64], &[I32]),
        ("load_u64", &[I64], &[I64]),
        ("store_u8", &[I64, I32], &[]),
        ("store_u64", &[I64, I64], &[]),
        ("input_length", &[], &[I64]),
        ("input_load_u8", &[I64], &[I32]),
        ("input_load_u64", &[I64], &[I64]),
        ("output_set", &[I64, I64], &[]),
        ("error_set", &[I64], &[]),
        ("config_get", &[I64], &[I64]),
        ("var_get", &[I64], &[I64]),
        ("var_set", &[I64, I64], &[]),
        ("http_request", &[I64, I64], &[I64]),
        ("http_status_code", &[], &[I32]),
        ("http_headers", &[], &[I64]),
        ("log_trace", &[I64], &[]),
        ("log_debug", &[I64], &[]),
        ("log_info", &[I64], &[]),
        ("log_warn", &[I64], &[]),
        ("log_error", &[I64], &[]),
        ("get_log_level", &[], &[I32]),
    ]
};

/// Options of the Extism kernel for one plugin (the manifest's `config`, `allowed_hosts`,
/// `memory.max_var_bytes`, `memory.max_http_response_bytes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelConfig {
    /// What `config_get` sees.
    pub config: BTreeMap<String, String>,
    /// Hosts `http_request` may reach, as globs (`*.example.com`); `None` denies all.
    pub allowed_hosts: Option<Vec<String>>,
    /// Total bytes of vars; 0 disables vars.
    pub max_var_bytes: usize,
    /// Largest HTTP response body handed to the plugin.
    pub max_http_response_bytes: usize,
    /// Messages below this level are dropped (and `get_log_level` reports it); `None` is off.
    pub log_level: Option<LogLevel>,
}

impl Default for KernelConfig {
    fn default() -> Self {
        Self {
            config: BTreeMap::new(),
            allowed_hosts: None,
            max_var_bytes: 1 << 20,
            max_http_response_bytes: 16 << 20,
            log_level: Some(LogLevel::Info),
        }
    }
}

impl KernelConfig {
    /// Adds a config entry.
    #[must_use]
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Allows HTTP requests to hosts matching this glob.
    #[must_use]
    pub fn allow_host(mut self, pattern: &str) -> Self {
        self.allowed_hosts
            .get_or_insert_with(Vec::new)
            .push(pattern.to_owned());
        self
    }
}

/// An HTTP request a plugin makes, as the embedder's HTTP function receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Vec<u8>>,
}

/// The embedder's answer to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    cap: u64,
    len: u64,
    live: bool,
}

/// Blocks by offset. New blocks always start at the end of kernel memory, so a `Vec` kept in
/// offset order (binary search) replaces a tree, and its capacity survives the per-call reset.
#[derive(Default)]
struct Blocks(Vec<(u64, Block)>);

impl Blocks {
    fn clear(&mut self) {
        self.0.clear();
    }
    fn index(&self, at: u64) -> Result<usize, usize> {
        self.0.binary_search_by_key(&at, |(o, _)| *o)
    }
    fn get(&self, at: &u64) -> Option<&Block> {
        self.index(*at)
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, b)| b)
    }
    fn get_mut(&mut self, at: &u64) -> Option<&mut Block> {
        let i = self.index(*at).ok()?;
        self.0.get_mut(i).map(|(_, b)| b)
    }
    fn contains_key(&self, at: &u64) -> bool {
        self.index(*at).is_ok()
    }
    /// Appends a block at the end of kernel memory.
    fn push(&mut self, at: u64, b: Block) {
        self.0.push((at, b));
    }
    /// The first free block of at least `n` bytes.
    fn free_fit(&mut self, n: u64) -> Option<(u64, &mut Block)> {
        self.0
            .iter_mut()
            .find(|(_, b)| !b.live && b.cap >= n)
            .map(|(o, b)| (*o, b))
    }
    fn last(&self) -> Option<(u64, Block)> {
        self.0.last().copied()
    }
    fn pop(&mut self) {
        self.0.pop();
    }
    /// The block starting at or before `off`.
    fn at_or_before(&self, off: u64) -> Option<(u64, Block)> {
        let i = self.0.partition_point(|(o, _)| *o <= off);
        i.checked_sub(1).and_then(|i| self.0.get(i)).copied()
    }
}

/// The kernel state of one plugin instance.
pub(crate) struct Kernel {
    mem: Vec<u8>,
    blocks: Blocks,
    cap: usize,
    input: u64,
    output: Option<(u64, u64)>,
    error: u64,
    vars: BTreeMap<String, Vec<u8>>,
    var_bytes: usize,
    pub(crate) options: KernelConfig,
    http_status: i32,
    http_headers: Option<BTreeMap<String, String>>,
    /// Set when `alloc` failed for lack of room, so a failure that follows is a `MemoryLimit`.
    pub(crate) alloc_denied: bool,
    /// The suspended user host function (`ns::name`) and its result type (`None`: nothing).
    pending_result: Option<(String, Option<ValType>)>,
}

/// What survives a re-instantiation: vars and options.
pub(crate) struct Persistent {
    vars: BTreeMap<String, Vec<u8>>,
    options: KernelConfig,
}

impl Kernel {
    pub(crate) fn new(options: KernelConfig, cap: usize, carried: Option<Persistent>) -> Self {
        let (vars, options) = match carried {
            Some(p) => (p.vars, p.options),
            None => (BTreeMap::new(), options),
        };
        let var_bytes = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
        Self {
            mem: vec![0],
            blocks: Blocks::default(),
            cap,
            input: 0,
            output: None,
            error: 0,
            vars,
            var_bytes,
            options,
            http_status: 0,
            http_headers: None,
            alloc_denied: false,
            pending_result: None,
        }
    }

    /// Bytes of kernel memory in use (blocks and the null byte).
    #[cfg(feature = "internals")]
    pub(crate) fn memory_len(&self) -> usize {
        self.mem.len()
    }

    pub(crate) fn into_persistent(self) -> Persistent {
        Persistent {
            vars: self.vars,
            options: self.options,
        }
    }

    /// Drops every block and the call's input, output and error.
    pub(crate) fn reset(&mut self) {
        self.mem.truncate(1);
        self.mem.shrink_to(64 << 10);
        self.blocks.clear();
        self.input = 0;
        self.output = None;
        self.error = 0;
        self.alloc_denied = false;
    }

    pub(crate) fn alloc(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        if let Some((at, b)) = self.blocks.free_fit(n) {
            b.live = true;
            b.len = n;
            let start = at as usize;
            if let Some(bytes) = self.mem.get_mut(start..start.saturating_add(n as usize)) {
                bytes.fill(0);
            }
            return at;
        }
        let at = self.mem.len() as u64;
        let fits = at.checked_add(n).is_some_and(|end| end <= self.cap as u64);
        if !fits {
            self.alloc_denied = true;
            return 0;
        }
        self.mem.resize(self.mem.len() + n as usize, 0);
        self.blocks.push(
            at,
            Block {
                cap: n,
                len: n,
                live: true,
            },
        );
        at
    }

    pub(crate) fn free(&mut self, h: u64) {
        if h == self.input {
            self.input = 0;
        }
        if let Some(b) = self.blocks.get_mut(&h) {
            b.live = false;
            b.len = 0;
        }
        // Give the tail back, so alloc/free loops do not grow kernel memory.
        while let Some((at, b)) = self.blocks.last() {
            if b.live {
                break;
            }
            self.blocks.pop();
            self.mem.truncate(at as usize);
        }
    }

    pub(crate) fn length(&self, h: u64) -> u64 {
        self.blocks.get(&h).filter(|b| b.live).map_or(0, |b| b.len)
    }

    /// The range `off..off+width` if it lies inside one live block's allocated length (not its
    /// capacity: a reused block may be larger than what was asked for).
    fn range(&self, off: u64, width: u64) -> Result<std::ops::Range<usize>, AbiViolation> {
        if width == 0 {
            // An empty range touches nothing (e.g. `output_set(0, 0)` for an empty output).
            return Ok(0..0);
        }
        let end = off.checked_add(width).ok_or(AbiViolation::Overflow {
            ptr: off,
            len: width,
        })?;
        let inside = self
            .blocks
            .at_or_before(off)
            .is_some_and(|(start, b)| b.live && start.checked_add(b.len).is_some_and(|e| end <= e));
        if !inside {
            return Err(AbiViolation::OutOfBounds {
                ptr: off,
                len: width,
                memory_size: self.mem.len() as u64,
            });
        }
        Ok(off as usize..end as usize)
    }

    fn bytes(&self, h: u64) -> Result<&[u8], AbiViolation> {
        let len = self.length(h);
        if h == 0 || len == 0 && !self.blocks.contains_key(&h) {
            return Err(AbiViolation::OutOfBounds {
                ptr: h,
                len: 0,
                memory_size: self.mem.len() as u64,
            });
        }
        let r = self.range(h, len)?;
        Ok(self.mem.get(r).unwrap_or(&[]))
    }

    fn take_string(&mut self, h: u64) -> Result<String, Error> {
        let s = String::from_utf8_lossy(self.bytes(h)?).into_owned();
        self.free(h);
        Ok(s)
    }

    fn new_block(&mut self, bytes: &[u8]) -> u64 {
        let h = self.alloc(bytes.len() as u64);
        if h != 0 {
            let start = h as usize;
            if let Some(dst) = self.mem.get_mut(start..start + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        }
        h
    }

    pub(crate) fn load(&self, off: u64, width: u64) -> Result<u64, AbiViolation> {
        let r = self.range(off, width)?;
        let mut a = [0u8; 8];
        if let (Some(dst), Some(src)) = (a.get_mut(..width as usize), self.mem.get(r)) {
            dst.copy_from_slice(src);
        }
        Ok(u64::from_le_bytes(a))
    }

    pub(crate) fn store(&mut self, off: u64, width: u64, v: u64) -> Result<(), AbiViolation> {
        let r = self.range(off, width)?;
        if let Some(dst) = self.mem.get_mut(r) {
            dst.copy_from_slice(&v.to_le_bytes()[..width as usize]);
        }
        Ok(())
    }

    fn input_load(&self, off: u64, width: u64) -> Result<u64, AbiViolation> {
        let len = self.length(self.input);
        let end = off.checked_add(width).ok_or(AbiViolation::Overflow {
            ptr: off,
            len: width,
        })?;
        if end > len {
            return Err(AbiViolation::OutOfBounds {
                ptr: off,
                len: width,
                memory_size: len,
            });
        }
        self.load(self.input + off, width)
    }

    fn var_set(&mut self, key: String, value: Option<Vec<u8>>) -> Result<(), Error> {
        let max = self.options.max_var_bytes;
        if max == 0 {
            return Err(ErrorKind::CapabilityDenied {
                what: "vars are disabled (max_var_bytes is 0)".into(),
            }
            .into());
        }
        let old = self.vars.remove(&key).map_or(0, |v| key.len() + v.len());
        self.var_bytes -= old;
        if let Some(value) = value {
            let add = key.len() + value.len();
            if self.var_bytes + add > max {
                return Err(ErrorKind::CapabilityDenied {
                    what: format!(
                        "vars would take {} bytes, over max_var_bytes of {max}",
                        self.var_bytes + add
                    ),
                }
                .into());
            }
            self.var_bytes += add;
            self.vars.insert(key, value);
        }
        Ok(())
    }
}

fn kernel<'a>(caller: &'a mut Caller<'_, StoreData>) -> Result<&'a mut Kernel, Error> {
    caller
        .data_mut()
        .kernel
        .as_deref_mut()
        .ok_or_else(|| ErrorKind::AbiViolation(AbiViolation::NoMemory).into())
}

pub(crate) fn looks_like(module: &Module) -> bool {
    module.imports().any(|i| i.module() == ENV_MODULE)
}

pub(crate) fn validate(module: &Module) -> Result<(), Error> {
    if callable(module).next().is_none() {
        return Err(ErrorKind::MissingExport {
            name: "any function of type () -> i32 or () -> ()".into(),
        }
        .into());
    }
    Ok(())
}

fn callable(module: &Module) -> impl Iterator<Item = String> + '_ {
    module.exports().filter_map(|e| {
        let wasmi::ExternType::Func(ty) = e.ty() else {
            return None;
        };
        let ok =
            ty.params().is_empty() && (ty.results().is_empty() || ty.results() == [ValType::I32]);
        let internal = e.name().starts_with('_') || e.name() == "call";
        (ok && !internal).then(|| e.name().to_owned())
    })
}

pub(crate) fn exports(module: &Module, _sigs: &[FunctionSignature]) -> Vec<ExportInfo> {
    callable(module)
        .map(|name| ExportInfo {
            name,
            signature: None,
        })
        .collect()
}

/// Links one import of a kernel-ABI plugin: an `extism:host/env` function, or a user host
/// function (module `extism:host/user`, or a namespace of the registry by that name).
pub(crate) fn link_import(
    linker: &mut Linker<StoreData>,
    registry: &Registry,
    allow: Option<&[String]>,
    module: &str,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    if module == ENV_MODULE {
        let (_, params, results) = ENV_FUNCTIONS
            .iter()
            .find(|(n, ..)| *n == name)
            .ok_or_else(|| link_error(module, name, "not a function of the Extism kernel"))?;
        if ty.params() != *params || ty.results() != *results {
            return Err(link_error(
                module,
                name,
                &format!("expected type {}", wasm::fmt_sig(params, results)),
            ));
        }
        if link_typed(linker, name).map_err(|e| link_error(module, name, &e.to_string()))? {
            return Ok(());
        }
        let n = name.to_owned();
        linker
            .func_new(
                module,
                name,
                ty.clone(),
                move |mut caller, args, out| match env_call(&mut caller, &n, args) {
                    Ok(Some(v)) => {
                        if let Some(slot) = out.first_mut() {
                            *slot = v;
                        }
                        Ok(())
                    }
                    Ok(None) => Ok(()),
                    Err(Flow::Suspend) => Err(wasmi::Error::host(Suspend)),
                    Err(Flow::Fail(e)) => Err(abort_with(caller.data_mut(), e)),
                },
            )
            .map_err(|e| link_error(module, name, &e.to_string()))?;
        return Ok(());
    }
    // `extism:host/user::NAME` is the registry's `extism:host/user.NAME`, else its one alias
    // `env.NAME`; any other module is the namespace of that name. Nothing else matches.
    let f = if module == USER_MODULE {
        registry
            .resolve(Some(USER_MODULE), USER_MODULE, name, allow)
            .or_else(|_| registry.resolve(Some(USER_NAMESPACE_ALIAS), USER_MODULE, name, allow))
            .map_err(|reason| {
                link_error(
                    module,
                    name,
                    &format!(
                        "{reason}: define it in namespace `{USER_MODULE}` (or its alias `{USER_NAMESPACE_ALIAS}`)"
                    ),
                )
            })?
    } else {
        registry
            .resolve(Some(module), module, name, allow)
            .map_err(|reason| link_error(module, name, &reason))?
    };
    let numeric =
        |t: &ValType| matches!(t, ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64);
    if !ty.params().iter().all(numeric)
        || ty.results().len() > 1
        || !ty.results().iter().all(numeric)
    {
        return Err(link_error(
            module,
            name,
            "kernel host functions take i64 handles or numbers (i32, f32, f64) and return at most one",
        ));
    }
    let (ns, fname) = (f.namespace.clone(), f.name.clone());
    let result = ty.results().first().copied();
    linker
        .func_new(
            module,
            name,
            ty.clone(),
            move |mut caller, args, out| match user_call(&mut caller, &ns, &fname, args, result) {
                Ok(v) => {
                    if let (Some(slot), Some(v)) = (out.first_mut(), v) {
                        *slot = v;
                    }
                    Ok(())
                }
                Err(Flow::Suspend) => Err(wasmi::Error::host(Suspend)),
                Err(Flow::Fail(e)) => Err(abort_with(caller.data_mut(), e)),
            },
        )
        .map_err(|e| link_error(module, name, &e.to_string()))?;
    Ok(())
}

enum Flow {
    Suspend,
    Fail(Error),
}

impl<E: Into<Error>> From<E> for Flow {
    fn from(e: E) -> Self {
        Flow::Fail(e.into())
    }
}

fn arg(args: &[Val], i: usize) -> u64 {
    args.get(i).and_then(Val::i64).unwrap_or(0) as u64
}

fn env_call(
    caller: &mut Caller<'_, StoreData>,
    name: &str,
    args: &[Val],
) -> Result<Option<Val>, Flow> {
    let a = arg(args, 0);
    let b = arg(args, 1);
    if name == "http_request" {
        return Ok(Some(Val::I64(http_request(caller, a, b)? as i64)));
    }
    if let Some(level) = log_level(name) {
        let k = kernel(caller)?;
        // The message is freed even when its level is filtered out.
        let msg = k.take_string(a)?;
        if k.options.log_level.is_some_and(|min| level >= min) {
            caller.data_mut().log(LogStream::Log(level), msg.as_bytes());
        }
        return Ok(None);
    }
    let k = kernel(caller)?;
    let i64v = |v: u64| Some(Val::I64(v as i64));
    Ok(match name {
        "config_get" => {
            let key = k.take_string(a)?;
            let value = k.options.config.get(&key).cloned();
            i64v(value.map_or(0, |v| k.new_block(v.as_bytes())))
        }
        "var_get" => {
            let key = k.take_string(a)?;
            let value = k.vars.get(&key).cloned();
            i64v(value.map_or(0, |v| k.new_block(&v)))
        }
        "var_set" => {
            let key = k.take_string(a)?;
            let value = if b == 0 {
                None
            } else {
                let v = k.bytes(b)?.to_vec();
                k.free(b);
                Some(v)
            };
            k.var_set(key, value)?;
            None
        }
        "http_status_code" => Some(Val::I32(k.http_status)),
        "http_headers" => {
            let headers = k.http_headers.clone();
            i64v(headers.map_or(0, |h| {
                k.new_block(serde_json::to_string(&h).unwrap_or_default().as_bytes())
            }))
        }
        "get_log_level" => Some(Val::I32(k.options.log_level.map_or(i32::MAX, |l| l as i32))),
        _ => {
            return Err(link_error(ENV_MODULE, name, "not a function of the Extism kernel").into())
        }
    })
}

type Ret<T> = Result<T, wasmi::Error>;

/// Runs `f` on the plugin's kernel; its error aborts the call.
fn with_kernel<T>(
    caller: &mut Caller<'_, StoreData>,
    f: impl FnOnce(&mut Kernel) -> Result<T, Error>,
) -> Ret<T> {
    let r = match caller.data_mut().kernel.as_deref_mut() {
        Some(k) => f(k),
        None => Err(AbiViolation::NoMemory.into()),
    };
    r.map_err(|e| abort_with(caller.data_mut(), e))
}

/// Links the kernel functions a plugin calls on every call (reading input, writing output)
/// as typed host functions, which wasmi calls without boxing arguments. `false` if `name` is
/// not one of them.
fn link_typed(
    linker: &mut Linker<StoreData>,
    name: &str,
) -> Result<bool, wasmi::errors::LinkerError> {
    type C<'a> = Caller<'a, StoreData>;
    let m = ENV_MODULE;
    match name {
        "alloc" => linker.func_wrap(m, name, |mut c: C<'_>, n: i64| -> Ret<i64> {
            with_kernel(&mut c, |k| Ok(k.alloc(n as u64) as i64))
        }),
        "free" => linker.func_wrap(m, name, |mut c: C<'_>, h: i64| -> Ret<()> {
            with_kernel(&mut c, |k| {
                k.free(h as u64);
                Ok(())
            })
        }),
        "length" | "length_unsafe" => {
            linker.func_wrap(m, name, |mut c: C<'_>, h: i64| -> Ret<i64> {
                with_kernel(&mut c, |k| Ok(k.length(h as u64) as i64))
            })
        }
        "load_u8" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64| -> Ret<i32> {
            with_kernel(&mut c, |k| Ok(k.load(off as u64, 1)? as i32))
        }),
        "load_u64" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64| -> Ret<i64> {
            with_kernel(&mut c, |k| Ok(k.load(off as u64, 8)? as i64))
        }),
        "store_u8" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64, v: i32| -> Ret<()> {
            with_kernel(&mut c, |k| {
                Ok(k.store(off as u64, 1, u64::from(v as u8))?)
            })
        }),
        "store_u64" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64, v: i64| -> Ret<()> {
            with_kernel(&mut c, |k| Ok(k.store(off as u64, 8, v as u64)?))
        }),
        "input_length" => linker.func_wrap(m, name, |mut c: C<'_>| -> Ret<i64> {
            with_kernel(&mut c, |k| Ok(k.length(k.input) as i64))
        }),
        "input_load_u8" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64| -> Ret<i32> {
            with_kernel(&mut c, |k| Ok(k.input_load(off as u64, 1)? as i32))
        }),
        "input_load_u64" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64| -> Ret<i64> {
            with_kernel(&mut c, |k| Ok(k.input_load(off as u64, 8)? as i64))
        }),
        "output_set" => linker.func_wrap(m, name, |mut c: C<'_>, off: i64, len: i64| -> Ret<()> {
            let max = c.data().limits.max_output_bytes;
            with_kernel(&mut c, |k| {
                let (off, len) = (off as u64, len as u64);
                // The whole range must lie in one live block: no wrap-around (KRN-01).
                k.range(off, len)?;
                // The host's output cap, as every ABI applies it (RES-12).
                if len > max as u64 {
                    return Err(ErrorKind::OutputTooLarge { len, max }.into());
                }
                k.output = Some((off, len));
                Ok(())
            })
        }),
        "error_set" => linker.func_wrap(m, name, |mut c: C<'_>, h: i64| -> Ret<()> {
            with_kernel(&mut c, |k| {
                let h = h as u64;
                if h != 0 && k.length(h) == 0 && !k.blocks.get(&h).is_some_and(|b| b.live) {
                    return Err(AbiViolation::OutOfBounds {
                        ptr: h,
                        len: 0,
                        memory_size: k.mem.len() as u64,
                    }
                    .into());
                }
                k.error = h;
                Ok(())
            })
        }),
        _ => return Ok(false),
    }?;
    Ok(true)
}

fn log_level(name: &str) -> Option<LogLevel> {
    Some(match name {
        "log_trace" => LogLevel::Trace,
        "log_debug" => LogLevel::Debug,
        "log_info" => LogLevel::Info,
        "log_warn" => LogLevel::Warn,
        "log_error" => LogLevel::Error,
        _ => return None,
    })
}

/// `http_request(req, body)`: checks the URL against `allowed_hosts`, then hands the request to
/// the embedder's HTTP function. Suspends; the response arrives through [`deliver_reply`].
fn http_request(caller: &mut Caller<'_, StoreData>, req: u64, body: u64) -> Result<u64, Flow> {
    #[derive(Deserialize)]
    struct Req {
        url: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        method: Option<String>,
    }
    let k = kernel(caller)?;
    let text = k.take_string(req)?;
    let body = if body == 0 {
        None
    } else {
        let b = k.bytes(body)?.to_vec();
        k.free(body);
        Some(b)
    };
    let r: Req = serde_json::from_str(&text).map_err(|e| {
        Error::from(ErrorKind::AbiViolation(AbiViolation::Malformed {
            what: format!("http request: {e}"),
        }))
    })?;
    let allowed = k.options.allowed_hosts.as_deref().unwrap_or(&[]);
    if !host_allowed(&r.url, allowed) {
        return Err(ErrorKind::CapabilityDenied {
            what: format!("HTTP request to `{}` is not allowed", r.url),
        }
        .into());
    }
    let request = HttpRequest {
        url: r.url,
        method: r.method.unwrap_or_else(|| "GET".into()).to_uppercase(),
        headers: r.headers,
        body,
    };
    let f = caller
        .data()
        .registry
        .get(HTTP_NAMESPACE, HTTP_FUNCTION)
        .cloned()
        .ok_or_else(|| {
            Error::from(ErrorKind::CapabilityDenied {
                what: "no HTTP client is configured on this host".into(),
            })
        })?;
    let encoded = crate::codec::to_bytes(&request)?;
    wasm::charge_host_call(&mut *caller, encoded.len())?;
    let reply = match f.invoke(&encoded)? {
        HostReply::Ready(bytes) => bytes,
        HostReply::Later(future) => match caller.data_mut().defer(&f, future)? {
            Some(bytes) => bytes,
            None => {
                caller.data_mut().pending_http = true;
                return Err(Flow::Suspend);
            }
        },
    };
    Ok(deliver_http(caller.data_mut(), &reply)?)
}

fn deliver_http(data: &mut StoreData, reply: &[u8]) -> Result<u64, Error> {
    let resp: HttpResponse = crate::codec::from_bytes(reply)?;
    let k = data.kernel.as_deref_mut().ok_or(AbiViolation::NoMemory)?;
    let max = k.options.max_http_response_bytes;
    if resp.body.len() > max {
        return Err(ErrorKind::OutputTooLarge {
            len: resp.body.len() as u64,
            max,
        }
        .into());
    }
    k.http_status = i32::from(resp.status);
    k.http_headers = Some(resp.headers);
    Ok(if resp.body.is_empty() {
        0
    } else {
        k.new_block(&resp.body)
    })
}

/// A user host function: the argument blocks' bytes (not freed: the PDK frees them) and
/// numbers as JSON are passed to the registered function through its JSON entry point; its
/// result becomes a block (an `i64` result) or a number.
fn user_call(
    caller: &mut Caller<'_, StoreData>,
    ns: &str,
    name: &str,
    args: &[Val],
    result: Option<ValType>,
) -> Result<Option<Val>, Flow> {
    let k = kernel(caller)?;
    let mut parts = Vec::with_capacity(args.len());
    for a in args {
        parts.push(match *a {
            Val::I64(0) => Vec::new(),
            Val::I64(h) => k.bytes(h as u64)?.to_vec(),
            Val::I32(n) => n.to_string().into_bytes(),
            Val::F32(x) => json_number(f64::from(f32::from(x))),
            Val::F64(x) => json_number(f64::from(x)),
            _ => Vec::new(),
        });
    }
    let f = caller
        .data()
        .registry
        .get(ns, name)
        .cloned()
        .ok_or_else(|| link_error(USER_MODULE, name, "host function disappeared"))?;
    wasm::charge_host_call(&mut *caller, parts.iter().map(Vec::len).sum())?;
    match f.invoke_raw(&parts)? {
        HostReply::Ready(bytes) => {
            let k = kernel(caller)?;
            Ok(reply_value(k, &bytes, result, &format!("{ns}::{name}"))?)
        }
        HostReply::Later(future) => match caller.data_mut().defer(&f, future)? {
            Some(bytes) => {
                let k = kernel(caller)?;
                Ok(reply_value(k, &bytes, result, &format!("{ns}::{name}"))?)
            }
            None => {
                kernel(caller)?.pending_result = Some((format!("{ns}::{name}"), result));
                Err(Flow::Suspend)
            }
        },
    }
}

fn json_number(x: f64) -> Vec<u8> {
    serde_json::Number::from_f64(x).map_or_else(|| b"null".to_vec(), |n| n.to_string().into_bytes())
}

/// A user host function's reply as the value the plugin expects: a new block for `i64` (0 for
/// no bytes), a JSON number (or boolean) for `i32`/`f32`/`f64`, nothing for no result.
fn reply_value(
    k: &mut Kernel,
    bytes: &[u8],
    result: Option<ValType>,
    what: &str,
) -> Result<Option<Val>, Error> {
    let Some(ty) = result else {
        return Ok(None);
    };
    if ty == ValType::I64 {
        return Ok(Some(Val::I64(if bytes.is_empty() {
            0
        } else {
            k.new_block(bytes) as i64
        })));
    }
    let number = if bytes.is_empty() {
        Some(0.0)
    } else {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Number(n)) => n.as_f64(),
            Ok(serde_json::Value::Bool(b)) => Some(f64::from(u8::from(b))),
            _ => None,
        }
    };
    let mismatch = || -> Error {
        ErrorKind::Decode(crate::error::DecodeError::Mismatch {
            reason: format!(
                "host function {what} returned {:?}, not a number the plugin can take as {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(64)]),
                wasm::fmt_sig(&[], &[ty]).trim_start_matches("() -> ")
            ),
        })
        .into()
    };
    let x = number.ok_or_else(mismatch)?;
    Ok(Some(match ty {
        ValType::I32 => {
            if x.fract() != 0.0 || x < f64::from(i32::MIN) || x > f64::from(u32::MAX) {
                return Err(mismatch());
            }
            // Integers up to u32::MAX are accepted and wrap, as unsigned values in an i32 do.
            Val::I32(x as i64 as i32)
        }
        ValType::F32 => Val::F32((x as f32).into()),
        _ => Val::F64(x.into()),
    }))
}

pub(crate) fn bind(store: &mut Store<StoreData>, _instance: &Instance) -> Result<(), Error> {
    if store.data().kernel.is_none() {
        return Err(ErrorKind::AbiViolation(AbiViolation::NoMemory).into());
    }
    Ok(())
}

/// The export `name`, checked to be `() -> i32` or `() -> ()`.
pub(crate) fn resolve_export(
    store: &Store<StoreData>,
    instance: &Instance,
    name: &str,
) -> Result<Func, Error> {
    let fits = |ty: &wasmi::FuncType| {
        ty.params().is_empty() && (ty.results().is_empty() || ty.results() == [ValType::I32])
    };
    wasm::instance_export(store, instance, name, name, fits, "() -> (i32) or () -> ()")
}

/// Resets the kernel and writes the input as the call's input block.
pub(crate) fn prepare_input(store: &mut Store<StoreData>, input: &[u8]) -> Result<Vec<Val>, Error> {
    let data = store.data_mut();
    let k = data.kernel.as_deref_mut().ok_or(AbiViolation::NoMemory)?;
    k.reset();
    if !input.is_empty() {
        let h = k.new_block(input);
        if h == 0 {
            return Err(ErrorKind::MemoryLimit { cap: k.cap }.into());
        }
        k.input = h;
    }
    Ok(Vec::new())
}

/// After the call: the error block, then the return code, then the output.
pub(crate) fn finish_call(store: &mut Store<StoreData>, results: &[Val]) -> Result<Vec<u8>, Error> {
    let code = results.first().and_then(Val::i32).unwrap_or(0);
    let k = store
        .data_mut()
        .kernel
        .as_deref_mut()
        .ok_or(AbiViolation::NoMemory)?;
    if k.error != 0 {
        let message = String::from_utf8_lossy(k.bytes(k.error).unwrap_or(&[])).into_owned();
        return Err(ErrorKind::CallFailed {
            code,
            message: Some(message),
        }
        .into());
    }
    if code != 0 {
        return Err(ErrorKind::CallFailed {
            code,
            message: None,
        }
        .into());
    }
    let out = match k.output {
        Some((h, len)) => {
            let r = k.range(h, len)?;
            k.mem.get(r).map(<[u8]>::to_vec).unwrap_or_default()
        }
        None => Vec::new(),
    };
    // The next call resets the kernel; only give back memory a large call left behind.
    if k.mem.len() > 64 << 10 {
        k.reset();
    }
    Ok(out)
}

/// The reply of a suspended host call: an HTTP response, or a user host function's result.
pub(crate) fn deliver_reply(
    store: &mut Store<StoreData>,
    reply: &[u8],
) -> Result<Option<Val>, Error> {
    let data = store.data_mut();
    if std::mem::take(&mut data.pending_http) {
        return deliver_http(data, reply).map(|h| Some(Val::I64(h as i64)));
    }
    let k = data.kernel.as_deref_mut().ok_or(AbiViolation::NoMemory)?;
    let (what, result) = k.pending_result.take().ok_or(ErrorKind::NoCallInFlight)?;
    reply_value(k, reply, result, &what)
}

/// `true` if the URL's host matches one of the glob patterns (`*` any run of characters,
/// `?` one). Hosts are compared lowercase, without a trailing dot; userinfo, port, path, query
/// and fragment are not part of the host. Anything unparsable is denied.
pub(crate) fn host_allowed(url: &str, patterns: &[String]) -> bool {
    let Some(host) = url_host(url) else {
        return false;
    };
    patterns.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        let p = p.strip_suffix('.').unwrap_or(&p);
        glob(p.as_bytes(), host.as_bytes())
    })
}

fn url_host(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split_once(']')?.0
    } else {
        hostport.split(':').next()?
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_suffix('.').unwrap_or(&host).to_owned();
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b));
    valid.then_some(host)
}

/// Iterative glob match with backtracking to the last `*`: linear in practice, no recursion.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn krn_10_allowed_hosts_matcher_adversarial() {
        let p = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let wild = p(&["*.example.com"]);
        let table: &[(&str, bool)] = &[
            ("https://api.example.com/x", true),
            ("https://a.b.example.com", true),
            ("https://example.com", false),
            ("https://EXAMPLE.com./", false),
            ("https://API.EXAMPLE.COM.:8443/p?q#f", true),
            ("https://evil.com#.example.com", false),
            ("https://evil.com?.example.com", false),
            ("https://user@evil.com", false),
            ("https://api.example.com@evil.com/", false),
            ("https://example.com.evil.net", false),
            ("https://evilexample.com", false),
            ("ftp://api.example.com", false),
            ("https://api.example.com%2f@evil.com", false),
            ("https://", false),
            ("not a url", false),
        ];
        for (url, want) in table {
            assert_eq!(host_allowed(url, &wild), *want, "{url}");
        }
        let exact = p(&["example.com", "127.0.0.1", "::1"]);
        assert!(host_allowed("http://EXAMPLE.COM.", &exact));
        assert!(host_allowed("http://127.0.0.1:8080/", &exact));
        assert!(host_allowed("http://[::1]:80/", &exact));
        assert!(!host_allowed("http://127.0.0.2/", &exact));
        assert!(!host_allowed("http://sub.example.com", &exact));
        assert!(host_allowed("https://anything.at.all", &p(&["*"])));
        assert!(!host_allowed("https://example.com", &[]));
        // Pathological patterns stay fast (no exponential backtracking).
        let evil = p(&[&"*a".repeat(50)]);
        assert!(!host_allowed(&format!("http://{}b", "a".repeat(60)), &evil));
    }

    // KRN-09 (random operation sequences against a reference model) is the `kernel_ops` fuzz
    // target of crates/fuzz-targets, run there as a property test and over its corpus.

    #[test]
    fn kernel_blocks_and_bounds() {
        let mut k = Kernel::new(KernelConfig::default(), 1 << 16, None);
        assert_eq!(k.alloc(0), 0);
        let a = k.alloc(16);
        let b = k.alloc(8);
        assert!(a != 0 && b == a + 16);
        assert_eq!(k.length(a), 16);
        assert_eq!(k.length(a + 3), 0);
        k.store(b, 8, u64::MAX).unwrap();
        assert_eq!(k.load(b, 8).unwrap(), u64::MAX);
        assert!(k.load(b + 1, 8).is_err());
        assert!(k.load(u64::MAX, 8).is_err());
        assert!(k.range(b, u64::MAX - b + 2).is_err());
        k.free(a);
        k.free(a);
        k.free(0);
        k.free(12345);
        assert_eq!(k.length(a), 0);
        assert!(k.load(a, 1).is_err());
        assert_eq!(k.alloc(u64::MAX), 0);
        assert!(k.alloc_denied);
        assert_eq!(k.alloc(1 << 40), 0);
        let c = k.alloc(4);
        assert_eq!(c, a, "freed block reused");
        // Found by KRN-09: a reused block is only as large as what was asked for.
        assert!(
            k.store(c, 8, 1).is_err(),
            "store past a reused block's length"
        );
        assert!(k.store(c, 4, 1).is_ok());
    }
}
