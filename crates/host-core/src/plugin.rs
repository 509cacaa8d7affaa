//! [`Plugin`]: one loaded plugin, its instance, and the call state machine (see [`crate::call`]).

use crate::abi::kernel::{Kernel, KernelConfig};
use crate::abi::{self, Abi};
use crate::call::{self, DepthGuard, HostCompletion, Step};
use crate::codec;
use crate::error::{Error, ErrorKind};
use crate::host::{Host, LogSink, Registry};
use crate::idl::{self, Interface};
use crate::limits::Limits;
use crate::lua::LuaPlugin;
use crate::schema::{Direction, FunctionSignature, Signature};
use crate::value::Value;
use crate::wasm::wasi::{self, WasiConfig};
use crate::wasm::{self, StoreData, Suspend};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::rc::Rc;
use wasmi::{Func, Linker, Module, ResumableCall, Store, Val};

/// The custom section in which `#[export]`/`#[import]` record signatures.
pub const SIGNATURE_SECTION: &str = "plugboard.signatures";
/// Import module of the guest SDK's own host functions.
pub(crate) const PLUGBOARD_MODULE: &str = "plugboard";
/// `plugboard.panic(ptr: i32, len: i32)`: the guest reports its panic message before trapping.
pub(crate) const PANIC_IMPORT: &str = "panic";

/// Per-plugin options for [`Host::load_wasm_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PluginOptions {
    /// The plugin's name in logs and errors (default `"plugin"`).
    pub name: Option<String>,
    /// Limits for this plugin instead of the host's.
    pub limits: Option<Limits>,
    /// Host-function namespaces this plugin may import; `None` allows every namespace.
    pub allow: Option<Vec<String>>,
    /// The ABI to use instead of detecting it.
    pub abi: Option<Abi>,
    /// The WASI environment for this plugin instead of the host's.
    pub wasi: Option<WasiConfig>,
    /// Options of the Extism kernel (kernel-ABI plugins only).
    pub kernel: Option<KernelConfig>,
    /// Link WASI for kernel-ABI plugins (Extism's `wasi: true`); other ABIs always may use it.
    pub enable_wasi: bool,
    /// Link host functions this host lacks as stubs that fail with
    /// [`ErrorKind::HostFunction`] when called, instead of refusing to load (for tools like the
    /// CLI that run one function of a plugin written for another host).
    pub stub_missing_imports: bool,
    /// The `interface.d.ts` of an Extism JS-PDK core module ([`Abi::Idl`]).
    pub interface: Option<Interface>,
    /// Fixed-ABI (wasmer-plugin) plugins get a fresh instance for every call, as the original
    /// runner did; set this to keep one instance (and its state) across calls.
    pub reuse_instance: bool,
}

impl PluginOptions {
    /// Options with a name.
    pub fn named(name: &str) -> Self {
        Self {
            name: Some(name.to_owned()),
            ..Self::default()
        }
    }

    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Restricts host functions to these namespaces.
    pub fn allow(mut self, namespaces: &[&str]) -> Self {
        self.allow = Some(namespaces.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// Forces an ABI.
    pub fn with_abi(mut self, abi: Abi) -> Self {
        self.abi = Some(abi);
        self
    }

    /// Sets the WASI environment (and enables WASI for kernel-ABI plugins).
    pub fn with_wasi(mut self, wasi: WasiConfig) -> Self {
        self.wasi = Some(wasi);
        self.enable_wasi = true;
        self
    }

    /// Loads even if host functions are missing; calling one fails.
    pub fn stub_missing_imports(mut self) -> Self {
        self.stub_missing_imports = true;
        self
    }

    /// Sets the Extism kernel options (config, allowed hosts, var and HTTP limits, log level).
    pub fn with_kernel(mut self, kernel: KernelConfig) -> Self {
        self.kernel = Some(kernel);
        self
    }

    /// Keeps one instance across calls of a fixed-ABI plugin (see
    /// [`PluginOptions::reuse_instance`]).
    pub fn keep_instance(mut self) -> Self {
        self.reuse_instance = true;
        self
    }

    /// Sets the interface of an Extism JS-PDK core module (see [`Interface::parse`]).
    pub fn with_interface(mut self, interface: Interface) -> Self {
        self.interface = Some(interface);
        self
    }
}

/// A function a plugin exports, with its signature where known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportInfo {
    pub name: String,
    pub signature: Option<Signature>,
}

/// A function a plugin imports from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportInfo {
    pub module: String,
    pub name: String,
    /// The WebAssembly type, e.g. `(i64) -> (i64)`.
    pub wasm_type: String,
    /// The declared signature (from the plugin's signature section), where known.
    pub signature: Option<Signature>,
    /// Why the host cannot provide it, or `None` if it can.
    pub unresolved: Option<String>,
}

/// What a plugin is, without running it: see [`Host::describe_wasm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub abi: Abi,
    /// Why this ABI: what in the module gave it away, or that the options chose it.
    pub abi_reason: String,
    pub exports: Vec<ExportInfo>,
    pub imports: Vec<ImportInfo>,
}

/// A compiled, validated module with its linker: everything short of instantiation.
struct Analysis {
    module: Module,
    abi_reason: String,
    deps: Vec<(String, Module)>,
    /// The export shim of an [`Abi::Idl`] plugin, instantiated after the main module.
    export_shim: Option<Module>,
    abi: Abi,
    limits: Limits,
    linker: Linker<StoreData>,
    signatures: Vec<FunctionSignature>,
    exports: Vec<ExportInfo>,
    imports: Vec<ImportInfo>,
    link_errors: Vec<Error>,
}

