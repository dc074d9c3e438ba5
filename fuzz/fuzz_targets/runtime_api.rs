//! Fuzz target: see [`lambkin_fuzz::runtime_api`] for the input format and what is checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambkin_fuzz::runtime_api(data));
