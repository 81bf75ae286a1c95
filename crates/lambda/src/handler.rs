//! One invocation: find the encrypted parameters, decrypt each with the cached key, answer with
//! masked, validated fields. Takes all its dependencies as arguments so tests call it directly.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use caller_input::{Analysis, ValueType, YearMonth, analyze};
use esdk_message::provider::CryptoProvider;
use esdk_message::{DecryptOptions, Message, SuiteId};
use keystore::{KeyStore, KeyStoreError};

use crate::config::Config;
use crate::event::ConnectEvent;
use crate::metrics::{MetricSink, emf_line};

/// The answer to Connect: a flat map whose keys and values use only `A-Z a-z 0-9 _ -`.
pub type Response = HashMap<String, String>;

/// What one invocation needs, built once at cold start.
pub struct Deps<'a> {
    /// The key store (with its cache).
    pub keys: &'a KeyStore,
    /// The validated configuration.
    pub config: &'a Config,
    /// Where EMF lines go.
    pub metrics: &'a dyn MetricSink,
    /// The crypto backend.
    pub provider: &'static dyn CryptoProvider,
}

/// Stable error codes a flow can branch on and an alarm can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The event carries no encrypted parameter (check the flow's function input parameters).
    NoEncryptedInput,
    /// The value is not a Connect-shaped ESDK message (truncated, altered structure, wrong suite,
    /// more than one data key).
    MalformedCiphertext,
    /// No private key is stored for the message's key ID (nor a legacy one).
    KeyNotFound,
    /// The stored key is not a usable RSA private key (not PEM, public key, too small).
    KeyInvalid,
    /// SSM could not be reached in time (or throttled): retry in the flow or fail over.
    KeyStoreUnavailable,
    /// SSM, or the KMS key behind the parameter, refused the function's role: a permanent
    /// misconfiguration (not retried; remembered briefly), fix the role or key policy.
    KeyAccessDenied,
    /// The footer signature does not verify: the ciphertext was altered.
    SignatureInvalid,
    /// The data key or an authentication tag did not verify (wrong key for this key ID, or
    /// altered ciphertext).
    DecryptFailed,
    /// Unexpected failure of the crypto backend.
    Internal,
}

impl ErrorCode {
    /// The name in responses, logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoEncryptedInput => "NoEncryptedInput",
            Self::MalformedCiphertext => "MalformedCiphertext",
            Self::KeyNotFound => "KeyNotFound",
            Self::KeyInvalid => "KeyInvalid",
            Self::KeyStoreUnavailable => "KeyStoreUnavailable",
            Self::KeyAccessDenied => "KeyAccessDenied",
            Self::SignatureInvalid => "SignatureInvalid",
            Self::DecryptFailed => "DecryptFailed",
            Self::Internal => "Internal",
        }
    }

    /// The code for a message error.
    pub fn from_message_error(e: &esdk_message::Error) -> Self {
        use esdk_message::Error as E;
        match e {
            E::SignatureInvalid | E::InvalidSignaturePublicKey => Self::SignatureInvalid,
            E::HeaderAuthFailed | E::FrameAuthFailed(_) | E::CommitmentMismatch | E::NoMatchingKey => {
                Self::DecryptFailed
            }
            E::InvalidKey(_) => Self::KeyInvalid,
            E::Backend(_) | E::InvalidArgument(_) => Self::Internal,
            _ => Self::MalformedCiphertext,
        }
    }

    /// The code for a key store error.
    pub fn from_keystore_error(e: &KeyStoreError) -> Self {
        match e {
            KeyStoreError::Unavailable(_) => Self::KeyStoreUnavailable,
            KeyStoreError::AccessDenied { .. } => Self::KeyAccessDenied,
            KeyStoreError::InvalidKey { .. } | KeyStoreError::KeyTooSmall { .. } => Self::KeyInvalid,
            KeyStoreError::InvalidConfiguration(_) => Self::Internal,
            _ => Self::KeyNotFound,
        }
    }
}

