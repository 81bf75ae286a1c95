//! Raw AES-GCM keyring.
//!
//! Spec, framework/raw-aes-keyring.md: provider ID = key namespace; provider info = key name ||
//! tag length in bits (u32, 128) || IV length (u32, 12) || IV; ciphertext = encrypted data key ||
//! tag; AAD = the serialised encryption context.

use zeroize::Zeroizing;

use crate::Error;
use crate::header::EncryptedDataKey;
use crate::provider::CryptoProvider;
use crate::suite::{IV_LEN, Suite, TAG_LEN};

use super::{DataKey, Keyring, OwnedEncryptedDataKey};

/// A raw AES keyring (wrapping key of 16, 24 or 32 bytes).
pub struct RawAesKeyring {
    provider: &'static dyn CryptoProvider,
    namespace: String,
    name: String,
    key: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for RawAesKeyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawAesKeyring").field("namespace", &self.namespace).field("name", &self.name).finish()
    }
}

impl RawAesKeyring {
    /// A keyring over `key` (16, 24 or 32 bytes).
    pub fn new(provider: &'static dyn CryptoProvider, namespace: &str, name: &str, key: &[u8]) -> Result<Self, Error> {
        if ![16, 24, 32].contains(&key.len()) {
            return Err(Error::InvalidKey("AES wrapping key must be 16, 24 or 32 bytes"));
        }
        Ok(Self { provider, namespace: namespace.into(), name: name.into(), key: Zeroizing::new(key.to_vec()) })
    }
}

const TAG_BITS: [u8; 4] = 128u32.to_be_bytes();
const IV_BYTES: [u8; 4] = 12u32.to_be_bytes();

impl Keyring for RawAesKeyring {
    fn unwrap_key(&self, edk: &EncryptedDataKey<'_>, aad: &[u8], _suite: &Suite) -> Option<DataKey> {
        if edk.provider_id != self.namespace.as_bytes() {
            return None;
        }
        let info = edk.provider_info.strip_prefix(self.name.as_bytes())?;
        let info = info.strip_prefix(&TAG_BITS)?.strip_prefix(&IV_BYTES)?;
        if info.len() != IV_LEN || edk.ciphertext.len() < TAG_LEN {
            return None;
        }
        let (wrapped, tag) = edk.ciphertext.split_at(edk.ciphertext.len() - TAG_LEN);
        let mut key = Zeroizing::new(wrapped.to_vec());
        let gcm = self.provider.aes_gcm(&self.key).ok()?;
        gcm.open(info, aad, &mut key, tag).ok()?;
        Some(key)
    }

    fn wrap_key(&self, data_key: &[u8], aad: &[u8], _suite: &Suite) -> Result<OwnedEncryptedDataKey, Error> {
        let mut iv = [0u8; IV_LEN];
        self.provider.fill_random(&mut iv)?;
        let mut ciphertext = data_key.to_vec();
        let tag = self.provider.aes_gcm(&self.key)?.seal(&iv, aad, &mut ciphertext)?;
        ciphertext.extend_from_slice(&tag);
        let mut provider_info = self.name.as_bytes().to_vec();
        provider_info.extend_from_slice(&TAG_BITS);
        provider_info.extend_from_slice(&IV_BYTES);
        provider_info.extend_from_slice(&iv);
        Ok(OwnedEncryptedDataKey { provider_id: self.namespace.as_bytes().to_vec(), provider_info, ciphertext })
    }
}
