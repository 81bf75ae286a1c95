//! Handler tests against a real moto server (the real `aws-sdk-ssm` over HTTP on 127.0.0.1).
//! Every test also runs the leak check over the logs it produced at TRACE.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use secure_ivr_lambda::config::vars;

const VISA: &str = "4111111111111111";

macro_rules! moto {
    ($name:literal) => {
        match moto_endpoint($name) {
            Some(ep) => ep,
            None => return,
        }
    };
}

fn get<'a>(r: &'a secure_ivr_lambda::Response, k: &str) -> &'a str {
    r.get(k).map_or("<absent>", String::as_str)
}

#[tokio::test]
async fn pkcs8_key_decrypts_a_card() {
    let ep = moto!("pkcs8_key_decrypts_a_card");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_A_PKCS8_2048).await;
    let r = h.call(&event(&[("EncryptedCreditCard", &encrypt(&id, KEY_A_PUBLIC, VISA))])).await;
    assert_eq!(get(&r, "Status"), "Success", "{r:?}");
    assert_eq!(get(&r, "Last4"), "1111");
    assert_eq!(get(&r, "Brand"), "Visa");
    assert_eq!(get(&r, "Luhn"), "true");
    assert_eq!(get(&r, "Masked"), "XXXXXXXXXXXX1111");
    assert_eq!(get(&r, "Length"), "16");
    assert_eq!(get(&r, "EncryptedCreditCard_Last4"), "1111");
    assert!(!r.contains_key("ErrorCode"));
    let emf = h.emf();
    assert_eq!(emf.len(), 1);
    assert!(emf[0].contains(r#""Outcome":"Success""#));
    check_leaks(&h, &[&r], &[VISA, KEY_A_PKCS8_2048]);
}

#[tokio::test]
async fn pkcs1_key_decrypts_and_second_call_uses_the_cache() {
    let ep = moto!("pkcs1_key_decrypts_and_second_call_uses_the_cache");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_B_PKCS1_3072).await;
    let card = "5555555555554444";
    let ev = event(&[("EncryptedCreditCard", &encrypt(&id, KEY_B_PUBLIC, card))]);
    let r1 = h.call(&ev).await;
    assert_eq!((get(&r1, "Status"), get(&r1, "Brand")), ("Success", "Mastercard"), "{r1:?}");
    // Delete the parameter: a warm call must not need SSM within the TTL.
    h.client.delete_parameter().name(format!("{prefix}{id}")).send().await.unwrap();
    let r2 = h.call(&ev).await;
    assert_eq!(get(&r2, "Status"), "Success");
    assert!(logs().contains(r#""cache":"hit""#));
    check_leaks(&h, &[&r1, &r2], &[card, KEY_B_PKCS1_3072]);
}

#[tokio::test]
async fn two_live_keys_during_rotation() {
    let ep = moto!("two_live_keys_during_rotation");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let (old, new) = (key_id(), key_id());
    put(&h.client, &format!("{prefix}{old}"), KEY_A_PKCS8_2048).await;
    put(&h.client, &format!("{prefix}{new}"), KEY_C_PKCS8_4096).await;
    let amex = "378282246310005";
    let r = h
        .call(&event(&[
            ("EncryptedOld", &encrypt(&old, KEY_A_PUBLIC, VISA)),
            ("EncryptedOldType", "card"),
            ("EncryptedNew", &encrypt(&new, KEY_C_PUBLIC, amex)),
            ("EncryptedNewType", "card"),
        ]))
        .await;
    assert_eq!(get(&r, "Status"), "Success", "{r:?}");
    assert_eq!(get(&r, "EncryptedOld_Brand"), "Visa");
    assert_eq!(get(&r, "EncryptedNew_Brand"), "Amex");
    assert_eq!(get(&r, "EncryptedNew_Last4"), "0005");
    assert_eq!(get(&r, "Values"), "2");
    assert!(!r.contains_key("Last4"), "no unprefixed fields with several values");
    // Each message alone, too.
    let r1 = h.call(&event(&[("EncryptedCreditCard", &encrypt(&new, KEY_C_PUBLIC, amex))])).await;
    assert_eq!(get(&r1, "Status"), "Success");
    check_leaks(&h, &[&r, &r1], &[VISA, amex, KEY_A_PKCS8_2048, KEY_C_PKCS8_4096]);
}

#[tokio::test]
async fn legacy_parameter_is_used_when_the_key_id_has_none() {
    let ep = moto!("legacy_parameter_is_used_when_the_key_id_has_none");
    let prefix = unique_prefix("lambda");
    let legacy = format!("{prefix}legacy/{}", keystore::LEGACY_PARAMETER_NAME);
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix), (vars::LEGACY_PARAMETER, &legacy)]);
    put(&h.client, &legacy, KEY_B_PKCS1_3072).await;
    let id = key_id();
    let ct = encrypt(&id, KEY_B_PUBLIC, VISA);
    let r = h.call(&event(&[("EncryptedCreditCard", &ct)])).await;
    assert_eq!(get(&r, "Status"), "Success", "{r:?}");
    // Without the legacy setting the same message has no key.
    let h2 = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let r2 = h2.call(&event(&[("EncryptedCreditCard", &ct)])).await;
    assert_eq!((get(&r2, "Status"), get(&r2, "ErrorCode")), ("Error", "KeyNotFound"));
    check_leaks(&h, &[&r, &r2], &[VISA, KEY_B_PKCS1_3072]);
}

