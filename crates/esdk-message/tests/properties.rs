//! Property tests over structured random messages: every message `encrypt` makes decrypts back
//! with both providers, and no mutation of one makes parse, inspect or decrypt panic or yield
//! anything but the original plaintext. (Bounded allocation is checked in `tests/allocation.rs`,
//! which needs its own global allocator.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(unreachable_pub)]
#[path = "../fuzz/src/layout.rs"]
mod layout;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use esdk_message::keyring::{Keyring, RawAesKeyring};
use esdk_message::provider::{CryptoProvider, all_providers};
use esdk_message::{
    CommitmentPolicy, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, DecryptOptions, EncryptOptions, EncryptionContext, Message,
    SuiteId, decode_input, decrypt, encrypt, inspect,
};
use proptest::prelude::*;
use proptest::sample::Index;

const NAMESPACE: &str = "proptest";
const KEY_NAME: &str = "aes-256";
const WRAPPING_KEY: [u8; 32] = [0x5a; 32];

fn keyring(provider: &'static dyn CryptoProvider) -> RawAesKeyring {
    RawAesKeyring::new(provider, NAMESPACE, KEY_NAME, &WRAPPING_KEY).expect("32-byte key")
}

/// What one generated message was made from.
#[derive(Debug, Clone)]
struct Spec {
    suite: SuiteId,
    frame_length: u32,
    plaintext: Vec<u8>,
    context: EncryptionContext,
    encrypt_with: usize,
}

