//! The plugin ABIs, one file each. This module only dispatches on [`Abi`].

pub(crate) mod buffer;

use crate::error::{Error, ErrorKind};
use crate::host::Registry;
use crate::plugin::ExportInfo;
use crate::schema::FunctionSignature;
use crate::wasm::StoreData;
use std::fmt;
use wasmi::{Func, Instance, Linker, Module, Store, Val};

/// A plugin ABI: how arguments, results and host calls cross the plugin boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Abi {
    /// Zed's plugin runner: bincode in `u64`-packed `{ptr, len}` buffers (ABIS.md §1).
    Buffer,
}

impl Abi {
    /// The ABI's short name, as `plugboard inspect` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Abi::Buffer => "buffer",
        }
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Detects the ABI from the module's exports, explaining the choice on failure.
pub(crate) fn detect(module: &Module) -> Result<Abi, Error> {
    if buffer::looks_like(module) {
        return Ok(Abi::Buffer);
    }
    Err(ErrorKind::AbiDetection {
        reason: format!(
            "no known ABI fits: the buffer ABI needs `{}` and `{}` exports",
            buffer::ALLOC_EXPORT,
            buffer::FREE_EXPORT
        ),
    }
    .into())
}

pub(crate) fn validate(abi: Abi, module: &Module) -> Result<(), Error> {
    match abi {
        Abi::Buffer => buffer::validate(module),
    }
}

pub(crate) fn exports(abi: Abi, module: &Module, sigs: &[FunctionSignature]) -> Vec<ExportInfo> {
    match abi {
        Abi::Buffer => buffer::exports(module, sigs),
    }
}

/// The import symbol under which a host function named `name` appears.
pub(crate) fn import_symbol(abi: Abi, name: &str) -> String {
    match abi {
        Abi::Buffer => buffer::symbol(name),
    }
}

pub(crate) fn link_import(
    abi: Abi,
    linker: &mut Linker<StoreData>,
    registry: &Registry,
    allow: Option<&[String]>,
    module: &str,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    match abi {
        Abi::Buffer => buffer::link_import(linker, registry, allow, module, name, ty),
    }
}

pub(crate) fn bind(
    abi: Abi,
    store: &mut Store<StoreData>,
    instance: &Instance,
) -> Result<(), Error> {
    match abi {
        Abi::Buffer => buffer::bind(store, instance),
    }
}

pub(crate) fn prepare_call(
    abi: Abi,
    store: &mut Store<StoreData>,
    instance: &Instance,
    name: &str,
    input: &[u8],
) -> Result<(Func, Vec<Val>), Error> {
    match abi {
        Abi::Buffer => buffer::prepare_call(store, instance, name, input),
    }
}

pub(crate) fn finish_call(
    abi: Abi,
    store: &mut Store<StoreData>,
    result: Val,
) -> Result<Vec<u8>, Error> {
    match abi {
        Abi::Buffer => buffer::finish_call(store, result),
    }
}

pub(crate) fn deliver_reply(
    abi: Abi,
    store: &mut Store<StoreData>,
    reply: Vec<u8>,
) -> Result<Val, Error> {
    match abi {
        Abi::Buffer => buffer::deliver_reply(store, &reply),
    }
}
