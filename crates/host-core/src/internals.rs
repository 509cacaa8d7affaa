//! Entry points into host-core's internals for the fuzz targets (`crates/fuzz-targets`) and the
//! WebAssembly spec testsuite runner (`crates/spec-tests`). Behind the `internals` feature and
//! hidden from the docs: **not a stable API**, and the one place an engine type
//! ([`wasmi::Config`]) is nameable from outside.

use crate::abi::kernel::{Kernel, KernelConfig};
use crate::abi::nvim::Values;
use crate::Error;

/// The engine configuration every plugin runs under: fuel on, eager translation, strict
/// limits, no multi-memory, recursion depth 1024.
pub fn engine_config() -> wasmi::Config {
    crate::wasm::engine_config()
}

/// The Extism kernel's memory (handles, blocks, bounds checks), without a plugin around it.
pub struct KernelMemory(Kernel);

impl std::fmt::Debug for KernelMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelMemory")
            .field("memory_len", &self.memory_len())
            .finish_non_exhaustive()
    }
}

impl KernelMemory {
    /// Kernel memory of at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self(Kernel::new(KernelConfig::default(), cap, None))
    }
    /// `alloc(n)`: a handle, or 0 (for 0 bytes, or when the cap is reached).
    pub fn alloc(&mut self, n: u64) -> u64 {
        self.0.alloc(n)
    }
    /// `free(h)`: a no-op for anything but a live block.
    pub fn free(&mut self, h: u64) {
        self.0.free(h)
    }
    /// `length(h)`: 0 for anything but a live block's start.
    pub fn length(&self, h: u64) -> u64 {
        self.0.length(h)
    }
    /// `load_u8`/`load_u64` (`width` 1 or 8): `Err` outside one live block.
    pub fn load(&self, off: u64, width: u64) -> Result<u64, Error> {
        self.0.load(off, width).map_err(Error::from)
    }
    /// `store_u8`/`store_u64` (`width` 1 or 8): `Err` outside one live block.
    pub fn store(&mut self, off: u64, width: u64, v: u64) -> Result<(), Error> {
        self.0.store(off, width, v).map_err(Error::from)
    }
    /// What the kernel does between calls: every block dropped.
    pub fn reset(&mut self) {
        self.0.reset()
    }
    /// Bytes of kernel memory in use.
    pub fn memory_len(&self) -> usize {
        self.0.memory_len()
    }
    /// An allocation failed for lack of room since the last reset.
    pub fn alloc_denied(&self) -> bool {
        self.0.alloc_denied
    }
}

/// The nvim ABI's id table: values held host-side under generation-tagged ids.
pub struct IdTable(Values);

impl std::fmt::Debug for IdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTable").finish_non_exhaustive()
    }
}

impl IdTable {
    /// A table of at most `max_live` ids holding at most `max_bytes` in all.
    pub fn new(max_live: usize, max_bytes: usize) -> Self {
        Self(Values::new(max_live, max_bytes))
    }
    /// `get_id`: a fresh id with no value yet.
    pub fn reserve(&mut self) -> Result<u32, Error> {
        self.0.reserve()
    }
    /// `set_value`: the value of a live id.
    pub fn set(&mut self, id: u32, bytes: Vec<u8>) -> Result<(), Error> {
        self.0.set(id, bytes)
    }
    /// A new id holding `bytes` (what the host does for results and arguments).
    pub fn insert(&mut self, bytes: Vec<u8>) -> Result<u32, Error> {
        self.0.insert(bytes)
    }
    /// `get_value_size`: the value, not consumed.
    pub fn get(&mut self, id: u32) -> Result<Vec<u8>, Error> {
        self.0.get(id).map(<[u8]>::to_vec)
    }
    /// `get_value_addr`: the value, consumed (its id becomes stale).
    pub fn take(&mut self, id: u32) -> Result<Vec<u8>, Error> {
        self.0.take(id)
    }
}

