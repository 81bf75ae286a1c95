//! Reading one stored key and listing the stored keys, for the CLI: the same names and the same
//! source the Lambda reads.

use crate::KeyStoreError;
use crate::name::{KeyParameter, classify_parameter, normalize_prefix};
use crate::source::{FetchError, ParameterInfo, ParameterSource, SecretValue};

/// A stored key's PEM as read, before parsing ([`crate::StoredKey::from_pem`]).
pub struct FetchedKey {
    /// The PEM text, wiped on drop.
    pub pem: SecretValue,
    /// The parameter version read, when the source has versions.
    pub version: Option<i64>,
}

impl core::fmt::Debug for FetchedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FetchedKey").field("pem", &"<redacted>").field("version", &self.version).finish()
    }
}

fn fetch_failed(error: FetchError, parameter: &str) -> KeyStoreError {
    match error {
        FetchError::AccessDenied(reason) => KeyStoreError::AccessDenied { parameter: parameter.to_owned(), reason },
        FetchError::Unavailable(why) => KeyStoreError::Unavailable(why),
        FetchError::CredentialsRejected(why) => KeyStoreError::CredentialsRejected(why),
    }
}

/// Reads the parameter `name` (decrypted): [`KeyStoreError::NotFound`] when it does not exist,
/// [`KeyStoreError::AccessDenied`] or [`KeyStoreError::Unavailable`] as the key store reports them.
pub async fn read_key(source: &dyn ParameterSource, name: &str) -> Result<FetchedKey, KeyStoreError> {
    match source.get_versioned(name).await {
        Ok(Some(v)) => Ok(FetchedKey { pem: v.value, version: v.version }),
        Ok(None) => Err(KeyStoreError::NotFound { parameter: name.to_owned() }),
        Err(e) => Err(fetch_failed(e, name)),
    }
}

/// One stored key as listed: nothing decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    /// Name, version and last write.
    pub info: ParameterInfo,
    /// The Connect key ID; `None` for a pending key.
    pub key_id: Option<String>,
    /// For a pending key, the name after `pending/` (the fingerprint when the CLI wrote it).
    pub pending: Option<String>,
}

/// The keys under `prefix`, active and pending, sorted by name, without reading a value
/// ([`ParameterSource::describe`], all pages). Other parameters under the prefix (deeper levels,
/// names that are not key IDs) are left out.
pub async fn list_keys(source: &dyn ParameterSource, prefix: &str) -> Result<Vec<ListedKey>, KeyStoreError> {
    let prefix = normalize_prefix(prefix)?;
    let all = source.describe(&prefix).await.map_err(|e| fetch_failed(e, &prefix))?;
    let mut keys: Vec<ListedKey> = all
        .into_iter()
        .filter_map(|info| {
            let (key_id, pending) = match classify_parameter(&prefix, &info.name)? {
                KeyParameter::Active { key_id } => (Some(key_id.to_owned()), None),
                KeyParameter::Pending { fingerprint } => (None, Some(fingerprint.to_owned())),
            };
            Some(ListedKey { info, key_id, pending })
        })
        .collect();
    keys.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    keys.dedup_by(|a, b| a.info.name == b.info.name);
    Ok(keys)
}
