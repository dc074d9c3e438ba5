//! Fuzz target: see [`lambkin_fuzz::config_serverless_generated`] for the input format and what is checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lambkin_fuzz::config_serverless_generated(data));
