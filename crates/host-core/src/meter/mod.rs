//! The fuel instrumenter: rewrites a validated module so that it meters its own fuel and cannot
//! grow its memory past a cap, for engines that have no fuel of their own (a JS engine's
//! WebAssembly). Bytes in, bytes out: no engine type appears here.
//!
//! What the output does (docs/metering.md has the contract for embedders):
//! - A new mutable `i64` global holds the fuel left. It is exported under
//!   [`MeterConfig::fuel_export`]; the host reads it after a call and sets it before one. Its
//!   initial value is [`MeterConfig::initial_fuel`].
//! - Each stretch of code subtracts its static cost when it starts (a `br_if` leaving early has
//!   paid for the rest of its stretch, as in wasmi): one unit per
//!   original instruction, those wasmi charges nothing for (`block`, `loop`, `end`, `else`, `nop`, `drop`, `unreachable`,
//!   `return`) free. Bulk
//!   operations charge their length as wasmi does (`memory.fill/copy/init` a unit per 64 bytes,
//!   `table.*` a unit per 8 elements, `memory.grow` 1,024 units per page).
//! - The counter is compared with zero only at function entry, at loop headers and after a bulk
//!   charge. Below zero, the function imported as [`MeterConfig::out_of_fuel`] (type `[] -> []`)
//!   is called: it may trap, or refill the global and return, and the code goes on. At a loop
//!   header that call sits outside the loop (a `br_if` leaves the loop, the call runs, the loop is
//!   entered again at its header), because a call inside a hot loop, even one never taken, slows
//!   V8's optimised code several times.
//! - Straight-line code after the last check of a call may take the counter below zero without a
//!   call-out (a function without loops charges on entry, checks, then runs to its end): the host
//!   must treat a negative counter after a call as exhaustion. So a call whose cost is within the
//!   budget never sees `out_of_fuel` and ends with a counter ≥ 0; a call that costs more either
//!   calls `out_of_fuel` or ends with the counter below zero.
//! - Every defined memory's maximum becomes at most [`MeterConfig::max_memory_pages`], so
//!   `memory.grow` past the cap returns -1 as it does under wasmi's limiter.
//!
//! Everything else (imports, exports, tables, globals, segments, the name section) is kept. The
//! new import is the last function import, so the module's own functions move up by one index;
//! every reference to them (calls, `ref.func`, exports, elements, start, names) is renumbered.

mod body;
mod shape;

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{ConstExpr, EntityType, ExportKind, GlobalType, Module, SectionId, ValType};

use crate::error::{Error, ErrorKind};
use shape::Shape;

/// How to instrument a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConfig {
    /// The export name of the fuel global (a mutable `i64`).
    pub fuel_export: String,
    /// The `(module, name)` of the imported `[] -> []` function called when fuel runs out.
    pub out_of_fuel: (String, String),
    /// The fuel global's value when the module is instantiated.
    pub initial_fuel: i64,
    /// The largest maximum, in 64 KiB pages, any defined memory may have; `None` keeps them.
    pub max_memory_pages: Option<u64>,
}

impl Default for MeterConfig {
    fn default() -> Self {
        Self {
            fuel_export: "plugboard:fuel".into(),
            out_of_fuel: ("plugboard".into(), "out_of_fuel".into()),
            initial_fuel: 0,
            max_memory_pages: None,
        }
    }
}

/// Rewrites `wasm` (a module host-core has validated) to meter its own fuel as
/// [`MeterConfig`] says. Deterministic: the same bytes and configuration give the same output.
///
/// Errors: [`ErrorKind::InvalidModule`] for bytes that do not parse or a module that already
/// exports `fuel_export`; [`ErrorKind::MemoryLimit`] for a memory whose minimum is above the cap.
pub fn instrument(wasm: &[u8], config: &MeterConfig) -> Result<Vec<u8>, Error> {
    let shape = Shape::read(wasm)?;
    if shape.exports.contains(&config.fuel_export) {
        return Err(invalid(format!(
            "the module already exports `{}`, the name chosen for the fuel counter",
            config.fuel_export
        )));
    }
    let mut meter = Meter {
        oof_type: shape.types.len() as u32,
        oof_func: shape.imported_funcs,
        fuel_global: shape.imported_globals + shape.defined_globals,
        shape,
        config,
        bodies: 0,
    };
    let mut module = Module::new();
    let result = meter.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm);
    result.map_err(|e| match e {
        wasm_encoder::reencode::Error::UserError(e) => e,
        wasm_encoder::reencode::Error::ParseError(e) => invalid(e.message().to_string()),
        other => invalid(other.to_string()),
    })?;
    Ok(module.finish())
}

