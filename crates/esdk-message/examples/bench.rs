//! Timing harness for `scripts/bench.sh`: one process, one mode, JSON out.
//!
//! ```text
//! bench warm  --provider P --key PEM --key-id ID --message FILE --iterations N
//! bench floor --provider P --key PEM --message FILE --iterations N
//! bench cold  --provider P --key PEM --key-id ID --message FILE
//! bench steps --provider P --key PEM --key-id ID --message FILE --iterations N
//! bench make  --public PEM --key-id ID --bytes N --frame-length L --out FILE
//! ```
//! `warm` times whole decrypts with the key already loaded; `floor` times one RSA-OAEP-SHA512
//! private operation plus one ECDSA verification (the irreducible work of a decrypt);
//! `cold` loads the PEM key (PKCS#8) and decrypts once (the process is timed from outside);
//! `steps` times each step of a decrypt on its own (a one-frame, version-1 signed message).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::time::Instant;

use esdk_message::keyring::{CONNECT_PADDING, Keyring, RawRsaKeyring};
use esdk_message::provider::{CryptoProvider, provider_by_name};
use esdk_message::{DecryptOptions, EncryptOptions, Message, decrypt, encrypt, key};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn need(args: &[String], name: &str) -> String {
    arg(args, name).unwrap_or_else(|| panic!("missing {name}"))
}

/// The PKCS#8 private key in the PEM file at `path` (the keyrings take DER; PEM is read here).
fn private_key(path: &str) -> key::PrivateKeyDer {
    let pem = zeroize::Zeroizing::new(std::fs::read_to_string(path).expect("key"));
    key::PrivateKeyDer::from_pkcs8_der(zeroize::Zeroizing::new(test_support::fixtures::der(&pem)))
}

/// The SubjectPublicKeyInfo DER in the PEM file at `path`.
fn public_key(path: &str) -> Vec<u8> {
    test_support::fixtures::der(&std::fs::read_to_string(path).expect("public key"))
}

fn provider(args: &[String]) -> &'static dyn CryptoProvider {
    let name = arg(args, "--provider").unwrap_or_else(|| "aws-lc".into());
    provider_by_name(&name).unwrap_or_else(|| panic!("unknown provider {name}"))
}

