//! Where a key lives: the SSM parameter name for a Connect key ID.

use crate::KeyStoreError;
use crate::key::Fingerprint;

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

/// The parameter of a key waiting for its Connect key ID: `<prefix>pending/<fingerprint>`
/// ([`PENDING_LEVEL`]), written by the CLI's `keygen` and moved by `activate`.
///
/// ```
/// let fp = keystore::Fingerprint::parse(&"AB".repeat(32)).unwrap();
/// assert_eq!(
///     keystore::pending_parameter_name("/p", &fp).unwrap(),
///     format!("/p/pending/{}", "ab".repeat(32))
/// );
/// ```
pub fn pending_parameter_name(prefix: &str, fingerprint: &Fingerprint) -> Result<String, KeyStoreError> {
    let mut name = normalize_prefix(prefix)?;
    name.push_str(PENDING_LEVEL);
    name.push('/');
    name.push_str(fingerprint.as_str());
    Ok(name)
}

/// What a parameter under the prefix is, by its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyParameter<'a> {
    /// `<prefix><key ID>`: the key Connect knows by that ID, which the Lambda reads.
    Active {
        /// The Connect key ID.
        key_id: &'a str,
    },
    /// `<prefix>pending/<fingerprint>`: a key waiting for its key ID. Anything below the pending
    /// level counts, so that listing shows every parameter there, however it was written.
    Pending {
        /// The name after `pending/`: the fingerprint when the CLI wrote it (check with
        /// [`Fingerprint::parse`] before trusting it as one).
        fingerprint: &'a str,
    },
}

/// Classifies a parameter name under `prefix` (normalized): an active key, a pending key, or
/// (`None`) neither, such as a deeper level or a name that is not a key ID.
pub fn classify_parameter<'a>(prefix: &str, name: &'a str) -> Option<KeyParameter<'a>> {
    if let Some(id) = key_id_from_parameter_name(prefix, name) {
        return Some(KeyParameter::Active { key_id: id });
    }
    let fingerprint = name.strip_prefix(prefix)?.strip_prefix(PENDING_LEVEL)?.strip_prefix('/')?;
    (!fingerprint.is_empty()).then_some(KeyParameter::Pending { fingerprint })
}

/// SSM's limit on hierarchy depth: "Parameter hierarchies are limited to a maximum depth of
/// fifteen levels" (PutParameter `Name`, botocore `ssm/2014-11-06`).
pub const MAX_PARAMETER_LEVELS: usize = 15;

/// SSM's limit on a name: "The maximum length for a parameter name that you specify is 1011
/// characters. This count of 1011 characters includes the characters in the ARN that precede the
/// name you specify" (PutParameter `Name`). Checked against the ARN form.
pub const MAX_PARAMETER_ARN_LEN: usize = 1011;

/// Why SSM would refuse a parameter name (PutParameter's naming constraints).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParameterNameError {
    /// The name is empty, or a hierarchy name has an empty level (`//`, trailing `/`).
    EmptyLevel,
    /// "Parameter names can include only the following symbols and letters: a-zA-Z0-9_.-" and `/`.
    InvalidCharacter(char),
    /// "A parameter name can't be prefixed with aws or ssm (case-insensitive)."
    ReservedPrefix,
    /// More than [`MAX_PARAMETER_LEVELS`] levels.
    TooDeep {
        /// The limit.
        max: usize,
        /// The name's depth.
        found: usize,
    },
    /// The ARN form is longer than [`MAX_PARAMETER_ARN_LEN`].
    TooLong {
        /// The limit.
        max: usize,
        /// The ARN form's length.
        found: usize,
    },
}

impl core::fmt::Display for ParameterNameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::EmptyLevel => f.write_str("it is empty or has an empty level ('//' or a trailing '/')"),
            Self::InvalidCharacter(c) => {
                write!(f, "it contains {c:?}; SSM allows only A-Z a-z 0-9 _ . - and / between levels")
            }
            Self::ReservedPrefix => f.write_str("it begins with \"aws\" or \"ssm\" (any case), which SSM reserves"),
            Self::TooDeep { max, found } => write!(f, "it has {found} levels; SSM allows at most {max}"),
            Self::TooLong { max, found } => {
                write!(f, "its ARN is {found} characters long; SSM allows at most {max} including the ARN prefix")
            }
        }
    }
}

impl std::error::Error for ParameterNameError {}

