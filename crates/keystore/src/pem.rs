//! Turning a parameter value into a Connect keyring, with the checks an operator needs.

use esdk_message::keyring::RawRsaKeyring;
use esdk_message::provider::CryptoProvider;
use zeroize::Zeroizing;

use crate::KeyStoreError;
use crate::key::{KeyError, StoredKey};

/// The key store's error for a stored key that `parameter` holds and [`StoredKey`] refused.
pub(crate) fn invalid(parameter: &str, error: KeyError) -> KeyStoreError {
    match error {
        KeyError::TooSmall(small) => KeyStoreError::KeyTooSmall {
            parameter: parameter.to_owned(),
            bits: small.bits,
            min_bits: crate::MIN_RSA_BITS,
        },
        other => KeyStoreError::InvalidKey { parameter: parameter.to_owned(), reason: other.reason() },
    }
}

/// Parses a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) into the Connect
/// keyring for `key_id`, refusing keys below [`crate::MIN_RSA_BITS`] ([`StoredKey::from_pem`]).
///
/// `parameter` only names the source in errors. The PEM text is the caller's; wrap it in
/// [`Zeroizing`] (as the key store does) so it is wiped after this call.
pub fn parse_private_key(
    provider: &dyn CryptoProvider,
    parameter: &str,
    key_id: &str,
    pem: &str,
) -> Result<RawRsaKeyring, KeyStoreError> {
    StoredKey::from_pem(pem).and_then(|key| key.connect_keyring(provider, key_id)).map_err(|e| invalid(parameter, e))
}

/// Checks a PEM private key as the key store would, without keeping it: returns its size in bits.
///
/// For the CLI's `put`/`check` commands, so a key that the Lambda would refuse is refused before
/// it is uploaded.
pub fn validate_private_key_pem(provider: &dyn CryptoProvider, pem: &str) -> Result<usize, KeyStoreError> {
    let pem = Zeroizing::new(pem.to_owned());
    parse_private_key(provider, "(input)", "validation", &pem).map(|k| k.bits())
}
