//! The RustCrypto backend: pure Rust (`rsa`, `aes-gcm`, `hkdf`, `sha2`, `p256`, `p384`).
//!
//! `rsa` carries the open advisory RUSTSEC-2023-0071 (Marvin timing side channel); decryption
//! here always uses blinding, but the Lambda defaults to the `aws-lc` provider.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};
use ecdsa::signature::{Signer as _, Verifier as _};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt};
use zeroize::Zeroizing;

use super::{AesGcmKey, CryptoProvider, EcdsaSigner, RsaPadding, RsaPrivateKey, RsaPublicKey};
use crate::Error;
use crate::suite::{Curve, Hash, TAG_LEN};

type Aes192Gcm = AesGcm<aes::Aes192, U12>;

/// The RustCrypto provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

enum Gcm {
    A128(Aes128Gcm),
    A192(Aes192Gcm),
    A256(Aes256Gcm),
}

impl AesGcmKey for Gcm {
    fn open(&self, iv: &[u8], aad: &[u8], in_out: &mut [u8], tag: &[u8]) -> Result<(), Error> {
        if iv.len() != 12 || tag.len() != TAG_LEN {
            return Err(Error::InvalidArgument("IV or tag length"));
        }
        let nonce = aes_gcm::Nonce::from_slice(iv);
        let tag = aes_gcm::Tag::from_slice(tag);
        let r = match self {
            Self::A128(k) => k.decrypt_in_place_detached(nonce, aad, in_out, tag),
            Self::A192(k) => k.decrypt_in_place_detached(nonce, aad, in_out, tag),
            Self::A256(k) => k.decrypt_in_place_detached(nonce, aad, in_out, tag),
        };
        r.map_err(|_| Error::Backend("AES-GCM open"))
    }

    fn seal(&self, iv: &[u8], aad: &[u8], in_out: &mut [u8]) -> Result<[u8; TAG_LEN], Error> {
        if iv.len() != 12 {
            return Err(Error::InvalidArgument("IV length"));
        }
        let nonce = aes_gcm::Nonce::from_slice(iv);
        let r = match self {
            Self::A128(k) => k.encrypt_in_place_detached(nonce, aad, in_out),
            Self::A192(k) => k.encrypt_in_place_detached(nonce, aad, in_out),
            Self::A256(k) => k.encrypt_in_place_detached(nonce, aad, in_out),
        };
        let tag = r.map_err(|_| Error::Backend("AES-GCM seal"))?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&tag);
        Ok(out)
    }
}

fn hkdf_expand(hash: Hash, salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
    let too_long = |_| Error::Backend("HKDF output too long");
    match hash {
        Hash::Sha256 => Hkdf::<sha2::Sha256>::new(Some(salt), ikm).expand_multi_info(info, out).map_err(too_long),
        Hash::Sha384 => Hkdf::<sha2::Sha384>::new(Some(salt), ikm).expand_multi_info(info, out).map_err(too_long),
        Hash::Sha512 => Hkdf::<sha2::Sha512>::new(Some(salt), ikm).expand_multi_info(info, out).map_err(too_long),
        Hash::Sha1 => Err(Error::InvalidArgument("HKDF-SHA1 is not used by any suite")),
    }
}

fn rsa_decrypt(key: &rsa::RsaPrivateKey, padding: RsaPadding, ct: &[u8]) -> rsa::Result<Vec<u8>> {
    let mut rng = OsRng;
    match padding {
        RsaPadding::Pkcs1v15 => key.decrypt_blinded(&mut rng, Pkcs1v15Encrypt, ct),
        RsaPadding::Oaep(Hash::Sha1) => key.decrypt_blinded(&mut rng, Oaep::new::<sha1::Sha1>(), ct),
        RsaPadding::Oaep(Hash::Sha256) => key.decrypt_blinded(&mut rng, Oaep::new::<sha2::Sha256>(), ct),
        RsaPadding::Oaep(Hash::Sha384) => key.decrypt_blinded(&mut rng, Oaep::new::<sha2::Sha384>(), ct),
        RsaPadding::Oaep(Hash::Sha512) => key.decrypt_blinded(&mut rng, Oaep::new::<sha2::Sha512>(), ct),
    }
}

struct RsaPrivate(rsa::RsaPrivateKey);

impl RsaPrivateKey for RsaPrivate {
    fn bits(&self) -> usize {
        self.0.size() * 8
    }

