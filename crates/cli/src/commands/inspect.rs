//! `secure-ivr inspect`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use serde::Serialize;

use crate::commands::Outcome;
use crate::error::{self, CliError, Exit, Result};
use crate::output::emit;
use crate::{Ctx, files, keymat};

/// Describe a ciphertext (raw or base64, as Connect stores it): format version, algorithm suite,
/// encrypted data keys (the key ID it needs), framing and signature.
///
/// Without a private key nothing authenticates the message: its signing key travels inside it, so
/// a signature that verifies is only self-consistent (anyone can alter a message and re-sign it
/// with a fresh key). With --private-key the message is verified fully, as decrypt would, and the
/// plaintext is not printed.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Ciphertext file, or - for stdin.
    #[arg(default_value = "-", value_name = "FILE|-")]
    pub(crate) input: String,
    /// Verify fully with this private key PEM: unwrap the data key, check the header tag, every
    /// frame tag and the signature. The plaintext is never printed.
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key: Option<PathBuf>,
}

/// What can be said about the message's integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Signature {
    /// The suite has no signature.
    Unsigned,
    /// The signature verifies with the public key the message itself carries. Anyone can
    /// re-sign an altered message with a fresh key, so this proves nothing on its own.
    SelfConsistent,
    /// The signature does not verify even with the message's own key: altered or corrupt.
    Invalid,
    /// The message's own public key is not a valid point.
    BadPublicKey,
    /// With --private-key: the data key unwrapped and the header tag, every frame tag and the
    /// signature verified.
    Verified,
    /// With --private-key: unwrapping, a tag or the signature failed.
    Fails,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unsigned => "unsigned",
            Self::SelfConsistent => {
                "self-consistent: proves nothing without the private key (anyone can re-sign with a fresh key); \
                 verify with --private-key FILE"
            }
            Self::Invalid => "invalid: does not verify even with the message's own key",
            Self::BadPublicKey => "bad-public-key: the message's signing key is not a valid point",
            Self::Verified => "verified with the private key: data key, header tag, every frame tag and signature",
            Self::Fails => "fails with the private key",
        })
    }
}

/// One encrypted data key.
#[derive(Debug, Serialize)]
pub(crate) struct DataKey {
    /// Key provider ID.
    pub(crate) provider_id: String,
    /// Key name: the Connect key ID.
    pub(crate) key_id: String,
    /// Wrapped key length.
    pub(crate) ciphertext_len: usize,
}

/// What the message says about itself.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Message format version.
    pub(crate) version: u8,
    /// Suite ID, hex.
    pub(crate) suite: String,
    /// Whether this is what Connect produces.
    pub(crate) connect_suite: bool,
    /// Message ID, base64.
    pub(crate) message_id: String,
    /// Encryption context (the signing public key is public).
    pub(crate) encryption_context: BTreeMap<String, String>,
    /// Encrypted data keys.
    pub(crate) encrypted_data_keys: Vec<DataKey>,
    /// framed / non-framed.
    pub(crate) content_type: String,
    /// Frame length.
    pub(crate) frame_length: u32,
    /// Frame count.
    pub(crate) frame_count: u32,
    /// Plaintext length in bytes.
    pub(crate) content_length: usize,
    /// `unsigned`, `self-consistent`, `invalid`, `bad-public-key`; with --private-key `verified`
    /// or `fails`.
    pub(crate) signature: Signature,
    /// With --private-key and `fails`: what failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) failure: Option<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "format version:   {}", self.version)?;
        writeln!(
            f,
            "algorithm suite:  {}{}",
            self.suite,
            if self.connect_suite { " (as Amazon Connect)" } else { "" }
        )?;
        writeln!(f, "message ID:       {}", self.message_id)?;
        for k in &self.encrypted_data_keys {
            writeln!(
                f,
                "data key:         provider {} key ID {} ({} bytes)",
                k.provider_id, k.key_id, k.ciphertext_len
            )?;
        }
        for (k, v) in &self.encryption_context {
            writeln!(f, "context:          {k} = {v}")?;
        }
        writeln!(
            f,
            "content:          {} ({} frames of {} bytes)",
            self.content_type, self.frame_count, self.frame_length
        )?;
        writeln!(f, "plaintext length: {} bytes", self.content_length)?;
        writeln!(f, "signature:        {}", self.signature)?;
        if let Some(why) = &self.failure {
            writeln!(f, "failure:          {why}")?;
        }
        Ok(())
    }
}