/// The `instrument` fuzz target's oracle: `wasm`, if production's engine accepts it, is
/// instrumented with a budget of `fuel` and a cap of `max_pages`; the output must validate,
/// and every export it has (up to 8) is called with zero arguments on wasmi with wasmi's own fuel
/// **off**, imports stubbed (functions return zeros; `out_of_fuel` traps). Only the injected
/// metering can end a runaway call, so a call that never returns is a metering bug (the fuzzer's
/// timeout catches it).
///
/// `Ok(false)`: production refuses the module, or it imports something other than functions.
/// `Ok(true)`: instrumented and run. `Err`: the instrumenter refused a module production
/// accepts, for a reason other than its memory minimum being above the cap.
#[cfg(feature = "meter")]
pub fn instrument_and_run(wasm: &[u8], fuel: i64, max_pages: u64) -> Result<bool, Error> {
    use crate::meter::{instrument, MeterConfig};
    use crate::ErrorKind;
    use wasmi::{Engine, Linker, Module, Store, Val};

    // What production accepts is what its loader compiles, with the loader's own guards in
    // front of wasmi's parser (a code section that declares no functions but holds bytes).
    let production = Engine::new(&crate::wasm::engine_config());
    let Ok(module) = crate::plugin::compile(&production, wasm) else {
        return Ok(false);
    };
    if module
        .imports()
        .any(|i| !matches!(i.ty(), wasmi::ExternType::Func(_)))
    {
        return Ok(false);
    }
    let config = MeterConfig {
        initial_fuel: fuel,
        max_memory_pages: Some(max_pages),
        ..MeterConfig::default()
    };
    let metered = match instrument(wasm, &config) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::MemoryLimit { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut unmetered = crate::wasm::engine_config();
    unmetered.consume_fuel(false);
    let engine = Engine::new(&unmetered);
    let module = Module::new(&engine, &metered[..]).map_err(|e| {
        Error::new(ErrorKind::InvalidModule {
            reason: format!("the instrumented module does not validate: {e}"),
        })
    })?;
    let mut linker = Linker::<()>::new(&engine);
    for import in module.imports() {
        let wasmi::ExternType::Func(ty) = import.ty() else {
            continue;
        };
        let results: Vec<wasmi::ValType> = ty.results().to_vec();
        let out_of_fuel = (import.module(), import.name()) == ("plugboard", "out_of_fuel");
        // A duplicate import name is defined once; later definitions would shadow it.
        let _ = linker.func_new(
            import.module(),
            import.name(),
            ty.clone(),
            move |_, _, out: &mut [Val]| {
                if out_of_fuel {
                    return Err(wasmi::Error::new("out of fuel"));
                }
                for (r, t) in out.iter_mut().zip(&results) {
                    *r = Val::default_for_ty(*t);
                }
                Ok(())
            },
        );
    }
    let mut store = Store::new(&engine, ());
    let Ok(instance) = linker.instantiate_and_start(&mut store, &module) else {
        return Ok(true);
    };
    let funcs: Vec<wasmi::Func> = module
        .exports()
        .filter_map(|e| instance.get_func(&store, e.name()))
        .take(8)
        .collect();
    for f in funcs {
        let (params, mut results) = default_values(&f.ty(&store));
        let _ = f.call(&mut store, &params, &mut results);
    }
    Ok(true)
}

/// Arguments of a function type's default values (zeros, null references), and a results
/// buffer of the right length: how the fuzz oracles call an export they know nothing about.
pub fn default_values(ty: &wasmi::FuncType) -> (Vec<wasmi::Val>, Vec<wasmi::Val>) {
    let defaults = |types: &[wasmi::ValType]| -> Vec<wasmi::Val> {
        types
            .iter()
            .map(|t| wasmi::Val::default_for_ty(*t))
            .collect()
    };
    (defaults(ty.params()), defaults(ty.results()))
}
