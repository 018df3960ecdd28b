//! cargo-fuzz target: see `fuzz/oracles.rs` for the property checked.
#![no_main]

#[path = "../oracles.rs"]
mod oracles;

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::baseline_reader(data));
