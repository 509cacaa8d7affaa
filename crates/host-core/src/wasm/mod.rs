//! wasmi glue: engine configuration, per-plugin store data, checked guest-memory access, fuel
//! accounting and the mapping of engine errors onto [`ErrorKind`].

pub(crate) mod wasi;

use crate::call::PendingHostCall;
use crate::error::{AbiViolation, Error, ErrorKind, TrapCode};
use crate::host::{LogRecord, LogSink, LogStream, Registry};
use crate::limits::Limits;
use std::ops::Range;
use std::rc::Rc;
use wasmi::{AsContext, AsContextMut, Func, Memory, Val};

/// The engine every plugin of a host runs on: fuel metering on, eager validation and lazy
/// translation (an invalid body is rejected at load; a body is translated to wasmi's IR the
/// first time it is called), strict limits against compile bombs, custom sections kept (we
/// read `plugboard.signatures`).
pub(crate) fn new_engine() -> wasmi::Engine {
    wasmi::Engine::new(&engine_config())
}

/// The configuration of [`new_engine`] (also what the spec testsuite runs under).
pub(crate) fn engine_config() -> wasmi::Config {
    let mut config = wasmi::Config::default();
    config
        .consume_fuel(true)
        // Lazy translation: loading a plugin validates every body but translates none, which
        // makes a cold start ~3x faster (natively: 1.9 ms -> 0.6 ms for a 160 KB Extism
        // plugin; most plugins call a few of their functions). Translation is not charged fuel:
        // wasmi 2.0 ends a call for good when fuel runs out while it translates a callee (the
        // error is not resumable), which would break time slicing. It is bounded all the same:
        // each body is translated at most once per loaded module, so a plugin can make the host
        // do no more translation work than an eager load would have done (RELIABILITY RES-09).
        .compilation_mode(wasmi::CompilationMode::LazyTranslation)
        .fuel_cost(wasmi::CustomFuelCosts {
            // wasmi's default for memory.copy/fill and friends.
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        })
        .enforced_limits(wasmi::EnforcedLimits::strict())
        // Every proposal spelled out (the spec testsuite runs these sets): wasm 2.0 and
        // tail calls and extended constants; no multi-memory, custom page sizes or wide
        // arithmetic (and no SIMD or memory64: those wasmi features are not compiled in).
        .wasm_mutable_global(true)
        .wasm_sign_extension(true)
        .wasm_saturating_float_to_int(true)
        .wasm_multi_value(true)
        .wasm_bulk_memory(true)
        .wasm_reference_types(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_multi_memory(false)
        .wasm_custom_page_sizes(false)
        .wasm_wide_arithmetic(false)
        .set_max_recursion_depth(1024);
    config
}

/// The engines the hosts of a thread compile plugins on, and the modules compiled on the
/// current one.
///
/// wasmi 2.0 never frees the compiled functions of dropped modules (its code map only grows),
/// so a thread that keeps loading plugins — one per request in an edge worker — would grow
/// without bound (found by the `module_load` fuzz target: 2.4 GB after 470k loads). After
/// [`ENGINE_RENEWAL_BYTES`] of modules compiled, the next load starts a fresh engine; the old
/// one is freed with the last plugin on it.
///
/// Loading the same bytes again (the same tenant plugin on every request, a plugin reloaded,
/// another host of the thread) reuses the validated module instead of validating it again,
/// which is most of a load: like V8, which keeps the native module of identical wire bytes.
/// Only modules of the current engine are kept, so they stay within the renewal bound.
pub(crate) struct Engines {
    current: std::cell::RefCell<(wasmi::Engine, usize)>,
    cache: std::cell::RefCell<ModuleCache>,
}

thread_local! {
    static THREAD_ENGINES: Rc<Engines> = Rc::new(Engines::new());
}

/// The validated modules of the current engine, by their bytes (most recently used last).
#[derive(Default)]
struct ModuleCache {
    entries: std::collections::VecDeque<CachedModule>,
}

struct CachedModule {
    hash: u64,
    bytes: Box<[u8]>,
    module: wasmi::Module,
}

/// Modules kept at most. A lookup compares hashes, then all bytes of a match: a collision
/// costs a comparison, never a wrong module.
const MODULE_CACHE_ENTRIES: usize = 64;

impl ModuleCache {
    fn get(&mut self, hash: u64, bytes: &[u8]) -> Option<wasmi::Module> {
        let at = self
            .entries
            .iter()
            .position(|e| e.hash == hash && *e.bytes == *bytes)?;
        let entry = self.entries.remove(at)?;
        let module = entry.module.clone();
        self.entries.push_back(entry);
        Some(module)
    }

    fn insert(&mut self, hash: u64, bytes: &[u8], module: wasmi::Module) {
        if self.entries.len() == MODULE_CACHE_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(CachedModule {
            hash,
            bytes: bytes.into(),
            module,
        });
    }
}

/// A fast hash of module bytes (8 bytes a step; not for adversaries: equal hashes are
/// confirmed by comparing the bytes).
fn module_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h
}

