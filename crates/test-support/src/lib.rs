#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod fixtures;
#[cfg(feature = "loopback")]
pub mod loopback;
#[cfg(feature = "keystore")]
pub mod memory;
pub mod moto;
pub mod skip;
