//! The generic HTTPS connector against a loopback merchant endpoint that verifies the signature
//! and the timestamp window as the README's contract says a merchant must.
//!
//! What this cannot show: TLS (the endpoint is plain http on 127.0.0.1, which the URL rule allows
//! only for loopback); the https path is the same code with rustls under the connection.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions: a panic is a failed test")]

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use payments::{
    Connector, ConnectorSecret, EndpointUrl, ErrorKind, HttpConnector, IdempotencyKeyer, OpaqueId, Operation, Outcome,
};
use serde_json::json;
use sha2::Sha256;

use common::{CARD, Received, Reply, Server, authorize, deadline_in, request};

const SECRET: &[u8] = b"merchant-shared-hmac-key-0123456789";
/// The window a merchant accepts around its own clock.
const WINDOW_SECS: u64 = 300;

/// The merchant's check, written from the contract (not from the connector's code): timestamp
/// within the window, `v1=` + lowercase hex HMAC-SHA256(secret, "<ts>.<raw body>"), compared in
/// constant time.
fn verify(r: &Received, secret: &[u8]) -> Result<(), &'static str> {
    let ts = r.header("x-secure-ivr-timestamp").ok_or("no timestamp")?;
    let ts_num: u64 = ts.parse().map_err(|_| "timestamp not an integer")?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| "clock before 1970")?.as_secs();
    if now.abs_diff(ts_num) > WINDOW_SECS {
        return Err("timestamp outside the window");
    }
    let sig = r.header("x-secure-ivr-signature").ok_or("no signature")?;
    let hex_sig = sig.strip_prefix("v1=").ok_or("not v1")?;
    if hex_sig.len() != 64 || hex_sig.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("not 64 lowercase hex digits");
    }
    let given = hex::decode(hex_sig).map_err(|_| "not hex")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| "bad key")?;
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    mac.verify_slice(&given).map_err(|_| "signature mismatch")
}

/// A merchant that checks every request and answers `answer(request, index)` when it verifies, 401 otherwise.
async fn merchant(answer: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Server {
    Server::start(move |r, i| match verify(r, SECRET) {
        Ok(()) => answer(r, i),
        Err(_) => Reply::Json(401, r#"{"error":"bad signature"}"#.into()),
    })
    .await
}

fn connector(server: &Server, secret: &[u8]) -> HttpConnector {
    HttpConnector::new(EndpointUrl::parse(&server.url("/ivr/pay")).unwrap(), ConnectorSecret::new(secret).unwrap())
        .unwrap()
}

fn keyer() -> IdempotencyKeyer {
    IdempotencyKeyer::from_secret(&ConnectorSecret::new(SECRET).unwrap())
}

fn id(s: &str) -> OpaqueId {
    OpaqueId::new(s).unwrap()
}

/// Every request on the wire: POST to the path, JSON, an exact Content-Length, never chunked.
fn assert_wire_shape(r: &Received) {
    assert_eq!(r.request_line, "POST /ivr/pay HTTP/1.1");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()), "Content-Length present and exact");
    assert_eq!(r.header("transfer-encoding"), None, "no chunked encoding");
    let lengths = r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("content-length")).count();
    assert_eq!(lengths, 1, "exactly one Content-Length");
    assert!(r.header("host").is_some_and(|h| h.starts_with("127.0.0.1:")), "Host header");
}

