//! Call overhead of plugboard's buffer ABI against raw wasmi doing the same work by hand, in
//! the same run: `perf.wasm`'s `__add` and `__echo`, fuel metering on in both.
//!
//! raw wasmi: write the bincode bytes into a buffer from `__alloc_buffer`, call the export as a
//! typed `(i64) -> i64`, copy the output out, `__free_buffer` it. plugboard: `plugin.call`.
//! Also: a plain wasm `(i32, i32) -> i32` add as the floor of any call into wasmi.

// Benchmark harness: a failed setup should abort the run loudly.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use plugboard_host_core::{Host, Limits};
use std::hint::black_box;
use wasmi::{Engine, Linker, Memory, Module, Store, TypedFunc, Val};

struct Raw {
    store: Store<()>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    free: TypedFunc<i64, ()>,
}

impl Raw {
    fn new(engine: &Engine, bytes: &[u8]) -> (Self, wasmi::Instance) {
        let module = Module::new(engine, bytes).unwrap();
        let linker = stub_linker(engine, &module);
        let mut store = Store::new(engine, ());
        store.set_fuel(u64::MAX).unwrap();
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        let alloc = instance.get_typed_func(&store, "__alloc_buffer").unwrap();
        let free = instance.get_typed_func(&store, "__free_buffer").unwrap();
        (
            Raw {
                store,
                memory,
                alloc,
                free,
            },
            instance,
        )
    }

    fn call(&mut self, f: &TypedFunc<i64, i64>, input: &[u8]) -> Vec<u8> {
        self.store.set_fuel(100_000_000).unwrap();
        let ptr = self
            .alloc
            .call(&mut self.store, input.len() as i32)
            .unwrap();
        self.memory
            .write(&mut self.store, ptr as usize, input)
            .unwrap();
        let packed = ((ptr as u64) << 32 | input.len() as u64) as i64;
        let out = f.call(&mut self.store, packed).unwrap() as u64;
        let (p, l) = ((out >> 32) as usize, (out & 0xffff_ffff) as usize);
        let bytes = self.memory.data(&self.store)[p..p + l].to_vec();
        self.free.call(&mut self.store, out as i64).unwrap();
        bytes
    }
}

/// A linker whose every import of `module` is a stub returning zeros.
fn stub_linker(engine: &Engine, module: &Module) -> Linker<()> {
    let mut linker = Linker::<()>::new(engine);
    for import in module.imports() {
        if let wasmi::ExternType::Func(ty) = import.ty() {
            let types: Vec<_> = ty.results().to_vec();
            linker
                .func_new(
                    import.module(),
                    import.name(),
                    ty.clone(),
                    move |_, _, out: &mut [Val]| {
                        for (r, t) in out.iter_mut().zip(&types) {
                            *r = if *t == wasmi::ValType::I64 {
                                Val::I64(0)
                            } else {
                                Val::I32(0)
                            };
                        }
                        Ok(())
                    },
                )
                .unwrap();
        }
    }
    linker
}

fn engine() -> Engine {
    let mut config = wasmi::Config::default();
    config.consume_fuel(true);
    Engine::new(&config)
}

