//! The Stripe connector against a wire fake of what localstripe lacks: `payment_method_data` on
//! PaymentIntent create, decline codes, `requires_action`, 5xx and 429, idempotent replay.
//!
//! The fake answers with the shapes of Stripe's API reference (PaymentIntent object, the error
//! object with `type`/`code`/`decline_code`, 402 for card errors, 400 `idempotency_error` for a
//! reused key with other parameters) for Stripe's documented test card numbers. What it cannot
//! show: Stripe's real decision on a card, Radar, 3-D Secure itself, TLS to api.stripe.com, and
//! whether an account has raw card data APIs enabled (without it Stripe answers 400 / `Rejected`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is a failed test")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use payments::stripe::STRIPE_API_VERSION;
use payments::{
    Capture, Connector, ConnectorSecret, EndpointUrl, ErrorKind, IdempotencyKeyer, OpaqueId, Operation, Outcome,
    PaymentRequest, StripeConnector,
};

use common::{Received, Reply, Server, authorize, card_number, contact, deadline_in, request};

const API_KEY: &str = "sk_test_51FakeKeyForTheWireFake";

/// `a%5Bb%5D=1&c=2` to pairs (percent and `+` decoding; enough for what the connector sends).
fn form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'%' => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex escape"));
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).expect("utf-8")
    }
    std::str::from_utf8(body)
        .expect("form is ASCII")
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (decode(k), decode(v))
        })
        .collect()
}

fn param<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn card_error(code: &str, decline_code: Option<&str>, message: &str) -> Reply {
    let mut error = serde_json::json!({"type": "card_error", "code": code, "message": message,
        "doc_url": format!("https://stripe.com/docs/error-codes/{code}")});
    if let Some(d) = decline_code {
        error["decline_code"] = d.into();
        error["payment_intent"] = serde_json::json!({"id": "pi_3Declined", "object": "payment_intent",
            "status": "requires_payment_method", "last_payment_error": {"type": "card_error", "code": code, "decline_code": d}});
    }
    Reply::Json(402, serde_json::json!({ "error": error }).to_string())
}

