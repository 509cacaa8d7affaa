//! One integration-test binary for plugboard-host-core; one module per feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod buffer_abi;
mod conformance;
mod extism_bytes;
mod fixed;
mod host_functions;
mod hostile;
mod idl;
mod kernel;
mod limits;
mod lua;
mod lua_base;
mod lua_debug;
mod lua_hostile;
mod lua_load;
mod lua_pack;
mod lua_syntax;
mod lua_vm_fixes;
mod manifest;
mod meter;
mod modules;
mod nvim;
mod plugins;
mod raw_wasmi;
mod state_machine;
mod wasi;
