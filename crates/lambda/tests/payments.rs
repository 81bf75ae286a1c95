//! The payment step end to end in the handler (issue 13): real ciphertexts, keys in moto's SSM, the
//! generic connector over plain HTTP to a merchant on 127.0.0.1 that checks the signature, and the
//! in-memory secret and replay stores (the AWS ones are tested against moto in
//! `payments_moto.rs`). What this cannot show: TLS to a real gateway (see crates/payments/tests/tls.rs)
//! and DynamoDB's behaviour under contention between concurrent invocations.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::pay::*;
use payments::ConnectorSecret;
use secure_ivr_lambda::config::vars;
use secure_ivr_lambda::payment::{StoreError, vars as pay};

const GBP_1250: [(&str, &str); 2] = [("PaymentAmount", "1250"), ("PaymentCurrency", "GBP")];

#[tokio::test]
async fn a_valid_card_is_authorized_once_with_the_contract_body() {
    let Some(s) = setup("a_valid_card_is_authorized_once_with_the_contract_body", &[], Duration::from_secs(300)).await
    else {
        return;
    };
    let (params, _) = s.card_event(CARD, EXPIRY, &GBP_1250);
    let r = s.h.call(&ev(&params)).await;
    assert_eq!(get(&r, "Status"), "Success", "{r:?}");
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "PaymentId")), ("Authorized", "pay_0"), "{r:?}");
    assert!(!r.contains_key("ErrorCode"), "{r:?}");
    let sent = s.server.requests();
    assert_eq!(sent.len(), 1);
    let body = sent[0].json();
    assert_eq!(body["card"]["number"], CARD);
    assert_eq!((body["card"]["exp_month"].as_u64(), body["card"]["exp_year"].as_u64()), (Some(12), Some(2030)));
    assert_eq!(body["card"]["cvc"], CVV);
    assert_eq!((body["amount"]["value"].as_u64(), body["amount"]["currency"].as_str()), (Some(1250), Some("GBP")));
    assert_eq!(body["contact_id"], CONTACT);
    assert_eq!(sent[0].header("idempotency-key"), body["idempotency_key"].as_str());
    // One EMF line per value and one for the payment.
    let emf = s.h.emf();
    assert_eq!(emf.len(), 4, "{emf:?}");
    let pay_line: serde_json::Value = serde_json::from_str(&emf[3]).unwrap();
    assert_eq!((pay_line["PaymentStatus"].as_str(), pay_line["Payments"].as_u64()), (Some("Authorized"), Some(1)));
}

#[tokio::test]
async fn declined_tokenized_and_the_operation_default() {
    let Some(s) = setup("declined_tokenized_and_the_operation_default", &[], Duration::from_secs(300)).await else {
        return;
    };
    let (params, _) = s.card_event(CARD, EXPIRY, &[("PaymentAmount", "4000"), ("PaymentCurrency", "EUR")]);
    let r = s.h.call(&ev(&params)).await;
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "DeclineCode")), ("Declined", "insufficient_funds"), "{r:?}");
    // No amount: tokenize. A card alone (no expiry or security code) is enough for the contract.
    let card_only = vec![("EncryptedCreditCard".to_owned(), s.enc(CARD))];
    let r = s.h.call(&ev(&card_only)).await;
    assert_eq!(get(&r, "PaymentStatus"), "Tokenized", "{r:?}");
    assert!(get(&r, "PaymentToken").starts_with("tok_"), "{r:?}");
    let sent = s.server.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent[1].json()["card"].get("cvc").is_none(), "no security code captured, none sent");
}

#[tokio::test]
async fn a_5xx_is_retried_with_the_same_idempotency_key() {
    let Some(s) = setup("a_5xx_is_retried_with_the_same_idempotency_key", &[], Duration::from_secs(300)).await else {
        return;
    };
    let (params, _) = s.card_event(CARD, EXPIRY, &[("PaymentAmount", "5030"), ("PaymentCurrency", "USD")]);
    let r = s.h.call(&ev(&params)).await;
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "PaymentId")), ("Authorized", "pay_1"), "{r:?}");
    let sent = s.server.requests();
    assert_eq!(sent.len(), 2, "one 503, one retry");
    assert!(sent[0].header("idempotency-key").is_some());
    assert_eq!(sent[0].header("idempotency-key"), sent[1].header("idempotency-key"));
    assert_eq!(sent[0].body, sent[1].body, "the retry is the same request");
}