impl Analysis {
    fn new(
        host: &Host,
        bytes: &[u8],
        dep_bytes: &[(String, Vec<u8>)],
        options: &PluginOptions,
    ) -> Result<Self, Error> {
        let limits = options
            .limits
            .clone()
            .unwrap_or_else(|| host.limits.clone());
        for b in std::iter::once(bytes).chain(dep_bytes.iter().map(|(_, b)| b.as_slice())) {
            if b.len() > limits.max_module_bytes {
                return Err(ErrorKind::ModuleTooLarge {
                    len: b.len(),
                    max: limits.max_module_bytes,
                }
                .into());
            }
        }
        // One engine for the plugin's module, its dependencies and shims; the main module
        // validated once per engine and bytes (wasm::Engines).
        let more = dep_bytes.iter().map(|(_, b)| b.len()).sum::<usize>();
        let (engine, module) = host.engines.load(bytes, more, compile)?;
        let mut deps = Vec::with_capacity(dep_bytes.len());
        for (name, b) in dep_bytes {
            deps.push((name.clone(), compile(&engine, b)?));
        }
        let signatures = read_signatures(&module)?;
        let (abi, abi_reason) = match options.abi {
            Some(abi) => (
                abi,
                "chosen by the options (PluginOptions::with_abi)".to_owned(),
            ),
            None => {
                let abi = abi::detect(&module)?;
                (abi, abi::evidence(abi, &module))
            }
        };
        abi::validate(abi, &module)?;
        let mut export_shim = None;
        if abi == Abi::Idl {
            let Some(interface) = &options.interface else {
                return Err(ErrorKind::AbiDetection {
                    reason: "this is an Extism JS-PDK core module (it exports `__invoke` or imports from `shim`): load it with its interface.d.ts".into(),
                }
                .into());
            };
            idl::validate(interface, &module)?;
            // The import shim is a dependency named `shim`; the export shim comes after.
            let import_shim = compile(&engine, &idl::shim::import_shim(interface))?;
            deps.insert(0, (idl::shim::IMPORT_SHIM.to_owned(), import_shim));
            export_shim = Some(compile(&engine, &idl::shim::export_shim(interface))?);
        }
        let allow = options.allow.as_deref();
        let mut linker = Linker::new(&engine);
        let mut imports = Vec::new();
        let mut link_errors = Vec::new();
        let dep_names: Vec<&str> = deps.iter().map(|(n, _)| n.as_str()).collect();
        let all_imports = module
            .imports()
            .chain(deps.iter().flat_map(|(_, m)| m.imports()));
        let mut linked = std::collections::HashSet::new();
        for import in all_imports {
            let (m, n) = (import.module(), import.name());
            if dep_names.contains(&m) {
                continue; // satisfied by a module of the plugin, at instantiation
            }
            if !linked.insert((m.to_owned(), n.to_owned())) {
                continue; // already linked (an import shared by two modules)
            }
            let linked = match import.ty() {
                wasmi::ExternType::Func(ty) => {
                    if m == wasi::MODULE {
                        if abi.uses_kernel() && !options.enable_wasi {
                            Err(link_error(m, n, "WASI is not enabled for this plugin (Extism manifests: `wasi: true`)"))
                        } else {
                            wasi::link(&mut linker, n, ty)
                        }
                    } else if m == PLUGBOARD_MODULE && n == PANIC_IMPORT {
                        link_panic(&mut linker, ty)
                    } else {
                        abi::link_import(abi, &mut linker, &host.registry, allow, m, n, ty)
                    }
                }
                _ => Err(link_error(m, n, "only function imports are supported")),
            };
            let wasm_type = match import.ty() {
                wasmi::ExternType::Func(ty) => wasm::fmt_sig(ty.params(), ty.results()),
                other => format!("{other:?}").to_lowercase(),
            };
            let declared = signatures
                .iter()
                .find(|s| s.direction == Direction::Import && abi::import_symbol(abi, &s.name) == n)
                .map(|s| s.signature.clone());
            imports.push(ImportInfo {
                module: m.to_owned(),
                name: n.to_owned(),
                wasm_type,
                signature: declared,
                unresolved: linked.as_ref().err().map(ToString::to_string),
            });
            if let Err(e) = linked {
                let stubbable = options.stub_missing_imports
                    && m != wasi::MODULE
                    && matches!(e.kind(), ErrorKind::LinkError { reason, .. } if reason.starts_with(crate::host::NO_SUCH_HOST_FUNCTION));
                match import.ty() {
                    wasmi::ExternType::Func(ty) if stubbable => link_stub(&mut linker, m, n, ty)?,
                    _ => link_errors.push(e),
                }
            }
        }
        let exports = match (&options.interface, abi) {
            (Some(interface), Abi::Idl) => interface
                .exports()
                .iter()
                .map(|name| ExportInfo {
                    name: name.clone(),
                    signature: None,
                })
                .collect(),
            _ => abi::exports(abi, &module, &signatures),
        };
        Ok(Self {
            module,
            abi_reason,
            deps,
            export_shim,
            abi,
            limits,
            linker,
            signatures,
            exports,
            imports,
            link_errors,
        })
    }
}

impl Host {
    /// Describes a plugin without instantiating it: its ABI, exports with signatures, and
    /// imports, each marked with whether this host can provide it.
    ///
    /// # Errors
    ///
    /// As [`Host::load_wasm`], except that unresolved imports are reported in the result.
    pub fn describe_wasm(&self, bytes: &[u8]) -> Result<PluginInfo, Error> {
        self.describe_wasm_with(bytes, &PluginOptions::default())
    }

    /// [`Host::describe_wasm`] with options: a forced ABI, an interface file, allowed
    /// namespaces.
    ///
    /// # Errors
    ///
    /// As [`Host::describe_wasm`].
    pub fn describe_wasm_with(
        &self,
        bytes: &[u8],
        options: &PluginOptions,
    ) -> Result<PluginInfo, Error> {
        let a = Analysis::new(self, bytes, &[], options)?;
        let mut exports = a.exports;
        if a.abi == Abi::Nvim {
            // An nvim plugin lists its functions when asked (`functionality`): run it, with
            // missing host functions stubbed; if it cannot run, the types are all there is.
            let mut probe = options.clone().stub_missing_imports();
            probe.abi = Some(Abi::Nvim);
            if let Ok(p) = WasmPlugin::load(self, bytes, probe) {
                exports = p.exports;
            }
        }
        Ok(PluginInfo {
            abi: a.abi,
            abi_reason: a.abi_reason,
            exports,
            imports: a.imports,
        })
    }
}

enum CallState {
    Idle,
    Ready {
        func: Func,
        params: Vec<Val>,
    },
    OutOfFuel {
        call: wasmi::ResumableCallOutOfFuel,
    },
    AwaitingHost {
        call: wasmi::ResumableCallHostTrap,
        reply: Option<Result<HostCompletion, Error>>,
    },
}

/// One loaded WebAssembly plugin.
///
/// Each plugin has its own store: no state is shared with other plugins. After a trap, running
/// out of fuel, or a failed host function, the instance's state can no longer be trusted: it is
/// dropped and a fresh instance is created before the next call.
pub(crate) struct WasmPlugin {
    name: String,
    abi: Abi,
    limits: Limits,
    module: Module,
    deps: Vec<(String, Module)>,
    export_shim: Option<Module>,
    linker: Linker<StoreData>,
    registry: Rc<Registry>,
    peers: Rc<crate::peers::Peers>,
    log: Option<LogSink>,
    wasi: WasiConfig,
    kernel: KernelConfig,
    signatures: Vec<FunctionSignature>,
    exports: Vec<ExportInfo>,
    imports: Vec<ImportInfo>,
    store: Store<StoreData>,
    instance: Option<wasmi::Instance>,
    state: CallState,
    results: Vec<Val>,
    /// Resolved exports of the current instance: the function and zeroed result slots.
    export_cache: Vec<(String, Func, Rc<[Val]>)>,
    /// When the call in flight started, for `Limits::timeout_ms` (natively).
    #[cfg(not(target_arch = "wasm32"))]
    started: Option<std::time::Instant>,
    required_fuel: u64,
    fuel_consumed: u64,
    reinstantiations: u64,
    /// Drop the instance after every call (the fixed ABI's default).
    fresh_per_call: bool,
    /// A lower fuel budget for the next calls: a call nested in another plugin's call gets
    /// no more than that call has left.
    pub(crate) fuel_cap: Option<u64>,
    /// The budget of the call in flight: `limits.fuel`, or less under `fuel_cap`.
    call_budget: u64,
}

