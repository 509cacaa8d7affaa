//! Our Lua layer against raw piccolo doing the same work in the same run (target: ≤ 10% overhead
//! on the loop), and PUC Lua 5.4 through mlua as a reference (no target).
//!
//! - `perf_loop`: `sum(3_000_000)` of `plugins/lua/perf/main.lua`. Raw piccolo: `Lua::core()`,
//!   the function started on an `Executor` and stepped with the same fuel slice plugboard uses
//!   (16,384), entering the arena once per step, as any embedder that wants a bounded step must.
//! - `small_call`: `add(2, 40)` round trip with conversions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use piccolo::{Closure, Executor, Fuel, Lua, StashedExecutor, Value as LuaValue};
use plugboard_host_core::{Host, Plugin, Value};
use std::hint::black_box;

const PERF: &str = include_str!("../../../plugins/lua/perf/main.lua");
const ADD: &str = "function add(a, b) return a + b end";
const SLICE: i32 = 16 * 1024;

struct RawPiccolo {
    lua: Lua,
}

impl RawPiccolo {
    fn new(src: &str) -> Self {
        let mut lua = Lua::core();
        let ex = lua
            .try_enter(|ctx| {
                let c = Closure::load(ctx, Some("main.lua"), src.as_bytes())?;
                Ok(ctx.stash(Executor::start(ctx, c.into(), ())))
            })
            .unwrap();
        lua.execute::<()>(&ex).unwrap();
        RawPiccolo { lua }
    }

    fn call(&mut self, name: &'static str, args: (i64, i64), nargs: usize) -> i64 {
        let ex: StashedExecutor = self.lua.enter(|ctx| {
            let f = match ctx.get_global(name) {
                LuaValue::Function(f) => f,
                _ => panic!("no {name}"),
            };
            let ex = if nargs == 1 {
                Executor::start(ctx, f, args.0)
            } else {
                Executor::start(ctx, f, args)
            };
            ctx.stash(ex)
        });
        loop {
            let mut fuel = Fuel::with(SLICE);
            if self.lua.enter(|ctx| ctx.fetch(&ex).step(ctx, &mut fuel)) {
                break;
            }
        }
        self.lua
            .try_enter(|ctx| ctx.fetch(&ex).take_result::<i64>(ctx)?)
            .unwrap()
    }
}

fn plugboard(src: &str) -> Plugin {
    Host::builder().build().load_lua("bench", src).unwrap()
}

fn perf_loop(c: &mut Criterion) {
    let mut raw = RawPiccolo::new(PERF);
    let mut ours = plugboard(PERF);
    let puc = mlua::Lua::new();
    puc.load(PERF).exec().unwrap();
    let puc_sum: mlua::Function = puc.globals().get("sum").unwrap();
    let expected = 4_500_001_500_000i64;
    assert_eq!(raw.call("sum", (3_000_000, 0), 1), expected);
    assert_eq!(
        ours.call::<(i64,), i64>("sum", &(3_000_000,)).unwrap(),
        expected
    );
    assert_eq!(puc_sum.call::<i64>(3_000_000).unwrap(), expected);

    let mut g = c.benchmark_group("lua_perf_loop");
    g.sample_size(10);
    g.bench_function("raw_piccolo", |b| {
        b.iter(|| raw.call("sum", (black_box(3_000_000), 0), 1))
    });
    g.bench_function("plugboard", |b| {
        b.iter(|| {
            ours.call::<(i64,), i64>("sum", &(black_box(3_000_000),))
                .unwrap()
        })
    });
    g.bench_function("puc_lua_mlua", |b| {
        b.iter(|| puc_sum.call::<i64>(black_box(3_000_000)).unwrap())
    });
    g.finish();
}

fn small_call(c: &mut Criterion) {
    let mut raw = RawPiccolo::new(ADD);
    let mut ours = plugboard(ADD);
    let puc = mlua::Lua::new();
    puc.load(ADD).exec().unwrap();
    let puc_add: mlua::Function = puc.globals().get("add").unwrap();
    assert_eq!(
        ours.call_value("add", vec![Value::Int(2), Value::Int(40)])
            .unwrap(),
        Value::Int(42)
    );

    let mut g = c.benchmark_group("lua_small_call");
    g.bench_function("raw_piccolo", |b| {
        b.iter(|| raw.call("add", black_box((2, 40)), 2))
    });
    g.bench_function("plugboard", |b| {
        b.iter(|| {
            ours.call::<(i64, i64), i64>("add", black_box(&(2, 40)))
                .unwrap()
        })
    });
    g.bench_function("puc_lua_mlua", |b| {
        b.iter(|| puc_add.call::<i64>(black_box((2, 40))).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = perf_loop, small_call
}
criterion_main!(benches);