/// Per value status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Decrypted and valid.
    Success(Analysis),
    /// Decrypted, fails validation.
    Invalid(Analysis),
    /// The caller entered nothing (Connect sent `Timeout`).
    NoInput,
    /// Could not decrypt.
    Error(ErrorCode),
}

impl Outcome {
    fn status(&self) -> &'static str {
        match self {
            Self::Success(_) => "Success",
            Self::Invalid(_) => "Invalid",
            Self::NoInput => "NoInput",
            Self::Error(_) => "Error",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Error(_) => 3,
            Self::NoInput => 2,
            Self::Invalid(_) => 1,
            Self::Success(_) => 0,
        }
    }
}

/// Suffix of the parameter that declares a value's type: `EncryptedCreditCardType=card`.
pub const TYPE_SUFFIX: &str = "Type";
/// Prefix that declares a parameter encrypted (the AWS blog's `EncryptedCreditCard`).
pub const ENCRYPTED_PREFIX: &str = "Encrypted";
/// What Connect sends when the caller entered nothing.
pub const TIMEOUT_VALUE: &str = "Timeout";

/// One parameter to decrypt.
struct Input<'e> {
    name: &'e str,
    value: &'e str,
    kind: ValueType,
}

/// The parameters to decrypt. Declared ones (the blog's `Encrypted` prefix, or a `<Name>Type`)
/// always are, and report errors; an undeclared one only with `decrypt_undeclared` and only if it
/// parses as a message. Otherwise a message-shaped undeclared parameter is skipped with a
/// warning: its key ID may come from the caller, and must not pick what SSM is asked for.
fn select_inputs<'e>(
    event: &'e ConnectEvent,
    default_type: ValueType,
    decrypt_undeclared: bool,
    contact_id: &str,
) -> Result<Vec<Input<'e>>, String> {
    let mut inputs = Vec::new();
    for (name, value) in event.string_parameters() {
        if let Some(base) = name.strip_suffix(TYPE_SUFFIX)
            && event.parameter(base).is_some()
        {
            continue;
        }
        let declaration = event.parameter(&format!("{name}{TYPE_SUFFIX}"));
        let kind = match declaration {
            Some(d) => ValueType::parse(d).ok_or_else(|| format!("{name}{TYPE_SUFFIX}"))?,
            None => default_type,
        };
        // Declared inputs (a `<Name>Type` or the blog's `Encrypted` prefix) report errors; any other
        // parameter is an input only when configured, and only if it parses as a message.
        let declared = declaration.is_some() || name.starts_with(ENCRYPTED_PREFIX);
        if declared {
            inputs.push(Input { name, value, kind });
        } else if looks_like_message(value) {
            if decrypt_undeclared {
                inputs.push(Input { name, value, kind });
            } else {
                tracing::warn!(
                    contact_id,
                    parameter = name,
                    "parameter looks encrypted but is not declared; not decrypted: name it Encrypted..., add \
                     a <Name>Type parameter, or set SECURE_IVR_DECRYPT_UNDECLARED=true"
                );
            }
        }
    }
    Ok(inputs)
}

fn looks_like_message(value: &str) -> bool {
    esdk_message::decode_input(value.trim().as_bytes())
        .is_ok_and(|b| Message::parse(&b, esdk_message::DEFAULT_MAX_ENCRYPTED_DATA_KEYS).is_ok())
}

