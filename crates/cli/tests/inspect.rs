//! `inspect` says only what it can know, and `--private-key` verifies for real. The re-signed
//! message below is the attack of issue 11: change the key ID, put in a fresh P-384 signing key
//! and re-sign. The signature then verifies with the key the message carries, so without the
//! private key nothing can call it valid; with the private key the header tag fails.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{assert_code, bin, err, json, out, run, write};

const CARD: &str = "4111111111111111";

fn keygen_offline(dir: &Path) -> (PathBuf, PathBuf) {
    let key = dir.join("private.pem");
    let mut c = bin();
    c.args(["--output", "json", "keygen", "--no-store", "--bits", "2048", "--private-key-out"])
        .arg(&key)
        .arg("--out-dir")
        .arg(dir.join("public"));
    let o = run(c, None);
    assert_code(&o, 0);
    (key, PathBuf::from(json(&o)["files"][0].as_str().expect("cert path")))
}

/// A Connect-style message (suite 0x0378, key ID `key-1`), raw bytes.
fn connect_message(cert: &Path) -> Vec<u8> {
    let mut c = bin();
    c.args(["encrypt", "--key-id", "key-1", "--text", CARD, "--certificate"]).arg(cert);
    let o = run(c, None);
    assert_code(&o, 0);
    STANDARD.decode(out(&o).trim()).expect("base64 message")
}

/// A cursor over the message, for the rewrite below.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        out
    }
    fn u16(&mut self) -> usize {
        let b = self.take(2);
        usize::from(u16::from_be_bytes([b[0], b[1]]))
    }
    fn field(&mut self) -> &'a [u8] {
        let n = self.u16();
        self.take(n)
    }
}

fn push_field(out: &mut Vec<u8>, value: &[u8]) {
    out.extend_from_slice(&u16::try_from(value.len()).expect("short field").to_be_bytes());
    out.extend_from_slice(value);
}

/// What anyone can do without the private key (ESDK message format version 1): rewrite the EDK's
/// key ID to `new_key_id`, replace `aws-crypto-public-key` by a fresh P-384 key, keep the header
/// IV and tag and the body as they are, and sign the result with the fresh key.
fn resign(message: &[u8], new_key_id: &str) -> Vec<u8> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, &rng).expect("P-384 key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, pkcs8.as_ref()).expect("P-384 pair");
    let point = pair.public_key().as_ref(); // 0x04 || X || Y
    assert_eq!((point.len(), point[0]), (97, 4), "uncompressed P-384 point");
    let mut compressed = vec![2 | (point[96] & 1)];
    compressed.extend_from_slice(&point[1..49]);
    let public_b64 = STANDARD.encode(&compressed);

    let mut c = Cursor { bytes: message, at: 0 };
    let mut out = c.take(20).to_vec(); // version, type, suite, message ID
    assert_eq!(&out[..4], &[0x01, 0x80, 0x03, 0x78], "a version-1 message of suite 0x0378");
    let aad_len = c.u16();
    let aad_end = c.at + aad_len;
    let mut aad = Vec::new();
    let pairs = c.u16();
    aad.extend_from_slice(&u16::try_from(pairs).expect("pairs").to_be_bytes());
    let mut replaced = false;
    for _ in 0..pairs {
        let k = c.field();
        let v = c.field();
        push_field(&mut aad, k);
        if k == b"aws-crypto-public-key" {
            push_field(&mut aad, public_b64.as_bytes());
            replaced = true;
        } else {
            push_field(&mut aad, v);
        }
    }
    assert!(replaced && c.at == aad_end, "the context holds the signing key and nothing after it");
    push_field(&mut out, &aad);
    let edks = c.u16();
    out.extend_from_slice(&u16::try_from(edks).expect("edks").to_be_bytes());
    for _ in 0..edks {
        push_field(&mut out, c.field()); // provider ID
        c.field(); // provider info: the key ID
        push_field(&mut out, new_key_id.as_bytes());
        push_field(&mut out, c.field()); // the wrapped data key, untouched
    }
    // The rest up to the footer: content type, reserved, IV length, frame length, header IV and
    // tag, the frames. The footer is the signature's length and the signature.
    let rest = &message[c.at..];
    let sig_len = (60..=110)
        .find(|&l| {
            rest.len() >= l + 2
                && usize::from(u16::from_be_bytes([rest[rest.len() - l - 2], rest[rest.len() - l - 1]])) == l
        })
        .expect("a footer");
    out.extend_from_slice(&rest[..rest.len() - sig_len - 2]);
    let signature = pair.sign(&rng, &out).expect("sign");
    push_field(&mut out, signature.as_ref());
    out
}