fn invalid(reason: String) -> Error {
    Error::new(ErrorKind::InvalidModule { reason })
}

/// The re-encoder: wasm-encoder's round trip with the module-level additions and, per function
/// body, [`body::rewrite`].
struct Meter<'c> {
    shape: Shape,
    config: &'c MeterConfig,
    /// The index of the `[] -> []` type added at the end of the type section.
    oof_type: u32,
    /// The index of the `out_of_fuel` import (the last function import).
    oof_func: u32,
    /// The index of the fuel global (the last global).
    fuel_global: u32,
    /// Function bodies rewritten so far (the next one's defined index).
    bodies: u32,
}

impl Meter<'_> {
    fn add_type(&self, types: &mut wasm_encoder::TypeSection) {
        types.ty().function([], []);
    }
    fn add_import(&self, imports: &mut wasm_encoder::ImportSection) {
        let (module, name) = &self.config.out_of_fuel;
        imports.import(module, name, EntityType::Function(self.oof_type));
    }
    fn add_global(&self, globals: &mut wasm_encoder::GlobalSection) {
        let ty = GlobalType {
            val_type: ValType::I64,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &ConstExpr::i64_const(self.config.initial_fuel));
    }
    fn add_export(&self, exports: &mut wasm_encoder::ExportSection) {
        exports.export(
            &self.config.fuel_export,
            ExportKind::Global,
            self.fuel_global,
        );
    }
}

type ReencodeResult = Result<(), wasm_encoder::reencode::Error<Error>>;

impl Reencode for Meter<'_> {
    type Error = Error;

    fn function_index(&mut self, func: u32) -> u32 {
        if func >= self.shape.imported_funcs {
            func + 1
        } else {
            func
        }
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> ReencodeResult {
        wasm_encoder::reencode::utils::parse_type_section(self, types, section)?;
        self.add_type(types);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> ReencodeResult {
        wasm_encoder::reencode::utils::parse_import_section(self, imports, section)?;
        self.add_import(imports);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> ReencodeResult {
        wasm_encoder::reencode::utils::parse_global_section(self, globals, section)?;
        self.add_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> ReencodeResult {
        wasm_encoder::reencode::utils::parse_export_section(self, exports, section)?;
        self.add_export(exports);
        Ok(())
    }

    fn parse_memory_section(
        &mut self,
        memories: &mut wasm_encoder::MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> ReencodeResult {
        for memory in section {
            let mut ty = self.memory_type(memory?);
            if let Some(cap) = self.config.max_memory_pages {
                if ty.minimum > cap {
                    return Err(wasm_encoder::reencode::Error::UserError(Error::new(
                        ErrorKind::MemoryLimit {
                            cap: usize::try_from(cap.saturating_mul(65536)).unwrap_or(usize::MAX),
                        },
                    )));
                }
                ty.maximum = Some(ty.maximum.map_or(cap, |m| m.min(cap)));
            }
            memories.memory(ty);
        }
        Ok(())
    }

    /// A name section is renumbered; one that does not parse (custom sections are not
    /// validated, so a valid module may carry a broken one) is dropped rather than copied with
    /// indices that no longer match.
    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> ReencodeResult {
        match section.as_known() {
            wasmparser::KnownCustom::Name(names) => {
                if let Ok(names) = self.custom_name_section(names) {
                    module.section(&names);
                }
            }
            _ => {
                module.section(&self.custom_section(section));
            }
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> ReencodeResult {
        body::rewrite(self, code, func)
    }

    /// The sections the additions need, where the module has none, in their proper order.
    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> ReencodeResult {
        let between = |id: SectionId| {
            after.is_none_or(|a| rank(a) < rank(id)) && before.is_none_or(|b| rank(id) < rank(b))
        };
        if !self.shape.has_types && between(SectionId::Type) {
            let mut s = wasm_encoder::TypeSection::new();
            self.add_type(&mut s);
            module.section(&s);
        }
        if !self.shape.has_imports && between(SectionId::Import) {
            let mut s = wasm_encoder::ImportSection::new();
            self.add_import(&mut s);
            module.section(&s);
        }
        if !self.shape.has_globals && between(SectionId::Global) {
            let mut s = wasm_encoder::GlobalSection::new();
            self.add_global(&mut s);
            module.section(&s);
        }
        if !self.shape.has_exports && between(SectionId::Export) {
            let mut s = wasm_encoder::ExportSection::new();
            self.add_export(&mut s);
            module.section(&s);
        }
        Ok(())
    }
}

/// A section's place in a module's required order (the tag section sits between memory and
/// global; data count before code).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
        _ => 0,
    }
}

#[cfg(test)]
mod tests;
