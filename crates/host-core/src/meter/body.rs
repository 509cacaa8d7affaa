//! One function body, rewritten to charge fuel (the module's doc says what the output does).
//!
//! Two passes over the operators. The first splits the body into stretches and adds up each
//! one's static cost. A stretch ends at every instruction after which control may arrive from
//! elsewhere (`loop`, `if`, `else`, `end`) or cannot fall through (`br`, `br_table`, `return`,
//! `unreachable`, tail calls), so a stretch is entered only at its start and its cost can be
//! charged there. A `br_if` does not end one: leaving by it has paid for the rest of the stretch,
//! as wasmi charges a block's instructions where the block starts (this keeps the count within
//! ±25% of wasmi's on the fixture plugins, where splitting at `br_if` undercounted by up to 26%). The second pass emits the body with the charges, the checks and the loop
//! wrappers, renumbering branch depths for the labels the wrappers add.

use std::borrow::Cow;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{BlockType, Function, Instruction, ValType};
use wasmparser::Operator;

use super::Meter;
use crate::error::Error;

/// Labels a loop with no parameters is wrapped in: `block $done (loop $retry (block $slow …)))`.
const LOOP_WRAP: u32 = 3;

/// Fuel per unit for the bulk operations, as wasmi charges them: a unit per 64 bytes of memory,
/// per 8 table elements (wasmi's 8-byte cells), 1,024 per memory page grown (64 KiB / 64).
#[derive(Clone, Copy)]
struct Bulk {
    /// The count is shifted right (positive) or left (negative) by this many bits.
    shift: i64,
    /// A `grow`: charged only when it succeeded (did not return -1), as wasmi charges only what
    /// it grew.
    grow: bool,
}

fn bulk(op: &Operator<'_>) -> Option<Bulk> {
    let (shift, grow) = match op {
        Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. } => {
            (6, false)
        }
        Operator::TableFill { .. } | Operator::TableCopy { .. } | Operator::TableInit { .. } => {
            (3, false)
        }
        Operator::TableGrow { .. } => (3, true),
        Operator::MemoryGrow { .. } => (-10, true),
        _ => return None,
    };
    Some(Bulk { shift, grow })
}

/// Whether a stretch ends after `op` (see the module doc for why `br_if` does not).
fn ends_stretch(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrTable { .. }
            | Operator::Return
            | Operator::Unreachable
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
    )
}

/// The static cost of one instruction, as wasmi 2.0's default costs: those that generate no
/// code or only end control flow are free.
fn cost(op: &Operator<'_>) -> i64 {
    match op {
        Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::End
        | Operator::Else
        | Operator::Nop
        | Operator::Drop
        | Operator::Unreachable
        | Operator::Return => 0,
        _ => 1,
    }
}

/// An open block of the original code, and how many labels the rewrite put around it.
struct Frame {
    /// Labels added between this frame and its parent (branches from inside to outside cross
    /// them).
    wrap: u32,
    /// `wrap` summed over this frame and every frame around it, so a branch's renumbering is
    /// one subtraction whatever its depth (the rewrite stays linear in deep nesting).
    outer: u32,
}

fn open(frames: &mut Vec<Frame>, wrap: u32) {
    let outer = frames.last().map_or(0, |f| f.outer) + wrap;
    frames.push(Frame { wrap, outer });
}

type Result<T> = std::result::Result<T, ReencodeError<Error>>;

