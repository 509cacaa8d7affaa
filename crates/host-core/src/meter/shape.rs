//! What the instrumenter must know before it rewrites anything: the index spaces its additions
//! extend, the sections the module lacks, each function's parameter count, the export names.

use wasmparser::{Parser, Payload, TypeRef};

use super::invalid;
use crate::error::Error;

/// A module's outline, from one pass over its sections.
#[derive(Debug, Default)]
pub(super) struct Shape {
    /// Per type index: (parameter count, result count).
    pub types: Vec<(u32, u32)>,
    /// Per function index (imported ones first): its type index.
    pub func_types: Vec<u32>,
    pub imported_funcs: u32,
    pub imported_globals: u32,
    pub defined_globals: u32,
    pub exports: Vec<String>,
    pub has_types: bool,
    pub has_imports: bool,
    pub has_globals: bool,
    pub has_exports: bool,
}

impl Shape {
    pub fn read(wasm: &[u8]) -> Result<Self, Error> {
        let mut shape = Shape::default();
        let fail = |e: wasmparser::BinaryReaderError| invalid(e.message().to_string());
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(fail)? {
                Payload::TypeSection(section) => {
                    shape.has_types = true;
                    for ty in section.into_iter_err_on_gc_types() {
                        let ty = ty.map_err(fail)?;
                        shape
                            .types
                            .push((ty.params().len() as u32, ty.results().len() as u32));
                    }
                }
                Payload::ImportSection(section) => {
                    shape.has_imports = true;
                    for import in section {
                        match import.map_err(fail)?.ty {
                            TypeRef::Func(ty) => {
                                shape.imported_funcs += 1;
                                shape.func_types.push(ty);
                            }
                            TypeRef::Global(_) => shape.imported_globals += 1,
                            _ => {}
                        }
                    }
                }
                Payload::FunctionSection(section) => {
                    for ty in section {
                        shape.func_types.push(ty.map_err(fail)?);
                    }
                }
                Payload::GlobalSection(section) => {
                    shape.has_globals = true;
                    shape.defined_globals = section.count();
                }
                Payload::ExportSection(section) => {
                    shape.has_exports = true;
                    for export in section {
                        shape.exports.push(export.map_err(fail)?.name.to_string());
                    }
                }
                Payload::Version {
                    encoding: wasmparser::Encoding::Component,
                    ..
                } => return Err(invalid("a component, not a core module".into())),
                _ => {}
            }
        }
        Ok(shape)
    }

    /// The (parameter, result) counts of a function type, or an error for an index out of range
    /// (impossible in a validated module).
    pub fn signature(&self, ty: u32) -> Result<(u32, u32), Error> {
        self.types
            .get(ty as usize)
            .copied()
            .ok_or_else(|| invalid(format!("type index {ty} out of range")))
    }
}
