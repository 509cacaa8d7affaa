//! Lua plugins on piccolo 0.3.3 (docs/abis.md §6, RELIABILITY.md §4.2).
//!
//! One VM per plugin, built from `Lua::empty()`: piccolo's base, coroutine and math libraries,
//! then ours ([`stdlib`]): the string, table, utf8 and os libraries and the base functions
//! piccolo lacks, each charging fuel for its work and checking sizes before allocating. Host
//! functions appear in namespace tables (`math.add`), merged into a library table of the same
//! name. Calls run on the shared state machine: `Executor::step` in fuel slices, the memory cap
//! checked between slices, a host function that is not ready suspends the call
//! ([`Step::Pending`](crate::Step::Pending)) and the plugin simply sees its return value.
//! Natively every step runs under `catch_unwind`: a VM panic drops that plugin's VM (it is
//! rebuilt from its sources before the next call) and becomes [`ErrorKind::EnginePanic`].

pub(crate) mod close;
pub(crate) mod compile;
pub(crate) mod convert;
pub(crate) mod coroutine;
pub(crate) mod debug;
pub(crate) mod format;
pub(crate) mod io;
pub(crate) mod lex;
pub(crate) mod load;
pub(crate) mod lower;
pub(crate) mod manager;
pub(crate) mod method;
pub(crate) mod pack;
pub(crate) mod package;
pub(crate) mod parse;
pub(crate) mod pattern;
pub(crate) mod scan;
pub(crate) mod stdlib;
pub(crate) mod string;

use crate::call::{HostCompletion, PendingHostCall, Step};
use crate::error::{Error, ErrorKind};
use crate::host::{LogSink, Registry, Reply};
use crate::limits::Limits;
use crate::value::Value;
use piccolo::{
    Callback, CallbackReturn, Context, Executor, Fuel, Lua, Sequence, SequencePoll,
    StashedExecutor, Table, Value as LuaValue, Variadic,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

/// The entry file of a plugin folder.
pub const ENTRY: &str = "main.lua";
/// Fuel per `Executor::step` at most: the memory cap is checked between steps, so a slice is
/// kept small (piccolo checks fuel every 64 VM instructions).
const MAX_LUA_SLICE: u64 = 16 * 1024;

/// A host function that knows which plugin called it (the plugin_lua manager's `handle`).
pub(crate) type PluginFn = dyn Fn(&str, Vec<Value>) -> Result<Value, String>;

/// A plugin-aware host function in a namespace table.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) f: Rc<PluginFn>,
}

/// What the callbacks of one VM share with the driver.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) plugin: String,
    pub(crate) log: Option<LogSink>,
    /// An async host function's future, handed out as `Step::Pending`.
    pub(crate) pending: RefCell<Option<PendingHostCall>>,
    /// Its result, delivered by `complete`.
    pub(crate) reply: RefCell<Option<Result<Value, Error>>>,
    /// The functions lowered operators call ([`lower::HELPERS`]), set by [`stdlib::install`].
    pub(crate) helpers: RefCell<Option<piccolo::StashedTable>>,
    /// The plugin's files, compiled, for `require`.
    pub(crate) files: Rc<BTreeMap<String, Rc<compile::Compiled>>>,
    pub(crate) limits: Limits,
    /// Bytes printed in the current call (bounded by `max_log_bytes`).
    pub(crate) log_bytes: RefCell<usize>,
    /// The host's clock and random seed (`os.time`, `os.date`, `os.clock`, `math.random`).
    pub(crate) env: crate::wasm::wasi::WasiConfig,
    /// Fuel of the call beyond the slice running now: with the slice's remaining fuel, what
    /// a call into another plugin may use.
    pub(crate) fuel_beyond_slice: std::cell::Cell<u64>,
    /// Set when a host call found the call's fuel spent: the call ends as out of fuel after
    /// this slice, whatever the plugin's `pcall` does with the error it was given.
    pub(crate) starved: std::cell::Cell<bool>,
}

/// Charges a host call from Lua before it runs, as wasm plugins are charged (HFN-09, RES-10):
/// a fixed cost plus one unit per 8 bytes of arguments (as JSON). When the call's fuel cannot
/// pay, the host function is not run and the call ends as out of fuel.
fn charge_host_call(
    fuel: &mut piccolo::Fuel,
    shared: &Shared,
    args: &[Value],
) -> Result<(), piccolo::RuntimeError> {
    let arg_bytes: usize = args.iter().map(|v| v.to_json().len()).sum();
    let cost = crate::wasm::HOST_CALL_FUEL.saturating_add(arg_bytes as u64 / 8);
    let available = shared
        .fuel_beyond_slice
        .get()
        .saturating_add(fuel.remaining().max(0) as u64);
    if cost > available {
        shared.starved.set(true);
        fuel.interrupt();
        let budget = shared.limits.fuel;
        return Err(anyhow_error(ErrorKind::OutOfFuel { budget }.into()));
    }
    // Past the slice's own fuel, the rest comes from the call's remaining budget.
    let in_slice = i32::try_from(cost).unwrap_or(i32::MAX);
    fuel.consume(in_slice);
    Ok(())
}