fn inspect(message: &[u8], private_key: Option<&Path>) -> std::process::Output {
    let mut c = bin();
    c.args(["--output", "json", "inspect"]);
    if let Some(k) = private_key {
        c.arg("--private-key").arg(k);
    }
    run(c, Some(message))
}

#[test]
fn without_a_key_a_verifying_signature_is_only_self_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path());
    let message = connect_message(&cert);
    let o = inspect(&message, None);
    assert_code(&o, 0);
    assert_eq!(json(&o)["signature"], "self-consistent");

    let mut c = bin();
    c.arg("inspect");
    let o = run(c, Some(&message));
    assert_code(&o, 0);
    assert!(out(&o).contains("self-consistent: proves nothing without the private key"), "{}", out(&o));
    assert!(!out(&o).contains("valid"), "{}", out(&o));
}

#[test]
fn a_re_signed_message_is_not_called_valid_without_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path());
    let forged = resign(&connect_message(&cert), "key-evil");
    let o = inspect(&forged, None);
    assert_code(&o, 0);
    let v = json(&o);
    // The rewrite took (new key ID) and the fresh signature verifies with the fresh key ...
    assert_eq!(v["encrypted_data_keys"][0]["key_id"], "key-evil");
    assert_eq!(v["signature"], "self-consistent");
    // ... which is exactly why it must not be reported as valid.
    assert_ne!(v["signature"], "valid");
}

#[test]
fn with_the_private_key_an_intact_message_verifies_and_no_plaintext_is_printed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = keygen_offline(dir.path());
    let message = connect_message(&cert);
    let o = inspect(&message, Some(&key));
    assert_code(&o, 0);
    assert_eq!(json(&o)["signature"], "verified");
    assert!(!out(&o).contains(CARD) && !err(&o).contains(CARD), "plaintext in the output");

    let mut c = bin();
    c.arg("inspect").arg("--private-key").arg(&key);
    let o = run(c, Some(&message));
    assert_code(&o, 0);
    assert!(out(&o).contains("verified with the private key"), "{}", out(&o));
    assert!(!out(&o).contains(CARD), "plaintext in the output");
}

#[test]
fn with_the_private_key_a_re_signed_message_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = keygen_offline(dir.path());
    let forged = resign(&connect_message(&cert), "key-evil");
    let o = inspect(&forged, Some(&key));
    assert_code(&o, 7);
    let v = json(&o);
    assert_eq!(v["signature"], "fails");
    assert!(v["failure"].as_str().is_some_and(|f| !f.is_empty()), "{v}");
    assert!(err(&o).contains("does not verify with this private key"), "{}", err(&o));
    assert!(!out(&o).contains(CARD) && !err(&o).contains(CARD), "plaintext in the output");
}

#[test]
fn with_another_private_key_an_intact_message_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path());
    let other = tempfile::tempdir().expect("tempdir");
    let (other_key, _) = keygen_offline(other.path());
    let o = inspect(&connect_message(&cert), Some(&other_key));
    assert_code(&o, 7);
    assert_eq!(json(&o)["signature"], "fails");
}

#[test]
fn an_unusable_key_file_is_bad_input_not_a_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path());
    let weak = dir.path().join("weak.pem");
    write(&weak, test_support::fixtures::KEY_WEAK_1024.as_bytes());
    let o = inspect(&connect_message(&cert), Some(&weak));
    assert_code(&o, 6);
    assert!(err(&o).contains(&keystore::KeyTooSmall { bits: 1024 }.to_string()), "{}", err(&o));
    assert!(out(&o).is_empty(), "no report for an unusable key: {}", out(&o));
}

#[test]
fn decrypt_refuses_a_too_small_key_in_the_key_stores_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path());
    let weak = dir.path().join("weak.pem");
    write(&weak, test_support::fixtures::KEY_WEAK_1024.as_bytes());
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&weak);
    let o = run(c, Some(&connect_message(&cert)));
    assert_code(&o, 6);
    // The wording the key store gives the Lambda for the same key (KeyStoreError::KeyTooSmall).
    let words = keystore::KeyTooSmall { bits: 1024 }.to_string();
    assert!(err(&o).contains(&words), "{}", err(&o));
    assert!(err(&o).contains("too small"), "{}", err(&o));
    assert!(!err(&o).contains("not an RSA private key the backend accepts"), "{}", err(&o));
}