fn payment_intent(id: &str, f: &[(String, String)], status: &str) -> String {
    let mut pi = serde_json::json!({"id": id, "object": "payment_intent",
        "amount": param(f, "amount").unwrap().parse::<u64>().unwrap(), "currency": param(f, "currency").unwrap(),
        "capture_method": param(f, "capture_method").unwrap_or("automatic"), "confirmation_method": "automatic",
        "status": status, "livemode": false, "payment_method": "pm_1Fake",
        "client_secret": format!("{id}_secret_x"), "last_payment_error": null, "next_action": null});
    if status == "requires_action" {
        pi["next_action"] =
            serde_json::json!({"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}});
    }
    pi.to_string()
}

/// Stripe's behaviour for its test cards, as far as this connector sees it.
fn stripe_answer(r: &Received, n: usize) -> Reply {
    if r.header("authorization") != Some(&format!("Bearer {API_KEY}")) {
        return Reply::Json(
            401,
            r#"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****"}}"#.into(),
        );
    }
    let f = form(&r.body);
    match r.request_line.as_str() {
        "POST /v1/payment_methods HTTP/1.1" => {
            assert_eq!(param(&f, "type"), Some("card"));
            let last4 = &param(&f, "card[number]").unwrap()[12..];
            Reply::Json(
                200,
                serde_json::json!({"id": format!("pm_1Fake{n}"), "object": "payment_method", "type": "card",
                    "card": {"last4": last4, "exp_month": param(&f, "card[exp_month]").unwrap().parse::<u8>().unwrap()}})
                .to_string(),
            )
        }
        "POST /v1/payment_intents HTTP/1.1" => {
            let manual = param(&f, "capture_method") == Some("manual");
            match param(&f, "payment_method_data[card][number]").unwrap() {
                "4242424242424242" if manual => {
                    Reply::Json(200, payment_intent(&format!("pi_3Fake{n}"), &f, "requires_capture"))
                }
                "4242424242424242" => Reply::Json(200, payment_intent(&format!("pi_3Fake{n}"), &f, "succeeded")),
                "4000000000000002" => card_error("card_declined", Some("generic_decline"), "Your card was declined."),
                "4000000000009995" => {
                    card_error("card_declined", Some("insufficient_funds"), "Your card has insufficient funds.")
                }
                "4000000000000069" => card_error("expired_card", None, "Your card has expired."),
                "4000000000000127" => card_error("incorrect_cvc", None, "Your card's security code is incorrect."),
                "4000002500003155" => Reply::Json(200, payment_intent(&format!("pi_3Fake{n}"), &f, "requires_action")),
                _ => Reply::Json(400, r#"{"error":{"type":"invalid_request_error","code":"incorrect_number"}}"#.into()),
            }
        }
        _ => Reply::Json(
            404,
            r#"{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}"#.into(),
        ),
    }
}

/// A saved answer: the request body it was for, status, body.
type Saved = (Vec<u8>, u16, String);

/// Stripe's idempotency layer in front of `inner`: a key seen before with the same parameters
/// replays the saved answer; with other parameters it is a 400 `idempotency_error`. 401, 429 and
/// 5xx answers are not saved (Stripe saves only requests that ran).
fn with_idempotency(
    inner: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Received, usize) -> Reply + Send + Sync + 'static {
    let saved: Arc<Mutex<HashMap<String, Saved>>> = Arc::default();
    move |r, n| {
        let key = r.header("idempotency-key").expect("Idempotency-Key on every request").to_owned();
        if let Some((body, status, answer)) = saved.lock().unwrap().get(&key) {
            if *body != r.body {
                return Reply::Json(400, r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}"#.into());
            }
            return Reply::Json(*status, answer.clone());
        }
        match inner(r, n) {
            Reply::Json(status, answer) => {
                // Stripe saves a result only once the endpoint ran: not for a refused key, a rate
                // limit or a server error.
                if status < 500 && status != 401 && status != 429 {
                    saved.lock().unwrap().insert(key, (r.body.clone(), status, answer.clone()));
                }
                Reply::Json(status, answer)
            }
            other => other,
        }
    }
}

fn connector(server: &Server) -> StripeConnector {
    let base = EndpointUrl::parse(&server.url("")).unwrap();
    StripeConnector::with_base_url(&ConnectorSecret::new(API_KEY.as_bytes()).unwrap(), base).unwrap()
}

fn keyer() -> IdempotencyKeyer {
    IdempotencyKeyer::from_secret(&ConnectorSecret::new(API_KEY.as_bytes()).unwrap())
}

async fn run(c: &StripeConnector, req: &PaymentRequest) -> Outcome {
    c.execute(req, &keyer().key(req), deadline_in(5000)).await
}

fn id(s: &str) -> OpaqueId {
    OpaqueId::new(s).unwrap()
}

fn declined(code: &str) -> Outcome {
    Outcome::Declined { decline_code: Some(id(code)) }
}

#[tokio::test]
async fn authorize_confirms_a_payment_intent_with_the_card_as_payment_method_data() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4242424242424242"));
    let key = keyer().key(&req);
    let outcome = connector(&server).execute(&req, &key, deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Authorized { payment_id: id("pi_3Fake0") });

    let r = &server.requests()[0];
    assert_eq!(r.request_line, "POST /v1/payment_intents HTTP/1.1");
    assert_eq!(r.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(r.header("content-length"), Some(r.body.len().to_string().as_str()));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("idempotency-key"), Some(key.as_str()));
    assert_eq!(r.header("stripe-version"), Some(STRIPE_API_VERSION));
    let f = form(&r.body);
    for (name, value) in [
        ("amount", "1250"),
        ("currency", "gbp"),
        ("confirm", "true"),
        ("payment_method_types[]", "card"),
        ("payment_method_data[type]", "card"),
        ("payment_method_data[card][number]", "4242424242424242"),
        ("payment_method_data[card][exp_month]", "12"),
        ("payment_method_data[card][exp_year]", "2030"),
        ("payment_method_data[card][cvc]", "123"),
        ("metadata[contact_id]", contact().as_str()),
    ] {
        assert_eq!(param(&f, name), Some(value), "{name}");
    }
    assert_eq!(param(&f, "capture_method"), None, "Stripe's default capture unless asked");
}

#[tokio::test]
async fn manual_capture_answers_requires_capture_as_authorized() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let c = connector(&server).with_capture(Capture::Manual);
    let req = PaymentRequest::new(contact(), authorize(500, "USD"), card_number(b"4242424242424242"));
    assert_eq!(run(&c, &req).await, Outcome::Authorized { payment_id: id("pi_3Fake0") });
    assert_eq!(param(&form(&server.requests()[0].body), "capture_method"), Some("manual"));
}

#[tokio::test]
async fn card_errors_map_to_declined_with_stripes_code() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let c = connector(&server);
    for (number, expected) in [
        (&b"4000000000000002"[..], declined("generic_decline")),
        (b"4000000000009995", declined("insufficient_funds")),
        (b"4000000000000069", declined("expired_card")),
        (b"4000000000000127", declined("incorrect_cvc")),
    ] {
        let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(number));
        assert_eq!(run(&c, &req).await, expected, "{}", std::str::from_utf8(number).unwrap());
    }
    assert_eq!(server.requests().len(), 4, "a decline is final, not retried");
}

#[tokio::test]
async fn requires_action_is_declined_authentication_required() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4000002500003155"));
    assert_eq!(run(&connector(&server), &req).await, declined("authentication_required"));
}