impl fmt::Debug for WasmPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("abi", &self.abi)
            .field("exports", &self.exports)
            .finish_non_exhaustive()
    }
}

impl WasmPlugin {
    pub(crate) fn load(host: &Host, bytes: &[u8], options: PluginOptions) -> Result<Self, Error> {
        Self::load_with_deps(host, bytes, &[], options)
    }

    /// Loads a main module with named dependency modules whose exports satisfy its imports.
    pub(crate) fn load_with_deps(
        host: &Host,
        bytes: &[u8],
        deps: &[(String, Vec<u8>)],
        options: PluginOptions,
    ) -> Result<Self, Error> {
        let a = Analysis::new(host, bytes, deps, &options)?;
        if let Some(e) = a.link_errors.into_iter().next() {
            return Err(e);
        }
        let name = options.name.unwrap_or_else(|| "plugin".to_owned());
        let wasi = options.wasi.unwrap_or_else(|| host.wasi.clone());
        let store = Store::new(
            a.module.engine(),
            placeholder_data(&name, &host.registry, &a.limits),
        );
        let mut plugin = WasmPlugin {
            name,
            abi: a.abi,
            limits: a.limits,
            module: a.module,
            deps: a.deps,
            export_shim: a.export_shim,
            linker: a.linker,
            registry: host.registry.clone(),
            peers: host.peers.clone(),
            log: host.log.clone(),
            wasi,
            kernel: options.kernel.unwrap_or_default(),
            signatures: a.signatures,
            exports: a.exports,
            imports: a.imports,
            store,
            instance: None,
            state: CallState::Idle,
            results: Vec::new(),
            export_cache: Vec::new(),
            #[cfg(not(target_arch = "wasm32"))]
            started: None,
            required_fuel: 0,
            fuel_consumed: 0,
            reinstantiations: 0,
            fresh_per_call: a.abi == Abi::Fixed && !options.reuse_instance,
            fuel_cap: None,
            call_budget: 0,
        };
        plugin.instantiate()?;
        if plugin.abi == Abi::Nvim {
            // The export list is what `functionality` says, checked against the module.
            let listing = plugin
                .call_bytes(abi::nvim::FUNCTIONALITY, Vec::new())
                .map_err(|e| match e.kind() {
                    ErrorKind::Decode(d) => {
                        ErrorKind::AbiViolation(crate::error::AbiViolation::Malformed {
                            what: format!("`{}` result: {d}", abi::nvim::FUNCTIONALITY),
                        })
                        .into()
                    }
                    _ => e,
                })?;
            let json: &[u8] = if listing.is_empty() {
                b"null"
            } else {
                &listing
            };
            plugin.exports = abi::nvim::read_functionality(&plugin.module, json)?;
        }
        Ok(plugin)
    }

    /// A fresh store and instance; the old ones (and their memory) are dropped.
    fn instantiate(&mut self) -> Result<(), Error> {
        self.instance = None;
        self.export_cache.clear();
        self.state = CallState::Idle;
        let data = StoreData::new(
            self.name.clone(),
            self.registry.clone(),
            self.limits.clone(),
            wasi::WasiCtx::new(&self.wasi),
            self.log.clone(),
        );
        let mut store = Store::new(self.module.engine(), data);
        store.data_mut().peers = self.peers.clone();
        store.limiter(|d| &mut d.limiter);
        if self.abi.uses_kernel() {
            // Vars survive re-instantiation; handles and blocks do not.
            let carried = self
                .store
                .data_mut()
                .kernel
                .take()
                .map(|k| k.into_persistent());
            let k = Kernel::new(self.kernel.clone(), self.limits.memory_bytes, carried);
            store.data_mut().kernel = Some(Box::new(k));
        }
        let budget = self.limits.instantiate_fuel;
        wasm::set_fuel(&mut store, budget);
        let mut linker = self.linker.clone();
        for (name, dep) in &self.deps {
            let inst = linker
                .instantiate_and_start(&mut store, dep)
                .map_err(|e| instantiation_error(store.data_mut(), &e, budget))?;
            linker
                .instance(&mut store, name, inst)
                .map_err(|e| link_error(name, "*", &format!("cannot link module `{name}`: {e}")))?;
        }
        let instance = linker
            .instantiate_and_start(&mut store, &self.module)
            .map_err(|e| instantiation_error(store.data_mut(), &e, budget))?;
        let memory = instance.get_memory(&store, "memory");
        store.data_mut().memory = memory;
        abi::bind(self.abi, &mut store, &instance)?;
        for init in ["_initialize", "__wasm_call_ctors"] {
            if let Ok(f) = instance.get_typed_func::<(), ()>(&store, init) {
                f.call(&mut store, ())
                    .map_err(|e| wasm::map_run_error(store.data_mut(), &e, budget))?;
                break;
            }
        }
        // A JS-PDK plugin is called through its export shim, linked to the core module.
        let instance = match &self.export_shim {
            Some(shim) => {
                linker
                    .instance(&mut store, idl::shim::CORE, instance)
                    .map_err(|e| link_error(idl::shim::CORE, "*", &e.to_string()))?;
                linker
                    .instantiate_and_start(&mut store, shim)
                    .map_err(|e| instantiation_error(store.data_mut(), &e, budget))?
            }
            None => instance,
        };
        self.store = store;
        self.instance = Some(instance);
        Ok(())
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ABI the plugin speaks.
    pub fn abi(&self) -> Abi {
        self.abi
    }

    /// The functions the plugin exports, with signatures where the plugin embeds them.
    pub fn exports(&self) -> &[ExportInfo] {
        &self.exports
    }

    /// The host functions the plugin imports.
    pub fn imports(&self) -> &[ImportInfo] {
        &self.imports
    }

    /// The signature of an export, if the plugin embeds one.
    pub fn signature(&self, name: &str) -> Option<&Signature> {
        self.signatures
            .iter()
            .find(|s| s.direction == Direction::Export && s.name == name)
            .map(|s| &s.signature)
    }

    /// The limits this plugin runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Fuel used by the last call (including a failed one).
    pub fn fuel_consumed(&self) -> u64 {
        self.fuel_consumed
    }

    /// Current size of the plugin's linear memory, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store
            .data()
            .memory
            .map_or(0, |m| m.data_size(&self.store))
    }

    /// How many times the instance was re-created after a failure.
    pub fn reinstantiations(&self) -> u64 {
        self.reinstantiations
    }

    /// `true` while a call is in flight (started and not finished).
    pub fn is_busy(&self) -> bool {
        !matches!(self.state, CallState::Idle)
    }

    /// Calls `name` with an already-encoded input, returning the encoded output.
    ///
    /// # Errors
    ///
    /// As [`Plugin::call`].
    pub fn call_bytes(&mut self, name: &str, input: Vec<u8>) -> Result<Vec<u8>, Error> {
        self.start_call(name, input)?;
        #[cfg(not(target_arch = "wasm32"))]
        if self.limits.timeout_ms.is_none() {
            // Nobody can run between slices of a blocking call: run it in one go.
            return self.run_to_end();
        }
        call::run_blocking(self)
    }