/// Module bytes compiled on one engine before loads move to a fresh one. Compiled code takes
/// about 2.5 times its module's size (measured: 164 KB per load of a 65 KiB plugin), so an
/// engine holds at most ~20 MiB of code of dropped plugins.
pub(crate) const ENGINE_RENEWAL_BYTES: usize = 8 << 20;

impl Engines {
    fn new() -> Self {
        Self {
            current: std::cell::RefCell::new((new_engine(), 0)),
            cache: std::cell::RefCell::new(ModuleCache::default()),
        }
    }

    /// The engines of this thread, shared by its hosts.
    pub(crate) fn of_this_thread() -> Rc<Self> {
        THREAD_ENGINES.with(Rc::clone)
    }

    /// The engine to compile `bytes` more bytes of modules (one plugin's, all on one engine).
    fn for_load(&self, bytes: usize) -> wasmi::Engine {
        let mut current = self.current.borrow_mut();
        if current.1 > 0 && current.1.saturating_add(bytes) > ENGINE_RENEWAL_BYTES {
            *current = (new_engine(), 0);
            self.cache.borrow_mut().entries.clear();
        }
        current.1 = current.1.saturating_add(bytes);
        current.0.clone()
    }

    /// The engine for a plugin whose main module is `bytes` and whose other modules (to be
    /// compiled on the same engine) have `more` bytes, and its main module: the cached one if
    /// these bytes were compiled on that engine before, else `compile`d (and cached).
    pub(crate) fn load(
        &self,
        bytes: &[u8],
        more: usize,
        compile: impl FnOnce(&wasmi::Engine, &[u8]) -> Result<wasmi::Module, Error>,
    ) -> Result<(wasmi::Engine, wasmi::Module), Error> {
        let hash = module_hash(bytes);
        let cached = self.cache.borrow_mut().get(hash, bytes);
        let new_bytes = if cached.is_some() { 0 } else { bytes.len() };
        let engine = self.for_load(new_bytes.saturating_add(more));
        if let Some(module) = cached {
            if wasmi::Engine::same(module.engine(), &engine) {
                return Ok((engine, module));
            }
            // `more` moved loads to a fresh engine: compile again there.
            self.current.borrow_mut().1 += bytes.len();
        }
        let module = compile(&engine, bytes)?;
        self.cache.borrow_mut().insert(hash, bytes, module.clone());
        Ok((engine, module))
    }
}

