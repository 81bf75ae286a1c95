//! Raw RSA keyring: the data key wrapped directly with RSA.
//!
//! Spec, framework/raw-rsa-keyring.md: provider ID = key namespace, provider info = key name,
//! ciphertext = RSA encryption of the data key. Amazon Connect uses namespace `AmazonConnect`,
//! key name = its key ID, and OAEP with SHA-512 and MGF1-SHA-512.
//!
//! PKCS#1 v1.5 unwrapping uses implicit rejection: a ciphertext whose padding does not check, or
//! that unwraps to a key of the wrong length, yields a synthetic data key instead of a failure.
//! Decryption then fails at the commitment or the header tag exactly as with a conformant
//! ciphertext of a wrong key, so the error (and the work done) never tells whether the padding
//! was conformant: no Bleichenbacher oracle.

use crate::Error;
use crate::header::EncryptedDataKey;
use crate::key::PrivateKeyDer;
use crate::provider::{AesGcmKey, CryptoProvider, RsaPadding, RsaPrivateKey, RsaPublicKey};
use crate::suite::{Hash, IV_LEN, Suite};

use super::{DataKey, Keyring, OwnedEncryptedDataKey};

/// Amazon Connect's key namespace.
pub const CONNECT_NAMESPACE: &str = "AmazonConnect";
/// Amazon Connect's wrapping: OAEP, SHA-512, MGF1-SHA-512.
pub const CONNECT_PADDING: RsaPadding = RsaPadding::Oaep(Hash::Sha512);

/// A raw RSA keyring holding a private key (decrypt and encrypt) or a public key (encrypt).
pub struct RawRsaKeyring {
    namespace: String,
    name: String,
    padding: RsaPadding,
    private: Option<Box<dyn RsaPrivateKey>>,
    public: Option<Box<dyn RsaPublicKey>>,
    /// For PKCS#1 v1.5 with a private key: the source of synthetic data keys.
    rejection: Option<ImplicitRejection>,
}

/// Synthetic data keys for PKCS#1 v1.5 implicit rejection, under a random per-keyring AES key:
/// the IV is the GMAC of the wrapped key, the synthetic key the AES-GCM keystream at that IV. So
/// one ciphertext always gives the same synthetic key, unpredictable without the AES key.
struct ImplicitRejection(Box<dyn AesGcmKey>);

impl ImplicitRejection {
    fn new(provider: &dyn CryptoProvider) -> Result<Self, Error> {
        let mut key = zeroize::Zeroizing::new([0u8; 32]);
        provider.fill_random(key.as_mut_slice())?;
        Ok(Self(provider.aes_gcm(key.as_slice())?))
    }

    fn synthetic_key(&self, ciphertext: &[u8], len: usize) -> Option<DataKey> {
        let mac = self.0.seal(&[0u8; IV_LEN], ciphertext, &mut []).ok()?;
        let iv = mac.get(..IV_LEN)?;
        let mut key = DataKey::new(vec![0u8; len]);
        self.0.seal(iv, &[], &mut key).ok()?;
        Some(key)
    }
}

impl core::fmt::Debug for RawRsaKeyring {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawRsaKeyring")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("padding", &self.padding)
            .field("private", &self.private.is_some())
            .finish()
    }
}

impl RawRsaKeyring {
    /// A keyring that can only decrypt, with a private key (PKCS#8 DER).
    ///
    /// Spec, framework/raw-rsa-keyring.md: "The raw RSA keyring MUST NOT derive a public key from
    /// a specified private key." To encrypt too, give both halves to [`Self::from_key_pair`].
    pub fn from_private_key(
        provider: &dyn CryptoProvider,
        namespace: &str,
        name: &str,
        key: &PrivateKeyDer,
        padding: RsaPadding,
    ) -> Result<Self, Error> {
        let private = provider.rsa_private_key(key.as_bytes())?;
        let rejection = rejection_for(provider, padding)?;
        Ok(Self {
            namespace: namespace.into(),
            name: name.into(),
            padding,
            private: Some(private),
            public: None,
            rejection,
        })
    }

    /// A keyring that decrypts with `key` and encrypts with `spki_der`, both given by the caller.
    pub fn from_key_pair(
        provider: &dyn CryptoProvider,
        namespace: &str,
        name: &str,
        key: &PrivateKeyDer,
        spki_der: &[u8],
        padding: RsaPadding,
    ) -> Result<Self, Error> {
        let private = provider.rsa_private_key(key.as_bytes())?;
        let public = provider.rsa_public_key(spki_der)?;
        if public.bits() != private.bits() {
            return Err(Error::InvalidKey("the public key is not the private key's size"));
        }
        Ok(Self {
            namespace: namespace.into(),
            name: name.into(),
            padding,
            private: Some(private),
            public: Some(public),
            rejection: rejection_for(provider, padding)?,
        })
    }

