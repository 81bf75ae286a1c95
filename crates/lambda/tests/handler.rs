//! Handler tests that need no SSM: policy refusals that must happen before any key fetch, and
//! event shapes. The key store reads from the workspace's counting in-memory source.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use esdk_message::keyring::{Keyring, RawRsaKeyring};
use esdk_message::{CommitmentPolicy, EncryptOptions, SuiteId};
use keystore::{KeyStore, KeyStoreConfig, ParameterSource};
use secure_ivr_lambda::{Config, Deps, Response, handle};
use test_support::memory::MemorySource;

async fn call(source: &Arc<MemorySource>, ev: &secure_ivr_lambda::ConnectEvent) -> Response {
    call_with(source, ev, &[]).await
}

async fn call_with(
    source: &Arc<MemorySource>,
    ev: &secure_ivr_lambda::ConnectEvent,
    vars: &[(&str, &str)],
) -> Response {
    capture_logs();
    let map: std::collections::HashMap<&str, &str> = vars.iter().copied().collect();
    let config = Config::from_lookup(&|k| map.get(k).map(|v| (*v).to_owned())).unwrap();
    let provider = esdk_message::provider::default_provider();
    let keys = KeyStore::new(Arc::clone(source) as Arc<dyn ParameterSource>, provider, KeyStoreConfig::default());
    let metrics = CaptureMetrics::default();
    let r = handle(
        ev,
        &Deps { keys: &keys, config: &config, metrics: &metrics, provider, payments: None },
        TODAY,
        answer_by(&config),
    )
    .await;
    assert_response_alphabet(&r);
    r
}

fn with_options(key_ids: &[&str], options: &EncryptOptions) -> String {
    let provider = esdk_message::provider::default_provider();
    let spki = test_support::fixtures::der(KEY_A_PUBLIC);
    let rings: Vec<RawRsaKeyring> =
        key_ids.iter().map(|id| RawRsaKeyring::connect_public_der(provider, id, &spki).unwrap()).collect();
    let refs: Vec<&dyn Keyring> = rings.iter().map(|r| r as &dyn Keyring).collect();
    let ct = esdk_message::encrypt(provider, &refs, b"4111111111111111", options).unwrap();
    base64::engine::general_purpose::STANDARD.encode(ct)
}

fn status(r: &Response) -> (&str, &str) {
    (r.get("Status").map_or("", String::as_str), r.get("ErrorCode").map_or("", String::as_str))
}

/// Options that write `suite` with one data key, as Connect writes 0x0378.
fn connect_shaped(suite: SuiteId) -> EncryptOptions {
    let committing = suite.suite().unwrap().message_version == 2;
    let commitment_policy = if committing {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    };
    EncryptOptions { suite, commitment_policy, ..EncryptOptions::connect() }
}

#[tokio::test]
async fn other_suites_are_refused_before_any_key_fetch() {
    let others: Vec<SuiteId> = SuiteId::ALL.into_iter().filter(|s| !esdk_message::CONNECT_SUITES.contains(s)).collect();
    assert_eq!(others.len(), 9, "eleven suites, two of them Connect's");
    for suite in others {
        let src = MemorySource::with(&[]);
        let r = call(&src, &event(&[("EncryptedCreditCard", &with_options(&["k"], &connect_shaped(suite)))])).await;
        assert_eq!(status(&r), ("Error", "MalformedCiphertext"), "suite {suite}");
        assert_eq!(src.gets(), 0, "suite {suite}");
    }
}

#[tokio::test]
async fn the_committing_signed_suite_decrypts_like_connects() {
    // 0x0578 (key commitment, ECDSA P-384) with the same keyring: accepted so that a move of
    // Connect's to the committing suite does not stop every call (issue 11).
    let id = key_id();
    let src = MemorySource::with(&[(&format!("{}{id}", keystore::DEFAULT_PREFIX), KEY_A_PKCS8_2048)]);
    let suite = SuiteId::AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
    let ct = with_options(&[&id], &connect_shaped(suite));
    let r = call(&src, &event(&[("EncryptedCreditCard", &ct)])).await;
    assert_eq!(status(&r), ("Success", ""), "{r:?}");
    assert_eq!((r["Last4"].as_str(), r["Brand"].as_str()), ("1111", "Visa"));
    assert_eq!(src.gets(), 1);
    assert!(logs().contains("\"suite\":\"0x0578\""), "the suite is logged");
}

#[tokio::test]
async fn several_data_keys_are_refused_before_any_key_fetch() {
    let src = MemorySource::with(&[]);
    let r =
        call(&src, &event(&[("EncryptedCreditCard", &with_options(&["k1", "k2"], &EncryptOptions::connect()))])).await;
    assert_eq!(status(&r), ("Error", "MalformedCiphertext"));
    assert_eq!(src.gets(), 0);
}

#[tokio::test]
async fn key_ids_that_could_leave_the_prefix_never_reach_ssm() {
    let src = MemorySource::with(&[]);
    let r =
        call(&src, &event(&[("EncryptedCreditCard", &encrypt("../../other/key", KEY_A_PUBLIC, "4111111111111111"))]))
            .await;
    assert_eq!(status(&r), ("Error", "KeyNotFound"));
    assert_eq!(src.gets(), 0);
}

#[tokio::test]
async fn undeclared_parameters_are_never_decrypted_by_default() {
    let id = key_id();
    let src = MemorySource::with(&[(&format!("{}{id}", keystore::DEFAULT_PREFIX), KEY_A_PKCS8_2048)]);
    // A message a caller could have put in a contact attribute, under a key ID of their choosing.
    let ct = encrypt(&id, KEY_A_PUBLIC, "4111111111111111");
    let r = call(&src, &event(&[("CardData", &ct), ("Greeting", "AQID"), ("Language", "en-US")])).await;
    assert_eq!(status(&r), ("Error", "NoEncryptedInput"), "{r:?}");
    assert!(!r.contains_key("CardData_Status"), "{r:?}");
    assert_eq!(src.gets(), 0, "an undeclared parameter must not reach SSM");
    assert!(logs().contains("not declared"), "the skip should be logged");
}

