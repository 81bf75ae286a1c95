//! `secure-ivr encrypt`.

use std::path::PathBuf;

use base64::Engine as _;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::commands::Outcome;
use crate::error::{self, Result};
use crate::output::{emit, progress};
use crate::{Ctx, files, keymat, store};

/// Encrypt stdin or --text exactly as Connect's Store customer input block does (suite 0x0378,
/// RSA-OAEP-SHA512 wrapped data key under provider "AmazonConnect" and the key ID). For tests,
/// demos and load tests. Prints base64, as Connect stores it in the contact attribute.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("recipient").required(true).args(["certificate", "public_key"])))]
pub(crate) struct Args {
    /// Certificate PEM from `keygen` (must be within its validity window).
    #[arg(long, value_name = "FILE")]
    pub(crate) certificate: Option<PathBuf>,
    /// Public key PEM instead of a certificate.
    #[arg(long, value_name = "FILE")]
    pub(crate) public_key: Option<PathBuf>,
    /// The Connect key ID the message names.
    #[arg(long, value_name = "ID")]
    pub(crate) key_id: String,
    /// Plaintext on the command line (visible in shell history); default stdin.
    #[arg(long, value_name = "TEXT")]
    pub(crate) text: Option<String>,
    /// Write the raw message bytes to this file instead of base64 to stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// The result.
#[derive(Debug, Serialize)]
pub(crate) struct Encrypted {
    /// Key ID.
    pub(crate) key_id: String,
    /// Message length in bytes.
    pub(crate) bytes: usize,
    /// Base64 message, unless written to a file.
    pub(crate) ciphertext: Option<String>,
    /// File written.
    pub(crate) file: Option<String>,
}

impl std::fmt::Display for Encrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.ciphertext, &self.file) {
            (Some(c), _) => f.write_str(c),
            (None, Some(file)) => write!(f, "wrote {} bytes for key {} to {file}", self.bytes, self.key_id),
            (None, None) => Ok(()),
        }
    }
}

/// Runs the command.
pub(crate) fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    store::check_key_id(&args.key_id)?;
    let pem = match (&args.certificate, &args.public_key) {
        (Some(cert), _) => {
            let pem = files::read_pem(cert)?;
            keymat::certificate_validity(&pem, time::OffsetDateTime::now_utc())?;
            pem
        }
        (None, Some(key)) => files::read_pem(key)?,
        (None, None) => unreachable_recipient()?,
    };
    let plaintext = match &args.text {
        Some(t) => Zeroizing::new(t.as_bytes().to_vec()),
        None => files::read_input("-")?,
    };
    // The public key as SubjectPublicKeyInfo DER, read here (x509-cert): the format crate takes DER.
    let spki = keymat::public_key_spki(&pem)?;
    let provider = esdk_message::provider::default_provider();
    let keyring = esdk_message::keyring::RawRsaKeyring::from_public_key(
        provider,
        esdk_message::keyring::CONNECT_NAMESPACE,
        &args.key_id,
        &spki,
        esdk_message::keyring::CONNECT_PADDING,
    )
    .map_err(|e| error::esdk("the public key is unusable", e))?;
    // As Connect encrypts: its suite, frame length and random IVs.
    let message = esdk_message::encrypt_with_ivs(
        provider,
        &[&keyring],
        &plaintext,
        &esdk_message::EncryptOptions::connect(),
        esdk_message::IvPolicy::Random,
    )
    .map_err(|e| error::esdk("could not encrypt", e))?;
    let result = if let Some(out) = &args.out {
        files::write_public(out, &message)?;
        progress(format!("wrote {}", out.display()));
        Encrypted { key_id: args.key_id, bytes: message.len(), ciphertext: None, file: Some(out.display().to_string()) }
    } else {
        Encrypted {
            key_id: args.key_id,
            bytes: message.len(),
            ciphertext: Some(base64::engine::general_purpose::STANDARD.encode(&message)),
            file: None,
        }
    };
    emit(ctx.output, &result)?;
    Ok(Outcome::Done)
}

fn unreachable_recipient() -> Result<Zeroizing<String>> {
    Err(crate::error::CliError::input("no recipient given", "give --certificate FILE or --public-key FILE"))
}
