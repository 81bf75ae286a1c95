//! Encryption: messages of any suite, framed or not, and exactly what Amazon Connect produces.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::Error;
use crate::body::{self, END_MARKER, FINAL_FRAME_AAD, FRAME_AAD, SINGLE_BLOCK_AAD};
use crate::context::{self, EncryptionContext, PUBLIC_KEY_FIELD, RESERVED_PREFIX};
use crate::derive;
use crate::header::{self, EncryptedDataKey, HeaderFields};
use crate::keyring::{Keyring, OwnedEncryptedDataKey, RawRsaKeyring};
use crate::provider::{CryptoProvider, EcdsaSigner};
use crate::suite::{CommitmentPolicy, Curve, IV_LEN, SuiteId};

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

/// Where the header-authentication IV and the frame IVs come from.
///
/// Either is safe: every message has its own content key (derived from a fresh data key and
/// message ID), so an IV only has to be unique within one message. Decryptors read the IV from
/// the message and accept any value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IvPolicy {
    /// The reference SDKs': the header IV is all zeros and each frame IV is its sequence number,
    /// big-endian, left-padded to 12 bytes (unique by construction).
    Sequence,
    /// Amazon Connect's, as seen in its real output: every IV from the random source (96 random
    /// bits each; a repeat within one message is out of reach at any message size).
    Random,
}

/// Encrypts as Amazon Connect does, for the key ID whose public key is given as
/// SubjectPublicKeyInfo DER: [`EncryptOptions::connect`] with [`IvPolicy::Random`].
pub fn encrypt_connect_der(
    provider: &dyn CryptoProvider,
    key_id: &str,
    spki_der: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let keyring = RawRsaKeyring::connect_public_der(provider, key_id, spki_der)?;
    encrypt_with_ivs(provider, &[&keyring], plaintext, &EncryptOptions::connect(), IvPolicy::Random)
}

/// Encrypts `plaintext` for every keyring given (each adds one encrypted data key), with the
/// reference SDKs' IVs ([`IvPolicy::Sequence`]).
pub fn encrypt(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    plaintext: &[u8],
    options: &EncryptOptions,
) -> Result<Vec<u8>, Error> {
    encrypt_with_ivs(provider, keyrings, plaintext, options, IvPolicy::Sequence)
}

/// [`encrypt`] with the IVs chosen by `ivs`.
pub fn encrypt_with_ivs(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    plaintext: &[u8],
    options: &EncryptOptions,
    ivs: IvPolicy,
) -> Result<Vec<u8>, Error> {
    encrypt_signed_by(provider, keyrings, plaintext, options, ivs, &|curve| provider.ecdsa_generate(curve))
}

/// [`encrypt_with_ivs`] with the signing key from `new_signer` (tests give a signer that writes
/// its public key in another encoding).
pub(crate) fn encrypt_signed_by(
    provider: &dyn CryptoProvider,
    keyrings: &[&dyn Keyring],
    plaintext: &[u8],
    options: &EncryptOptions,
    ivs: IvPolicy,
    new_signer: &dyn Fn(Curve) -> Result<Box<dyn EcdsaSigner>, Error>,
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
            let signer = new_signer(curve)?;
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

    let stored_context = context::serialize(&stored_context)?;
    let edks: Vec<EncryptedDataKey<'_>> = edks.iter().map(OwnedEncryptedDataKey::borrow).collect();
    let fields = HeaderFields {
        suite,
        message_id: &message_id,
        encryption_context: &stored_context,
        encrypted_data_keys: &edks,
        frame_length: options.frame_length,
        commitment: commitment.as_ref().map(|c| c.as_slice()),
    };
    let mut out = fields.encode()?;
    let mut header_aad = out.clone();
    header_aad.extend_from_slice(&context::serialize(&authenticate_only)?);
    let iv_source = IvSource { provider, policy: ivs };
    let header_iv = header::header_iv(suite.message_version, || iv_source.header())?;
    let tag = gcm.seal(&header_iv, &header_aad, &mut [])?;
    header::write_auth_section(&mut out, suite.message_version, &header_iv, &tag);

    write_body(&mut out, gcm.as_ref(), &iv_source, &message_id, plaintext, options.frame_length)?;

    if let Some(signer) = signer {
        let signature = signer.sign(&out)?;
        context::put_vec16(&mut out, &signature)?;
    }
    Ok(out)
}

/// The IVs of one message, by its [`IvPolicy`].
struct IvSource<'a> {
    provider: &'a dyn CryptoProvider,
    policy: IvPolicy,
}

impl IvSource<'_> {
    fn header(&self) -> Result<[u8; IV_LEN], Error> {
        match self.policy {
            IvPolicy::Sequence => Ok([0u8; IV_LEN]),
            IvPolicy::Random => self.random(),
        }
    }

    /// The IV of frame `sequence`.
    fn frame(&self, sequence: u32) -> Result<[u8; IV_LEN], Error> {
        match self.policy {
            IvPolicy::Sequence => {
                let mut iv = [0u8; IV_LEN];
                iv[IV_LEN - 4..].copy_from_slice(&sequence.to_be_bytes());
                Ok(iv)
            }
            IvPolicy::Random => self.random(),
        }
    }

    fn random(&self) -> Result<[u8; IV_LEN], Error> {
        let mut iv = [0u8; IV_LEN];
        self.provider.fill_random(&mut iv)?;
        Ok(iv)
    }
}

