//! The connector trait every gateway implements.

use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

use crate::idempotency::IdempotencyKey;
use crate::outcome::Outcome;
use crate::request::PaymentRequest;

/// A boxed, sendable future (keeps [`Connector`] usable as `dyn Connector`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A payment gateway.
///
/// `execute` sends `request` with `key` as its idempotency key and answers by `deadline` (plus
/// scheduling slack) whatever the gateway does. Retries reuse `key`. It never panics and never
/// returns an error type: every failure is an [`Outcome`], by this rule:
/// - nothing written (connection refused, DNS, TLS handshake) until the deadline: `Error{Unreachable}`;
/// - possibly written and no final answer (lost connection, timeout, 5xx to the end): `Unknown`;
/// - a final answer: mapped by the connector (authorized, tokenized, declined, or an error kind).
///
/// A deadline already past sends nothing (`Error{Unreachable}`). Runs on a tokio runtime (each
/// attempt's connection is driven by a task it spawns and aborts).
pub trait Connector: Send + Sync {
    /// The configuration name (`http`, `stripe`).
    fn name(&self) -> &'static str;

    /// Sends the request; see the trait's rule.
    fn execute<'a>(
        &'a self,
        request: &'a PaymentRequest,
        key: &'a IdempotencyKey,
        deadline: Instant,
    ) -> BoxFuture<'a, Outcome>;
}