#[tokio::test]
async fn unknown_key_id_is_key_not_found() {
    let ep = moto!("unknown_key_id_is_key_not_found");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let ev = event(&[("EncryptedCreditCard", &encrypt(&key_id(), KEY_A_PUBLIC, VISA))]);
    for _ in 0..3 {
        let r = h.call(&ev).await;
        assert_eq!((get(&r, "Status"), get(&r, "ErrorCode")), ("Error", "KeyNotFound"), "{r:?}");
        assert_eq!(get(&r, "EncryptedCreditCard_ErrorCode"), "KeyNotFound");
    }
    assert!(h.emf().iter().all(|l| l.contains(r#""ErrorCode":"KeyNotFound""#)));
    check_leaks(&h, &[], &[VISA]);
}

#[tokio::test]
async fn unusable_keys_are_key_invalid() {
    let ep = moto!("unusable_keys_are_key_invalid");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    // The key store refuses these before any decryption, so the message can be under any key.
    for stored in [KEY_WEAK_1024, KEY_A_PUBLIC, "hello"] {
        let id = key_id();
        put(&h.client, &format!("{prefix}{id}"), stored).await;
        let r = h.call(&event(&[("EncryptedCreditCard", &encrypt(&id, KEY_A_PUBLIC, VISA))])).await;
        assert_eq!((get(&r, "Status"), get(&r, "ErrorCode")), ("Error", "KeyInvalid"), "{r:?}");
    }
    let log = logs();
    assert!(log.contains("at least 2048 bits are required"), "operators need the reason");
    assert!(log.contains("public key or certificate"), "operators need the reason");
    check_leaks(&h, &[], &[VISA, KEY_WEAK_1024]);
}

#[tokio::test]
async fn wrong_key_under_the_key_id_is_decrypt_failed() {
    let ep = moto!("wrong_key_under_the_key_id_is_decrypt_failed");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_B_PKCS1_3072).await;
    let r = h.call(&event(&[("EncryptedCreditCard", &encrypt(&id, KEY_A_PUBLIC, VISA))])).await;
    assert_eq!((get(&r, "Status"), get(&r, "ErrorCode")), ("Error", "DecryptFailed"), "{r:?}");
    check_leaks(&h, &[&r], &[VISA]);
}

#[tokio::test]
async fn timeout_means_no_input() {
    let ep = moto!("timeout_means_no_input");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let r = h.call(&event(&[("EncryptedCreditCard", "Timeout")])).await;
    assert_eq!(get(&r, "Status"), "NoInput", "{r:?}");
    assert!(!r.contains_key("ErrorCode"));
    let r = h.call(&event(&[("SomethingElse", "hello")])).await;
    assert_eq!((get(&r, "Status"), get(&r, "ErrorCode")), ("Error", "NoEncryptedInput"));
}

#[tokio::test]
async fn tampered_ciphertexts() {
    use base64::Engine;
    let ep = moto!("tampered_ciphertexts");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_A_PKCS8_2048).await;
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = b64.decode(encrypt(&id, KEY_A_PUBLIC, VISA)).unwrap();
    let n = raw.len();
    let flip = |i: usize| {
        let mut v = raw.clone();
        v[i] ^= 0x01;
        b64.encode(v)
    };
    // The footer is a 2-byte length and a DER ECDSA P-384 signature (about 103 bytes); the body's
    // last frame tag sits just before it.
    let cases = [
        (flip(n - 5), "SignatureInvalid"),
        (flip(n - 120), "DecryptFailed"),
        (b64.encode(&raw[..n - 30]), "MalformedCiphertext"),
        (b64.encode(&raw[..40]), "MalformedCiphertext"),
        ("not a ciphertext at all".to_owned(), "MalformedCiphertext"),
        (b64.encode([&raw[..], b"x"].concat()), "MalformedCiphertext"),
    ];
    for (value, code) in cases {
        let r = h.call(&event(&[("EncryptedCreditCard", &value)])).await;
        assert_eq!((get(&r, "Status"), get(&r, "ErrorCode")), ("Error", code), "{r:?}");
    }
    check_leaks(&h, &[], &[VISA]);
}

#[tokio::test]
async fn several_encrypted_parameters_in_one_event() {
    let ep = moto!("several_encrypted_parameters_in_one_event");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_C_PKCS8_4096).await;
    let (card, exp, cvv) = ("6011111111111117", "0829", "7319");
    let enc = |p: &str| encrypt(&id, KEY_C_PUBLIC, p);
    let r = h
        .call(&event(&[
            ("EncryptedCreditCard", &enc(card)),
            ("EncryptedExpiry", &enc(exp)),
            ("EncryptedExpiryType", "expiry"),
            ("EncryptedCvv", &enc(cvv)),
            ("EncryptedCvvType", "cvv"),
            ("Language", "en-US"),
        ]))
        .await;
    assert_eq!(get(&r, "Status"), "Success", "{r:?}");
    assert_eq!(get(&r, "Values"), "3");
    assert_eq!(get(&r, "EncryptedCreditCard_Brand"), "Discover");
    assert_eq!(get(&r, "EncryptedExpiry_Expired"), "false");
    assert_eq!(get(&r, "EncryptedExpiry_Masked"), "XXXX");
    assert!(!r.contains_key("EncryptedExpiry_Last4"));
    assert_eq!(get(&r, "EncryptedCvv_Length"), "4");
    assert_eq!(get(&r, "EncryptedCvv_Masked"), "XXXX");
    assert!(!r.contains_key("EncryptedCvv_Last4"));
    assert_eq!(h.emf().len(), 3);

    // Worst value wins: an expired date makes it Invalid, a missing CVV NoInput.
    let r2 = h
        .call(&event(&[
            ("EncryptedCreditCard", &enc(card)),
            ("EncryptedExpiry", &enc("0126")),
            ("EncryptedExpiryType", "expiry"),
        ]))
        .await;
    assert_eq!((get(&r2, "Status"), get(&r2, "EncryptedExpiry_Expired")), ("Invalid", "true"), "{r2:?}");
    let r3 = h
        .call(&event(&[
            ("EncryptedCreditCard", &enc(card)),
            ("EncryptedExpiry", &enc("0126")),
            ("EncryptedExpiryType", "expiry"),
            ("EncryptedCvv", "Timeout"),
            ("EncryptedCvvType", "cvv"),
        ]))
        .await;
    assert_eq!(get(&r3, "Status"), "NoInput", "{r3:?}");
    check_leaks(&h, &[&r, &r2, &r3], &[card, exp, cvv, "0126", KEY_C_PKCS8_4096]);
}

