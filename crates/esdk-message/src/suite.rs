//! Algorithm suites: the wire code and everything it implies.
//!
//! Spec, framework/algorithm-suites.md: "The algorithm suite ID ... MUST be one of the supported
//! algorithm suites". The eleven ESDK suites and their properties are tabulated below; an unknown
//! ID still parses into [`SuiteId`] and is refused by [`SuiteId::suite`] with the value.

use crate::Error;

/// A two-byte algorithm suite ID as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SuiteId(pub u16);

/// The one table of suites: each row gives the named constant, the wire code and the properties.
/// It generates the `SuiteId` constants, [`SuiteId::ALL`] and the property table behind
/// [`SuiteId::suite`], so the eleven IDs are written once.
macro_rules! suite_table {
    ($( $(#[$doc:meta])* $name:ident = $id:literal: format $version:literal, $key_len:literal bytes, $kdf:expr, $sig:expr; )*) => {
        impl SuiteId {
            $( $(#[$doc])* pub const $name: Self = Self($id); )*

            /// Every suite the ESDK defines, in ID order.
            pub const ALL: [Self; SUITE_COUNT] = [$( Self::$name ),*];
        }

        const SUITE_COUNT: usize = [$( $id ),*].len();

        static SUITES: [Suite; SUITE_COUNT] = [$(
            Suite { id: SuiteId::$name, message_version: $version, key_len: $key_len, kdf: $kdf, signature: $sig }
        ),*];
    };
}

suite_table! {
    /// AES-128-GCM, no key derivation (message format 1).
    AES_128_GCM_IV12_TAG16_NO_KDF = 0x0014: format 1, 16 bytes, Kdf::Identity, None;
    /// AES-192-GCM, no key derivation (1).
    AES_192_GCM_IV12_TAG16_NO_KDF = 0x0046: format 1, 24 bytes, Kdf::Identity, None;
    /// AES-256-GCM, no key derivation (1).
    AES_256_GCM_IV12_TAG16_NO_KDF = 0x0078: format 1, 32 bytes, Kdf::Identity, None;
    /// AES-128-GCM, HKDF-SHA256 (1).
    AES_128_GCM_IV12_TAG16_HKDF_SHA256 = 0x0114: format 1, 16 bytes, Kdf::Hkdf(Hash::Sha256), None;
    /// AES-192-GCM, HKDF-SHA256 (1).
    AES_192_GCM_IV12_TAG16_HKDF_SHA256 = 0x0146: format 1, 24 bytes, Kdf::Hkdf(Hash::Sha256), None;
    /// AES-256-GCM, HKDF-SHA256 (1).
    AES_256_GCM_IV12_TAG16_HKDF_SHA256 = 0x0178: format 1, 32 bytes, Kdf::Hkdf(Hash::Sha256), None;
    /// AES-128-GCM, HKDF-SHA256, ECDSA P-256 (1).
    AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256 = 0x0214: format 1, 16 bytes, Kdf::Hkdf(Hash::Sha256), Some(Curve::P256);
    /// AES-192-GCM, HKDF-SHA384, ECDSA P-384 (1).
    AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = 0x0346: format 1, 24 bytes, Kdf::Hkdf(Hash::Sha384), Some(Curve::P384);
    /// AES-256-GCM, HKDF-SHA384, ECDSA P-384 (1): what Amazon Connect uses.
    AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 = 0x0378: format 1, 32 bytes, Kdf::Hkdf(Hash::Sha384), Some(Curve::P384);
    /// AES-256-GCM, HKDF-SHA512, key commitment (2).
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY = 0x0478: format 2, 32 bytes, Kdf::CommittingHkdfSha512, None;
    /// AES-256-GCM, HKDF-SHA512, key commitment, ECDSA P-384 (2).
    AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 = 0x0578: format 2, 32 bytes, Kdf::CommittingHkdfSha512, Some(Curve::P384);
}

impl SuiteId {
    /// The suite's properties, or `UnsupportedSuite` with the value.
    pub fn suite(self) -> Result<&'static Suite, Error> {
        SUITES.iter().find(|s| s.id == self).ok_or(Error::UnsupportedSuite(self.0))
    }
}

impl core::fmt::Display for SuiteId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{:04X}", self.0)
    }
}

/// A hash function used by key derivation or a keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (only for RSA-OAEP keyrings that ask for it).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// How the data key becomes the content encryption key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// The data key is used as is.
    Identity,
    /// HKDF with no salt and info = suite ID || message ID (format 1).
    Hkdf(Hash),
    /// HKDF-SHA512 with salt = message ID, info = suite ID || "DERIVEKEY", plus a
    /// commitment key with info "COMMITKEY" (format 2).
    CommittingHkdfSha512,
}

