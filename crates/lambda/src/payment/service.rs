//! The payment step of one invocation: after every value is processed, and only when each is
//! valid, build the request from the decrypted card parts, claim the card message against
//! replay, call the connector within the time left, and turn its answer into response fields.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payments::{
    CardData, CardNumber, Connector, ConnectorSecret, ContactId, Cvc, Expiry, HttpConnector, IdempotencyKeyer,
    Operation, Outcome, PaymentRequest, StripeConnector, parameter, response,
};

use super::stores::{Claim, Claimed, ReplayStore, SecretSource, StoreError};
use super::{Connected, ConnectorKind};
use crate::error_code::ErrorCode;

/// A hung gateway is answered `Unknown` this long after the invocation started, whatever the
/// deadline: Connect waits 8 s for the whole invocation, and the answer still has to reach it.
pub const PAYMENT_ANSWER_BY: Duration = Duration::from_millis(7000);

/// Kept back from the payment's end for recording the gateway's answer and answering Connect.
pub const RECORD_RESERVE: Duration = Duration::from_millis(400);

/// A decrypted, valid part of the card, kept (wiped on drop) from decryption until the payment.
#[derive(Debug, Clone)]
pub(crate) enum CardPart {
    Number(CardNumber),
    Expiry(Expiry),
    Cvc(Cvc),
}

impl CardPart {
    /// The part for a valid value of `kind`, or None for other kinds (and for values the payment
    /// types refuse, which a valid analysis never is).
    pub(crate) fn from_plaintext(kind: caller_input::ValueType, value: &[u8]) -> Option<Self> {
        use caller_input::ValueType as T;
        match kind {
            T::Card => CardNumber::new(value).ok().map(Self::Number),
            T::Cvv => Cvc::new(value).ok().map(Self::Cvc),
            T::Expiry => parse_expiry(value).map(Self::Expiry),
            T::Digits => None,
        }
    }
}

/// `MMYY` or `MMYYYY`, as caller-input validates them.
fn parse_expiry(value: &[u8]) -> Option<Expiry> {
    if !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |digits: &[u8]| digits.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let (month, year) = match value {
        [m1, m2, y @ ..] if y.len() == 2 => (number(&[*m1, *m2]), 2000 + number(y)),
        [m1, m2, y @ ..] if y.len() == 4 => (number(&[*m1, *m2]), number(y)),
        _ => return None,
    };
    Expiry::new(u8::try_from(month).ok()?, year).ok()
}

/// One processed input, as the payment step sees it.
pub(crate) struct PayInput<'a> {
    pub(crate) kind: caller_input::ValueType,
    /// Decrypted and valid.
    pub(crate) valid: bool,
    /// The kept part, for valid card, expiry and security-code values.
    pub(crate) part: Option<&'a CardPart>,
    /// The ESDK message ID (lowercase hex), once parsed.
    pub(crate) message_id: Option<&'a str>,
}

/// The payment step's answer: the response fields and what the log and metric say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PayAnswer {
    /// `PaymentStatus`, then the outcome's own fields, then `ErrorCode`/`PaymentErrorKind`/`PaymentParameter`.
    pub(crate) fields: Vec<(&'static str, String)>,
    /// `PaymentStatus`.
    pub(crate) status: &'static str,
    /// The Lambda's error code, for `Error` answers it decided (not the connector's).
    pub(crate) error_code: Option<ErrorCode>,
    /// The operation, once the parameters were read.
    pub(crate) operation: Option<&'static str>,
    /// The idempotency key (an HMAC; says nothing about the card), once derived.
    pub(crate) idempotency_key: Option<String>,
    /// The gateway was called in this invocation.
    pub(crate) sent: bool,
    /// The answer is the one recorded for this message by an earlier invocation.
    pub(crate) replayed_answer: bool,
    /// Why, for the log (never a value).
    pub(crate) reason: String,
}

impl PayAnswer {
    fn new(status: &'static str, reason: impl Into<String>) -> Self {
        Self {
            fields: vec![(response::PAYMENT_STATUS, status.to_owned())],
            status,
            error_code: None,
            operation: None,
            idempotency_key: None,
            sent: false,
            replayed_answer: false,
            reason: reason.into(),
        }
    }

    fn not_attempted(reason: &str) -> Self {
        Self::new(response::NOT_ATTEMPTED, reason)
    }

    fn error(code: ErrorCode, reason: impl Into<String>) -> Self {
        let mut a = Self::new("Error", reason);
        a.fields.push(("ErrorCode", code.as_str().to_owned()));
        a.error_code = Some(code);
        a
    }

    fn from_outcome(outcome: &Outcome) -> Self {
        let mut a = Self::new(outcome.status_str(), outcome.to_string());
        a.fields = outcome.response_fields();
        if let Outcome::Error { kind } = outcome {
            a.fields.push(("ErrorCode", ErrorCode::PaymentGatewayError.as_str().to_owned()));
            a.fields.push((PAYMENT_ERROR_KIND, kind.as_str().to_owned()));
            a.error_code = Some(ErrorCode::PaymentGatewayError);
        }
        a
    }
}

