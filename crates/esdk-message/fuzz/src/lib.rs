//! Fuzzing support for `esdk-message`: the shared entry point and the seed generator.
#![forbid(unsafe_code)]

pub mod entry;
pub mod layout;
pub mod seeds;