#[tokio::test]
async fn every_card_brand() {
    let ep = moto!("every_card_brand");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_A_PKCS8_2048).await;
    let cases = [
        ("4111111111111111", "Visa", "Success"),
        ("5555555555554444", "Mastercard", "Success"),
        ("2223003122003222", "Mastercard", "Success"),
        ("378282246310005", "Amex", "Success"),
        ("6011111111111117", "Discover", "Success"),
        ("3530111333300000", "JCB", "Success"),
        ("36227206271667", "DinersClub", "Success"),
        ("6200000000000005", "UnionPay", "Success"),
        ("6759649826438453", "Maestro", "Success"),
        ("4111111111111112", "Visa", "Invalid"),
        ("9999999999999995", "Unknown", "Success"),
    ];
    let mut responses = Vec::new();
    for (pan, brand, status) in cases {
        let r = h.call(&event(&[("EncryptedCreditCard", &encrypt(&id, KEY_A_PUBLIC, pan))])).await;
        assert_eq!((get(&r, "Status"), get(&r, "Brand")), (status, brand), "{pan}: {r:?}");
        assert_eq!(get(&r, "Last4"), &pan[pan.len() - 4..]);
        responses.push(r);
    }
    let refs: Vec<_> = responses.iter().collect();
    let pans: Vec<&str> = cases.iter().map(|c| c.0).collect();
    check_leaks(&h, &refs, &pans);
}

