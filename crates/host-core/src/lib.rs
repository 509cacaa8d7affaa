//! # plugboard-host-core
//!
//! The engine of plugboard: loads WebAssembly plugins and runs them in the interpreter wasmi,
//! always under a fuel budget, a memory cap and size limits, with host functions registered once
//! and callable from every plugin ABI. No native code: it builds for `wasm32-unknown-unknown`
//! as well as natively.
//!
//! ```
//! use plugboard_host_core::{Host, Limits, PluginOptions, Step, Value};
//! # fn main() -> Result<(), plugboard_host_core::Error> {
//! // Host functions are registered once, for every plugin and ABI.
//! let host = Host::builder()
//!     .func("math", "mystery_number", |x: u32| x + 7)
//!     .build();
//!
//! // A plugin built with `plugboard-plugin` (plugins/rust/double); its ABI is detected.
//! let mut plugin = host.load_wasm(plugboard_fixtures::DOUBLE)?;
//!
//! // Typed call: arguments and result travel as bincode.
//! let doubled: Vec<f64> = plugin.call("double", &vec![1.5, 2.5])?;
//! assert_eq!(doubled, [3.0, 5.0]);
//!
//! // Dynamic call: the plugin embeds its signatures, so plain values work too.
//! let v = plugin.call_value("double", vec![Value::from_json("[1, 2]")?])?;
//! assert_eq!(v.to_json(), "[2.0,4.0]");
//!
//! // The same machinery one fuel slice at a time: how an embedder keeps an event loop live.
//! let mut perf = host.load_wasm(plugboard_fixtures::PERF)?;
//! perf.start_call("sum", plugboard_host_core::encode(&1_000_000u64)?)?;
//! let out = loop {
//!     match perf.resume()? {
//!         Step::Done(bytes) => break bytes,
//!         Step::Yielded => { /* yield to the event loop */ }
//!         Step::Pending(_) => unreachable!("no async host functions here"),
//!     }
//! };
//! assert_eq!(plugboard_host_core::decode::<u64>(&out)?, 500_000_500_000);
//!
//! // A limit is an error of its own kind, and the host keeps working.
//! let tight = Limits { fuel: 10_000, ..Limits::default() };
//! let mut runaway = host.load_wasm_with(plugboard_fixtures::PERF, PluginOptions::named("runaway").with_limits(tight))?;
//! assert!(runaway.call::<u64, u64>("sum", &u64::MAX).unwrap_err().is_out_of_fuel());
//! assert_eq!(perf.call::<u64, u64>("sum", &3)?, 6);
//! # Ok(())
//! # }
//! ```
//!
//! ## Concepts
//!
//! - [`Host`] owns the engine, the host functions ([`HostBuilder::func`], [`HostBuilder::func_async`],
//!   [`HostBuilder::func_dynamic`]) and default [`Limits`].
//! - [`Plugin`] is one loaded plugin with its own store; [`Plugin::call`] drives the
//!   [call state machine](Step) to the end, [`Plugin::call_async`] awaits async host functions.
//! - [`Value`] and [`Type`] carry dynamic calls ([`Plugin::call_value`]) where the plugin embeds
//!   its signatures (the guest SDK does).
//! - Every failure is an [`Error`] with an [`ErrorKind`]; nothing a plugin does panics the host.
//! - WASI preview 1 runs in memory: [`WasiConfig`], [`MemFs`].
//!
//! ## Building
//!
//! wasmi 2.0 uses tail-call dispatch when optimised. With `debug-assertions` also on (for
//! example `[profile.dev.package."*"] opt-level = 2`), LLVM does not emit the sibling calls and a
//! long-running plugin overflows the native stack, aborting the process. If you optimise
//! dependencies in a debug profile, add `[profile.dev.package.wasmi] debug-assertions = false`.

mod abi;
mod call;
mod codec;
mod error;
mod extism_args;
mod host;
mod idl;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod internals;
mod limits;
mod lua;
mod manifest;
#[cfg(feature = "meter")]
pub mod meter;
mod peers;
mod plugin;
mod schema;
mod value;
mod wasm;

pub use crate::abi::kernel::{HttpRequest, HttpResponse, KernelConfig};
pub use crate::abi::Abi;
pub use crate::call::{HostCompletion, PendingHostCall, Step};
pub use crate::error::{
    AbiViolation, DecodeError, Error, ErrorKind, HostFunctionFailure, ResourceLimit, TrapCode,
};
pub use crate::host::{Host, HostBuilder, HostReturn, LogLevel, LogRecord, LogStream};
pub use crate::idl::{HostImport, IdlType, Interface};
pub use crate::limits::Limits;
pub use crate::lua::manager::{LifecycleError, LuaManager, Message, RunReport, Stopper};
pub use crate::manifest::{Manifest, MemoryOptions, WasmSource};
pub use crate::peers::SharedPlugin;
pub use crate::plugin::{
    ExportInfo, ImportInfo, Plugin, PluginInfo, PluginOptions, SIGNATURE_SECTION,
};
pub use crate::schema::{
    Declarations, Direction, Fields, FunctionSignature, Signature, Type, Variant,
};
pub use crate::value::Value;
pub use crate::wasm::wasi::{MemFs, WasiConfig};

/// Encodes a value the way the buffer ABI does (bincode 1.x legacy).
///
/// # Errors
///
/// [`ErrorKind::Encode`] if serde cannot encode it (e.g. a sequence of unknown length).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    codec::to_bytes(value)
}

/// Decodes bincode 1.x legacy bytes, with a nesting limit of 64 and no trailing bytes.
///
/// # Errors
///
/// [`ErrorKind::Decode`] for malformed, hostile or trailing data.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    codec::from_bytes(bytes)
}

/// Decodes bincode bytes of a known [`Type`] into a [`Value`].
///
/// # Errors
///
/// As [`decode`].
pub fn decode_value(bytes: &[u8], ty: &Type) -> Result<Value, Error> {
    codec::decode_value(bytes, ty)
}

/// Encodes a [`Value`] as bincode bytes of a known [`Type`].
///
/// # Errors
///
/// [`ErrorKind::Encode`] when the value does not fit the type.
pub fn encode_value(value: &Value, ty: &Type) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    codec::encode_value(value, ty, &mut out)?;
    Ok(out)
}