    /// Starts a call: checks the export, hands the input to the plugin. Nothing runs until
    /// [`Plugin::resume`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] if a call is in flight, [`ErrorKind::InputTooLarge`],
    /// [`ErrorKind::UnknownFunction`], [`ErrorKind::SignatureMismatch`], and errors of the
    /// plugin's allocator.
    pub fn start_call(&mut self, name: &str, input: Vec<u8>) -> Result<(), Error> {
        if self.is_busy() {
            return Err(ErrorKind::Busy.into());
        }
        if input.len() > self.limits.max_input_bytes {
            return Err(ErrorKind::InputTooLarge {
                len: input.len(),
                max: self.limits.max_input_bytes,
            }
            .into());
        }
        if self.instance.is_none() {
            if !self.fresh_per_call {
                self.reinstantiations += 1;
            }
            self.instantiate()?;
        }
        let instance = self
            .instance
            .ok_or_else(|| Error::from(ErrorKind::NoCallInFlight))?;
        let data = self.store.data_mut();
        self.call_budget = self
            .fuel_cap
            .map_or(self.limits.fuel, |cap| cap.min(self.limits.fuel));
        data.fuel_reserve = self.call_budget;
        data.log_bytes = 0;
        data.limiter.denied = false;
        data.limiter.denials = 0;
        data.host_error = None;
        data.panic_message = None;
        self.fuel_consumed = 0;
        self.required_fuel = 0;
        wasm::set_fuel(&mut self.store, 0);
        let _depth = DepthGuard::enter(self.limits.max_reentrancy)?;
        // Unknown or mistyped exports leave the instance intact.
        // A plugin has few exports: a short list beats hashing the name on every call.
        let (func, results) = match self.export_cache.iter().find(|(n, ..)| n == name) {
            Some((_, func, results)) => (*func, results.clone()),
            None => {
                let func = abi::resolve_export(self.abi, &self.store, &instance, name)?;
                let results: Rc<[Val]> = func
                    .ty(&self.store)
                    .results()
                    .iter()
                    .map(|t| zero(*t))
                    .collect();
                self.export_cache
                    .push((name.to_owned(), func, results.clone()));
                (func, results)
            }
        };
        let params = if self.abi == Abi::Nvim {
            func.ty(&self.store).params().len()
        } else {
            0
        };
        match abi::prepare_input(self.abi, &mut self.store, &input, params) {
            Ok(params) => {
                self.results.clear();
                self.results.extend_from_slice(&results);
                #[cfg(not(target_arch = "wasm32"))]
                {
                    // Reading the clock costs as much as a small call: only with a deadline.
                    self.started = self.limits.timeout_ms.map(|_| std::time::Instant::now());
                }
                self.state = CallState::Ready { func, params };
                Ok(())
            }
            Err(e) => {
                // The allocator ran and failed: the instance can no longer be trusted.
                self.settle_fuel();
                self.poison();
                Err(e)
            }
        }
    }

    /// Runs the call in flight for one fuel slice.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoCallInFlight`] without a call (or with a pending host call not yet
    /// [`complete`](Plugin::complete)d); otherwise any error of a call, which ends it.
    pub fn resume(&mut self) -> Result<Step, Error> {
        let state = std::mem::replace(&mut self.state, CallState::Idle);
        if matches!(
            state,
            CallState::Idle | CallState::AwaitingHost { reply: None, .. }
        ) {
            self.state = state;
            return Err(ErrorKind::NoCallInFlight.into());
        }
        let _depth = match DepthGuard::enter(self.limits.max_reentrancy) {
            Ok(g) => g,
            Err(e) => return Err(self.fail(e)),
        };
        #[cfg(not(target_arch = "wasm32"))]
        if let (Some(ms), Some(started)) = (self.limits.timeout_ms, self.started) {
            if started.elapsed() > std::time::Duration::from_millis(ms) {
                return Err(self.fail(ErrorKind::Timeout { ms }.into()));
            }
        }
        let reserve = self.store.data().fuel_reserve;
        let give = self
            .limits
            .fuel_slice
            .max(self.required_fuel)
            .max(1)
            .min(reserve);
        self.store.data_mut().fuel_reserve = reserve - give;
        wasm::set_fuel(&mut self.store, give);
        let budget = self.call_budget;
        let outcome = match state {
            CallState::Idle => return Err(ErrorKind::NoCallInFlight.into()),
            CallState::Ready { func, params } => {
                func.call_resumable(&mut self.store, &params, &mut self.results)
            }
            CallState::OutOfFuel { call, .. } => call.resume(&mut self.store, &mut self.results),
            CallState::AwaitingHost { call, reply } => {
                let reply = match reply {
                    Some(Ok(c)) => abi::deliver_reply(self.abi, &mut self.store, c.0),
                    Some(Err(e)) => Err(e),
                    None => Err(ErrorKind::NoCallInFlight.into()),
                };
                match reply {
                    Ok(val) => call.resume(&mut self.store, val.as_slice(), &mut self.results),
                    Err(e) => return Err(self.fail(e)),
                }
            }
        };
        match outcome {
            Ok(ResumableCall::Finished) => self.finished().map(Step::Done),
            Ok(ResumableCall::OutOfFuel(call)) => {
                let required = call.required_fuel();
                if self.store.data().fuel_reserve == 0 || self.store.data().fuel_reserve < required
                {
                    self.settle_fuel();
                    return Err(self.fail(ErrorKind::OutOfFuel { budget }.into()));
                }
                self.required_fuel = required;
                self.state = CallState::OutOfFuel { call };
                self.settle_fuel();
                Ok(Step::Yielded)
            }
            Ok(ResumableCall::HostTrap(call)) => {
                self.settle_fuel();
                if call.host_error().downcast_ref::<Suspend>().is_some() {
                    if let Some(pending) = self.store.data_mut().pending.take() {
                        self.state = CallState::AwaitingHost { call, reply: None };
                        return Ok(Step::Pending(pending));
                    }
                }
                let err = wasm::map_run_error(self.store.data_mut(), call.host_error(), budget);
                Err(self.fail(err))
            }
            Err(e) => self.stopped(&e).map(Step::Done),
        }
    }

    /// Runs the started call to its end with its whole fuel budget in one engine call, awaiting
    /// async host functions where they are called: what a blocking caller gets from the slice
    /// loop, without its per-slice bookkeeping (natively only; a deadline needs the slices).
    #[cfg(not(target_arch = "wasm32"))]
    fn run_to_end(&mut self) -> Result<Vec<u8>, Error> {
        let CallState::Ready { func, params } = std::mem::replace(&mut self.state, CallState::Idle)
        else {
            return Err(ErrorKind::NoCallInFlight.into());
        };
        let _depth = match DepthGuard::enter(self.limits.max_reentrancy) {
            Ok(g) => g,
            Err(e) => return Err(self.fail(e)),
        };
        let data = self.store.data_mut();
        let fuel = std::mem::take(&mut data.fuel_reserve);
        data.inline_async = true;
        wasm::set_fuel(&mut self.store, fuel);
        let outcome = func.call(&mut self.store, &params, &mut self.results);
        self.store.data_mut().inline_async = false;
        match outcome {
            Ok(()) => self.finished(),
            Err(e) => self.stopped(&e),
        }
    }

