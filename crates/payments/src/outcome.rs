//! What a connector answers: a closed set of outcomes with serde names.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::request::is_opaque;

/// The longest gateway identifier accepted (Stripe's idempotency and object IDs are far shorter).
pub const MAX_OPAQUE_ID_LEN: usize = 255;

/// A gateway's identifier (payment ID, token, decline code), passed on verbatim: only
/// `[A-Za-z0-9_-]`, 1..=255 characters. Anything else from a gateway is refused (`Error{InvalidAnswer}`),
/// so no gateway can put text of its choosing into the contact flow.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpaqueId(String);

/// A value that is not an [`OpaqueId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotOpaque;

impl fmt::Display for NotOpaque {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not 1 to 255 characters of [A-Za-z0-9_-]")
    }
}

impl std::error::Error for NotOpaque {}

impl OpaqueId {
    /// Checks the alphabet and length.
    pub fn new(id: &str) -> Result<Self, NotOpaque> {
        if is_opaque(id, MAX_OPAQUE_ID_LEN) { Ok(Self(id.to_owned())) } else { Err(NotOpaque) }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OpaqueId {
    type Error = NotOpaque;
    fn try_from(s: String) -> Result<Self, NotOpaque> {
        if is_opaque(&s, MAX_OPAQUE_ID_LEN) { Ok(Self(s)) } else { Err(NotOpaque) }
    }
}

impl From<OpaqueId> for String {
    fn from(id: OpaqueId) -> Self {
        id.0
    }
}

impl fmt::Display for OpaqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a connector answered [`Outcome::Error`]: not approved. Every kind but `InvalidAnswer` means
/// nothing was charged as far as this process can know (anything that might have moved money
/// without a final answer is [`Outcome::Unknown`]); `InvalidAnswer` is a gateway that answered but
/// broke the contract, an incident to reconcile by the idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401 or 403: the signature secret or API key was refused.
    Unauthorized,
    /// Another 4xx (a bad request, a conflicting idempotency key): refused, nothing done.
    Rejected,
    /// 429 on every attempt until the deadline: refused, nothing done.
    RateLimited,
    /// A 200 whose body, status or identifiers break the contract (an ID outside `[A-Za-z0-9_-]`,
    /// an unknown status, an answer for the other operation).
    InvalidAnswer,
    /// No request was ever written (connection refused, DNS, TLS handshake) until the deadline.
    Unreachable,
    /// This connector cannot send this request (Stripe needs the expiry), or the body would not fit.
    Unsupported,
}

impl ErrorKind {
    /// The serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Rejected => "rejected",
            Self::RateLimited => "rate_limited",
            Self::InvalidAnswer => "invalid_answer",
            Self::Unreachable => "unreachable",
            Self::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connector's answer.
///
/// Serialised internally tagged: `{"status":"authorized","payment_id":"pi_1"}`, `{"status":"unknown"}`,
/// `{"status":"error","kind":"unauthorized"}`, so a stored first answer can be replayed verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The gateway authorized (or charged) the amount.
    Authorized {
        /// The gateway's payment ID.
        payment_id: OpaqueId,
    },
    /// The gateway stored the card.
    Tokenized {
        /// The gateway's token.
        token: OpaqueId,
    },
    /// The gateway declined; nothing charged.
    Declined {
        /// The gateway's decline code, when it gave one.
        decline_code: Option<OpaqueId>,
    },
    /// The request may have reached the gateway and no definite answer came back (timeout,
    /// connection lost after sending, 5xx until the deadline). Money may have moved: never report
    /// this as "not charged".
    Unknown,
    /// Refused or failed with nothing charged.
    Error {
        /// Why.
        kind: ErrorKind,
    },
}

impl Outcome {
    /// The `PaymentStatus` value for the contact flow.
    pub fn status_str(&self) -> &'static str {
        match self {
            Self::Authorized { .. } => "Authorized",
            Self::Tokenized { .. } => "Tokenized",
            Self::Declined { .. } => "Declined",
            Self::Unknown => "Unknown",
            Self::Error { .. } => "Error",
        }
    }

    /// The contact-flow response fields for this outcome, in order: `PaymentStatus`, then
    /// `PaymentId` (authorized), `PaymentToken` (tokenized) or `DeclineCode` (declined, when the
    /// gateway gave one). The only place an outcome becomes response strings; names and values
    /// use only `A-Z a-z 0-9 _ -`. (`NotAttempted` and the Lambda's own `ErrorCode` are the
    /// Lambda's: no connector was called for them.)
    pub fn response_fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![(response::PAYMENT_STATUS, self.status_str().to_owned())];
        match self {
            Self::Authorized { payment_id } => out.push((response::PAYMENT_ID, payment_id.as_str().to_owned())),
            Self::Tokenized { token } => out.push((response::PAYMENT_TOKEN, token.as_str().to_owned())),
            Self::Declined { decline_code: Some(code) } => out.push((response::DECLINE_CODE, code.as_str().to_owned())),
            Self::Declined { decline_code: None } | Self::Unknown | Self::Error { .. } => {}
        }
        out
    }

    pub(crate) fn error(kind: ErrorKind) -> Self {
        Self::Error { kind }
    }
}

