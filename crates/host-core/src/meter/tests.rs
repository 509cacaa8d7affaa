//! The instrumenter's unit tests: instrumented modules run on wasmi with its own fuel off, the
//! out-of-fuel import either trapping or refilling.

use super::{instrument, MeterConfig};
use crate::error::ErrorKind;
use wasmi::{Caller, Config, Engine, Extern, Linker, Module, Store, Val};

/// What one instrumented call did.
#[derive(Debug)]
struct Run {
    result: Result<Vec<Val>, String>,
    /// The fuel global after the call.
    left: i64,
    /// How often `out_of_fuel` was called.
    call_outs: u32,
}

/// `refill`: what `out_of_fuel` does: `None` traps, `Some(n)` sets the counter to `n` and
/// returns.
fn run(wasm: &[u8], budget: i64, refill: Option<i64>, export: &str, args: &[Val]) -> Run {
    let config = MeterConfig {
        initial_fuel: budget,
        ..MeterConfig::default()
    };
    wasmparser::Validator::new()
        .validate_all(wasm)
        .expect("the original validates");
    let metered = instrument(wasm, &config).expect("instrument");
    let mut wasmi_config = Config::default();
    wasmi_config.consume_fuel(false);
    let engine = Engine::new(&wasmi_config);
    let module = Module::new(&engine, &metered[..]).expect("the instrumented module validates");
    let mut store = Store::new(&engine, 0u32);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "plugboard",
            "out_of_fuel",
            move |mut caller: Caller<'_, u32>| -> Result<(), wasmi::Error> {
                *caller.data_mut() += 1;
                let Some(n) = refill else {
                    return Err(wasmi::Error::new("out of fuel"));
                };
                let Some(Extern::Global(g)) = caller.get_export("plugboard:fuel") else {
                    return Err(wasmi::Error::new("no fuel global"));
                };
                g.set(&mut caller, Val::I64(n))
                    .map_err(|e| wasmi::Error::new(e.to_string()))
            },
        )
        .unwrap();
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiate");
    let func = instance.get_func(&store, export).expect("export");
    let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
    let result = func
        .call(&mut store, args, &mut results)
        .map(|()| results)
        .map_err(|e| e.to_string());
    let left = instance
        .get_global(&store, "plugboard:fuel")
        .expect("fuel export")
        .get(&store)
        .i64()
        .unwrap();
    Run {
        result,
        left,
        call_outs: *store.data(),
    }
}

fn i32s(r: &Run) -> Vec<i32> {
    r.result
        .as_ref()
        .expect("the call succeeds")
        .iter()
        .map(|v| v.i32().unwrap())
        .collect()
}

const SUM: &str = r#"(module
  (func (export "sum") (param $n i32) (result i32) (local $acc i32)
    (block $out
      (loop $top
        (br_if $out (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $top)))
    (local.get $acc)))"#;

/// The fuel a call costs: run with a large budget and subtract.
fn cost(wasm: &[u8], export: &str, args: &[Val]) -> i64 {
    let big = 1 << 40;
    let r = run(wasm, big, None, export, args);
    assert!(r.result.is_ok(), "{r:?}");
    big - r.left
}

#[test]
fn a_loop_charges_per_iteration_and_computes_the_same() {
    let wasm = wat::parse_str(SUM).unwrap();
    let r = run(&wasm, 1 << 40, None, "sum", &[Val::I32(1000)]);
    assert_eq!(i32s(&r), [500500]);
    assert_eq!(r.call_outs, 0);
    let c10 = cost(&wasm, "sum", &[Val::I32(10)]);
    let c20 = cost(&wasm, "sum", &[Val::I32(20)]);
    // Ten more iterations of the same body: the per-iteration cost is the body's instruction
    // count (br_if, eqz, local.get, add, 2 local.get, set, sub, get, const, set, br: 12 or so).
    let per_iteration = (c20 - c10) / 10;
    assert!((8..=16).contains(&per_iteration), "{per_iteration}");
}

