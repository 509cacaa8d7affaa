//! The nvim ABI of wasm_nvim (docs/abis.md §3), byte-compatible: JSON values held by the host under
//! ids.
//!
//! ```text
//! plugin exports                          host imports (module `host`)
//!   memory                                  get_id() -> id            reserve an id
//!   alloc(size) -> ptr                      get_addr(ptr) -> ptr      identity
//!   dealloc(ptr, size)                      set_value(id, ptr, len)   copy, then dealloc(ptr, len)
//!   functionality() -> id                   get_value_size(id) -> len does not consume
//!     [{"name", "params", "returns"}, …]    get_value_addr(id) -> ptr alloc + copy; consumes
//!   <name>() / <name>(id)                   lua_exec(id)              run Lua source; consumes
//!     -> () / -> id                         lua_eval(id) -> id        evaluate Lua; consumes
//!                                           <fn>(id) -> id            a host function: a JSON
//!                                                                     array of its arguments
//! ```
//!
//! Values live in a slab of the plugin's store. An id is `generation << 20 | (slot + 1)`:
//! id 0 is nil, a consumed slot's generation moves on so its old id is stale, and each plugin's
//! slab starts at its own generation so another plugin's ids do not fit. Any id that names no
//! live value is [`AbiViolation::BadHandle`]; reading a reserved id that was never set is
//! [`AbiViolation::WrongType`]. At most [`Limits::max_handles`](crate::Limits::max_handles)
//! ids are live and the values together stay under the plugin's memory cap
//! ([`ErrorKind::ResourceLimit`]). Every id the plugin hands to the host (arguments of host
//! functions, `lua_exec`/`lua_eval`, results) is consumed. Values are opaque bytes until the
//! host reads one as JSON ([`Value::from_json`]: depth 64, last duplicate key wins); ids inside
//! values are plain numbers, so values cannot reference each other (no cycles, no DAG bombs).

use crate::error::{AbiViolation, DecodeError, Error, ErrorKind, ResourceLimit};
use crate::host::{Registry, Reply};
use crate::peers::Chunk;
use crate::plugin::{link_error, ExportInfo};
use crate::schema::{Signature, Type};
use crate::value::Value;
use crate::wasm::{self, StoreData, Suspend};
use std::sync::atomic::{AtomicU32, Ordering};
use wasmi::{Caller, Func, Instance, Linker, Module, Store, Val, ValType};

/// The import module of the ABI's host functions.
pub(crate) const HOST_MODULE: &str = "host";
/// The export listing the plugin's functions.
pub(crate) const FUNCTIONALITY: &str = "functionality";
const ALLOC: &str = "alloc";
const DEALLOC: &str = "dealloc";

const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MASK: u32 = 0x7ff;

/// The generation a new slab starts at, different for each (up to 2048 apart).
static NEXT_SLAB: AtomicU32 = AtomicU32::new(1);

enum State {
    Free,
    Reserved,
    Held(Vec<u8>),
}

struct Entry {
    generation: u32,
    state: State,
}

/// The values one plugin instance holds host-side.
pub(crate) struct Values {
    entries: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
    bytes: usize,
    max_live: usize,
    max_bytes: usize,
    first_generation: u32,
    /// A suspended host function will return an id (its reply is stored on delivery).
    pub(crate) pending_returns: bool,
}

impl Values {
    pub(crate) fn new(max_live: usize, max_bytes: usize) -> Self {
        let serial = NEXT_SLAB.fetch_add(1, Ordering::Relaxed);
        Values {
            entries: Vec::new(),
            free: Vec::new(),
            live: 0,
            bytes: 0,
            max_live: max_live.min(SLOT_MASK as usize - 1),
            max_bytes,
            // Spread consecutive slabs over the generations (an odd step visits all 2048).
            first_generation: serial.wrapping_mul(0x2f1) & GEN_MASK,
            pending_returns: false,
        }
    }

    fn id(slot: u32, generation: u32) -> u32 {
        (generation << SLOT_BITS) | (slot + 1)
    }

