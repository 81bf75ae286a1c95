//! The one entry point shared by the fuzz target and `tests/fuzz_regressions.rs`.
//!
//! Any bytes go through everything a hostile sender reaches: `decode_input`, `Message::parse`,
//! `inspect` and `decrypt` with a fixed raw AES keyring, once per compiled-in provider. Besides
//! "no panic", the providers must agree: the same parse and inspect result, and decryption that
//! succeeds or fails alike with the same plaintext or the same error.

use esdk_message::keyring::RawAesKeyring;
use esdk_message::provider::all_providers;
use esdk_message::{
    DEFAULT_MAX_ENCRYPTED_DATA_KEYS, DecryptOptions, Error, Message, SignatureCheck, decode_input, decrypt, inspect,
};

/// Namespace (provider ID) of the fixed keyring.
pub const KEY_NAMESPACE: &str = "esdk-fuzz";
/// Key name of the fixed keyring.
pub const KEY_NAME: &str = "fixed-aes-256";
/// The fixed wrapping key. Test-only: it protects nothing.
pub const WRAPPING_KEY: [u8; 32] = *b"esdk-message fuzz wrapping key!!";

/// How far one input got, for the regression test's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Neither raw nor base64 of a message.
    NotDecoded,
    /// Decoded, but structurally invalid.
    ParseFailed,
    /// Parsed, but decryption failed (tampering, wrong key, policy).
    DecryptFailed,
    /// Decrypted with every provider, to the same plaintext.
    Decrypted,
}

/// What one provider made of an input: its name, the signature check `inspect` reported, and
/// the plaintext or error of `decrypt`.
type ProviderResult = (&'static str, Result<SignatureCheck, Error>, Result<Vec<u8>, Error>);

/// Runs one input through the whole path. Panics only if the library misbehaves: a panic inside
/// it, or providers that disagree.
pub fn run(data: &[u8]) -> Outcome {
    let Ok(bytes) = decode_input(data) else {
        return Outcome::NotDecoded;
    };
    let parsed = Message::parse(&bytes, DEFAULT_MAX_ENCRYPTED_DATA_KEYS).map(|m| m.frame_count());

    let options = DecryptOptions::permissive();
    let mut first: Option<ProviderResult> = None;
    for provider in all_providers() {
        let inspected = inspect(provider, data, DEFAULT_MAX_ENCRYPTED_DATA_KEYS);
        assert_eq!(
            inspected.as_ref().map(|i| i.frame_count).map_err(Clone::clone),
            parsed.clone(),
            "inspect and parse disagree ({})",
            provider.name()
        );
        let keyring = RawAesKeyring::new(provider, KEY_NAMESPACE, KEY_NAME, &WRAPPING_KEY).expect("32-byte key");
        let decrypted = decrypt(provider, &[&keyring], data, &options).map(|d| d.plaintext.expose().to_vec());
        let result = (provider.name(), inspected.map(|i| i.signature_check), decrypted);
        match &first {
            None => first = Some(result),
            Some((name, signature, plaintext)) => {
                assert_eq!(&result.1, signature, "inspect signature check: {} vs {name}", result.0);
                // Lengths and errors only: never print a plaintext.
                let summary = |r: &Result<Vec<u8>, Error>| r.as_ref().map(Vec::len).map_err(Clone::clone);
                assert!(
                    &result.2 == plaintext,
                    "decrypt outcome differs: {} {:?} vs {name} {:?}",
                    result.0,
                    summary(&result.2),
                    summary(plaintext)
                );
            }
        }
    }
    match first {
        Some((_, _, Ok(_))) => Outcome::Decrypted,
        _ if parsed.is_err() => Outcome::ParseFailed,
        _ => Outcome::DecryptFailed,
    }
}
