//! Every decrypt-vector set in `../shared`, with every provider.
//!
//! Expected counts come from each set's README: all raw AES / raw RSA cases must decrypt, AWS
//! KMS and raw ECDH cases are skipped (counted), and every case of the invalid set is rejected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "kit/mod.rs"]
mod kit;
mod support;

use esdk_message::Error;
use esdk_message::provider::all_providers;

fn run_set(test: &str, rel: &str, expect_reject: bool, passed: usize, skipped: usize) {
    let Some(shared) = support::shared_dir() else {
        support::skip(test, "../shared is absent");
        return;
    };
    let manifest = shared.join(rel);
    for provider in all_providers() {
        let results = kit::run(provider, &manifest, expect_reject).expect("manifest readable");
        for r in &results {
            if let kit::Outcome::Failed(why) = &r.outcome {
                eprintln!("FAILED {} [{}]: {why}", r.name, provider.name());
            }
        }
        let counts = kit::count(&results);
        eprintln!("{rel} [{}]: {counts}", provider.name());
        assert_eq!(counts, kit::Counts { passed, failed: 0, skipped }, "{rel} with {}", provider.name());
        if expect_reject {
            // The invalid set is wrong in its header AAD or HKDF info: the header tag must fail.
            for r in &results {
                assert_eq!(r.error, Some(Error::HeaderAuthFailed), "{} [{}]", r.name, provider.name());
            }
        }
    }
}

#[test]
fn net_4_0_1_decrypts_all_99_raw_cases() {
    run_set("net_4_0_1", "esdk-vectors/v4-Net-4.0.1/manifest.json", false, 99, 33);
}

#[test]
fn net_4_0_0_valid_required_context_cases_decrypt() {
    run_set("net_4_0_0_valid", "esdk-vectors/valid-Net-4.0.0/manifest.json", false, 5, 0);
}

#[test]
fn java_dafny_4_1_0_decrypts_all_187_raw_cases() {
    run_set("java_dafny", "esdk-vectors/java-dafny-4.1.0/decrypt-manifest.json", false, 187, 300);
}

#[test]
fn python_non_framed_cases_decrypt() {
    run_set("python_non_framed", "esdk-vectors/nonframed-python-2.0.0/manifest.json", false, 2, 0);
}

#[test]
fn real_amazon_connect_ciphertext_decrypts() {
    run_set("connect_real", "connect-vectors/manifest.json", false, 1, 0);
}

#[test]
fn net_4_0_0_invalid_cases_are_all_rejected() {
    run_set("net_4_0_0_invalid", "esdk-vectors/invalid-Net-4.0.0/manifest.json", true, 28, 0);
}

#[test]
fn real_connect_ciphertext_inspects_without_a_key() {
    let Some(shared) = support::shared_dir() else {
        support::skip("real_connect_inspect", "../shared is absent");
        return;
    };
    let b64 = std::fs::read(shared.join("connect-vectors/connect-real-1.b64")).expect("readable");
    for provider in all_providers() {
        let i = esdk_message::inspect(provider, &b64, 1).expect("inspects");
        assert_eq!(i.version, 1);
        assert_eq!(i.suite, esdk_message::SuiteId(0x0378));
        assert_eq!(i.frame_length, 4096);
        assert_eq!(i.frame_count, 1);
        assert_eq!(i.encrypted_data_keys.len(), 1);
        assert_eq!(i.encrypted_data_keys[0].provider_id, "AmazonConnect");
        assert_eq!(i.encrypted_data_keys[0].key_name, "a5ecd749-4bd8-4a94-bfde-27eefe4f12b1");
        assert_eq!(i.encrypted_data_keys[0].ciphertext_len, 512);
        assert_eq!(i.encryption_context().iter().map(|(k, _)| k).collect::<Vec<_>>(), ["aws-crypto-public-key"]);
        assert_eq!(i.signature_check, esdk_message::SignatureCheck::SelfConsistent);
    }
}
