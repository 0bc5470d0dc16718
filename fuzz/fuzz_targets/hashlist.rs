#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| safeguard_fuzzing::hashlist(data));