/// The ARN partition of a region (`aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws`).
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Checks a full parameter name against SSM's naming constraints, before anything is generated
/// or stored: characters, the reserved `aws`/`ssm` beginning (of the name or its first level, in
/// any case), at most [`MAX_PARAMETER_LEVELS`] levels, and at most [`MAX_PARAMETER_ARN_LEN`]
/// characters for `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME` with a 12-digit account.
///
/// ```
/// assert!(keystore::check_parameter_name("/connect/secure-ivr/keys/k-1", "eu-west-2").is_ok());
/// assert!(keystore::check_parameter_name("/SSM/keys/k-1", "eu-west-2").is_err());
/// ```
pub fn check_parameter_name(name: &str, region: &str) -> Result<(), ParameterNameError> {
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))) {
        return Err(ParameterNameError::InvalidCharacter(c));
    }
    let body = name.strip_prefix('/').unwrap_or(name);
    if body.is_empty() || body.split('/').any(str::is_empty) {
        return Err(ParameterNameError::EmptyLevel);
    }
    let head = body.get(..3).unwrap_or(body).to_ascii_lowercase();
    if head == "aws" || head == "ssm" {
        return Err(ParameterNameError::ReservedPrefix);
    }
    let depth = body.split('/').count();
    if depth > MAX_PARAMETER_LEVELS {
        return Err(ParameterNameError::TooDeep { max: MAX_PARAMETER_LEVELS, found: depth });
    }
    // "arn:aws:ssm:us-east-2:111122223333:parameter/" is the 45 characters of the doc's example.
    let arn_len =
        "arn:".len() + partition(region).len() + ":ssm:".len() + region.len() + ":111122223333:parameter/".len();
    let found = arn_len + body.len();
    if found > MAX_PARAMETER_ARN_LEN {
        return Err(ParameterNameError::TooLong { max: MAX_PARAMETER_ARN_LEN, found });
    }
    Ok(())
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
    fn pending_names_hold_the_lowercase_fingerprint() {
        let fp = Fingerprint::parse(&"A".repeat(64)).unwrap();
        assert_eq!(pending_parameter_name("/p", &fp).unwrap(), format!("/p/pending/{}", "a".repeat(64)));
        assert!(matches!(pending_parameter_name("p/", &fp), Err(KeyStoreError::InvalidConfiguration(_))));
        for bad in ["abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65), ""] {
            assert_eq!(Fingerprint::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn classifies_active_and_pending_parameters() {
        let fp = "0f".repeat(32);
        assert_eq!(classify_parameter("/p/", "/p/k-1"), Some(KeyParameter::Active { key_id: "k-1" }));
        assert_eq!(
            classify_parameter("/p/", &format!("/p/pending/{fp}")),
            Some(KeyParameter::Pending { fingerprint: &fp })
        );
        // Whatever sits below the pending level is listed as pending, never as a key ID.
        assert_eq!(classify_parameter("/p/", "/p/pending/abc"), Some(KeyParameter::Pending { fingerprint: "abc" }));
        for other in
            ["/p/pending".to_owned(), "/p/pending/".to_owned(), "/p/sub/k-1".to_owned(), format!("/q/pending/{fp}")]
        {
            assert_eq!(classify_parameter("/p/", &other), None, "{other}");
        }
    }

    #[test]
    fn finds_key_id_of_direct_children_only() {
        assert_eq!(key_id_from_parameter_name("/p/", "/p/k-1"), Some("k-1"));
        assert_eq!(key_id_from_parameter_name("/p/", "/p/sub/k-1"), None);
        assert_eq!(key_id_from_parameter_name("/p/", "/q/k-1"), None);
    }

    #[test]
    fn parameter_names_follow_ssm_rules() {
        assert_eq!(check_parameter_name("/connect/secure-ivr/keys/k-1", "us-east-2"), Ok(()));
        assert_eq!(check_parameter_name("plain_name.v1", "us-east-2"), Ok(()));
        for reserved in ["/aws/keys/k", "/AWS/k", "/SsM-keys/k", "awsKey", "ssm", "/ssm"] {
            assert_eq!(
                check_parameter_name(reserved, "us-east-2"),
                Err(ParameterNameError::ReservedPrefix),
                "{reserved}"
            );
        }
        assert_eq!(check_parameter_name("/a b/k", "us-east-2"), Err(ParameterNameError::InvalidCharacter(' ')));
        assert_eq!(check_parameter_name("/a/ключ", "us-east-2"), Err(ParameterNameError::InvalidCharacter('к')));
        for empty in ["", "/", "/a//b", "/a/"] {
            assert_eq!(check_parameter_name(empty, "us-east-2"), Err(ParameterNameError::EmptyLevel), "{empty:?}");
        }
    }

    #[test]
    fn at_most_fifteen_levels() {
        let fifteen: String = (0..15).map(|i| format!("/l{i}")).collect();
        assert_eq!(check_parameter_name(&fifteen, "us-east-2"), Ok(()));
        let sixteen = format!("{fifteen}/k");
        assert_eq!(
            check_parameter_name(&sixteen, "us-east-2"),
            Err(ParameterNameError::TooDeep { max: 15, found: 16 })
        );
    }

    #[test]
    fn length_limit_counts_the_arn_prefix() {
        // The doc's example: 45 characters of ARN precede the name in us-east-2.
        let fits = format!("/{}", "n".repeat(MAX_PARAMETER_ARN_LEN - 45));
        assert_eq!(check_parameter_name(&fits, "us-east-2"), Ok(()));
        let over = format!("{fits}x");
        assert_eq!(
            check_parameter_name(&over, "us-east-2"),
            Err(ParameterNameError::TooLong { max: MAX_PARAMETER_ARN_LEN, found: MAX_PARAMETER_ARN_LEN + 1 })
        );
        // A longer partition and region leave less room.
        assert!(check_parameter_name(&fits, "us-gov-west-1").is_err());
    }
}