#[tokio::test]
async fn expiry_cases() {
    let ep = moto!("expiry_cases");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix), (vars::DEFAULT_TYPE, "expiry")]);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_A_PKCS8_2048).await;
    // Pinned to November 2026.
    let cases = [
        ("1126", "Success", Some("false")),
        ("1026", "Invalid", Some("true")),
        ("0127", "Success", Some("false")),
        ("112031", "Success", Some("false")),
        ("1327", "Invalid", None),
        ("0199", "Invalid", Some("false")),
        ("12", "Invalid", None),
    ];
    for (exp, status, expired) in cases {
        let r = h.call(&event(&[("EncryptedExpiry", &encrypt(&id, KEY_A_PUBLIC, exp))])).await;
        assert_eq!(get(&r, "Status"), status, "{exp}: {r:?}");
        assert_eq!(r.get("Expired").map(String::as_str), expired, "{exp}: {r:?}");
        assert_eq!(get(&r, "Type"), "expiry");
        assert!(!r.contains_key("Last4"));
    }
    check_leaks(&h, &[], &["1126", "1026", "0127", "112031", "1327"]);
}

#[tokio::test]
async fn warm_cache_loads_keys_under_the_prefix() {
    let ep = moto!("warm_cache_loads_keys_under_the_prefix");
    let prefix = unique_prefix("lambda");
    let h = Harness::new(&ep, &[(vars::KEY_PREFIX, &prefix)]);
    let (a, c) = (key_id(), key_id());
    put(&h.client, &format!("{prefix}{a}"), KEY_A_PKCS8_2048).await;
    put(&h.client, &format!("{prefix}{c}"), KEY_C_PKCS8_4096).await;
    put(&h.client, &format!("{prefix}junk"), "not a key").await;
    assert_eq!(h.keys.warm().await.unwrap(), 2);
    let r = h.call(&event(&[("EncryptedCreditCard", &encrypt(&c, KEY_C_PUBLIC, VISA))])).await;
    assert_eq!(get(&r, "Status"), "Success");
    assert!(logs().contains(r#""cache":"hit""#));
    check_leaks(&h, &[&r], &[VISA, KEY_A_PKCS8_2048, KEY_C_PKCS8_4096]);
}