/// Restricts a parameter name to the response alphabet.
fn response_key(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// Milliseconds, rounded to the microsecond (logs and metrics need no float noise).
fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// What the logs say about one value besides its outcome.
struct Timings {
    fetch_ms: f64,
    decrypt_ms: f64,
    /// The header's suite, once parsed.
    suite: Option<u16>,
}

/// Handles one Connect event. `today` decides expiry; pass [`YearMonth::now_utc`] in production.
/// `answer_by` is when the answer must be ready: key fetches still running then are abandoned
/// (`KeyStoreUnavailable`). In Lambda it is the invocation's deadline less a margin
/// ([`crate::deadline::answer_by`]).
pub async fn handle(event: &ConnectEvent, deps: &Deps<'_>, today: YearMonth, answer_by: Instant) -> Response {
    let started = Instant::now();
    let contact_id = event.contact_id();
    let mut response = Response::new();

    let inputs = match select_inputs(event, deps.config.default_type, deps.config.decrypt_undeclared, &contact_id) {
        Ok(inputs) => inputs,
        Err(declaration) => {
            tracing::error!(contact_id, parameter = %declaration, "unknown value type declared; expected card, expiry, cvv or digits");
            return error_response(ErrorCode::MalformedCiphertext, deps, &contact_id);
        }
    };
    if inputs.is_empty() {
        tracing::warn!(contact_id, "no encrypted parameter in the event");
        return error_response(ErrorCode::NoEncryptedInput, deps, &contact_id);
    }

    let single = inputs.len() == 1;
    // Once SSM failed in this invocation, later values needing another key fail at once: the
    // answer must reach Connect before its 8 s limit however many values the event carries.
    let mut ssm_down = false;
    let mut overall: Option<Outcome> = None;
    for input in &inputs {
        let budget = Budget { deadline: answer_by, ssm_down: &mut ssm_down };
        let (outcome, timings, key_id, cache) = process(input, deps, today, &contact_id, budget).await;
        let code = match &outcome {
            Outcome::Error(c) => Some(c.as_str()),
            _ => None,
        };
        tracing::info!(
            contact_id,
            parameter = input.name,
            value_type = input.kind.as_str(),
            key_id = key_id.as_deref().unwrap_or(""),
            suite = timings.suite.map(|s| format!("0x{s:04x}")).unwrap_or_default(),
            cache,
            outcome = outcome.status(),
            error_code = code.unwrap_or(""),
            key_fetch_ms = timings.fetch_ms,
            decrypt_ms = timings.decrypt_ms,
            "value processed"
        );
        deps.metrics.emit(&emf_line(
            &deps.config.metrics_namespace,
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()),
            outcome.status(),
            code,
            timings.fetch_ms,
            timings.decrypt_ms,
        ));

        let prefix = response_key(input.name);
        let mut put = |field: &str, value: String| {
            if single {
                response.insert(field.to_owned(), value.clone());
            }
            response.insert(format!("{prefix}_{field}"), value);
        };
        match &outcome {
            // Status, Type and the value's fields, exactly as `secure-ivr decrypt` prints them.
            Outcome::Success(a) | Outcome::Invalid(a) => {
                for (field, value) in a.response_fields() {
                    put(field, value);
                }
            }
            Outcome::Error(c) => {
                put("Status", outcome.status().to_owned());
                put("Type", input.kind.as_str().to_owned());
                put("ErrorCode", c.as_str().to_owned());
            }
            Outcome::NoInput => {
                put("Status", outcome.status().to_owned());
                put("Type", input.kind.as_str().to_owned());
            }
        }
        if overall.as_ref().is_none_or(|o| outcome.rank() > o.rank()) {
            overall = Some(outcome);
        }
    }
    if let Some(o) = &overall {
        response.insert("Status".into(), o.status().into());
        if let Outcome::Error(c) = o {
            response.insert("ErrorCode".into(), c.as_str().into());
        }
    }
    response.insert("Values".into(), inputs.len().to_string());
    tracing::info!(
        contact_id,
        status = response.get("Status").map_or("", String::as_str),
        values = inputs.len(),
        total_ms = ms(started),
        "invocation done"
    );
    response
}

fn error_response(code: ErrorCode, deps: &Deps<'_>, contact_id: &str) -> Response {
    deps.metrics.emit(&emf_line(
        &deps.config.metrics_namespace,
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()),
        "Error",
        Some(code.as_str()),
        0.0,
        0.0,
    ));
    tracing::info!(contact_id, outcome = "Error", error_code = code.as_str(), "invocation done");
    HashMap::from([("Status".into(), "Error".into()), ("ErrorCode".into(), code.as_str().into())])
}

/// The time left for key fetches in this invocation.
struct Budget<'a> {
    deadline: Instant,
    ssm_down: &'a mut bool,
}

