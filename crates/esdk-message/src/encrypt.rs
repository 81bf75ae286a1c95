//! Encryption: messages of any suite, framed or not, and exactly what Amazon Connect produces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::Error;
use crate::body::{self, END_MARKER, FINAL_FRAME_AAD, FRAME_AAD, SINGLE_BLOCK_AAD};
use crate::context::{self, EncryptionContext, PUBLIC_KEY_FIELD, RESERVED_PREFIX};
use crate::derive;
use crate::header::ContentType;
use crate::keyring::{Keyring, OwnedEncryptedDataKey, RawRsaKeyring};
use crate::provider::CryptoProvider;
use crate::suite::{CommitmentPolicy, IV_LEN, Suite, SuiteId};

/// Amazon Connect's frame length.
pub const CONNECT_FRAME_LENGTH: u32 = 4096;

/// How to encrypt.
#[derive(Debug, Clone)]
pub struct EncryptOptions {
    /// The algorithm suite.
    pub suite: SuiteId,
    /// Frame length in bytes; 0 writes a non-framed body.
    pub frame_length: u32,
    /// The caller's encryption context (no `aws-crypto-` keys).
    pub encryption_context: EncryptionContext,
    /// Context keys to authenticate but not store (the decryptor must reproduce them).
    pub authenticate_only_keys: Vec<String>,
    /// Commitment policy; must allow `suite`.
    pub commitment_policy: CommitmentPolicy,
}

impl EncryptOptions {
    /// What Connect's Store customer input uses: 0x0378, frames of 4096, empty context.
    pub fn connect() -> Self {
        Self {
            suite: SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
            frame_length: CONNECT_FRAME_LENGTH,
            encryption_context: EncryptionContext::new(),
            authenticate_only_keys: Vec::new(),
            commitment_policy: CommitmentPolicy::ForbidEncryptAllowDecrypt,
        }
    }
}

/// Encrypts as Amazon Connect does, for the key ID whose public key or certificate (PEM) is given.
pub fn encrypt_connect(
    provider: &dyn CryptoProvider,
    key_id: &str,
    public_pem: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let keyring = RawRsaKeyring::connect_public(provider, key_id, public_pem)?;
    encrypt(provider, &[&keyring], plaintext, &EncryptOptions::connect())
}

/// Encrypts `plaintext` for every keyring given (each adds one encrypted data key).
pub fn encrypt(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    plaintext: &[u8],
    options: &EncryptOptions,
) -> Result<Vec<u8>, Error> {
    let suite = options.suite.suite()?;
    options.commitment_policy.check_encrypt(suite)?;
    if keyrings.is_empty() {
        return Err(Error::InvalidArgument("at least one keyring is required"));
    }
    if let Some(k) = options.encryption_context.keys().find(|k| k.starts_with(RESERVED_PREFIX)) {
        return Err(Error::ReservedEncryptionContextKey(k.clone()));
    }

    let mut full_context = options.encryption_context.clone();
    let signer = match suite.signature {
        Some(curve) => {
            let signer = provider.ecdsa_generate(curve)?;
            full_context.insert(PUBLIC_KEY_FIELD.into(), STANDARD.encode(signer.public_key_compressed()));
            Some(signer)
        }
        None => None,
    };
    let mut stored_context = full_context.clone();
    let mut authenticate_only = EncryptionContext::new();
    for key in &options.authenticate_only_keys {
        let value = stored_context.remove(key).ok_or(Error::MissingRequiredEncryptionContextKey(key.clone()))?;
        authenticate_only.insert(key.clone(), value);
    }

    let mut data_key = Zeroizing::new(vec![0u8; suite.data_key_len()]);
    provider.fill_random(&mut data_key)?;
    let keyring_context = context::serialize(&full_context)?;
    let edks =
        keyrings.iter().map(|k| k.wrap_key(&data_key, &keyring_context, suite)).collect::<Result<Vec<_>, _>>()?;
    let mut message_id = vec![0u8; suite.message_id_len()];
    provider.fill_random(&mut message_id)?;
    let key = derive::content_key(provider, suite, &data_key, &message_id)?;
    let commitment =
        if suite.is_committing() { Some(derive::commitment(provider, &data_key, &message_id)?) } else { None };
    drop(data_key);
    let gcm = provider.aes_gcm(&key)?;
    drop(key);

    let mut out = write_header_body(suite, &message_id, &stored_context, &edks, options.frame_length, commitment)?;
    let mut header_aad = out.clone();
    header_aad.extend_from_slice(&context::serialize(&authenticate_only)?);
    let zero_iv = [0u8; IV_LEN];
    let tag = gcm.seal(&zero_iv, &header_aad, &mut [])?;
    if suite.message_version == 1 {
        out.extend_from_slice(&zero_iv);
    }
    out.extend_from_slice(&tag);

    write_body(&mut out, gcm.as_ref(), &message_id, plaintext, options.frame_length)?;

    if let Some(signer) = signer {
        let signature = signer.sign(&out)?;
        context::put_vec16(&mut out, &signature)?;
    }
    Ok(out)
}

