//! Where a key lives: the SSM parameter name for a Connect key ID.

use crate::KeyStoreError;

/// The default parameter prefix; one SecureString per Connect key ID lives under it.
pub const DEFAULT_PREFIX: &str = "/connect/secure-ivr/keys/";

/// The single parameter of the original AWS blog layout. Only used when configured.
pub const LEGACY_PARAMETER_NAME: &str = "CONNECT_INPUT_DECRYPTION_KEY";

/// The level under the prefix where keys wait for their Connect key ID:
/// `<prefix>pending/<fingerprint>`, written by the CLI's `keygen` and moved by `activate`. It is
/// never a key ID, and names below it are not direct children of the prefix, so the reader and
/// the warm-up never take a pending key for a live one.
pub const PENDING_LEVEL: &str = "pending";

/// Longest key ID accepted. Connect key IDs are UUIDs (36 characters); SSM names are at most 1011.
pub const MAX_KEY_ID_LEN: usize = 128;

/// Checks a prefix and returns it ending in exactly one `/`.
///
/// The prefix must start with `/` and may only contain the characters SSM allows in a hierarchy
/// (`A-Z a-z 0-9 _ . - /`); a `/` is appended when missing so `parameter_name` never merges the
/// prefix with the key ID.
pub fn normalize_prefix(prefix: &str) -> Result<String, KeyStoreError> {
    if !prefix.starts_with('/') {
        return Err(KeyStoreError::InvalidConfiguration("the key parameter prefix must start with '/'"));
    }
    if !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')) {
        return Err(KeyStoreError::InvalidConfiguration(
            "the key parameter prefix may only contain A-Z a-z 0-9 _ . - /",
        ));
    }
    if prefix == "/" {
        return Err(KeyStoreError::InvalidConfiguration(
            "the key parameter prefix must name a level below the root, such as /connect/secure-ivr/keys/",
        ));
    }
    if prefix.contains("//") {
        return Err(KeyStoreError::InvalidConfiguration("the key parameter prefix contains an empty level '//'"));
    }
    let mut out = prefix.to_owned();
    if !out.ends_with('/') {
        out.push('/');
    }
    Ok(out)
}

/// Checks that a key ID (which comes from an untrusted message header) is safe to put in a
/// parameter name: 1 to 128 characters of `A-Z a-z 0-9 _ . -`, so it can never climb out of the
/// prefix or name another hierarchy; and not [`PENDING_LEVEL`], which holds keys not yet active.
pub fn validate_key_id(key_id: &str) -> Result<(), KeyStoreError> {
    let ok = !key_id.is_empty()
        && key_id.len() <= MAX_KEY_ID_LEN
        && key_id != "."
        && key_id != ".."
        && key_id != PENDING_LEVEL
        && key_id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok { Ok(()) } else { Err(KeyStoreError::InvalidKeyId) }
}

/// The parameter holding the private key of `key_id`: `prefix` (normalized) followed by the key ID.
///
/// ```
/// assert_eq!(
///     keystore::parameter_name(keystore::DEFAULT_PREFIX, "0a1b2c3d-0000-4000-8000-123456789abc").unwrap(),
///     "/connect/secure-ivr/keys/0a1b2c3d-0000-4000-8000-123456789abc"
/// );
/// ```
pub fn parameter_name(prefix: &str, key_id: &str) -> Result<String, KeyStoreError> {
    validate_key_id(key_id)?;
    let mut name = normalize_prefix(prefix)?;
    name.push_str(key_id);
    Ok(name)
}

/// The key ID a parameter under `prefix` (normalized) stands for, if it is a direct child.
pub fn key_id_from_parameter_name<'a>(prefix: &str, name: &'a str) -> Option<&'a str> {
    let id = name.strip_prefix(prefix)?;
    validate_key_id(id).ok().map(|()| id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn appends_missing_slash_to_prefix() {
        assert_eq!(parameter_name("/a/b", "k1").unwrap(), "/a/b/k1");
        assert_eq!(parameter_name("/a/b/", "k1").unwrap(), "/a/b/k1");
    }

    #[test]
    fn rejects_key_ids_that_could_leave_the_prefix() {
        for bad in ["", "..", ".", "a/b", "../x", "a b", "ключ", &"x".repeat(129)] {
            assert_eq!(parameter_name(DEFAULT_PREFIX, bad), Err(KeyStoreError::InvalidKeyId), "{bad:?}");
        }
    }

    #[test]
    fn rejects_bad_prefixes() {
        for bad in ["relative/", "/a//b/", "/a b/", "/a*/"] {
            assert!(matches!(normalize_prefix(bad), Err(KeyStoreError::InvalidConfiguration(_))), "{bad:?}");
        }
    }

    #[test]
    fn refuses_the_root_as_prefix() {
        assert!(matches!(normalize_prefix("/"), Err(KeyStoreError::InvalidConfiguration(_))));
    }

    #[test]
    fn pending_keys_are_never_key_ids() {
        assert_eq!(validate_key_id(PENDING_LEVEL), Err(KeyStoreError::InvalidKeyId));
        assert_eq!(key_id_from_parameter_name("/p/", "/p/pending"), None);
        assert_eq!(key_id_from_parameter_name("/p/", &format!("/p/pending/{}", "ab".repeat(32))), None);
    }

    #[test]
    fn finds_key_id_of_direct_children_only() {
        assert_eq!(key_id_from_parameter_name("/p/", "/p/k-1"), Some("k-1"));
        assert_eq!(key_id_from_parameter_name("/p/", "/p/sub/k-1"), None);
        assert_eq!(key_id_from_parameter_name("/p/", "/q/k-1"), None);
    }
}