    /// The plugin's function returned: the ABI collects the output.
    fn finished(&mut self) -> Result<Vec<u8>, Error> {
        self.settle_fuel();
        match abi::finish_call(self.abi, &mut self.store, &self.results) {
            Ok(out) => {
                self.settle_fuel();
                if self.fresh_per_call {
                    self.instance = None;
                }
                Ok(out)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The plugin stopped with an engine error: a trap, a limit, a host function's failure,
    /// or (Extism) WASI `proc_exit(0)`, which ends the call successfully.
    fn stopped(&mut self, e: &wasmi::Error) -> Result<Vec<u8>, Error> {
        self.settle_fuel();
        if self.abi.uses_kernel() && e.i32_exit_status() == Some(0) {
            let out = abi::finish_call(self.abi, &mut self.store, &[]);
            self.poison();
            return out;
        }
        let err = wasm::map_run_error(self.store.data_mut(), e, self.call_budget);
        Err(self.fail(err))
    }

    /// Hands an awaited [`PendingHostCall`](crate::PendingHostCall)'s result to the call;
    /// the next [`resume`](Plugin::resume) continues the plugin with it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoCallInFlight`] if the call is not waiting on a host function.
    pub fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error> {
        match &mut self.state {
            CallState::AwaitingHost {
                reply: slot @ None, ..
            } => {
                *slot = Some(reply);
                Ok(())
            }
            _ => Err(ErrorKind::NoCallInFlight.into()),
        }
    }

    /// Abandons the call in flight, if any; the instance is re-created before the next call.
    pub fn cancel(&mut self) {
        if self.is_busy() {
            self.poison();
        }
    }

    fn settle_fuel(&mut self) {
        let in_store = self.store.get_fuel().unwrap_or(0);
        let data = self.store.data_mut();
        data.fuel_reserve = data.fuel_reserve.saturating_add(in_store);
        wasm::set_fuel(&mut self.store, 0);
        self.fuel_consumed = self
            .call_budget
            .saturating_sub(self.store.data().fuel_reserve);
    }

    fn fail(&mut self, e: Error) -> Error {
        self.settle_fuel();
        self.poison();
        e
    }

    fn poison(&mut self) {
        self.state = CallState::Idle;
        self.instance = None;
    }
}

/// One loaded plugin of any kind: a WebAssembly module (of any wasm ABI) or a Lua script.
///
/// Each plugin has its own store or VM: no state is shared with other plugins. After a trap,
/// running out of fuel, or a failed host function, a wasm instance's state can no longer be
/// trusted: it is dropped and a fresh instance is created before the next call (a Lua VM is
/// rebuilt only after a panic or the memory cap; a Lua error leaves it consistent).
pub struct Plugin {
    engine: Engine,
}

enum Engine {
    Wasm(Box<WasmPlugin>),
    Lua(Box<LuaPlugin>),
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name())
            .field("abi", &self.abi())
            .field("exports", &self.exports())
            .finish_non_exhaustive()
    }
}

/// Typed arguments of a Lua call: a tuple or sequence spreads into the arguments, `()` is none,
/// anything else is the one argument.
fn lua_call_args<A: Serialize + ?Sized>(args: &A) -> Result<Vec<Value>, Error> {
    let json = serde_json::to_value(args).map_err(|e| {
        Error::from(ErrorKind::Encode {
            reason: e.to_string(),
        })
    })?;
    let value: Value = serde_json::from_value(json).map_err(|e| {
        Error::from(ErrorKind::Encode {
            reason: e.to_string(),
        })
    })?;
    Ok(match value {
        Value::Null => Vec::new(),
        Value::List(items) => items,
        other => vec![other],
    })
}

/// A Lua call's result as `R`.
fn lua_result<R: DeserializeOwned>(v: &Value) -> Result<R, Error> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            crate::error::DecodeError::Mismatch {
                reason: format!("the Lua result does not fit the expected type: {e}"),
            }
            .into()
        })
}

/// The Lua plugin's input: a JSON array is spread into the arguments, any other JSON value is
/// the one argument, no bytes are no arguments.
fn lua_args(input: &[u8]) -> Result<Vec<Value>, Error> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| Error::from(ErrorKind::Decode(crate::error::DecodeError::InvalidUtf8)))?;
    Ok(match Value::from_json(text)? {
        Value::List(items) => items,
        other => vec![other],
    })
}

impl Plugin {
    pub(crate) fn load(host: &Host, bytes: &[u8], options: PluginOptions) -> Result<Self, Error> {
        WasmPlugin::load(host, bytes, options).map(|p| Plugin {
            engine: Engine::Wasm(Box::new(p)),
        })
    }

    pub(crate) fn load_with_deps(
        host: &Host,
        bytes: &[u8],
        deps: &[(String, Vec<u8>)],
        options: PluginOptions,
    ) -> Result<Self, Error> {
        WasmPlugin::load_with_deps(host, bytes, deps, options).map(|p| Plugin {
            engine: Engine::Wasm(Box::new(p)),
        })
    }

