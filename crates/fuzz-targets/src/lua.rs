//! `lua_source`: raw bytes as the `main.lua` of a Lua plugin: loaded (size cap, nesting
//! pre-scan, parse, lowering, compile, the main chunk under the instantiation budget), then
//! each global function it defines called with no arguments. Oracle: typed errors only (a
//! contained engine panic counts as typed); the canary answers afterwards.

use crate::common::{expect_hostile_lua, with_host};
use plugboard_host_core::{Host, Plugin, Value};

/// Loads `source` and calls up to four of its functions; `None` if it did not load.
pub(crate) fn run(
    host: &Host,
    source: &str,
) -> Option<(Plugin, Vec<Result<String, &'static str>>)> {
    let mut plugin = match host.load_lua("fuzz", source) {
        Ok(p) => p,
        Err(e) => {
            expect_hostile_lua(&e);
            return None;
        }
    };
    let names: Vec<String> = plugin.exports().iter().map(|e| e.name.clone()).collect();
    let mut outcomes = Vec::new();
    for name in names.iter().take(4) {
        outcomes.push(match plugin.call_value(name, vec![Value::Int(3)]) {
            Ok(v) => Ok(v.to_json()),
            Err(e) => {
                expect_hostile_lua(&e);
                Err(e.kind_name())
            }
        });
    }
    Some((plugin, outcomes))
}

pub fn lua_source(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    with_host(|host| {
        run(host, &source);
    });
}
