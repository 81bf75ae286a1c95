//! Fuzz target: decryption after a successful parse (see `esdk_message_fuzz::decrypt`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    esdk_message_fuzz::decrypt::run(data);
});