fn stats(mut samples: Vec<f64>) -> String {
    samples.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    format!(
        r#"{{"n": {}, "median_us": {:.2}, "p99_us": {:.2}, "min_us": {:.2}}}"#,
        samples.len(),
        q(0.5),
        q(0.99),
        q(0.0)
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().cloned().unwrap_or_default();
    match mode.as_str() {
        "make" => {
            let public = public_key(&need(&args, "--public"));
            let bytes: usize = need(&args, "--bytes").parse().expect("bytes");
            let frame_length: u32 = arg(&args, "--frame-length").map_or(4096, |v| v.parse().expect("frame length"));
            let keyring =
                RawRsaKeyring::connect_public_der(provider(&args), &need(&args, "--key-id"), &public).expect("key");
            let digits: Vec<u8> = (0..bytes).map(|i| b"4111111111111111"[i % 16]).collect();
            let options = EncryptOptions { frame_length, ..EncryptOptions::connect() };
            let m = encrypt(provider(&args), &[&keyring], &digits, &options).expect("encrypts");
            std::fs::write(need(&args, "--out"), m).expect("write");
        }
        "warm" | "cold" => {
            let p = provider(&args);
            let message = std::fs::read(need(&args, "--message")).expect("message");
            let t0 = Instant::now();
            let der = private_key(&need(&args, "--key"));
            let keyring = RawRsaKeyring::connect_private_der(p, &need(&args, "--key-id"), &der).expect("key loads");
            let t1 = Instant::now();
            let keyrings: [&dyn Keyring; 1] = [&keyring];
            let options = DecryptOptions::connect();
            let first = decrypt(p, &keyrings, &message, &options).expect("decrypts");
            let t2 = Instant::now();
            if mode == "cold" {
                let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
                println!(
                    r#"{{"in_process_us": {:.1}, "key_load_us": {:.1}, "first_decrypt_us": {:.1}, "plaintext_len": {}}}"#,
                    us(t2 - t0),
                    us(t1 - t0),
                    us(t2 - t1),
                    first.plaintext.expose().len()
                );
                return;
            }
            let n: usize = arg(&args, "--iterations").map_or(200, |v| v.parse().expect("iterations"));
            for _ in 0..n.div_ceil(10) {
                decrypt(p, &keyrings, &message, &options).expect("decrypts");
            }
            let samples = (0..n)
                .map(|_| {
                    let t = Instant::now();
                    let d = decrypt(p, &keyrings, &message, &options).expect("decrypts");
                    let us = t.elapsed().as_secs_f64() * 1e6;
                    assert_eq!(d.plaintext.expose().len(), first.plaintext.expose().len());
                    us
                })
                .collect();
            println!("{}", stats(samples));
        }
        "floor" => {
            let p = provider(&args);
            let message = std::fs::read(need(&args, "--message")).expect("message");
            let m = Message::parse(&message, 1).expect("parses");
            let der = private_key(&need(&args, "--key"));
            let rsa = p.rsa_private_key(der.as_bytes()).expect("rsa key");
            let edk = m.header().encrypted_data_keys()[0].ciphertext;
            let point = {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(m.header().signing_public_key().expect("signed"))
                    .expect("b64")
            };
            let (signed, sig) = message.split_at(message.len() - m.signature().expect("signed").len() - 2);
            let sig = &sig[2..];
            if args.iter().any(|a| a == "--first") {
                let t = Instant::now();
                rsa.decrypt(CONNECT_PADDING, edk).expect("rsa");
                let t1 = Instant::now();
                rsa.decrypt(CONNECT_PADDING, edk).expect("rsa");
                let t2 = Instant::now();
                p.ecdsa_verify(esdk_message::Curve::P384, &point, signed, sig).expect("verifies");
                let t3 = Instant::now();
                p.ecdsa_verify(esdk_message::Curve::P384, &point, signed, sig).expect("verifies");
                let t4 = Instant::now();
                let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
                println!(
                    r#"{{"rsa_first_us": {:.1}, "rsa_second_us": {:.1}, "ecdsa_first_us": {:.1}, "ecdsa_second_us": {:.1}}}"#,
                    us(t1 - t),
                    us(t2 - t1),
                    us(t3 - t2),
                    us(t4 - t3)
                );
                return;
            }
            let n: usize = arg(&args, "--iterations").map_or(200, |v| v.parse().expect("iterations"));
            let mut both = Vec::with_capacity(n);
            let mut rsa_only = Vec::with_capacity(n);
            let mut ecdsa_only = Vec::with_capacity(n);
            for i in 0..n + n.div_ceil(10) {
                let t = Instant::now();
                let k = rsa.decrypt(CONNECT_PADDING, edk).expect("rsa");
                let t1 = Instant::now();
                p.ecdsa_verify(esdk_message::Curve::P384, &point, signed, sig).expect("verifies");
                let t2 = Instant::now();
                assert_eq!(k.len(), 32);
                if i >= n.div_ceil(10) {
                    both.push((t2 - t).as_secs_f64() * 1e6);
                    rsa_only.push((t1 - t).as_secs_f64() * 1e6);
                    ecdsa_only.push((t2 - t1).as_secs_f64() * 1e6);
                }
            }
            println!(r#"{{"floor": {}, "rsa": {}, "ecdsa": {}}}"#, stats(both), stats(rsa_only), stats(ecdsa_only));
        }
        "steps" => steps(&args),
        _ => {
            eprintln!("usage: bench warm|floor|cold|steps|make ... (see the source header)");
            std::process::exit(2);
        }
    }
}

/// Times each step of a decrypt separately, interleaved in one loop so that they share the
/// machine's noise, beside a whole decrypt of the same message. Every step does its real work
/// on the real message and checks its result, so a wrong offset fails rather than times nothing.
fn steps(args: &[String]) {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    let p = provider(args);
    let raw = std::fs::read(need(args, "--message")).expect("message");
    let text = STANDARD.encode(&raw); // what Connect hands the Lambda
    let der = private_key(&need(args, "--key"));
    let keyring = RawRsaKeyring::connect_private_der(p, &need(args, "--key-id"), &der).expect("key loads");
    let rsa = p.rsa_private_key(der.as_bytes()).expect("rsa key");

    let m = Message::parse(&raw, 1).expect("parses");
    let h = m.header();
    assert!(h.version() == 1 && m.frame_count() == 1, "steps needs a one-frame version-1 message");
    let suite_id = h.suite_id().0.to_be_bytes();
    let hash = match h.suite().kdf {
        esdk_message::Kdf::Hkdf(hash) => hash,
        _ => panic!("steps needs an HKDF suite"),
    };
    // Version 1 header authentication: IV (12) and tag (16) close the header.
    let header_len = m.header_len();
    let (authenticated, auth) = raw[..header_len].split_at(header_len - 28);
    let (auth_iv, auth_tag) = auth.split_at(12);
    // The final frame: end marker (4), sequence (4), IV (12), length (4), ciphertext, tag (16).
    let body = &raw[header_len..];
    let frame_iv = &body[8..20];
    let ct_len = u32::from_be_bytes(body[20..24].try_into().unwrap()) as usize;
    let frame_ct = &body[24..24 + ct_len];
    let frame_tag = &body[24 + ct_len..24 + ct_len + 16];
    let mut frame_aad = h.message_id().to_vec();
    frame_aad.extend_from_slice(b"AWSKMSEncryptionClient Final Frame");
    frame_aad.extend_from_slice(&1u32.to_be_bytes());
    frame_aad.extend_from_slice(&(ct_len as u64).to_be_bytes());
    let signature = m.signature().expect("signed");
    let signed = &raw[..raw.len() - signature.len() - 2];
    let encoded_point = h.signing_public_key().expect("signed");
    let edk = h.encrypted_data_keys()[0].ciphertext;

    let keyrings: [&dyn Keyring; 1] = [&keyring];
    let options = DecryptOptions::connect();
    let names = ["base64", "parse", "rsa", "hkdf", "gcm_key", "gcm_header", "gcm_frame", "ecdsa", "whole"];
    let n: usize = arg(args, "--iterations").map_or(200, |v| v.parse().expect("iterations"));
    let warmup = n.div_ceil(10);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(n); names.len()];
    let mut content_key = zeroize::Zeroizing::new(vec![0u8; h.suite().key_len]);
    let mut frame = vec![0u8; ct_len];
    for i in 0..n + warmup {
        let mut t = [Instant::now(); 10];
        let decoded = esdk_message::decode_input(text.as_bytes()).expect("base64");
        t[1] = Instant::now();
        let parsed = Message::parse(&decoded, 1).expect("parses");
        t[2] = Instant::now();
        let data_key = rsa.decrypt(CONNECT_PADDING, edk).expect("rsa");
        t[3] = Instant::now();
        p.hkdf(hash, &[], &data_key, &[&suite_id, h.message_id()], &mut content_key).expect("hkdf");
        t[4] = Instant::now();
        let gcm = p.aes_gcm(&content_key).expect("gcm key");
        t[5] = Instant::now();
        gcm.open(auth_iv, authenticated, &mut [], auth_tag).expect("header tag");
        t[6] = Instant::now();
        frame.copy_from_slice(frame_ct);
        gcm.open(frame_iv, &frame_aad, &mut frame, frame_tag).expect("frame tag");
        t[7] = Instant::now();
        let point = STANDARD.decode(encoded_point).expect("point");
        p.ecdsa_verify(esdk_message::Curve::P384, &point, signed, signature).expect("verifies");
        t[8] = Instant::now();
        let whole = decrypt(p, &keyrings, &raw, &options).expect("decrypts");
        t[9] = Instant::now();
        assert_eq!(decoded.len(), raw.len());
        assert_eq!(parsed.header_len(), header_len);
        assert_eq!(whole.plaintext.expose(), frame.as_slice());
        if i >= warmup {
            for (k, s) in samples.iter_mut().enumerate() {
                s.push((t[k + 1] - t[k]).as_secs_f64() * 1e6);
            }
        }
    }
    let fields: Vec<String> = names.iter().zip(samples).map(|(name, s)| format!(r#""{name}": {}"#, stats(s))).collect();
    println!("{{{}}}", fields.join(", "));
}
