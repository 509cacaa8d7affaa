//! Profiling driver: the Lua performance loop through plugboard (`ours`) or raw piccolo
//! (`raw`), e.g. `valgrind --tool=callgrind target/release/examples/lua_loop ours`.

#![allow(clippy::print_stdout, clippy::unreachable)]

use piccolo::{Closure, Executor, Fuel, Lua, Value as LuaValue};

const PERF: &str = include_str!("../../../plugins/lua/perf/main.lua");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: i64 = 300_000;
    if std::env::args().nth(1).as_deref() == Some("raw") {
        let mut lua = Lua::core();
        let ex = lua.try_enter(|ctx| {
            let c = Closure::load(ctx, Some("main.lua"), PERF.as_bytes())?;
            Ok(ctx.stash(Executor::start(ctx, c.into(), ())))
        })?;
        lua.execute::<()>(&ex)?;
        let ex = lua.enter(|ctx| {
            let LuaValue::Function(f) = ctx.get_global("sum") else {
                unreachable!()
            };
            ctx.stash(Executor::start(ctx, f, n))
        });
        loop {
            let mut fuel = Fuel::with(16 * 1024);
            if lua.enter(|ctx| ctx.fetch(&ex).step(ctx, &mut fuel)) {
                break;
            }
        }
        let r = lua.try_enter(|ctx| ctx.fetch(&ex).take_result::<i64>(ctx)?)?;
        println!("{r}");
    } else {
        let host = plugboard_host_core::Host::builder().build();
        let mut p = host.load_lua("perf", PERF)?;
        let r: i64 = p.call("sum", &(n,))?;
        println!("{r}");
    }
    Ok(())
}
