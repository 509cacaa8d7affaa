//! The two shim modules of a JS-PDK plugin, generated from its interface with `wasm-encoder`.
//!
//! * The **export shim** imports `core.__invoke: (i32) -> (i32)` and exports one thunk
//!   `NAME: () -> (i32)` per export of the interface, which calls `__invoke(index)`.
//! * The **import shim** imports the declared host functions from `extism:host/user` with their
//!   declared types, puts them in a table, and exports
//!   - `__invokeHostFunc(index: i32, a0..a4: i64) -> i64`: converts the `i64` arguments to the
//!     declared types (`i32.wrap_i64`, reinterpretation for floats), calls the table entry
//!     through `call_indirect`, and widens the result back to `i64` (0 for `void`);
//!   - `__get_function_return_type(index: i32) -> i32` and
//!     `__get_function_arg_type(index: i32, arg: i32) -> i32`: the type codes of
//!     [`IdlType::code`] (0 for none).
//!
//! An index out of range traps in `__invokeHostFunc` and is "none" (0) in the type queries.

use super::{IdlType, Interface};
use std::borrow::Cow;
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, ImportSection, Module, RefType, TableSection,
    TableType, TypeSection, ValType,
};

/// The core module's export that runs the n-th export.
pub(crate) const INVOKE: &str = "__invoke";
/// The module name under which the core module imports the import shim.
pub(crate) const IMPORT_SHIM: &str = "shim";
/// The module name under which the export shim imports the core module.
pub(crate) const CORE: &str = "core";
const INVOKE_HOST: &str = "__invokeHostFunc";
const RETURN_TYPE: &str = "__get_function_return_type";
const ARG_TYPE: &str = "__get_function_arg_type";
/// The functions the import shim exports.
pub(crate) const SHIM_FUNCTIONS: [&str; 3] = [INVOKE_HOST, RETURN_TYPE, ARG_TYPE];

/// The type of an import-shim function, as `fmt_sig` writes it.
pub(crate) fn shim_function_type(name: &str) -> Option<String> {
    Some(
        match name {
            INVOKE_HOST => "(i32, i64, i64, i64, i64, i64) -> (i64)",
            RETURN_TYPE => "(i32) -> (i32)",
            ARG_TYPE => "(i32, i32) -> (i32)",
            _ => return None,
        }
        .to_owned(),
    )
}