fn write_header_body(
    suite: &Suite,
    message_id: &[u8],
    stored_context: &EncryptionContext,
    edks: &[OwnedEncryptedDataKey],
    frame_length: u32,
    commitment: Option<[u8; 32]>,
) -> Result<Vec<u8>, Error> {
    let mut h = Vec::with_capacity(256);
    h.push(suite.message_version);
    if suite.message_version == 1 {
        h.push(0x80);
    }
    h.extend_from_slice(&suite.id.0.to_be_bytes());
    h.extend_from_slice(message_id);
    context::put_vec16(&mut h, &context::serialize(stored_context)?)?;
    let count = u16::try_from(edks.len()).map_err(|_| Error::InvalidArgument("too many keyrings"))?;
    h.extend_from_slice(&count.to_be_bytes());
    for edk in edks {
        context::put_vec16(&mut h, &edk.provider_id)?;
        context::put_vec16(&mut h, &edk.provider_info)?;
        context::put_vec16(&mut h, &edk.ciphertext)?;
    }
    let content_type = if frame_length == 0 { ContentType::NON_FRAMED } else { ContentType::FRAMED };
    h.push(content_type.0);
    if suite.message_version == 1 {
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.push(12); // IV length
    }
    h.extend_from_slice(&frame_length.to_be_bytes());
    if let Some(c) = commitment {
        h.extend_from_slice(&c);
    }
    Ok(h)
}

/// The IV of frame `sequence`: the sequence number, big-endian, left-padded to 12 bytes.
fn frame_iv(sequence: u32) -> [u8; IV_LEN] {
    let mut iv = [0u8; IV_LEN];
    iv[IV_LEN - 4..].copy_from_slice(&sequence.to_be_bytes());
    iv
}

fn write_body(
    out: &mut Vec<u8>,
    gcm: &dyn crate::provider::AesGcmKey,
    message_id: &[u8],
    plaintext: &[u8],
    frame_length: u32,
) -> Result<(), Error> {
    if frame_length == 0 {
        if plaintext.len() as u64 > body::MAX_NON_FRAMED_LEN {
            return Err(Error::ContentTooLong(plaintext.len() as u64));
        }
        let iv = frame_iv(1);
        let aad = body::body_aad(message_id, SINGLE_BLOCK_AAD, 1, plaintext.len());
        let mut ct = plaintext.to_vec();
        let tag = gcm.seal(&iv, &aad, &mut ct)?;
        out.extend_from_slice(&iv);
        out.extend_from_slice(&(plaintext.len() as u64).to_be_bytes());
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        return Ok(());
    }
    let fl = frame_length as usize;
    // Regular frames hold exactly `fl` bytes; the final frame the rest (1..=fl, or 0 if empty).
    let regular = plaintext.len().saturating_sub(1) / fl;
    let mut chunks = plaintext.chunks(fl);
    let mut sequence = 1u32;
    for _ in 0..regular {
        let chunk = chunks.next().ok_or(Error::Backend("frame split"))?;
        let iv = frame_iv(sequence);
        let aad = body::body_aad(message_id, FRAME_AAD, sequence, chunk.len());
        let mut ct = chunk.to_vec();
        let tag = gcm.seal(&iv, &aad, &mut ct)?;
        out.extend_from_slice(&sequence.to_be_bytes());
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        sequence = sequence.checked_add(1).filter(|s| *s != END_MARKER).ok_or(Error::TooManyFrames)?;
    }
    let last = chunks.next().unwrap_or(&[]);
    let iv = frame_iv(sequence);
    let aad = body::body_aad(message_id, FINAL_FRAME_AAD, sequence, last.len());
    let mut ct = last.to_vec();
    let tag = gcm.seal(&iv, &aad, &mut ct)?;
    out.extend_from_slice(&END_MARKER.to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes());
    out.extend_from_slice(&iv);
    let last_len = u32::try_from(last.len()).map_err(|_| Error::InvalidArgument("final frame length"))?;
    out.extend_from_slice(&last_len.to_be_bytes());
    out.extend_from_slice(&ct);
    out.extend_from_slice(&tag);
    Ok(())
}
