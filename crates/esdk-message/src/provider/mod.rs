//! The one seam between the message format and cryptography.
//!
//! The format code calls only [`CryptoProvider`]; each backend implements it once. Which
//! backends exist is chosen by cargo features (`aws-lc`, `rustcrypto`).

use core::fmt;

use zeroize::Zeroizing;

use crate::Error;
use crate::suite::{Curve, Hash, TAG_LEN};

#[cfg(feature = "aws-lc")]
mod aws_lc;
#[cfg(feature = "rustcrypto")]
mod rustcrypto;

#[cfg(feature = "aws-lc")]
pub use aws_lc::AwsLc;
#[cfg(feature = "rustcrypto")]
pub use rustcrypto::RustCrypto;

/// RSA padding of a raw RSA keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaPadding {
    /// PKCS#1 v1.5 encryption padding.
    Pkcs1v15,
    /// OAEP with this hash and MGF1 over the same hash, empty label.
    Oaep(Hash),
}

/// The primitives the message format needs.
pub trait CryptoProvider: Send + Sync + fmt::Debug {
    /// A short name for reports (`aws-lc`, `rustcrypto`).
    fn name(&self) -> &'static str;

    /// An AES-GCM key (16, 24 or 32 bytes) ready for many operations.
    fn aes_gcm(&self, key: &[u8]) -> Result<Box<dyn AesGcmKey>, Error>;

    /// HKDF (extract then expand) filling `out`. An empty salt means the RFC 5869 default.
    fn hkdf(&self, hash: Hash, salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), Error>;

    /// Verifies an ASN.1 DER ECDSA signature over `message` with a SEC1 (compressed or not)
    /// public key. `InvalidSignaturePublicKey` if the point is bad, `SignatureInvalid` otherwise.
    fn ecdsa_verify(&self, curve: Curve, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error>;

    /// A fresh ECDSA signing key for one message.
    fn ecdsa_generate(&self, curve: Curve) -> Result<Box<dyn EcdsaSigner>, Error>;

    /// Loads an RSA private key from PKCS#8 DER.
    fn rsa_private_key(&self, pkcs8_der: &[u8]) -> Result<Box<dyn RsaPrivateKey>, Error>;

    /// Loads an RSA public key from SubjectPublicKeyInfo DER.
    fn rsa_public_key(&self, spki_der: &[u8]) -> Result<Box<dyn RsaPublicKey>, Error>;

    /// Fills `out` from the operating system's CSPRNG.
    fn fill_random(&self, out: &mut [u8]) -> Result<(), Error>;
}

/// An AES-GCM key with a 12-byte IV and 16-byte tag.
pub trait AesGcmKey: Send + Sync {
    /// Decrypts `in_out` in place; on failure its content is unspecified and must be discarded.
    fn open(&self, iv: &[u8], aad: &[u8], in_out: &mut [u8], tag: &[u8]) -> Result<(), Error>;
    /// Encrypts `in_out` in place and returns the tag.
    fn seal(&self, iv: &[u8], aad: &[u8], in_out: &mut [u8]) -> Result<[u8; TAG_LEN], Error>;
}

/// An RSA private key for unwrapping data keys.
pub trait RsaPrivateKey: Send + Sync {
    /// Modulus size in bits.
    fn bits(&self) -> usize;
    /// Decrypts a wrapped data key. Any failure is `Error::Backend("rsa decrypt")`-free: it
    /// returns `None` so that a wrong key and a bad ciphertext look the same.
    fn decrypt(&self, padding: RsaPadding, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>>;
    /// The public half as SubjectPublicKeyInfo DER.
    fn public_key_der(&self) -> Result<Vec<u8>, Error>;
}

/// An RSA public key for wrapping data keys.
pub trait RsaPublicKey: Send + Sync {
    /// Modulus size in bits.
    fn bits(&self) -> usize;
    /// Encrypts a data key.
    fn encrypt(&self, padding: RsaPadding, plaintext: &[u8]) -> Result<Vec<u8>, Error>;
}

/// A one-message ECDSA signing key.
pub trait EcdsaSigner {
    /// The public key as a compressed SEC1 point.
    fn public_key_compressed(&self) -> Vec<u8>;
    /// Signs `message`, returning an ASN.1 DER signature.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// The provider the Lambda and CLI use unless told otherwise: `aws-lc` when compiled in
/// (constant-time RSA, and far faster RSA-4096 than blinded `rsa` 0.9), else `rustcrypto`.
pub fn default_provider() -> &'static dyn CryptoProvider {
    #[cfg(feature = "aws-lc")]
    {
        &AwsLc
    }
    #[cfg(all(not(feature = "aws-lc"), feature = "rustcrypto"))]
    {
        &RustCrypto
    }
}

/// Every provider compiled in, for tests and benchmarks that compare them.
pub fn all_providers() -> Vec<&'static dyn CryptoProvider> {
    let providers: [Option<&'static dyn CryptoProvider>; 2] = [
        #[cfg(feature = "aws-lc")]
        Some(&AwsLc),
        #[cfg(not(feature = "aws-lc"))]
        None,
        #[cfg(feature = "rustcrypto")]
        Some(&RustCrypto),
        #[cfg(not(feature = "rustcrypto"))]
        None,
    ];
    providers.into_iter().flatten().collect()
}

/// Looks a provider up by its name.
pub fn provider_by_name(name: &str) -> Option<&'static dyn CryptoProvider> {
    all_providers().into_iter().find(|p| p.name() == name)
}

#[cfg(not(any(feature = "aws-lc", feature = "rustcrypto")))]
compile_error!("enable at least one crypto provider feature: `aws-lc` or `rustcrypto`");