struct Vm {
    lua: Lua,
    shared: Rc<Shared>,
}

struct Running {
    executor: StashedExecutor,
    fuel_left: u64,
    budget: u64,
    #[cfg(not(target_arch = "wasm32"))]
    started: Option<std::time::Instant>,
    awaiting: bool,
}

/// One loaded Lua plugin.
pub(crate) struct LuaPlugin {
    pub(crate) name: String,
    files: Rc<BTreeMap<String, Rc<compile::Compiled>>>,
    registry: Rc<Registry>,
    allow: Option<Vec<String>>,
    handles: Rc<[Handle]>,
    pub(crate) limits: Limits,
    log: Option<LogSink>,
    env: crate::wasm::wasi::WasiConfig,
    vm: Option<Vm>,
    running: Option<Running>,
    pub(crate) fuel_consumed: u64,
    pub(crate) reinstantiations: u64,
    /// A lower fuel budget for the next calls (a call nested in another plugin's call).
    pub(crate) fuel_cap: Option<u64>,
    peers: Rc<crate::peers::Peers>,
    exports: Vec<crate::plugin::ExportInfo>,
    /// The last call's result as a value (its JSON is what `Step::Done` carries).
    result: Option<Value>,
    /// Set while `main.lua` runs in a fresh VM: its exports are known when it ends.
    main: Option<MainChunk>,
}

/// A fresh VM's `main.lua` in flight.
struct MainChunk {
    /// Globals the libraries define (not the plugin's exports).
    library: Vec<String>,
    /// The call that asked for the VM (rebuilt after a cancel or a failure), started when
    /// `main.lua` has run.
    then: Option<(String, Vec<Value>)>,
}

/// Everything needed to build a plugin's VM.
pub(crate) struct LuaSource {
    pub(crate) name: String,
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    pub(crate) registry: Rc<Registry>,
    pub(crate) allow: Option<Vec<String>>,
    pub(crate) handles: Rc<[Handle]>,
    pub(crate) limits: Limits,
    pub(crate) log: Option<LogSink>,
    pub(crate) env: crate::wasm::wasi::WasiConfig,
    pub(crate) peers: Rc<crate::peers::Peers>,
}

impl LuaPlugin {
    /// Checks the sources, builds the VM and runs `main.lua`. Errors name the plugin.
    pub(crate) fn load(src: LuaSource) -> Result<Self, Error> {
        let name = src.name.clone();
        Self::prepare(src)
            .and_then(|mut p| p.instantiate().map(|()| p))
            .map_err(|e| e.in_plugin(&name))
    }

    /// Checks the sources and builds the VM with `main.lua` started, not run: the plugin is
    /// busy with it until [`resume`](LuaPlugin::resume) returns `Done` (so `main.lua` may
    /// await an async host function where the embedder cannot block). Errors name the plugin.
    pub(crate) fn start_load(src: LuaSource) -> Result<Self, Error> {
        let name = src.name.clone();
        Self::prepare(src)
            .and_then(|mut p| p.start_main(None).map(|()| p))
            .map_err(|e| e.in_plugin(&name))
    }

