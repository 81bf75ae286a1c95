//! One input: refuse what is not a Connect message before any key fetch, fetch the key within
//! the invocation's budget, decrypt, analyse. The result is a [`Processed`] the handler logs,
//! counts and puts in the response.

use std::sync::Arc;
use std::time::Instant;

use caller_input::{Analysis, Status, YearMonth, analyze};
use esdk_message::{DecryptOptions, Message};
use keystore::{CacheStatus, CachedKey, KeyStoreError};

use crate::error_code::ErrorCode;
use crate::event::Input;
use crate::handler::Deps;
use crate::payment::CardPart;

/// What Connect sends when the caller entered nothing.
pub(crate) const TIMEOUT_VALUE: &str = "Timeout";

/// One value's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Decrypted and analysed: `Success` or `Invalid` by the analysis.
    Decrypted(Analysis),
    /// The caller entered nothing (Connect sent `Timeout`).
    NoInput,
    /// Could not decrypt.
    Error(ErrorCode),
}

impl Outcome {
    /// `Status` in the response, `outcome` in logs, `Outcome` in metrics.
    pub(crate) fn status(&self) -> &'static str {
        match self {
            // The analysis's own status, so the names have one source.
            Self::Decrypted(a) => a.status().as_str(),
            Self::NoInput => "NoInput",
            Self::Error(_) => "Error",
        }
    }

    /// The error code, for errors.
    pub(crate) fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Error(c) => Some(*c),
            _ => None,
        }
    }

    /// The worse of two outcomes decides the invocation's status: Error > NoInput > Invalid >
    /// Success.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Self::Error(_) => 3,
            Self::NoInput => 2,
            Self::Decrypted(a) => match a.status() {
                Status::Invalid => 1,
                Status::Success => 0,
            },
        }
    }
}

/// One processed value: its outcome and what the logs and metrics say about it.
#[derive(Debug)]
pub(crate) struct Processed {
    pub(crate) outcome: Outcome,
    /// The header's suite, once parsed.
    pub(crate) suite: Option<u16>,
    /// The header's key ID once read (`(invalid)` when it could not name a parameter).
    pub(crate) key_id: Option<String>,
    /// Where the key came from, once fetched.
    pub(crate) cache: Option<CacheStatus>,
    pub(crate) fetch_ms: f64,
    pub(crate) decrypt_ms: f64,
    /// The header's message ID (lowercase hex), once parsed: the replay record's key.
    pub(crate) message_id: Option<String>,
    /// With a payment connector on: the valid card number, expiry or security code, kept (wiped
    /// on drop, never printed) until the payment step; None otherwise.
    pub(crate) part: Option<CardPart>,
}

/// The time left for key fetches in one invocation, shared by its values.
#[derive(Debug)]
pub(crate) struct Budget {
    /// When the answer must be ready.
    pub(crate) deadline: Instant,
    /// SSM failed earlier in this invocation: later values use cached keys only, so the answer
    /// reaches Connect before its 8 s limit however many values the event carries.
    pub(crate) ssm_down: bool,
}

/// Why a value was not decrypted: its code and a reason for the log (never a value).
struct Refusal {
    code: ErrorCode,
    reason: String,
}

impl Refusal {
    fn new(code: ErrorCode, reason: &dyn core::fmt::Display) -> Self {
        Self { code, reason: reason.to_string() }
    }
}

