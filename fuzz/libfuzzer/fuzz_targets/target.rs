//! Every target's libFuzzer binary: runs the quorate-fuzz target named as
//! the binary is.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quorate_fuzz::run(env!("CARGO_BIN_NAME"), data);
});
