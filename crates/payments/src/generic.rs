//! The generic HTTPS connector: the signed JSON contract in the crate README, for a merchant's own
//! payment service or a PCI vault proxy.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::Full;
use serde::Deserialize;
use sha2::Sha256;
use tokio::time::Instant;

use crate::connector::{BoxFuture, Connector};
use crate::error::ConfigError;
use crate::idempotency::IdempotencyKey;
use crate::outcome::{ErrorKind, OpaqueId, Outcome};
use crate::request::{Operation, PaymentRequest};
use crate::secret::{ConnectorSecret, Overflow, SecretBuf};
use crate::transport::{Answer, Delivery, Roots, Transport};
use crate::url::EndpointUrl;

/// The contract's version, sent as `"version"` in the body.
pub const CONTRACT_VERSION: &str = "1";
/// Header names of the contract.
pub mod headers {
    /// The idempotency key (same on every retry).
    pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
    /// Unix seconds when this attempt was signed.
    pub const TIMESTAMP: &str = "x-secure-ivr-timestamp";
    /// `v1=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`.
    pub const SIGNATURE: &str = "x-secure-ivr-signature";
}
/// Room for the largest body: fixed text, a 256-character contact ID, the key, 19 digits, a 4-digit cvc.
const BODY_CAPACITY: usize = 1024;

/// The generic connector. Build once at cold start; cheap to share.
#[derive(Clone)]
pub struct HttpConnector {
    url: EndpointUrl,
    secret: ConnectorSecret,
    transport: Transport,
}

impl std::fmt::Debug for HttpConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConnector").field("url", &self.url).field("secret", &self.secret).finish_non_exhaustive()
    }
}

impl HttpConnector {
    /// `url` is the merchant endpoint; `secret` the HMAC key shared with it.
    pub fn new(url: EndpointUrl, secret: ConnectorSecret) -> Result<Self, ConfigError> {
        let transport = Transport::new(&url, Roots::System)?;
        Ok(Self { url, secret, transport })
    }

    /// As [`new`](Self::new), trusting only `roots` (DER certificates of the CAs the endpoint's
    /// certificate chains to) instead of the system's store: a merchant service or PCI vault
    /// proxy on a private CA, or a pinned CA. No root, or one rustls cannot parse, is `TlsRoots`.
    pub fn with_trusted_roots(
        url: EndpointUrl,
        secret: ConnectorSecret,
        roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Self, ConfigError> {
        let transport = Transport::new(&url, Roots::Only(roots))?;
        Ok(Self { url, secret, transport })
    }

    /// The same endpoint and TLS setup with another secret (a refreshed Secrets Manager value),
    /// without reloading the trust store.
    pub fn with_secret(&self, secret: ConnectorSecret) -> Self {
        Self { url: self.url.clone(), secret, transport: self.transport.clone() }
    }

    async fn run(&self, request: &PaymentRequest, key: &IdempotencyKey, deadline: Instant) -> Outcome {
        let Ok(body) = json_body(request, key) else { return Outcome::error(ErrorKind::Unsupported) };
        let body = body.into_bytes();
        let build = || self.signed_request(&body, key);
        let delivery = self.transport.send(&self.url, build, deadline).await;
        // `body` (the last reference to the wiping buffer, once hyper dropped its clones) goes here.
        drop(body);
        match delivery {
            Delivery::Answer(answer) => map_answer(request.operation(), &answer),
            Delivery::NotSent => Outcome::error(ErrorKind::Unreachable),
            Delivery::Unknown => Outcome::Unknown,
        }
    }

    /// One attempt's request: a fresh timestamp and signature over the same body bytes.
    fn signed_request(&self, body: &Bytes, key: &IdempotencyKey) -> Option<Request<Full<Bytes>>> {
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs().to_string();
        let signature = format!("v1={}", sign(self.secret.expose(), &timestamp, body));
        let authority = self.url.authority()?.as_str();
        Request::builder()
            .method(Method::POST)
            .uri(self.url.path_and_query())
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .header(headers::IDEMPOTENCY_KEY, key.as_str())
            .header(headers::TIMESTAMP, timestamp)
            .header(headers::SIGNATURE, HeaderValue::from_str(&signature).ok()?)
            .body(Full::new(body.clone()))
            .ok()
    }
}

impl Connector for HttpConnector {
    fn name(&self) -> &'static str {
        "http"
    }

    fn execute<'a>(
        &'a self,
        request: &'a PaymentRequest,
        key: &'a IdempotencyKey,
        deadline: Instant,
    ) -> BoxFuture<'a, Outcome> {
        Box::pin(self.run(request, key, deadline))
    }
}

