//! The footer signature and the one rule for the key that verifies it.
//!
//! Spec, data-format/message-footer.md: the footer holds an ECDSA signature over the header and
//! body. Spec, framework/algorithm-suites.md and client-apis/encrypt.md: a signed suite stores its
//! verification key in the encryption context under `aws-crypto-public-key`, "the public key ...
//! in compressed format", base64 encoded. Decrypt and inspect both verify through
//! [`verify`], so they accept exactly the same keys: a compressed SEC1 point of the suite's
//! curve, as standard padded base64, and nothing else (no uncompressed point, no SPKI).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::provider::CryptoProvider;
use crate::suite::Curve;

/// The first byte of a compressed SEC1 point (even or odd y).
const COMPRESSED_TAGS: [u8; 2] = [0x02, 0x03];

/// Decodes `aws-crypto-public-key` under the one format rule: base64 of a compressed point of
/// `curve`. `InvalidSignaturePublicKey` for anything else.
pub(crate) fn decode_public_key(curve: Curve, encoded: &str) -> Result<Vec<u8>, Error> {
    let point = STANDARD.decode(encoded).map_err(|_| Error::InvalidSignaturePublicKey)?;
    let tag_ok = point.first().is_some_and(|t| COMPRESSED_TAGS.contains(t));
    if point.len() != curve.compressed_point_len() || !tag_ok {
        return Err(Error::InvalidSignaturePublicKey);
    }
    Ok(point)
}

/// Verifies the footer `signature` over `signed_bytes` with the header's `aws-crypto-public-key`.
///
/// `InvalidSignaturePublicKey` if the key breaks the format rule or is not a point on the curve,
/// `SignatureInvalid` if it does not verify.
pub(crate) fn verify(
    provider: &dyn CryptoProvider,
    curve: Curve,
    encoded_key: &str,
    signed_bytes: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let point = decode_public_key(curve, encoded_key)?;
    provider.ecdsa_verify(curve, &point, signed_bytes, signature)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::encrypt::{EncryptOptions, IvPolicy, encrypt_signed_by};
    use crate::keyring::RawAesKeyring;
    use crate::provider::{EcdsaSigner, all_providers};
    use crate::{DecryptOptions, SignatureCheck, decrypt, inspect};

    type Encode = fn(&[u8]) -> Vec<u8>;

    /// A real signer that writes its public key in the header re-encoded by `encode`.
    struct Reencoded {
        inner: Box<dyn EcdsaSigner>,
        encode: Encode,
    }

    impl EcdsaSigner for Reencoded {
        fn public_key_compressed(&self) -> Vec<u8> {
            (self.encode)(&self.inner.public_key_compressed())
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
            self.inner.sign(message)
        }
    }

    #[cfg(feature = "rustcrypto")]
    fn uncompressed(compressed: &[u8]) -> Vec<u8> {
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(compressed).unwrap();
        key.to_encoded_point(false).as_bytes().to_vec()
    }

    /// SubjectPublicKeyInfo DER of a P-384 key: the fixed prefix (id-ecPublicKey, secp384r1,
    /// BIT STRING of 97 bytes) and the uncompressed point.
    #[cfg(feature = "rustcrypto")]
    fn spki(compressed: &[u8]) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04,
            0x00, 0x22, 0x03, 0x62, 0x00,
        ];
        der.extend(uncompressed(compressed));
        der
    }

    /// A Connect-suite message signed by a real key whose public half is stored as `encode` says.
    fn signed_message(provider: &'static dyn CryptoProvider, encode: Encode) -> Vec<u8> {
        let keyring = RawAesKeyring::new(provider, "test", "aes", &[9; 32]).unwrap();
        let options = EncryptOptions::connect();
        let signer = |curve| -> Result<Box<dyn EcdsaSigner>, Error> {
            Ok(Box::new(Reencoded { inner: provider.ecdsa_generate(curve)?, encode }))
        };
        encrypt_signed_by(provider, &[&keyring], b"4111", &options, IvPolicy::Random, &signer).unwrap()
    }

    fn decrypt_with_aes(provider: &'static dyn CryptoProvider, m: &[u8]) -> Result<(), Error> {
        let keyring = RawAesKeyring::new(provider, "test", "aes", &[9; 32])?;
        decrypt(provider, &[&keyring], m, &DecryptOptions::permissive()).map(|_| ())
    }

    #[test]
    fn the_compressed_key_verifies_in_inspect_and_decrypt() {
        for provider in all_providers() {
            let m = signed_message(provider, <[u8]>::to_vec);
            assert_eq!(inspect(provider, &m, 1).unwrap().signature_check, SignatureCheck::SelfConsistent);
            assert_eq!(decrypt_with_aes(provider, &m), Ok(()));
        }
    }

    /// Before one rule lived here, inspect verified uncompressed and SPKI keys (aws-lc parses
    /// them) that decrypt refused; now both refuse every encoding but the compressed point.
    #[cfg(feature = "rustcrypto")]
    #[test]
    fn inspect_and_decrypt_refuse_the_same_key_encodings() {
        let encodings: [(&str, Encode); 4] = [
            ("uncompressed point", uncompressed),
            ("SPKI", spki),
            ("compressed point with a trailing byte", |c| [c, &[0]].concat()),
            ("compressed point tagged 0x04", |c| [&[0x04], c.get(1..).unwrap_or_default()].concat()),
        ];
        for provider in all_providers() {
            for (name, encode) in encodings {
                let m = signed_message(provider, encode);
                let i = inspect(provider, &m, 1).unwrap();
                assert_eq!(i.signature_check, SignatureCheck::BadPublicKey, "{}: inspect, {name}", provider.name());
                assert_eq!(
                    decrypt_with_aes(provider, &m),
                    Err(Error::InvalidSignaturePublicKey),
                    "{}: decrypt, {name}",
                    provider.name()
                );
            }
        }
    }

    #[test]
    fn the_format_rule_accepts_only_padded_base64_of_a_compressed_point() {
        let signer = crate::provider::default_provider().ecdsa_generate(Curve::P384).unwrap();
        let point = signer.public_key_compressed();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&point);
        assert_eq!(decode_public_key(Curve::P384, &b64), Ok(point.clone()));
        assert_eq!(decode_public_key(Curve::P256, &b64), Err(Error::InvalidSignaturePublicKey));
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&point);
        if unpadded != b64 {
            assert_eq!(decode_public_key(Curve::P384, &unpadded), Err(Error::InvalidSignaturePublicKey));
        }
        assert_eq!(decode_public_key(Curve::P384, "not base64!"), Err(Error::InvalidSignaturePublicKey));
        assert_eq!(decode_public_key(Curve::P384, ""), Err(Error::InvalidSignaturePublicKey));
    }
}
