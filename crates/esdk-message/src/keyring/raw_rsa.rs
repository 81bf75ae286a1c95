//! Raw RSA keyring: the data key wrapped directly with RSA.
//!
//! Spec, framework/raw-rsa-keyring.md: provider ID = key namespace, provider info = key name,
//! ciphertext = RSA encryption of the data key. Amazon Connect uses namespace `AmazonConnect`,
//! key name = its key ID, and OAEP with SHA-512 and MGF1-SHA-512.

use crate::Error;
use crate::header::EncryptedDataKey;
use crate::key::{self, PrivateKeyDer};
use crate::provider::{CryptoProvider, RsaPadding, RsaPrivateKey, RsaPublicKey};
use crate::suite::{Hash, Suite};

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
        Ok(Self { namespace: namespace.into(), name: name.into(), padding, private: Some(private), public: None })
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
        Ok(Self { namespace: namespace.into(), name: name.into(), padding, private: None, public: Some(public) })
    }

    /// Amazon Connect's keyring for one key ID, from a PEM private key (PKCS#8 or PKCS#1).
    pub fn connect_private(provider: &dyn CryptoProvider, key_id: &str, pem: &str) -> Result<Self, Error> {
        let der = key::private_key_from_pem(pem)?;
        Self::from_private_key(provider, CONNECT_NAMESPACE, key_id, &der, CONNECT_PADDING)
    }

    /// Amazon Connect's keyring for one key ID, from a PEM public key or X.509 certificate.
    pub fn connect_public(provider: &dyn CryptoProvider, key_id: &str, pem: &str) -> Result<Self, Error> {
        let der = key::public_key_from_pem(pem)?;
        Self::from_public_key(provider, CONNECT_NAMESPACE, key_id, &der, CONNECT_PADDING)
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

impl Keyring for RawRsaKeyring {
    fn unwrap_key(&self, edk: &EncryptedDataKey<'_>, _context: &[u8], _suite: &Suite) -> Option<DataKey> {
        if edk.provider_id != self.namespace.as_bytes() || edk.provider_info != self.name.as_bytes() {
            return None;
        }
        self.private.as_ref()?.decrypt(self.padding, edk.ciphertext)
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::suite::SuiteId;

    const PUBLIC: &str = include_str!("../../tests/data/rsa-4096-test-key.pub.pem");
    const PRIVATE: &str = include_str!("../../tests/data/rsa-4096-test-key.pem");

    fn suite() -> &'static Suite {
        SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384.suite().unwrap()
    }

    #[test]
    fn a_private_key_keyring_does_not_derive_a_public_key_to_encrypt_with() {
        let provider = crate::provider::default_provider();
        let keyring = RawRsaKeyring::connect_private(provider, "k", PRIVATE).unwrap();
        assert_eq!(keyring.bits(), 4096);
        let err = keyring.wrap_key(&[7u8; 32], &[], suite()).err();
        assert_eq!(err, Some(Error::InvalidKey("keyring has no public key")));
    }

    #[test]
    fn a_key_pair_keyring_wraps_and_unwraps() {
        let provider = crate::provider::default_provider();
        let der = key::private_key_from_pem(PRIVATE).unwrap();
        let spki = key::public_key_from_pem(PUBLIC).unwrap();
        let keyring =
            RawRsaKeyring::from_key_pair(provider, CONNECT_NAMESPACE, "k", &der, &spki, CONNECT_PADDING).unwrap();
        let edk = keyring.wrap_key(&[7u8; 32], &[], suite()).unwrap();
        let borrowed = EncryptedDataKey {
            provider_id: &edk.provider_id,
            provider_info: &edk.provider_info,
            ciphertext: &edk.ciphertext,
        };
        assert_eq!(keyring.unwrap_key(&borrowed, &[], suite()).unwrap().as_slice(), &[7u8; 32]);
    }
}