    /// A keyring that can only encrypt, from SubjectPublicKeyInfo DER.
    pub fn from_public_key(
        provider: &dyn CryptoProvider,
        namespace: &str,
        name: &str,
        spki_der: &[u8],
        padding: RsaPadding,
    ) -> Result<Self, Error> {
        let public = provider.rsa_public_key(spki_der)?;
        Ok(Self {
            namespace: namespace.into(),
            name: name.into(),
            padding,
            private: None,
            public: Some(public),
            rejection: None,
        })
    }

    /// Amazon Connect's keyring for one key ID (decrypt only), from a PKCS#8 DER private key.
    pub fn connect_private_der(
        provider: &dyn CryptoProvider,
        key_id: &str,
        key: &PrivateKeyDer,
    ) -> Result<Self, Error> {
        Self::from_private_key(provider, CONNECT_NAMESPACE, key_id, key, CONNECT_PADDING)
    }

    /// Amazon Connect's keyring for one key ID (encrypt only), from SubjectPublicKeyInfo DER.
    pub fn connect_public_der(provider: &dyn CryptoProvider, key_id: &str, spki_der: &[u8]) -> Result<Self, Error> {
        Self::from_public_key(provider, CONNECT_NAMESPACE, key_id, spki_der, CONNECT_PADDING)
    }

    /// The RSA modulus size in bits.
    pub fn bits(&self) -> usize {
        match (&self.private, &self.public) {
            (Some(private), _) => private.bits(),
            (None, Some(public)) => public.bits(),
            (None, None) => 0,
        }
    }

    /// The key name (for Connect, the key ID).
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn rejection_for(provider: &dyn CryptoProvider, padding: RsaPadding) -> Result<Option<ImplicitRejection>, Error> {
    match padding {
        RsaPadding::Pkcs1v15 => ImplicitRejection::new(provider).map(Some),
        RsaPadding::Oaep(_) => Ok(None),
    }
}

impl Keyring for RawRsaKeyring {
    fn unwrap_key(&self, edk: &EncryptedDataKey<'_>, _context: &[u8], suite: &Suite) -> Option<DataKey> {
        if edk.provider_id != self.namespace.as_bytes() || edk.provider_info != self.name.as_bytes() {
            return None;
        }
        let private = self.private.as_ref()?;
        let Some(rejection) = &self.rejection else {
            return private.decrypt(self.padding, edk.ciphertext);
        };
        // Both results are computed every time; a failure of either kind becomes the synthetic key.
        let want = suite.data_key_len();
        let synthetic = rejection.synthetic_key(edk.ciphertext, want)?;
        match private.decrypt(self.padding, edk.ciphertext) {
            Some(key) if key.len() == want => Some(key),
            _ => Some(synthetic),
        }
    }