async fn process(
    input: &Input<'_>,
    deps: &Deps<'_>,
    today: YearMonth,
    contact_id: &str,
    budget: Budget<'_>,
) -> (Outcome, Timings, Option<String>, &'static str) {
    let mut t = Timings { fetch_ms: 0.0, decrypt_ms: 0.0, suite: None };
    let value = input.value.trim();
    if value.is_empty() || value == TIMEOUT_VALUE {
        return (Outcome::NoInput, t, None, "");
    }
    let fail = |code: ErrorCode, why: &dyn core::fmt::Display| {
        tracing::warn!(contact_id, parameter = input.name, error_code = code.as_str(), reason = %why, "value not decrypted");
        Outcome::Error(code)
    };
    let bytes = match esdk_message::decode_input(value.as_bytes()) {
        Ok(b) => b,
        Err(e) => return (fail(ErrorCode::MalformedCiphertext, &e), t, None, ""),
    };
    let options = DecryptOptions::connect();
    let message = match Message::parse(&bytes, options.max_encrypted_data_keys) {
        Ok(m) => m,
        Err(e) => return (fail(ErrorCode::MalformedCiphertext, &e), t, None, ""),
    };
    t.suite = Some(message.header.suite.id.0);
    // Refuse other suites before any key fetch: a malformed message must not cost an SSM call.
    if message.header.suite.id != SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 {
        let e = esdk_message::Error::SuiteNotAllowed(message.header.suite.id.0);
        return (fail(ErrorCode::MalformedCiphertext, &e), t, None, "");
    }
    let Some(edk) = message.header.encrypted_data_keys.first() else {
        return (fail(ErrorCode::MalformedCiphertext, &esdk_message::Error::NoEncryptedDataKeys), t, None, "");
    };
    if edk.provider_id != esdk_message::keyring::CONNECT_NAMESPACE.as_bytes() {
        return (fail(ErrorCode::KeyNotFound, &"data key provider is not AmazonConnect"), t, None, "");
    }
    let Ok(key_id) = core::str::from_utf8(edk.provider_info) else {
        return (fail(ErrorCode::KeyNotFound, &"key ID is not UTF-8"), t, None, "");
    };
    let key_id = key_id.to_owned();

    let fetch = Instant::now();
    let remaining = budget.deadline.saturating_duration_since(fetch);
    let got = if *budget.ssm_down {
        deps.keys
            .get_cached(&key_id)
            .ok_or_else(|| KeyStoreError::Unavailable("SSM already failed in this invocation; not asked again".into()))
    } else {
        match tokio::time::timeout(remaining, deps.keys.get(&key_id)).await {
            Ok(r) => r,
            Err(_) => Err(KeyStoreError::Unavailable(format!(
                "no time left before the invocation deadline (less {} ms to answer) after {} ms",
                crate::deadline::ANSWER_MARGIN.as_millis(),
                remaining.as_millis()
            ))),
        }
    };
    if matches!(got, Err(KeyStoreError::Unavailable(_))) {
        *budget.ssm_down = true;
    }
    t.fetch_ms = ms(fetch);
    let (key, status) = match got {
        Ok(k) => k,
        Err(e) => {
            let printable_id = if keystore::validate_key_id(&key_id).is_ok() { key_id } else { "(invalid)".into() };
            return (fail(ErrorCode::from_keystore_error(&e), &e), t, Some(printable_id), "");
        }
    };

    let decrypt = Instant::now();
    let result = esdk_message::decrypt_message(deps.provider, &[key.keyring()], &message, &options);
    t.decrypt_ms = ms(decrypt);
    let outcome = match result {
        Ok(decrypted) => {
            let analysis = analyze(input.kind, decrypted.plaintext.expose(), today);
            // `decrypted` (and its zeroizing plaintext) is dropped here.
            drop(decrypted);
            if analysis.valid { Outcome::Success(analysis) } else { Outcome::Invalid(analysis) }
        }
        Err(e) => fail(ErrorCode::from_message_error(&e), &e),
    };
    (outcome, t, Some(key_id), status.as_str())
}
