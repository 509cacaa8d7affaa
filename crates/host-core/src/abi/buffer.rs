//! The buffer ABI of Zed's plugin runner, byte-compatible.
//!
//! ```text
//! Buffer { ptr: u32, len: u32 }  travels as one u64:  (ptr << 32) | len
//!
//! plugin exports                                   host imports (module "env")
//!   memory                                           __<name>(i64 packed) -> i64 packed
//!   __alloc_buffer(len: i32) -> i32 ptr
//!   __free_buffer(packed: i64)
//!   __<name>(packed args: i64) -> i64 packed result
//! ```
//!
//! Payloads are bincode 1.x legacy (see `codec`): one argument `T` is `bincode(T)`, several are
//! `bincode((T1, T2, ..))`, none is `()` = zero bytes. No error channel: errors travel inside
//! payloads (`Result<T, String>`); a guest panic is a trap.
//!
//! Host → plugin: encode the args, `ptr = __alloc_buffer(len)`, write, `out = __name(pack)`. The
//! export takes ownership of the input buffer. The host copies the output out (after checking
//! its range against the memory *now*) and frees it with `__free_buffer(out)`.
//!
//! Plugin → host (`#[import]`): the host copies the argument buffer, frees it with
//! `__free_buffer`, runs the host function, then `__alloc_buffer`s the result, writes it and
//! returns its packed buffer; the plugin owns (and frees) that buffer. The allocator calls
//! re-enter the plugin from inside a host function. An async host function suspends the call;
//! the result buffer is allocated when the reply arrives, just before the plugin resumes.

use crate::error::{AbiViolation, Error, ErrorKind};
use crate::host::{HostFn, HostReply, Registry};
use crate::plugin::{link_error, ExportInfo};
use crate::schema::{Direction, FunctionSignature};
use crate::wasm::{self, StoreData, Suspend};
use std::rc::Rc;
use wasmi::{AsContextMut, Caller, Func, Instance, Linker, Module, Store, Val, ValType};

pub(crate) const MEMORY_EXPORT: &str = "memory";
pub(crate) const ALLOC_EXPORT: &str = "__alloc_buffer";
pub(crate) const FREE_EXPORT: &str = "__free_buffer";
/// The module host functions are imported from.
pub(crate) const IMPORT_MODULE: &str = "env";
/// Exports and imports carry this prefix before the function name.
pub(crate) const PREFIX: &str = "__";

pub(crate) fn symbol(name: &str) -> String {
    format!("{PREFIX}{name}")
}

fn pack(ptr: u32, len: u32) -> i64 {
    ((u64::from(ptr) << 32) | u64::from(len)) as i64
}

fn unpack(packed: i64) -> (u64, u64) {
    let p = packed as u64;
    (p >> 32, p & 0xffff_ffff)
}

pub(crate) fn looks_like(module: &Module) -> bool {
    module.get_export(ALLOC_EXPORT).is_some() || module.get_export(FREE_EXPORT).is_some()
}

pub(crate) fn validate(module: &Module) -> Result<(), Error> {
    wasm::memory_export(module)?;
    wasm::typed_export(module, ALLOC_EXPORT, &[ValType::I32], &[ValType::I32])?;
    wasm::typed_export(module, FREE_EXPORT, &[ValType::I64], &[])?;
    Ok(())
}

pub(crate) fn exports(module: &Module, sigs: &[FunctionSignature]) -> Vec<ExportInfo> {
    module
        .exports()
        .filter_map(|e| {
            let wasmi::ExternType::Func(ty) = e.ty() else {
                return None;
            };
            let name = e.name().strip_prefix(PREFIX)?;
            if e.name() == ALLOC_EXPORT
                || e.name() == FREE_EXPORT
                || ty.params() != [ValType::I64]
                || ty.results() != [ValType::I64]
            {
                return None;
            }
            let signature = sigs
                .iter()
                .find(|s| s.direction == Direction::Export && s.name == name)
                .map(|s| s.signature.clone());
            Some(ExportInfo {
                name: name.to_owned(),
                signature,
            })
        })
        .collect()
}

/// Resolves `env.__name` to a registered host function (see [`Registry::resolve`]).
fn resolve<'a>(
    registry: &'a Registry,
    allow: Option<&[String]>,
    module: &str,
    name: &str,
) -> Result<&'a Rc<HostFn>, Error> {
    let Some(fn_name) = name.strip_prefix(PREFIX) else {
        return Err(link_error(
            module,
            name,
            "buffer-ABI imports are named `__<function>`",
        ));
    };
    registry
        .resolve(None, IMPORT_MODULE, fn_name, allow)
        .map_err(|reason| link_error(module, name, &reason))
}

pub(crate) fn link_import(
    linker: &mut Linker<StoreData>,
    registry: &Registry,
    allow: Option<&[String]>,
    module: &str,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    if module != IMPORT_MODULE {
        return Err(link_error(
            module,
            name,
            "unknown import module (the buffer ABI imports from `env`)",
        ));
    }
    let f = resolve(registry, allow, module, name)?;
    if ty.params() != [ValType::I64] || ty.results() != [ValType::I64] {
        return Err(link_error(
            module,
            name,
            &format!(
                "expected type (i64) -> (i64), found {}",
                wasm::fmt_sig(ty.params(), ty.results())
            ),
        ));
    }
    let (ns, fname) = (f.namespace.clone(), f.name.clone());
    linker
        .func_new(
            module,
            name,
            ty.clone(),
            move |mut caller, params, results| {
                let packed = params.first().and_then(Val::i64).unwrap_or(0);
                match host_import(&mut caller, &ns, &fname, packed) {
                    Ok(Some(out)) => {
                        if let Some(r) = results.first_mut() {
                            *r = Val::I64(out);
                        }
                        Ok(())
                    }
                    Ok(None) => Err(wasmi::Error::host(Suspend)),
                    Err(e) => Err(wasm::abort_with(caller.data_mut(), e)),
                }
            },
        )
        .map_err(|e| link_error(module, name, &e.to_string()))?;
    Ok(())
}

