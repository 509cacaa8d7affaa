//! Extism JS-PDK plugins: a core module plus `interface.d.ts`, run through shims generated at
//! load (docs/abis.md §5).

use crate::common::{assert_kind, canary};
use plugboard_host_core::{
    Abi, DecodeError, ErrorKind, Host, HostBuilder, Interface, Plugin, PluginOptions, TrapCode,
};
use std::cell::Cell;
use std::rc::Rc;

fn interface() -> Interface {
    Interface::parse(plugboard_fixtures::IDL_CORE_INTERFACE)
        .expect("the fixture's interface parses")
}

fn builder(ticks: Rc<Cell<u32>>) -> HostBuilder {
    Host::builder()
        .func("env", "add", |(a, b): (i32, i32)| a.wrapping_add(b))
        .func("env", "scale", |(x, f): (f64, f32)| x * f64::from(f))
        .func("env", "shout", |s: String| format!("{}!", s.to_uppercase()))
        .func("env", "tick", move |()| ticks.set(ticks.get() + 1))
}

pub fn idl_core(host: &Host) -> Plugin {
    host.load_wasm_with(
        plugboard_fixtures::IDL_CORE,
        PluginOptions::named("idl").with_interface(interface()),
    )
    .expect("the core module loads with its interface")
}

#[test]
fn exports_come_from_the_interface_in_invoke_order() {
    let h = builder(Rc::default()).build();
    let p = idl_core(&h);
    assert_eq!(p.abi(), Abi::Idl);
    let names: Vec<_> = p.exports().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["fail", "greet", "mix", "types"]);
}

#[test]
fn a_declared_plugin_runs_end_to_end() {
    let ticks = Rc::new(Cell::new(0));
    let h = builder(ticks.clone()).build();
    let mut p = idl_core(&h);
    assert_eq!(
        p.call_bytes("greet", b"Ada".to_vec()).unwrap(),
        b"Hello, Ada!"
    );
    // add(i32, i32) -> i32, scale(f64, f32) -> f64, shout(PTR) -> PTR, tick() -> void
    assert_eq!(
        p.call_bytes("mix", b"-2,44".to_vec()).unwrap(),
        b"42 10 -2,44! 0"
    );
    assert_eq!(ticks.get(), 1);
    assert_eq!(
        p.call::<str, String>("greet", "again").unwrap(),
        "Hello, again!"
    );
}

#[test]
fn the_import_shim_reports_declared_types() {
    let h = builder(Rc::default()).build();
    let mut p = idl_core(&h);
    // I32=1 I64/PTR=2 F32=3 F64=4, 0 for none; index 4 is out of range.
    assert_eq!(
        p.call_bytes("types", Vec::new()).unwrap(),
        b"1:1,1|4:4,3|2:2|0:|0:"
    );
}

#[test]
fn a_failing_export_is_call_failed_with_its_message() {
    let h = builder(Rc::default()).build();
    let mut p = idl_core(&h);
    let e = assert_kind(
        p.call_bytes("fail", b"x".to_vec()),
        |k| matches!(k, ErrorKind::CallFailed { code: 1, message: Some(m) } if m == "failed on purpose: x"),
    );
    drop(e);
    assert_eq!(p.call_bytes("greet", b"B".to_vec()).unwrap(), b"Hello, B!");
    assert_kind(p.call_bytes("nope", Vec::new()), |k| {
        matches!(k, ErrorKind::UnknownFunction { .. })
    });
}

#[test]
fn async_host_functions_return_numbers_through_the_shim() {
    let h = Host::builder()
        .func_async("env", "add", |(a, b): (i32, i32)| async move {
            Ok::<_, String>(a * b)
        })
        .func("env", "scale", |(x, f): (f64, f32)| x + f64::from(f))
        .func("env", "shout", |s: String| s)
        .func("env", "tick", |()| ())
        .build();
    let mut p = idl_core(&h);
    assert_eq!(
        p.call_bytes("mix", b"6,7".to_vec()).unwrap(),
        b"42 6.5 6,7 0"
    );
}

#[test]
fn a_host_function_returning_a_non_number_is_a_decode_error() {
    let h = builder(Rc::default())
        .func("env", "add", |_: (i32, i32)| "forty-two")
        .build();
    let mut p = idl_core(&h);
    assert_kind(
        p.call_bytes("mix", b"1,2".to_vec()),
        |k| matches!(k, ErrorKind::Decode(DecodeError::Mismatch { reason }) if reason.contains("env::add")),
    );
    assert_eq!(p.call_bytes("greet", b"C".to_vec()).unwrap(), b"Hello, C!");
    canary(&h);
}

#[test]
fn without_its_interface_a_core_module_is_refused_with_the_reason() {
    let h = builder(Rc::default()).build();
    let e = assert_kind(h.load_wasm(plugboard_fixtures::IDL_CORE), |k| {
        matches!(k, ErrorKind::AbiDetection { .. })
    });
    assert!(e.to_string().contains("interface.d.ts"), "{e}");
    assert_eq!(
        h.describe_wasm(plugboard_fixtures::IDL_CORE)
            .map(|i| i.abi)
            .map_err(|e| e.to_string()),
        Err(e.to_string())
    );
    let info = h
        .describe_wasm_with(
            plugboard_fixtures::IDL_CORE,
            &PluginOptions::default().with_interface(interface()),
        )
        .unwrap();
    assert_eq!(info.abi, Abi::Idl);
    assert_eq!(info.exports.len(), 4);
}