    fn decrypt(&self, padding: RsaPadding, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        rsa_decrypt(&self.0, padding, ciphertext).ok().map(Zeroizing::new)
    }

    fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        self.0
            .to_public_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|_| Error::InvalidKey("cannot encode the public key"))
    }
}

struct RsaPublic(rsa::RsaPublicKey);

impl RsaPublicKey for RsaPublic {
    fn bits(&self) -> usize {
        self.0.size() * 8
    }

    fn encrypt(&self, padding: RsaPadding, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut rng = OsRng;
        let r = match padding {
            RsaPadding::Pkcs1v15 => self.0.encrypt(&mut rng, Pkcs1v15Encrypt, plaintext),
            RsaPadding::Oaep(Hash::Sha1) => self.0.encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), plaintext),
            RsaPadding::Oaep(Hash::Sha256) => self.0.encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), plaintext),
            RsaPadding::Oaep(Hash::Sha384) => self.0.encrypt(&mut rng, Oaep::new::<sha2::Sha384>(), plaintext),
            RsaPadding::Oaep(Hash::Sha512) => self.0.encrypt(&mut rng, Oaep::new::<sha2::Sha512>(), plaintext),
        };
        r.map_err(|_| Error::Backend("RSA encrypt"))
    }
}

enum Signer {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

impl EcdsaSigner for Signer {
    fn public_key_compressed(&self) -> Vec<u8> {
        match self {
            Self::P256(k) => k.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
            Self::P384(k) => k.verifying_key().to_encoded_point(true).as_bytes().to_vec(),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(match self {
            Self::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
            Self::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign(message);
                sig.to_der().as_bytes().to_vec()
            }
        })
    }
}

impl CryptoProvider for RustCrypto {
    fn name(&self) -> &'static str {
        "rustcrypto"
    }

    fn aes_gcm(&self, key: &[u8]) -> Result<Box<dyn AesGcmKey>, Error> {
        let bad = |_| Error::InvalidKey("AES key rejected");
        Ok(Box::new(match key.len() {
            16 => Gcm::A128(Aes128Gcm::new_from_slice(key).map_err(bad)?),
            24 => Gcm::A192(Aes192Gcm::new_from_slice(key).map_err(bad)?),
            32 => Gcm::A256(Aes256Gcm::new_from_slice(key).map_err(bad)?),
            _ => return Err(Error::InvalidKey("AES key must be 16, 24 or 32 bytes")),
        }))
    }

    fn hkdf(&self, hash: Hash, salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        hkdf_expand(hash, salt, ikm, info, out)
    }

    fn ecdsa_verify(&self, curve: Curve, public_key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), Error> {
        match curve {
            Curve::P256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map_err(|_| Error::InvalidSignaturePublicKey)?;
                let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| Error::SignatureInvalid)?;
                key.verify(message, &sig).map_err(|_| Error::SignatureInvalid)
            }
            Curve::P384 => {
                let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map_err(|_| Error::InvalidSignaturePublicKey)?;
                let sig = p384::ecdsa::Signature::from_der(sig).map_err(|_| Error::SignatureInvalid)?;
                key.verify(message, &sig).map_err(|_| Error::SignatureInvalid)
            }
        }
    }

    fn ecdsa_generate(&self, curve: Curve) -> Result<Box<dyn EcdsaSigner>, Error> {
        Ok(Box::new(match curve {
            Curve::P256 => Signer::P256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            Curve::P384 => Signer::P384(p384::ecdsa::SigningKey::random(&mut OsRng)),
        }))
    }

    fn rsa_private_key(&self, pkcs8_der: &[u8]) -> Result<Box<dyn RsaPrivateKey>, Error> {
        let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8_der)
            .map_err(|_| Error::InvalidKey("not an RSA private key the backend accepts"))?;
        Ok(Box::new(RsaPrivate(key)))
    }

    fn rsa_public_key(&self, spki_der: &[u8]) -> Result<Box<dyn RsaPublicKey>, Error> {
        let key =
            rsa::RsaPublicKey::from_public_key_der(spki_der).map_err(|_| Error::InvalidKey("not an RSA public key"))?;
        Ok(Box::new(RsaPublic(key)))
    }

    fn fill_random(&self, out: &mut [u8]) -> Result<(), Error> {
        OsRng.try_fill_bytes(out).map_err(|_| Error::Backend("random number generator"))
    }
}