/// Runs the command.
pub(crate) fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let input = files::read_input(&args.input)?;
    let provider = esdk_message::provider::default_provider();
    let i = esdk_message::inspect(provider, &input, esdk_message::DEFAULT_MAX_ENCRYPTED_DATA_KEYS)
        .map_err(|e| error::esdk("the input is not a valid ciphertext", e))?;
    let key_id = i
        .encrypted_data_keys
        .iter()
        .find(|k| k.provider_id == esdk_message::keyring::CONNECT_NAMESPACE)
        .map(|k| k.key_name.clone());
    let mut failure = None;
    let signature = match &args.private_key {
        Some(path) => match verify(provider, &input, key_id.as_deref(), &files::read_pem(path)?)? {
            Ok(()) => Signature::Verified,
            Err(why) => {
                failure = Some(why);
                Signature::Fails
            }
        },
        None => match i.signature_check {
            esdk_message::SignatureCheck::Unsigned => Signature::Unsigned,
            esdk_message::SignatureCheck::SelfConsistent => Signature::SelfConsistent,
            esdk_message::SignatureCheck::Invalid => Signature::Invalid,
            esdk_message::SignatureCheck::BadPublicKey => Signature::BadPublicKey,
            // Only `inspect_verified` says this, and only after a full decryption.
            esdk_message::SignatureCheck::Verified => Signature::Verified,
        },
    };
    let report = Report {
        version: i.version,
        suite: format!("0x{:04x}", i.suite.0),
        connect_suite: i.suite == esdk_message::SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
        message_id: base64::engine::general_purpose::STANDARD.encode(&i.message_id),
        encryption_context: i.encryption_context().to_map(),
        encrypted_data_keys: i
            .encrypted_data_keys
            .iter()
            .map(|k| DataKey {
                provider_id: k.provider_id.clone(),
                key_id: k.key_name.clone(),
                ciphertext_len: k.ciphertext_len,
            })
            .collect(),
        content_type: i.content_type.to_owned(),
        frame_length: i.frame_length,
        frame_count: i.frame_count,
        content_length: i.content_length,
        signature,
        failure,
    };
    emit(ctx.output, &report)?;
    match signature {
        Signature::Invalid | Signature::BadPublicKey => Err(CliError::new(
            Exit::Decrypt,
            "the message signature does not verify: it was altered after Connect signed it",
            "capture the value again from the contact attribute; do not trust this one",
        )),
        Signature::Fails => Err(CliError::new(
            Exit::Decrypt,
            "the message does not verify with this private key: it was altered (or re-signed), or the key is not the one it was encrypted for",
            "`secure-ivr check --certificate` tells whether this key is the flow's; if it is, capture the value again and do not trust this one",
        )),
        Signature::Unsigned | Signature::SelfConsistent | Signature::Verified => Ok(Outcome::Done),
    }
}

/// Decrypts under the Connect policy ([`esdk_message::inspect_verified`]) to check every tag and
/// the signature; the plaintext is dropped (and wiped) unread. The outer error is an unusable key file; the inner one what failed.
fn verify(
    provider: &dyn esdk_message::provider::CryptoProvider,
    input: &[u8],
    key_id: Option<&str>,
    pem: &str,
) -> Result<std::result::Result<(), String>> {
    let key = keymat::stored_key(pem)?;
    let Some(key_id) = key_id else { return Ok(Err("the message has no data key for provider AmazonConnect".into())) };
    let keyring = key.connect_keyring(provider, key_id).map_err(keymat::key_error)?;
    match esdk_message::inspect_verified(provider, &[&keyring], input, &esdk_message::DecryptOptions::connect()) {
        Ok(verified) if verified.signature_check == esdk_message::SignatureCheck::Verified => Ok(Ok(())),
        Ok(_) => Ok(Err("the message was not verified".into())),
        Err(e) => Ok(Err(e.to_string())),
    }
}