pub(super) fn rewrite(
    meter: &mut Meter<'_>,
    code: &mut wasm_encoder::CodeSection,
    func: wasmparser::FunctionBody<'_>,
) -> Result<()> {
    let index = meter.shape.imported_funcs + meter.bodies;
    meter.bodies += 1;
    let ty = *meter
        .shape
        .func_types
        .get(index as usize)
        .ok_or_else(|| user(super::invalid(format!("function {index} has no type"))))?;
    let (params, _) = meter.shape.signature(ty).map_err(user)?;

    let ops = func
        .get_operators_reader()?
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()?;

    // Pass 1: the cost of each stretch, in order.
    let mut stretches = Vec::new();
    let mut running = 0i64;
    for op in &ops {
        running += cost(op);
        if ends_stretch(op) {
            stretches.push(running);
            running = 0;
        }
    }
    stretches.push(running);
    let mut stretches = stretches.into_iter();

    // Locals as declared, plus one i32 for the bulk operations' count.
    let mut locals = Vec::new();
    let mut declared = 0u32;
    for pair in func.get_locals_reader()? {
        let (n, ty) = pair?;
        declared = declared.saturating_add(n);
        locals.push((n, meter.val_type(ty)?));
    }
    let scratch = params.saturating_add(declared);
    // Two i32 locals for the bulk operations: the count, and a `grow`'s result.
    if ops.iter().any(|op| bulk(op).is_some()) {
        locals.push((2, ValType::I32));
    }
    let mut f = Function::new(locals);

    // Pass 2.
    let mut e = Emit {
        f: &mut f,
        fuel: meter.fuel_global,
        oof: meter.oof_func,
    };
    let mut frames = Vec::new();
    open(&mut frames, 0);
    e.charge(stretches.next().unwrap_or(0));
    e.check_inline();
    for op in ops {
        let ends = ends_stretch(&op);
        match op {
            Operator::Loop { blockty } => {
                let has_params = match blockty {
                    wasmparser::BlockType::FuncType(t) => {
                        meter.shape.signature(t).map_err(user)?.0 > 0
                    }
                    _ => false,
                };
                let bt = meter.block_type(blockty)?;
                if has_params {
                    // The loop's parameters are on the stack at its header: they cannot be carried
                    // out and back, so the call-out stays inline (rare: multi-value loops).
                    e.ins(Instruction::Loop(bt));
                    open(&mut frames, 0);
                    e.charge(stretches.next().unwrap_or(0));
                    e.check_inline();
                } else {
                    e.ins(Instruction::Block(bt)); // $done: the loop's results leave through it
                    e.ins(Instruction::Loop(BlockType::Empty)); // $retry
                    e.ins(Instruction::Block(BlockType::Empty)); // $slow
                    e.ins(Instruction::Loop(bt));
                    open(&mut frames, LOOP_WRAP);
                    e.charge(stretches.next().unwrap_or(0));
                    e.below_zero();
                    e.ins(Instruction::BrIf(1)); // to $slow
                }
                continue;
            }
            Operator::Block { .. } | Operator::If { .. } => {
                let ins = meter.instruction(op)?;
                e.ins(ins);
                open(&mut frames, 0);
            }
            Operator::End => {
                let frame = frames.pop();
                e.ins(Instruction::End);
                if frames.is_empty() {
                    break;
                }
                if frame.is_some_and(|f| f.wrap == LOOP_WRAP) {
                    e.ins(Instruction::Br(2)); // out of $done with the loop's results
                    e.ins(Instruction::End); // $slow: fuel ran out at the header
                    e.ins(Instruction::Call(e.oof));
                    e.ins(Instruction::Br(0)); // back to $retry, into the loop's header again
                    e.ins(Instruction::End); // $retry
                    e.ins(Instruction::Unreachable);
                    e.ins(Instruction::End); // $done
                }
            }
            Operator::Br { relative_depth } => {
                e.ins(Instruction::Br(depth(&frames, relative_depth)))
            }
            Operator::BrIf { relative_depth } => {
                e.ins(Instruction::BrIf(depth(&frames, relative_depth)))
            }
            Operator::BrTable { targets } => {
                let list = targets
                    .targets()
                    .map(|d| d.map(|d| depth(&frames, d)))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                let default = depth(&frames, targets.default());
                e.ins(Instruction::BrTable(Cow::Owned(list), default));
            }
            op => {
                let kind = bulk(&op);
                if kind.is_some() {
                    e.ins(Instruction::LocalTee(scratch)); // the count, for after the operation
                }
                let ins = meter.instruction(op)?;
                e.ins(ins);
                if let Some(kind) = kind {
                    e.charge_bulk(scratch, kind);
                }
            }
        }
        if ends {
            e.charge(stretches.next().unwrap_or(0));
        }
    }
    code.function(&f);
    Ok(())
}

/// A branch's depth in the output: the original depth plus the labels added around every frame
/// the branch leaves.
fn depth(frames: &[Frame], relative: u32) -> u32 {
    let inner = frames.last().map_or(0, |f| f.outer);
    // A depth past the outermost frame cannot occur in a validated module: left as it is.
    let target = frames.len().checked_sub(1 + relative as usize);
    let crossed = target.map_or(0, |t| inner - frames[t].outer);
    relative + crossed
}

fn user(e: Error) -> ReencodeError<Error> {
    ReencodeError::UserError(e)
}

struct Emit<'f> {
    f: &'f mut Function,
    fuel: u32,
    oof: u32,
}

impl Emit<'_> {
    fn ins(&mut self, ins: Instruction<'_>) {
        self.f.instruction(&ins);
    }

    /// `fuel -= n`.
    fn charge(&mut self, n: i64) {
        if n > 0 {
            self.ins(Instruction::GlobalGet(self.fuel));
            self.ins(Instruction::I64Const(n));
            self.ins(Instruction::I64Sub);
            self.ins(Instruction::GlobalSet(self.fuel));
        }
    }

    /// Pushes `fuel < 0`.
    fn below_zero(&mut self) {
        self.ins(Instruction::GlobalGet(self.fuel));
        self.ins(Instruction::I64Const(0));
        self.ins(Instruction::I64LtS);
    }

    /// `if fuel < 0 { out_of_fuel() }`, where no loop is around it.
    fn check_inline(&mut self) {
        self.below_zero();
        self.ins(Instruction::If(BlockType::Empty));
        self.ins(Instruction::Call(self.oof));
        self.ins(Instruction::End);
    }

    /// Charges a bulk operation by its count (saved in `scratch` before it ran), then checks.
    /// After, not before: an operation that traps (out of bounds) traps as it does unmetered,
    /// as wasmi's does, rather than being reported as out of fuel; one that runs is bounded by
    /// the memory's size, which the cap bounds.
    fn charge_bulk(&mut self, scratch: u32, kind: Bulk) {
        let grown = scratch + 1;
        if kind.grow {
            self.ins(Instruction::LocalTee(grown)); // the result, left on the stack
        }
        self.ins(Instruction::GlobalGet(self.fuel));
        self.ins(Instruction::LocalGet(scratch));
        self.ins(Instruction::I64ExtendI32U);
        self.ins(Instruction::I64Const(kind.shift.abs()));
        self.ins(if kind.shift > 0 {
            Instruction::I64ShrU
        } else {
            Instruction::I64Shl
        });
        if kind.grow {
            // fuel - (result != -1 ? amount : 0)
            self.ins(Instruction::I64Const(0));
            self.ins(Instruction::LocalGet(grown));
            self.ins(Instruction::I32Const(-1));
            self.ins(Instruction::I32Ne);
            self.ins(Instruction::Select);
        }
        self.ins(Instruction::I64Sub);
        self.ins(Instruction::GlobalSet(self.fuel));
        self.check_inline();
    }
}
