#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod deadline;
pub mod error_code;
pub mod event;
pub mod handler;
pub mod logging;
pub mod metrics;
pub mod payment;
mod process;
mod response;

pub use caller_input::{ValueType, YearMonth};
pub use config::{Config, ConfigError};
pub use error_code::ErrorCode;
pub use event::ConnectEvent;
pub use handler::{Deps, handle};
pub use response::Response;
