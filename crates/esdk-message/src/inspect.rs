//! What a message says about itself ([`inspect`], no key), and what it proves given the private
//! key ([`inspect_verified`]).
//!
//! Without the data key nothing authenticates a message: the footer signature is checked with
//! the public key the message itself carries, so anyone who alters a message can sign it again
//! with a key of their own. `inspect` therefore reports at best [`SignatureCheck::SelfConsistent`].
//! Only decrypting with the private key (the data key authenticates the header, and the header
//! holds the signing key) proves the message intact: [`SignatureCheck::Verified`].

use crate::Error;
use crate::context::WireContext;
use crate::decrypt::{DecryptOptions, decrypt_message};
use crate::footer;
use crate::header::ContentType;
use crate::keyring::Keyring;
use crate::message::{self, Message};
use crate::provider::CryptoProvider;
use crate::suite::{IV_LEN, SuiteId};

/// One encrypted data key as described by the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataKeyInfo {
    /// Key provider ID (`AmazonConnect` for Connect).
    pub provider_id: String,
    /// Key name: the provider info, less the raw AES keyring's tag/IV suffix when present.
    /// For Connect this is the key ID the message needs.
    pub key_name: String,
    /// Length of the wrapped key in bytes (for RSA, the modulus size).
    pub ciphertext_len: usize,
}

/// What the footer signature, and given a key the whole message, can be known to prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// The suite has no signature, and the message was not decrypted.
    Unsigned,
    /// The signature verifies with the public key the message carries. That proves nothing:
    /// whoever altered the message can sign it again with a key of their own.
    SelfConsistent,
    /// The signature does not verify with the key the message carries: the message was altered
    /// or corrupted after it was signed.
    Invalid,
    /// The message's public key breaks the format rule (base64 of a compressed point of the
    /// suite's curve) or is not a point on the curve.
    BadPublicKey,
    /// Decrypted with the private key: the data key unwrapped, and the commitment, the header
    /// tag, every frame tag and (signed suites) the footer signature all verified. The message is
    /// intact as its encryptor wrote it (anyone holding the public key can be that encryptor).
    Verified,
}

impl SignatureCheck {
    /// A short stable name for JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::SelfConsistent => "self-consistent",
            Self::Invalid => "invalid",
            Self::BadPublicKey => "bad-public-key",
            Self::Verified => "verified",
        }
    }
}

impl core::fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Unsigned => "unsigned: the suite has no signature",
            Self::SelfConsistent => "self-consistent: proves nothing without the private key",
            Self::Invalid => "invalid: altered or corrupted after it was signed",
            Self::BadPublicKey => {
                "bad public key: aws-crypto-public-key is not a compressed point of the suite's curve"
            }
            Self::Verified => "verified with the private key: every tag and the signature authenticate",
        })
    }
}

/// The structure of a message.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// Message format version.
    pub version: u8,
    /// Algorithm suite.
    pub suite: SuiteId,
    /// Message ID.
    pub message_id: Vec<u8>,
    /// The encryption context section as serialised; read it with
    /// [`Inspection::encryption_context`].
    context_bytes: Vec<u8>,
    /// The encrypted data keys.
    pub encrypted_data_keys: Vec<DataKeyInfo>,
    /// `framed` or `non-framed`.
    pub content_type: &'static str,
    /// Frame length (0 for non-framed).
    pub frame_length: u32,
    /// Number of frames.
    pub frame_count: u32,
    /// Total content length in bytes (what the plaintext length will be).
    pub content_length: usize,
    /// What the signature (and, from [`inspect_verified`], the whole message) proves.
    pub signature_check: SignatureCheck,
}

/// Parses `input` (raw or base64) and checks its signature with the key the header carries.
///
/// No private key is involved, so the best this can report is
/// [`SignatureCheck::SelfConsistent`]; use [`inspect_verified`] to know more.
pub fn inspect(provider: &dyn CryptoProvider, input: &[u8], max_edks: u16) -> Result<Inspection, Error> {
    let bytes = message::decode_input(input)?;
    let m = Message::parse(&bytes, max_edks)?;
    let h = &m.header;
    let check = match (h.suite.signature, h.signing_public_key(), m.signature()) {
        (Some(curve), Some(key), Some(sig)) => match footer::verify(provider, curve, key, m.signed_bytes, sig) {
            Ok(()) => SignatureCheck::SelfConsistent,
            Err(Error::InvalidSignaturePublicKey) => SignatureCheck::BadPublicKey,
            Err(_) => SignatureCheck::Invalid,
        },
        _ => SignatureCheck::Unsigned,
    };
    Ok(describe(&m, check))
}

/// Decrypts `input` fully with `keyrings` under `options`, discards the plaintext, and reports
/// the message with [`SignatureCheck::Verified`]. Any failure (no matching key, a tag, the
/// commitment, the signature, the policy) is the error [`crate::decrypt`] would give.
pub fn inspect_verified(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    input: &[u8],
    options: &DecryptOptions,
) -> Result<Inspection, Error> {
    let bytes = message::decode_input(input)?;
    let m = Message::parse(&bytes, options.max_encrypted_data_keys)?;
    drop(decrypt_message(provider, keyrings, &m, options)?);
    Ok(describe(&m, SignatureCheck::Verified))
}

