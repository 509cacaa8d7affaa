//! Profiling driver: 200k calls of the Extism kitchen plugin's `noop` export (or the export
//! named by the first argument, e.g. `echo`) with a 64-byte input
//! (`valgrind --tool=callgrind target/release/examples/noop_loop echo`).

fn main() -> Result<(), plugboard_host_core::Error> {
    let host = plugboard_host_core::Host::builder()
        .func("env", "shout", |s: String| s)
        .func("env", "add", |v: serde_json::Value| v)
        .build();
    let mut plugin = host.load_wasm(plugboard_fixtures::EXTISM_KITCHEN)?;
    let input = vec![b'x'; 64];
    let export = std::env::args().nth(1).unwrap_or_else(|| "noop".to_owned());
    for _ in 0..200_000 {
        plugin.call_bytes(&export, input.clone())?;
    }
    Ok(())
}