    fn entry(&mut self, id: u32) -> Result<&mut Entry, Error> {
        let slot = (id & SLOT_MASK).checked_sub(1);
        let generation = id >> SLOT_BITS;
        match slot.and_then(|s| self.entries.get_mut(s as usize)) {
            Some(e) if e.generation == generation && !matches!(e.state, State::Free) => Ok(e),
            _ => Err(AbiViolation::BadHandle { id }.into()),
        }
    }

    /// A fresh id with no value yet (`get_id`).
    pub(crate) fn reserve(&mut self) -> Result<u32, Error> {
        if self.live >= self.max_live {
            return Err(ResourceLimit::Handles { max: self.max_live }.into());
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = self.entries.len() as u32;
                self.entries.push(Entry {
                    generation: self.first_generation,
                    state: State::Free,
                });
                slot
            }
        };
        let e = &mut self.entries[slot as usize];
        e.state = State::Reserved;
        self.live += 1;
        Ok(Self::id(slot, e.generation))
    }

    /// Sets the value of a live id (`set_value`); a held value is replaced.
    pub(crate) fn set(&mut self, id: u32, bytes: Vec<u8>) -> Result<(), Error> {
        let (max, total) = (self.max_bytes, self.bytes);
        let e = self.entry(id)?;
        let old = match &e.state {
            State::Held(b) => b.len(),
            _ => 0,
        };
        let after = total - old + bytes.len();
        if after > max {
            return Err(ResourceLimit::ValueBytes { max }.into());
        }
        e.state = State::Held(bytes);
        self.bytes = after;
        Ok(())
    }

    /// A new id holding `bytes`.
    pub(crate) fn insert(&mut self, bytes: Vec<u8>) -> Result<u32, Error> {
        let id = self.reserve()?;
        if let Err(e) = self.set(id, bytes) {
            let _ = self.release(id);
            return Err(e);
        }
        Ok(id)
    }

    /// The value's bytes, without consuming it.
    pub(crate) fn get(&mut self, id: u32) -> Result<&[u8], Error> {
        match &self.entry(id)?.state {
            State::Held(b) => Ok(b),
            _ => Err(AbiViolation::WrongType {
                id,
                expected: "an id holding a value",
                found: "an id reserved by get_id and never set",
            }
            .into()),
        }
    }

    /// Removes the value and frees its id.
    pub(crate) fn take(&mut self, id: u32) -> Result<Vec<u8>, Error> {
        self.get(id)?;
        let out = self.release(id)?;
        Ok(out.unwrap_or_default())
    }

    fn release(&mut self, id: u32) -> Result<Option<Vec<u8>>, Error> {
        let e = self.entry(id)?;
        let old = std::mem::replace(&mut e.state, State::Free);
        e.generation = (e.generation + 1) & GEN_MASK;
        self.free.push((id & SLOT_MASK) - 1);
        self.live -= 1;
        Ok(match old {
            State::Held(b) => {
                self.bytes -= b.len();
                Some(b)
            }
            _ => None,
        })
    }

    /// How many ids are live (reserved or holding a value).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        self.live
    }
}

fn values<'a>(caller: &'a mut Caller<'_, StoreData>) -> Result<&'a mut Values, Error> {
    caller
        .data_mut()
        .nvim
        .as_deref_mut()
        .ok_or_else(|| AbiViolation::NoMemory.into())
}

/// A value the host reads as JSON: UTF-8, then [`Value::from_json`].
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)?;
    Value::from_json(text)
}

/// An nvim plugin: exports `functionality` (and the allocator pair).
pub(crate) fn looks_like(module: &Module) -> bool {
    module.exports().any(|e| e.name() == FUNCTIONALITY)
        && module.exports().any(|e| e.name() == ALLOC)
        && module.exports().any(|e| e.name() == DEALLOC)
}

pub(crate) fn validate(module: &Module) -> Result<(), Error> {
    use ValType::I32;
    wasm::memory_export(module)?;
    wasm::typed_export(module, ALLOC, &[I32], &[I32])?;
    wasm::typed_export(module, DEALLOC, &[I32, I32], &[])?;
    wasm::typed_export(module, FUNCTIONALITY, &[], &[I32])?;
    Ok(())
}

