//! The fixture perf plugins on raw wasmi, without plugboard around them, metered either by
//! wasmi's own fuel or by host-core's instrumenter (`meter`) with wasmi's fuel off: the same call
//! both ways, so their fuel and speed can be compared. Shared by the `meter` integration tests
//! and `benches/meter.rs`.
//!
//! Imports are stubs: the nvim ABI's value functions serve one input value and keep the output
//! (enough for `for_loop`/`primes`); every other import returns zeros.

use plugboard_host_core::meter::{instrument, MeterConfig};
use wasmi::{Caller, Config, Engine, Extern, Instance, Linker, Memory, Module, Store, Val};

/// How the module is metered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metering {
    /// wasmi's fuel.
    Wasmi,
    /// host-core's instrumenter; wasmi's fuel off.
    Instrumented,
    /// Neither (the speed floor; used by the bench only).
    #[allow(dead_code)]
    Off,
}

/// The plugin's input value and its last output, for the nvim stubs.
#[derive(Default)]
pub struct Io {
    pub input: Vec<u8>,
    pub output: Vec<u8>,
}

pub struct Raw {
    pub store: Store<Io>,
    pub instance: Instance,
    memory: Memory,
    metering: Metering,
}

const BUDGET: i64 = 1 << 50;

impl Raw {
    pub fn new(bytes: &[u8], metering: Metering) -> Self {
        let mut config = Config::default();
        config.consume_fuel(metering == Metering::Wasmi);
        let engine = Engine::new(&config);
        let bytes = match metering {
            Metering::Instrumented => {
                let config = MeterConfig {
                    initial_fuel: BUDGET,
                    ..MeterConfig::default()
                };
                instrument(bytes, &config).unwrap()
            }
            _ => bytes.to_vec(),
        };
        let module = Module::new(&engine, &bytes[..]).unwrap();
        let linker = linker(&engine, &module);
        let mut store = Store::new(&engine, Io::default());
        if metering == Metering::Wasmi {
            store.set_fuel(BUDGET as u64).unwrap();
        }
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        Raw {
            store,
            instance,
            memory,
            metering,
        }
    }

    /// Fills the tank; the fuel used since is `BUDGET - left`.
    fn refuel(&mut self) {
        match self.metering {
            Metering::Wasmi => self.store.set_fuel(BUDGET as u64).unwrap(),
            Metering::Instrumented => {
                let g = self
                    .instance
                    .get_global(&self.store, "plugboard:fuel")
                    .unwrap();
                g.set(&mut self.store, Val::I64(BUDGET)).unwrap();
            }
            Metering::Off => {}
        }
    }

    fn used(&self) -> u64 {
        let left = match self.metering {
            Metering::Wasmi => self.store.get_fuel().unwrap() as i64,
            Metering::Instrumented => self
                .instance
                .get_global(&self.store, "plugboard:fuel")
                .unwrap()
                .get(&self.store)
                .i64()
                .unwrap(),
            Metering::Off => BUDGET,
        };
        (BUDGET - left) as u64
    }

    /// A buffer-ABI call (`plugins/rust/perf`): the bincode output and the fuel of the export
    /// call itself (not of the input's allocation).
    pub fn call_buffer(&mut self, export: &str, input: &[u8]) -> (Vec<u8>, u64) {
        let alloc = self
            .instance
            .get_typed_func::<i32, i32>(&self.store, "__alloc_buffer")
            .unwrap();
        let f = self
            .instance
            .get_typed_func::<i64, i64>(&self.store, export)
            .unwrap();
        let ptr = alloc.call(&mut self.store, input.len() as i32).unwrap();
        self.memory
            .write(&mut self.store, ptr as usize, input)
            .unwrap();
        self.refuel();
        let packed = ((ptr as u64) << 32 | input.len() as u64) as i64;
        let out = f.call(&mut self.store, packed).unwrap() as u64;
        let used = self.used();
        let (p, l) = ((out >> 32) as usize, (out & 0xffff_ffff) as usize);
        (self.memory.data(&self.store)[p..p + l].to_vec(), used)
    }

    /// An nvim-ABI call (`plugins/zig/perf.zig`): the output value's text and the fuel.
    pub fn call_nvim(&mut self, export: &str, input: &str) -> (String, u64) {
        let f = self
            .instance
            .get_typed_func::<u32, u32>(&self.store, export)
            .unwrap();
        self.store.data_mut().input = input.as_bytes().to_vec();
        self.refuel();
        f.call(&mut self.store, 1).unwrap();
        let used = self.used();
        (
            String::from_utf8(self.store.data().output.clone()).unwrap(),
            used,
        )
    }
}

