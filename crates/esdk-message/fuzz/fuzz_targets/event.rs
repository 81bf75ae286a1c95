//! Fuzz target: the Lambda's event selection on any JSON (see `esdk_message_fuzz::event`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    esdk_message_fuzz::event::run(data);
});