/// A function type an nvim export may have: `()`/`(id)` → nothing/`id`.
fn callable(ty: &wasmi::FuncType) -> bool {
    ty.params().len() <= 1
        && ty.results().len() <= 1
        && ty
            .params()
            .iter()
            .chain(ty.results())
            .all(|t| *t == ValType::I32)
}

fn json_type() -> Type {
    Type::Opaque("json".into())
}

/// Before `functionality` has run: every export of a callable type but the ABI's own.
pub(crate) fn exports(module: &Module) -> Vec<ExportInfo> {
    module
        .exports()
        .filter(|e| ![ALLOC, DEALLOC, FUNCTIONALITY].contains(&e.name()))
        .filter_map(|e| match e.ty() {
            wasmi::ExternType::Func(ty) if callable(ty) => Some(ExportInfo {
                name: e.name().to_owned(),
                signature: Some(signature(!ty.params().is_empty(), !ty.results().is_empty())),
            }),
            _ => None,
        })
        .collect()
}

fn signature(takes: bool, returns: bool) -> Signature {
    Signature::new(
        if takes { vec![json_type()] } else { vec![] },
        if returns { json_type() } else { Type::Unit },
    )
}

/// The export list from the JSON `functionality` returned: each entry's name must be an
/// export whose type matches its `params`/`returns` (`"void"` for none, anything else one
/// id; wasm_nvim's later form `{"type": "void"}` is accepted too).
pub(crate) fn read_functionality(module: &Module, json: &[u8]) -> Result<Vec<ExportInfo>, Error> {
    let bad = |why: String| -> Error {
        AbiViolation::Malformed {
            what: format!("`{FUNCTIONALITY}` result: {why}"),
        }
        .into()
    };
    let list = match parse(json) {
        Ok(Value::List(items)) => items,
        Ok(other) => {
            return Err(bad(format!(
                "expected a JSON array, found a {}",
                other.shape()
            )))
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    let field = |entry: &Value, key: &str| -> Option<Value> {
        match entry {
            Value::Map(m) => m
                .iter()
                .find(|(k, _)| matches!(k, Value::String(s) if s == key))
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    };
    let is_void = |v: Option<Value>| -> Result<bool, Error> {
        match v {
            Some(Value::String(s)) => Ok(s == "void"),
            Some(m @ Value::Map(_)) => match field(&m, "type") {
                Some(Value::String(s)) => Ok(s == "void"),
                _ => Err(bad("a type object without a string `type`".into())),
            },
            Some(other) => Err(bad(format!("a type is a {}, not a string", other.shape()))),
            None => Err(bad("an entry lacks `params` or `returns`".into())),
        }
    };
    let mut out: Vec<ExportInfo> = Vec::with_capacity(list.len());
    for entry in &list {
        let Some(Value::String(name)) = field(entry, "name") else {
            return Err(bad(format!("entry {} has no string `name`", entry)));
        };
        let takes = !is_void(field(entry, "params"))?;
        let returns = !is_void(field(entry, "returns"))?;
        let found = module.exports().find(|e| e.name() == name);
        let Some(wasmi::ExternType::Func(ty)) = found.as_ref().map(|e| e.ty()) else {
            return Err(ErrorKind::MissingExport { name }.into());
        };
        let want = wasm::fmt_sig(
            if takes { &[ValType::I32] } else { &[] },
            if returns { &[ValType::I32] } else { &[] },
        );
        let have = wasm::fmt_sig(ty.params(), ty.results());
        if want != have {
            return Err(ErrorKind::SignatureMismatch {
                name,
                expected: format!("{want} (as `{FUNCTIONALITY}` declares it)"),
                found: have,
            }
            .into());
        }
        if !out.iter().any(|e| e.name == name) {
            out.push(ExportInfo {
                name,
                signature: Some(signature(takes, returns)),
            });
        }
    }
    Ok(out)
}

type C<'a> = Caller<'a, StoreData>;

/// Turns our error into the wasmi error that unwinds the plugin.
fn fail(caller: &mut C<'_>, e: Error) -> wasmi::Error {
    wasm::abort_with(caller.data_mut(), e)
}

pub(crate) fn link_import(
    linker: &mut Linker<StoreData>,
    registry: &Registry,
    allow: Option<&[String]>,
    module: &str,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    use ValType::I32;
    if module != HOST_MODULE {
        return Err(link_error(
            module,
            name,
            "unknown import module (the nvim ABI imports from `host`)",
        ));
    }
    let expect = |params: &[ValType], results: &[ValType]| -> Result<(), Error> {
        if ty.params() == params && ty.results() == results {
            return Ok(());
        }
        Err(link_error(
            module,
            name,
            &format!(
                "expected type {}, found {}",
                wasm::fmt_sig(params, results),
                wasm::fmt_sig(ty.params(), ty.results())
            ),
        ))
    };
    let linked = match name {
        "get_id" => {
            expect(&[], &[I32])?;
            linker.func_wrap(module, name, |mut c: C<'_>| -> Result<i32, wasmi::Error> {
                match values(&mut c).and_then(Values::reserve) {
                    Ok(id) => Ok(id as i32),
                    Err(e) => Err(fail(&mut c, e)),
                }
            })
        }
        "get_addr" => {
            expect(&[I32], &[I32])?;
            linker.func_wrap(module, name, |_: C<'_>, ptr: i32| -> i32 { ptr })
        }
        "set_value" => {
            expect(&[I32, I32, I32], &[])?;
            linker.func_wrap(
                module,
                name,
                |mut c: C<'_>, id: i32, ptr: i32, len: i32| -> Result<(), wasmi::Error> {
                    set_value(&mut c, id as u32, ptr as u32, len as u32)
                        .map_err(|e| fail(&mut c, e))
                },
            )
        }
        "get_value_size" => {
            expect(&[I32], &[I32])?;
            linker.func_wrap(
                module,
                name,
                |mut c: C<'_>, id: i32| -> Result<i32, wasmi::Error> {
                    match values(&mut c).and_then(|v| v.get(id as u32).map(|b| b.len() as i32)) {
                        Ok(n) => Ok(n),
                        Err(e) => Err(fail(&mut c, e)),
                    }
                },
            )
        }
        "get_value_addr" => {
            expect(&[I32], &[I32])?;
            linker.func_wrap(
                module,
                name,
                |mut c: C<'_>, id: i32| -> Result<i32, wasmi::Error> {
                    get_value_addr(&mut c, id as u32).map_err(|e| fail(&mut c, e))
                },
            )
        }
        "lua_exec" => {
            expect(&[I32], &[])?;
            linker.func_wrap(
                module,
                name,
                |mut c: C<'_>, id: i32| -> Result<(), wasmi::Error> {
                    lua(&mut c, id as u32, Chunk::Exec)
                        .map(drop)
                        .map_err(|e| fail(&mut c, e))
                },
            )
        }
        "lua_eval" => {
            expect(&[I32], &[I32])?;
            linker.func_wrap(
                module,
                name,
                |mut c: C<'_>, id: i32| -> Result<i32, wasmi::Error> {
                    lua(&mut c, id as u32, Chunk::Eval).map_err(|e| fail(&mut c, e))
                },
            )
        }
        _ => return link_host_function(linker, registry, allow, name, ty),
    };
    linked.map_err(|e| link_error(module, name, &e.to_string()))?;
    Ok(())
}