/// What a plugin's store holds besides the engine's own state.
pub(crate) struct StoreData {
    pub(crate) plugin_name: String,
    pub(crate) registry: Rc<Registry>,
    pub(crate) limits: Limits,
    pub(crate) limiter: Limiter,
    pub(crate) wasi: wasi::WasiCtx,
    pub(crate) log: Option<LogSink>,
    pub(crate) log_bytes: usize,
    /// The plugin's memory and allocator, once instantiated.
    pub(crate) memory: Option<Memory>,
    pub(crate) alloc: Option<Func>,
    pub(crate) free: Option<Func>,
    /// Fuel of the current call not yet handed to the store.
    pub(crate) fuel_reserve: u64,
    /// Depth of host-initiated calls into the plugin from inside a host function.
    pub(crate) nested: u32,
    /// A host function's error, kept here because wasmi host errors must be `Send + Sync`.
    pub(crate) host_error: Option<Error>,
    /// An async host function's future, handed out as [`Step::Pending`](crate::Step::Pending).
    pub(crate) pending: Option<PendingHostCall>,
    /// The last panic message a guest reported (`plugboard.panic`).
    pub(crate) panic_message: Option<String>,
    /// The Extism kernel, for plugins of the kernel ABI.
    pub(crate) kernel: Option<Box<crate::abi::kernel::Kernel>>,
    /// The pending host call is an HTTP request (its reply is an `HttpResponse`).
    pub(crate) pending_http: bool,
    /// The call runs to its end in one go (natively): async host functions are awaited where
    /// they are called instead of suspending the call.
    pub(crate) inline_async: bool,
    /// The values of an nvim-ABI plugin.
    pub(crate) nvim: Option<Box<crate::abi::nvim::Values>>,
    /// The host's exposed plugins and Lua VM (`lua_exec`/`lua_eval`).
    pub(crate) peers: Rc<crate::peers::Peers>,
}

impl StoreData {
    pub(crate) fn new(
        plugin_name: String,
        registry: Rc<Registry>,
        limits: Limits,
        wasi: wasi::WasiCtx,
        log: Option<LogSink>,
    ) -> Self {
        Self {
            plugin_name,
            registry,
            limiter: Limiter {
                memory_cap: limits.memory_bytes,
                denied: false,
                denials: 0,
                total: 0,
            },
            limits,
            wasi,
            log,
            log_bytes: 0,
            memory: None,
            alloc: None,
            free: None,
            fuel_reserve: 0,
            nested: 0,
            host_error: None,
            pending: None,
            panic_message: None,
            kernel: None,
            pending_http: false,
            inline_async: false,
            nvim: None,
            peers: Rc::default(),
        }
    }

    /// A host function answered with a future. Where the call can be suspended, it is kept as
    /// the call's [`Step::Pending`](crate::Step::Pending) and `None` is returned; where it
    /// cannot (a call running to its end in one go, or one nested in a host call), it is
    /// awaited here: natively by blocking, on wasm32 only if it is ready at once (otherwise
    /// the host function fails with `AsyncNotSupported`).
    pub(crate) fn defer(
        &mut self,
        f: &crate::host::HostFn,
        future: crate::call::LocalBoxFuture<Result<Vec<u8>, Error>>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let pending = PendingHostCall {
            namespace: f.namespace.clone(),
            name: f.name.clone(),
            future,
        };
        if self.inline_async || self.nested > 0 {
            return crate::call::block_on_pending(pending).map(|c| Some(c.0));
        }
        self.pending = Some(pending);
        Ok(None)
    }

    /// Sends plugin output to the log sink, within the per-call log budget.
    pub(crate) fn log(&mut self, stream: LogStream, bytes: &[u8]) {
        let room = self.limits.max_log_bytes.saturating_sub(self.log_bytes);
        if room == 0 && self.log_bytes > self.limits.max_log_bytes {
            return; // already truncated and said so
        }
        let take = bytes.len().min(room);
        self.log_bytes = self.log_bytes.saturating_add(bytes.len());
        if let (Some(sink), Some(part)) = (&self.log, bytes.get(..take)) {
            let mut message = String::from_utf8_lossy(part).into_owned();
            if take < bytes.len() {
                message.push_str("[log truncated: per-call log limit reached]");
            }
            if !message.is_empty() {
                sink(&LogRecord {
                    plugin: self.plugin_name.clone(),
                    stream,
                    message,
                });
            }
        }
    }
}

