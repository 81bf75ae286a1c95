//! The card digits and the secrets never show: every public type through `Debug` (plain and
//! `{:#?}`) and `Display` where it has one, every error variant, and every event emitted at TRACE
//! (hyper, the connectors) while each connector path runs against loopback fakes.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is a failed test")]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payments::{
    Amount, Capture, CardData, CardNumber, ConfigError, Connector, ConnectorSecret, ContactId, Currency, Cvc,
    EndpointUrl, ErrorKind, Expiry, HttpConnector, IdempotencyKeyer, NotOpaque, OpaqueId, Operation, Outcome,
    PaymentRequest, RequestError, StripeConnector,
};

use common::{Reply, Server};

const NUMBER: &str = "4111111111111111";
const CVC: &str = "737";
const SECRET: &str = "whsec_leaktest_Zq81";
const API_KEY: &str = "sk_test_leaktest_Zq81";

/// Fails when `shown` contains the card number, any 6+ digit run of it, the cvc next to a field
/// name, or a secret.
fn assert_clean(what: &str, shown: &str) {
    for window in 6..=NUMBER.len() {
        for start in 0..=NUMBER.len() - window {
            let part = &NUMBER[start..start + window];
            assert!(!shown.contains(part), "{what} shows card digits {part}: {shown}");
        }
    }
    for needle in [SECRET, API_KEY, "Zq81", "cvc: 737", "\"737\"", "=737", "737)"] {
        assert!(!shown.contains(needle), "{what} shows {needle}: {shown}");
    }
}

fn debug_all<T: std::fmt::Debug>(what: &str, value: &T) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

fn display_all<T: std::fmt::Display + std::fmt::Debug>(what: &str, value: &T) {
    debug_all(what, value);
    assert_clean(what, &value.to_string());
}

fn request(op: Operation) -> PaymentRequest {
    PaymentRequest::new(
        ContactId::new("contact-1").unwrap(),
        op,
        CardData::new(
            CardNumber::new(NUMBER.as_bytes()).unwrap(),
            Some(Expiry::new(7, 2031).unwrap()),
            Some(Cvc::new(CVC.as_bytes()).unwrap()),
        ),
    )
}

fn auth() -> Operation {
    Operation::Authorize(Amount::new(1250, Currency::parse("GBP").unwrap()).unwrap())
}

#[test]
fn every_public_type_formats_without_digits_or_secrets() {
    let req = request(auth());
    debug_all("PaymentRequest", &req);
    debug_all("CardData", req.card());
    debug_all("CardNumber", req.card().number());
    debug_all("Cvc", req.card().cvc().unwrap());
    debug_all("Expiry", &req.card().expiry().unwrap());
    debug_all("Operation", &req.operation());
    debug_all("Amount", &req.operation().amount().unwrap());
    display_all("Currency", &Currency::parse("GBP").unwrap());
    debug_all("ContactId", req.contact_id());
    debug_all("Capture", &Capture::Manual);

    let secret = ConnectorSecret::new(SECRET.as_bytes()).unwrap();
    debug_all("ConnectorSecret", &secret);
    let keyer = IdempotencyKeyer::from_secret(&secret);
    debug_all("IdempotencyKeyer", &keyer);
    display_all("IdempotencyKey", &keyer.key(&req));
    display_all("IdempotencyKey (tokenize)", &keyer.key(&request(Operation::Tokenize)));

    let url = EndpointUrl::parse("http://127.0.0.1:9/pay").unwrap();
    display_all("EndpointUrl", &url);
    debug_all("HttpConnector", &HttpConnector::new(url.clone(), secret).unwrap());
    let base = EndpointUrl::parse("http://127.0.0.1:9").unwrap();
    let stripe = StripeConnector::with_base_url(&ConnectorSecret::new(API_KEY.as_bytes()).unwrap(), base).unwrap();
    debug_all("StripeConnector", &stripe);

    let id = OpaqueId::new("pi_1").unwrap();
    display_all("OpaqueId", &id);
    display_all("NotOpaque", &NotOpaque);
    for outcome in [
        Outcome::Authorized { payment_id: id.clone() },
        Outcome::Tokenized { token: id.clone() },
        Outcome::Declined { decline_code: Some(id.clone()) },
        Outcome::Declined { decline_code: None },
        Outcome::Unknown,
        Outcome::Error { kind: ErrorKind::InvalidAnswer },
    ] {
        display_all("Outcome", &outcome);
    }
    for kind in [
        ErrorKind::Unauthorized,
        ErrorKind::Rejected,
        ErrorKind::RateLimited,
        ErrorKind::InvalidAnswer,
        ErrorKind::Unreachable,
        ErrorKind::Unsupported,
    ] {
        display_all("ErrorKind", &kind);
    }
}

