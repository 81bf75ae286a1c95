//! Turning a parameter value into a Connect keyring, with the checks an operator needs.

use esdk_message::keyring::{CONNECT_NAMESPACE, CONNECT_PADDING, RawRsaKeyring};
use esdk_message::provider::CryptoProvider;
use zeroize::Zeroizing;

use crate::KeyStoreError;

/// Smallest RSA modulus accepted. Connect itself asks for 4096-bit keys; below 2048 is broken.
pub const MIN_RSA_BITS: usize = 2048;

/// Parses a PEM private key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) into the Connect
/// keyring for `key_id`, refusing keys below [`MIN_RSA_BITS`].
///
/// `parameter` only names the source in errors. The PEM text is the caller's; wrap it in
/// [`Zeroizing`] (as the key store does) so it is wiped after this call.
pub fn parse_private_key(
    provider: &dyn CryptoProvider,
    parameter: &str,
    key_id: &str,
    pem: &str,
) -> Result<RawRsaKeyring, KeyStoreError> {
    let invalid = |reason| KeyStoreError::InvalidKey { parameter: parameter.to_owned(), reason };
    let der = esdk_message::key::private_key_from_pem(pem).map_err(|e| match e {
        esdk_message::Error::InvalidKey(reason) => invalid(reason),
        _ => invalid("not a PEM RSA private key"),
    })?;
    // Measured before the backend sees it: aws-lc refuses small keys with a generic error, and an
    // operator needs to read "too small", not "not accepted".
    if let Ok(bits) = esdk_message::key::rsa_private_key_bits(&der)
        && bits < MIN_RSA_BITS
    {
        return Err(KeyStoreError::KeyTooSmall { parameter: parameter.to_owned(), bits, min_bits: MIN_RSA_BITS });
    }
    let keyring = RawRsaKeyring::from_private_key(provider, CONNECT_NAMESPACE, key_id, &der, CONNECT_PADDING).map_err(
        |e| match e {
            esdk_message::Error::InvalidKey(reason) => invalid(reason),
            _ => invalid("the crypto backend refused the RSA private key"),
        },
    )?;
    let bits = keyring.bits();
    if bits < MIN_RSA_BITS {
        return Err(KeyStoreError::KeyTooSmall { parameter: parameter.to_owned(), bits, min_bits: MIN_RSA_BITS });
    }
    Ok(keyring)
}

/// Checks a PEM private key as the key store would, without keeping it: returns its size in bits.
///
/// For the CLI's `put`/`check` commands, so a key that the Lambda would refuse is refused before
/// it is uploaded.
pub fn validate_private_key_pem(provider: &dyn CryptoProvider, pem: &str) -> Result<usize, KeyStoreError> {
    let pem = Zeroizing::new(pem.to_owned());
    parse_private_key(provider, "(input)", "validation", &pem).map(|k| k.bits())
}