#[tokio::test]
async fn a_500_then_success_reuses_the_idempotency_key() {
    let inner = with_idempotency(stripe_answer);
    let server = Server::start(move |r, n| {
        if n == 0 {
            return Reply::Json(500, r#"{"error":{"type":"api_error","message":"An unknown error occurred"}}"#.into());
        }
        inner(r, n)
    })
    .await;
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4242424242424242"));
    let key = keyer().key(&req);
    assert_eq!(
        connector(&server).execute(&req, &key, deadline_in(5000)).await,
        Outcome::Authorized { payment_id: id("pi_3Fake1") }
    );
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("idempotency-key"), Some(key.as_str()));
    assert_eq!(got[1].header("idempotency-key"), Some(key.as_str()));
    assert_eq!(got[0].body, got[1].body);
}

#[tokio::test]
async fn a_429_then_success_is_retried() {
    let inner = with_idempotency(stripe_answer);
    let server = Server::start(move |r, n| {
        if n == 0 {
            return Reply::Json(429, r#"{"error":{"type":"invalid_request_error","code":"rate_limit"}}"#.into());
        }
        inner(r, n)
    })
    .await;
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4242424242424242"));
    assert_eq!(run(&connector(&server), &req).await, Outcome::Authorized { payment_id: id("pi_3Fake1") });
}

#[tokio::test]
async fn a_flow_retry_gets_the_first_payment_back_not_a_second_charge() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let c = connector(&server);
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4242424242424242"));
    let first = run(&c, &req).await;
    // The flow retries: a new request value built from the same inputs derives the same key.
    let again = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4242424242424242"));
    assert_eq!(run(&c, &again).await, first, "Stripe replays the first PaymentIntent");
    // Another amount is another payment (another key), not an idempotency conflict.
    let other = PaymentRequest::new(contact(), authorize(1300, "GBP"), card_number(b"4242424242424242"));
    assert_eq!(run(&c, &other).await, Outcome::Authorized { payment_id: id("pi_3Fake2") });
}

/// The flow retried with a retyped expiry (not part of the key): Stripe refuses the reused key,
/// and the first attempt may have charged, so the answer is Unknown, never "not charged".
#[tokio::test]
async fn a_reused_key_with_other_parameters_is_unknown() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let c = connector(&server);
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card_number(b"4242424242424242"));
    let key = keyer().key(&req);
    assert!(matches!(c.execute(&req, &key, deadline_in(5000)).await, Outcome::Authorized { .. }));
    let retyped = payments::CardData::new(
        payments::CardNumber::new(b"4242424242424242").unwrap(),
        Some(payments::Expiry::new(11, 2030).unwrap()),
        Some(payments::Cvc::new(b"123").unwrap()),
    );
    let retry = PaymentRequest::new(contact(), authorize(1250, "GBP"), retyped);
    assert_eq!(keyer().key(&retry), key, "expiry is not part of the key");
    assert_eq!(c.execute(&retry, &keyer().key(&retry), deadline_in(5000)).await, Outcome::Unknown);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn tokenize_creates_a_payment_method() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let req = request(Operation::Tokenize);
    assert_eq!(run(&connector(&server), &req).await, Outcome::Tokenized { token: id("pm_1Fake0") });
    let r = &server.requests()[0];
    assert_eq!(r.request_line, "POST /v1/payment_methods HTTP/1.1");
    let f = form(&r.body);
    assert_eq!(param(&f, "card[number]"), Some("5555555555554444"));
    assert_eq!(param(&f, "card[exp_year]"), Some("2030"));
}

#[tokio::test]
async fn a_wrong_api_key_is_unauthorized_and_a_refreshed_key_is_used() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let base = EndpointUrl::parse(&server.url("")).unwrap();
    let c = StripeConnector::with_base_url(&ConnectorSecret::new(b"sk_test_wrong").unwrap(), base).unwrap();
    let req = request(Operation::Tokenize);
    assert_eq!(run(&c, &req).await, Outcome::Error { kind: ErrorKind::Unauthorized });
    let refreshed = c.with_api_key(&ConnectorSecret::new(API_KEY.as_bytes()).unwrap()).unwrap();
    assert!(matches!(run(&refreshed, &req).await, Outcome::Tokenized { .. }));
    assert!(c.with_api_key(&ConnectorSecret::new(b"sk bad").unwrap()).is_err());
}

#[tokio::test]
async fn without_an_expiry_nothing_is_sent() {
    let server = Server::start(with_idempotency(stripe_answer)).await;
    let card = payments::CardData::new(payments::CardNumber::new(b"4242424242424242").unwrap(), None, None);
    let req = PaymentRequest::new(contact(), authorize(1250, "GBP"), card);
    assert_eq!(run(&connector(&server), &req).await, Outcome::Error { kind: ErrorKind::Unsupported });
    assert!(server.requests().is_empty());
}
