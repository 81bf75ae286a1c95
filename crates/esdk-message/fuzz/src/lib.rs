//! Fuzzing support for `esdk-message` and its callers: the entry points of the targets and the
//! seed generator.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod decrypt;
pub mod entry;
#[cfg(feature = "lambda")]
pub mod event;
pub mod layout;
pub mod seeds;