/// `host.<name>`: a function of the shared registry, `()`/`(id)` → nothing/`id`.
fn link_host_function(
    linker: &mut Linker<StoreData>,
    registry: &Registry,
    allow: Option<&[String]>,
    name: &str,
    ty: &wasmi::FuncType,
) -> Result<(), Error> {
    let f = registry
        .resolve(None, HOST_MODULE, name, allow)
        .map_err(|reason| link_error(HOST_MODULE, name, &reason))?;
    if !callable(ty) {
        return Err(link_error(
            HOST_MODULE,
            name,
            &format!(
                "expected type () or (i32) -> () or (i32), found {}",
                wasm::fmt_sig(ty.params(), ty.results())
            ),
        ));
    }
    let (ns, fname) = (f.namespace.clone(), f.name.clone());
    let returns = !ty.results().is_empty();
    linker
        .func_new(
            HOST_MODULE,
            name,
            ty.clone(),
            move |mut c, params, results| {
                let id = params.first().and_then(Val::i32).map(|id| id as u32);
                match host_call(&mut c, &ns, &fname, id, returns) {
                    Ok(Some(out)) => {
                        if let Some(r) = results.first_mut() {
                            *r = Val::I32(out as i32);
                        }
                        Ok(())
                    }
                    Ok(None) => Err(wasmi::Error::host(Suspend)),
                    Err(e) => Err(fail(&mut c, e)),
                }
            },
        )
        .map_err(|e| link_error(HOST_MODULE, name, &e.to_string()))?;
    Ok(())
}