/// A plugin called a host function. Returns the packed result buffer, or `None` when the
/// host function is async and the call must suspend.
fn host_import(
    caller: &mut Caller<'_, StoreData>,
    ns: &str,
    name: &str,
    packed: i64,
) -> Result<Option<i64>, Error> {
    let (ptr, len) = unpack(packed);
    let max = caller.data().limits.max_output_bytes;
    if len > max as u64 {
        return Err(ErrorKind::OutputTooLarge { len, max }.into());
    }
    let args = wasm::read_guest(&*caller, ptr, len)?;
    wasm::charge_host_call(&mut *caller, args.len())?;
    let free = caller.data().free.ok_or(AbiViolation::NoMemory)?;
    wasm::nested_call(&mut *caller, free, &[Val::I64(packed)], &mut [])?;
    let f = caller
        .data()
        .registry
        .get(ns, name)
        .cloned()
        .ok_or_else(|| link_error(IMPORT_MODULE, name, "host function disappeared"))?;
    match f.invoke(&args)? {
        HostReply::Ready(out) => write_buffer(&mut *caller, &out).map(Some),
        HostReply::Later(future) => match caller.data_mut().defer(&f, future)? {
            Some(out) => write_buffer(&mut *caller, &out).map(Some),
            None => Ok(None),
        },
    }
}

/// Allocates a buffer in the plugin with `__alloc_buffer`, checks what it returned against the
/// memory as it is after the call, and writes `bytes` there.
fn write_buffer(mut ctx: impl AsContextMut<Data = StoreData>, bytes: &[u8]) -> Result<i64, Error> {
    let alloc = ctx
        .as_context_mut()
        .data()
        .alloc
        .ok_or(AbiViolation::NoMemory)?;
    let len = u32::try_from(bytes.len()).map_err(|_| AbiViolation::Overflow {
        ptr: 0,
        len: bytes.len() as u64,
    })?;
    let mut out = [Val::I32(0)];
    wasm::nested_call(&mut ctx, alloc, &[Val::I32(len as i32)], &mut out)?;
    let ptr = out[0].i32().unwrap_or(0);
    if ptr < 0 || (ptr == 0 && len > 0) {
        return Err(AbiViolation::AllocFailed {
            requested: u64::from(len),
            returned: i64::from(ptr),
        }
        .into());
    }
    let ptr = ptr as u32;
    wasm::write_guest(&mut ctx, u64::from(ptr), bytes)?;
    Ok(pack(ptr, len))
}

pub(crate) fn bind(store: &mut Store<StoreData>, instance: &Instance) -> Result<(), Error> {
    let alloc =
        instance
            .get_func(&*store, ALLOC_EXPORT)
            .ok_or_else(|| ErrorKind::MissingExport {
                name: ALLOC_EXPORT.into(),
            })?;
    let free = instance
        .get_func(&*store, FREE_EXPORT)
        .ok_or_else(|| ErrorKind::MissingExport {
            name: FREE_EXPORT.into(),
        })?;
    let data = store.data_mut();
    data.alloc = Some(alloc);
    data.free = Some(free);
    if data.memory.is_none() {
        return Err(ErrorKind::MissingExport {
            name: MEMORY_EXPORT.into(),
        }
        .into());
    }
    Ok(())
}

/// The export `__<name>`, checked to be `(i64) -> (i64)`.
pub(crate) fn resolve_export(
    store: &Store<StoreData>,
    instance: &Instance,
    name: &str,
) -> Result<Func, Error> {
    let fits =
        |ty: &wasmi::FuncType| ty.params() == [ValType::I64] && ty.results() == [ValType::I64];
    wasm::instance_export(store, instance, &symbol(name), name, fits, "(i64) -> (i64)")
}

/// Hands the input to the plugin: a buffer from `__alloc_buffer`, passed packed.
pub(crate) fn prepare_input(store: &mut Store<StoreData>, input: &[u8]) -> Result<Vec<Val>, Error> {
    let packed = write_buffer(&mut *store, input)?;
    Ok(vec![Val::I64(packed)])
}

pub(crate) fn finish_call(store: &mut Store<StoreData>, result: Val) -> Result<Vec<u8>, Error> {
    let packed = result.i64().unwrap_or(0);
    let (ptr, len) = unpack(packed);
    let max = store.data().limits.max_output_bytes;
    if len > max as u64 {
        return Err(ErrorKind::OutputTooLarge { len, max }.into());
    }
    let out = wasm::read_guest(&*store, ptr, len)?;
    let free = store.data().free.ok_or(AbiViolation::NoMemory)?;
    wasm::nested_call(&mut *store, free, &[Val::I64(packed)], &mut [])?;
    Ok(out)
}

pub(crate) fn deliver_reply(
    store: &mut Store<StoreData>,
    reply: &[u8],
) -> Result<Option<Val>, Error> {
    write_buffer(&mut *store, reply).map(|p| Some(Val::I64(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_and_unpack_are_inverse() {
        assert_eq!(unpack(pack(0xdead_beef, 0x1234)), (0xdead_beef, 0x1234));
        assert_eq!(unpack(-1), (0xffff_ffff, 0xffff_ffff));
    }
}
