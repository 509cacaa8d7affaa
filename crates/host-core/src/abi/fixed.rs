//! The fixed ABI of wasmer-plugin (docs/abis.md §2), byte-compatible.
//!
//! ```text
//! plugin exports                     memory 0 during a call
//!   memory                             [1..5)  result length, u32 little-endian (the guest
//!   _<name>(ptr: i32, len: u32) -> i32         writes it)
//!                                      [5..5+len)  the input, bincode (the host writes it)
//! ```
//!
//! The host zeroes bytes 1..5, writes the input at offset 5, calls `_name(5, len)`, reads the
//! length at 1 and that many bytes at the returned pointer (at once: the guest has already
//! dropped that buffer), then decodes. One argument, one result, bincode 1.x legacy; no imports.
//! The original runner instantiated the module afresh for every call, so no state persists
//! between calls: so do we, unless [`PluginOptions::reuse_instance`](crate::PluginOptions) is set.

use crate::error::{AbiViolation, Error, ErrorKind};
use crate::plugin::{link_error, ExportInfo};
use crate::schema::{Direction, FunctionSignature};
use crate::wasm::{self, StoreData};
use wasmi::{Func, Instance, Module, Store, Val, ValType};

/// Exports carry this prefix before the function name.
pub(crate) const PREFIX: &str = "_";
/// Where the guest writes the result's length.
pub(crate) const LENGTH_AT: u64 = 1;
/// Where the host writes the input.
pub(crate) const INPUT_AT: u64 = 5;

fn callable(ty: &wasmi::FuncType) -> bool {
    ty.params() == [ValType::I32, ValType::I32] && ty.results() == [ValType::I32]
}

/// The `_name` exports of the right type, by name without the prefix.
fn functions(module: &Module) -> impl Iterator<Item = &str> + '_ {
    module.exports().filter_map(|e| {
        let wasmi::ExternType::Func(ty) = e.ty() else {
            return None;
        };
        let name = e.name().strip_prefix(PREFIX)?;
        // `__name` exports are the buffer ABI's; `_initialize` and friends are not calls.
        (callable(ty) && !name.starts_with('_') && !name.is_empty()).then_some(name)
    })
}

/// A fixed-ABI module: exported memory, at least one `_name: (i32, i32) -> i32`, and no
/// imports except WASI.
pub(crate) fn looks_like(module: &Module) -> bool {
    functions(module).next().is_some()
        && wasm::memory_export(module).is_ok()
        && module
            .imports()
            .all(|i| i.module() == crate::wasm::wasi::MODULE)
}

pub(crate) fn validate(module: &Module) -> Result<(), Error> {
    wasm::memory_export(module)?;
    if functions(module).next().is_none() {
        return Err(ErrorKind::MissingExport {
            name: "any function `_<name>` of type (i32, i32) -> (i32)".into(),
        }
        .into());
    }
    Ok(())
}

pub(crate) fn exports(module: &Module, sigs: &[FunctionSignature]) -> Vec<ExportInfo> {
    functions(module)
        .map(|name| ExportInfo {
            name: name.to_owned(),
            signature: sigs
                .iter()
                .find(|s| s.direction == Direction::Export && s.name == name)
                .map(|s| s.signature.clone()),
        })
        .collect()
}

/// Fixed-ABI plugins import nothing from the host.
pub(crate) fn link_import(module: &str, name: &str) -> Result<(), Error> {
    Err(link_error(
        module,
        name,
        "fixed-ABI (wasmer-plugin) plugins import no host functions",
    ))
}

pub(crate) fn bind(store: &mut Store<StoreData>, _instance: &Instance) -> Result<(), Error> {
    if store.data().memory.is_none() {
        return Err(ErrorKind::AbiViolation(AbiViolation::NoMemory).into());
    }
    Ok(())
}

pub(crate) fn resolve_export(
    store: &Store<StoreData>,
    instance: &Instance,
    name: &str,
) -> Result<Func, Error> {
    wasm::instance_export(
        store,
        instance,
        &format!("{PREFIX}{name}"),
        name,
        callable,
        "(i32, i32) -> (i32)",
    )
}

/// Zeroes the length slot and writes the input at offset 5.
pub(crate) fn prepare_input(store: &mut Store<StoreData>, input: &[u8]) -> Result<Vec<Val>, Error> {
    let len = u32::try_from(input.len()).map_err(|_| ErrorKind::InputTooLarge {
        len: input.len(),
        max: u32::MAX as usize,
    })?;
    wasm::write_guest(&mut *store, LENGTH_AT, &[0; 4])?;
    wasm::write_guest(&mut *store, INPUT_AT, input)?;
    Ok(vec![Val::I32(INPUT_AT as i32), Val::I32(len as i32)])
}

/// Reads the result: its length at address 1, its bytes at the returned pointer.
pub(crate) fn finish_call(store: &mut Store<StoreData>, results: &[Val]) -> Result<Vec<u8>, Error> {
    let ptr = results.first().and_then(Val::i32).unwrap_or(0) as u32;
    let raw = wasm::read_guest(&*store, LENGTH_AT, 4)?;
    let len = u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]);
    let max = store.data().limits.max_output_bytes;
    if len as usize > max {
        return Err(ErrorKind::OutputTooLarge {
            len: u64::from(len),
            max,
        }
        .into());
    }
    wasm::read_guest(&*store, u64::from(ptr), u64::from(len))
}
