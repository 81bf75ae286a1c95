//! `secure-ivr decrypt`.

use std::path::PathBuf;

use caller_input::{ValueType, YearMonth};
use serde::Serialize;
use serde::ser::SerializeMap as _;
use zeroize::Zeroizing;

use crate::commands::Outcome;
use crate::error::{self, CliError, Exit, Result};
use crate::output::{emit, progress};
use crate::{Ctx, files, keymat, store};

/// Decrypt a ciphertext (raw or base64) with the private key from SSM (found by the key ID in the
/// message) or --private-key. Prints the masked, validated fields the Lambda would return for the
/// value unless --reveal.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Ciphertext file, or - for stdin.
    #[arg(default_value = "-", value_name = "FILE|-")]
    pub(crate) input: String,
    /// What the value is, as a flow's `<Name>Type` declares it: card, expiry, cvv or digits.
    #[arg(long = "type", default_value = "card", value_parser = parse_type, value_name = "TYPE")]
    pub(crate) value_type: ValueType,
    /// Private key PEM file instead of SSM.
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key: Option<PathBuf>,
    /// Print the plaintext itself (a warning goes to stderr).
    #[arg(long)]
    pub(crate) reveal: bool,
    /// Write the raw plaintext bytes to this new file (mode 0600).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// The result. `plaintext` is present only under --reveal.
#[derive(Serialize)]
pub(crate) struct Decryption {
    /// Key ID the message named.
    pub(crate) key_id: String,
    /// Where the private key came from.
    pub(crate) key_source: String,
    /// Suite, hex.
    pub(crate) suite: String,
    /// The Lambda's response fields for the value (`Status`, `Type`, `Length`, `Valid`, `Masked`,
    /// `Last4` for cards, then the type's own).
    #[serde(flatten)]
    pub(crate) fields: Fields,
    /// The plaintext (only with --reveal).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "reveal")]
    pub(crate) plaintext: Option<Zeroizing<String>>,
    /// File written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<String>,
}

impl std::fmt::Display for Decryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = &self.plaintext {
            return f.write_str(p);
        }
        writeln!(f, "{:<13}{} ({})", "key ID:", self.key_id, self.key_source)?;
        for (name, value) in &self.fields.0 {
            writeln!(f, "{:<13}{value}", format!("{name}:"))?;
        }
        if let Some(file) = &self.file {
            writeln!(f, "{:<13}{file}", "wrote:")?;
        }
        Ok(())
    }
}

/// Response fields in the Lambda's order; serialised as a map.
pub(crate) struct Fields(Vec<(&'static str, String)>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn parse_type(s: &str) -> std::result::Result<ValueType, String> {
    ValueType::parse(s).ok_or_else(|| format!("{s:?} is not a value type; expected card, expiry, cvv or digits"))
}

fn reveal<S: serde::Serializer>(p: &Option<Zeroizing<String>>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(p),
        None => s.serialize_none(),
    }
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    if let Some(out) = &args.out {
        files::ensure_absent(out)?;
    }
    let input = files::read_input(&args.input)?;
    let provider = esdk_message::provider::default_provider();
    // The Connect policy and the key ID, from the header alone (as the Lambda reads them).
    let key_id = esdk_message::connect_key_id_of_input(&input).map_err(|e| match e {
        esdk_message::Error::WrongKeyProvider => CliError::input(
            "the message has no data key for provider AmazonConnect",
            "this was not encrypted by Connect's Store customer input block; `secure-ivr inspect` shows its keys",
        ),
        esdk_message::Error::SuiteNotAllowed(_)
        | esdk_message::Error::TooManyEncryptedDataKeys { .. }
        | esdk_message::Error::KeyIdNotUtf8 => error::esdk("the message is not one Connect encrypts", e),
        e => error::esdk("the input is not a valid ciphertext", e),
    })?;

    let (pem, source) = match &args.private_key {
        Some(path) => (files::read_pem(path)?, format!("file {}", path.display())),
        None => {
            let aws = ctx.aws.load().await?;
            let name = store::name_for_key(&aws.prefix, &key_id)?;
            if ctx.verbose > 0 {
                progress(format!("reading {name} ..."));
            }
            let fetched = store::get_private(&aws.ssm(), &name, &aws.region()).await?;
            (fetched.pem, format!("ssm {name} version {}", fetched.version))
        }
    };
    let keyring = keymat::stored_key(&pem)?.connect_keyring(provider, &key_id).map_err(keymat::key_error)?;
    drop(pem);
    let decrypted = esdk_message::decrypt(provider, &[&keyring], &input, &esdk_message::DecryptOptions::connect())
        .map_err(|e| error::esdk("decryption failed", e))?;
    let bytes = decrypted.plaintext.expose();

    let mut file = None;
    if let Some(out) = &args.out {
        files::write_secret(out, bytes)?;
        file = Some(out.display().to_string());
    }
    let plaintext = if args.reveal {
        eprintln!("warning: printing decrypted customer input; clear your terminal and scrollback afterwards");
        let text = std::str::from_utf8(bytes).map_err(|_| {
            CliError::new(Exit::Input, "the plaintext is not UTF-8 text", "use --out FILE to write the raw bytes")
        })?;
        Some(Zeroizing::new(text.to_owned()))
    } else {
        None
    };
    let result = Decryption {
        key_id,
        key_source: source,
        suite: format!("0x{:04x}", decrypted.suite.0),
        fields: Fields(caller_input::analyze(args.value_type, bytes, YearMonth::now_utc()).response_fields()),
        plaintext,
        file,
    };
    emit(ctx.output, &result)?;
    Ok(Outcome::Done)
}
