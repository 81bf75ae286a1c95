//! Fuzz target: caller-input's analysis of any plaintext (see `esdk_message_fuzz::analysis`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    esdk_message_fuzz::analysis::run(data);
});