/// Response key naming the connector's error kind (`unauthorized`, `rejected`, `rate_limited`,
/// `invalid_answer`, `unreachable`, `unsupported`) with `ErrorCode=PaymentGatewayError`.
pub const PAYMENT_ERROR_KIND: &str = "PaymentErrorKind";
/// Response key naming the flow parameter that was refused (`ErrorCode=PaymentParameterInvalid`).
pub const PAYMENT_PARAMETER: &str = "PaymentParameter";

/// A connector with its secret, and the idempotency keyer derived from that secret.
struct Armed {
    connector: Arc<dyn Connector>,
    keyer: IdempotencyKeyer,
    fetched: Instant,
}

/// The connector, its secret (cached for `secret_ttl`) and the replay table. Built at cold start.
pub struct PaymentService {
    settings: Connected,
    secrets: Arc<dyn SecretSource>,
    replay: Arc<dyn ReplayStore>,
    armed: Mutex<Option<Arc<Armed>>>,
}

impl std::fmt::Debug for PaymentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentService").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl PaymentService {
    /// For these settings, reading the secret from `secrets` and claiming messages in `replay`.
    pub fn new(settings: Connected, secrets: Arc<dyn SecretSource>, replay: Arc<dyn ReplayStore>) -> Self {
        Self { settings, secrets, replay, armed: Mutex::new(None) }
    }

    /// The connector's configuration name (`http`, `stripe`).
    pub fn connector_name(&self) -> &'static str {
        match self.settings.kind {
            ConnectorKind::Http => "http",
            ConnectorKind::Stripe => "stripe",
        }
    }

    /// Reads the secret and builds the connector now (cold start), so the first call does not.
    pub async fn warm(&self, by: Instant) -> Result<(), StoreError> {
        self.armed(by).await.map(drop)
    }

    /// The connector with a secret no older than the TTL: cached, or read again (within `by`).
    async fn armed(&self, by: Instant) -> Result<Arc<Armed>, StoreError> {
        let cached = self.armed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(armed) = &cached
            && armed.fetched.elapsed() < self.settings.secret_ttl
        {
            return Ok(Arc::clone(armed));
        }
        let left = by.saturating_duration_since(Instant::now());
        let secret =
            tokio::time::timeout(left, self.secrets.secret(&self.settings.secret_arn)).await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!("no answer from Secrets Manager within {} ms", left.as_millis())))
            })?;
        let connector = self.connector(&secret, cached.as_deref())?;
        let armed =
            Arc::new(Armed { connector, keyer: IdempotencyKeyer::from_secret(&secret), fetched: Instant::now() });
        *self.armed.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&armed));
        Ok(armed)
    }

    /// A connector for `secret`. The TLS setup is rebuilt each time the secret is read (once per
    /// TTL): a few milliseconds, and the secret-swapping constructors would need the concrete type.
    fn connector(&self, secret: &ConnectorSecret, _previous: Option<&Armed>) -> Result<Arc<dyn Connector>, StoreError> {
        let refused = |e: payments::ConfigError| StoreError::Invalid(format!("the secret cannot be used: {e}"));
        Ok(match (self.settings.kind, &self.settings.url) {
            (ConnectorKind::Http, Some(url)) => {
                Arc::new(HttpConnector::new(url.clone(), secret.clone()).map_err(refused)?)
            }
            (ConnectorKind::Http, None) => return Err(StoreError::Invalid("no endpoint URL".into())),
            (ConnectorKind::Stripe, Some(base)) => {
                Arc::new(StripeConnector::with_base_url(secret, base.clone()).map_err(refused)?)
            }
            (ConnectorKind::Stripe, None) => Arc::new(StripeConnector::new(secret).map_err(refused)?),
        })
    }

    /// The payment step for one invocation. `None` when the event is not a payment (no card input
    /// and no payment parameter). `parameter` reads the event's string parameters; `ends` is when
    /// the payment must have its answer (the earlier of the invocation's answer-by time and
    /// [`PAYMENT_ANSWER_BY`] after its start).
    pub(crate) async fn pay(
        &self,
        inputs: &[PayInput<'_>],
        parameter: &dyn Fn(&str) -> Option<String>,
        contact_id: &str,
        now_unix: u64,
        ends: Instant,
    ) -> Option<PayAnswer> {
        use caller_input::ValueType as T;
        let given = |name: &str| parameter(name).filter(|v| !v.is_empty());
        let asked = [parameter::AMOUNT, parameter::CURRENCY, parameter::OPERATION].iter().any(|p| given(p).is_some());
        let count = |kind: T| inputs.iter().filter(|i| i.kind == kind).count();
        if count(T::Card) == 0 && !asked {
            return None;
        }
        if count(T::Card) != 1 || count(T::Expiry) > 1 || count(T::Cvv) > 1 {
            return Some(PayAnswer::error(
                ErrorCode::PaymentInputInvalid,
                "a payment needs exactly one card input and at most one expiry and one security code",
            ));
        }
        let operation = match Operation::from_parameters(
            given(parameter::OPERATION).as_deref(),
            given(parameter::AMOUNT).as_deref(),
            given(parameter::CURRENCY).as_deref(),
        ) {
            Ok(op) => op,
            Err(e) => {
                let mut a = PayAnswer::error(ErrorCode::PaymentParameterInvalid, e.to_string());
                if let payments::RequestError::Parameter(name) = e {
                    a.fields.push((PAYMENT_PARAMETER, name.to_owned()));
                }
                return Some(a);
            }
        };
        if inputs.iter().any(|i| !i.valid) {
            let mut a = PayAnswer::not_attempted("not every value is valid");
            a.operation = Some(operation.name());
            return Some(a);
        }
        Some(self.send(inputs, operation, contact_id, now_unix, ends).await)
    }

    async fn send(
        &self,
        inputs: &[PayInput<'_>],
        operation: Operation,
        contact_id: &str,
        now_unix: u64,
        ends: Instant,
    ) -> PayAnswer {
        let with_op = |mut a: PayAnswer| {
            a.operation = Some(operation.name());
            a
        };
        let (mut number, mut expiry, mut cvc, mut message_id) = (None, None, None, None);
        for input in inputs {
            match input.part {
                Some(CardPart::Number(n)) => (number, message_id) = (Some(n.clone()), input.message_id),
                Some(CardPart::Expiry(e)) => expiry = Some(*e),
                Some(CardPart::Cvc(c)) => cvc = Some(c.clone()),
                None => {}
            }
        }
        let (Some(number), Some(message_id)) = (number, message_id) else {
            return with_op(PayAnswer::error(ErrorCode::Internal, "the valid card number was not kept"));
        };
        let Ok(contact) = ContactId::new(contact_id) else {
            return with_op(PayAnswer::error(
                ErrorCode::PaymentInputInvalid,
                "the event's ContactId is not 1 to 256 characters of [A-Za-z0-9_-]",
            ));
        };
        let request = PaymentRequest::new(contact, operation, CardData::new(number, expiry, cvc));
        let send_by = ends.checked_sub(RECORD_RESERVE).unwrap_or(ends);
        let armed = match self.armed(send_by).await {
            Ok(armed) => armed,
            Err(e) => return with_op(PayAnswer::error(ErrorCode::PaymentUnavailable, format!("connector secret {e}"))),
        };
        let key = armed.keyer.key(&request);
        let claim = Claim {
            message_id: message_id.to_owned(),
            contact_id: contact_id.to_owned(),
            now_unix,
            expires_unix: now_unix.saturating_add(self.settings.replay_ttl.as_secs()),
        };
        let left = send_by.saturating_duration_since(Instant::now());
        let claimed = tokio::time::timeout(left, self.replay.claim(&claim)).await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!("no answer from the replay table within {} ms", left.as_millis())))
        });
        let mut answer = match claimed {
            Err(e) => PayAnswer::error(ErrorCode::PaymentUnavailable, format!("replay table {e}")),
            Ok(Claimed::OtherContact) => PayAnswer::error(
                ErrorCode::Replay,
                "this card message was already used in another contact; the gateway was not called",
            ),
            Ok(Claimed::SameContact(Some(first))) => {
                let mut a = PayAnswer::from_outcome(&first);
                a.replayed_answer = true;
                a
            }
            Ok(Claimed::First | Claimed::SameContact(None)) => {
                let deadline = tokio::time::Instant::from_std(send_by);
                let outcome = armed.connector.execute(&request, &key, deadline).await;
                let left = ends.saturating_duration_since(Instant::now());
                // An answer that says nothing reached the gateway (never connected, or 429 to the
                // end) is not kept: a retry of this message may try again, with the same key.
                let keep = !matches!(
                    outcome,
                    Outcome::Error { kind: payments::ErrorKind::Unreachable | payments::ErrorKind::RateLimited }
                );
                let recorded = if keep {
                    tokio::time::timeout(left, self.replay.record(&claim, &outcome)).await
                } else {
                    Ok(Ok(()))
                };
                let mut a = PayAnswer::from_outcome(&outcome);
                if !matches!(recorded, Ok(Ok(()))) {
                    let why = match recorded {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("no answer within {} ms", left.as_millis()),
                    };
                    a.reason = format!("{}; the answer was not recorded for retries ({why})", a.reason);
                }
                a.sent = true;
                a
            }
        };
        answer.operation = Some(operation.name());
        answer.idempotency_key = Some(key.as_str().to_owned());
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_in_both_formats() {
        let e = parse_expiry(b"0731").unwrap();
        assert_eq!((e.month(), e.year()), (7, 2031));
        let e = parse_expiry(b"122030").unwrap();
        assert_eq!((e.month(), e.year()), (12, 2030));
        for bad in [&b"1331"[..], b"0031", b"731", b"07-31", b"07310", b"", b"1221999"] {
            assert!(parse_expiry(bad).is_none(), "{bad:?}");
        }
    }
}
