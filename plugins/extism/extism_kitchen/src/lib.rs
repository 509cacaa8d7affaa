//! An unmodified extism-pdk plugin exercising the kernel ABI: config, vars, user host
//! functions, HTTP, logs, errors, return codes and a runaway loop.

use extism_pdk::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct VowelReport {
    count: u64,
    total: u64,
    vowels: String,
}

/// The classic: counts vowels (from `config.vowels`), accumulating `total` in a var.
#[plugin_fn]
pub fn count_vowels(input: String) -> FnResult<Json<VowelReport>> {
    let vowels = config::get("vowels")?.unwrap_or_else(|| "aeiouAEIOU".to_string());
    let count = input.chars().filter(|c| vowels.contains(*c)).count() as u64;
    let total = var::get::<u64>("total")?.unwrap_or(0) + count;
    var::set("total", total)?;
    Ok(Json(VowelReport { count, total, vowels }))
}

#[derive(Serialize, Deserialize)]
struct Pair {
    a: i64,
    b: i64,
}

#[derive(Serialize, Deserialize)]
struct Sum {
    sum: i64,
}

#[host_fn]
extern "ExtismHost" {
    fn shout(text: String) -> String;
    fn add(pair: Json<Pair>) -> Json<Sum>;
}

/// Calls two user host functions: one over text, one over JSON.
#[plugin_fn]
pub fn call_host(input: String) -> FnResult<String> {
    let loud = unsafe { shout(input)? };
    let Json(s) = unsafe { add(Json(Pair { a: 2, b: 3 }))? };
    Ok(format!("{loud} {}", s.sum))
}

/// Fetches a URL through the host's HTTP client.
#[plugin_fn]
pub fn fetch(url: String) -> FnResult<String> {
    let req = HttpRequest::new(&url).with_header("x-plugin", "kitchen");
    let res = http::request::<()>(&req, None)?;
    Ok(format!("{} {}", res.status_code(), String::from_utf8_lossy(&res.body())))
}

/// Fails with the input as its message.
#[plugin_fn]
pub fn fail(message: String) -> FnResult<()> {
    Err(Error::msg(message).into())
}

/// Returns a non-zero code without setting an error.
#[no_mangle]
pub extern "C" fn code() -> i32 {
    7
}

/// Never returns.
#[plugin_fn]
pub fn spin() -> FnResult<()> {
    let mut i: u64 = 0;
    loop {
        i = std::hint::black_box(i.wrapping_add(1));
    }
}

/// Logs at every level.
#[plugin_fn]
pub fn logs(message: String) -> FnResult<()> {
    trace!("trace {message}");
    debug!("debug {message}");
    info!("info {message}");
    warn!("warn {message}");
    error!("error {message}");
    Ok(())
}

/// Returns its input bytes unchanged.
#[plugin_fn]
pub fn echo(input: Vec<u8>) -> FnResult<Vec<u8>> {
    Ok(input)
}

/// Reads a var set by an earlier call, or by `count_vowels`.
#[plugin_fn]
pub fn read_var(name: String) -> FnResult<String> {
    Ok(var::get::<String>(&name)?.unwrap_or_default())
}

/// Stores `input` bytes under a var named "blob".
#[plugin_fn]
pub fn store_blob(input: Vec<u8>) -> FnResult<u64> {
    var::set("blob", input.clone())?;
    Ok(input.len() as u64)
}

/// Does nothing and touches no kernel function: measures a host's own per-call overhead.
#[no_mangle]
pub extern "C" fn noop() -> i32 {
    0
}
