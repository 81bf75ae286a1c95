//! Hostile structure: each malformation is refused with its own, named error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod support;

use esdk_message::keyring::{Keyring, RawAesKeyring, RawRsaKeyring};
use esdk_message::provider::{AwsLc, CryptoProvider, all_providers};
use esdk_message::{
    CommitmentPolicy, DecryptOptions, EncryptOptions, EncryptionContext, Error, Message, SuiteId, decrypt, encrypt,
    encrypt_connect_der,
};
use support::{TEST_KEY_ID, test_key, test_public};

const AES_KEY: [u8; 32] = [7; 32];

fn aes(provider: &'static dyn CryptoProvider) -> RawAesKeyring {
    RawAesKeyring::new(provider, "test", "aes-256", &AES_KEY).expect("key")
}

/// An unsigned multi-frame message: 40 bytes in frames of 16 (two regular frames, final of 8).
fn framed(suite: SuiteId) -> Vec<u8> {
    let options = EncryptOptions {
        suite,
        frame_length: 16,
        encryption_context: EncryptionContext::new(),
        authenticate_only_keys: vec![],
        commitment_policy: if suite.0 >= 0x0478 {
            CommitmentPolicy::RequireEncryptRequireDecrypt
        } else {
            CommitmentPolicy::ForbidEncryptAllowDecrypt
        },
    };
    encrypt(&AwsLc, &[&aes(&AwsLc)], &[0x42; 40], &options).expect("encrypts")
}

fn parse_err(bytes: &[u8]) -> Error {
    Message::parse(bytes, 16).expect_err("must not parse")
}

fn decrypt_aes(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut options = DecryptOptions::permissive();
    options.max_encrypted_data_keys = 4;
    decrypt(&AwsLc, &[&aes(&AwsLc) as &dyn Keyring], bytes, &options).map(|d| d.plaintext.expose().to_vec())
}

const REGULAR_FRAME: usize = 4 + 12 + 16 + 16;

#[test]
fn well_formed_framed_message_round_trips() {
    let m = framed(SuiteId(0x0178));
    assert_eq!(Message::parse(&m, 16).expect("parses").frame_count(), 3);
    assert_eq!(decrypt_aes(&m), Ok(vec![0x42; 40]));
}

#[test]
fn rejects_trailing_bytes_by_count() {
    let mut m = framed(SuiteId(0x0178));
    m.extend_from_slice(&[0, 0, 0]);
    assert_eq!(parse_err(&m), Error::TrailingBytes(3));
}

#[test]
fn rejects_a_wrong_first_sequence_number() {
    let mut m = framed(SuiteId(0x0178));
    let body = Message::parse(&m, 16).unwrap().header_len();
    m[body + 3] = 2;
    assert_eq!(parse_err(&m), Error::SequenceNumber { expected: 1, found: 2 });
}

#[test]
fn rejects_a_missing_final_frame() {
    let m = framed(SuiteId(0x0178));
    let body = Message::parse(&m, 16).unwrap().header_len();
    assert_eq!(parse_err(&m[..body + 2 * REGULAR_FRAME]), Error::MissingFinalFrame);
}

#[test]
fn rejects_a_repeated_final_frame() {
    let m = framed(SuiteId(0x0178));
    let body = Message::parse(&m, 16).unwrap().header_len();
    let final_frame = m[body + 2 * REGULAR_FRAME..].to_vec();
    let mut doubled = m.clone();
    doubled.extend_from_slice(&final_frame);
    assert_eq!(parse_err(&doubled), Error::RepeatedFinalFrame);
}

#[test]
fn rejects_a_final_frame_longer_than_the_frame_length() {
    let mut m = framed(SuiteId(0x0178));
    let len_at = Message::parse(&m, 16).unwrap().header_len() + 2 * REGULAR_FRAME + 4 + 4 + 12;
    m[len_at..len_at + 4].copy_from_slice(&17u32.to_be_bytes());
    assert_eq!(parse_err(&m), Error::FinalFrameTooLong { frame_length: 16, found: 17 });
}