/// The response keys of a payment (issue 13), and the status for a call that was never made.
pub mod response {
    /// `Authorized` | `Tokenized` | `Declined` | `Unknown` | `NotAttempted` | `Error`.
    pub const PAYMENT_STATUS: &str = "PaymentStatus";
    /// The gateway's `payment_id`, verbatim.
    pub const PAYMENT_ID: &str = "PaymentId";
    /// The gateway's `token`, verbatim.
    pub const PAYMENT_TOKEN: &str = "PaymentToken";
    /// The gateway's `decline_code`, verbatim.
    pub const DECLINE_CODE: &str = "DeclineCode";
    /// `PaymentStatus` when no connector was called (a value was not `Valid`).
    pub const NOT_ATTEMPTED: &str = "NotAttempted";
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Authorized { payment_id } => write!(f, "authorized ({payment_id})"),
            Self::Tokenized { token } => write!(f, "tokenized ({token})"),
            Self::Declined { decline_code: Some(code) } => write!(f, "declined ({code})"),
            Self::Declined { decline_code: None } => f.write_str("declined"),
            Self::Unknown => f.write_str("unknown (possibly sent, no answer)"),
            Self::Error { kind } => write!(f, "error ({kind})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_ids_take_only_the_safe_alphabet() {
        assert!(OpaqueId::new("pi_3Kmn-T_J").is_ok());
        for bad in ["", "a b", "a\"b", "a<b>", "é", "a\nb", "a.b", "a/b"] {
            assert_eq!(OpaqueId::new(bad), Err(NotOpaque), "{bad:?}");
        }
        assert_eq!(OpaqueId::new(&"a".repeat(256)), Err(NotOpaque));
        assert!(serde_json::from_str::<OpaqueId>("\"a b\"").is_err());
    }

    #[test]
    fn serde_names_round_trip() {
        let cases = [
            (
                Outcome::Authorized { payment_id: OpaqueId::new("pi_1").unwrap() },
                r#"{"status":"authorized","payment_id":"pi_1"}"#,
            ),
            (Outcome::Tokenized { token: OpaqueId::new("pm_1").unwrap() }, r#"{"status":"tokenized","token":"pm_1"}"#),
            (
                Outcome::Declined { decline_code: Some(OpaqueId::new("insufficient_funds").unwrap()) },
                r#"{"status":"declined","decline_code":"insufficient_funds"}"#,
            ),
            (Outcome::Declined { decline_code: None }, r#"{"status":"declined","decline_code":null}"#),
            (Outcome::Unknown, r#"{"status":"unknown"}"#),
            (Outcome::Error { kind: ErrorKind::RateLimited }, r#"{"status":"error","kind":"rate_limited"}"#),
        ];
        for (outcome, json) in cases {
            assert_eq!(serde_json::to_string(&outcome).unwrap(), json);
            assert_eq!(serde_json::from_str::<Outcome>(json).unwrap(), outcome);
        }
    }

    #[test]
    fn response_fields_per_outcome() {
        let id = |s| OpaqueId::new(s).unwrap();
        let fields = |o: Outcome| o.response_fields();
        let pairs = |v: &[(&'static str, &str)]| v.iter().map(|(k, v)| (*k, (*v).to_owned())).collect::<Vec<_>>();
        assert_eq!(
            fields(Outcome::Authorized { payment_id: id("pi_1") }),
            pairs(&[("PaymentStatus", "Authorized"), ("PaymentId", "pi_1")])
        );
        assert_eq!(
            fields(Outcome::Tokenized { token: id("pm_1") }),
            pairs(&[("PaymentStatus", "Tokenized"), ("PaymentToken", "pm_1")])
        );
        assert_eq!(
            fields(Outcome::Declined { decline_code: Some(id("insufficient_funds")) }),
            pairs(&[("PaymentStatus", "Declined"), ("DeclineCode", "insufficient_funds")])
        );
        assert_eq!(fields(Outcome::Declined { decline_code: None }), pairs(&[("PaymentStatus", "Declined")]));
        assert_eq!(fields(Outcome::Unknown), pairs(&[("PaymentStatus", "Unknown")]));
        assert_eq!(fields(Outcome::Error { kind: ErrorKind::Rejected }), pairs(&[("PaymentStatus", "Error")]));
    }

    #[test]
    fn error_kind_as_str_is_the_serde_name() {
        for kind in [
            ErrorKind::Unauthorized,
            ErrorKind::Rejected,
            ErrorKind::RateLimited,
            ErrorKind::InvalidAnswer,
            ErrorKind::Unreachable,
            ErrorKind::Unsupported,
        ] {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.as_str()));
        }
    }
}