#[test]
fn a_host_without_a_declared_function_cannot_link_the_shim() {
    let h = Host::builder()
        .func("env", "add", |(a, b): (i32, i32)| a + b)
        .build();
    let e = assert_kind(
        h.load_wasm_with(
            plugboard_fixtures::IDL_CORE,
            PluginOptions::default().with_interface(interface()),
        ),
        |k| matches!(k, ErrorKind::LinkError { module, .. } if module == "extism:host/user"),
    );
    assert!(e.to_string().contains("scale"), "{e}");
    canary(&h);
}

/// A hand-written core module: `__invoke(i)` calls `__invokeHostFunc(i + 10, …)` when `i`
/// is odd, else returns 0; plus the imports in `extra`.
fn core_wat(extra_imports: &str, invoke: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  {extra_imports}
  (memory (export "memory") 1)
  {invoke}
)"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{text}"))
}

const INVOKE: &str = r#"(func (export "__invoke") (param i32) (result i32) (i32.const 0))"#;

fn load(core: &[u8], dts: &str) -> Result<Plugin, plugboard_host_core::Error> {
    builder(Rc::default()).build().load_wasm_with(
        core,
        PluginOptions::default().with_interface(Interface::parse(dts)?),
    )
}

const DTS: &str = "declare module 'main' { export function run(): I32; }\n\
    declare module 'extism:host' { interface user { add(a: I32, b: I32): I32; } }";

#[test]
fn a_mistyped_import_names_both_sides() {
    let core = core_wat(
        r#"(import "extism:host/user" "add" (func (param i64 i64) (result i64)))"#,
        INVOKE,
    );
    let e = assert_kind(load(&core, DTS), |k| {
        matches!(k, ErrorKind::SignatureMismatch { expected, found, .. }
            if expected == "(i32, i32) -> (i32)" && found == "(i64, i64) -> (i64)")
    });
    assert!(e.to_string().contains("interface.d.ts"), "{e}");
    let core = core_wat(
        r#"(import "shim" "__invokeHostFunc" (func (param i32 i64) (result i64)))"#,
        INVOKE,
    );
    assert_kind(
        load(&core, DTS),
        |k| matches!(k, ErrorKind::SignatureMismatch { name, .. } if name.contains("__invokeHostFunc")),
    );
}

#[test]
fn an_undeclared_import_names_both_sides() {
    let core = core_wat(
        r#"(import "extism:host/user" "nope" (func (param i64) (result i64)))"#,
        INVOKE,
    );
    let e = assert_kind(
        load(&core, DTS),
        |k| matches!(k, ErrorKind::LinkError { name, .. } if name == "nope"),
    );
    assert!(e.to_string().contains("does not declare"), "{e}");
    assert!(e.to_string().contains("`add`"), "{e}");
    let core = core_wat(r#"(import "shim" "__other" (func))"#, INVOKE);
    assert_kind(
        load(&core, DTS),
        |k| matches!(k, ErrorKind::LinkError { module, name, .. } if module == "shim" && name == "__other"),
    );
}

#[test]
fn a_core_without_invoke_is_a_missing_export() {
    let core = core_wat(
        r#"(import "shim" "__get_function_return_type" (func (param i32) (result i32)))"#,
        r#"(func (export "run") (result i32) (i32.const 0))"#,
    );
    let e = assert_kind(load(&core, DTS), |k| {
        matches!(k, ErrorKind::MissingExport { .. })
    });
    assert!(e.to_string().contains("`run`"), "{e}");
    let core = core_wat(
        "",
        r#"(func (export "__invoke") (result i32) (i32.const 0))"#,
    );
    assert_kind(
        load(&core, DTS),
        |k| matches!(k, ErrorKind::SignatureMismatch { name, .. } if name == "__invoke"),
    );
}

#[test]
fn interface_syntax_errors_are_positioned() {
    let e = assert_kind(
        load(
            &core_wat("", INVOKE),
            "declare module 'main' {\n  export function run(): I32\n  oops\n}",
        ),
        |k| {
            matches!(
                k,
                ErrorKind::Interface {
                    line: 3,
                    column: 3,
                    ..
                }
            )
        },
    );
    assert_eq!(e.kind_name(), "interface");
}

#[test]
fn an_out_of_range_host_function_index_traps_and_the_plugin_recovers() {
    let core = core_wat(
        r#"(import "shim" "__invokeHostFunc" (func $h (param i32 i64 i64 i64 i64 i64) (result i64)))"#,
        r#"(func (export "__invoke") (param $i i32) (result i32)
             (if (i32.eq (local.get $i) (i32.const 0))
               (then (drop (call $h (i32.const 99) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0))))
               (else (drop (call $h (i32.const 0) (i64.const 20) (i64.const 22) (i64.const 0) (i64.const 0) (i64.const 0)))))
             (i32.const 0))"#,
    );
    let dts =
        "declare module 'main' { export function bad(): I32; export function good(): I32; }\n\
        declare module 'extism:host' { interface user { add(a: I32, b: I32): I32; } }";
    let h = builder(Rc::default()).build();
    let mut p = h
        .load_wasm_with(
            &core,
            PluginOptions::default().with_interface(Interface::parse(dts).unwrap()),
        )
        .unwrap();
    assert_kind(p.call_bytes("bad", Vec::new()), |k| {
        matches!(
            k,
            ErrorKind::Trap {
                code: TrapCode::Unreachable,
                ..
            }
        )
    });
    assert_eq!(p.call_bytes("good", Vec::new()).unwrap(), b"");
    canary(&h);
}