/// Nothing listening at the endpoint: nothing was sent, so the answer is not kept, and a retry of
/// the same message may try again (with the same idempotency key).
#[tokio::test]
async fn an_unreachable_gateway_is_an_error_that_a_retry_may_repeat() {
    let Some(s) = setup_at(
        "an_unreachable_gateway_is_an_error_that_a_retry_may_repeat",
        &[(vars::INVOCATION_BUDGET, "2000")],
        Duration::from_secs(300),
        Some("http://127.0.0.1:9/pay"),
    )
    .await
    else {
        return;
    };
    let (params, card_ct) = s.card_event(CARD, EXPIRY, &GBP_1250);
    for _ in 0..2 {
        let r = s.h.call(&ev(&params)).await;
        assert_eq!(
            (get(&r, "PaymentStatus"), get(&r, "ErrorCode"), get(&r, "PaymentErrorKind")),
            ("Error", "PaymentGatewayError", "unreachable"),
            "{r:?}"
        );
    }
    assert_eq!(s.replay.get(&message_id(&card_ct)), Some((CONTACT.to_owned(), None)), "claimed, no answer kept");
}

#[tokio::test]
async fn only_valid_input_is_sent() {
    let Some(s) = setup("only_valid_input_is_sent", &[], Duration::from_secs(300)).await else { return };
    // A failed Luhn check, an expired card, and a caller who keyed nothing for the expiry.
    let bad_luhn = s.card_event("5555555555554445", EXPIRY, &GBP_1250).0;
    let expired = s.card_event(CARD, "0120", &GBP_1250).0;
    let mut timeout = s.card_event(CARD, EXPIRY, &GBP_1250).0;
    timeout[1].1 = "Timeout".into();
    for (what, params) in [("luhn", bad_luhn), ("expired", expired), ("timeout", timeout)] {
        let r = s.h.call(&ev(&params)).await;
        assert_eq!(get(&r, "PaymentStatus"), "NotAttempted", "{what}: {r:?}");
        assert_ne!(get(&r, "Status"), "Success", "{what}");
    }
    assert!(s.server.requests().is_empty(), "nothing may reach the gateway");
    assert!(s.replay.is_empty(), "nothing claimed");
    // Not a payment at all: a PIN, no payment parameter. No payment key in the answer.
    let pin = vec![("EncryptedPin".to_owned(), s.enc("4321")), ("EncryptedPinType".to_owned(), "digits".to_owned())];
    let r = s.h.call(&ev(&pin)).await;
    assert!(!r.contains_key("PaymentStatus"), "{r:?}");
}

#[tokio::test]
async fn bad_parameters_and_inputs_are_refused_before_sending() {
    let Some(s) = setup("bad_parameters_and_inputs_are_refused_before_sending", &[], Duration::from_secs(300)).await
    else {
        return;
    };
    for (params, name) in [
        (vec![("PaymentAmount", "12.50"), ("PaymentCurrency", "GBP")], "PaymentAmount"),
        (vec![("PaymentAmount", "0"), ("PaymentCurrency", "GBP")], "PaymentAmount"),
        (vec![("PaymentAmount", "1250")], "PaymentCurrency"),
        (vec![("PaymentAmount", "1250"), ("PaymentCurrency", "gbp")], "PaymentCurrency"),
        (vec![("PaymentOperation", "refund")], "PaymentOperation"),
        (vec![("PaymentOperation", "tokenize"), ("PaymentAmount", "1250")], "PaymentAmount"),
    ] {
        let r = s.h.call(&ev(&s.card_event(CARD, EXPIRY, &params).0)).await;
        assert_eq!(get(&r, "PaymentStatus"), "Error", "{params:?}: {r:?}");
        assert_eq!(
            (get(&r, "ErrorCode"), get(&r, "PaymentParameter")),
            ("PaymentParameterInvalid", name),
            "{params:?}"
        );
    }
    // Two card numbers: which one to charge is not ours to guess.
    let mut two = s.card_event(CARD, EXPIRY, &GBP_1250).0;
    two.push(("EncryptedSecondCard".into(), s.enc(OTHER_CARD)));
    let r = s.h.call(&ev(&two)).await;
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "ErrorCode")), ("Error", "PaymentInputInvalid"), "{r:?}");
    // Payment parameters without any card input.
    let no_card = vec![("EncryptedCvv".to_owned(), s.enc(CVV)), ("EncryptedCvvType".to_owned(), "cvv".to_owned())];
    let mut no_card = no_card;
    no_card.extend(GBP_1250.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let r = s.h.call(&ev(&no_card)).await;
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "ErrorCode")), ("Error", "PaymentInputInvalid"), "{r:?}");
    assert!(s.server.requests().is_empty());
}