    fn prepare(src: LuaSource) -> Result<Self, Error> {
        if !src.files.contains_key(ENTRY) {
            return Err(ErrorKind::LuaSyntax {
                plugin: String::new(),
                file: ENTRY.to_owned(),
                line: None,
                message: format!(
                    "plugin `{}` has no {ENTRY} (files: {})",
                    src.name,
                    src.files.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            }
            .into());
        }
        let total: usize = src.files.values().map(Vec::len).sum();
        if total > src.limits.max_module_bytes {
            return Err(ErrorKind::ModuleTooLarge {
                len: total,
                max: src.limits.max_module_bytes,
            }
            .into());
        }
        // Each file's compile, and what the files before it keep, count against the cap.
        let mut files = BTreeMap::new();
        let mut kept = 0u64;
        for (file, text) in src.files {
            let compiled = compile::compile(&file, &text, src.limits.memory_bytes, kept)?;
            kept = kept.saturating_add(compiled.kept());
            files.insert(file, Rc::new(compiled));
        }
        Ok(LuaPlugin {
            name: src.name,
            files: Rc::new(files),
            registry: src.registry,
            allow: src.allow,
            handles: src.handles,
            limits: src.limits,
            log: src.log,
            env: src.env,
            vm: None,
            running: None,
            fuel_consumed: 0,
            reinstantiations: 0,
            fuel_cap: None,
            peers: src.peers,
            exports: Vec::new(),
            result: None,
            main: None,
        })
    }

    /// Global functions defined by the plugin (not the libraries), sorted.
    pub(crate) fn exports(&self) -> &[crate::plugin::ExportInfo] {
        &self.exports
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.vm.as_ref().map_or(0, |vm| vm.lua.total_memory())
    }

    pub(crate) fn is_busy(&self) -> bool {
        self.running.is_some()
    }

    /// A fresh VM with the libraries, the host functions and `main.lua` run (a host function
    /// it awaits is awaited here).
    fn instantiate(&mut self) -> Result<(), Error> {
        self.start_main(None)?;
        crate::call::run_blocking(self).map(drop)
    }

    /// A fresh VM with the libraries and the host functions, and `main.lua` started; `then`
    /// is the call to start when it has run.
    fn start_main(&mut self, then: Option<(String, Vec<Value>)>) -> Result<(), Error> {
        self.vm = None;
        self.running = None;
        self.main = None;
        let shared = Rc::new(Shared {
            plugin: self.name.clone(),
            log: self.log.clone(),
            files: self.files.clone(),
            limits: self.limits.clone(),
            env: self.env.clone(),
            ..Shared::default()
        });
        let lua = guarded(|| {
            let mut lua = Lua::empty();
            let library = lua.enter(|ctx| -> Result<Vec<String>, Error> {
                piccolo::stdlib::load_base(ctx);
                piccolo::stdlib::load_coroutine(ctx);
                piccolo::stdlib::load_math(ctx);
                stdlib::install(ctx, &shared);
                install_host_functions(
                    ctx,
                    &self.registry,
                    self.allow.as_deref(),
                    &self.handles,
                    &shared,
                )?;
                install_plugins_table(ctx, &self.peers, &shared)?;
                Ok(global_names(ctx.globals()))
            })?;
            Ok((lua, library))
        })?;
        let (lua, library) = lua;
        let mut vm = Vm { lua, shared };
        let entry = self.files.get(ENTRY).cloned();
        let executor = guarded(|| {
            vm.lua.enter(|ctx| {
                let entry = entry.ok_or(ErrorKind::NoCallInFlight)?;
                let closure = entry.closure(ctx, helpers(ctx, &vm.shared))?;
                Ok::<_, Error>(ctx.stash(Executor::start(ctx, closure.into(), ())))
            })
        })?;
        self.vm = Some(vm);
        self.running = Some(Running {
            executor,
            fuel_left: self.limits.instantiate_fuel,
            budget: self.limits.instantiate_fuel,
            #[cfg(not(target_arch = "wasm32"))]
            started: None,
            awaiting: false,
        });
        self.main = Some(MainChunk { library, then });
        Ok(())
    }

    /// `main.lua` has run: the plugin's exports are the global functions it defined.
    fn main_ran(&mut self, library: &[String]) {
        if let Some(vm) = self.vm.as_mut() {
            let mut names = vm.lua.enter(|ctx| global_functions(ctx.globals()));
            names.retain(|n| !library.contains(n));
            self.exports = names
                .into_iter()
                .map(|name| crate::plugin::ExportInfo {
                    name,
                    signature: None,
                })
                .collect();
        }
    }

    /// Starts a call of the global function `name` with `args`.
    pub(crate) fn start_call(&mut self, name: &str, args: Vec<Value>) -> Result<(), Error> {
        self.start_call_unnamed(name, args)
            .map_err(|e| e.in_plugin(&self.name))
    }

    fn start_call_unnamed(&mut self, name: &str, args: Vec<Value>) -> Result<(), Error> {
        if self.running.is_some() {
            return Err(ErrorKind::Busy.into());
        }
        if self.vm.is_none() {
            // A fresh VM runs `main.lua` first, as part of this call (it may await).
            self.reinstantiations += 1;
            return self.start_main(Some((name.to_owned(), args)));
        }
        let vm = self.vm.as_mut().ok_or(ErrorKind::NoCallInFlight)?;
        *vm.shared.log_bytes.borrow_mut() = 0;
        let executor = vm.lua.enter(|ctx| -> Result<StashedExecutor, Error> {
            let f = match ctx.get_global(ctx.intern(name.as_bytes())) {
                LuaValue::Function(f) => f,
                _ => {
                    return Err(ErrorKind::UnknownFunction {
                        name: name.to_owned(),
                        exports: Vec::new(),
                    }
                    .into())
                }
            };
            let mut values = Vec::with_capacity(args.len());
            for a in &args {
                values.push(convert::from_value(ctx, a)?);
            }
            Ok(ctx.stash(Executor::start(ctx, f, Variadic(values))))
        })?;
        self.start_running(executor);
        Ok(())
    }

    /// The call's budget: the plugin's, or less under a cap.
    fn budget(&self) -> u64 {
        self.fuel_cap
            .map_or(self.limits.fuel, |cap| cap.min(self.limits.fuel))
    }

    fn start_running(&mut self, executor: StashedExecutor) {
        self.fuel_consumed = 0;
        let budget = self.budget();
        self.running = Some(Running {
            executor,
            fuel_left: budget,
            budget,
            #[cfg(not(target_arch = "wasm32"))]
            started: self.limits.timeout_ms.map(|_| std::time::Instant::now()),
            awaiting: false,
        });
    }

    /// Starts running Lua source in the plugin's globals (`lua_exec`/`lua_eval` of nvim
    /// plugins), checked and rewritten like the plugin's own files. For
    /// [`Chunk::Eval`](crate::peers::Chunk::Eval) the source is first tried as an expression.
    pub(crate) fn start_chunk(
        &mut self,
        source: &[u8],
        chunk: crate::peers::Chunk,
    ) -> Result<(), Error> {
        self.start_chunk_unnamed(source, chunk)
            .map_err(|e| e.in_plugin(&self.name))
    }

    fn start_chunk_unnamed(
        &mut self,
        source: &[u8],
        chunk: crate::peers::Chunk,
    ) -> Result<(), Error> {
        const FILE: &str = "=lua_eval";
        if self.running.is_some() {
            return Err(ErrorKind::Busy.into());
        }
        if source.len() > self.limits.max_input_bytes {
            return Err(ErrorKind::InputTooLarge {
                len: source.len(),
                max: self.limits.max_input_bytes,
            }
            .into());
        }
        if self.vm.is_none() {
            self.reinstantiations += 1;
            self.instantiate()?;
        }
        let vm = self.vm.as_mut().ok_or(ErrorKind::NoCallInFlight)?;
        *vm.shared.log_bytes.borrow_mut() = 0;
        let shared = vm.shared.clone();
        let compile = |lua: &mut Lua, text: &[u8]| -> Result<StashedExecutor, Error> {
            let compiled = compile::compile(FILE, text, shared.limits.memory_bytes, 0)?;
            guarded(|| {
                lua.enter(|ctx| {
                    let closure = compiled.closure(ctx, helpers(ctx, &shared))?;
                    Ok(ctx.stash(Executor::start(ctx, closure.into(), ())))
                })
            })
        };
        let as_expression = match chunk {
            crate::peers::Chunk::Eval => compile(&mut vm.lua, &[b"return ", source].concat()).ok(),
            crate::peers::Chunk::Exec => None,
        };
        let executor = match as_expression {
            Some(e) => e,
            None => compile(&mut vm.lua, source)?,
        };
        self.start_running(executor);
        Ok(())
    }

    /// Runs one slice. `Done` carries the JSON of the result (one value as itself, several as
    /// an array, none as `null`).
    pub(crate) fn resume(&mut self) -> Result<Step, Error> {
        match &self.running {
            None => return Err(ErrorKind::NoCallInFlight.into()),
            Some(r) if r.awaiting => return Err(ErrorKind::NoCallInFlight.into()),
            Some(_) => {}
        }
        self.step()
    }

    /// Runs one slice of the executor in flight; errors name the plugin.
    fn step(&mut self) -> Result<Step, Error> {
        self.step_unnamed().map_err(|e| e.in_plugin(&self.name))
    }

    fn step_unnamed(&mut self) -> Result<Step, Error> {
        // Plugin → host → plugin nesting is bounded across engines (CON-01).
        let _depth = match crate::call::DepthGuard::enter(self.limits.max_reentrancy) {
            Ok(g) => g,
            Err(e) => return Err(self.fail(e, false)),
        };
        let (Some(vm), Some(run)) = (self.vm.as_mut(), self.running.as_mut()) else {
            return Err(ErrorKind::NoCallInFlight.into());
        };
        #[cfg(not(target_arch = "wasm32"))]
        if let (Some(ms), Some(started)) = (self.limits.timeout_ms, run.started) {
            if started.elapsed() > std::time::Duration::from_millis(ms) {
                return Err(self.fail(ErrorKind::Timeout { ms }.into(), false));
            }
        }
        let slice = self
            .limits
            .fuel_slice
            .clamp(1, MAX_LUA_SLICE)
            .min(run.fuel_left.max(1));
        vm.shared.fuel_beyond_slice.set(run.fuel_left - slice);
        vm.shared.starved.set(false);
        let mut fuel = Fuel::with(i32::try_from(slice).unwrap_or(i32::MAX));
        let executor = &run.executor;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            vm.lua.enter(|ctx| ctx.fetch(executor).step(ctx, &mut fuel))
        }));
        let used = (slice as i64 - i64::from(fuel.remaining())).max(0) as u64;
        run.fuel_left = run.fuel_left.saturating_sub(used);
        self.fuel_consumed = self.fuel_consumed.saturating_add(used);
        let finished = match outcome {
            Ok(f) => f,
            Err(panic) => {
                let message = crate::host::panic_message(&panic);
                return Err(self.fail(ErrorKind::EnginePanic { message }.into(), true));
            }
        };
        if vm.shared.starved.get() {
            let budget = run.budget;
            return Err(self.fail(ErrorKind::OutOfFuel { budget }.into(), false));
        }
        if vm.lua.total_memory() > self.limits.memory_bytes {
            let cap = self.limits.memory_bytes;
            return Err(self.fail(ErrorKind::MemoryLimit { cap }.into(), true));
        }
        if let Some(p) = vm.shared.pending.borrow_mut().take() {
            run.awaiting = true;
            return Ok(Step::Pending(p));
        }
        if finished {
            let executor = &run.executor;
            let result = vm.lua.enter(|ctx| -> Result<Value, Error> {
                match ctx
                    .fetch(executor)
                    .take_result::<Variadic<Vec<LuaValue>>>(ctx)
                {
                    Ok(Ok(values)) => {
                        let mut out = Vec::with_capacity(values.len());
                        for v in values.0 {
                            out.push(convert::to_value(v)?);
                        }
                        Ok(match out.len() {
                            0 => Value::Null,
                            1 => out.pop().unwrap_or(Value::Null),
                            _ => Value::List(out),
                        })
                    }
                    Ok(Err(e)) => Err(lua_error(ctx, &e)),
                    Err(e) => Err(ErrorKind::LuaError {
                        plugin: String::new(),
                        message: format!("the executor stopped unexpectedly: {e}"),
                    }
                    .into()),
                }
            });
            self.running = None;
            return match (result, self.main.take()) {
                (Ok(_), Some(main)) => {
                    self.main_ran(&main.library);
                    match main.then {
                        Some((name, args)) => {
                            self.start_call_unnamed(&name, args)?;
                            Ok(Step::Yielded)
                        }
                        None => Ok(Step::Done(Value::Null.to_json().into_bytes())),
                    }
                }
                (Ok(v), None) => {
                    let json = v.to_json().into_bytes();
                    // The host's output cap, as every ABI applies it: on the result as the
                    // caller receives it (JSON).
                    let max = self.limits.max_output_bytes;
                    if json.len() > max {
                        let len = json.len() as u64;
                        return Err(ErrorKind::OutputTooLarge { len, max }.into());
                    }
                    self.result = Some(v);
                    Ok(Step::Done(json))
                }
                (Err(e), main) => {
                    // A VM whose `main.lua` failed is not used again.
                    if main.is_some() {
                        self.vm = None;
                    }
                    Err(e)
                }
            };
        }
        if run.fuel_left == 0 {
            let budget = run.budget;
            return Err(self.fail(ErrorKind::OutOfFuel { budget }.into(), false));
        }
        Ok(Step::Yielded)
    }

    /// The finished call's result as a value (lossless: bytes stay bytes).
    pub(crate) fn take_result(&mut self) -> Option<Value> {
        self.result.take()
    }

    /// Delivers an awaited host function's result.
    pub(crate) fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error> {
        let (Some(vm), Some(run)) = (self.vm.as_mut(), self.running.as_mut()) else {
            return Err(ErrorKind::NoCallInFlight.into());
        };
        if !run.awaiting {
            return Err(ErrorKind::NoCallInFlight.into());
        }
        run.awaiting = false;
        let value = reply.and_then(|c| Value::from_json(&String::from_utf8_lossy(&c.0)));
        *vm.shared.reply.borrow_mut() = Some(value);
        Ok(())
    }

    /// Abandons the call in flight; the VM is rebuilt before the next call.
    pub(crate) fn cancel(&mut self) {
        if self.running.is_some() {
            self.running = None;
            self.vm = None;
            self.main = None;
        }
    }

    /// Ends the call with `e`. An out-of-fuel or failed call leaves the VM usable (Lua state is
    /// consistent between steps); a panic or the memory cap drops it.
    fn fail(&mut self, e: Error, drop_vm: bool) -> Error {
        self.running = None;
        // Nor is a VM whose `main.lua` did not finish.
        if drop_vm || self.main.take().is_some() {
            self.vm = None;
        }
        e
    }
}