/// Caps memory growth and remembers a denial, so a trap that follows it is reported as
/// [`ErrorKind::MemoryLimit`] rather than a bare trap.
pub(crate) struct Limiter {
    pub(crate) memory_cap: usize,
    pub(crate) denied: bool,
    /// Growth requests refused in this call. wasmi 2.0's handler for a failed `memory.grow`
    /// (and `table.grow`) does not tail-call the next instruction, so each failure leaves a
    /// native stack frame until the call returns: a plugin failing to grow in an endless loop
    /// overflowed the host's stack (found by the `module_load` fuzz target). The first
    /// [`MAX_DENIED_GROWS`] failures answer -1 as WebAssembly says; after that the call ends
    /// with `MemoryLimit`.
    pub(crate) denials: u32,
    /// Bytes of all linear memories of the store together (the cap is for all of them).
    pub(crate) total: usize,
}

const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Failed growth requests one call may make before it ends (see [`Limiter::denials`]).
pub(crate) const MAX_DENIED_GROWS: u32 = 64;

impl Limiter {
    /// A refused growth: -1 for the plugin, or the end of the call after too many.
    fn refuse(&mut self) -> Result<bool, wasmi_core::LimiterError> {
        self.denied = true;
        self.denials += 1;
        if self.denials > MAX_DENIED_GROWS {
            return Err(wasmi_core::LimiterError::ResourceLimiterDeniedAllocation);
        }
        Ok(false)
    }
}

impl wasmi::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.memory_cap {
            return self.refuse();
        }
        self.total = total;
        Ok(true)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> Result<bool, wasmi_core::LimiterError> {
        if desired > MAX_TABLE_ELEMENTS {
            return self.refuse();
        }
        Ok(true)
    }
    fn instances(&self) -> usize {
        16
    }
    fn tables(&self) -> usize {
        4
    }
    fn memories(&self) -> usize {
        16
    }
}

/// A wasmi host error meaning "look in [`StoreData::host_error`]".
#[derive(Debug)]
pub(crate) struct HostAbort;
impl std::fmt::Display for HostAbort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("host function failed")
    }
}
impl wasmi::errors::HostError for HostAbort {}

/// A wasmi host error meaning "an async host function is pending: suspend the call".
#[derive(Debug)]
pub(crate) struct Suspend;
impl std::fmt::Display for Suspend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("suspended on an async host function")
    }
}
impl wasmi::errors::HostError for Suspend {}

/// Records `err` for the current call and returns the wasmi error that unwinds to us.
pub(crate) fn abort_with(data: &mut StoreData, err: Error) -> wasmi::Error {
    // Keep the first error: it is the cause; later ones are consequences of unwinding.
    if data.host_error.is_none() {
        data.host_error = Some(err);
    }
    wasmi::Error::host(HostAbort)
}

/// Maps an engine error raised while running plugin code onto our error kinds.
pub(crate) fn map_run_error(data: &mut StoreData, e: &wasmi::Error, budget: u64) -> Error {
    let kernel_denied = data.kernel.as_ref().is_some_and(|k| k.alloc_denied);
    if let Some(err) = data.host_error.take() {
        // A failed kernel allocation returns 0 to the plugin; the bad access that usually
        // follows is a consequence, the memory limit is the cause.
        if kernel_denied && matches!(err.kind(), ErrorKind::AbiViolation(_)) {
            return ErrorKind::MemoryLimit {
                cap: data.limiter.memory_cap,
            }
            .into();
        }
        return err;
    }
    if let Some(status) = e.i32_exit_status() {
        return ErrorKind::Exit { status }.into();
    }
    if kernel_denied {
        return ErrorKind::MemoryLimit {
            cap: data.limiter.memory_cap,
        }
        .into();
    }
    if let wasmi::errors::ErrorKind::Translation(t) = e.kind() {
        // Lazy translation of a validated body can still fail on wasmi's own limits.
        return ErrorKind::InvalidModule {
            reason: format!("a function could not be compiled when first called: {t}"),
        }
        .into();
    }
    match e.as_trap_code() {
        Some(wasmi::TrapCode::OutOfFuel) => ErrorKind::OutOfFuel { budget }.into(),
        Some(wasmi::TrapCode::StackOverflow) => ErrorKind::StackOverflow.into(),
        Some(_) if data.limiter.denied => ErrorKind::MemoryLimit {
            cap: data.limiter.memory_cap,
        }
        .into(),
        Some(code) => ErrorKind::Trap {
            code: trap_code(code),
            message: data.panic_message.take(),
        }
        .into(),
        None if data.limiter.denied => ErrorKind::MemoryLimit {
            cap: data.limiter.memory_cap,
        }
        .into(),
        None => ErrorKind::Trap {
            code: TrapCode::Other,
            message: Some(e.to_string()),
        }
        .into(),
    }
}