#[test]
fn rejects_an_unsigned_suite_that_carries_a_signing_key() {
    let mut m = encrypt_connect_der(&AwsLc, TEST_KEY_ID, &test_public(), b"1234").expect("encrypts");
    m[2..4].copy_from_slice(&0x0178u16.to_be_bytes());
    assert_eq!(parse_err(&m), Error::UnexpectedSignaturePublicKey(0x0178));
}

#[test]
fn rejects_a_signed_suite_without_a_signing_key() {
    let mut m = framed(SuiteId(0x0178));
    m[2..4].copy_from_slice(&0x0378u16.to_be_bytes());
    assert_eq!(parse_err(&m), Error::MissingSignaturePublicKey);
}

#[test]
fn rejects_unknown_suites_versions_and_types_by_value() {
    let m = framed(SuiteId(0x0178));
    let mut bad = m.clone();
    bad[2..4].copy_from_slice(&0x0179u16.to_be_bytes());
    assert_eq!(parse_err(&bad), Error::UnsupportedSuite(0x0179));
    let mut bad = m.clone();
    bad[2..4].copy_from_slice(&0x0478u16.to_be_bytes());
    assert_eq!(parse_err(&bad), Error::SuiteVersionMismatch { suite: 0x0478, version: 1 });
    let mut bad = m.clone();
    bad[0] = 3;
    assert_eq!(parse_err(&bad), Error::UnsupportedVersion(3));
    let mut bad = m;
    bad[1] = 0x81;
    assert_eq!(parse_err(&bad), Error::UnsupportedMessageType(0x81));
}

#[test]
fn bounds_the_encrypted_data_key_count_while_parsing() {
    let options = EncryptOptions { frame_length: 16, ..EncryptOptions::connect() };
    let a = RawRsaKeyring::connect_public_der(&AwsLc, "a", &test_public()).expect("key");
    let b = RawRsaKeyring::connect_public_der(&AwsLc, "b", &test_public()).expect("key");
    let m = encrypt(&AwsLc, &[&a, &b], b"12", &options).expect("encrypts");
    assert_eq!(Message::parse(&m, 1).err(), Some(Error::TooManyEncryptedDataKeys { max: 1, found: 2 }));
    let mut zero = m.clone();
    let pos = find_edk_count(&m);
    zero[pos..pos + 2].copy_from_slice(&[0, 0]);
    assert_eq!(Message::parse(&zero, 2).err(), Some(Error::NoEncryptedDataKeys));
}

fn find_edk_count(m: &[u8]) -> usize {
    // version, type, suite, message ID, then the AAD length and AAD.
    let aad_len = usize::from(u16::from_be_bytes([m[20], m[21]]));
    22 + aad_len
}

#[test]
fn connect_policy_refuses_other_suites_and_committing_policy_refuses_connect() {
    let m = framed(SuiteId(0x0178));
    let r = decrypt(&AwsLc, &[&aes(&AwsLc) as &dyn Keyring], &m, &DecryptOptions::connect());
    assert_eq!(r.err(), Some(Error::SuiteNotAllowed(0x0178)));
    let c = encrypt_connect_der(&AwsLc, TEST_KEY_ID, &test_public(), b"1234").expect("encrypts");
    let k = RawRsaKeyring::connect_private_der(&AwsLc, TEST_KEY_ID, &test_key()).expect("key");
    let r = decrypt(&AwsLc, &[&k as &dyn Keyring], &c, &DecryptOptions::default());
    assert_eq!(r.err(), Some(Error::SuiteForbiddenByCommitmentPolicy(0x0378)));
}

#[test]
fn a_flipped_commitment_is_caught_before_the_header_tag() {
    for suite in [SuiteId(0x0478), SuiteId(0x0578)] {
        let mut m = framed(suite);
        let commitment_end = Message::parse(&m, 16).unwrap().header_len() - 16;
        m[commitment_end - 1] ^= 1;
        assert_eq!(decrypt_aes(&m), Err(Error::CommitmentMismatch));
    }
}

