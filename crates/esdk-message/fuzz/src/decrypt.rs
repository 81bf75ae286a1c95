//! The `decrypt` target: what happens after a message parsed. Inputs that do not parse return at
//! once (the `parse` target covers them), so the time goes to the key unwrap (raw AES and
//! Connect's RSA-OAEP-SHA512), the key derivation and commitment, the header and frame tags and
//! the footer signature. The seed corpus holds valid messages under the fixed keys, so that
//! mutations start from messages that open.
//!
//! Besides "no panic", for every compiled-in provider:
//! - a message that parsed fails, if it fails, only with an error of the stages after parsing;
//! - a message whose header passes `connect_key_id` with the fixed key ID decrypts under the
//!   Connect policy exactly as under the permissive one (same bytes or same error);
//! - the providers agree (plaintext or error).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use esdk_message::key::PrivateKeyDer;
use esdk_message::keyring::{CONNECT_NAMESPACE, CONNECT_PADDING, Keyring, RawAesKeyring, RawRsaKeyring};
use esdk_message::provider::{CryptoProvider, all_providers};
use esdk_message::{
    DEFAULT_MAX_ENCRYPTED_DATA_KEYS, DecryptOptions, Error, Message, connect_key_id, decode_input, decrypt_message,
};
use zeroize::Zeroizing;

use crate::entry::{KEY_NAME, KEY_NAMESPACE, WRAPPING_KEY};

/// The Connect key ID the fixed RSA keyring answers to.
pub const CONNECT_KEY_ID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
/// The project's test-only RSA-4096 key pair (it protects nothing).
const PRIVATE_PEM: &str = include_str!("../../../test-support/fixtures/rsa-4096-test-key.pem");
const PUBLIC_PEM: &str = include_str!("../../../test-support/fixtures/rsa-4096-test-key.pub.pem");

/// The DER inside a PEM file of a test key (the body's base64; test keys only, so no
/// constant-time decoding is needed).
fn pem_der(pem: &str) -> Zeroizing<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Zeroizing::new(STANDARD.decode(body.trim()).unwrap_or_else(|e| panic!("test key PEM: {e}")))
}

/// SubjectPublicKeyInfo DER of the test key, for the seed generator.
pub fn connect_public_der() -> Vec<u8> {
    pem_der(PUBLIC_PEM).to_vec()
}

struct Keys {
    provider: &'static dyn CryptoProvider,
    aes: RawAesKeyring,
    rsa: RawRsaKeyring,
}

/// Built once per process: parsing an RSA-4096 key costs more than most executions.
fn keys() -> &'static [Keys] {
    static KEYS: OnceLock<Vec<Keys>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let der = PrivateKeyDer::from_pkcs8_der(pem_der(PRIVATE_PEM));
        all_providers()
            .into_iter()
            .map(|provider| Keys {
                provider,
                aes: RawAesKeyring::new(provider, KEY_NAMESPACE, KEY_NAME, &WRAPPING_KEY)
                    .unwrap_or_else(|e| panic!("fixed AES key: {e}")),
                rsa: RawRsaKeyring::from_private_key(
                    provider,
                    CONNECT_NAMESPACE,
                    CONNECT_KEY_ID,
                    &der,
                    CONNECT_PADDING,
                )
                .unwrap_or_else(|e| panic!("test RSA key: {e}")),
            })
            .collect()
    })
}

/// The errors a parsed message may still meet: policy, key unwrap, derivation and commitment,
/// tags, signature. A structural error here would mean parse accepted what decryption cannot
/// read.
fn after_parsing(e: &Error) -> bool {
    matches!(
        e,
        Error::SuiteNotAllowed(_)
            | Error::SuiteForbiddenByCommitmentPolicy(_)
            | Error::NoMatchingKey
            | Error::CommitmentMismatch
            | Error::HeaderAuthFailed
            | Error::FrameAuthFailed(_)
            | Error::SignatureInvalid
            | Error::InvalidSignaturePublicKey
    )
}

/// How far one input got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// Not a message (the `parse` target's ground).
    NotParsed,
    /// Parsed; decryption refused it.
    Refused,
    /// Opened under the permissive policy.
    Opened,
    /// Opened, and Connect-shaped for the fixed key.
    OpenedAsConnect,
}

type Opened = Result<Vec<u8>, Error>;

/// Runs one input. Panics only if the library misbehaves.
pub fn run(data: &[u8]) -> Reached {
    let Ok(bytes) = decode_input(data) else {
        return Reached::NotParsed;
    };
    let Ok(message) = Message::parse(&bytes, DEFAULT_MAX_ENCRYPTED_DATA_KEYS) else {
        return Reached::NotParsed;
    };
    // Connect-shaped for the fixed key: the Connect policy must then give exactly what the
    // permissive one gives (each RSA unwrap costs milliseconds, so only then is it asked).
    let connect_shaped = connect_key_id(message.header()) == Ok(CONNECT_KEY_ID);
    let permissive = DecryptOptions::permissive();
    let connect = DecryptOptions::connect();
    let mut first: Option<(&'static str, Opened)> = None;
    for k in keys() {
        let keyrings: [&dyn Keyring; 2] = [&k.aes, &k.rsa];
        let open = |r: Result<esdk_message::Decrypted, Error>| r.map(|d| d.plaintext.expose().to_vec());
        let opened = open(decrypt_message(k.provider, &keyrings, &message, &permissive));
        // Lengths and errors only in messages: never print a plaintext.
        let summary = |r: &Opened| r.as_ref().map(Vec::len).map_err(Clone::clone);
        let name = k.provider.name();
        if let Err(e) = &opened {
            assert!(after_parsing(e), "{name}: a parsed message failed with a structural error: {e:?}");
        }
        if connect_shaped {
            let as_connect = open(decrypt_message(k.provider, &[&k.rsa], &message, &connect));
            assert!(
                as_connect == opened,
                "{name}: Connect policy {:?} vs permissive {:?}",
                summary(&as_connect),
                summary(&opened)
            );
        }
        match &first {
            None => first = Some((name, opened)),
            Some((other, o)) => assert!(&opened == o, "{name} {:?} vs {other} {:?}", summary(&opened), summary(o)),
        }
    }
    match first {
        Some((_, Ok(_))) if connect_shaped => Reached::OpenedAsConnect,
        Some((_, Ok(_))) => Reached::Opened,
        _ => Reached::Refused,
    }
}
