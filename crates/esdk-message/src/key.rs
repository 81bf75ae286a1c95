//! The private key the RSA keyrings take: PKCS#8 DER, zeroized on drop.
//!
//! No PEM here: as rustls leaves PEM to its callers, the stored key is read by
//! `keystore::StoredKey` (`pem-rfc7468`/`pkcs8`/`pkcs1`), and tests decode theirs with
//! `test_support::fixtures::der`.

use zeroize::Zeroizing;

/// A PKCS#8 DER private key. Zeroized on drop; never printed.
pub struct PrivateKeyDer(Zeroizing<Vec<u8>>);

impl PrivateKeyDer {
    /// The DER bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Wraps PKCS#8 DER bytes the caller already has.
    pub fn from_pkcs8_der(der: Zeroizing<Vec<u8>>) -> Self {
        Self(der)
    }
}

impl core::fmt::Debug for PrivateKeyDer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PrivateKeyDer(<redacted>)")
    }
}