#[test]
fn out_of_fuel_is_called_when_and_only_when_the_budget_is_below_the_cost() {
    let wasm = wat::parse_str(SUM).unwrap();
    let args = [Val::I32(50)];
    let c = cost(&wasm, "sum", &args);
    let exact = run(&wasm, c, None, "sum", &args);
    assert_eq!(i32s(&exact), [1275]);
    assert_eq!((exact.left, exact.call_outs), (0, 0));
    let short = run(&wasm, c - 1, None, "sum", &args);
    // The last stretch (after the loop) has no check: the counter ends below zero, which the
    // host reads as exhaustion.
    assert!(short.result.is_err() || short.left < 0, "{short:?}");
    let half = run(&wasm, c / 2, None, "sum", &args);
    assert!(half.result.unwrap_err().contains("out of fuel"));
    assert_eq!(
        half.call_outs, 1,
        "a loop header saw the counter below zero"
    );
}

#[test]
fn a_refilling_call_out_resumes_the_loop_where_it_stopped() {
    let wasm = wat::parse_str(SUM).unwrap();
    let args = [Val::I32(10_000)];
    let c = cost(&wasm, "sum", &args);
    let r = run(&wasm, 100, Some(100), "sum", &args);
    assert_eq!(i32s(&r), [50_005_000]);
    // Each refill pays for 100 units and what was spent below zero before the header's check
    // (at most one iteration, about 12); the header stretch is charged again after each.
    let calls = i64::from(r.call_outs);
    assert!(
        calls >= c / (100 + 16) && calls <= c / 50,
        "{calls} for {c}"
    );
}

#[test]
fn a_runaway_loop_stops() {
    let wasm = wat::parse_str(r#"(module (func (export "spin") (loop $l (br $l))))"#).unwrap();
    let r = run(&wasm, 10_000, None, "spin", &[]);
    assert!(r.result.unwrap_err().contains("out of fuel"));
    assert_eq!(r.call_outs, 1);
}

#[test]
fn recursion_without_loops_is_checked_at_function_entry() {
    let wasm = wat::parse_str(
        r#"(module (func $f (export "f") (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
              (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1)))
                             (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#,
    )
    .unwrap();
    // 2^20 calls: far beyond a budget of 100,000.
    let r = run(&wasm, 100_000, None, "f", &[Val::I32(20)]);
    assert!(r.result.unwrap_err().contains("out of fuel"));
}

#[test]
fn branches_out_of_wrapped_loops_keep_their_targets() {
    // br_table from inside two loops to each enclosing label, loops with results, a loop with
    // parameters (multi-value), and an if/else inside.
    let wasm = wat::parse_str(
        r#"(module
          (type $p (func (param i32) (result i32)))
          (func (export "pick") (param $k i32) (result i32)
            (block $a (result i32)
              (block $b (result i32)
                (loop $outer (result i32)
                  (loop $inner (result i32)
                    (i32.const 7)
                    (local.get $k)
                    (br_table $a $b $b $a)
                  )
                )
              )
              (i32.const 100)
              (i32.add)
            )
          )
          (func (export "count") (param $n i32) (result i32)
            (local.get $n)
            (loop $l (type $p)
              (i32.sub (i32.const 1))
              (if (result i32) (i32.eqz (local.tee $n))
                (then (local.get $n))
                (else (local.get $n) (br $l))))))"#,
    )
    .unwrap();
    assert_eq!(
        i32s(&run(&wasm, 1 << 40, None, "pick", &[Val::I32(0)])),
        [7]
    );
    assert_eq!(
        i32s(&run(&wasm, 1 << 40, None, "pick", &[Val::I32(1)])),
        [107]
    );
    assert_eq!(
        i32s(&run(&wasm, 1 << 40, None, "count", &[Val::I32(5)])),
        [0]
    );
    let r = run(&wasm, 10, Some(10), "count", &[Val::I32(1000)]);
    assert_eq!(i32s(&r), [0]);
    assert!(r.call_outs > 10);
}