/// Copies the plugin's bytes under `id`, then hands the buffer back to its `dealloc`.
fn set_value(c: &mut C<'_>, id: u32, ptr: u32, len: u32) -> Result<(), Error> {
    let max = c.data().limits.max_output_bytes;
    if len as usize > max {
        return Err(ErrorKind::OutputTooLarge {
            len: u64::from(len),
            max,
        }
        .into());
    }
    // Check the id before copying: a bad id leaves the plugin's buffer alone.
    values(c)?.entry(id)?;
    let bytes = wasm::read_guest(&*c, u64::from(ptr), u64::from(len))?;
    values(c)?.set(id, bytes)?;
    let dealloc = c.data().free.ok_or(AbiViolation::NoMemory)?;
    wasm::nested_call(
        &mut *c,
        dealloc,
        &[Val::I32(ptr as i32), Val::I32(len as i32)],
        &mut [],
    )
}

/// Hands the value to the plugin in a buffer from its `alloc`, and forgets it.
fn get_value_addr(c: &mut C<'_>, id: u32) -> Result<i32, Error> {
    let len = values(c)?.get(id)?.len();
    let ptr = alloc_in_plugin(&mut *c, len)?;
    let bytes = values(c)?.take(id)?;
    wasm::write_guest(&mut *c, u64::from(ptr), &bytes)?;
    Ok(ptr as i32)
}

fn alloc_in_plugin(c: &mut C<'_>, len: usize) -> Result<u32, Error> {
    let alloc = c.data().alloc.ok_or(AbiViolation::NoMemory)?;
    let n = u32::try_from(len).map_err(|_| AbiViolation::Overflow {
        ptr: 0,
        len: len as u64,
    })?;
    let mut out = [Val::I32(0)];
    wasm::nested_call(&mut *c, alloc, &[Val::I32(n as i32)], &mut out)?;
    let ptr = out[0].i32().unwrap_or(0);
    if ptr <= 0 && n > 0 {
        return Err(AbiViolation::AllocFailed {
            requested: u64::from(n),
            returned: i64::from(ptr),
        }
        .into());
    }
    Ok(ptr as u32)
}

/// A value stored as its JSON under a new id; `null` is id 0 (nil).
fn store(c: &mut C<'_>, v: &Value) -> Result<u32, Error> {
    if matches!(v, Value::Null) {
        return Ok(0);
    }
    values(c)?.insert(v.to_json().into_bytes())
}

/// The arguments an id holds for a host function: a JSON array is the positional arguments,
/// any other value the one argument, id 0 (or none) no arguments.
fn host_args(c: &mut C<'_>, id: Option<u32>) -> Result<serde_json::Value, Error> {
    let v = match id {
        None | Some(0) => return Ok(serde_json::Value::Null),
        Some(id) => parse(&values(c)?.take(id)?)?,
    };
    let mut args = match v {
        Value::List(items) => items,
        other => vec![other],
    };
    let to_json = |v: &Value| serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
    Ok(match args.len() {
        0 => serde_json::Value::Null,
        1 => to_json(&args.remove(0)),
        _ => serde_json::Value::Array(args.iter().map(to_json).collect()),
    })
}