#[tokio::test]
async fn authorizes_with_a_signed_contract_body() {
    let server = merchant(|_, _| Reply::Json(200, r#"{"status":"authorized","payment_id":"pay_8Hq-1"}"#.into())).await;
    let req = request(authorize(1250, "GBP"));
    let key = keyer().key(&req);
    let outcome = connector(&server, SECRET).execute(&req, &key, deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Authorized { payment_id: id("pay_8Hq-1") });

    let got = server.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_wire_shape(r);
    assert_eq!(r.header("idempotency-key"), Some(key.as_str()));
    assert_eq!(
        r.json(),
        json!({"version":"1","operation":"authorize","contact_id":"0b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
            "idempotency_key": key.as_str(), "amount":{"value":1250,"currency":"GBP"},
            "card":{"number":"5555555555554444","exp_month":12,"exp_year":2030,"cvc":"123"}})
    );
}

#[tokio::test]
async fn tokenizes_without_an_amount() {
    let server = merchant(|_, _| Reply::Json(200, r#"{"status":"tokenized","token":"tok_abc_123"}"#.into())).await;
    let req = request(Operation::Tokenize);
    let key = keyer().key(&req);
    let outcome = connector(&server, SECRET).execute(&req, &key, deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Tokenized { token: id("tok_abc_123") });
    let r = &server.requests()[0];
    assert_wire_shape(r);
    assert_eq!(r.json()["operation"], "tokenize");
    assert!(r.json().get("amount").is_none(), "no amount for tokenize");
}

#[tokio::test]
async fn a_decline_carries_the_gateway_code() {
    let server =
        merchant(|_, _| Reply::Json(200, r#"{"status":"declined","decline_code":"insufficient_funds"}"#.into())).await;
    let req = request(authorize(999, "EUR"));
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Declined { decline_code: Some(id("insufficient_funds")) });
}

#[tokio::test]
async fn a_5xx_is_retried_with_the_same_idempotency_key_and_body() {
    let server = merchant(|_, i| match i {
        0 => Reply::Json(503, r#"{"error":"busy"}"#.into()),
        _ => Reply::Json(200, r#"{"status":"authorized","payment_id":"pay_2"}"#.into()),
    })
    .await;
    let req = request(authorize(1250, "GBP"));
    let key = keyer().key(&req);
    let outcome = connector(&server, SECRET).execute(&req, &key, deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Authorized { payment_id: id("pay_2") });
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("idempotency-key"), Some(key.as_str()));
    assert_eq!(got[1].header("idempotency-key"), got[0].header("idempotency-key"), "same key on the retry");
    assert_eq!(got[1].body, got[0].body, "same body on the retry");
    for r in &got {
        assert_wire_shape(r);
        verify(r, SECRET).expect("each attempt is signed");
    }
}

#[tokio::test]
async fn a_5xx_to_the_end_is_unknown_never_not_charged() {
    let server = merchant(|_, _| Reply::Json(500, "{}".into())).await;
    let req = request(authorize(1250, "GBP"));
    let key = keyer().key(&req);
    let outcome = connector(&server, SECRET).execute(&req, &key, deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Unknown);
    let got = server.requests();
    assert!(got.len() >= 2 && got.len() <= 4, "bounded retries, got {}", got.len());
    assert!(got.iter().all(|r| r.header("idempotency-key") == Some(key.as_str())));
}

#[tokio::test]
async fn a_hung_gateway_is_unknown_by_the_deadline() {
    let server = merchant(|_, _| Reply::Hang).await;
    let req = request(authorize(1250, "GBP"));
    let budget = Duration::from_millis(1500);
    let start = tokio::time::Instant::now();
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), start + budget).await;
    let elapsed = start.elapsed();
    assert_eq!(outcome, Outcome::Unknown);
    // A correctness bound (the Lambda must answer inside Connect's 8 s), not a benchmark.
    assert!(elapsed < budget + Duration::from_millis(1000), "answered after {elapsed:?}");
    assert!(elapsed >= budget - Duration::from_millis(50), "gave up early: {elapsed:?}");
    assert_eq!(server.requests().len(), 1, "a hung request is not re-sent past the deadline");
}

#[tokio::test]
async fn a_connection_closed_after_sending_is_unknown() {
    let server = merchant(|_, _| Reply::Close).await;
    let req = request(authorize(1250, "GBP"));
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(3000)).await;
    assert_eq!(outcome, Outcome::Unknown);
    assert!(!server.requests().is_empty());
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_not_unknown() {
    // A port with nobody listening: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = EndpointUrl::parse(&format!("http://127.0.0.1:{port}/ivr/pay")).unwrap();
    let c = HttpConnector::new(url, ConnectorSecret::new(SECRET).unwrap()).unwrap();
    let req = request(authorize(1250, "GBP"));
    let start = tokio::time::Instant::now();
    let outcome = c.execute(&req, &keyer().key(&req), start + Duration::from_secs(5)).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::Unreachable });
    assert!(start.elapsed() < Duration::from_secs(5), "bounded by the attempts, not the deadline");
}

#[tokio::test]
async fn a_wrong_signature_secret_is_refused_with_401_and_answered_error() {
    let server = merchant(|_, _| Reply::Json(200, r#"{"status":"authorized","payment_id":"p"}"#.into())).await;
    let req = request(authorize(1250, "GBP"));
    let outcome =
        connector(&server, b"not-the-merchant-key").execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::Unauthorized });
    assert_eq!(server.requests().len(), 1, "a 401 is final, not retried");
    // The Lambda's refreshed secret, on the same connector setup.
    let refreshed = connector(&server, b"not-the-merchant-key").with_secret(ConnectorSecret::new(SECRET).unwrap());
    let outcome = refreshed.execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert!(matches!(outcome, Outcome::Authorized { .. }), "{outcome:?}");
}

#[tokio::test]
async fn ids_outside_the_opaque_alphabet_are_refused() {
    for body in [
        r#"{"status":"authorized","payment_id":"pay 1"}"#,
        r#"{"status":"authorized","payment_id":"<b>x</b>"}"#,
        r#"{"status":"authorized","payment_id":""}"#,
        r#"{"status":"authorized"}"#,
        r#"{"status":"declined","decline_code":"do not honor"}"#,
        r#"{"status":"approved","payment_id":"p1"}"#,
    ] {
        let owned = body.to_owned();
        let server = merchant(move |_, _| Reply::Json(200, owned.clone())).await;
        let req = request(authorize(1250, "GBP"));
        let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(5000)).await;
        assert_eq!(outcome, Outcome::Error { kind: ErrorKind::InvalidAnswer }, "{body}");
    }
    let long = format!(r#"{{"status":"tokenized","token":"{}"}}"#, "t".repeat(256));
    let server = merchant(move |_, _| Reply::Json(200, long.clone())).await;
    let req = request(Operation::Tokenize);
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::InvalidAnswer });
}

