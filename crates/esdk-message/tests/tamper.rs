//! A Connect-shaped message survives no change: every single-bit flip and every truncation is
//! rejected, with every provider; so are swapped key IDs and a wrong OAEP hash.
//!
//! The exhaustive bit flips use an RSA-2048 key, the rest the RSA-4096 one Connect recommends:
//! nearly every flip costs one RSA private-key operation per provider (a flip anywhere past the
//! wrapped key still reaches the unwrap). At 4096 bits (885-byte message, 7,080 flips) the test
//! took 141 s of the clean-clone CI's nextest step and 106 s here; at 2048 bits (629 bytes, 5,032
//! flips) 23 s here. What it checks does not depend on the modulus: the parser, the tags and the
//! signature see the same layout, with a 256-byte wrapped key instead of 512.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use esdk_message::keyring::{CONNECT_NAMESPACE, Keyring, RawRsaKeyring};
use esdk_message::provider::{AwsLc, CryptoProvider, RsaPadding, all_providers};
use esdk_message::{DecryptOptions, EncryptOptions, Error, Hash, decrypt, encrypt, encrypt_connect_der};
use support::{TEST_KEY_ID, test_key, test_public};

const CARD: &[u8] = b"4111111111111111";

fn connect_message() -> Vec<u8> {
    encrypt_connect_der(&AwsLc, TEST_KEY_ID, &test_public(), CARD).expect("encrypts")
}

fn keyring(provider: &dyn CryptoProvider) -> RawRsaKeyring {
    RawRsaKeyring::connect_private_der(provider, TEST_KEY_ID, &test_key()).expect("test key loads")
}

/// The same message shape under the RSA-2048 fixture key, and its keyring.
fn connect_message_2048() -> Vec<u8> {
    let public = test_support::fixtures::der(test_support::fixtures::KEY_A_PUBLIC);
    encrypt_connect_der(&AwsLc, TEST_KEY_ID, &public, CARD).expect("encrypts")
}

fn keyring_2048(provider: &dyn CryptoProvider) -> RawRsaKeyring {
    let der = esdk_message::key::PrivateKeyDer::from_pkcs8_der(zeroize::Zeroizing::new(test_support::fixtures::der(
        test_support::fixtures::KEY_A_PKCS8_2048,
    )));
    RawRsaKeyring::connect_private_der(provider, TEST_KEY_ID, &der).expect("test key loads")
}

/// Decrypts every candidate on two threads; returns the errors by kind, failing on any success.
fn reject_all(provider: &'static dyn CryptoProvider, candidates: Vec<Vec<u8>>) -> BTreeMap<String, usize> {
    reject_all_with(provider, &keyring(provider), candidates)
}