fn write_body(
    out: &mut Vec<u8>,
    gcm: &dyn crate::provider::AesGcmKey,
    ivs: &IvSource<'_>,
    message_id: &[u8],
    plaintext: &[u8],
    frame_length: u32,
) -> Result<(), Error> {
    if frame_length == 0 {
        if plaintext.len() as u64 > body::MAX_NON_FRAMED_LEN {
            return Err(Error::ContentTooLong(plaintext.len() as u64));
        }
        let iv = ivs.frame(1)?;
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
        let iv = ivs.frame(sequence)?;
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
    let iv = ivs.frame(sequence)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::provider::all_providers;
    use crate::test_keys::{private, public};
    use crate::{DecryptOptions, Message, decrypt};

    const KEY_ID: &str = "0c4b5a4e-7d0f-4c1e-9b0a-ivs-unit-test";

    fn sequence_iv(sequence: u32) -> [u8; IV_LEN] {
        let mut iv = [0u8; IV_LEN];
        iv[IV_LEN - 4..].copy_from_slice(&sequence.to_be_bytes());
        iv
    }

    /// The header IV and every frame's (sequence, IV) of a message.
    fn ivs_of(bytes: &[u8]) -> ([u8; IV_LEN], Vec<(u32, Vec<u8>)>) {
        let m = Message::parse(bytes, 1).unwrap();
        let frames = m.frames().map(|f| f.map(|f| (f.sequence, f.iv.to_vec()))).collect::<Result<_, _>>().unwrap();
        (m.header.auth_iv, frames)
    }

    // 3 frames of 4096 (two full, one short): enough to see a per-frame IV.
    fn plaintext() -> Vec<u8> {
        b"0123456789".iter().copied().cycle().take(2 * CONNECT_FRAME_LENGTH as usize + 100).collect()
    }

    #[test]
    fn connect_ivs_are_random_and_decrypt_with_every_provider() {
        for provider in all_providers() {
            let pt = plaintext();
            let a = encrypt_connect_der(provider, KEY_ID, &public(), &pt).unwrap();
            let b = encrypt_connect_der(provider, KEY_ID, &public(), &pt).unwrap();
            let (header_a, frames_a) = ivs_of(&a);
            let (header_b, _) = ivs_of(&b);
            assert_ne!(header_a, [0u8; IV_LEN], "{}: header IV is zero", provider.name());
            assert_ne!(header_a, header_b, "{}: two messages share a header IV", provider.name());
            assert_eq!(frames_a.len(), 3);
            for (seq, iv) in &frames_a {
                assert_ne!(
                    iv.as_slice(),
                    sequence_iv(*seq).as_slice(),
                    "{}: frame {seq} IV is its sequence",
                    provider.name()
                );
            }
            assert_ne!(frames_a[0].1, frames_a[1].1);
            assert_ne!(frames_a[1].1, frames_a[2].1);
            let keyring = RawRsaKeyring::connect_private_der(provider, KEY_ID, &private()).unwrap();
            let out = decrypt(provider, &[&keyring], &a, &DecryptOptions::connect()).unwrap();
            assert_eq!(out.plaintext.expose(), pt.as_slice());
        }
    }

    #[test]
    fn sequence_ivs_are_zero_header_and_sequence_frames() {
        let provider = crate::provider::default_provider();
        let keyring = RawRsaKeyring::connect_public_der(provider, KEY_ID, &public()).unwrap();
        let pt = plaintext();
        let m = encrypt(provider, &[&keyring], &pt, &EncryptOptions::connect()).unwrap();
        let (header, frames) = ivs_of(&m);
        assert_eq!(header, [0u8; IV_LEN]);
        assert_eq!(frames.len(), 3);
        for (seq, iv) in &frames {
            assert_eq!(iv.as_slice(), sequence_iv(*seq).as_slice());
        }
        let private = RawRsaKeyring::connect_private_der(provider, KEY_ID, &private()).unwrap();
        assert_eq!(decrypt(provider, &[&private], &m, &DecryptOptions::connect()).unwrap().plaintext.expose(), pt);
    }

    #[test]
    fn random_non_framed_body_has_a_random_iv() {
        let provider = crate::provider::default_provider();
        let keyring = RawRsaKeyring::connect_public_der(provider, KEY_ID, &public()).unwrap();
        let options = EncryptOptions { frame_length: 0, ..EncryptOptions::connect() };
        let m = encrypt_with_ivs(provider, &[&keyring], b"4111111111111111", &options, IvPolicy::Random).unwrap();
        let (header, frames) = ivs_of(&m);
        assert_ne!(header, [0u8; IV_LEN]);
        assert_ne!(frames[0].1.as_slice(), sequence_iv(1).as_slice());
        let private = RawRsaKeyring::connect_private_der(provider, KEY_ID, &private()).unwrap();
        let out = decrypt(provider, &[&private], &m, &DecryptOptions::connect()).unwrap();
        assert_eq!(out.plaintext.expose(), b"4111111111111111");
    }
}