#[tokio::test]
async fn undeclared_parameters_beside_a_declared_one_are_left_alone() {
    let id = key_id();
    let src = MemorySource::with(&[(&format!("{}{id}", keystore::DEFAULT_PREFIX), KEY_A_PKCS8_2048)]);
    let ct = encrypt(&id, KEY_A_PUBLIC, "4111111111111111");
    let other = encrypt("attacker-chosen-key-id", KEY_A_PUBLIC, "4111111111111111");
    let r = call(&src, &event(&[("EncryptedCreditCard", &ct), ("Note", &other)])).await;
    assert_eq!(status(&r), ("Success", ""), "{r:?}");
    assert_eq!(r["Values"], "1");
    assert_eq!(src.gets(), 1, "only the declared value's key is fetched");
}

#[tokio::test]
async fn declared_by_type_parameter_is_decrypted() {
    let id = key_id();
    let src = MemorySource::with(&[(&format!("{}{id}", keystore::DEFAULT_PREFIX), KEY_A_PKCS8_2048)]);
    let ct = encrypt(&id, KEY_A_PUBLIC, "4111111111111111");
    let r = call(&src, &event(&[("CardData", &ct), ("CardDataType", "card")])).await;
    assert_eq!(status(&r), ("Success", ""), "{r:?}");
    assert_eq!(r["CardData_Last4"], "1111");
}

#[tokio::test]
async fn undeclared_parameters_are_inputs_only_if_they_parse_when_configured() {
    let id = key_id();
    let src = MemorySource::with(&[(&format!("{}{id}", keystore::DEFAULT_PREFIX), KEY_A_PKCS8_2048)]);
    let ct = encrypt(&id, KEY_A_PUBLIC, "4111111111111111");
    let ev = event(&[("CardData", &ct), ("Greeting", "AQID"), ("Language", "en-US")]);
    let r = call_with(&src, &ev, &[(secure_ivr_lambda::config::vars::DECRYPT_UNDECLARED, "true")]).await;
    assert_eq!(status(&r), ("Success", ""), "{r:?}");
    assert_eq!(r["Values"], "1");
    assert_eq!(r["CardData_Last4"], "1111");
}

#[tokio::test]
async fn unknown_type_declaration_is_an_error() {
    let src = MemorySource::with(&[]);
    let r = call(&src, &event(&[("EncryptedSsn", "Timeout"), ("EncryptedSsnType", "ssn")])).await;
    assert_eq!(status(&r), ("Error", "MalformedCiphertext"));
}

#[tokio::test]
async fn empty_event_is_no_encrypted_input() {
    let src = MemorySource::with(&[]);
    let ev: secure_ivr_lambda::ConnectEvent = serde_json::from_str("{}").unwrap();
    assert_eq!(status(&call(&src, &ev).await), ("Error", "NoEncryptedInput"));
}

#[tokio::test]
async fn parameter_names_are_sanitized_in_response_keys() {
    let src = MemorySource::with(&[]);
    let r = call(&src, &event(&[("Encrypted Card.1", "Timeout")])).await;
    assert_eq!(r.get("Encrypted_Card_1_Status").map(String::as_str), Some("NoInput"), "{r:?}");
}

#[tokio::test]
async fn a_data_key_of_another_provider_is_key_not_found_before_any_key_fetch() {
    let ct = base64::engine::general_purpose::STANDARD.decode(encrypt("k", KEY_A_PUBLIC, "4111111111111111")).unwrap();
    let at = ct.windows(13).position(|w| w == b"AmazonConnect").expect("the provider ID is in the header");
    for replacement in [b'c', b'\xff'] {
        // `AmazonConnecc` (another provider) and an invalid UTF-8 byte: neither names a Connect key.
        let mut altered = ct.clone();
        altered[at + 12] = replacement;
        let src = MemorySource::with(&[]);
        let value = base64::engine::general_purpose::STANDARD.encode(&altered);
        let r = call(&src, &event(&[("EncryptedCreditCard", &value)])).await;
        assert_eq!(status(&r), ("Error", "KeyNotFound"), "{r:?}");
        assert_eq!(src.gets(), 0);
    }
}

#[test]
fn select_inputs_names_the_message_shaped_undeclared_parameters_it_leaves_alone() {
    use secure_ivr_lambda::ValueType;
    use secure_ivr_lambda::event::{Input, SelectOptions, select_inputs};
    let ct = encrypt("k", KEY_A_PUBLIC, "4111111111111111");
    let ev = event(&[("EncryptedPin", "Timeout"), ("EncryptedPinType", "digits"), ("CardData", &ct), ("Note", "AQID")]);
    let pin = Input { name: "EncryptedPin", value: "Timeout", kind: ValueType::Digits };

    let off = select_inputs(&ev, SelectOptions { default_type: ValueType::Card, decrypt_undeclared: false }).unwrap();
    assert_eq!((off.inputs.as_slice(), off.undeclared_skipped.as_slice()), (&[pin][..], &["CardData"][..]));

    let on = select_inputs(&ev, SelectOptions { default_type: ValueType::Cvv, decrypt_undeclared: true }).unwrap();
    let card = Input { name: "CardData", value: &ct, kind: ValueType::Cvv };
    assert_eq!(on.inputs, [card, pin]);
    assert!(on.undeclared_skipped.is_empty());
}