impl crate::call::Resumable for LuaPlugin {
    fn resume(&mut self) -> Result<Step, Error> {
        LuaPlugin::resume(self)
    }

    fn complete(&mut self, reply: Result<HostCompletion, Error>) -> Result<(), Error> {
        LuaPlugin::complete(self, reply)
    }
}

/// Runs `f` natively under `catch_unwind`: a piccolo panic becomes an error.
/// The table of the functions lowered operators call, in this VM.
pub(crate) fn helpers<'gc>(ctx: Context<'gc>, shared: &Shared) -> Table<'gc> {
    match &*shared.helpers.borrow() {
        Some(stashed) => ctx.fetch(stashed),
        None => Table::new(&ctx),
    }
}

fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(ErrorKind::EnginePanic {
            message: crate::host::panic_message(&panic),
        }
        .into())
    })
}

fn global_names(globals: Table<'_>) -> Vec<String> {
    globals
        .iter()
        .filter_map(|(k, _)| match k {
            LuaValue::String(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            _ => None,
        })
        .collect()
}

fn global_functions(globals: Table<'_>) -> Vec<String> {
    let mut names: Vec<String> = globals
        .iter()
        .filter_map(|(k, v)| match (k, v) {
            (LuaValue::String(s), LuaValue::Function(_)) => {
                Some(String::from_utf8_lossy(s.as_bytes()).into_owned())
            }
            _ => None,
        })
        .collect();
    names.sort();
    names
}

/// A Lua error leaving the plugin: our own error if a host function raised it, else
/// [`ErrorKind::LuaError`] with the value rendered without metamethods or addresses.
fn lua_error(_ctx: Context<'_>, e: &piccolo::Error<'_>) -> Error {
    match e {
        piccolo::Error::Runtime(r) => match r.downcast::<Error>() {
            Some(ours) => ours.clone(),
            None => ErrorKind::LuaError {
                plugin: String::new(),
                message: r.to_string(),
            }
            .into(),
        },
        piccolo::Error::Lua(v) => ErrorKind::LuaError {
            plugin: String::new(),
            message: convert::render(v.0),
        }
        .into(),
    }
}

/// Puts the host functions into namespace tables: registry functions (allowed namespaces
/// only), then the manager's plugin-aware ones. An existing table of the same name (a library
/// such as `math`) is extended, not replaced.
fn install_host_functions<'gc>(
    ctx: Context<'gc>,
    registry: &Rc<Registry>,
    allow: Option<&[String]>,
    handles: &[Handle],
    shared: &Rc<Shared>,
) -> Result<(), Error> {
    for f in registry.all() {
        if allow.is_some_and(|a| !a.iter().any(|n| *n == f.namespace)) {
            continue;
        }
        if f.namespace == crate::abi::kernel::HTTP_NAMESPACE
            && f.name == crate::abi::kernel::HTTP_FUNCTION
        {
            continue; // the HTTP client is for Extism's http_request, not a Lua function
        }
        let (registry, ns, name, shared) = (
            registry.clone(),
            f.namespace.clone(),
            f.name.clone(),
            shared.clone(),
        );
        let callback = Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let f = registry
                .get(&ns, &name)
                .cloned()
                .ok_or_else(|| piccolo::Error::from(anyhow_error(missing(&ns, &name))))?;
            let args = stack_values(&stack)?;
            charge_host_call(exec.fuel(), &shared, &args)?;
            let json = match args.len() {
                0 => serde_json::Value::Null,
                1 => serde_json::to_value(&args[0]).unwrap_or_default(),
                _ => serde_json::to_value(&args).unwrap_or_default(),
            };
            match f.invoke_json(json).map_err(anyhow_error)? {
                Reply::Ready(v) => {
                    stack.clear();
                    push_result(ctx, &mut stack, &v)?;
                    Ok(CallbackReturn::Return)
                }
                Reply::Later(future) => {
                    *shared.pending.borrow_mut() = Some(PendingHostCall {
                        namespace: f.namespace.clone(),
                        name: f.name.clone(),
                        future: Box::pin(
                            async move { future.await.map(|v| v.to_json().into_bytes()) },
                        ),
                    });
                    exec.fuel().interrupt();
                    stack.clear();
                    Ok(CallbackReturn::Sequence(piccolo::BoxSequence::new(
                        &ctx,
                        AwaitReply {
                            shared: shared.clone(),
                        },
                    )))
                }
            }
        });
        namespace_table(ctx, &f.namespace)?
            .set(ctx, ctx.intern(f.name.as_bytes()), callback)
            .map_err(|e| anyhow_to_error(&e.to_string()))?;
    }
    for h in handles {
        let (f, plugin, shared) = (h.f.clone(), shared.plugin.clone(), shared.clone());
        let (ns, name) = (h.namespace.clone(), h.name.clone());
        let callback = Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
            let args = stack_values(&stack)?;
            charge_host_call(exec.fuel(), &shared, &args)?;
            let r = catch_unwind(AssertUnwindSafe(|| f(&plugin, args)))
                .unwrap_or_else(|p| Err(format!("panicked: {}", crate::host::panic_message(&p))));
            match r {
                Ok(v) => {
                    stack.clear();
                    push_result(ctx, &mut stack, &v)?;
                    Ok(CallbackReturn::Return)
                }
                Err(reason) => Err(anyhow_error(
                    ErrorKind::HostFunction {
                        namespace: ns.clone(),
                        name: name.clone(),
                        reason: crate::error::HostFunctionFailure::Failed(reason),
                    }
                    .into(),
                )
                .into()),
            }
        });
        namespace_table(ctx, &h.namespace)?
            .set(ctx, ctx.intern(h.name.as_bytes()), callback)
            .map_err(|e| anyhow_to_error(&e.to_string()))?;
    }
    Ok(())
}