fn host_call(
    c: &mut C<'_>,
    ns: &str,
    name: &str,
    id: Option<u32>,
    returns: bool,
) -> Result<Option<u32>, Error> {
    let args = host_args(c, id)?;
    let f = c
        .data()
        .registry
        .get(ns, name)
        .cloned()
        .ok_or_else(|| link_error(HOST_MODULE, name, "host function disappeared"))?;
    // The argument bytes were counted when the plugin stored them; the call itself costs.
    wasm::charge_host_call(&mut *c, 0)?;
    let v = match f.invoke_json(args)? {
        Reply::Ready(v) => v,
        Reply::Later(future) => {
            let future = Box::pin(async move { future.await.map(|v| v.to_json().into_bytes()) });
            match c.data_mut().defer(&f, future)? {
                Some(bytes) => parse(&bytes)?,
                None => {
                    values(c)?.pending_returns = returns;
                    return Ok(None);
                }
            }
        }
    };
    if returns {
        store(c, &v).map(Some)
    } else {
        Ok(Some(0))
    }
}

/// `lua_exec`/`lua_eval`: the id's text is Lua source (a JSON string is taken as its
/// content), run in the host's designated Lua VM with what fuel this call has left.
fn lua(c: &mut C<'_>, id: u32, chunk: Chunk) -> Result<i32, Error> {
    let mut source = values(c)?.take(id)?;
    if source.first() == Some(&b'"') {
        if let Ok(Value::String(s)) = parse(&source) {
            source = s.into_bytes();
        }
    }
    let peers = c.data().peers.clone();
    let available = wasm::fuel_left(&*c);
    let (result, used) = peers.lua(&source, chunk, available);
    wasm::charge_fuel(&mut *c, used)?;
    let v = result?;
    match chunk {
        Chunk::Exec => Ok(0),
        Chunk::Eval => store(c, &v).map(|id| id as i32),
    }
}

pub(crate) fn bind(store: &mut Store<StoreData>, instance: &Instance) -> Result<(), Error> {
    let data_alloc = instance.get_func(&*store, ALLOC);
    let data_free = instance.get_func(&*store, DEALLOC);
    let limits = store.data().limits.clone();
    let data = store.data_mut();
    if data.memory.is_none() {
        return Err(AbiViolation::NoMemory.into());
    }
    data.alloc = data_alloc;
    data.free = data_free;
    data.nvim = Some(Box::new(Values::new(
        limits.max_handles,
        limits.memory_bytes,
    )));
    Ok(())
}

pub(crate) fn resolve_export(
    store: &Store<StoreData>,
    instance: &Instance,
    name: &str,
) -> Result<Func, Error> {
    if name == ALLOC || name == DEALLOC {
        return Err(ErrorKind::UnknownFunction {
            name: name.to_owned(),
            exports: Vec::new(),
        }
        .into());
    }
    wasm::instance_export(
        store,
        instance,
        name,
        name,
        callable,
        "() or (i32) -> () or (i32)",
    )
}

/// The call's input is JSON (none: nil); a function taking an id gets it under a new id.
pub(crate) fn prepare_input(
    store: &mut Store<StoreData>,
    input: &[u8],
    params: usize,
) -> Result<Vec<Val>, Error> {
    let empty = input.iter().all(u8::is_ascii_whitespace) || input == b"null";
    if params == 0 {
        if !empty {
            return Err(ErrorKind::Encode {
                reason: "the function takes no argument".into(),
            }
            .into());
        }
        return Ok(Vec::new());
    }
    if empty {
        return Ok(vec![Val::I32(0)]);
    }
    parse(input)?;
    let values = store
        .data_mut()
        .nvim
        .as_deref_mut()
        .ok_or(AbiViolation::NoMemory)?;
    let id = values.insert(input.to_vec())?;
    Ok(vec![Val::I32(id as i32)])
}

/// The result id's value, checked to be JSON and rendered as the host's JSON; nothing for
/// nil or a function without a result.
pub(crate) fn finish_call(store: &mut Store<StoreData>, results: &[Val]) -> Result<Vec<u8>, Error> {
    let id = results.first().and_then(Val::i32).unwrap_or(0) as u32;
    if id == 0 {
        return Ok(Vec::new());
    }
    let max = store.data().limits.max_output_bytes;
    let values = store
        .data_mut()
        .nvim
        .as_deref_mut()
        .ok_or(AbiViolation::NoMemory)?;
    let len = values.get(id)?.len();
    if len > max {
        values.take(id)?;
        return Err(ErrorKind::OutputTooLarge {
            len: len as u64,
            max,
        }
        .into());
    }
    let v = parse(&values.take(id)?)?;
    Ok(v.to_json().into_bytes())
}