fn linker(engine: &Engine, module: &Module) -> Linker<Io> {
    let mut linker = Linker::<Io>::new(engine);
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        let wasmi::ExternType::Func(ty) = import.ty() else {
            continue;
        };
        match (m, n) {
            ("host", "get_value_size") => {
                linker
                    .func_wrap(m, n, |c: Caller<'_, Io>, _id: u32| {
                        c.data().input.len() as u32
                    })
                    .unwrap();
            }
            ("host", "get_value_addr") => {
                linker
                    .func_wrap(
                        m,
                        n,
                        |mut c: Caller<'_, Io>, _id: u32| -> Result<u32, wasmi::Error> {
                            let input = c.data().input.clone();
                            let Some(Extern::Func(alloc)) = c.get_export("alloc") else {
                                return Err(wasmi::Error::new("no alloc"));
                            };
                            let alloc = alloc.typed::<u32, u32>(&c)?;
                            let ptr = alloc.call(&mut c, input.len() as u32)?;
                            let Some(Extern::Memory(mem)) = c.get_export("memory") else {
                                return Err(wasmi::Error::new("no memory"));
                            };
                            mem.write(&mut c, ptr as usize, &input)
                                .map_err(|e| wasmi::Error::new(e.to_string()))?;
                            Ok(ptr)
                        },
                    )
                    .unwrap();
            }
            ("host", "get_id") => {
                linker.func_wrap(m, n, || 2u32).unwrap();
            }
            ("host", "get_addr") => {
                linker.func_wrap(m, n, |p: u32| p).unwrap();
            }
            ("host", "set_value") => {
                linker
                    .func_wrap(
                        m,
                        n,
                        |mut c: Caller<'_, Io>, _id: u32, ptr: u32, len: u32| {
                            let Some(Extern::Memory(mem)) = c.get_export("memory") else {
                                return;
                            };
                            let bytes = mem.data(&c)[ptr as usize..(ptr + len) as usize].to_vec();
                            c.data_mut().output = bytes;
                        },
                    )
                    .unwrap();
            }
            ("plugboard", "out_of_fuel") => {
                linker
                    .func_wrap(m, n, || -> Result<(), wasmi::Error> {
                        Err(wasmi::Error::new("out of fuel"))
                    })
                    .unwrap();
            }
            _ => {
                let results: Vec<_> = ty.results().to_vec();
                linker
                    .func_new(m, n, ty.clone(), move |_, _, out: &mut [Val]| {
                        for (r, t) in out.iter_mut().zip(&results) {
                            *r = Val::default_for_ty(*t);
                        }
                        Ok(())
                    })
                    .unwrap();
            }
        }
    }
    linker
}

/// The fixture perf calls the `meter` test and bench compare: (call, wasmi's fuel, the
/// instrumenter's fuel), each on a fresh instance; panics if a call's result differs.
pub fn fuel_both_ways() -> Vec<(&'static str, u64, u64)> {
    let mut rows = Vec::new();
    for (name, export, input) in [
        (
            "Rust `sum(10_000)`",
            "__sum",
            bincode::serialize(&10_000u64).unwrap(),
        ),
        (
            "Rust `count_primes(1000)`",
            "__count_primes",
            bincode::serialize(&1000u32).unwrap(),
        ),
    ] {
        let (a, wasmi) =
            Raw::new(plugboard_fixtures::PERF, Metering::Wasmi).call_buffer(export, &input);
        let (b, meter) =
            Raw::new(plugboard_fixtures::PERF, Metering::Instrumented).call_buffer(export, &input);
        assert_eq!(a, b, "{name}: the same result both ways");
        rows.push((name, wasmi, meter));
    }
    for (name, export, input) in [
        ("Zig `for_loop(10_000)`", "for_loop", "10000"),
        ("Zig `primes(1000)`", "primes", "1000"),
    ] {
        let (a, wasmi) =
            Raw::new(plugboard_fixtures::ZIG_PERF, Metering::Wasmi).call_nvim(export, input);
        let (b, meter) =
            Raw::new(plugboard_fixtures::ZIG_PERF, Metering::Instrumented).call_nvim(export, input);
        assert_eq!(a, b, "{name}: the same result both ways");
        rows.push((name, wasmi, meter));
    }
    rows
}
