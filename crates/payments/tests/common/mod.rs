//! The connector tests' request parts, and the loopback HTTP/1.1 server (now in test-support, which
//! the Lambda's payment tests share).
#![allow(dead_code, unreachable_pub)]
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

use std::time::Duration;

use payments::{CardData, CardNumber, ContactId, Cvc, Expiry, Operation, PaymentRequest};

/// The card every test sends; the leak checks look for these digits.
pub const CARD: &[u8] = b"5555555555554444";
pub const CVC: &[u8] = b"123";

#[allow(unused_imports)]
pub use test_support::loopback::{Received, Reply, Server};

pub fn contact() -> ContactId {
    ContactId::new("0b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b").expect("contact id")
}

pub fn card() -> CardData {
    CardData::new(
        CardNumber::new(CARD).expect("card"),
        Some(Expiry::new(12, 2030).expect("expiry")),
        Some(Cvc::new(CVC).expect("cvc")),
    )
}

pub fn card_number(digits: &[u8]) -> CardData {
    CardData::new(
        CardNumber::new(digits).expect("card"),
        Some(Expiry::new(12, 2030).expect("expiry")),
        Some(Cvc::new(CVC).expect("cvc")),
    )
}

pub fn authorize(value: u64, currency: &str) -> Operation {
    Operation::from_parameters(Some("authorize"), Some(&value.to_string()), Some(currency)).expect("operation")
}

pub fn request(operation: Operation) -> PaymentRequest {
    PaymentRequest::new(contact(), operation, card())
}

/// A deadline this far from now.
pub fn deadline_in(ms: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_millis(ms)
}
