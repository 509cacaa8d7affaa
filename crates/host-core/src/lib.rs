//! # plugboard-host-core
//!
//! The engine of plugboard: loads WebAssembly plugins and runs them in the interpreter wasmi,
//! always under a fuel budget, a memory cap and size limits, with host functions registered once
//! and callable from every plugin ABI. No native code: it builds for `wasm32-unknown-unknown`
//! as well as natively.
//!
//! ```
//! use plugboard_host_core::{Host, Limits, Step};
//! # fn main() -> Result<(), plugboard_host_core::Error> {
//! # let wasm = plugboard_host_core::doc_example_plugin();
//! // A host with one host function, registered once for every ABI.
//! let host = Host::builder()
//!     .func("math", "mystery_number", |x: u32| x + 7)
//!     .limits(Limits { fuel: 10_000_000, ..Limits::default() })
//!     .build();
//!
//! // Load a plugin: its ABI (here: the buffer ABI of Zed's plugin runner) is detected.
//! let mut plugin = host.load_wasm(&wasm)?;
//!
//! // Typed call: arguments and result travel as bincode.
//! let sum: u32 = plugin.call("add", &(3u32, 4u32))?;
//! assert_eq!(sum, 7);
//!
//! // The same call as a state machine, one fuel slice at a time: this is how an embedder
//! // keeps an event loop responsive.
//! plugin.start_call("add", plugboard_host_core::encode(&(1u32, 2u32))?)?;
//! let out = loop {
//!     match plugin.resume()? {
//!         Step::Done(bytes) => break bytes,
//!         Step::Yielded => { /* yield to the event loop here */ }
//!         Step::Pending(host_call) => { let r = pollster_like(host_call); plugin.complete(r)?; }
//!     }
//! };
//! assert_eq!(plugboard_host_core::decode::<u32>(&out)?, 3);
//!
//! // Limits are errors of their own kind, and the host keeps working.
//! let mut looping = host.load_wasm(&plugboard_host_core::doc_example_loop())?;
//! let err = looping.call::<(), ()>("spin", &()).unwrap_err();
//! assert!(err.is_out_of_fuel());
//! # fn pollster_like(_: plugboard_host_core::PendingHostCall) -> Result<plugboard_host_core::HostCompletion, plugboard_host_core::Error> { unreachable!() }
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

mod abi;
mod call;
mod codec;
mod error;
mod host;
mod limits;
mod plugin;
mod schema;
mod value;
mod wasm;

pub use crate::abi::Abi;
pub use crate::call::{HostCompletion, PendingHostCall, Step};
pub use crate::error::{AbiViolation, DecodeError, Error, ErrorKind, HostFunctionFailure, TrapCode};
pub use crate::host::{Host, HostBuilder, LogRecord, LogStream};
pub use crate::limits::Limits;
pub use crate::plugin::{ExportInfo, ImportInfo, Plugin, PluginOptions, SIGNATURE_SECTION};
pub use crate::schema::{Direction, FunctionSignature, Signature, Type};
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