/// `hex(HMAC-SHA256(secret, "<timestamp>.<body>"))`, fed in pieces (no joined copy of the body).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The contract's body, written by hand into a fixed-capacity wiping buffer. Every value is from a
/// checked alphabet (digits, `[A-Za-z0-9_-]`, ISO codes), so nothing needs JSON escaping.
fn json_body(request: &PaymentRequest, key: &IdempotencyKey) -> Result<SecretBuf, Overflow> {
    let mut b = SecretBuf::with_capacity(BODY_CAPACITY);
    b.push_str("{\"version\":\"")?;
    b.push_str(CONTRACT_VERSION)?;
    b.push_str("\",\"operation\":\"")?;
    b.push_str(request.operation().name())?;
    b.push_str("\",\"contact_id\":\"")?;
    b.push_str(request.contact_id().as_str())?;
    b.push_str("\",\"idempotency_key\":\"")?;
    b.push_str(key.as_str())?;
    b.push_str("\"")?;
    if let Operation::Authorize(amount) = request.operation() {
        b.push_str(",\"amount\":{\"value\":")?;
        b.push_u64(amount.value())?;
        b.push_str(",\"currency\":\"")?;
        b.push_str(amount.currency().as_str())?;
        b.push_str("\"}")?;
    }
    let card = request.card();
    b.push_str(",\"card\":{\"number\":\"")?;
    b.push(card.number().expose_digits())?;
    b.push_str("\"")?;
    if let Some(expiry) = card.expiry() {
        b.push_str(",\"exp_month\":")?;
        b.push_u64(u64::from(expiry.month()))?;
        b.push_str(",\"exp_year\":")?;
        b.push_u64(u64::from(expiry.year()))?;
    }
    if let Some(cvc) = card.cvc() {
        b.push_str(",\"cvc\":\"")?;
        b.push(cvc.expose_digits())?;
        b.push_str("\"")?;
    }
    b.push_str("}}")?;
    Ok(b)
}

#[derive(Deserialize)]
struct WireAnswer {
    status: String,
    payment_id: Option<String>,
    token: Option<String>,
    decline_code: Option<String>,
}

