#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::indexing_slicing)]

mod body;
mod connect;
mod context;
mod cursor;
mod decrypt;
mod derive;
mod encrypt;
mod error;
mod footer;
mod header;
mod inspect;
pub mod key;
pub mod keyring;
mod message;
mod plaintext;
pub mod provider;
mod suite;
#[cfg(test)]
mod test_keys;

pub use connect::{CONNECT_MAX_ENCRYPTED_DATA_KEYS, CONNECT_SUITES, connect_key_id, connect_key_id_of_input};
pub use context::{EncryptionContext, PUBLIC_KEY_FIELD, WireContext, serialize as serialize_encryption_context};
pub use decrypt::{DecryptOptions, Decrypted, decrypt, decrypt_message};
pub use encrypt::{CONNECT_FRAME_LENGTH, EncryptOptions, IvPolicy, encrypt, encrypt_connect_der, encrypt_with_ivs};
pub use error::Error;
pub use header::{ContentType, EncryptedDataKey, Header};
pub use inspect::{DataKeyInfo, Inspection, SignatureCheck, inspect, inspect_verified};
pub use message::{DEFAULT_MAX_ENCRYPTED_DATA_KEYS, Message, decode_input};
pub use plaintext::Plaintext;
pub use suite::{CommitmentPolicy, Curve, Hash, Kdf, Suite, SuiteId};
