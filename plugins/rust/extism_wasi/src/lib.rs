//! An extism-pdk plugin built for wasm32-wasip1 that prints through WASI (needs `wasi: true`).

use extism_pdk::*;

#[plugin_fn]
pub fn greet(name: String) -> FnResult<String> {
    println!("printing to stdout for {name}");
    eprintln!("printing to stderr for {name}");
    Ok(format!("Hello, {name}!"))
}
