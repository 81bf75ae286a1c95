#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::indexing_slicing)]

mod catalog;
pub mod defaults;
mod error;
mod key;
mod limits;
mod name;
mod pem;
mod source;
#[cfg(feature = "ssm")]
mod ssm;
mod store;

pub use catalog::{FetchedKey, ListedKey, list_keys, read_key};
pub use error::KeyStoreError;
pub use key::{Fingerprint, KeyError, KeyTooSmall, MIN_RSA_BITS, StoredKey};
pub use limits::SsmLimits;
pub use name::{
    DEFAULT_PREFIX, KeyParameter, LEGACY_PARAMETER_NAME, MAX_KEY_ID_LEN, MAX_PARAMETER_ARN_LEN, MAX_PARAMETER_LEVELS,
    PENDING_LEVEL, ParameterNameError, check_parameter_name, classify_parameter, key_id_from_parameter_name,
    normalize_prefix, parameter_name, pending_parameter_name, validate_key_id,
};
pub use pem::{parse_private_key, validate_private_key_pem};
pub use source::{BoxFuture, FetchError, ParameterInfo, ParameterSource, SecretValue, Versioned};
#[cfg(feature = "ssm")]
pub use ssm::{CREDENTIAL_ERROR_CODES, DENIED_ERROR_CODES, SsmParameterSource, client as ssm_client};
pub use store::{CacheStatus, CachedKey, KeyStore, KeyStoreConfig};
