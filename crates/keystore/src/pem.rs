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
    if let Some(bits) = pkcs8_rsa_modulus_bits(der.as_bytes())
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

/// One DER element: (tag, contents, rest). Definite lengths only, bounds-checked.
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The modulus size of an RSA key in PKCS#8 `PrivateKeyInfo` DER (RFC 5208 wrapping RFC 8017
/// `RSAPrivateKey`), or `None` if the structure is not that.
fn pkcs8_rsa_modulus_bits(pkcs8: &[u8]) -> Option<usize> {
    let (0x30, info, _) = der_next(pkcs8)? else { return None };
    let (0x02, _version, rest) = der_next(info)? else { return None };
    let (0x30, _algorithm, rest) = der_next(rest)? else { return None };
    let (0x04, private_key, _) = der_next(rest)? else { return None };
    let (0x30, rsa, _) = der_next(private_key)? else { return None };
    let (0x02, _version, rest) = der_next(rsa)? else { return None };
    let (0x02, modulus, _) = der_next(rest)? else { return None };
    let skip = modulus.iter().take_while(|&&b| b == 0).count();
    let significant = modulus.get(skip..)?;
    let (&top, _) = significant.split_first()?;
    Some((significant.len() - 1) * 8 + (8 - usize::try_from(top.leading_zeros()).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_modulus_of_pkcs8_and_pkcs1_keys() {
        for (pem, bits) in [
            (include_str!("../../lambda/tests/data/test-only-a-pkcs8-2048.pem"), 2048),
            (include_str!("../../lambda/tests/data/test-only-b-pkcs1-3072.pem"), 3072),
            (include_str!("../../lambda/tests/data/test-only-c-pkcs8-4096.pem"), 4096),
            (include_str!("../../lambda/tests/data/test-only-weak-1024.pem"), 1024),
        ] {
            let der = esdk_message::key::private_key_from_pem(pem).ok();
            assert_eq!(der.and_then(|d| pkcs8_rsa_modulus_bits(d.as_bytes())), Some(bits));
        }
    }

    #[test]
    fn der_reader_refuses_truncated_input() {
        assert_eq!(pkcs8_rsa_modulus_bits(&[0x30, 0x82, 0x01]), None);
        assert_eq!(pkcs8_rsa_modulus_bits(&[]), None);
        assert_eq!(pkcs8_rsa_modulus_bits(&[0x30, 0x03, 0x02, 0x01]), None);
    }
}