/// A suspended host function's reply (JSON text): stored under a new id if the import
/// returns one.
pub(crate) fn deliver_reply(
    store: &mut Store<StoreData>,
    reply: &[u8],
) -> Result<Option<Val>, Error> {
    let values = store
        .data_mut()
        .nvim
        .as_deref_mut()
        .ok_or(AbiViolation::NoMemory)?;
    if !std::mem::take(&mut values.pending_returns) {
        return Ok(None);
    }
    let v = parse(reply)?;
    let id = if matches!(v, Value::Null) {
        0
    } else {
        values.insert(v.to_json().into_bytes())?
    };
    Ok(Some(Val::I32(id as i32)))
}

/// A call's input from values: one value (or none) as JSON.
pub(crate) fn encode_values(args: &[Value]) -> Result<Vec<u8>, Error> {
    match args {
        [] | [Value::Null] => Ok(Vec::new()),
        [one] => Ok(one.to_json().into_bytes()),
        more => Err(ErrorKind::Encode {
            reason: format!(
                "nvim-ABI functions take one value (a table for several), {} given",
                more.len()
            ),
        }
        .into()),
    }
}

/// A call's output as a value: nil for nothing, else its JSON.
pub(crate) fn decode_value(out: &[u8]) -> Result<Value, Error> {
    if out.is_empty() {
        return Ok(Value::Null);
    }
    parse(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stale_after_take_and_foreign_between_slabs() {
        let mut a = Values::new(10, 1 << 20);
        let mut b = Values::new(10, 1 << 20);
        let id = a.insert(b"1".to_vec()).unwrap();
        // b holds a value in the same slot: only the generation tells the ids apart.
        let b_id = b.insert(b"b".to_vec()).unwrap();
        assert_eq!(id & SLOT_MASK, b_id & SLOT_MASK, "the same slot");
        assert!(matches!(
            b.get(id).unwrap_err().kind(),
            ErrorKind::AbiViolation(AbiViolation::BadHandle { .. })
        ));
        assert!(matches!(
            a.get(b_id).unwrap_err().kind(),
            ErrorKind::AbiViolation(AbiViolation::BadHandle { .. })
        ));
        assert_eq!(b.get(b_id).unwrap(), b"b");
        assert_eq!(a.take(id).unwrap(), b"1");
        let again = a.insert(b"2".to_vec()).unwrap();
        assert_ne!(again, id, "a reused slot has a new generation");
        assert!(matches!(
            a.get(id).unwrap_err().kind(),
            ErrorKind::AbiViolation(AbiViolation::BadHandle { .. })
        ));
        for bad in [0, u32::MAX, 1 << 31, SLOT_MASK] {
            assert!(a.get(bad).is_err());
        }
    }

    #[test]
    fn handle_and_byte_caps() {
        let mut v = Values::new(3, 10);
        for _ in 0..3 {
            v.reserve().unwrap();
        }
        assert!(matches!(
            v.reserve().unwrap_err().kind(),
            ErrorKind::ResourceLimit(ResourceLimit::Handles { max: 3 })
        ));
        let mut v = Values::new(3, 10);
        let id = v.insert(vec![0; 8]).unwrap();
        assert!(matches!(
            v.insert(vec![0; 3]).unwrap_err().kind(),
            ErrorKind::ResourceLimit(ResourceLimit::ValueBytes { max: 10 })
        ));
        assert_eq!(v.live(), 1, "the failed insert released its id");
        v.set(id, vec![0; 10]).unwrap();
        v.take(id).unwrap();
        assert_eq!((v.live(), v.bytes), (0, 0));
    }

    #[test]
    fn reserved_but_unset_is_wrong_type() {
        let mut v = Values::new(3, 10);
        let id = v.reserve().unwrap();
        assert!(matches!(
            v.get(id).unwrap_err().kind(),
            ErrorKind::AbiViolation(AbiViolation::WrongType { .. })
        ));
    }
}