fn reject_all_with(
    provider: &'static dyn CryptoProvider,
    keyring: &RawRsaKeyring,
    candidates: Vec<Vec<u8>>,
) -> BTreeMap<String, usize> {
    let options = DecryptOptions::connect();
    let chunks: Vec<&[Vec<u8>]> = candidates.chunks(candidates.len().div_ceil(2).max(1)).collect();
    let tallies: Vec<BTreeMap<String, usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let options = &options;
                s.spawn(move || {
                    let mut tally = BTreeMap::new();
                    for (i, m) in chunk.iter().enumerate() {
                        match decrypt(provider, &[keyring as &dyn Keyring], m, options) {
                            Ok(_) => panic!("altered message {i} decrypted with {}", provider.name()),
                            Err(e) => *tally.entry(kind(&e)).or_insert(0) += 1,
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("no panic")).collect()
    });
    let mut total = BTreeMap::new();
    for t in tallies {
        for (k, n) in t {
            *total.entry(k).or_insert(0) += n;
        }
    }
    total
}

fn kind(e: &Error) -> String {
    format!("{e:?}").split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
}

#[test]
fn every_single_bit_flip_is_rejected_by_every_provider() {
    let message = connect_message_2048();
    let mut flipped = Vec::with_capacity(message.len() * 8);
    for i in 0..message.len() {
        for bit in 0..8 {
            let mut m = message.clone();
            m[i] ^= 1 << bit;
            flipped.push(m);
        }
    }
    for provider in all_providers() {
        let tally = reject_all_with(provider, &keyring_2048(provider), flipped.clone());
        let total: usize = tally.values().sum();
        eprintln!("{} bit flips rejected by {}: {tally:?}", total, provider.name());
        assert_eq!(total, message.len() * 8);
        // The tag and signature checks, not just the parser, must be what catches most of them.
        assert!(tally.get("HeaderAuthFailed").copied().unwrap_or(0) > 0);
        assert!(tally.get("FrameAuthFailed").copied().unwrap_or(0) > 0);
        assert!(tally.get("SignatureInvalid").copied().unwrap_or(0) > 0);
        assert!(tally.get("NoMatchingKey").copied().unwrap_or(0) > 0);
    }
}

#[test]
fn every_truncation_is_rejected_by_every_provider() {
    let message = connect_message();
    let truncated: Vec<Vec<u8>> = (0..message.len()).map(|n| message[..n].to_vec()).collect();
    for provider in all_providers() {
        let tally = reject_all(provider, truncated.clone());
        eprintln!("{} truncations rejected by {}: {tally:?}", message.len(), provider.name());
        assert_eq!(tally.values().sum::<usize>(), message.len());
    }
}

#[test]
fn base64_message_decrypts_and_base64_bit_flips_are_rejected() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(connect_message()).into_bytes();
    for provider in all_providers() {
        let d = decrypt(provider, &[&keyring(provider)], &b64, &DecryptOptions::connect()).expect("decrypts");
        assert_eq!(d.plaintext.expose(), CARD);
    }
    let mut flipped = Vec::new();
    for i in (0..b64.len()).step_by(7) {
        let mut m = b64.clone();
        m[i] ^= 0x01;
        flipped.push(m);
    }
    let tally = reject_all(&AwsLc, flipped.clone());
    assert_eq!(tally.values().sum::<usize>(), flipped.len());
}

#[test]
fn a_message_for_another_key_id_finds_no_key() {
    let message = encrypt_connect_der(&AwsLc, "other-key-id", &test_public(), CARD).expect("encrypts");
    for provider in all_providers() {
        let r = decrypt(provider, &[&keyring(provider)], &message, &DecryptOptions::connect());
        assert_eq!(r.err(), Some(Error::NoMatchingKey));
    }
}

#[test]
fn swapping_the_key_id_in_the_header_fails_header_authentication() {
    // Same length, different ID: the RSA unwrap still works (the ID is not bound into OAEP),
    // so only the header tag can catch it, and it must.
    let message = connect_message();
    let swapped_id = TEST_KEY_ID.replace('0', "9");
    let at = message.windows(TEST_KEY_ID.len()).position(|w| w == TEST_KEY_ID.as_bytes()).expect("key ID in header");
    let mut m = message.clone();
    m[at..at + TEST_KEY_ID.len()].copy_from_slice(swapped_id.as_bytes());
    for provider in all_providers() {
        let swapped = RawRsaKeyring::connect_private_der(provider, &swapped_id, &test_key()).expect("loads");
        let r = decrypt(provider, &[&swapped], &m, &DecryptOptions::connect());
        assert_eq!(r.err(), Some(Error::HeaderAuthFailed));
    }
}

#[test]
fn a_wrong_oaep_hash_is_rejected_both_ways() {
    let der = test_key();
    let spki = test_public();
    for provider in all_providers() {
        // Our key with SHA-256 against a Connect (SHA-512) message.
        let sha256 = RawRsaKeyring::from_key_pair(
            provider,
            CONNECT_NAMESPACE,
            TEST_KEY_ID,
            &der,
            &spki,
            RsaPadding::Oaep(Hash::Sha256),
        )
        .expect("loads");
        let r = decrypt(provider, &[&sha256], &connect_message(), &DecryptOptions::connect());
        assert_eq!(r.err(), Some(Error::NoMatchingKey));
        // A SHA-256 message against the Connect keyring.
        let message = encrypt(provider, &[&sha256], CARD, &EncryptOptions::connect()).expect("encrypts");
        let r = decrypt(provider, &[&keyring(provider)], &message, &DecryptOptions::connect());
        assert_eq!(r.err(), Some(Error::NoMatchingKey));
    }
}