    fn wrap_key(&self, data_key: &[u8], _context: &[u8], _suite: &Suite) -> Result<OwnedEncryptedDataKey, Error> {
        let public = self.public.as_ref().ok_or(Error::InvalidKey("keyring has no public key"))?;
        Ok(OwnedEncryptedDataKey {
            provider_id: self.namespace.as_bytes().to_vec(),
            provider_info: self.name.as_bytes().to_vec(),
            ciphertext: public.encrypt(self.padding, data_key)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::suite::SuiteId;

    use test_support::fixtures::{RSA_4096_TEST_KEY as PRIVATE, RSA_4096_TEST_PUBLIC as PUBLIC, der};

    fn private_der() -> PrivateKeyDer {
        PrivateKeyDer::from_pkcs8_der(zeroize::Zeroizing::new(der(PRIVATE)))
    }

    fn suite() -> &'static Suite {
        SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384.suite().unwrap()
    }

    #[test]
    fn a_private_key_keyring_does_not_derive_a_public_key_to_encrypt_with() {
        let provider = crate::provider::default_provider();
        let keyring = RawRsaKeyring::connect_private_der(provider, "k", &private_der()).unwrap();
        assert_eq!(keyring.bits(), 4096);
        let err = keyring.wrap_key(&[7u8; 32], &[], suite()).err();
        assert_eq!(err, Some(Error::InvalidKey("keyring has no public key")));
    }

    #[test]
    fn a_key_pair_keyring_wraps_and_unwraps() {
        let provider = crate::provider::default_provider();
        let keyring = RawRsaKeyring::from_key_pair(
            provider,
            CONNECT_NAMESPACE,
            "k",
            &private_der(),
            &der(PUBLIC),
            CONNECT_PADDING,
        )
        .unwrap();
        let edk = keyring.wrap_key(&[7u8; 32], &[], suite()).unwrap();
        let borrowed = EncryptedDataKey {
            provider_id: &edk.provider_id,
            provider_info: &edk.provider_info,
            ciphertext: &edk.ciphertext,
        };
        assert_eq!(keyring.unwrap_key(&borrowed, &[], suite()).unwrap().as_slice(), &[7u8; 32]);
    }

    /// Offers one chosen RSA ciphertext under the keyring's namespace and name.
    struct Chosen(Vec<u8>);

    impl Keyring for Chosen {
        fn unwrap_key(&self, _: &EncryptedDataKey<'_>, _: &[u8], _: &Suite) -> Option<DataKey> {
            None
        }
        fn wrap_key(&self, _: &[u8], _: &[u8], _: &Suite) -> Result<OwnedEncryptedDataKey, Error> {
            Ok(OwnedEncryptedDataKey {
                provider_id: b"pkcs1-test".to_vec(),
                provider_info: b"k".to_vec(),
                ciphertext: self.0.clone(),
            })
        }
    }

    /// Spec, framework/raw-rsa-keyring.md allows PKCS#1 v1.5; an error that says whether the
    /// padding was conformant is a Bleichenbacher oracle. A non-conformant ciphertext, a
    /// conformant one of a wrong-length key and a conformant one of a wrong key of the right
    /// length must fail alike. (Before implicit rejection the first two gave `NoMatchingKey` and
    /// the last `HeaderAuthFailed`/`CommitmentMismatch`.)
    #[test]
    fn pkcs1v15_failures_do_not_tell_whether_the_padding_was_conformant() {
        use crate::suite::CommitmentPolicy;
        use crate::{DecryptOptions, EncryptOptions, decrypt, encrypt};
        for provider in crate::provider::all_providers() {
            let key = private_der();
            let spki = der(PUBLIC);
            let keyring =
                RawRsaKeyring::from_key_pair(provider, "pkcs1-test", "k", &key, &spki, RsaPadding::Pkcs1v15).unwrap();
            let public = provider.rsa_public_key(&spki).unwrap();
            let mut flipped = public.encrypt(RsaPadding::Pkcs1v15, &[5u8; 32]).unwrap();
            flipped[100] ^= 0x40;
            let short = public.encrypt(RsaPadding::Pkcs1v15, &[5u8; 16]).unwrap();
            let wrong = public.encrypt(RsaPadding::Pkcs1v15, &[5u8; 32]).unwrap();
            for (suite, policy, expected) in [
                (SuiteId(0x0378), CommitmentPolicy::ForbidEncryptAllowDecrypt, Error::HeaderAuthFailed),
                (SuiteId(0x0578), CommitmentPolicy::RequireEncryptRequireDecrypt, Error::CommitmentMismatch),
            ] {
                let options = EncryptOptions { suite, commitment_policy: policy, ..EncryptOptions::connect() };
                let good = encrypt(provider, &[&keyring], b"4111", &options).unwrap();
                let opened = decrypt(provider, &[&keyring], &good, &DecryptOptions::permissive()).unwrap();
                assert_eq!(opened.plaintext.expose(), b"4111");
                for (case, ciphertext) in [("non-conformant", &flipped), ("16-byte key", &short), ("wrong key", &wrong)]
                {
                    let m = encrypt(provider, &[&Chosen(ciphertext.clone())], b"4111", &options).unwrap();
                    let r = decrypt(provider, &[&keyring], &m, &DecryptOptions::permissive());
                    assert_eq!(r.err(), Some(expected.clone()), "{} {suite}: {case}", provider.name());
                }
            }
        }
    }

    #[test]
    fn synthetic_keys_are_per_ciphertext_and_stable() {
        let provider = crate::provider::default_provider();
        let r = ImplicitRejection::new(provider).unwrap();
        let a = r.synthetic_key(b"ciphertext a", 32).unwrap();
        assert_eq!(a.as_slice(), r.synthetic_key(b"ciphertext a", 32).unwrap().as_slice());
        assert_ne!(a.as_slice(), r.synthetic_key(b"ciphertext b", 32).unwrap().as_slice());
        assert_ne!(a.as_slice(), [0u8; 32].as_slice());
    }
}
