//! The `aws-lc-rs` backend: constant-time RSA, FIPS-capable.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPublicKeyCompressedBin};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512, OaepAlgorithm,
    OaepPrivateDecryptingKey, OaepPublicEncryptingKey, Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, ParsedPublicKey};
use aws_lc_rs::{hkdf, rand};
use zeroize::Zeroizing;

use super::{AesGcmKey, CryptoProvider, EcdsaSigner, RsaPadding, RsaPrivateKey, RsaPublicKey};
use crate::Error;
use crate::suite::{Curve, Hash, TAG_LEN};

/// The `aws-lc-rs` provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsLc;

struct Gcm(LessSafeKey);

impl AesGcmKey for Gcm {
    fn open(&self, iv: &[u8], aad: &[u8], in_out: &mut [u8], tag: &[u8]) -> Result<(), Error> {
        let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| Error::InvalidArgument("IV length"))?;
        self.0
            .open_in_place_separate_tag(nonce, Aad::from(aad), tag, in_out)
            .map(|_| ())
            .map_err(|_| Error::Backend("AES-GCM open"))
    }

    fn seal(&self, iv: &[u8], aad: &[u8], in_out: &mut [u8]) -> Result<[u8; TAG_LEN], Error> {
        let nonce = Nonce::try_assume_unique_for_key(iv).map_err(|_| Error::InvalidArgument("IV length"))?;
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce, Aad::from(aad), in_out)
            .map_err(|_| Error::Backend("AES-GCM seal"))?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

fn hkdf_alg(hash: Hash) -> Result<hkdf::Algorithm, Error> {
    match hash {
        Hash::Sha256 => Ok(hkdf::HKDF_SHA256),
        Hash::Sha384 => Ok(hkdf::HKDF_SHA384),
        Hash::Sha512 => Ok(hkdf::HKDF_SHA512),
        Hash::Sha1 => Err(Error::InvalidArgument("HKDF-SHA1 is not used by any suite")),
    }
}

struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn oaep_alg(hash: Hash) -> &'static OaepAlgorithm {
    match hash {
        Hash::Sha1 => &OAEP_SHA1_MGF1SHA1,
        Hash::Sha256 => &OAEP_SHA256_MGF1SHA256,
        Hash::Sha384 => &OAEP_SHA384_MGF1SHA384,
        Hash::Sha512 => &OAEP_SHA512_MGF1SHA512,
    }
}

struct RsaPrivate {
    oaep: OaepPrivateDecryptingKey,
    pkcs1: Pkcs1PrivateDecryptingKey,
    public_der: Vec<u8>,
}

impl RsaPrivateKey for RsaPrivate {
    fn bits(&self) -> usize {
        self.oaep.key_size_bits()
    }

    fn decrypt(&self, padding: RsaPadding, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(vec![0u8; self.oaep.key_size_bytes()]);
        let len = match padding {
            RsaPadding::Oaep(hash) => self.oaep.decrypt(oaep_alg(hash), ciphertext, &mut out, None).ok()?.len(),
            RsaPadding::Pkcs1v15 => self.pkcs1.decrypt(ciphertext, &mut out).ok()?.len(),
        };
        out.truncate(len);
        Some(out)
    }

    fn public_key_der(&self) -> Result<Vec<u8>, Error> {
        Ok(self.public_der.clone())
    }
}

struct RsaPublic(PublicEncryptingKey);

impl RsaPublicKey for RsaPublic {
    fn bits(&self) -> usize {
        self.0.key_size_bits()
    }

    fn encrypt(&self, padding: RsaPadding, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; self.0.key_size_bytes()];
        let fail = |_| Error::Backend("RSA encrypt");
        let len = match padding {
            RsaPadding::Oaep(hash) => OaepPublicEncryptingKey::new(self.0.clone())
                .map_err(fail)?
                .encrypt(oaep_alg(hash), plaintext, &mut out, None)
                .map_err(fail)?
                .len(),
            RsaPadding::Pkcs1v15 => Pkcs1PublicEncryptingKey::new(self.0.clone())
                .map_err(fail)?
                .encrypt(plaintext, &mut out)
                .map_err(fail)?
                .len(),
        };
        out.truncate(len);
        Ok(out)
    }
}

struct Signer(EcdsaKeyPair);

impl EcdsaSigner for Signer {
    fn public_key_compressed(&self) -> Vec<u8> {
        let point: Result<EcPublicKeyCompressedBin<'_>, _> = self.0.public_key().as_be_bytes();
        point.map(|p| p.as_ref().to_vec()).unwrap_or_default()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = rand::SystemRandom::new();
        let sig = self.0.sign(&rng, message).map_err(|_| Error::Backend("ECDSA sign"))?;
        Ok(sig.as_ref().to_vec())
    }
}

impl CryptoProvider for AwsLc {
    fn name(&self) -> &'static str {
        "aws-lc"
    }

    fn aes_gcm(&self, key: &[u8]) -> Result<Box<dyn AesGcmKey>, Error> {
        let alg = match key.len() {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            32 => &aead::AES_256_GCM,
            _ => return Err(Error::InvalidKey("AES key must be 16, 24 or 32 bytes")),
        };
        let key = UnboundKey::new(alg, key).map_err(|_| Error::InvalidKey("AES key rejected"))?;
        Ok(Box::new(Gcm(LessSafeKey::new(key))))
    }

    fn hkdf(&self, hash: Hash, salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        let prk = hkdf::Salt::new(hkdf_alg(hash)?, salt).extract(ikm);
        prk.expand(info, OutLen(out.len()))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| Error::Backend("HKDF output too long"))
    }

    fn ecdsa_verify(&self, curve: Curve, public_key: &[u8], message: &[u8], sig: &[u8]) -> Result<(), Error> {
        let alg = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1,
        };
        let key = ParsedPublicKey::new(alg, public_key).map_err(|_| Error::InvalidSignaturePublicKey)?;
        key.verify_sig(message, sig).map_err(|_| Error::SignatureInvalid)
    }

    fn ecdsa_generate(&self, curve: Curve) -> Result<Box<dyn EcdsaSigner>, Error> {
        let alg = match curve {
            Curve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        };
        let pair = EcdsaKeyPair::generate(alg).map_err(|_| Error::Backend("ECDSA key generation"))?;
        Ok(Box::new(Signer(pair)))
    }

    fn rsa_private_key(&self, pkcs8_der: &[u8]) -> Result<Box<dyn RsaPrivateKey>, Error> {
        let key = PrivateDecryptingKey::from_pkcs8(pkcs8_der)
            .map_err(|_| Error::InvalidKey("not an RSA private key the backend accepts"))?;
        let public_der = key
            .public_key()
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| Error::InvalidKey("cannot encode the public key"))?;
        let reject = |_| Error::InvalidKey("RSA key size not supported by the backend");
        Ok(Box::new(RsaPrivate {
            oaep: OaepPrivateDecryptingKey::new(key.clone()).map_err(reject)?,
            pkcs1: Pkcs1PrivateDecryptingKey::new(key).map_err(reject)?,
            public_der,
        }))
    }

    fn rsa_public_key(&self, spki_der: &[u8]) -> Result<Box<dyn RsaPublicKey>, Error> {
        let key = PublicEncryptingKey::from_der(spki_der).map_err(|_| Error::InvalidKey("not an RSA public key"))?;
        Ok(Box::new(RsaPublic(key)))
    }

    fn fill_random(&self, out: &mut [u8]) -> Result<(), Error> {
        rand::fill(out).map_err(|_| Error::Backend("random number generator"))
    }
}