#[test]
fn bulk_operations_charge_by_length() {
    let wasm = wat::parse_str(
        r#"(module (memory 1)
          (func (export "fill") (param $n i32)
            (memory.fill (i32.const 0) (i32.const 1) (local.get $n))))"#,
    )
    .unwrap();
    let small = cost(&wasm, "fill", &[Val::I32(64)]);
    let large = cost(&wasm, "fill", &[Val::I32(65536)]);
    assert_eq!(large - small, 65536 / 64 - 1);
    let r = run(&wasm, 500, None, "fill", &[Val::I32(65536)]);
    assert!(r.result.unwrap_err().contains("out of fuel"));
}

#[test]
fn a_grow_that_fails_costs_nothing_extra() {
    // Found by the property test: charging a refused `memory.grow` by the pages asked for
    // reported out of fuel where wasmi goes on (and traps out of bounds, say).
    let wasm = wat::parse_str(
        r#"(module (memory 1)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let refused = run(&wasm, 100, None, "grow", &[Val::I32(-2)]);
    assert_eq!(i32s(&refused), [-1]);
    assert!(refused.left > 90, "{refused:?}");
    let grown = cost(&wasm, "grow", &[Val::I32(1)]);
    let none = cost(&wasm, "grow", &[Val::I32(0)]);
    assert_eq!(grown - none, 1024, "a page grown costs 1,024");
}

#[test]
fn memory_grows_to_the_cap_and_no_further() {
    let wasm = wat::parse_str(
        r#"(module (memory 1)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let config = MeterConfig {
        initial_fuel: 1 << 40,
        max_memory_pages: Some(3),
        ..MeterConfig::default()
    };
    let metered = instrument(&wasm, &config).unwrap();
    let mut wasmi_config = Config::default();
    wasmi_config.consume_fuel(false);
    let engine = Engine::new(&wasmi_config);
    let module = Module::new(&engine, &metered[..]).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::<()>::new(&engine);
    linker
        .func_wrap(
            "plugboard",
            "out_of_fuel",
            || -> Result<(), wasmi::Error> { Err(wasmi::Error::new("out of fuel")) },
        )
        .unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);

    let too_big = wat::parse_str("(module (memory 4))").unwrap();
    let err = instrument(&too_big, &config).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::MemoryLimit { .. }), "{err}");
}

#[test]
fn everything_else_is_kept_and_functions_are_renumbered() {
    let wasm = wat::parse_str(
        r#"(module $m
          (import "env" "log" (func $log (param i32)))
          (import "env" "g" (global $g i32))
          (table 2 funcref)
          (elem (i32.const 0) $a $b)
          (global $h (mut i32) (i32.const 5))
          (func $a (export "a") (result i32) (call_indirect (result i32) (i32.const 1)))
          (func $b (result i32) (call $log (global.get $g)) (global.get $h))
          (start $s)
          (func $s (global.set $h (i32.const 9))))"#,
    )
    .unwrap();
    let metered = instrument(&wasm, &MeterConfig::default()).unwrap();
    let parsed = wasmparser::Parser::new(0).parse_all(&metered);
    let mut names = Vec::new();
    for payload in parsed {
        if let wasmparser::Payload::CustomSection(c) = payload.unwrap() {
            if let wasmparser::KnownCustom::Name(reader) = c.as_known() {
                for sub in reader {
                    if let wasmparser::Name::Function(map) = sub.unwrap() {
                        for n in map {
                            let n = n.unwrap();
                            names.push((n.index, n.name.to_string()));
                        }
                    }
                }
            }
        }
    }
    // The import `out_of_fuel` takes index 1: the module's own functions move up by one.
    assert_eq!(
        names,
        [
            (0, "log".to_string()),
            (2, "a".into()),
            (3, "b".into()),
            (4, "s".into())
        ]
    );
    let engine = Engine::default();
    let module = Module::new(&engine, &metered[..]).unwrap();
    let imports: Vec<_> = module
        .imports()
        .map(|i| (i.module().to_string(), i.name().to_string()))
        .collect();
    assert!(imports.contains(&("plugboard".to_string(), "out_of_fuel".to_string())));
    let exports: Vec<_> = module.exports().map(|e| e.name().to_string()).collect();
    assert_eq!(exports, ["a", "plugboard:fuel"]);
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("env", "log", |_: i32| {}).unwrap();
    let g = wasmi::Global::new(&mut store, Val::I32(1), wasmi::Mutability::Const);
    linker.define("env", "g", g).unwrap();
    linker.func_wrap("plugboard", "out_of_fuel", || {}).unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let a = instance.get_typed_func::<(), i32>(&store, "a").unwrap();
    assert_eq!(
        a.call(&mut store, ()).unwrap(),
        9,
        "start ran, the table reaches $b"
    );
}