/// The global `plugins`: indexing it with the name of a plugin the host exposes gives a table
/// of that plugin's functions, looked up when indexed (so plugins exposed later appear, and
/// unexposed ones vanish). A call runs the other plugin inside this one's call: with at most
/// the fuel this call has left, which it is then charged.
fn install_plugins_table<'gc>(
    ctx: Context<'gc>,
    peers: &Rc<crate::peers::Peers>,
    shared: &Rc<Shared>,
) -> Result<(), Error> {
    let (peers, shared) = (peers.clone(), shared.clone());
    let index = Callback::from_fn(&ctx, move |ctx, _exec, mut stack| {
        let name = match stack.get(1) {
            LuaValue::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            _ => {
                stack.clear();
                return Ok(CallbackReturn::Return);
            }
        };
        stack.clear();
        let Some(exports) = peers.exports(&name) else {
            return Ok(CallbackReturn::Return); // no such plugin: nil
        };
        let table = Table::new(&ctx);
        for function in exports.map_err(anyhow_error)? {
            let call = peer_function(ctx, &peers, &shared, &name, &function);
            table.set(ctx, ctx.intern(function.as_bytes()), call)?;
        }
        stack.push_back(table.into());
        Ok(CallbackReturn::Return)
    });
    let plugins = Table::new(&ctx);
    let meta = Table::new(&ctx);
    meta.set(ctx, "__index", index)
        .map_err(|e| anyhow_to_error(&e.to_string()))?;
    plugins.set_metatable(&ctx, Some(meta));
    ctx.set_global("plugins", plugins)
        .map_err(|e| anyhow_to_error(&e.to_string()))?;
    Ok(())
}