/// The contract's answer rule: 200 with `authorized` (authorize) / `tokenized` (tokenize) /
/// `declined`; 401/403 unauthorized; 429 rate limited; 409 (key reused with another body, or in
/// flight) and another 2xx possibly processed (Unknown); any other status rejected.
fn map_answer(operation: Operation, answer: &Answer) -> Outcome {
    match answer.status {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Outcome::error(ErrorKind::Unauthorized),
        StatusCode::TOO_MANY_REQUESTS => return Outcome::error(ErrorKind::RateLimited),
        // The key was seen with another body, or is in flight: a payment under it may exist.
        StatusCode::CONFLICT => return Outcome::Unknown,
        s if s.is_success() => return Outcome::Unknown,
        _ => return Outcome::error(ErrorKind::Rejected),
    }
    let invalid = Outcome::error(ErrorKind::InvalidAnswer);
    let Ok(wire) = serde_json::from_slice::<WireAnswer>(&answer.body) else { return invalid };
    let id = |v: Option<String>| v.and_then(|s| OpaqueId::try_from(s).ok());
    match (wire.status.as_str(), operation) {
        ("authorized", Operation::Authorize(_)) => {
            id(wire.payment_id).map_or(invalid, |payment_id| Outcome::Authorized { payment_id })
        }
        ("tokenized", Operation::Tokenize) => id(wire.token).map_or(invalid, |token| Outcome::Tokenized { token }),
        ("declined", _) => match wire.decline_code {
            None => Outcome::Declined { decline_code: None },
            Some(code) => id(Some(code)).map_or(invalid, |c| Outcome::Declined { decline_code: Some(c) }),
        },
        _ => invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Amount, CardData, CardNumber, ContactId, Currency, Cvc, Expiry, IdempotencyKeyer};

    fn request(op: Operation, expiry: bool, cvc: bool) -> PaymentRequest {
        PaymentRequest::new(
            ContactId::new("c-1").unwrap(),
            op,
            CardData::new(
                CardNumber::new(b"5555555555554444").unwrap(),
                expiry.then(|| Expiry::new(12, 2030).unwrap()),
                cvc.then(|| Cvc::new(b"123").unwrap()),
            ),
        )
    }

    fn key(r: &PaymentRequest) -> IdempotencyKey {
        IdempotencyKeyer::from_secret(&ConnectorSecret::new(b"k").unwrap()).key(r)
    }

    #[test]
    fn body_is_the_contract_json() {
        let op = Operation::Authorize(Amount::new(1250, Currency::parse("GBP").unwrap()).unwrap());
        let r = request(op, true, true);
        let k = key(&r);
        let body = json_body(&r, &k).unwrap();
        let v: serde_json::Value = serde_json::from_slice(body.as_slice()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":"1","operation":"authorize","contact_id":"c-1","idempotency_key":k.as_str(),
                "amount":{"value":1250,"currency":"GBP"},
                "card":{"number":"5555555555554444","exp_month":12,"exp_year":2030,"cvc":"123"}})
        );
    }

    #[test]
    fn tokenize_body_has_no_amount_and_absent_fields_are_absent() {
        let r = request(Operation::Tokenize, false, false);
        let k = key(&r);
        let v: serde_json::Value = serde_json::from_slice(json_body(&r, &k).unwrap().as_slice()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":"1","operation":"tokenize","contact_id":"c-1","idempotency_key":k.as_str(),
                "card":{"number":"5555555555554444"}})
        );
    }

    #[test]
    fn the_largest_body_fits() {
        let r = PaymentRequest::new(
            ContactId::new(&"c".repeat(256)).unwrap(),
            Operation::Authorize(Amount::new(crate::MAX_AMOUNT, Currency::parse("GBP").unwrap()).unwrap()),
            CardData::new(
                CardNumber::new(b"5555555555554444123").unwrap(),
                Some(Expiry::new(12, 2030).unwrap()),
                Some(Cvc::new(b"1234").unwrap()),
            ),
        );
        assert!(json_body(&r, &key(&r)).is_ok());
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        // Known answer from Python's hmac module (the README's reference verifier):
        // hmac.new(b"Jefe", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
        assert_eq!(
            sign(b"Jefe", "1700000000", b"{\"a\":1}"),
            "fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
        assert_ne!(sign(b"Jefe", "1700000001", b"{\"a\":1}"), sign(b"Jefe", "1700000000", b"{\"a\":1}"));
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer { status: StatusCode::from_u16(status).unwrap(), body: Bytes::copy_from_slice(body.as_bytes()) }
    }

    #[test]
    fn answers_map_by_the_contract() {
        let auth = Operation::Authorize(Amount::new(1, Currency::parse("USD").unwrap()).unwrap());
        let tok = Operation::Tokenize;
        let id = |s| OpaqueId::new(s).unwrap();
        let cases = [
            (
                auth,
                answer(200, r#"{"status":"authorized","payment_id":"pay_1"}"#),
                Outcome::Authorized { payment_id: id("pay_1") },
            ),
            (tok, answer(200, r#"{"status":"tokenized","token":"tok_1"}"#), Outcome::Tokenized { token: id("tok_1") }),
            (
                auth,
                answer(200, r#"{"status":"declined","decline_code":"do_not_honor"}"#),
                Outcome::Declined { decline_code: Some(id("do_not_honor")) },
            ),
            (auth, answer(200, r#"{"status":"declined"}"#), Outcome::Declined { decline_code: None }),
            (
                auth,
                answer(200, r#"{"status":"authorized","payment_id":"pay 1"}"#),
                Outcome::error(ErrorKind::InvalidAnswer),
            ),
            (auth, answer(200, r#"{"status":"authorized"}"#), Outcome::error(ErrorKind::InvalidAnswer)),
            (auth, answer(200, r#"{"status":"tokenized","token":"tok_1"}"#), Outcome::error(ErrorKind::InvalidAnswer)),
            (tok, answer(200, r#"{"status":"authorized","payment_id":"p"}"#), Outcome::error(ErrorKind::InvalidAnswer)),
            (
                auth,
                answer(200, r#"{"status":"declined","decline_code":"<script>"}"#),
                Outcome::error(ErrorKind::InvalidAnswer),
            ),
            (auth, answer(200, r#"{"status":"approved"}"#), Outcome::error(ErrorKind::InvalidAnswer)),
            (auth, answer(200, "not json"), Outcome::error(ErrorKind::InvalidAnswer)),
            (auth, answer(202, ""), Outcome::Unknown),
            (auth, answer(401, ""), Outcome::error(ErrorKind::Unauthorized)),
            (auth, answer(403, ""), Outcome::error(ErrorKind::Unauthorized)),
            (auth, answer(429, ""), Outcome::error(ErrorKind::RateLimited)),
            (auth, answer(409, ""), Outcome::Unknown),
            (auth, answer(400, ""), Outcome::error(ErrorKind::Rejected)),
            (auth, answer(302, ""), Outcome::error(ErrorKind::Rejected)),
        ];
        for (op, a, expected) in cases {
            assert_eq!(map_answer(op, &a), expected, "{} {:?}", a.status, a.body);
        }
    }
}