    pub(crate) fn from_lua(p: LuaPlugin) -> Self {
        Plugin {
            engine: Engine::Lua(Box::new(p)),
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        match &self.engine {
            Engine::Wasm(p) => p.name(),
            Engine::Lua(p) => &p.name,
        }
    }

    /// The ABI the plugin speaks.
    pub fn abi(&self) -> Abi {
        match &self.engine {
            Engine::Wasm(p) => p.abi(),
            Engine::Lua(_) => Abi::Lua,
        }
    }

    /// Its callable functions (for Lua: the global functions its scripts define).
    pub fn exports(&self) -> &[ExportInfo] {
        match &self.engine {
            Engine::Wasm(p) => p.exports(),
            Engine::Lua(p) => p.exports(),
        }
    }

    /// Its imports (wasm only; a Lua plugin reaches host functions through tables).
    pub fn imports(&self) -> &[ImportInfo] {
        match &self.engine {
            Engine::Wasm(p) => p.imports(),
            Engine::Lua(_) => &[],
        }
    }

    /// The embedded signature of an export, if the plugin has one.
    pub fn signature(&self, name: &str) -> Option<&Signature> {
        match &self.engine {
            Engine::Wasm(p) => p.signature(name),
            Engine::Lua(_) => None,
        }
    }

    /// The limits this plugin runs under.
    pub fn limits(&self) -> &Limits {
        match &self.engine {
            Engine::Wasm(p) => p.limits(),
            Engine::Lua(p) => &p.limits,
        }
    }

    /// Fuel used by the last (or current) call.
    pub fn fuel_consumed(&self) -> u64 {
        match &self.engine {
            Engine::Wasm(p) => p.fuel_consumed(),
            Engine::Lua(p) => p.fuel_consumed,
        }
    }

    /// Bytes of memory the plugin holds now (wasm: linear memories; Lua: the VM's heap).
    pub fn memory_bytes(&self) -> usize {
        match &self.engine {
            Engine::Wasm(p) => p.memory_bytes(),
            Engine::Lua(p) => p.memory_bytes(),
        }
    }

    /// How many times the instance (or VM) was re-created after a failure.
    pub fn reinstantiations(&self) -> u64 {
        match &self.engine {
            Engine::Wasm(p) => p.reinstantiations(),
            Engine::Lua(p) => p.reinstantiations,
        }
    }

    /// Whether a call is in flight.
    pub fn is_busy(&self) -> bool {
        match &self.engine {
            Engine::Wasm(p) => p.is_busy(),
            Engine::Lua(p) => p.is_busy(),
        }
    }

    /// Calls `name` with serde-typed arguments and result, encoded as the plugin's ABI expects:
    /// bincode for the buffer ABI (several arguments as a tuple, none as `&()`); for Extism
    /// plugins a string travels as its text and anything else as JSON (extism-pdk's `String` and
    /// `Json<T>`); for Lua plugins JSON, a tuple or array spread into the arguments (pass a list
    /// as `&(list,)`). Use [`Plugin::call_bytes`] for raw bytes.
    ///
    /// # Errors
    ///
    /// Any [`ErrorKind`] of a call: limits, traps, ABI violations, decode errors, host-function
    /// failures.
    pub fn call<A: Serialize + ?Sized, R: DeserializeOwned>(
        &mut self,
        name: &str,
        args: &A,
    ) -> Result<R, Error> {
        if let Engine::Lua(_) = self.engine {
            // Values straight to Lua and back: no JSON text on the way.
            let out = self.call_value(name, lua_call_args(args)?)?;
            return lua_result(&out);
        }
        let input = abi::encode_args(self.abi(), args)?;
        let out = self.call_bytes(name, input)?;
        abi::decode_result(self.abi(), &out)
    }

    /// Like [`Plugin::call`], awaiting async host functions instead of blocking on them.
    ///
    /// # Errors
    ///
    /// As [`Plugin::call`].
    pub async fn call_async<A: Serialize + ?Sized, R: DeserializeOwned>(
        &mut self,
        name: &str,
        args: &A,
    ) -> Result<R, Error> {
        let input = abi::encode_args(self.abi(), args)?;
        self.start_call(name, input)?;
        loop {
            match self.resume()? {
                Step::Done(out) => return abi::decode_result(self.abi(), &out),
                Step::Yielded => {}
                Step::Pending(p) => {
                    let r = p.await;
                    self.complete(r)?;
                }
            }
        }
    }

    /// Calls `name` with dynamic values, one per parameter, using the plugin's embedded
    /// signature to encode them and decode the result.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Encode`] when no signature is known or the values do not fit it, then any
    /// error of a call.
    pub fn call_value(&mut self, name: &str, args: Vec<Value>) -> Result<Value, Error> {
        if let Engine::Lua(p) = &mut self.engine {
            // Lua values are self-describing: no signature, no encoding.
            let started = p.start_call(name, args);
            started.map_err(|e| self.with_exports(e))?;
            let Engine::Lua(p) = &mut self.engine else {
                return Err(ErrorKind::NoCallInFlight.into());
            };
            call::run_blocking(p.as_mut())?;
            return Ok(p.take_result().unwrap_or(Value::Null));
        }
        match self.abi() {
            // JSON under ids: one value in, one value out.
            Abi::Nvim => {
                let out = self.call_bytes(name, abi::nvim::encode_values(&args)?)?;
                return abi::nvim::decode_value(&out);
            }
            // Extism's conventions when no signature says otherwise: a string as its text,
            // bytes as themselves, anything else as JSON; the output is JSON if it parses,
            // else text, else bytes.
            Abi::Kernel | Abi::Idl if self.signature(name).is_none() => {
                let out = self.call_bytes(name, codec::extism_input(&args)?)?;
                return Ok(codec::extism_output(out));
            }
            _ => {}
        }
        self.require_function(name)?;
        let sig = self.signature(name).cloned().ok_or_else(|| {
            Error::from(ErrorKind::Encode {
                reason: format!("plugin embeds no signature for `{name}`; call it with types"),
            })
        })?;
        self.call_with_signature(name, &sig, args)
    }

    /// Calls `name` with dynamic values encoded by an explicit signature.
    ///
    /// # Errors
    ///
    /// As [`Plugin::call_value`].
    pub fn call_with_signature(
        &mut self,
        name: &str,
        sig: &Signature,
        args: Vec<Value>,
    ) -> Result<Value, Error> {
        if let Engine::Lua(_) = self.engine {
            return self.call_value(name, args);
        }
        self.require_function(name)?;
        if args.len() != sig.params.len() {
            return Err(ErrorKind::Encode {
                reason: format!(
                    "`{name}` takes {} arguments, {} given",
                    sig.params.len(),
                    args.len()
                ),
            }
            .into());
        }
        let args = match args.len() {
            0 => Value::Null,
            1 => args.into_iter().next().unwrap_or(Value::Null),
            _ => Value::List(args),
        };
        let mut input = Vec::new();
        codec::encode_value(&args, &sig.args_type(), &mut input)?;
        let out = self.call_bytes(name, input)?;
        codec::decode_value(&out, &sig.returns)
    }

    /// Calls `name` with one input value, as a JS caller or a command line gives it, however
    /// the plugin's ABI takes it: see [`Plugin::encode_input`] and [`Plugin::decode_output`].
    ///
    /// # Errors
    ///
    /// As [`Plugin::encode_input`], then any error of a call.
    pub fn call_input(
        &mut self,
        name: &str,
        input: &Value,
        signature: Option<&Signature>,
    ) -> Result<Value, Error> {
        self.start_call_input(name, input, signature)?;
        let out = call::run_blocking(self)?;
        self.decode_output(name, out, signature)
    }

    /// [`Plugin::start_call`] with one input value, as [`Plugin::call_input`] takes it (Lua
    /// plugins get the values themselves, so bytes stay bytes); finish with
    /// [`Plugin::decode_output`].
    ///
    /// # Errors
    ///
    /// As [`Plugin::encode_input`] and [`Plugin::start_call`].
    pub fn start_call_input(
        &mut self,
        name: &str,
        input: &Value,
        signature: Option<&Signature>,
    ) -> Result<(), Error> {
        if let Engine::Lua(p) = &mut self.engine {
            let args = match input {
                Value::Null => Vec::new(),
                Value::List(items) => items.clone(),
                other => vec![other.clone()],
            };
            let started = p.start_call(name, args);
            return started.map_err(|e| self.with_exports(e));
        }
        let bytes = self.encode_input(name, input, signature)?;
        self.start_call(name, bytes)
    }

    /// Encodes one input value for [`Plugin::start_call`]/[`Plugin::call_bytes`]:
    ///
    /// - Lua: a list is spread into the arguments, null is none, anything else the one argument;
    /// - nvim: the one JSON value (null: none);
    /// - Extism (kernel, idl): a string as its text, bytes as themselves, null as nothing,
    ///   anything else as JSON;
    /// - bincode ABIs (buffer, fixed): by `signature` or the plugin's embedded one: the value
    ///   itself for one parameter, a list of them for several, null for none.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Encode`] when a bincode plugin has no signature for `name` or the value does
    /// not fit it.
    pub fn encode_input(
        &self,
        name: &str,
        input: &Value,
        signature: Option<&Signature>,
    ) -> Result<Vec<u8>, Error> {
        match self.abi() {
            Abi::Lua => Ok(match input {
                Value::Null => Vec::new(),
                other => other.to_json().into_bytes(),
            }),
            Abi::Nvim => abi::nvim::encode_values(std::slice::from_ref(input)),
            Abi::Kernel | Abi::Idl => codec::extism_input(std::slice::from_ref(input)),
            Abi::Buffer | Abi::Fixed => {
                self.require_function(name)?;
                let sig = self.bincode_signature(name, signature)?;
                let fits = match (sig.params.len(), input) {
                    (0, Value::Null) | (1, _) => true,
                    (n, Value::List(items)) => items.len() == n,
                    _ => false,
                };
                if !fits {
                    return Err(ErrorKind::Encode {
                        reason: format!(
                            "`{name}` takes {} arguments: pass {}",
                            sig.params.len(),
                            if sig.params.is_empty() {
                                "nothing".to_owned()
                            } else {
                                format!("a list of {}", sig.params.len())
                            }
                        ),
                    }
                    .into());
                }
                let mut out = Vec::new();
                codec::encode_value(input, &sig.args_type(), &mut out)?;
                Ok(out)
            }
        }
    }

    /// Decodes the output of a finished call of `name` (what [`Step::Done`] carried) as a
    /// value, the inverse of [`Plugin::encode_input`]: Extism output is JSON if it parses, else
    /// text, else bytes; nothing is null.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`] if the output does not decode.
    pub fn decode_output(
        &mut self,
        name: &str,
        out: Vec<u8>,
        signature: Option<&Signature>,
    ) -> Result<Value, Error> {
        match self.abi() {
            Abi::Lua => match &mut self.engine {
                Engine::Lua(p) => match p.take_result() {
                    Some(v) => Ok(v),
                    None => abi::nvim::decode_value(&out),
                },
                Engine::Wasm(_) => Err(ErrorKind::NoCallInFlight.into()),
            },
            Abi::Nvim => abi::nvim::decode_value(&out),
            Abi::Kernel | Abi::Idl => Ok(codec::extism_output(out)),
            Abi::Buffer | Abi::Fixed => {
                let sig = self.bincode_signature(name, signature)?;
                codec::decode_value(&out, &sig.returns)
            }
        }
    }

    fn bincode_signature(&self, name: &str, given: Option<&Signature>) -> Result<Signature, Error> {
        given
            .or_else(|| self.signature(name))
            .cloned()
            .ok_or_else(|| {
                ErrorKind::Encode {
                    reason: format!(
                        "plugin embeds no signature for `{name}`: give its types, e.g. \"(u32, String) -> Vec<u8>\""
                    ),
                }
                .into()
            })
    }

    /// Calls `name` with an already-encoded input, returning the encoded output (for Lua
    /// plugins: JSON, see [`Plugin::call`]).
    ///
    /// # Errors
    ///
    /// As [`Plugin::call`].
    pub fn call_bytes(&mut self, name: &str, input: Vec<u8>) -> Result<Vec<u8>, Error> {
        if let Engine::Wasm(p) = &mut self.engine {
            return p.call_bytes(name, input).map_err(|e| self.with_exports(e));
        }
        self.start_call(name, input)?;
        call::run_blocking(self)
    }

    /// An [`ErrorKind::UnknownFunction`] from the engine, with the plugin's functions listed.
    fn with_exports(&self, e: Error) -> Error {
        match e.kind() {
            ErrorKind::UnknownFunction { name, exports } if exports.is_empty() => {
                self.unknown_function(name)
            }
            _ => e,
        }
    }

    fn unknown_function(&self, name: &str) -> Error {
        ErrorKind::UnknownFunction {
            name: name.to_owned(),
            exports: self.exports().iter().map(|e| e.name.clone()).collect(),
        }
        .into()
    }

    /// [`ErrorKind::UnknownFunction`] unless `name` is one of the plugin's functions (wasm
    /// plugins: their exports are fixed at load; a Lua plugin's are looked up when called).
    fn require_function(&self, name: &str) -> Result<(), Error> {
        if matches!(self.engine, Engine::Lua(_)) || self.exports().iter().any(|e| e.name == name) {
            return Ok(());
        }
        Err(self.unknown_function(name))
    }

    /// Starts a call: checks the export, hands the input to the plugin. Nothing runs until
    /// [`Plugin::resume`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] if a call is in flight, [`ErrorKind::InputTooLarge`],
    /// [`ErrorKind::UnknownFunction`], [`ErrorKind::SignatureMismatch`], and errors of the
    /// plugin's allocator.
    pub fn start_call(&mut self, name: &str, input: Vec<u8>) -> Result<(), Error> {
        let started = self.start_engine_call(name, input);
        started.map_err(|e| self.with_exports(e))
    }

    fn start_engine_call(&mut self, name: &str, input: Vec<u8>) -> Result<(), Error> {
        match &mut self.engine {
            Engine::Wasm(p) => p.start_call(name, input),
            Engine::Lua(p) => {
                if input.len() > p.limits.max_input_bytes {
                    return Err(ErrorKind::InputTooLarge {
                        len: input.len(),
                        max: p.limits.max_input_bytes,
                    }
                    .into());
                }
                let args = lua_args(&input)?;
                p.start_call(name, args)
            }
        }
    }

    /// Runs the call in flight for one fuel slice.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoCallInFlight`] without a call (or with a pending host call not yet
    /// [`complete`](Plugin::complete)d); otherwise any error of a call, which ends it.
    pub fn resume(&mut self) -> Result<Step, Error> {
        match &mut self.engine {
            Engine::Wasm(p) => p.resume(),
            Engine::Lua(p) => p.resume(),
        }
    }

    /// Hands an awaited [`PendingHostCall`](crate::PendingHostCall)'s result to the call;
    /// the next [`resume`](Plugin::resume) continues the plugin with it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NoCallInFlight`] if the call is not waiting on a host function.
    pub fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error> {
        match &mut self.engine {
            Engine::Wasm(p) => p.complete(reply),
            Engine::Lua(p) => p.complete(reply),
        }
    }

    /// Abandons the call in flight, if any; the instance is re-created before the next call.
    pub fn cancel(&mut self) {
        match &mut self.engine {
            Engine::Wasm(p) => p.cancel(),
            Engine::Lua(p) => p.cancel(),
        }
    }

    /// Caps the fuel of the next calls below the plugin's own budget (`None`: no cap).
    pub(crate) fn set_fuel_cap(&mut self, cap: Option<u64>) {
        match &mut self.engine {
            Engine::Wasm(p) => p.fuel_cap = cap,
            Engine::Lua(p) => p.fuel_cap = cap,
        }
    }

    /// Runs Lua source in this Lua plugin's VM (its globals, sandbox and limits).
    pub(crate) fn run_lua(
        &mut self,
        source: &[u8],
        chunk: crate::peers::Chunk,
    ) -> Result<Value, Error> {
        let Engine::Lua(p) = &mut self.engine else {
            return Err(ErrorKind::Peer {
                plugin: self.name().to_owned(),
                reason: "not a Lua plugin".into(),
            }
            .into());
        };
        p.start_chunk(source, chunk)?;
        call::run_blocking(p.as_mut())?;
        Ok(p.take_result().unwrap_or(Value::Null))
    }
}

impl call::Resumable for WasmPlugin {
    fn resume(&mut self) -> Result<Step, Error> {
        WasmPlugin::resume(self)
    }

    fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error> {
        WasmPlugin::complete(self, reply)
    }
}

impl call::Resumable for Plugin {
    fn resume(&mut self) -> Result<Step, Error> {
        Plugin::resume(self)
    }

    fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error> {
        Plugin::complete(self, reply)
    }
}

/// The zero value of a type, for result slots.
fn zero(ty: wasmi::ValType) -> Val {
    match ty {
        wasmi::ValType::I64 => Val::I64(0),
        wasmi::ValType::F32 => Val::F32(0.0f32.into()),
        wasmi::ValType::F64 => Val::F64(0.0f64.into()),
        _ => Val::I32(0),
    }
}

pub(crate) fn compile(engine: &wasmi::Engine, bytes: &[u8]) -> Result<Module, Error> {
    // A component-model binary has the core magic with layer 1 in its version field.
    if bytes.len() >= 8 && bytes.starts_with(b"\0asm") && bytes.get(6..8) == Some(&[1, 0]) {
        return Err(ErrorKind::InvalidModule {
            reason: "component model binaries are not supported; use a core wasm module".into(),
        }
        .into());
    }
    empty_code_section_with_bytes(bytes)?;
    // Defence in depth: a panic inside wasmi's parser is an invalid module, not a host crash
    // (natively; on wasm32 a panic aborts, so the checks above must catch what we know of).
    let parsed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Module::new(engine, bytes)));
    match parsed {
        Ok(Ok(module)) => Ok(module),
        Ok(Err(e)) => Err(ErrorKind::InvalidModule {
            reason: e.to_string(),
        }
        .into()),
        Err(panic) => Err(ErrorKind::InvalidModule {
            reason: format!(
                "the module crashed the parser: {}",
                crate::host::panic_message(&panic)
            ),
        }
        .into()),
    }
}