/// `plugins.<plugin>.<function>`: calls it with the Lua arguments as values.
fn peer_function<'gc>(
    ctx: Context<'gc>,
    peers: &Rc<crate::peers::Peers>,
    shared: &Rc<Shared>,
    plugin: &str,
    function: &str,
) -> Callback<'gc> {
    let (peers, shared) = (peers.clone(), shared.clone());
    let (plugin, function) = (plugin.to_owned(), function.to_owned());
    Callback::from_fn(&ctx, move |ctx, mut exec, mut stack| {
        let args = stack_values(&stack)?;
        exec.fuel().consume(1);
        let available = shared
            .fuel_beyond_slice
            .get()
            .saturating_add(exec.fuel().remaining().max(0) as u64);
        let (result, used) = peers.call(&plugin, &function, args, available);
        exec.fuel().consume(i32::try_from(used).unwrap_or(i32::MAX));
        let v = result.map_err(anyhow_error)?;
        stack.clear();
        push_result(ctx, &mut stack, &v)?;
        Ok(CallbackReturn::Return)
    })
}

fn missing(ns: &str, name: &str) -> Error {
    crate::plugin::link_error(ns, name, crate::host::NO_SUCH_HOST_FUNCTION)
}

fn anyhow_to_error(msg: &str) -> Error {
    ErrorKind::LuaError {
        plugin: String::new(),
        message: msg.to_owned(),
    }
    .into()
}

