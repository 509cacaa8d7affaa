//! The call state machine: fuel slices yield, async host functions suspend and resume, a
//! second call while one is in flight is refused, and a cancelled call leaves a usable plugin.

use crate::common::{assert_kind, buffer_wat};
use plugboard_host_core::{ErrorKind, Host, Limits, Step};

fn perf_host(slice: u64) -> Host {
    Host::builder()
        .limits(Limits {
            fuel_slice: slice,
            ..Limits::default()
        })
        .build()
}

#[test]
fn a_long_call_yields_between_slices() {
    let h = perf_host(100_000);
    let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
    p.start_call("sum", plugboard_host_core::encode(&1_000_000u64).unwrap())
        .unwrap();
    let mut yields = 0;
    let out = loop {
        match p.resume().unwrap() {
            Step::Done(out) => break out,
            Step::Yielded => yields += 1,
            Step::Pending(_) => panic!("no host functions here"),
        }
    };
    assert_eq!(
        plugboard_host_core::decode::<u64>(&out).unwrap(),
        500_000_500_000
    );
    let expected = p.fuel_consumed() / 100_000;
    assert!(
        yields >= expected.saturating_sub(1) && yields <= expected + 1,
        "{yields} yields for {} fuel",
        p.fuel_consumed()
    );
}

#[test]
fn con_05_second_call_while_suspended_is_busy() {
    let h = perf_host(10_000);
    let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
    p.start_call("sum", plugboard_host_core::encode(&1_000_000u64).unwrap())
        .unwrap();
    assert!(matches!(p.resume().unwrap(), Step::Yielded));
    assert_kind(p.call::<u64, u64>("sum", &3), |k| {
        matches!(k, ErrorKind::Busy)
    });
    assert!(p.is_busy());
    // Cancelling drops the instance; the next call works.
    p.cancel();
    assert!(!p.is_busy());
    assert_eq!(p.call::<u64, u64>("sum", &3).unwrap(), 6);
}

#[test]
fn resume_without_a_call_is_an_error() {
    let h = perf_host(10_000);
    let mut p = h.load_wasm(plugboard_fixtures::PERF).unwrap();
    assert_kind(p.resume(), |k| matches!(k, ErrorKind::NoCallInFlight));
    assert_kind(p.complete(Err(ErrorKind::Busy.into())), |k| {
        matches!(k, ErrorKind::NoCallInFlight)
    });
}

#[test]
fn pending_host_call_resumes_with_its_value() {
    let h = Host::builder()
        .func_async("env", "import_half", |a: u32| async move {
            Ok::<u32, String>(a / 2)
        })
        .func("env", "mystery_number", |x: u32| x)
        .func("env", "import_noop", |(): ()| ())
        .func("env", "import_identity", |x: u32| x)
        .func("env", "import_swap", |(a, b): (u32, u32)| (b, a))
        .func_async("env", "command_async", |c: String| async move {
            Ok::<Option<Vec<u8>>, String>(Some(c.into_bytes()))
        })
        .build();
    let mut p = h.load_wasm(plugboard_fixtures::CONFORMANCE).unwrap();
    p.start_call("half_async", plugboard_host_core::encode(&10u32).unwrap())
        .unwrap();
    let pending = loop {
        match p.resume().unwrap() {
            Step::Pending(pending) => break pending,
            Step::Yielded => {}
            Step::Done(_) => panic!("should suspend on the async host function"),
        }
    };
    assert_eq!(
        (pending.namespace(), pending.name()),
        ("env", "import_half")
    );
    // Resuming before the reply arrives is refused, and does not lose the call.
    assert_kind(p.resume(), |k| matches!(k, ErrorKind::NoCallInFlight));
    let reply = crate::conformance::block_on(pending);
    p.complete(reply).unwrap();
    match p.resume().unwrap() {
        Step::Done(out) => assert_eq!(plugboard_host_core::decode::<u32>(&out).unwrap(), 5),
        other => panic!("expected Done, got {other:?}"),
    }
}

#[test]
fn failed_pending_host_call_fails_the_call() {
    let h = Host::builder()
        .func_async("env", "slow", |(): ()| async {
            Err::<u32, _>("backend down")
        })
        .build();
    let bytes = buffer_wat(
        r#"(import "env" "__slow" (func $slow (param i64) (result i64)))"#,
        r#"(func (export "__run") (param i64) (result i64) (call $slow (local.get 0)))"#,
    );
    let mut p = h.load_wasm(&bytes).unwrap();
    assert_kind(p.call_bytes("run", vec![]), |k| {
        matches!(k, ErrorKind::HostFunction { .. })
    });
    assert_eq!(p.call_bytes("ping", vec![]).unwrap(), b"pong");
}

#[test]
fn con_01_reentrancy_depth_capped() {
    // A host function that calls another plugin, which calls the host function again, …
    use std::cell::RefCell;
    use std::rc::Rc;
    let slot: Rc<RefCell<Vec<plugboard_host_core::Plugin>>> = Rc::default();
    let s = slot.clone();
    let h = Host::builder()
        .try_func("env", "deeper", move |n: u32| -> Result<u32, String> {
            let mut plugin = s.borrow_mut().pop().ok_or("no plugin left")?;
            plugin
                .call::<u32, u32>("run", &(n + 1))
                .map_err(|e| e.to_string())
        })
        .limits(Limits {
            max_reentrancy: 3,
            ..Limits::default()
        })
        .build();
    let bytes = buffer_wat(
        r#"(import "env" "__deeper" (func $d (param i64) (result i64)))"#,
        r#"(func (export "__run") (param i64) (result i64) (call $d (local.get 0)))"#,
    );
    for _ in 0..10 {
        slot.borrow_mut().push(h.load_wasm(&bytes).unwrap());
    }
    let mut first = h.load_wasm(&bytes).unwrap();
    let e = first.call::<u32, u32>("run", &0).unwrap_err();
    assert!(e.to_string().contains("re-entrancy depth"), "{e}");
    crate::common::canary(&h);
}