fn val(t: IdlType) -> ValType {
    match t {
        IdlType::I32 => ValType::I32,
        IdlType::I64 | IdlType::Ptr => ValType::I64,
        IdlType::F32 => ValType::F32,
        IdlType::F64 => ValType::F64,
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The export shim: one `() -> i32` thunk per export, calling `core.__invoke(index)`.
pub(crate) fn export_shim(interface: &Interface) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([], [ValType::I32]);
    let mut imports = ImportSection::new();
    imports.import(CORE, INVOKE, EntityType::Function(0));
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for (i, name) in interface.exports().iter().enumerate() {
        functions.function(1);
        exports.export(name, ExportKind::Func, index(i + 1));
        let mut f = Function::new([]);
        f.instructions()
            .i32_const(i32::try_from(i).unwrap_or(i32::MAX))
            .call(0)
            .end();
        code.function(&f);
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// The import shim: the declared host functions in a table behind `__invokeHostFunc`, and the
/// type queries.
pub(crate) fn import_shim(interface: &Interface) -> Vec<u8> {
    let hosts = interface.imports();
    let n = hosts.len();
    let mut types = TypeSection::new();
    // Types 0..n: one per host function (duplicates are harmless and keep indices simple).
    for f in hosts {
        types.ty().function(
            f.params.iter().map(|(_, t)| val(*t)),
            f.result.iter().map(|t| val(*t)),
        );
    }
    let t_invoke = index(n);
    types.ty().function(
        [
            ValType::I32,
            ValType::I64,
            ValType::I64,
            ValType::I64,
            ValType::I64,
            ValType::I64,
        ],
        [ValType::I64],
    );
    let t_ret = t_invoke + 1;
    types.ty().function([ValType::I32], [ValType::I32]);
    let t_arg = t_ret + 1;
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]);

    let mut imports = ImportSection::new();
    for (i, f) in hosts.iter().enumerate() {
        imports.import(
            crate::abi::kernel::USER_MODULE,
            &f.name,
            EntityType::Function(index(i)),
        );
    }
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: n as u64,
        maximum: Some(n as u64),
        shared: false,
    });
    let mut elements = ElementSection::new();
    let members: Vec<u32> = (0..index(n)).collect();
    elements.active(
        None,
        &ConstExpr::i32_const(0),
        Elements::Functions(Cow::Owned(members)),
    );

    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for (k, (name, ty)) in [
        (INVOKE_HOST, t_invoke),
        (RETURN_TYPE, t_ret),
        (ARG_TYPE, t_arg),
    ]
    .into_iter()
    .enumerate()
    {
        functions.function(ty);
        exports.export(name, ExportKind::Func, index(n + k));
    }

    // __invokeHostFunc
    let mut f = Function::new([]);
    dispatch(&mut f, 0, n, |s, i| {
        let host = &hosts[i];
        for (j, (_, t)) in host.params.iter().enumerate() {
            s.local_get(index(j + 1));
            match t {
                IdlType::I32 => {
                    s.i32_wrap_i64();
                }
                IdlType::F32 => {
                    s.i32_wrap_i64().f32_reinterpret_i32();
                }
                IdlType::F64 => {
                    s.f64_reinterpret_i64();
                }
                IdlType::I64 | IdlType::Ptr => {}
            }
        }
        s.i32_const(i32::try_from(i).unwrap_or(i32::MAX))
            .call_indirect(0, index(i));
        match host.result {
            None => {
                s.i64_const(0);
            }
            Some(IdlType::I32) => {
                s.i64_extend_i32_s();
            }
            Some(IdlType::F32) => {
                s.i32_reinterpret_f32().i64_extend_i32_u();
            }
            Some(IdlType::F64) => {
                s.i64_reinterpret_f64();
            }
            Some(IdlType::I64 | IdlType::Ptr) => {}
        }
        s.return_();
    });
    f.instructions().unreachable().end();
    code.function(&f);

    // __get_function_return_type
    let mut f = Function::new([]);
    dispatch(&mut f, 0, n, |s, i| {
        s.i32_const(hosts[i].result.map_or(0, IdlType::code))
            .return_();
    });
    f.instructions().i32_const(0).end();
    code.function(&f);

    // __get_function_arg_type: a dispatch on the argument inside a dispatch on the function.
    let mut f = Function::new([]);
    dispatch(&mut f, 0, n, |s, i| {
        let params = &hosts[i].params;
        // Nested blocks, as in `dispatch`, written on the same sink.
        s.block(BlockType::Empty);
        for _ in 0..params.len() {
            s.block(BlockType::Empty);
        }
        s.local_get(1)
            .br_table(0..index(params.len()), index(params.len()))
            .end();
        for (_, t) in params {
            s.i32_const(t.code()).return_().end();
        }
        s.i32_const(0).return_();
    });
    f.instructions().i32_const(0).end();
    code.function(&f);

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&tables)
        .section(&exports)
        .section(&elements)
        .section(&code);
    module.finish()
}

/// Emits a jump table on local `local`: case `i` (for `0 <= i < cases`) runs `case(i)`, which
/// must end in `return`; any other value falls through past the emitted code.
///
/// Shape: `cases + 1` nested blocks; `br_table` with label `i` leaves the `i`-th innermost
/// block, whose end is followed by the code of case `i`; the default leaves the outermost.
fn dispatch(
    f: &mut Function,
    local: u32,
    cases: usize,
    mut case: impl FnMut(&mut wasm_encoder::InstructionSink<'_>, usize),
) {
    let mut s = f.instructions();
    s.block(BlockType::Empty);
    for _ in 0..cases {
        s.block(BlockType::Empty);
    }
    s.local_get(local)
        .br_table(0..index(cases), index(cases))
        .end();
    for i in 0..cases {
        case(&mut s, i);
        s.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shims_validate() {
        let i = Interface::parse(
            "declare module 'main' { export function b(): I32; export function a(): I32; }\n\
             declare module 'extism:host' { interface user { f(a: I32, b: F32, c: F64, d: I64, e: PTR): F32; g(): void; h(x: F64): F64; } }",
        )
        .expect("parses");
        for (what, bytes) in [("export", export_shim(&i)), ("import", import_shim(&i))] {
            wasmi::Module::new(&wasmi::Engine::default(), &bytes[..])
                .unwrap_or_else(|e| panic!("the {what} shim does not validate: {e}"));
        }
        let empty = Interface::parse("declare module 'main' {}").expect("parses");
        for bytes in [export_shim(&empty), import_shim(&empty)] {
            wasmi::Module::new(&wasmi::Engine::default(), &bytes[..]).expect("validates");
        }
    }
}
