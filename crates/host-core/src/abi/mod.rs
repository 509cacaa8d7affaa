//! The plugin ABIs, one file each. This module only dispatches on [`Abi`].

pub(crate) mod buffer;
pub(crate) mod fixed;
pub(crate) mod kernel;
pub(crate) mod nvim;

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
    /// Zed's plugin runner: bincode in `u64`-packed `{ptr, len}` buffers (docs/abis.md §1).
    Buffer,
    /// Extism: bytes in kernel memory owned by the host (docs/abis.md §4).
    Kernel,
    /// An Extism JS-PDK core module and its `interface.d.ts` (docs/abis.md §5): the kernel ABI
    /// behind shims generated from the interface.
    Idl,
    /// plugin_lua: a Lua script on piccolo, called with Lua values (docs/abis.md §6).
    Lua,
    /// wasmer-plugin: bincode at fixed offsets, a fresh instance per call (docs/abis.md §2).
    Fixed,
    /// wasm_nvim: JSON values held by the host under ids (docs/abis.md §3).
    Nvim,
}

impl Abi {
    /// The ABI's short name, as `plugboard inspect` shows it.
    pub fn name(self) -> &'static str {
        match self {
            Abi::Buffer => "buffer",
            Abi::Kernel => "kernel",
            Abi::Idl => "idl",
            Abi::Lua => "lua",
            Abi::Fixed => "fixed",
            Abi::Nvim => "nvim",
        }
    }
}

