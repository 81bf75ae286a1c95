//! Timing harness for `scripts/bench.sh`: one process, one mode, JSON out.
//!
//! ```text
//! bench warm  --provider P --key PEM --key-id ID --message FILE --iterations N
//! bench floor --provider P --key PEM --message FILE --iterations N
//! bench cold  --provider P --key PEM --key-id ID --message FILE
//! bench make  --public PEM --key-id ID --bytes N --frame-length L --out FILE
//! ```
//! `warm` times whole decrypts with the key already loaded; `floor` times one RSA-OAEP-SHA512
//! private operation plus one ECDSA verification (the irreducible work of a decrypt);
//! `cold` loads the PEM key and decrypts once (the process is timed from outside).

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
            let public = std::fs::read_to_string(need(&args, "--public")).expect("public key");
            let bytes: usize = need(&args, "--bytes").parse().expect("bytes");
            let frame_length: u32 = arg(&args, "--frame-length").map_or(4096, |v| v.parse().expect("frame length"));
            let keyring =
                RawRsaKeyring::connect_public(provider(&args), &need(&args, "--key-id"), &public).expect("key");
            let digits: Vec<u8> = (0..bytes).map(|i| b"4111111111111111"[i % 16]).collect();
            let options = EncryptOptions { frame_length, ..EncryptOptions::connect() };
            let m = encrypt(provider(&args), &[&keyring], &digits, &options).expect("encrypts");
            std::fs::write(need(&args, "--out"), m).expect("write");
        }
        "warm" | "cold" => {
            let p = provider(&args);
            let message = std::fs::read(need(&args, "--message")).expect("message");
            let t0 = Instant::now();
            let pem = std::fs::read_to_string(need(&args, "--key")).expect("key");
            let keyring = RawRsaKeyring::connect_private(p, &need(&args, "--key-id"), &pem).expect("key loads");
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
            let der =
                key::private_key_from_pem(&std::fs::read_to_string(need(&args, "--key")).expect("key")).expect("pem");
            let rsa = p.rsa_private_key(der.as_bytes()).expect("rsa key");
            let edk = m.header.encrypted_data_keys[0].ciphertext;
            let point = {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(m.header.signing_public_key().expect("signed"))
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
        _ => {
            eprintln!("usage: bench warm|floor|cold|make ... (see the source header)");
            std::process::exit(2);
        }
    }
}
