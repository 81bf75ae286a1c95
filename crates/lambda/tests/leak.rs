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