/// wasmi 2.0 divides by a code section's function count when it checks the average function
/// size, so a code section that declares no functions but holds bytes panics its parser
/// (found by the `module_load` fuzz target). Such a section is malformed anyway: it is
/// rejected here, before wasmi sees it. Anything this walk cannot read is left to wasmi.
fn empty_code_section_with_bytes(bytes: &[u8]) -> Result<(), Error> {
    fn leb(bytes: &[u8], at: &mut usize) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            let b = *bytes.get(*at)?;
            *at += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut at = 8;
    while at < bytes.len() {
        let id = bytes[at];
        at += 1;
        let Some(size) = leb(bytes, &mut at) else {
            return Ok(());
        };
        // In u64: a declared size past usize (wasm32) must be judged as on 64-bit hosts.
        let end = u64::try_from(at).unwrap_or(u64::MAX).saturating_add(size);
        if id == 10 {
            let mut body = at;
            let count = leb(bytes, &mut body);
            let body = u64::try_from(body).unwrap_or(u64::MAX);
            if count == Some(0) && end > body {
                return Err(ErrorKind::InvalidModule {
                    reason: format!(
                        "the code section declares no functions but holds {} more bytes",
                        end - body
                    ),
                }
                .into());
            }
        }
        let Ok(end) = usize::try_from(end) else {
            return Ok(());
        };
        at = end;
    }
    Ok(())
}

fn read_signatures(module: &Module) -> Result<Vec<FunctionSignature>, Error> {
    let mut out = Vec::new();
    for section in module.custom_sections() {
        if section.name() == SIGNATURE_SECTION {
            out.extend(
                FunctionSignature::parse_section(section.data()).map_err(|e| {
                    Error::from(ErrorKind::InvalidModule {
                        reason: format!("bad {SIGNATURE_SECTION} section: {e}"),
                    })
                })?,
            );
        }
    }
    Ok(out)
}

fn instantiation_error(data: &mut StoreData, e: &wasmi::Error, budget: u64) -> Error {
    if data.limiter.denied {
        return ErrorKind::MemoryLimit {
            cap: data.limiter.memory_cap,
        }
        .into();
    }
    if e.as_trap_code().is_some() || data.host_error.is_some() || e.i32_exit_status().is_some() {
        return wasm::map_run_error(data, e, budget);
    }
    ErrorKind::InvalidModule {
        reason: format!("instantiation failed: {e}"),
    }
    .into()
}

fn placeholder_data(name: &str, registry: &Rc<Registry>, limits: &Limits) -> StoreData {
    StoreData::new(
        name.to_owned(),
        registry.clone(),
        limits.clone(),
        wasi::WasiCtx::new(&WasiConfig::default()),
        None,
    )
}

pub(crate) fn link_error(module: &str, name: &str, reason: &str) -> Error {
    ErrorKind::LinkError {
        module: module.to_owned(),
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
    .into()
}

/// A stand-in for a missing host function: fails the call when the plugin reaches it.
fn link_stub(
    linker: &mut Linker<StoreData>,
    module: &str,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    let (m, n) = (module.to_owned(), name.to_owned());
    linker
        .func_new(module, name, ty.clone(), move |mut caller, _, _| {
            let err = ErrorKind::HostFunction {
                namespace: m.clone(),
                name: n.clone(),
                reason: crate::error::HostFunctionFailure::Failed(
                    "not provided by this host".into(),
                ),
            };
            Err(wasm::abort_with(caller.data_mut(), err.into()))
        })
        .map_err(|e| link_error(module, name, &e.to_string()))?;
    Ok(())
}

fn link_panic(linker: &mut Linker<StoreData>, ty: &wasmi::FuncType) -> Result<(), Error> {
    use wasmi::ValType::I32;
    if ty.params() != [I32, I32] || !ty.results().is_empty() {
        return Err(link_error(
            PLUGBOARD_MODULE,
            PANIC_IMPORT,
            "expected type (i32, i32) -> ()",
        ));
    }
    linker
        .func_wrap(
            PLUGBOARD_MODULE,
            PANIC_IMPORT,
            |mut caller: wasmi::Caller<'_, StoreData>, ptr: i32, len: i32| {
                // Best effort: a bad range just leaves the message out; cap it at 4 KiB.
                let len = (len as u32).min(4096);
                if let Ok(bytes) = wasm::read_guest(&caller, u64::from(ptr as u32), u64::from(len))
                {
                    let msg = String::from_utf8_lossy(&bytes).into_owned();
                    caller.data_mut().panic_message = Some(msg);
                }
            },
        )
        .map_err(|e| link_error(PLUGBOARD_MODULE, PANIC_IMPORT, &e.to_string()))?;
    Ok(())
}