#[tokio::test]
async fn a_429_to_the_end_is_rate_limited_and_a_4xx_is_rejected_at_once() {
    let server = merchant(|_, _| Reply::Json(429, "{}".into())).await;
    let req = request(authorize(1250, "GBP"));
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::RateLimited });
    assert!(server.requests().len() >= 2, "429 is retried");

    let server = merchant(|_, _| Reply::Json(400, "{}".into())).await;
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::Rejected });
    assert_eq!(server.requests().len(), 1, "a 400 is final");
}

#[tokio::test]
async fn an_oversized_answer_is_unknown() {
    let big = format!(r#"{{"status":"authorized","payment_id":"p","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let server = merchant(move |_, _| Reply::Json(200, big.clone())).await;
    let req = request(authorize(1250, "GBP"));
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), deadline_in(3000)).await;
    assert_eq!(outcome, Outcome::Unknown);
}

#[tokio::test]
async fn the_card_reaches_only_the_body() {
    let server = merchant(|_, _| Reply::Json(200, r#"{"status":"authorized","payment_id":"pay_9"}"#.into())).await;
    let req = request(authorize(1250, "GBP"));
    let key = keyer().key(&req);
    let outcome = connector(&server, SECRET).execute(&req, &key, deadline_in(5000)).await;
    let r = &server.requests()[0];
    let digits = std::str::from_utf8(CARD).unwrap();
    assert!(r.headers.iter().all(|(n, v)| !n.contains(digits) && !v.contains(digits)));
    assert!(!r.request_line.contains(digits));
    assert!(!key.as_str().contains(&digits[12..]), "the key shows nothing of the card");
    assert!(!format!("{outcome:?} {outcome}").contains(digits));
}

#[tokio::test]
async fn a_deadline_already_past_sends_nothing() {
    let server = merchant(|_, _| Reply::Json(200, r#"{"status":"authorized","payment_id":"p"}"#.into())).await;
    let req = request(authorize(1250, "GBP"));
    let past = tokio::time::Instant::now() - Duration::from_millis(1);
    let outcome = connector(&server, SECRET).execute(&req, &keyer().key(&req), past).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::Unreachable });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(server.requests().is_empty(), "no request reached the merchant");
}