/// Our error inside a piccolo runtime error, so it comes back out with its kind.
pub(crate) fn anyhow_error(e: Error) -> piccolo::RuntimeError {
    piccolo::RuntimeError::from(e)
}

/// The table `ns` in the globals, created if absent.
fn namespace_table<'gc>(ctx: Context<'gc>, ns: &str) -> Result<Table<'gc>, Error> {
    let key = ctx.intern(ns.as_bytes());
    match ctx.get_global(key) {
        LuaValue::Table(t) => Ok(t),
        LuaValue::Nil => {
            let t = Table::new(&ctx);
            ctx.set_global(key, t)
                .map_err(|e| anyhow_to_error(&e.to_string()))?;
            Ok(t)
        }
        other => Err(ErrorKind::LuaError {
            plugin: String::new(),
            message: format!(
                "cannot add host functions to global `{ns}`: it is a {}",
                other.type_name()
            ),
        }
        .into()),
    }
}

fn stack_values(stack: &piccolo::Stack<'_, '_>) -> Result<Vec<Value>, piccolo::RuntimeError> {
    (0..stack.len())
        .map(|i| convert::to_value(stack.get(i)).map_err(anyhow_error))
        .collect()
}

fn push_result<'gc>(
    ctx: Context<'gc>,
    stack: &mut piccolo::Stack<'gc, '_>,
    v: &Value,
) -> Result<(), piccolo::RuntimeError> {
    if !matches!(v, Value::Null) {
        stack.push_back(convert::from_value(ctx, v).map_err(anyhow_error)?);
    }
    Ok(())
}

/// Waits in the VM for an async host function's reply (`Shared::reply`).
#[derive(gc_arena::Collect)]
#[collect(require_static)]
struct AwaitReply {
    shared: Rc<Shared>,
}

impl<'gc> Sequence<'gc> for AwaitReply {
    fn poll(
        &mut self,
        ctx: Context<'gc>,
        mut exec: piccolo::Execution<'gc, '_>,
        mut stack: piccolo::Stack<'gc, '_>,
    ) -> Result<SequencePoll<'gc>, piccolo::Error<'gc>> {
        let reply = self.shared.reply.borrow_mut().take();
        match reply {
            None => {
                exec.fuel().interrupt();
                Ok(SequencePoll::Pending)
            }
            Some(Ok(v)) => {
                stack.clear();
                push_result(ctx, &mut stack, &v)?;
                Ok(SequencePoll::Return)
            }
            Some(Err(e)) => Err(anyhow_error(e).into()),
        }
    }
}

/// The most files a Lua plugin folder may hold.
pub const MAX_FILES: usize = 1024;

impl crate::host::Host {
    /// Loads a Lua plugin from one source (its `main.lua`) and runs it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LuaSyntax`] (with the line), [`ErrorKind::LuaError`] if the script fails
    /// when run, [`ErrorKind::OutOfFuel`]/[`ErrorKind::MemoryLimit`] under the instantiation
    /// limits, [`ErrorKind::ModuleTooLarge`].
    pub fn load_lua(&self, name: &str, source: &str) -> Result<crate::Plugin, Error> {
        self.load_lua_files(
            [(ENTRY.to_owned(), source.as_bytes().to_vec())],
            crate::PluginOptions::named(name),
        )
    }