fn commitment_policy(suite: SuiteId) -> CommitmentPolicy {
    if suite.suite().expect("known suite").is_committing() {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

/// Plaintext lengths around what matters for framing: 0, exact multiples of the frame length,
/// one either side of them, and anything small.
fn plaintext_len(frame_length: u32) -> BoxedStrategy<usize> {
    let fl = frame_length as usize;
    if fl == 0 {
        return prop_oneof![Just(0usize), 0..300usize].boxed();
    }
    let max_frames = (600 / fl).clamp(1, 4);
    prop_oneof![
        (0..=max_frames).prop_map(move |k| k * fl),
        ((1..=max_frames), -1isize..=1).prop_map(move |(k, d)| (k * fl).saturating_add_signed(d)),
        0..300usize,
    ]
    .boxed()
}

fn spec(max_context_pairs: usize) -> impl Strategy<Value = Spec> {
    let frame_length = prop_oneof![Just(0u32), 1..=64u32, Just(4096u32)];
    (prop::sample::select(SuiteId::ALL.to_vec()), frame_length).prop_flat_map(move |(suite, frame_length)| {
        let context = prop::collection::btree_map("[a-z][a-z0-9-]{0,7}", "\\PC{0,12}", 0..=max_context_pairs);
        let plaintext = plaintext_len(frame_length).prop_flat_map(|n| prop::collection::vec(any::<u8>(), n));
        (plaintext, context, 0..all_providers().len()).prop_map(move |(plaintext, context, encrypt_with)| Spec {
            suite,
            frame_length,
            plaintext,
            context,
            encrypt_with,
        })
    })
}

fn make(spec: &Spec) -> Vec<u8> {
    let provider = all_providers()[spec.encrypt_with];
    let options = EncryptOptions {
        suite: spec.suite,
        frame_length: spec.frame_length,
        encryption_context: spec.context.clone(),
        authenticate_only_keys: Vec::new(),
        commitment_policy: commitment_policy(spec.suite),
    };
    encrypt(provider, &[&keyring(provider) as &dyn Keyring], &spec.plaintext, &options).expect("encrypt")
}

/// One structural edit.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    /// Rewrite one length/count/sequence field (see `layout`) to an interesting value.
    RewriteField(Index, FieldValue),
    Truncate(Index),
    Append(Vec<u8>),
}

#[derive(Debug, Clone)]
enum FieldValue {
    Zero,
    Max,
    PlusOne,
    MinusOne,
    Any(u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let value = prop_oneof![
        Just(FieldValue::Zero),
        Just(FieldValue::Max),
        Just(FieldValue::PlusOne),
        Just(FieldValue::MinusOne),
        any::<u64>().prop_map(FieldValue::Any),
    ];
    prop_oneof![
        3 => (any::<Index>(), 0..8u8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<Index>(), 1..16usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        3 => (any::<Index>(), value).prop_map(|(i, v)| Mutation::RewriteField(i, v)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ]
}

fn apply(m: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::FlipBit(i, bit) => {
            if !m.is_empty() {
                let at = i.index(m.len());
                m[at] ^= 1 << bit;
            }
        }
        Mutation::Insert(i, bytes) => {
            let at = i.index(m.len() + 1);
            m.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete(i, n) => {
            if !m.is_empty() {
                let at = i.index(m.len());
                m.drain(at..(at + n).min(m.len()));
            }
        }
        Mutation::RewriteField(i, value) => {
            let fields = layout::fields(m);
            if fields.is_empty() {
                return;
            }
            let f = fields[i.index(fields.len())];
            let bytes = &mut m[f.offset..f.offset + f.width];
            let current = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            let new = match value {
                FieldValue::Zero => 0,
                FieldValue::Max => u64::MAX,
                FieldValue::PlusOne => current.wrapping_add(1),
                FieldValue::MinusOne => current.wrapping_sub(1),
                FieldValue::Any(v) => *v,
            };
            bytes.copy_from_slice(&new.to_be_bytes()[8 - f.width..]);
        }
        Mutation::Truncate(i) => m.truncate(i.index(m.len() + 1)),
        Mutation::Append(bytes) => m.extend_from_slice(bytes),
    }
}

/// Runs parse, inspect and decrypt (both providers) on `input`; checks they agree and that a
/// successful decryption gives back `plaintext`. Returns whether decryption succeeded.
fn check_no_panic_no_forgery(input: &[u8], plaintext: &[u8]) -> Result<bool, TestCaseError> {
    let parsed = decode_input(input)
        .and_then(|bytes| Message::parse(&bytes, DEFAULT_MAX_ENCRYPTED_DATA_KEYS).map(|m| m.frame_count()));
    let mut outcomes = Vec::new();
    for provider in all_providers() {
        let inspected = inspect(provider, input, DEFAULT_MAX_ENCRYPTED_DATA_KEYS);
        prop_assert_eq!(inspected.as_ref().map(|i| i.frame_count).map_err(Clone::clone), parsed.clone());
        let decrypted = decrypt(provider, &[&keyring(provider)], input, &DecryptOptions::permissive());
        if let Ok(d) = &decrypted {
            prop_assert!(d.plaintext.expose() == plaintext, "{} decrypted to a different plaintext", provider.name());
        }
        outcomes.push((inspected.map(|i| i.signature_check), decrypted.map(|_| ())));
    }
    prop_assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "providers disagree: {:?}", outcomes);
    Ok(outcomes.first().is_some_and(|(_, d)| d.is_ok()))
}

proptest! {
    // A failure is turned into a named test in this file, not kept in a side file.
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// (a) Every suite, framed (any frame length) or not, any plaintext size, any context.
    #[test]
    fn encrypted_messages_decrypt_back_with_every_provider(spec in spec(4)) {
        let message = make(&spec);
        let parsed = Message::parse(&message, 1).expect("parse");
        let expected_frames = match spec.frame_length {
            0 => 1,
            fl => spec.plaintext.len().saturating_sub(1) / fl as usize + 1,
        };
        prop_assert_eq!(parsed.frame_count() as usize, expected_frames);
        for provider in all_providers() {
            let d = decrypt(provider, &[&keyring(provider)], &message, &DecryptOptions::permissive())
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", provider.name())))?;
            prop_assert!(d.plaintext.expose() == spec.plaintext.as_slice());
            prop_assert_eq!(d.suite, spec.suite);
            let mut stored = d.encryption_context.clone();
            stored.remove(esdk_message::PUBLIC_KEY_FIELD);
            prop_assert_eq!(&stored, &spec.context);
            // Base64 text, with the white space a copy-paste adds, decrypts the same.
            let text = format!(" {}\n", STANDARD.encode(&message));
            let again = decrypt(provider, &[&keyring(provider)], text.as_bytes(), &DecryptOptions::permissive())
                .map_err(|e| TestCaseError::fail(format!("{} base64: {e}", provider.name())))?;
            prop_assert!(again.plaintext.expose() == spec.plaintext.as_slice());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    /// (b) Flips, insertions, deletions, field rewrites, truncations and appended bytes: no
    /// panic anywhere, providers agree, and any change at all is rejected by decrypt.
    #[test]
    fn mutated_messages_never_panic_and_never_decrypt(
        spec in spec(2),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let original = make(&spec);
        let mut mutated = original.clone();
        for m in &mutations {
            apply(&mut mutated, m);
        }
        let decrypted = check_no_panic_no_forgery(&mutated, &spec.plaintext)?;
        prop_assert_eq!(decrypted, mutated == original, "a changed message decrypted, or the original did not");
        // The same bytes as base64 text behave the same.
        let text = STANDARD.encode(&mutated);
        check_no_panic_no_forgery(text.as_bytes(), &spec.plaintext)?;
    }

    /// Unstructured bytes after a valid version byte: no panic, and providers agree.
    #[test]
    fn random_bytes_never_panic(version in 1..=2u8, rest in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut input = vec![version];
        input.extend_from_slice(&rest);
        prop_assert!(!check_no_panic_no_forgery(&input, &[])?);
    }
}
