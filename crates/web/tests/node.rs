//! The JS binding in Node: `wasm-pack test --node crates/web -- --test node`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

include!("common/mod.rs");