#[test]
fn every_error_says_what_failed_without_the_value() {
    // Each constructor refusing a value built from the card's own digits.
    let errors: Vec<RequestError> = vec![
        CardNumber::new(format!("{NUMBER}0000").as_bytes()).unwrap_err(),
        CardNumber::new(format!("{NUMBER}x").as_bytes()).unwrap_err(),
        Cvc::new(format!("{CVC}99").as_bytes()).unwrap_err(),
        Expiry::new(13, 2031).unwrap_err(),
        Amount::new(0, Currency::parse("GBP").unwrap()).unwrap_err(),
        Currency::parse(&NUMBER[..3]).unwrap_err(),
        ContactId::new(&format!("{NUMBER} ")).unwrap_err(),
        Operation::from_parameters(Some(NUMBER), None, None).unwrap_err(),
        Operation::from_parameters(None, Some(&format!("{NUMBER}.5")), Some("GBP")).unwrap_err(),
        Operation::from_parameters(None, Some("5"), Some(NUMBER)).unwrap_err(),
    ];
    for e in &errors {
        display_all("RequestError", e);
        assert!(!e.to_string().is_empty());
    }
    let config: Vec<ConfigError> = vec![
        EndpointUrl::parse(&format!("https://{NUMBER}:{SECRET}@pay.example.com/")).unwrap_err(),
        EndpointUrl::parse(&format!("http://pay.example.com/{NUMBER}")).unwrap_err(),
        EndpointUrl::parse(&format!("ftp://x/{NUMBER}")).unwrap_err(),
        EndpointUrl::parse(NUMBER).unwrap_err(),
        EndpointUrl::parse(&format!("https://x/#{NUMBER}")).unwrap_err(),
        ConnectorSecret::new(b"").unwrap_err(),
        StripeConnector::with_base_url(
            &ConnectorSecret::new(format!("sk {SECRET}").as_bytes()).unwrap(),
            EndpointUrl::parse("http://127.0.0.1:9").unwrap(),
        )
        .unwrap_err(),
        StripeConnector::with_base_url(
            &ConnectorSecret::new(API_KEY.as_bytes()).unwrap(),
            EndpointUrl::parse("http://127.0.0.1:9/v1").unwrap(),
        )
        .unwrap_err(),
        ConfigError::TlsRoots,
    ];
    for e in &config {
        display_all("ConfigError", e);
    }
}

/// Collects every formatted tracing event.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_connector_path_at_trace_logs_no_digits() {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    type Answer = Box<dyn Fn(&common::Received, usize) -> Reply + Send + Sync>;
    let answers: Vec<Answer> = vec![
        Box::new(|_, _| Reply::Json(200, r#"{"status":"authorized","payment_id":"p1"}"#.into())),
        Box::new(|_, _| Reply::Json(200, r#"{"status":"declined","decline_code":"do_not_honor"}"#.into())),
        Box::new(|_, _| Reply::Json(200, r#"{"status":"authorized","payment_id":"bad id"}"#.into())),
        Box::new(|_, i| if i == 0 { Reply::Json(503, "{}".into()) } else { Reply::Json(401, "{}".into()) }),
        Box::new(|_, _| Reply::Close),
        Box::new(|_, _| Reply::Hang),
    ];
    let secret = ConnectorSecret::new(SECRET.as_bytes()).unwrap();
    let keyer = IdempotencyKeyer::from_secret(&secret);
    for answer in answers {
        let server = Server::start(answer).await;
        let generic = HttpConnector::new(EndpointUrl::parse(&server.url("/pay")).unwrap(), secret.clone()).unwrap();
        let stripe = StripeConnector::with_base_url(
            &ConnectorSecret::new(API_KEY.as_bytes()).unwrap(),
            EndpointUrl::parse(&server.url("")).unwrap(),
        )
        .unwrap();
        for op in [auth(), Operation::Tokenize] {
            let req = request(op);
            let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
            let a = generic.execute(&req, &keyer.key(&req), deadline).await;
            let deadline = tokio::time::Instant::now() + Duration::from_millis(700);
            let b = stripe.execute(&req, &keyer.key(&req), deadline).await;
            display_all("Outcome", &a);
            display_all("Outcome", &b);
        }
    }
    let logged = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    // The capture is real: the HTTP stack's own connection events are in it.
    assert!(logged.contains("hyper_util") && logged.contains("TRACE"), "no TRACE events captured");
    assert_clean("TRACE events", &logged);
}
