//! `secure-ivr inspect`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;

use crate::commands::Outcome;
use crate::error::{self, CliError, Exit, Result};
use crate::output::emit;
use crate::{Ctx, files};

/// Describe a ciphertext (raw or base64, as Connect stores it) without any private key: format
/// version, algorithm suite, encrypted data keys (the key ID it needs), framing and signature.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ciphertext file, or - for stdin.
    #[arg(default_value = "-", value_name = "FILE|-")]
    pub input: String,
}

/// One encrypted data key.
#[derive(Debug, Serialize)]
pub struct DataKey {
    /// Key provider ID.
    pub provider_id: String,
    /// Key name: the Connect key ID.
    pub key_id: String,
    /// Wrapped key length.
    pub ciphertext_len: usize,
}

/// What the message says about itself.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Message format version.
    pub version: u8,
    /// Suite ID, hex.
    pub suite: String,
    /// Whether this is what Connect produces.
    pub connect_suite: bool,
    /// Message ID, base64.
    pub message_id: String,
    /// Encryption context (the signing public key is public).
    pub encryption_context: BTreeMap<String, String>,
    /// Encrypted data keys.
    pub encrypted_data_keys: Vec<DataKey>,
    /// framed / non-framed.
    pub content_type: String,
    /// Frame length.
    pub frame_length: u32,
    /// Frame count.
    pub frame_count: u32,
    /// Plaintext length in bytes.
    pub content_length: usize,
    /// unsigned / valid / invalid / bad-public-key.
    pub signature: &'static str,
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
        writeln!(f, "signature:        {}", self.signature)
    }
}

/// Runs the command.
pub fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let input = files::read_input(&args.input)?;
    let provider = esdk_message::provider::default_provider();
    let i = esdk_message::inspect(provider, &input, esdk_message::DEFAULT_MAX_ENCRYPTED_DATA_KEYS)
        .map_err(|e| error::esdk("the input is not a valid ciphertext", e))?;
    let signature = match i.signature {
        esdk_message::SignatureStatus::Unsigned => "unsigned",
        esdk_message::SignatureStatus::Valid => "valid",
        esdk_message::SignatureStatus::Invalid => "invalid",
        esdk_message::SignatureStatus::BadPublicKey => "bad-public-key",
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
    };
    emit(ctx.output, &report)?;
    match i.signature {
        esdk_message::SignatureStatus::Invalid | esdk_message::SignatureStatus::BadPublicKey => Err(CliError::new(
            Exit::Decrypt,
            "the message signature does not verify: it was altered after Connect signed it",
            "capture the value again from the contact attribute; do not trust this one",
        )),
        _ => Ok(Outcome::Done),
    }
}
