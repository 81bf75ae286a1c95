//! From data key to content key (and commitment).
//!
//! Spec, framework/algorithm-suites.md, "Key Derivation": format 1 KDF suites use HKDF with no
//! salt and info = suite ID || message ID; format 2 suites use HKDF-SHA512 with salt = message
//! ID, info = suite ID || "DERIVEKEY" for the content key and "COMMITKEY" for the 32-byte
//! commitment.

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::Error;
use crate::provider::CryptoProvider;
use crate::suite::{COMMITMENT_LEN, Hash, Kdf, Suite};

const DERIVE_KEY_LABEL: &[u8] = b"DERIVEKEY";
const COMMIT_KEY_LABEL: &[u8] = b"COMMITKEY";

/// The content encryption key. Zeroized on drop.
pub(crate) type ContentKey = Zeroizing<Vec<u8>>;

pub(crate) fn content_key(
    provider: &dyn CryptoProvider,
    suite: &Suite,
    data_key: &[u8],
    message_id: &[u8],
) -> Result<ContentKey, Error> {
    let mut key = Zeroizing::new(vec![0u8; suite.key_len]);
    let id = suite.id.0.to_be_bytes();
    match suite.kdf {
        Kdf::Identity => key.copy_from_slice(data_key.get(..suite.key_len).ok_or(Error::NoMatchingKey)?),
        Kdf::Hkdf(hash) => provider.hkdf(hash, &[], data_key, &[&id, message_id], &mut key)?,
        Kdf::CommittingHkdfSha512 => {
            provider.hkdf(Hash::Sha512, message_id, data_key, &[&id, DERIVE_KEY_LABEL], &mut key)?;
        }
    }
    Ok(key)
}

pub(crate) fn commitment(
    provider: &dyn CryptoProvider,
    data_key: &[u8],
    message_id: &[u8],
) -> Result<[u8; COMMITMENT_LEN], Error> {
    let mut out = [0u8; COMMITMENT_LEN];
    provider.hkdf(Hash::Sha512, message_id, data_key, &[COMMIT_KEY_LABEL], &mut out)?;
    Ok(out)
}

/// Spec: "the derived commit key MUST equal the commit key stored in the message header",
/// compared in constant time.
pub(crate) fn check_commitment(
    provider: &dyn CryptoProvider,
    data_key: &[u8],
    message_id: &[u8],
    stored: &[u8],
) -> Result<(), Error> {
    let expected = commitment(provider, data_key, message_id)?;
    if bool::from(expected.ct_eq(stored)) { Ok(()) } else { Err(Error::CommitmentMismatch) }
}
