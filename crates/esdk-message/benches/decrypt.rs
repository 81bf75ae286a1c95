//! Criterion benchmark: decrypting one Amazon Connect-shaped message (RSA-4096 data key, suite
//! 0x0378, a 16-digit card number) with each provider, the key already loaded; and the floor
//! under it per provider: one RSA-4096 OAEP-SHA512 decrypt plus one ECDSA P-384 verify.
//!
//! Run: `cargo bench -p esdk-message --bench decrypt`. Medians land in
//! `target/criterion/<group>/<provider>/new/estimates.json`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_main};
use esdk_message::keyring::{CONNECT_PADDING, RawRsaKeyring};
use esdk_message::provider::all_providers;
use esdk_message::{Curve, DecryptOptions, Message, decrypt, encrypt_connect_der, key};

/// The project's test-only RSA-4096 key (crates/test-support/fixtures), as PKCS#8 DER.
fn test_key() -> key::PrivateKeyDer {
    let der = test_support::fixtures::der(test_support::fixtures::RSA_4096_TEST_KEY);
    key::PrivateKeyDer::from_pkcs8_der(zeroize::Zeroizing::new(der))
}
const KEY_ID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const CARD_NUMBER: &[u8] = b"4111111111111111";

fn bench(c: &mut Criterion) {
    let providers = all_providers();
    let encryptor = providers.first().copied().expect("a provider");
    let public = test_support::fixtures::der(test_support::fixtures::RSA_4096_TEST_PUBLIC);
    let message = encrypt_connect_der(encryptor, KEY_ID, &public, CARD_NUMBER).expect("encrypt");
    let der = test_key();
    let options = DecryptOptions::connect();

    let mut group = c.benchmark_group("connect_decrypt_rsa4096");
    for provider in &providers {
        let keyring = RawRsaKeyring::connect_private_der(*provider, KEY_ID, &der).expect("key");
        let check = decrypt(*provider, &[&keyring], &message, &options).expect("decrypt");
        assert_eq!(check.plaintext.expose(), CARD_NUMBER);
        group.bench_function(provider.name(), |b| {
            b.iter(|| decrypt(*provider, &[&keyring], black_box(&message), &options).expect("decrypt"));
        });
    }
    group.finish();

    // The floor: the two public-key operations every Connect decryption must do.
    let parsed = Message::parse(&message, 1).expect("parse");
    let wrapped = parsed.header().encrypted_data_keys().first().expect("one EDK").ciphertext;
    let point = STANDARD.decode(parsed.header().signing_public_key().expect("signed")).expect("base64");
    let signature = parsed.signature().expect("signed");
    let signed = message.get(..message.len() - 2 - signature.len()).expect("footer");

    let mut group = c.benchmark_group("floor_rsa4096_oaep_sha512_plus_p384_verify");
    for provider in &providers {
        let rsa = provider.rsa_private_key(der.as_bytes()).expect("key");
        assert_eq!(rsa.decrypt(CONNECT_PADDING, wrapped).map(|k| k.len()), Some(32));
        provider.ecdsa_verify(Curve::P384, &point, signed, signature).expect("verify");
        group.bench_function(provider.name(), |b| {
            b.iter(|| {
                let data_key = rsa.decrypt(CONNECT_PADDING, black_box(wrapped)).expect("unwrap");
                provider.ecdsa_verify(Curve::P384, &point, black_box(signed), signature).expect("verify");
                data_key
            });
        });
    }
    group.finish();
}

/// A private module, because `criterion_group!` writes an undocumented `pub fn`.
mod group {
    use super::{Criterion, Duration, bench};

    criterion::criterion_group! {
        name = benches;
        // RSA-4096 takes milliseconds (tens with RustCrypto): fewer, longer samples.
        config = Criterion::default()
            .sample_size(30)
            .measurement_time(Duration::from_secs(8))
            .warm_up_time(Duration::from_secs(2));
        targets = bench
    }
}
criterion_main!(group::benches);
