//! `instrument`: raw bytes as a module; if production's engine accepts it, host-core's fuel
//! instrumenter rewrites it, the output must validate, and its exports run on wasmi with wasmi's
//! own fuel off, so only the injected metering can stop a runaway loop (a hang is a bug the
//! fuzzer's timeout reports). The instrumenter may refuse nothing production accepts, but a
//! memory whose minimum is above the cap.

pub fn instrument(data: &[u8]) {
    if let Err(e) = plugboard_host_core::internals::instrument_and_run(data, 100_000, 16) {
        panic!("the instrumenter failed on a module production accepts: {e}");
    }
}