#[tokio::test]
async fn one_ciphertext_one_payment() {
    let Some(s) = setup("one_ciphertext_one_payment", &[], Duration::from_secs(300)).await else { return };
    let (params, _) = s.card_event(CARD, EXPIRY, &GBP_1250);
    let first = s.h.call(&ev(&params)).await;
    assert_eq!((get(&first, "PaymentStatus"), get(&first, "PaymentId")), ("Authorized", "pay_0"));
    // The same invocation retried in the same contact: the first answer, no second request.
    let again = s.h.call(&ev(&params)).await;
    assert_eq!((get(&again, "PaymentStatus"), get(&again, "PaymentId")), ("Authorized", "pay_0"), "{again:?}");
    assert_eq!(s.server.requests().len(), 1);
    // The captured values replayed in another contact: refused, the gateway not called, alarmed.
    let replayed = s.h.call(&in_contact(&params, "0ther000-aaaa-4bbb-8ccc-dddddddddddd")).await;
    assert_eq!((get(&replayed, "PaymentStatus"), get(&replayed, "ErrorCode")), ("Error", "Replay"), "{replayed:?}");
    assert!(!replayed.contains_key("PaymentId"));
    assert_eq!(s.server.requests().len(), 1, "a replay must not reach the gateway");
    let emf = s.h.emf();
    let last: serde_json::Value = serde_json::from_str(emf.last().unwrap()).unwrap();
    assert_eq!((last["PaymentStatus"].as_str(), last["ErrorCode"].as_str()), (Some("Error"), Some("Replay")));
    // A new capture of the same card in the first contact: a new message, the same idempotency key.
    let (recaptured, _) = s.card_event(CARD, EXPIRY, &GBP_1250);
    let r = s.h.call(&ev(&recaptured)).await;
    assert_eq!(get(&r, "PaymentStatus"), "Authorized");
    let sent = s.server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].header("idempotency-key"),
        sent[1].header("idempotency-key"),
        "a flow retry cannot charge twice"
    );
    assert_eq!(s.replay.len(), 2);
}

#[tokio::test]
async fn the_secret_is_cached_and_its_failure_sends_nothing() {
    let Some(s) = setup("the_secret_is_cached_and_its_failure_sends_nothing", &[], Duration::from_secs(300)).await
    else {
        return;
    };
    for _ in 0..3 {
        let r = s.h.call(&ev(&s.card_event(CARD, EXPIRY, &GBP_1250).0)).await;
        assert_eq!(get(&r, "PaymentStatus"), "Authorized");
    }
    assert_eq!(s.secret.reads(), 1, "read once, then cached for the TTL");

    // TTL 0: read on every payment; a failure then answers PaymentUnavailable and sends nothing.
    let Some(s) = setup("the_secret_is_cached_and_its_failure_sends_nothing", &[], Duration::ZERO).await else {
        return;
    };
    let r = s.h.call(&ev(&s.card_event(CARD, EXPIRY, &GBP_1250).0)).await;
    assert_eq!(get(&r, "PaymentStatus"), "Authorized");
    s.secret.set(Err(StoreError::AccessDenied("GetSecretValue: AccessDeniedException: test".into())));
    let r = s.h.call(&ev(&s.card_event(CARD, EXPIRY, &GBP_1250).0)).await;
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "ErrorCode")), ("Error", "PaymentUnavailable"), "{r:?}");
    assert_eq!(s.secret.reads(), 2);
    // A rotated secret the merchant does not know yet: refused by the merchant, nothing charged.
    s.secret.set(Ok(ConnectorSecret::new(b"a-rotated-key-the-merchant-lacks").unwrap()));
    let r = s.h.call(&ev(&s.card_event(CARD, EXPIRY, &GBP_1250).0)).await;
    assert_eq!(
        (get(&r, "PaymentStatus"), get(&r, "ErrorCode"), get(&r, "PaymentErrorKind")),
        ("Error", "PaymentGatewayError", "unauthorized"),
        "{r:?}"
    );
    // The replay table down: nothing is sent.
    s.secret.set(Ok(ConnectorSecret::new(HMAC_KEY).unwrap()));
    s.replay.fail_with(Some(StoreError::Unavailable("PutItem: timeout".into())));
    let before = s.server.requests().len();
    let r = s.h.call(&ev(&s.card_event(CARD, EXPIRY, &GBP_1250).0)).await;
    assert_eq!((get(&r, "PaymentStatus"), get(&r, "ErrorCode")), ("Error", "PaymentUnavailable"), "{r:?}");
    assert_eq!(s.server.requests().len(), before);
}

