#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| safeguard_fuzzing::image_pdq(data));
