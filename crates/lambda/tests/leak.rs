//! The leak test: every handler path with every crate at TRACE (the AWS SDK and hyper included,
//! more than the production filter lets through), with logs, EMF lines and responses captured; no plaintext value, no digit run of a card beyond the last
//! four, and no key material may appear. Needs moto for the key store.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use secure_ivr_lambda::config::vars;

#[tokio::test]
async fn no_plaintext_or_key_material_at_trace() {
    capture_logs_all_crates();
    let Some(ep) = moto_endpoint("no_plaintext_or_key_material_at_trace") else { return };
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_C_PKCS8_4096).await;
    let wrong = key_id();
    put(&h.client, &format!("{prefix}{wrong}"), KEY_B_PKCS1_3072).await;

    let secrets = ["4929876543210982", "4000056655665556", "0731", "0520", "947", "8413", "31415926", "5820937164028"];
    let enc = |p: &str| encrypt(&id, KEY_C_PUBLIC, p);
    let events = [
        event(&[("EncryptedCreditCard", &enc(secrets[0]))]),
        event(&[
            ("EncryptedCreditCard", &enc(secrets[1])),
            ("EncryptedExpiry", &enc(secrets[2])),
            ("EncryptedExpiryType", "expiry"),
            ("EncryptedCvv", &enc(secrets[4])),
            ("EncryptedCvvType", "cvv"),
        ]),
        event(&[("EncryptedExpiry", &enc(secrets[3])), ("EncryptedExpiryType", "expiry")]),
        event(&[("EncryptedCvv", &enc(secrets[5])), ("EncryptedCvvType", "cvv")]),
        event(&[("EncryptedPin", &enc(secrets[6])), ("EncryptedPinType", "digits")]),
        event(&[("EncryptedCreditCard", &enc(secrets[7]))]),
        event(&[("EncryptedCreditCard", &encrypt(&wrong, KEY_C_PUBLIC, secrets[0]))]),
        event(&[("EncryptedCreditCard", &encrypt(&key_id(), KEY_C_PUBLIC, secrets[1]))]),
        event(&[("EncryptedCreditCard", "Timeout")]),
    ];
    let mut responses = Vec::new();
    for ev in &events {
        responses.push(h.call(ev).await);
    }
    let log = logs();
    // Proof the capture really was verbose: our own debug and trace-level events are there.
    assert!(log.contains(r#""level":"DEBUG""#), "no debug lines captured");
    assert!(log.contains(r#""level":"TRACE""#) && log.contains("aws_smithy"), "SDK trace lines not captured");
    assert!(log.lines().count() >= events.len() * 2);
    let refs: Vec<_> = responses.iter().collect();
    let mut all: Vec<&str> = secrets.to_vec();
    all.extend([KEY_C_PKCS8_4096, KEY_B_PKCS1_3072]);
    check_leaks(&h, &refs, &all);
    // Last4 is the most a response says: never the first digits of a card.
    for r in &responses {
        for v in r.values() {
            assert!(!secrets.iter().any(|s| s.len() > 6 && v.contains(&s[..6])), "{v}");
        }
    }
}

/// Every payment path at TRACE (hyper and the connector included): authorized, declined,
/// tokenized, not attempted, a bad parameter, a replay, a retry answered from the record, a
/// refused secret and a hung gateway. The card, expiry and security code reach the merchant (the
/// test checks they did) and nothing else.
#[tokio::test]
async fn no_card_data_on_any_payment_path_at_trace() {
    use common::pay::*;
    use std::time::Duration;
    capture_logs_all_crates();
    let Some(s) =
        setup("no_card_data_on_any_payment_path_at_trace", &[(vars::INVOCATION_BUDGET, "1500")], Duration::ZERO).await
    else {
        return;
    };
    let amount = |v: &'static str| [("PaymentAmount", v), ("PaymentCurrency", "GBP")];
    let authorized = s.card_event(CARD, EXPIRY, &amount("1250")).0;
    let mut events = vec![
        ev(&authorized),
        ev(&authorized),
        in_contact(&authorized, "0ther000-aaaa-4bbb-8ccc-dddddddddddd"),
        ev(&s.card_event(OTHER_CARD, EXPIRY, &amount("4000")).0),
        ev(&s.card_event(CARD, EXPIRY, &[]).0),
        ev(&s.card_event("5555555555554445", EXPIRY, &amount("1250")).0),
        ev(&s.card_event(CARD, EXPIRY, &[("PaymentAmount", "12.50"), ("PaymentCurrency", "GBP")]).0),
        ev(&s.card_event(OTHER_CARD, EXPIRY, &amount("9999")).0),
    ];
    let mut responses = Vec::new();
    for e in events.drain(..) {
        responses.push(s.h.call(&e).await);
    }
    s.secret.set(Err(secure_ivr_lambda::payment::StoreError::Unavailable("test".into())));
    responses.push(s.h.call(&ev(&s.card_event(CARD, EXPIRY, &amount("1250")).0)).await);
    let statuses: Vec<&str> = responses.iter().map(|r| get(r, "PaymentStatus")).collect();
    assert_eq!(
        statuses,
        ["Authorized", "Authorized", "Error", "Declined", "Tokenized", "NotAttempted", "Error", "Unknown", "Error"]
    );
    // The digits did go where they belong.
    assert!(s.server.requests().iter().any(|r| r.json()["card"]["number"] == CARD));
    let log = logs();
    assert!(log.contains(r#""level":"TRACE""#) && log.contains("hyper"), "hyper's trace lines not captured");
    let refs: Vec<_> = responses.iter().collect();
    let hmac = std::str::from_utf8(HMAC_KEY).unwrap();
    check_leaks(&s.h, &refs, &[CARD, OTHER_CARD, "5555555555554445", EXPIRY, CVV, hmac]);
}
