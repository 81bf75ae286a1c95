//! Checked-in synthetic messages with random header and frame IVs, the shape real Connect output
//! has (our `encrypt_connect_der` writes it too). They must decrypt with both providers, and each must
//! really carry random IVs, so the vectors keep testing what they claim to.
//!
//! `tests/data/random-iv-vectors.json` was made by this test with `SECURE_IVR_BLESS=1` under the
//! test-only key in `tests/data`; regenerate only on purpose (the ciphertexts change every time).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use esdk_message::keyring::RawRsaKeyring;
use esdk_message::provider::{all_providers, default_provider};
use esdk_message::{DecryptOptions, Message, decode_input, decrypt, encrypt_connect_der};
use support::{TEST_KEY_ID, test_key, test_public};

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const FINAL: u32 = 0xFFFF_FFFF;

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/random-iv-vectors.json")
}

/// Plaintexts that cover one short frame, one exactly full frame, two and three frames. Test card
/// numbers and digits only: nothing real.
fn plaintexts() -> Vec<(String, Vec<u8>)> {
    let digits = |n: usize| b"0123456789".iter().copied().cycle().take(n).collect::<Vec<u8>>();
    vec![
        ("card".into(), b"4111111111111111".to_vec()),
        ("one-full-frame".into(), digits(4096)),
        ("two-frames".into(), digits(4097)),
        ("three-frames".into(), digits(2 * 4096 + 17)),
    ]
}

/// The header-authentication IV and each frame's (sequence number, IV), read from the bytes of a
/// framed version-1 message (what Connect sends).
fn ivs(bytes: &[u8]) -> ([u8; IV_LEN], Vec<(u32, [u8; IV_LEN])>) {
    let m = Message::parse(bytes, 1).unwrap();
    let frame_len = m.header().frame_length() as usize;
    let h = m.header_len();
    let header_iv: [u8; IV_LEN] = bytes[h - TAG_LEN - IV_LEN..h - TAG_LEN].try_into().unwrap();
    let u32_at = |p: usize| u32::from_be_bytes(bytes[p..p + 4].try_into().unwrap());
    let (mut p, mut frames) = (h, Vec::new());
    loop {
        let first = u32_at(p);
        if first == FINAL {
            let seq = u32_at(p + 4);
            frames.push((seq, bytes[p + 8..p + 8 + IV_LEN].try_into().unwrap()));
            return (header_iv, frames);
        }
        frames.push((first, bytes[p + 4..p + 4 + IV_LEN].try_into().unwrap()));
        p += 4 + IV_LEN + frame_len + TAG_LEN;
    }
}

fn sequence_iv(seq: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    iv[IV_LEN - 4..].copy_from_slice(&seq.to_be_bytes());
    iv
}

fn bless() {
    let provider = default_provider();
    let vectors: Vec<_> = plaintexts()
        .into_iter()
        .map(|(name, pt)| {
            let ct = encrypt_connect_der(provider, TEST_KEY_ID, &test_public(), &pt).unwrap();
            serde_json::json!({
                "name": name,
                "plaintext": String::from_utf8(pt).unwrap(),
                "ciphertext": STANDARD.encode(&ct),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "about": "Synthetic Connect-shaped messages (suite 0x0378, frames of 4096, random IVs) under the test-only key crates/test-support/fixtures/rsa-4096-test-key.pem; made by tests/random_ivs.rs with SECURE_IVR_BLESS=1.",
        "key_id": TEST_KEY_ID,
        "vectors": vectors,
    });
    std::fs::write(vectors_path(), serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}

#[test]
fn random_iv_vectors_decrypt_with_every_provider_and_carry_random_ivs() {
    if std::env::var("SECURE_IVR_BLESS").is_ok_and(|v| v == "1") {
        bless();
    }
    let text = std::fs::read_to_string(vectors_path()).expect("tests/data/random-iv-vectors.json");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["key_id"], TEST_KEY_ID);
    let vectors = doc["vectors"].as_array().unwrap();
    let want = plaintexts();
    assert_eq!(vectors.len(), want.len(), "one vector per plaintext shape");
    let mut checked = 0;
    for (v, (name, pt)) in vectors.iter().zip(&want) {
        assert_eq!(v["name"], name.as_str());
        assert_eq!(v["plaintext"].as_str().unwrap().as_bytes(), pt.as_slice(), "{name}");
        let ct_text = v["ciphertext"].as_str().unwrap();
        let bytes = decode_input(ct_text.as_bytes()).unwrap();
        let (header_iv, frames) = ivs(&bytes);
        assert_ne!(header_iv, [0u8; IV_LEN], "{name}: header IV is zero");
        assert_eq!(frames.len(), pt.len().div_ceil(4096).max(1), "{name}: frame count");
        for (seq, iv) in &frames {
            assert_ne!(*iv, sequence_iv(*seq), "{name}: frame {seq} IV is its sequence number");
        }
        for provider in all_providers() {
            let keyring = RawRsaKeyring::connect_private_der(provider, TEST_KEY_ID, &test_key()).unwrap();
            let out = decrypt(provider, &[&keyring], ct_text.as_bytes(), &DecryptOptions::connect())
                .unwrap_or_else(|e| panic!("{name} with {}: {e}", provider.name()));
            assert_eq!(out.plaintext.expose(), pt.as_slice(), "{name} with {}", provider.name());
            checked += 1;
        }
    }
    assert_eq!(checked, want.len() * all_providers().len());
}

#[test]
fn a_random_iv_vector_with_one_iv_bit_flipped_fails_authentication() {
    let text = std::fs::read_to_string(vectors_path()).expect("tests/data/random-iv-vectors.json");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ct = doc["vectors"][0]["ciphertext"].as_str().unwrap();
    let mut bytes = decode_input(ct.as_bytes()).unwrap().into_owned();
    let h = Message::parse(&bytes, 1).unwrap().header_len();
    for (what, at) in [("header IV", h - TAG_LEN - IV_LEN), ("final frame IV", h + 8)] {
        bytes[at] ^= 1;
        for provider in all_providers() {
            let keyring = RawRsaKeyring::connect_private_der(provider, TEST_KEY_ID, &test_key()).unwrap();
            let r = decrypt(provider, &[&keyring], &bytes, &DecryptOptions::connect());
            assert!(r.is_err(), "{what} flipped, {}: decrypted anyway", provider.name());
        }
        bytes[at] ^= 1;
    }
}