fn trap_code(code: wasmi::TrapCode) -> TrapCode {
    use wasmi::TrapCode as W;
    match code {
        W::UnreachableCodeReached => TrapCode::Unreachable,
        W::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        W::TableOutOfBounds => TrapCode::TableOutOfBounds,
        W::IndirectCallToNull => TrapCode::IndirectCallToNull,
        W::IntegerDivisionByZero => TrapCode::IntegerDivisionByZero,
        W::IntegerOverflow => TrapCode::IntegerOverflow,
        W::BadConversionToInteger => TrapCode::BadConversionToInteger,
        W::BadSignature => TrapCode::BadSignature,
        W::GrowthOperationLimited => TrapCode::GrowthOperationLimited,
        _ => TrapCode::Other,
    }
}

/// The byte range `ptr..ptr+len` if it lies inside a memory of `memory_size` bytes.
/// Checked with `checked_add` and against the 32-bit address space, so it behaves the same
/// where `usize` is 32 bits (wasm32) and 64 bits (native).
pub(crate) fn checked_range(
    memory_size: usize,
    ptr: u64,
    len: u64,
) -> Result<Range<usize>, AbiViolation> {
    let end = ptr
        .checked_add(len)
        .filter(|e| *e <= 1 << 32)
        .ok_or(AbiViolation::Overflow { ptr, len })?;
    if end > memory_size as u64 {
        return Err(AbiViolation::OutOfBounds {
            ptr,
            len,
            memory_size: memory_size as u64,
        });
    }
    // Both fit in usize: end <= memory_size.
    Ok(ptr as usize..end as usize)
}

/// Copies `len` bytes at `ptr` out of the plugin's memory.
pub(crate) fn read_guest(
    ctx: impl AsContext<Data = StoreData>,
    ptr: u64,
    len: u64,
) -> Result<Vec<u8>, Error> {
    let mem = ctx
        .as_context()
        .data()
        .memory
        .ok_or(AbiViolation::NoMemory)?;
    let data = mem.data(&ctx);
    let range = checked_range(data.len(), ptr, len)?;
    Ok(data.get(range).map(<[u8]>::to_vec).unwrap_or_default())
}

/// Writes `bytes` at `ptr` into the plugin's memory.
pub(crate) fn write_guest(
    mut ctx: impl AsContextMut<Data = StoreData>,
    ptr: u64,
    bytes: &[u8],
) -> Result<(), Error> {
    let mem = ctx
        .as_context()
        .data()
        .memory
        .ok_or(AbiViolation::NoMemory)?;
    let data = mem.data_mut(&mut ctx);
    let range = checked_range(data.len(), ptr, bytes.len() as u64)?;
    if let Some(dst) = data.get_mut(range) {
        dst.copy_from_slice(bytes);
    }
    Ok(())
}

/// Calls into the plugin from the host outside the resumable call (allocator calls, and calls
/// made from inside a host function), counting towards the re-entrancy depth. The call may use all fuel left in the call's budget;
/// afterwards the store is back to the remainder of its slice.
pub(crate) fn nested_call(
    mut ctx: impl AsContextMut<Data = StoreData>,
    func: Func,
    params: &[Val],
    results: &mut [Val],
) -> Result<(), Error> {
    // Host → plugin → host → … recursion (an allocator that calls a host function whose
    // reply needs the allocator) is bounded like any re-entrant call.
    let _depth = crate::call::DepthGuard::enter(ctx.as_context().data().limits.max_reentrancy)?;
    let in_store = ctx.as_context().get_fuel().unwrap_or(0);
    let reserve = std::mem::take(&mut ctx.as_context_mut().data_mut().fuel_reserve);
    let budget = ctx.as_context().data().limits.fuel;
    set_fuel(&mut ctx, in_store.saturating_add(reserve));
    ctx.as_context_mut().data_mut().nested += 1;
    let r = func.call(&mut ctx, params, results);
    ctx.as_context_mut().data_mut().nested -= 1;
    let left = ctx.as_context().get_fuel().unwrap_or(0);
    let slice_left = left.min(in_store);
    set_fuel(&mut ctx, slice_left);
    ctx.as_context_mut().data_mut().fuel_reserve = left - slice_left;
    r.map_err(|e| map_run_error(ctx.as_context_mut().data_mut(), &e, budget))
}

