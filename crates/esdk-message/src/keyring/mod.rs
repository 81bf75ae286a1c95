//! Keyrings: what unwraps (and wraps) the data key.
//!
//! Spec, framework/keyring-interface.md. On decrypt each keyring is offered the encrypted data
//! keys in header order and attempts only those whose provider ID and key name match it exactly;
//! the first that unwraps to a key of the suite's length wins.

mod raw_aes;
mod raw_rsa;

pub use raw_aes::RawAesKeyring;
pub use raw_rsa::{CONNECT_NAMESPACE, CONNECT_PADDING, RawRsaKeyring};

use zeroize::Zeroizing;

use crate::Error;
use crate::header::EncryptedDataKey;
use crate::suite::Suite;

/// An encrypted data key produced on encrypt, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedEncryptedDataKey {
    /// Key provider ID.
    pub provider_id: Vec<u8>,
    /// Key provider info.
    pub provider_info: Vec<u8>,
    /// Wrapped data key.
    pub ciphertext: Vec<u8>,
}

impl OwnedEncryptedDataKey {
    /// The borrowed form the header holds.
    pub fn borrow(&self) -> EncryptedDataKey<'_> {
        EncryptedDataKey {
            provider_id: &self.provider_id,
            provider_info: &self.provider_info,
            ciphertext: &self.ciphertext,
        }
    }
}

/// A plaintext data key. Zeroized on drop.
pub type DataKey = Zeroizing<Vec<u8>>;

/// Something that can unwrap, and perhaps wrap, data keys.
pub trait Keyring: Send + Sync {
    /// Unwraps `edk` if it is addressed to this keyring and decrypts under it; `None` otherwise
    /// (a failure says nothing about why, so wrong keys and tampering look alike). `context` is
    /// the canonical serialisation of the message's whole encryption context.
    fn unwrap_key(&self, edk: &EncryptedDataKey<'_>, context: &[u8], suite: &Suite) -> Option<DataKey>;

    /// Wraps a data key for this keyring; `context` as for `unwrap_key`.
    fn wrap_key(&self, data_key: &[u8], context: &[u8], suite: &Suite) -> Result<OwnedEncryptedDataKey, Error>;
}

/// Offers every EDK to every keyring in order; returns the first data key of the right length
/// together with the EDK it came from.
pub(crate) fn unwrap_any<'m>(
    keyrings: &[&dyn Keyring],
    edks: &[EncryptedDataKey<'m>],
    context: &[u8],
    suite: &Suite,
) -> Result<(DataKey, EncryptedDataKey<'m>), Error> {
    for keyring in keyrings {
        for edk in edks {
            if let Some(key) = keyring.unwrap_key(edk, context, suite)
                && key.len() == suite.data_key_len()
            {
                return Ok((key, *edk));
            }
        }
    }
    Err(Error::NoMatchingKey)
}