fn describe(m: &Message<'_>, check: SignatureCheck) -> Inspection {
    let h = &m.header;
    Inspection {
        version: h.version,
        suite: h.suite.id,
        message_id: h.message_id.to_vec(),
        context_bytes: h.encryption_context_bytes().to_vec(),
        encrypted_data_keys: h
            .encrypted_data_keys
            .iter()
            .map(|edk| DataKeyInfo {
                provider_id: String::from_utf8_lossy(edk.provider_id).into_owned(),
                key_name: String::from_utf8_lossy(key_name(edk.provider_info)).into_owned(),
                ciphertext_len: edk.ciphertext.len(),
            })
            .collect(),
        content_type: if h.content_type == ContentType::FRAMED { "framed" } else { "non-framed" },
        frame_length: h.frame_length,
        frame_count: m.frame_count(),
        content_length: m.content_len(),
        signature_check: check,
    }
}

impl Inspection {
    /// The encryption context stored in the header.
    pub fn encryption_context(&self) -> WireContext<'_> {
        WireContext::parse(&self.context_bytes).unwrap_or_default()
    }
}

/// Strips the raw AES keyring suffix (tag bits 128, IV length 12, IV) when it is there.
fn key_name(info: &[u8]) -> &[u8] {
    let suffix = 8 + IV_LEN;
    if info.len() > suffix {
        let (name, rest) = info.split_at(info.len() - suffix);
        if rest.starts_with(&[0, 0, 0, 128, 0, 0, 0, 12]) {
            return name;
        }
    }
    info
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use base64::Engine as _;

    use super::*;
    use crate::context::{EncryptionContext, PUBLIC_KEY_FIELD, put_vec16, serialize};
    use crate::header::{self, HeaderFields};
    use crate::keyring::RawRsaKeyring;
    use crate::provider::default_provider;
    use crate::suite::Curve;
    use crate::test_keys::{private, public};

    const KEY_ID: &str = "7a0c2b3d-inspect-unit-test";

    /// What the audit did: swap the signing key for a fresh one and sign again. Header, data key
    /// and body are otherwise untouched.
    fn re_signed(m: &[u8]) -> Vec<u8> {
        let provider = default_provider();
        let parsed = Message::parse(m, 1).unwrap();
        let h = parsed.header();
        let signer = provider.ecdsa_generate(Curve::P384).unwrap();
        let key = base64::engine::general_purpose::STANDARD.encode(signer.public_key_compressed());
        let context = serialize(&EncryptionContext::from([(PUBLIC_KEY_FIELD.to_owned(), key)])).unwrap();
        let fields = HeaderFields {
            suite: h.suite(),
            message_id: h.message_id(),
            encryption_context: &context,
            encrypted_data_keys: h.encrypted_data_keys(),
            frame_length: h.frame_length(),
            commitment: h.commitment(),
        };
        let mut out = fields.encode().unwrap();
        header::write_auth_section(&mut out, h.version(), h.auth_iv(), h.auth_tag());
        out.extend_from_slice(&parsed.signed_bytes[parsed.header_len()..]);
        let signature = signer.sign(&out).unwrap();
        put_vec16(&mut out, &signature).unwrap();
        out
    }

    #[test]
    fn a_re_signed_message_is_only_self_consistent_and_fails_full_verification() {
        let provider = default_provider();
        let m = crate::encrypt_connect_der(provider, KEY_ID, &public(), b"4111111111111111").unwrap();
        let forged = re_signed(&m);
        assert_ne!(forged, m);
        let i = inspect(provider, &forged, 1).unwrap();
        assert_eq!(i.signature_check, SignatureCheck::SelfConsistent);
        assert_eq!(i.signature_check.to_string(), "self-consistent: proves nothing without the private key");
        let keyring = RawRsaKeyring::connect_private_der(provider, KEY_ID, &private()).unwrap();
        let r = inspect_verified(provider, &[&keyring], &forged, &DecryptOptions::connect());
        assert_eq!(r.err(), Some(Error::HeaderAuthFailed));
    }

    #[test]
    fn inspect_verified_reports_verified_only_with_the_right_key() {
        let provider = default_provider();
        let m = crate::encrypt_connect_der(provider, KEY_ID, &public(), b"4111111111111111").unwrap();
        assert_eq!(inspect(provider, &m, 1).unwrap().signature_check, SignatureCheck::SelfConsistent);
        let keyring = RawRsaKeyring::connect_private_der(provider, KEY_ID, &private()).unwrap();
        let i = inspect_verified(provider, &[&keyring], &m, &DecryptOptions::connect()).unwrap();
        assert_eq!(i.signature_check, SignatureCheck::Verified);
        assert_eq!(i.signature_check.as_str(), "verified");
        assert_eq!(i.encrypted_data_keys[0].key_name, KEY_ID);
        let other = RawRsaKeyring::connect_private_der(provider, "another-key-id", &private()).unwrap();
        let r = inspect_verified(provider, &[&other], &m, &DecryptOptions::connect());
        assert_eq!(r.err(), Some(Error::NoMatchingKey));
    }
}