/// Fuel the call in flight has left: the store's slice and the reserve.
pub(crate) fn fuel_left(ctx: impl AsContext<Data = StoreData>) -> u64 {
    let ctx = ctx.as_context();
    ctx.get_fuel()
        .unwrap_or(0)
        .saturating_add(ctx.data().fuel_reserve)
}

/// Charges the call in flight `used` fuel spent on its behalf (by a plugin it called): from
/// the store's slice first, then the reserve. More than is left ends the call.
pub(crate) fn charge_fuel(
    mut ctx: impl AsContextMut<Data = StoreData>,
    used: u64,
) -> Result<(), Error> {
    let in_store = ctx.as_context().get_fuel().unwrap_or(0);
    if used <= in_store {
        set_fuel(&mut ctx, in_store - used);
        return Ok(());
    }
    set_fuel(&mut ctx, 0);
    let mut store = ctx.as_context_mut();
    let data = store.data_mut();
    let rest = used - in_store;
    if rest > data.fuel_reserve {
        data.fuel_reserve = 0;
        return Err(ErrorKind::OutOfFuel {
            budget: data.limits.fuel,
        }
        .into());
    }
    data.fuel_reserve -= rest;
    Ok(())
}

/// Fuel one host-function call costs the calling plugin, besides one unit per 8 bytes of its
/// arguments: the host's copying and decoding are work the budget must see, or a plugin could
/// call the host in a tight loop far past its budget (RELIABILITY.md RES-10).
pub(crate) const HOST_CALL_FUEL: u64 = 64;

/// Charges a host-function call with `arg_bytes` bytes of arguments to the call in flight.
pub(crate) fn charge_host_call(
    ctx: impl AsContextMut<Data = StoreData>,
    arg_bytes: usize,
) -> Result<(), Error> {
    charge_fuel(ctx, HOST_CALL_FUEL + arg_bytes as u64 / 8)
}

/// Sets the store's fuel. Fuel metering is always on, so this cannot fail.
pub(crate) fn set_fuel(mut ctx: impl AsContextMut<Data = StoreData>, fuel: u64) {
    let _ = ctx.as_context_mut().set_fuel(fuel);
}

/// The instance's function export `export`, if `fits` its type; else the matching error
/// (`name` is what the caller asked for; `expected` describes the type for the message).
pub(crate) fn instance_export(
    store: &wasmi::Store<StoreData>,
    instance: &wasmi::Instance,
    export: &str,
    name: &str,
    fits: impl Fn(&wasmi::FuncType) -> bool,
    expected: &str,
) -> Result<Func, Error> {
    let Some(wasmi::Extern::Func(func)) = instance.get_export(store, export) else {
        return Err(ErrorKind::UnknownFunction {
            name: name.to_owned(),
            exports: Vec::new(),
        }
        .into());
    };
    let ty = func.ty(store);
    if !fits(&ty) {
        return Err(ErrorKind::SignatureMismatch {
            name: export.to_owned(),
            expected: expected.to_owned(),
            found: fmt_sig(ty.params(), ty.results()),
        }
        .into());
    }
    Ok(func)
}

/// Returns a function export of the given type, or the matching error.
/// The module's exported linear memory `memory`, which the buffer and fixed ABIs exchange
/// data through: `MissingExport` if there is none.
pub(crate) fn memory_export(module: &wasmi::Module) -> Result<(), Error> {
    match module.get_export(crate::abi::buffer::MEMORY_EXPORT) {
        Some(wasmi::ExternType::Memory(_)) => Ok(()),
        _ => Err(ErrorKind::MissingExport {
            name: crate::abi::buffer::MEMORY_EXPORT.to_owned(),
        }
        .into()),
    }
}

