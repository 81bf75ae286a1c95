#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::indexing_slicing)]

mod connector;
mod currency;
mod error;
pub mod generic;
mod idempotency;
mod outcome;
mod request;
mod secret;
pub mod stripe;
mod transport;

/// The connectors' bounds (one home: the Lambda and the benchmarks read them from here).
pub mod limits {
    pub use crate::transport::{CONNECT_TIMEOUT, FIRST_BACKOFF, MAX_ANSWER_LEN, MAX_ATTEMPTS, MIN_ATTEMPT_TIME};
}
mod url;

pub use connector::{BoxFuture, Connector};
pub use currency::Currency;
pub use error::{ConfigError, RequestError};
pub use generic::HttpConnector;
pub use idempotency::{IdempotencyKey, IdempotencyKeyer, KEY_PREFIX};
pub use outcome::{ErrorKind, MAX_OPAQUE_ID_LEN, NotOpaque, OpaqueId, Outcome, response};
pub use request::{
    Amount, CARD_NUMBER_LEN, CardData, CardNumber, ContactId, Cvc, Expiry, MAX_AMOUNT, MAX_CONTACT_ID_LEN, Operation,
    PaymentRequest, parameter,
};
pub use secret::{ConnectorSecret, MAX_SECRET_LEN};
pub use stripe::{Capture, StripeConnector};
pub use url::EndpointUrl;
