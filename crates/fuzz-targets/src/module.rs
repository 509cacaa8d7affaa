//! `module_load`: raw bytes as a WebAssembly module, loaded (ABI detection, validation, the
//! ABI's export checks, instantiation under the instantiation budget), then every export
//! called with a slice of the same bytes as input, under small limits.

use crate::common::{expect_hostile, limits, with_host};
use plugboard_host_core::PluginOptions;

pub fn module_load(data: &[u8]) {
    with_host(|host| {
        let options = PluginOptions::named("fuzz")
            .with_limits(limits())
            .stub_missing_imports();
        let mut plugin = match host.load_wasm_with(data, options) {
            Ok(p) => p,
            Err(e) => return expect_hostile(&e),
        };
        let names: Vec<String> = plugin.exports().iter().map(|e| e.name.clone()).collect();
        let input = data[..data.len().min(32)].to_vec();
        for name in names.iter().take(8) {
            if let Err(e) = plugin.call_bytes(name, input.clone()) {
                expect_hostile(&e);
            }
        }
    });
}