pub(crate) fn typed_export(
    module: &wasmi::Module,
    name: &str,
    params: &[wasmi::ValType],
    results: &[wasmi::ValType],
) -> Result<(), Error> {
    match module.get_export(name) {
        Some(wasmi::ExternType::Func(ty)) => {
            if ty.params() == params && ty.results() == results {
                Ok(())
            } else {
                Err(ErrorKind::SignatureMismatch {
                    name: name.to_owned(),
                    expected: fmt_sig(params, results),
                    found: fmt_sig(ty.params(), ty.results()),
                }
                .into())
            }
        }
        _ => Err(ErrorKind::MissingExport {
            name: name.to_owned(),
        }
        .into()),
    }
}

pub(crate) fn fmt_sig(params: &[wasmi::ValType], results: &[wasmi::ValType]) -> String {
    let list = |ts: &[wasmi::ValType]| {
        ts.iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(engine: &wasmi::Engine, bytes: &[u8]) -> Result<wasmi::Module, Error> {
        wasmi::Module::new(engine, bytes).map_err(|e| {
            ErrorKind::InvalidModule {
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// A valid module whose bytes differ by `tag` (a custom section).
    fn module(tag: u32) -> Vec<u8> {
        let mut m = wasm_encoder::Module::new();
        m.section(&wasm_encoder::CustomSection {
            name: "tag".into(),
            data: tag.to_le_bytes().as_slice().into(),
        });
        m.finish()
    }

    #[test]
    fn same_bytes_reuse_the_module_and_a_hash_collision_is_not_a_hit() {
        let engines = Engines::new();
        let (e1, a) = engines.load(&module(1), 0, compile).unwrap();
        let (e2, again) = engines.load(&module(1), 0, compile).unwrap();
        assert!(wasmi::Engine::same(&e1, &e2));
        let custom = |m: &wasmi::Module| m.custom_sections().next().map(|s| s.data().to_vec());
        assert_eq!(custom(&a), custom(&again));
        assert_eq!(engines.cache.borrow().entries.len(), 1);
        // An entry with the same hash but other bytes is never returned for them.
        let other = module(2);
        engines
            .cache
            .borrow_mut()
            .insert(module_hash(&module(3)), &module(3), a.clone());
        let (_, b) = engines.load(&other, 0, compile).unwrap();
        assert_eq!(custom(&b), Some(2u32.to_le_bytes().to_vec()));
        assert!(engines
            .cache
            .borrow_mut()
            .get(module_hash(&module(3)), &other)
            .is_none());
    }

    #[test]
    fn the_cache_is_bounded_and_emptied_when_the_engine_is_renewed() {
        let engines = Engines::new();
        for tag in 0..(MODULE_CACHE_ENTRIES as u32 + 10) {
            engines.load(&module(tag), 0, compile).unwrap();
        }
        assert_eq!(engines.cache.borrow().entries.len(), MODULE_CACHE_ENTRIES);
        // The oldest went first.
        let oldest = module(0);
        assert!(engines
            .cache
            .borrow_mut()
            .get(module_hash(&oldest), &oldest)
            .is_none());
        // Loads beyond the renewal bound move to a fresh engine, without the old modules.
        let (before, cached) = engines.load(&module(100), 0, compile).unwrap();
        let (after, _) = engines
            .load(&module(101), ENGINE_RENEWAL_BYTES, compile)
            .unwrap();
        assert!(!wasmi::Engine::same(&before, &after));
        assert_eq!(engines.cache.borrow().entries.len(), 1);
        // A hit whose other modules renew the engine is compiled again on the new one.
        let (renewed, recompiled) = engines
            .load(&module(101), ENGINE_RENEWAL_BYTES, compile)
            .unwrap();
        assert!(wasmi::Engine::same(recompiled.engine(), &renewed));
        assert!(!wasmi::Engine::same(cached.engine(), &renewed));
    }
}