#[test]
fn a_broken_name_section_is_dropped_not_fatal() {
    let mut wasm = wat::parse_str(r#"(module (func (export "f") (loop (br 0))))"#).unwrap();
    // A custom section "name" whose function-names subsection claims more bytes than it has.
    wasm.extend_from_slice(&[0, 8, 4, b'n', b'a', b'm', b'e', 1, 0xff, 0x7f]);
    let metered =
        instrument(&wasm, &MeterConfig::default()).expect("custom sections are not validated");
    Module::new(&Engine::default(), &metered[..]).expect("valid");
    assert!(
        !metered.windows(4).any(|w| w == b"name"),
        "the broken section is gone"
    );
}

#[test]
fn the_output_is_deterministic() {
    let wasm = wat::parse_str(SUM).unwrap();
    let config = MeterConfig::default();
    assert_eq!(
        instrument(&wasm, &config).unwrap(),
        instrument(&wasm, &config).unwrap()
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let garbage = instrument(b"\0asm\x01\0\0\0\x01\xff", &MeterConfig::default()).unwrap_err();
    assert!(
        matches!(garbage.kind(), ErrorKind::InvalidModule { .. }),
        "{garbage}"
    );
    let clash =
        wat::parse_str(r#"(module (global (export "plugboard:fuel") i32 (i32.const 0)))"#).unwrap();
    let err = instrument(&clash, &MeterConfig::default()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidModule { .. }),
        "{err}"
    );
    let empty = instrument(
        &wat::parse_str("(module)").unwrap(),
        &MeterConfig::default(),
    )
    .unwrap();
    Module::new(&Engine::default(), &empty[..]).expect("an empty module gains valid sections");
}

#[test]
fn a_hundred_thousand_nested_blocks_are_rewritten_without_recursion() {
    let depth = 100_000;
    let mut body = wasm_encoder::Function::new([]);
    for _ in 0..depth {
        body.instruction(&wasm_encoder::Instruction::Loop(
            wasm_encoder::BlockType::Empty,
        ));
    }
    body.instruction(&wasm_encoder::Instruction::Br(depth - 1));
    for _ in 0..=depth {
        body.instruction(&wasm_encoder::Instruction::End);
    }
    let mut module = wasm_encoder::Module::new();
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut funcs = wasm_encoder::FunctionSection::new();
    funcs.function(0);
    module.section(&funcs);
    let mut exports = wasm_encoder::ExportSection::new();
    exports.export("f", wasm_encoder::ExportKind::Func, 0);
    module.section(&exports);
    let mut code = wasm_encoder::CodeSection::new();
    code.function(&body);
    module.section(&code);
    let wasm = module.finish();
    let metered = instrument(&wasm, &MeterConfig::default()).unwrap();
    // Each loop gains three labels; the outermost branch now crosses all of them.
    assert!(metered.len() > wasm.len() * 4);
    wasmparser::Validator::new()
        .validate_all(&metered)
        .expect("valid");
}
