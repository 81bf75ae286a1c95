//! What a payment needs besides the connector: the connector secret (Secrets Manager) and the
//! replay record (DynamoDB). Traits here, so the handler is tested with the in-memory versions
//! below and the Lambda runs with the AWS ones (`aws.rs`, behind the `runtime` feature).

use std::collections::HashMap;
use std::sync::Mutex;

use payments::{BoxFuture, ConnectorSecret, Outcome};

/// Why a secret or a replay record could not be used. The message names the resource and the
/// service's error code, never a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The service could not be reached in time, or throttled: nothing was sent to the gateway.
    Unavailable(String),
    /// The role may not read the secret or write the table: a misconfiguration.
    AccessDenied(String),
    /// The secret or table does not exist, or the secret has no usable `SecretString`.
    Invalid(String),
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unavailable(m) => write!(f, "unavailable: {m}"),
            Self::AccessDenied(m) => write!(f, "access denied: {m}"),
            Self::Invalid(m) => write!(f, "unusable: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Reads the connector secret (`SecretString` of a Secrets Manager secret).
pub trait SecretSource: Send + Sync {
    /// The current value of the secret `arn`.
    fn secret<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<ConnectorSecret, StoreError>>;
}

/// One card message, about to be sent: its ESDK message ID (lowercase hex) and the contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The ESDK message ID of the card's ciphertext, lowercase hex.
    pub message_id: String,
    /// The contact it arrived in.
    pub contact_id: String,
    /// Unix seconds now.
    pub now_unix: u64,
    /// Unix seconds when the record may be deleted (the table's TTL attribute).
    pub expires_unix: u64,
}

/// What the replay record says about a card message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// First use: recorded now.
    First,
    /// Already used in this contact (a retry of the same invocation): its first answer, once
    /// recorded. `None` while the first call has not recorded one (still running, or the process
    /// stopped): the caller sends again with the same idempotency key, which the gateway answers
    /// with its first answer.
    SameContact(Option<Outcome>),
    /// Already used in another contact: a replayed ciphertext. Nothing may be sent.
    OtherContact,
}

/// Records each card message once (`MessageId` partition key, conditional put).
pub trait ReplayStore: Send + Sync {
    /// Records `claim` unless its message ID is recorded already, and says which.
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Claimed, StoreError>>;

    /// Stores the gateway's answer beside the claim, for a retry in the same contact.
    fn record<'a>(&'a self, claim: &'a Claim, outcome: &'a Outcome) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// A secret held in memory (tests, benchmarks, local demos). Counts its reads.
pub struct MemorySecret {
    value: Mutex<Result<ConnectorSecret, StoreError>>,
    reads: std::sync::atomic::AtomicUsize,
}

impl MemorySecret {
    /// A source answering `secret` for every ARN.
    pub fn new(secret: ConnectorSecret) -> Self {
        Self { value: Mutex::new(Ok(secret)), reads: 0.into() }
    }

    /// Changes the answer (a rotated secret, or a failure).
    pub fn set(&self, value: Result<ConnectorSecret, StoreError>) {
        *self.value.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = value;
    }

    /// How many times the secret was read.
    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl SecretSource for MemorySecret {
    fn secret<'a>(&'a self, _arn: &'a str) -> BoxFuture<'a, Result<ConnectorSecret, StoreError>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let value = self.value.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        Box::pin(async move { value })
    }
}

/// A replay table in memory, with DynamoDB's conditional-put semantics (tests).
#[derive(Default)]
pub struct MemoryReplay {
    items: Mutex<HashMap<String, (String, Option<Outcome>)>>,
    fail: Mutex<Option<StoreError>>,
}

impl MemoryReplay {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call fail with `error` (None: work again).
    pub fn fail_with(&self, error: Option<StoreError>) {
        *self.fail.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = error;
    }

    /// The recorded contact and answer of a message ID.
    pub fn get(&self, message_id: &str) -> Option<(String, Option<Outcome>)> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(message_id).cloned()
    }

    /// How many messages are recorded.
    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// No message recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn failure(&self) -> Option<StoreError> {
        self.fail.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ReplayStore for MemoryReplay {
    fn claim<'a>(&'a self, claim: &'a Claim) -> BoxFuture<'a, Result<Claimed, StoreError>> {
        let result = match self.failure() {
            Some(e) => Err(e),
            None => {
                let mut items = self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(match items.get(&claim.message_id) {
                    None => {
                        items.insert(claim.message_id.clone(), (claim.contact_id.clone(), None));
                        Claimed::First
                    }
                    Some((contact, first)) if *contact == claim.contact_id => Claimed::SameContact(first.clone()),
                    Some(_) => Claimed::OtherContact,
                })
            }
        };
        Box::pin(async move { result })
    }

    fn record<'a>(&'a self, claim: &'a Claim, outcome: &'a Outcome) -> BoxFuture<'a, Result<(), StoreError>> {
        let result = match self.failure() {
            Some(e) => Err(e),
            None => {
                let mut items = self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match items.get_mut(&claim.message_id) {
                    Some((contact, first)) if *contact == claim.contact_id => {
                        *first = Some(outcome.clone());
                        Ok(())
                    }
                    _ => Err(StoreError::Invalid(format!("no claim of {} by this contact", claim.message_id))),
                }
            }
        };
        Box::pin(async move { result })
    }
}