/// A hung gateway with a long invocation budget (as `cargo lambda watch` gives no deadline, and a
/// function timeout may be longer than Connect waits): `Unknown`, answered within 7 s of the
/// invocation's start, and the answer recorded so a retry in the contact gets it too.
#[tokio::test]
async fn a_hung_gateway_is_unknown_within_seven_seconds() {
    let Some(s) = setup(
        "a_hung_gateway_is_unknown_within_seven_seconds",
        &[(vars::INVOCATION_BUDGET, "20000")],
        Duration::from_secs(300),
    )
    .await
    else {
        return;
    };
    let (params, card_ct) = s.card_event(CARD, EXPIRY, &[("PaymentAmount", "9999"), ("PaymentCurrency", "GBP")]);
    let started = Instant::now();
    let r = s.h.call(&ev(&params)).await;
    let took = started.elapsed();
    assert_eq!(get(&r, "PaymentStatus"), "Unknown", "{r:?}");
    assert!(!r.contains_key("ErrorCode"), "Unknown is not an error that says nothing was charged: {r:?}");
    assert!(took < Duration::from_millis(7000), "answered after {took:?}; Connect gives up at 8 s");
    assert!(took >= Duration::from_millis(6000), "gave up early, after {took:?}");
    assert!(!s.server.requests().is_empty());
    let id = message_id(&card_ct);
    let (contact, first) = s.replay.get(&id).unwrap();
    assert_eq!((contact.as_str(), first), (CONTACT, Some(payments::Outcome::Unknown)));

    // The invocation's own deadline, when earlier, decides.
    let by = Instant::now() + Duration::from_millis(1500);
    let (params, _) = s.card_event(CARD, EXPIRY, &[("PaymentAmount", "9999"), ("PaymentCurrency", "GBP")]);
    let r = s.h.call_by(&ev(&params), by).await;
    assert_eq!(get(&r, "PaymentStatus"), "Unknown");
    assert!(Instant::now() <= by + Duration::from_millis(100), "answered after its deadline");
}

#[test]
fn connector_settings_are_read_with_their_ttls() {
    let map = std::collections::HashMap::from([
        (pay::CONNECTOR, "http"),
        (pay::URL, "http://127.0.0.1:9/pay"),
        (pay::SECRET_ARN, "arn:aws:secretsmanager:us-east-1:111122223333:secret:p-AbCdEf"),
        (pay::REPLAY_TABLE, "secure-ivr-replay"),
        (pay::SECRET_TTL, "60"),
    ]);
    let config = secure_ivr_lambda::Config::from_lookup(&|k| map.get(k).map(|v| (*v).to_owned())).unwrap();
    let secure_ivr_lambda::payment::PaymentSettings::On(c) = config.payment else { panic!("on") };
    assert_eq!((c.secret_ttl, c.replay_ttl), (Duration::from_secs(60), Duration::from_secs(400 * 86_400)));
}