fn small_call(c: &mut Criterion) {
    let engine = engine();
    let (mut raw, instance) = Raw::new(&engine, plugboard_fixtures::PERF);
    let add = instance
        .get_typed_func::<i64, i64>(&raw.store, "__add")
        .unwrap();
    let host = Host::builder().limits(Limits::default()).build();
    let mut plugin = host.load_wasm(plugboard_fixtures::PERF).unwrap();

    let floor = Module::new(&engine, wat::parse_str(r#"(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"#).unwrap()).unwrap();
    let mut fstore = Store::new(&engine, ());
    fstore.set_fuel(u64::MAX).unwrap();
    let finst = Linker::new(&engine)
        .instantiate_and_start(&mut fstore, &floor)
        .unwrap();
    let fadd = finst
        .get_typed_func::<(i32, i32), i32>(&fstore, "add")
        .unwrap();

    let mut g = c.benchmark_group("small_call");
    g.bench_function("wasmi_plain_i32_add", |b| {
        b.iter(|| fadd.call(&mut fstore, black_box((3, 4))).unwrap())
    });
    g.bench_function("raw_wasmi", |b| {
        b.iter(|| {
            let input = bincode::serialize(&black_box((3i32, 4i32))).unwrap();
            let out = raw.call(&add, &input);
            bincode::deserialize::<i32>(&out).unwrap()
        })
    });
    g.bench_function("plugboard", |b| {
        b.iter(|| {
            plugin
                .call::<(i32, i32), i32>("add", black_box(&(3, 4)))
                .unwrap()
        })
    });
    g.finish();
}

fn string_round_trip(c: &mut Criterion) {
    let engine = engine();
    let (mut raw, instance) = Raw::new(&engine, plugboard_fixtures::PERF);
    let echo = instance
        .get_typed_func::<i64, i64>(&raw.store, "__echo")
        .unwrap();
    let host = Host::builder().build();
    let mut plugin = host.load_wasm(plugboard_fixtures::PERF).unwrap();
    let s = "x".repeat(64);

    let mut g = c.benchmark_group("string64");
    g.bench_function("raw_wasmi", |b| {
        b.iter(|| {
            let input = bincode::serialize(black_box(&s)).unwrap();
            let out = raw.call(&echo, &input);
            bincode::deserialize::<String>(&out).unwrap()
        })
    });
    g.bench_function("plugboard", |b| {
        b.iter(|| {
            plugin
                .call::<String, String>("echo", black_box(&s))
                .unwrap()
        })
    });
    g.finish();
}

/// Extism kernel ABI: `echo` of a 64-byte input through plugboard, against raw wasmi calling
/// the same module's `code` export (a `() -> i32` that touches no kernel function) as the floor.
fn extism_call(c: &mut Criterion) {
    let engine = engine();
    let module = Module::new(&engine, plugboard_fixtures::EXTISM_KITCHEN).unwrap();
    let linker = stub_linker(&engine, &module);
    let mut store = Store::new(&engine, ());
    store.set_fuel(u64::MAX).unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let code = instance.get_typed_func::<(), i32>(&store, "code").unwrap();

    let host = Host::builder()
        .func("env", "shout", |s: String| s)
        .func("env", "add", |v: serde_json::Value| v)
        .build();
    let mut plugin = host.load_wasm(plugboard_fixtures::EXTISM_KITCHEN).unwrap();
    let input = vec![b'x'; 64];

    let mut g = c.benchmark_group("extism64");
    g.bench_function("raw_wasmi_floor", |b| {
        b.iter(|| code.call(&mut store, ()).unwrap())
    });
    g.bench_function("plugboard_noop", |b| {
        b.iter(|| plugin.call_bytes("noop", black_box(input.clone())).unwrap())
    });
    g.bench_function("plugboard_echo", |b| {
        b.iter(|| plugin.call_bytes("echo", black_box(input.clone())).unwrap())
    });
    g.finish();
}

/// Cold start: load the 160 KB Extism plugin and make its first call (`noop`), against raw
/// wasmi compiling the same module eagerly (its default) and with lazy translation (what
/// plugboard does), instantiating it and calling `code`. plugboard twice: bytes it has not
/// seen (the plugin with a counter in a custom section), and the same bytes again (its
/// module cache).
fn cold_start(c: &mut Criterion) {
    let bytes = plugboard_fixtures::EXTISM_KITCHEN;
    let mut fresh = 0u32;
    let mut new_bytes = move || {
        fresh += 1;
        let mut b = bytes.to_vec();
        b.extend_from_slice(&[0, 8, 3, b't', b'a', b'g']);
        b.extend_from_slice(&fresh.to_le_bytes());
        b
    };
    let host = || {
        Host::builder()
            .func("env", "shout", |s: String| s)
            .func("env", "add", |v: serde_json::Value| v)
            .build()
    };
    let raw = |mode: wasmi::CompilationMode| {
        move || {
            let mut config = wasmi::Config::default();
            config.consume_fuel(true).compilation_mode(mode);
            let engine = Engine::new(&config);
            let module = Module::new(&engine, bytes).unwrap();
            let linker = stub_linker(&engine, &module);
            let mut store = Store::new(&engine, ());
            store.set_fuel(u64::MAX).unwrap();
            let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
            let code = instance.get_typed_func::<(), i32>(&store, "code").unwrap();
            code.call(&mut store, ()).unwrap()
        }
    };
    let mut g = c.benchmark_group("cold_start");
    g.bench_function("raw_wasmi_eager", |b| {
        b.iter(raw(wasmi::CompilationMode::Eager))
    });
    g.bench_function("raw_wasmi_lazy_translation", |b| {
        b.iter(raw(wasmi::CompilationMode::LazyTranslation))
    });
    g.bench_function("plugboard_new_bytes", |b| {
        b.iter_batched(
            &mut new_bytes,
            |bytes| {
                let mut plugin = host().load_wasm(&bytes).unwrap();
                plugin.call_bytes("noop", Vec::new()).unwrap()
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("plugboard_same_bytes", |b| {
        b.iter(|| {
            let mut plugin = host().load_wasm(black_box(bytes)).unwrap();
            plugin.call_bytes("noop", Vec::new()).unwrap()
        })
    });
    g.finish();
}

fn perf_loop(c: &mut Criterion) {
    let host = Host::builder().build();
    let mut plugin = host.load_wasm(plugboard_fixtures::PERF).unwrap();
    let mut g = c.benchmark_group("perf_loop");
    g.sample_size(10);
    g.bench_function("plugboard_sum_3M", |b| {
        b.iter(|| {
            plugin
                .call::<u64, u64>("sum", black_box(&3_000_000))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = small_call, string_round_trip, extism_call, cold_start, perf_loop
}
criterion_main!(benches);
