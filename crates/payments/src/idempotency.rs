//! The idempotency key: one per (contact, operation, amount, card), unguessable without the secret.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::request::PaymentRequest;
use crate::secret::ConnectorSecret;

type HmacSha256 = Hmac<Sha256>;

/// The label the keyer's own key is derived under (domain separation from the request signatures,
/// which use the secret itself).
const KEYER_LABEL: &[u8] = b"secure-ivr/payments/idempotency-key/v1";
/// Prefix of every key: names the derivation, so a future change cannot collide with today's keys.
pub const KEY_PREFIX: &str = "sivr1_";

/// Derives idempotency keys from a key of its own, wiped on drop.
///
/// Key choice: `K = HMAC-SHA256(connector secret, "secure-ivr/payments/idempotency-key/v1")`. The
/// Lambda already holds the connector secret, so no second secret has to be provisioned, and
/// whoever lacks the secret cannot test guesses of a card number against a key they saw (a plain
/// hash of a 16-digit PAN with a known BIN and Luhn digit falls to a few billion guesses).
pub struct IdempotencyKeyer {
    key: Zeroizing<[u8; 32]>,
}

impl IdempotencyKeyer {
    /// The keyer for this connector secret.
    pub fn from_secret(secret: &ConnectorSecret) -> Self {
        let tag = hmac(secret.expose(), &[KEYER_LABEL]);
        Self { key: tag }
    }

    /// The key for `request`:
    /// `"sivr1_" + hex(HMAC(K, "key" ‖ contact ‖ operation ‖ amount ‖ currency ‖ HMAC(K, "card" ‖ number)))`,
    /// every field length-prefixed (so no two field lists encode alike). Expiry and security code
    /// are left out on purpose: a caller who re-keys the same card for the same contact and amount
    /// is the same payment.
    pub fn key(&self, request: &PaymentRequest) -> IdempotencyKey {
        let card_tag = hmac(self.key.as_slice(), &[b"card", request.card().number().expose_digits()]);
        let operation = request.operation();
        let (value, currency) = match operation.amount() {
            Some(a) => (Zeroizing::new(a.value().to_be_bytes()), a.currency().as_str()),
            None => (Zeroizing::new([0u8; 8]), ""),
        };
        let tag = hmac(
            self.key.as_slice(),
            &[
                b"key",
                request.contact_id().as_str().as_bytes(),
                operation.name().as_bytes(),
                value.as_slice(),
                currency.as_bytes(),
                card_tag.as_slice(),
            ],
        );
        IdempotencyKey(format!("{KEY_PREFIX}{}", hex::encode(tag.as_slice())))
    }
}

impl fmt::Debug for IdempotencyKeyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdempotencyKeyer([REDACTED])")
    }
}

/// HMAC-SHA256 over length-prefixed fields (each as a 4-byte big-endian length, then the bytes).
fn hmac(key: &[u8], fields: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length; the error branch cannot happen for HMAC, so it yields a
    // fixed value rather than a panic path.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Zeroizing::new([0u8; 32]);
    };
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        mac.update(&len.to_be_bytes());
        mac.update(field);
    }
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// An idempotency key: `sivr1_` and 64 lowercase hex digits. Safe to log and to send (it reveals
/// nothing about the card without the connector secret).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;
    use crate::request::{Amount, CardData, CardNumber, ContactId, Cvc, Expiry, Operation};

    fn request(contact: &str, op: Operation, number: &[u8]) -> PaymentRequest {
        PaymentRequest::new(
            ContactId::new(contact).unwrap(),
            op,
            CardData::new(CardNumber::new(number).unwrap(), Some(Expiry::new(12, 2030).unwrap()), None),
        )
    }

    fn auth(value: u64, currency: &str) -> Operation {
        Operation::Authorize(Amount::new(value, Currency::parse(currency).unwrap()).unwrap())
    }

    #[test]
    fn same_inputs_same_key_and_each_input_changes_it() {
        let keyer = IdempotencyKeyer::from_secret(&ConnectorSecret::new(b"secret-1").unwrap());
        let base = keyer.key(&request("c1", auth(1250, "GBP"), b"5555555555554444"));
        assert_eq!(base, keyer.key(&request("c1", auth(1250, "GBP"), b"5555555555554444")));
        assert!(base.as_str().starts_with(KEY_PREFIX));
        assert_eq!(base.as_str().len(), KEY_PREFIX.len() + 64);
        let others = [
            keyer.key(&request("c2", auth(1250, "GBP"), b"5555555555554444")),
            keyer.key(&request("c1", auth(1251, "GBP"), b"5555555555554444")),
            keyer.key(&request("c1", auth(1250, "EUR"), b"5555555555554444")),
            keyer.key(&request("c1", Operation::Tokenize, b"5555555555554444")),
            keyer.key(&request("c1", auth(1250, "GBP"), b"4242424242424242")),
            IdempotencyKeyer::from_secret(&ConnectorSecret::new(b"secret-2").unwrap()).key(&request(
                "c1",
                auth(1250, "GBP"),
                b"5555555555554444",
            )),
        ];
        for other in &others {
            assert_ne!(&base, other);
        }
    }

    #[test]
    fn expiry_and_cvc_do_not_change_the_key() {
        let keyer = IdempotencyKeyer::from_secret(&ConnectorSecret::new(b"s").unwrap());
        let a = request("c1", auth(5, "USD"), b"4242424242424242");
        let b = PaymentRequest::new(
            ContactId::new("c1").unwrap(),
            auth(5, "USD"),
            CardData::new(CardNumber::new(b"4242424242424242").unwrap(), None, Some(Cvc::new(b"123").unwrap())),
        );
        assert_eq!(keyer.key(&a), keyer.key(&b));
    }

    #[test]
    fn the_key_is_not_a_plain_hash_of_the_card() {
        use sha2::Digest as _;
        let keyer = IdempotencyKeyer::from_secret(&ConnectorSecret::new(b"s").unwrap());
        let key = keyer.key(&request("c1", Operation::Tokenize, b"4242424242424242"));
        let plain = hex::encode(Sha256::digest(b"4242424242424242"));
        assert!(!key.as_str().contains(&plain));
        assert!(!key.as_str().contains("4242"));
    }
}