    /// Loads a Lua plugin from a set of files: `main.lua` runs, and `require("a.b")` finds
    /// `a/b.lua` (or `a/b/init.lua`) among them and nowhere else. Options: name, limits, and
    /// the host-function namespaces it may see.
    ///
    /// # Errors
    ///
    /// As [`Host::load_lua`](crate::Host::load_lua).
    pub fn load_lua_files<K, V>(
        &self,
        files: impl IntoIterator<Item = (K, V)>,
        options: crate::PluginOptions,
    ) -> Result<crate::Plugin, Error>
    where
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        self.load_lua_with_handles(files, options, Rc::from(Vec::new()))
    }

    /// Loads a Lua plugin as [`Host::load_lua_files`](crate::Host::load_lua_files) does, but returns with `main.lua`
    /// started, not run: the plugin is busy with it, and [`Plugin::resume`](crate::Plugin::resume)
    /// / [`Plugin::complete`](crate::Plugin::complete) drive it exactly like a call until
    /// `Step::Done` (its output is `null`); then its exports are known and it takes calls.
    /// This lets `main.lua` await an async host function where the embedder cannot block
    /// (the npm package's `loadLua`). If `main.lua` fails, the error comes from `resume` and
    /// the plugin cannot be called.
    ///
    /// # Errors
    ///
    /// Those of [`Host::load_lua`](crate::Host::load_lua) that are found before `main.lua`
    /// runs: syntax, size, file count.
    pub fn start_lua_files<K, V>(
        &self,
        files: impl IntoIterator<Item = (K, V)>,
        options: crate::PluginOptions,
    ) -> Result<crate::Plugin, Error>
    where
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        let src = self.lua_source(files, options, Rc::from(Vec::new()))?;
        Ok(crate::Plugin::from_lua(LuaPlugin::start_load(src)?))
    }

    pub(crate) fn load_lua_with_handles<K, V>(
        &self,
        files: impl IntoIterator<Item = (K, V)>,
        options: crate::PluginOptions,
        handles: Rc<[Handle]>,
    ) -> Result<crate::Plugin, Error>
    where
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        let src = self.lua_source(files, options, handles)?;
        Ok(crate::Plugin::from_lua(LuaPlugin::load(src)?))
    }

    fn lua_source<K, V>(
        &self,
        files: impl IntoIterator<Item = (K, V)>,
        options: crate::PluginOptions,
        handles: Rc<[Handle]>,
    ) -> Result<LuaSource, Error>
    where
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        let mut map = BTreeMap::new();
        for (k, v) in files {
            if map.len() == MAX_FILES {
                return Err(ErrorKind::LuaSyntax {
                    plugin: String::new(),
                    file: k.into(),
                    line: None,
                    message: format!("a Lua plugin has at most {MAX_FILES} files"),
                }
                .into());
            }
            map.insert(k.into().replace('\\', "/"), v.into());
        }
        Ok(LuaSource {
            name: options.name.unwrap_or_else(|| "plugin".to_owned()),
            files: map,
            registry: self.registry.clone(),
            allow: options.allow,
            handles,
            limits: options.limits.unwrap_or_else(|| self.limits.clone()),
            log: self.log.clone(),
            env: options.wasi.unwrap_or_else(|| self.wasi.clone()),
            peers: self.peers.clone(),
        })
    }

    /// Loads a Lua plugin folder natively: every `.lua` file under `dir` (relative paths with
    /// `/`), `main.lua` first to run. The plugin's name is the folder's name unless the options
    /// give one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::LuaSyntax`] naming the folder if it cannot be read, else as
    /// [`Host::load_lua`](crate::Host::load_lua).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_lua_dir(
        &self,
        dir: &std::path::Path,
        mut options: crate::PluginOptions,
    ) -> Result<crate::Plugin, Error> {
        let files = read_lua_dir(dir)?;
        if options.name.is_none() {
            options.name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        }
        self.load_lua_files(files, options)
    }
}

/// The `.lua` files under `dir`, by relative path; symlinks are not followed.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn read_lua_dir(dir: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let unreadable = |e: std::io::Error| -> Error {
        ErrorKind::LuaSyntax {
            plugin: String::new(),
            file: dir.display().to_string(),
            line: None,
            message: format!("cannot read the plugin folder: {e}"),
        }
        .into()
    };
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, prefix)) = stack.pop() {
        for entry in std::fs::read_dir(&path).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let ty = entry.file_type().map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if ty.is_dir() {
                if stack.len() + out.len() > MAX_FILES {
                    break;
                }
                stack.push((entry.path(), rel));
            } else if ty.is_file() && name.ends_with(".lua") {
                out.push((rel, std::fs::read(entry.path()).map_err(unreadable)?));
            }
            if out.len() > MAX_FILES {
                break;
            }
        }
    }
    out.sort();
    Ok(out)
}
