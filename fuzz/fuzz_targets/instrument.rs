#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| plugboard_fuzz_targets::instrument(data));