/// Milliseconds, rounded to the microsecond (logs and metrics need no float noise).
pub(crate) fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Processes one input. `today` decides expiry; `keep` keeps a valid card part for the payment.
pub(crate) async fn process(
    input: &Input<'_>,
    deps: &Deps<'_>,
    today: YearMonth,
    contact_id: &str,
    budget: &mut Budget,
    keep: bool,
) -> Processed {
    let mut p = Processed {
        outcome: Outcome::NoInput,
        suite: None,
        key_id: None,
        cache: None,
        fetch_ms: 0.0,
        decrypt_ms: 0.0,
        message_id: None,
        part: None,
    };
    let value = input.value.trim();
    if value.is_empty() || value == TIMEOUT_VALUE {
        return p;
    }
    p.outcome = match decrypt(value, input, deps, today, budget, keep, &mut p).await {
        Ok(outcome) => outcome,
        Err(Refusal { code, reason }) => {
            tracing::warn!(
                contact_id,
                parameter = input.name,
                error_code = code.as_str(),
                reason,
                "value not decrypted"
            );
            Outcome::Error(code)
        }
    };
    p
}

/// The steps after the `Timeout` check; fills in `p`'s facts as they become known.
async fn decrypt(
    value: &str,
    input: &Input<'_>,
    deps: &Deps<'_>,
    today: YearMonth,
    budget: &mut Budget,
    keep: bool,
    p: &mut Processed,
) -> Result<Outcome, Refusal> {
    let malformed = |e: &esdk_message::Error| Refusal::new(ErrorCode::MalformedCiphertext, e);
    let bytes = esdk_message::decode_input(value.as_bytes()).map_err(|e| malformed(&e))?;
    let options = DecryptOptions::connect();
    let message = Message::parse(&bytes, options.max_encrypted_data_keys).map_err(|e| malformed(&e))?;
    p.suite = Some(message.header().suite_id().0);
    p.message_id = Some(message.header().message_id().iter().map(|b| format!("{b:02x}")).collect());
    // The Connect policy before any key fetch: a message Connect would not write must not cost
    // an SSM call.
    let key_id = esdk_message::connect_key_id(message.header())
        .map_err(|e| Refusal::new(ErrorCode::from_message_error(&e), &e))?;
    p.key_id = Some(if keystore::validate_key_id(key_id).is_ok() { key_id.to_owned() } else { "(invalid)".into() });

    let fetch = Instant::now();
    let got = fetch_key(deps, key_id, budget).await;
    p.fetch_ms = ms(fetch);
    let (key, status) = got.map_err(|e| Refusal::new(ErrorCode::from_keystore_error(&e), &e))?;
    p.cache = Some(status);

    let decrypt = Instant::now();
    let result = esdk_message::decrypt_message(deps.provider, &[key.keyring()], &message, &options);
    p.decrypt_ms = ms(decrypt);
    let decrypted = result.map_err(|e| Refusal::new(ErrorCode::from_message_error(&e), &e))?;
    let analysis = analyze(input.kind, decrypted.plaintext.expose(), today);
    if keep && analysis.valid {
        p.part = CardPart::from_plaintext(input.kind, decrypted.plaintext.expose());
    }
    // The plaintext (zeroized on drop) goes before anything else happens.
    drop(decrypted);
    Ok(Outcome::Decrypted(analysis))
}

/// The key for `key_id`, within the budget: a fetch still running at the deadline is abandoned,
/// and once SSM failed in this invocation only cached keys are used.
async fn fetch_key(
    deps: &Deps<'_>,
    key_id: &str,
    budget: &mut Budget,
) -> Result<(Arc<CachedKey>, CacheStatus), KeyStoreError> {
    let remaining = budget.deadline.saturating_duration_since(Instant::now());
    let got = if budget.ssm_down {
        deps.keys
            .get_cached(key_id)
            .ok_or_else(|| KeyStoreError::Unavailable("SSM already failed in this invocation; not asked again".into()))
    } else {
        tokio::time::timeout(remaining, deps.keys.get(key_id)).await.unwrap_or_else(|_| {
            Err(KeyStoreError::Unavailable(format!(
                "no time left before the invocation deadline (less {} ms to answer) after {} ms",
                crate::deadline::ANSWER_MARGIN.as_millis(),
                remaining.as_millis()
            )))
        })
    };
    if matches!(got, Err(KeyStoreError::Unavailable(_))) {
        budget.ssm_down = true;
    }
    got
}
