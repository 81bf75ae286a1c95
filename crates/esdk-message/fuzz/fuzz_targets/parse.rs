//! Fuzz target: any bytes through the whole decryption path (see `esdk_message_fuzz::entry`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    esdk_message_fuzz::entry::run(data);
});