/// The elliptic curve of a footer signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 with SHA-256.
    P256,
    /// NIST P-384 with SHA-384.
    P384,
}

impl Curve {
    /// Length of a compressed SEC1 point on this curve.
    pub const fn compressed_point_len(self) -> usize {
        match self {
            Self::P256 => 33,
            Self::P384 => 49,
        }
    }
}

/// The properties an algorithm suite ID stands for.
#[derive(Debug, PartialEq, Eq)]
pub struct Suite {
    /// The wire code.
    pub id: SuiteId,
    /// The message format version the suite belongs to.
    pub message_version: u8,
    /// AES key length in bytes (16, 24 or 32).
    pub key_len: usize,
    /// Key derivation.
    pub kdf: Kdf,
    /// Footer signature curve, if signed.
    pub signature: Option<Curve>,
}

/// AES-GCM IV length of every suite.
pub(crate) const IV_LEN: usize = 12;
/// AES-GCM tag length of every suite.
pub(crate) const TAG_LEN: usize = 16;
/// Length of the commitment key in a format 2 header.
pub(crate) const COMMITMENT_LEN: usize = 32;
/// Length of the message ID in a format 1 header.
pub(crate) const MESSAGE_ID_LEN_V1: usize = 16;
/// Length of the message ID in a format 2 header.
pub(crate) const MESSAGE_ID_LEN_V2: usize = 32;

impl Suite {
    /// Length of the data key a keyring must produce.
    pub fn data_key_len(&self) -> usize {
        match self.kdf {
            Kdf::CommittingHkdfSha512 => 32,
            _ => self.key_len,
        }
    }

    /// Whether the suite commits to its key (format 2).
    pub fn is_committing(&self) -> bool {
        self.kdf == Kdf::CommittingHkdfSha512
    }

    /// Length of the message ID for this suite's format.
    pub fn message_id_len(&self) -> usize {
        if self.message_version == 2 { MESSAGE_ID_LEN_V2 } else { MESSAGE_ID_LEN_V1 }
    }
}

/// Which suites decryption accepts with respect to key commitment.
///
/// Spec, client-apis/client.md: the commitment policy. Amazon Connect encrypts with the
/// non-committing suite 0x0378, so decrypting its output needs one of the `Allow` variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitmentPolicy {
    /// Encrypt without commitment; decrypt anything.
    ForbidEncryptAllowDecrypt,
    /// Encrypt with commitment; decrypt anything.
    RequireEncryptAllowDecrypt,
    /// Encrypt and decrypt only committing suites (the ESDK's default).
    RequireEncryptRequireDecrypt,
}

impl CommitmentPolicy {
    /// Fails unless the policy lets `suite` be decrypted.
    pub fn check_decrypt(self, suite: &Suite) -> Result<(), Error> {
        if self == Self::RequireEncryptRequireDecrypt && !suite.is_committing() {
            return Err(Error::SuiteForbiddenByCommitmentPolicy(suite.id.0));
        }
        Ok(())
    }

    /// Fails unless the policy lets `suite` be used to encrypt.
    pub fn check_encrypt(self, suite: &Suite) -> Result<(), Error> {
        let ok = match self {
            Self::ForbidEncryptAllowDecrypt => !suite.is_committing(),
            _ => suite.is_committing(),
        };
        if ok { Ok(()) } else { Err(Error::SuiteForbiddenByCommitmentPolicy(suite.id.0)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_all_eleven_suites_and_refuses_others_by_value() {
        for id in SuiteId::ALL {
            assert_eq!(id.suite().map(|s| s.id), Ok(id));
        }
        assert_eq!(SuiteId(0x0015).suite(), Err(Error::UnsupportedSuite(0x0015)));
    }

    #[test]
    fn the_table_is_in_id_order_and_each_suite_matches_its_format() {
        assert!(SuiteId::ALL.windows(2).all(|w| matches!(w, [a, b] if a < b)));
        for s in &SUITES {
            assert_eq!(s.is_committing(), s.message_version == 2, "{}", s.id);
            assert_eq!(s.data_key_len(), if s.is_committing() { 32 } else { s.key_len });
        }
        assert_eq!(SuiteId::ALL.len(), 11);
    }

    #[test]
    fn connect_suite_is_signed_p384_non_committing() {
        let s = SuiteId::AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384.suite().expect("known");
        assert_eq!(s.signature, Some(Curve::P384));
        assert!(!s.is_committing());
        assert_eq!(s.data_key_len(), 32);
        assert_eq!(
            CommitmentPolicy::RequireEncryptRequireDecrypt.check_decrypt(s),
            Err(Error::SuiteForbiddenByCommitmentPolicy(0x0378))
        );
        assert_eq!(CommitmentPolicy::RequireEncryptAllowDecrypt.check_decrypt(s), Ok(()));
    }
}
