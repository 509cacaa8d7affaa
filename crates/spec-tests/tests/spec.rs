//! RELIABILITY.md §5.9 / G4: 100% of wasm-v2 and of every enabled proposal, with fuel on and
//! off, and instrumented by host-core's fuel meter, under production's engine configuration.

use plugboard_spec_tests::{
    run_all, run_all_instrumented, EngineLimits, Outcome, EXPECTED_FAILURES,
};

fn check(fuel: bool) {
    let outcomes = run_all(fuel, EngineLimits::Relaxed);
    let passed = assert_all_pass(&outcomes);
    println!(
        "spec testsuite, fuel {}: {passed}/{} files passed",
        if fuel { "on" } else { "off" },
        outcomes.len()
    );
}

/// Every file passes but the expected failures; the number that passed.
fn assert_all_pass(outcomes: &[Outcome]) -> usize {
    let mut failed = Vec::new();
    for o in outcomes {
        let expected = EXPECTED_FAILURES.iter().any(|(name, _)| *name == o.name);
        match (&o.error, expected) {
            (Some(e), false) => failed.push(format!("{} {}: {e}", o.set, o.name)),
            (None, true) => failed.push(format!(
                "{} {}: passes but is listed as an expected failure",
                o.set, o.name
            )),
            _ => {}
        }
    }
    assert!(
        outcomes.len() > 90,
        "the sets shrank: {} files",
        outcomes.len()
    );
    assert!(
        failed.is_empty(),
        "{} files failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
    outcomes.iter().filter(|o| o.error.is_none()).count()
}

/// The instrumenter's proof: every module of every file rewritten to meter its own
/// fuel, run with wasmi's fuel off, and the whole suite still passes (its `assert_exhaustion`
/// cases still report the call stack: the budget is never reached and `out_of_fuel` traps).
#[test]
fn spec_testsuite_instrumented() {
    let (outcomes, rewritten) = run_all_instrumented();
    let passed = assert_all_pass(&outcomes);
    println!(
        "spec testsuite, instrumented (host-core's meter, wasmi fuel off): {passed}/{} files passed, {rewritten} modules rewritten",
        outcomes.len()
    );
    assert!(rewritten > 1000, "only {rewritten} modules were rewritten");
}

#[test]
fn spec_testsuite_with_fuel() {
    check(true);
}

#[test]
fn spec_testsuite_without_fuel() {
    check(false);
}

/// Under production's strict engine limits, the only files that fail are those with a module
/// the limits reject (functions averaging under 40 bytes, function types of 33+ parameters):
/// the limits refuse modules, they never change what an accepted module computes.
#[test]
fn strict_limits_only_reject_modules() {
    let outcomes = run_all(true, EngineLimits::Strict);
    let mut rejected = 0;
    for o in &outcomes {
        if let Some(e) = &o.error {
            let by_limits =
                e.contains("minimum average bytes per function") || e.contains("exceeds the limit");
            assert!(
                by_limits,
                "{} {} fails for another reason than the limits: {e}",
                o.set, o.name
            );
            rejected += 1;
        }
    }
    println!("spec testsuite under strict limits: {}/{} files pass, {rejected} have a module the limits reject", outcomes.len() - rejected, outcomes.len());
    // The counts RELIABILITY.md's G4 states: a change in either is a change to say there.
    assert_eq!(
        (outcomes.len(), outcomes.len() - rejected),
        (95, 85),
        "files, and files passing under strict limits"
    );
}
