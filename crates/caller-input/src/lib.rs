#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::indexing_slicing)]

mod analysis;
mod card;
mod month;
mod value_type;

pub use analysis::{Analysis, ExpiryDate, Facts, MAX_VALUE_LEN, Status, analyze};
pub use card::{Brand, luhn_ok};
pub use month::YearMonth;
pub use value_type::ValueType;