#[test]
fn committing_and_non_framed_messages_round_trip_with_every_provider() {
    for provider in all_providers() {
        for suite in SuiteId::ALL {
            for frame_length in [0, 1, 16, 4096] {
                let committing = suite.suite().unwrap().is_committing();
                let options = EncryptOptions {
                    suite,
                    frame_length,
                    encryption_context: [("purpose".to_owned(), "test".to_owned())].into(),
                    authenticate_only_keys: vec![],
                    commitment_policy: if committing {
                        CommitmentPolicy::RequireEncryptRequireDecrypt
                    } else {
                        CommitmentPolicy::ForbidEncryptAllowDecrypt
                    },
                };
                let keyring = aes(provider);
                for len in [0usize, 1, 16, 33] {
                    let pt: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                    let m = encrypt(provider, &[&keyring], &pt, &options).expect("encrypts");
                    let d = decrypt(provider, &[&keyring as &dyn Keyring], &m, &DecryptOptions::permissive())
                        .unwrap_or_else(|e| panic!("{suite} fl={frame_length} len={len} {}: {e}", provider.name()));
                    assert_eq!(d.plaintext.expose(), pt.as_slice());
                }
            }
        }
    }
}

#[test]
fn authenticate_only_context_must_be_reproduced_exactly() {
    let options = EncryptOptions {
        suite: SuiteId(0x0478),
        frame_length: 64,
        encryption_context: [("tenant".to_owned(), "a".to_owned()), ("stored".to_owned(), "s".to_owned())].into(),
        authenticate_only_keys: vec!["tenant".into()],
        commitment_policy: CommitmentPolicy::RequireEncryptRequireDecrypt,
    };
    let m = encrypt(&AwsLc, &[&aes(&AwsLc)], b"secret", &options).expect("encrypts");
    let parsed = Message::parse(&m, 4).unwrap();
    assert!(!parsed.header().encryption_context().contains_key("tenant"));
    let with = |ctx: &[(&str, &str)], required: &[&str]| {
        let o = DecryptOptions {
            reproduced_context: ctx.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            required_context_keys: required.iter().map(|k| (*k).to_owned()).collect(),
            ..DecryptOptions::default()
        };
        decrypt(&AwsLc, &[&aes(&AwsLc) as &dyn Keyring], &m, &o).map(|d| d.plaintext.expose().to_vec())
    };
    assert_eq!(with(&[("tenant", "a")], &["tenant"]), Ok(b"secret".to_vec()));
    // Without it, the raw AES keyring's AAD already differs: no key unwraps.
    assert_eq!(with(&[], &[]), Err(Error::NoMatchingKey));
    assert_eq!(with(&[("tenant", "b")], &[]), Err(Error::NoMatchingKey));
    assert_eq!(with(&[("stored", "x")], &[]), Err(Error::EncryptionContextMismatch("stored".into())));
    assert_eq!(with(&[], &["tenant"]), Err(Error::MissingRequiredEncryptionContextKey("tenant".into())));
}

#[test]
fn refuses_reserved_context_keys_on_encrypt() {
    let options = EncryptOptions {
        encryption_context: [("aws-crypto-public-key".to_owned(), "x".to_owned())].into(),
        ..EncryptOptions::connect()
    };
    let k = RawRsaKeyring::connect_public_der(&AwsLc, TEST_KEY_ID, &test_public()).expect("key");
    assert_eq!(
        encrypt(&AwsLc, &[&k], b"1", &options).err(),
        Some(Error::ReservedEncryptionContextKey("aws-crypto-public-key".into()))
    );
}

#[test]
fn input_that_is_not_a_message_is_named_as_such() {
    assert_eq!(decrypt_aes(b"hello world"), Err(Error::NotAMessage));
    assert_eq!(decrypt_aes(b""), Err(Error::Truncated("version")));
    assert_eq!(decrypt_aes(b"AAAA"), Err(Error::NotAMessage));
}
