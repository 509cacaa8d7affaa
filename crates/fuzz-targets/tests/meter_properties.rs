//! The fuel instrumenter against random valid modules (wasm-smith, production's proposals):
//! instrumented modules validate, compute what the original computes, and run out of fuel when,
//! and only when, the budget is below their cost.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use plugboard_host_core::internals;
use plugboard_host_core::meter::{instrument, MeterConfig};
use proptest::prelude::*;
use wasmi::{Config, Engine, Instance, Linker, Module, Store, Val};

/// wasm-smith limited to what production's engine accepts: wasm 2.0, tail calls, extended
/// constants; one memory; no imports (nothing to stub).
fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        max_imports: 0,
        max_memories: 1,
        max_funcs: 8,
        max_instructions: 200,
        min_funcs: 1,
        export_everything: true,
        allow_start_export: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        simd_enabled: false,
        relaxed_simd_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        gc_enabled: false,
        memory64_enabled: false,
        custom_page_sizes_enabled: false,
        wide_arithmetic_enabled: false,
        ..wasm_smith::Config::default()
    }
}

/// How one export call ended, comparably across engines.
#[derive(Debug, PartialEq)]
enum End {
    Returned(Vec<String>),
    Trapped(String),
    OutOfFuel,
}

fn show(v: &Val) -> String {
    match v {
        Val::FuncRef(r) => format!("funcref null={}", r.is_null()),
        Val::ExternRef(r) => format!("externref null={}", r.is_null()),
        other => format!("{other:?}"),
    }
}

struct Runner {
    store: Store<u32>,
    instance: Instance,
    metered: bool,
}

const OOF: &str = "plugboard out of fuel";

impl Runner {
    /// The module on wasmi: metered by wasmi's own fuel (`metered == false`: `wasm` is the
    /// original) or by the instrumenter (`wasm` is instrumented, wasmi's fuel off).
    fn new(wasm: &[u8], metered: bool, fuel: u64) -> Option<Self> {
        let mut config = Config::default();
        config.consume_fuel(!metered);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).expect("validates");
        let mut store = Store::new(&engine, 0u32);
        if !metered {
            store.set_fuel(fuel).unwrap();
        }
        let mut linker = Linker::<u32>::new(&engine);
        linker
            .func_wrap(
                "plugboard",
                "out_of_fuel",
                |mut c: wasmi::Caller<'_, u32>| -> Result<(), wasmi::Error> {
                    *c.data_mut() += 1;
                    Err(wasmi::Error::new(OOF))
                },
            )
            .unwrap();
        // A start function that traps or runs out: nothing to compare calls on.
        let instance = linker.instantiate_and_start(&mut store, &module).ok()?;
        Some(Runner {
            store,
            instance,
            metered,
        })
    }

    fn set_fuel(&mut self, fuel: i64) {
        if self.metered {
            let g = self
                .instance
                .get_global(&self.store, "plugboard:fuel")
                .unwrap();
            g.set(&mut self.store, Val::I64(fuel)).unwrap();
        } else {
            self.store.set_fuel(fuel as u64).unwrap();
        }
    }

    fn fuel(&self) -> i64 {
        if self.metered {
            let g = self
                .instance
                .get_global(&self.store, "plugboard:fuel")
                .unwrap();
            g.get(&self.store).i64().unwrap()
        } else {
            self.store.get_fuel().unwrap() as i64
        }
    }

    fn exports(&self) -> Vec<String> {
        self.instance
            .exports(&self.store)
            .filter(|e| e.clone().into_func().is_some())
            .map(|e| e.name().to_string())
            .collect()
    }

    fn call(&mut self, name: &str) -> End {
        let f = self.instance.get_func(&self.store, name).unwrap();
        let (params, mut results) = internals::default_values(&f.ty(&self.store));
        let before = *self.store.data();
        match f.call(&mut self.store, &params, &mut results) {
            Ok(()) if self.metered && self.fuel() < 0 => End::OutOfFuel,
            Ok(()) => End::Returned(results.iter().map(show).collect()),
            Err(_) if *self.store.data() > before => End::OutOfFuel,
            Err(e) if e.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel) => End::OutOfFuel,
            Err(e) => End::Trapped(format!("{:?}", e.as_trap_code())),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn instrumented_modules_compute_the_same_and_stop_at_their_cost(
        seed in proptest::collection::vec(any::<u8>(), 64..2048)
    ) {
        let mut u = arbitrary::Unstructured::new(&seed);
        let Ok(module) = wasm_smith::Module::new(smith_config(), &mut u) else {
            return Ok(());
        };
        let wasm = module.to_bytes();
        // The start function runs on the initial fuel: bounded, as wasmi's run of it is.
        let config = MeterConfig { initial_fuel: 4_000_000, ..MeterConfig::default() };
        let metered = instrument(&wasm, &config).expect("instrumented");
        wasmparser::Validator::new().validate_all(&metered).expect("the output validates");

        // The same calls both ways: wasmi's fuel (100k a call) against the instrumenter's
        // (4x that: it counts somewhat less than wasmi); results and traps must agree wherever
        // wasmi's run did not run out.
        const WASMI_FUEL: u64 = 100_000;
        let (Some(mut a), Some(mut b)) = (
            Runner::new(&wasm, false, 1_000_000),
            Runner::new(&metered, true, 0),
        ) else {
            return Ok(());
        };
        for name in a.exports() {
            a.set_fuel(WASMI_FUEL as i64);
            b.set_fuel(4 * WASMI_FUEL as i64);
            let (x, y) = (a.call(&name), b.call(&name));
            if x == End::OutOfFuel {
                // Different units: the instrumented run may get further. Its state may differ
                // from here on.
                break;
            }
            prop_assert_eq!(&x, &y, "export {}", name);
        }

        // The exact budget: a fresh instance's first export, given exactly what it costs,
        // finishes with the counter at zero; given one less, it runs out.
        let Some(mut probe) = Runner::new(&metered, true, 0) else { return Ok(()) };
        let Some(first) = probe.exports().into_iter().next() else { return Ok(()) };
        let big = 4_000_000;
        probe.set_fuel(big);
        let End::Returned(result) = probe.call(&first) else { return Ok(()) };
        let cost = big - probe.fuel();
        let mut exact = Runner::new(&metered, true, 0).unwrap();
        exact.set_fuel(cost);
        prop_assert_eq!(exact.call(&first), End::Returned(result), "with exactly its cost");
        prop_assert_eq!(exact.fuel(), 0);
        if cost > 0 {
            let mut short = Runner::new(&metered, true, 0).unwrap();
            short.set_fuel(cost - 1);
            prop_assert_eq!(short.call(&first), End::OutOfFuel, "with one unit less than its cost");
        }
    }
}
