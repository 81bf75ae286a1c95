//! What a message says about itself, without any private key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::context::WireContext;
use crate::header::ContentType;
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

/// Whether the footer signature verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStatus {
    /// The suite has no signature.
    Unsigned,
    /// The signature verifies with the key in the header: the message is intact as signed.
    Valid,
    /// The signature does not verify: the message was altered after signing.
    Invalid,
    /// The header's public key is not a valid point.
    BadPublicKey,
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
    /// Signature status.
    pub signature: SignatureStatus,
}

/// Parses `input` (raw or base64) and checks its signature with the key the header carries.
pub fn inspect(provider: &dyn CryptoProvider, input: &[u8], max_edks: u16) -> Result<Inspection, Error> {
    let bytes = message::decode_input(input)?;
    let m = Message::parse(&bytes, max_edks)?;
    let h = &m.header;
    let signature = match (h.suite.signature, h.signing_public_key(), m.signature()) {
        (Some(curve), Some(key), Some(sig)) => match STANDARD.decode(key) {
            Ok(point) => match provider.ecdsa_verify(curve, &point, m.signed_bytes, sig) {
                Ok(()) => SignatureStatus::Valid,
                Err(Error::InvalidSignaturePublicKey) => SignatureStatus::BadPublicKey,
                Err(_) => SignatureStatus::Invalid,
            },
            Err(_) => SignatureStatus::BadPublicKey,
        },
        _ => SignatureStatus::Unsigned,
    };
    Ok(Inspection {
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
        signature,
    })
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
