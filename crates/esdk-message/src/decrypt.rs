//! Decryption: authenticate everything, then release the plaintext.
//!
//! Spec, client-apis/decrypt.md. Order here: parse the whole message (no crypto), apply policy,
//! reconcile the reproduced encryption context, unwrap the data key, derive the content key and
//! check the commitment, verify the header tag, decrypt every frame into one buffer allocated
//! once at its final size, verify the footer signature, and only then hand the buffer out.

use zeroize::Zeroizing;

use crate::Error;
use crate::connect::{CONNECT_MAX_ENCRYPTED_DATA_KEYS, CONNECT_SUITES};
use crate::context::{self, EncryptionContext};

use crate::derive;
use crate::footer;
use crate::header::ContentType;
use crate::keyring::{self, Keyring};
use crate::message::{self, DEFAULT_MAX_ENCRYPTED_DATA_KEYS, Message};
use crate::plaintext::Plaintext;
use crate::provider::CryptoProvider;
use crate::suite::{CommitmentPolicy, SuiteId};

/// What decryption accepts.
#[derive(Debug, Clone)]
pub struct DecryptOptions {
    /// Which suites may be decrypted with respect to key commitment.
    pub commitment_policy: CommitmentPolicy,
    /// Upper bound on encrypted data keys, checked while parsing.
    pub max_encrypted_data_keys: u16,
    /// If set, only these suites are accepted.
    pub allowed_suites: Option<Vec<SuiteId>>,
    /// Encryption context the caller expects. Pairs present in the header must match; pairs
    /// absent from it are authenticated with the header (the required-encryption-context CMM).
    pub reproduced_context: EncryptionContext,
    /// Keys that must be present in `reproduced_context`.
    pub required_context_keys: Vec<String>,
}

impl Default for DecryptOptions {
    /// The ESDK's default commitment policy (committing suites only) and a bound of 16 data keys.
    ///
    /// The bound is deliberate hardening, not the spec's default (which sets no limit): each data
    /// key may cost an RSA decryption, so a hostile header must not choose how many we try.
    fn default() -> Self {
        Self {
            commitment_policy: CommitmentPolicy::RequireEncryptRequireDecrypt,
            max_encrypted_data_keys: DEFAULT_MAX_ENCRYPTED_DATA_KEYS,
            allowed_suites: None,
            reproduced_context: EncryptionContext::new(),
            required_context_keys: Vec::new(),
        }
    }
}

impl DecryptOptions {
    /// The Connect policy ([`crate::connect_key_id`] applies the same): the suites of
    /// [`CONNECT_SUITES`] (0x0378 is non-committing, so decryption must allow it) with a single
    /// encrypted data key.
    pub fn connect() -> Self {
        Self {
            commitment_policy: CommitmentPolicy::RequireEncryptAllowDecrypt,
            max_encrypted_data_keys: CONNECT_MAX_ENCRYPTED_DATA_KEYS,
            allowed_suites: Some(CONNECT_SUITES.to_vec()),
            ..Self::default()
        }
    }

    /// Decrypt anything the ESDK can produce (as the test vectors need).
    pub fn permissive() -> Self {
        Self { commitment_policy: CommitmentPolicy::RequireEncryptAllowDecrypt, ..Self::default() }
    }
}

/// A decrypted message: the plaintext and what the header said about it.
#[derive(Debug)]
pub struct Decrypted {
    /// The plaintext (zeroized on drop, never printed).
    pub plaintext: Plaintext,
    /// The algorithm suite.
    pub suite: SuiteId,
    /// Message format version.
    pub version: u8,
    /// The encryption context stored in the header.
    pub encryption_context: EncryptionContext,
    /// Provider ID of the data key that opened the message.
    pub key_provider_id: String,
    /// Provider info (raw RSA: key name; for Connect, the key ID) of that data key.
    pub key_provider_info: Vec<u8>,
    /// Number of frames.
    pub frame_count: u32,
}

/// Decrypts raw or base64 input.
pub fn decrypt(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    input: &[u8],
    options: &DecryptOptions,
) -> Result<Decrypted, Error> {
    let bytes = message::decode_input(input)?;
    let message = Message::parse(&bytes, options.max_encrypted_data_keys)?;
    decrypt_message(provider, keyrings, &message, options)
}

/// Decrypts an already parsed message.
pub fn decrypt_message(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    message: &Message<'_>,
    options: &DecryptOptions,
) -> Result<Decrypted, Error> {
    let header = &message.header;
    let suite = header.suite;
    if let Some(allowed) = &options.allowed_suites
        && !allowed.contains(&suite.id)
    {
        return Err(Error::SuiteNotAllowed(suite.id.0));
    }
    options.commitment_policy.check_decrypt(suite)?;

    // Reproduced context: agree with the header, and authenticate what the header lacks.
    for key in &options.required_context_keys {
        if !options.reproduced_context.contains_key(key) {
            return Err(Error::MissingRequiredEncryptionContextKey(key.clone()));
        }
    }
    let mut authenticate_only = EncryptionContext::new();
    for (k, v) in &options.reproduced_context {
        match header.encryption_context.get(k) {
            Some(stored) if stored == v.as_str() => {}
            Some(_) => return Err(Error::EncryptionContextMismatch(k.clone())),
            None => {
                authenticate_only.insert(k.clone(), v.clone());
            }
        }
    }
    // Keyrings see the canonical serialisation of the whole context (stored + reproduced).
    let keyring_context = header.encryption_context.canonical_with(&authenticate_only)?;

    let (data_key, edk) = keyring::unwrap_any(keyrings, &header.encrypted_data_keys, &keyring_context, suite)?;
    let key = derive::content_key(provider, suite, &data_key, header.message_id)?;
    if let Some(stored) = header.commitment {
        derive::check_commitment(provider, &data_key, header.message_id, stored)?;
    }
    drop(data_key);
    let gcm = provider.aes_gcm(&key)?;
    drop(key);

    let mut header_aad = Vec::with_capacity(header.authenticated_bytes().len());
    header_aad.extend_from_slice(header.authenticated_bytes());
    header_aad.extend_from_slice(&context::serialize(&authenticate_only)?);
    gcm.open(header.auth_iv(), &header_aad, &mut [], header.auth_tag()).map_err(|_| Error::HeaderAuthFailed)?;

    // One allocation at the final size: no reallocation leaves plaintext behind in freed memory.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(message.content_len()));
    let non_framed = header.content_type == ContentType::NON_FRAMED;
    for frame in message.frames() {
        let frame = frame?;
        let start = plaintext.len();
        plaintext.extend_from_slice(frame.ciphertext);
        let out = plaintext.get_mut(start..).ok_or(Error::FrameAuthFailed(frame.sequence))?;
        let aad = frame.aad(header.message_id, non_framed);
        gcm.open(frame.iv, &aad, out, frame.tag).map_err(|_| Error::FrameAuthFailed(frame.sequence))?;
    }

    if let Some(curve) = suite.signature {
        let encoded = header.signing_public_key().ok_or(Error::MissingSignaturePublicKey)?;
        let signature = message.signature.ok_or(Error::Truncated("footer signature"))?;
        footer::verify(provider, curve, encoded, message.signed_bytes, signature)?;
    }

    Ok(Decrypted {
        plaintext: Plaintext::new(plaintext),
        suite: suite.id,
        version: header.version,
        encryption_context: header.encryption_context.to_map(),
        key_provider_id: String::from_utf8_lossy(edk.provider_id).into_owned(),
        key_provider_info: edk.provider_info.to_vec(),
        frame_count: message.frame_count(),
    })
}