impl Abi {
    /// Whether the plugin talks through the Extism kernel.
    pub(crate) fn uses_kernel(self) -> bool {
        matches!(self, Abi::Kernel | Abi::Idl)
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Encodes typed call arguments as the ABI's plugins expect them: bincode for the buffer ABI;
/// for the kernel ABI a string as its text and anything else as JSON (extism-pdk's `String` and
/// `Json<T>`).
pub(crate) fn encode_args<A: serde::Serialize + ?Sized>(
    abi: Abi,
    args: &A,
) -> Result<Vec<u8>, Error> {
    match abi {
        Abi::Buffer | Abi::Fixed => crate::codec::to_bytes(args),
        Abi::Kernel | Abi::Idl => crate::codec::text_or_json(args),
        Abi::Lua | Abi::Nvim => serde_json::to_vec(args).map_err(|e| {
            ErrorKind::Encode {
                reason: e.to_string(),
            }
            .into()
        }),
    }
}

/// Decodes a typed call result the same way.
pub(crate) fn decode_result<R: serde::de::DeserializeOwned>(
    abi: Abi,
    bytes: &[u8],
) -> Result<R, Error> {
    match abi {
        Abi::Buffer | Abi::Fixed => crate::codec::from_bytes(bytes),
        Abi::Kernel | Abi::Idl => crate::codec::from_json_or_text(bytes),
        // No output is nil, which decodes as `()` or `None`.
        Abi::Lua | Abi::Nvim => {
            let json: &[u8] = if bytes.is_empty() { b"null" } else { bytes };
            serde_json::from_slice(json).map_err(|e| {
                crate::error::DecodeError::Mismatch {
                    reason: format!("the {abi} result does not fit the expected type: {e}"),
                }
                .into()
            })
        }
    }
}

/// Why a module was taken for `abi`: the exports and imports that gave it away.
pub(crate) fn evidence(abi: Abi, module: &Module) -> String {
    match abi {
        Abi::Buffer => format!(
            "exports `{}` and `{}`",
            buffer::ALLOC_EXPORT,
            buffer::FREE_EXPORT
        ),
        Abi::Kernel => format!(
            "imports {} function(s) from `{}`",
            module
                .imports()
                .filter(|i| i.module() == kernel::ENV_MODULE)
                .count(),
            kernel::ENV_MODULE
        ),
        Abi::Idl => "a JS-PDK core module: exports `__invoke` or imports from `shim`".into(),
        Abi::Fixed => {
            let names: Vec<String> = exports(Abi::Fixed, module, &[])
                .into_iter()
                .map(|e| format!("`{}{}`", fixed::PREFIX, e.name))
                .collect();
            let imports = if module.imports().next().is_none() {
                "imports nothing"
            } else {
                "imports only WASI"
            };
            format!(
                "exports {} of type (i32, i32) -> (i32) and memory, {imports}",
                names.join(", ")
            )
        }
        Abi::Lua => "a Lua script".into(),
        Abi::Nvim => format!(
            "exports `{}`, `alloc` and `dealloc` (wasm_nvim); imports {} function(s) from `{}`",
            nvim::FUNCTIONALITY,
            module
                .imports()
                .filter(|i| i.module() == nvim::HOST_MODULE)
                .count(),
            nvim::HOST_MODULE
        ),
    }
}

/// `Abi::Lua` forced on a WebAssembly module.
fn not_wasm() -> Error {
    ErrorKind::AbiDetection {
        reason: "lua is not a WebAssembly ABI: load Lua plugins with `Host::load_lua`".into(),
    }
    .into()
}

/// Detects the ABI from the module's exports, explaining the choice on failure.
pub(crate) fn detect(module: &Module) -> Result<Abi, Error> {
    if crate::idl::looks_like(module) {
        return Ok(Abi::Idl);
    }
    let fits: Vec<Abi> = [
        (Abi::Buffer, buffer::looks_like(module)),
        (Abi::Kernel, kernel::looks_like(module)),
        (Abi::Fixed, fixed::looks_like(module)),
        (Abi::Nvim, nvim::looks_like(module)),
    ]
    .into_iter()
    .filter_map(|(abi, fits)| fits.then_some(abi))
    .collect();
    match fits.as_slice() {
        [abi] => Ok(*abi),
        [] => Err(ErrorKind::AbiDetection {
            reason: format!(
                "no known ABI fits: the buffer ABI needs `{}` and `{}` exports, the kernel ABI imports from `{}`, the fixed ABI exports `{}<name>: (i32, i32) -> (i32)` and memory and imports nothing, the nvim ABI exports `{}`, `alloc` and `dealloc`",
                buffer::ALLOC_EXPORT,
                buffer::FREE_EXPORT,
                kernel::ENV_MODULE,
                fixed::PREFIX,
                nvim::FUNCTIONALITY,
            ),
        }
        .into()),
        several => Err(ErrorKind::AbiDetection {
            reason: format!(
                "more than one ABI fits ({}); choose one with PluginOptions::with_abi",
                several
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        .into()),
    }
}

pub(crate) fn validate(abi: Abi, module: &Module) -> Result<(), Error> {
    match abi {
        Abi::Buffer => buffer::validate(module),
        Abi::Kernel => kernel::validate(module),
        Abi::Fixed => fixed::validate(module),
        Abi::Nvim => nvim::validate(module),
        // Checked against its interface when loaded (`idl::validate`).
        Abi::Idl => Ok(()),
        Abi::Lua => Err(not_wasm()),
    }
}

pub(crate) fn exports(abi: Abi, module: &Module, sigs: &[FunctionSignature]) -> Vec<ExportInfo> {
    match abi {
        Abi::Buffer => buffer::exports(module, sigs),
        Abi::Kernel => kernel::exports(module, sigs),
        Abi::Fixed => fixed::exports(module, sigs),
        // Until `functionality` has run (at load), what the types allow.
        Abi::Nvim => nvim::exports(module),
        // The exports are the interface's; without one, none are known.
        Abi::Idl | Abi::Lua => Vec::new(),
    }
}

/// The import symbol under which a host function named `name` appears.
pub(crate) fn import_symbol(abi: Abi, name: &str) -> String {
    match abi {
        Abi::Buffer => buffer::symbol(name),
        Abi::Kernel | Abi::Idl | Abi::Lua | Abi::Fixed | Abi::Nvim => name.to_owned(),
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
        Abi::Kernel | Abi::Idl => kernel::link_import(linker, registry, allow, module, name, ty),
        Abi::Fixed => fixed::link_import(module, name),
        Abi::Nvim => nvim::link_import(linker, registry, allow, module, name, ty),
        Abi::Lua => Err(not_wasm()),
    }
}

pub(crate) fn bind(
    abi: Abi,
    store: &mut Store<StoreData>,
    instance: &Instance,
) -> Result<(), Error> {
    match abi {
        Abi::Buffer => buffer::bind(store, instance),
        Abi::Kernel | Abi::Idl => kernel::bind(store, instance),
        Abi::Fixed => fixed::bind(store, instance),
        Abi::Nvim => nvim::bind(store, instance),
        Abi::Lua => Err(not_wasm()),
    }
}

/// The callable export for `name`, type-checked for the ABI.
pub(crate) fn resolve_export(
    abi: Abi,
    store: &Store<StoreData>,
    instance: &Instance,
    name: &str,
) -> Result<Func, Error> {
    match abi {
        Abi::Buffer => buffer::resolve_export(store, instance, name),
        Abi::Kernel | Abi::Idl => kernel::resolve_export(store, instance, name),
        Abi::Fixed => fixed::resolve_export(store, instance, name),
        Abi::Nvim => nvim::resolve_export(store, instance, name),
        Abi::Lua => Err(not_wasm()),
    }
}

/// Hands a call's input to the plugin; returns the export's parameters (`params` of them).
pub(crate) fn prepare_input(
    abi: Abi,
    store: &mut Store<StoreData>,
    input: &[u8],
    params: usize,
) -> Result<Vec<Val>, Error> {
    match abi {
        Abi::Nvim => nvim::prepare_input(store, input, params),
        Abi::Buffer => buffer::prepare_input(store, input),
        Abi::Kernel | Abi::Idl => kernel::prepare_input(store, input),
        Abi::Fixed => fixed::prepare_input(store, input),
        Abi::Lua => Err(not_wasm()),
    }
}

pub(crate) fn finish_call(
    abi: Abi,
    store: &mut Store<StoreData>,
    results: &[Val],
) -> Result<Vec<u8>, Error> {
    match abi {
        Abi::Buffer => buffer::finish_call(store, results.first().cloned().unwrap_or(Val::I64(0))),
        Abi::Kernel | Abi::Idl => kernel::finish_call(store, results),
        Abi::Fixed => fixed::finish_call(store, results),
        Abi::Nvim => nvim::finish_call(store, results),
        Abi::Lua => Err(not_wasm()),
    }
}

pub(crate) fn deliver_reply(
    abi: Abi,
    store: &mut Store<StoreData>,
    reply: Vec<u8>,
) -> Result<Option<Val>, Error> {
    match abi {
        Abi::Buffer => buffer::deliver_reply(store, &reply),
        Abi::Kernel | Abi::Idl => kernel::deliver_reply(store, &reply),
        Abi::Nvim => nvim::deliver_reply(store, &reply),
        Abi::Lua => Err(not_wasm()),
        // Fixed-ABI plugins call no host functions, so nothing is ever awaited.
        Abi::Fixed => Err(ErrorKind::NoCallInFlight.into()),
    }
}
