//! The fuzz targets of plugboard (RELIABILITY.md §5.8), as plain functions of the input bytes.
//!
//! `fuzz/` (cargo-fuzz, nightly) wraps each in `fuzz_target!`; `tests/corpus.rs` runs every
//! file of `fuzz/corpus/<target>` through it on stable, so the corpora are regression tests.
//! A target panics only when its oracle fails: a host panic, an error of the wrong kind, a
//! model disagreement, or a canary call on the same host that no longer answers.

// A fuzz target reports a broken oracle by panicking: that is what the fuzzer catches.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod bincode;
mod common;
mod dts;
mod instrument;
mod json;
mod kernel;
mod lua;
mod lua_ast;
mod module;
mod nvim;

pub use bincode::{bincode_decode, buffer_abi};
pub use dts::dts;
pub use instrument::instrument;
pub use json::json_text;
pub use kernel::kernel_ops;
pub use lua::lua_source;
pub use lua_ast::lua_ast;
pub use module::module_load;
pub use nvim::nvim_ids;

/// A target: its name (the `fuzz/fuzz_targets/<name>.rs` file and corpus folder) and body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("module_load", module_load),
    ("buffer_abi", buffer_abi),
    ("bincode_decode", bincode_decode),
    ("kernel_ops", kernel_ops),
    ("nvim_ids", nvim_ids),
    ("json_text", json_text),
    ("lua_source", lua_source),
    ("lua_ast", lua_ast),
    ("dts", dts),
    ("instrument", instrument),
];
