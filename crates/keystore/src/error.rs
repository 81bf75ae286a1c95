//! The key store's error type.

use core::fmt;

/// Why a key could not be produced. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStoreError {
    /// The key ID from the message is not a safe parameter name component.
    InvalidKeyId,
    /// Neither the key's parameter nor (if configured) the legacy parameter exists.
    NotFound {
        /// The parameter that was looked up first.
        parameter: String,
    },
    /// SSM could not be reached, timed out, throttled or refused the request; the string says
    /// which (from the SDK's error, which holds no parameter value).
    Unavailable(String),
    /// SSM refused to read the parameter, or the KMS key behind it refused to decrypt
    /// (`AccessDeniedException`, `InvalidKeyId`): permanent until someone changes a policy or the
    /// key, so it is not retried and is remembered for [`crate::KeyStoreConfig::denied_ttl`].
    AccessDenied {
        /// The parameter that was being read.
        parameter: String,
        /// SSM's error code and message (names a role and an ARN, never a value).
        reason: String,
    },
    /// The parameter service refused the caller's credentials (expired or invalid); only
    /// [`crate::read_key`] and [`crate::list_keys`] report it (the key store's cache treats it as
    /// [`KeyStoreError::Unavailable`], as before). The string is the service's code and message.
    CredentialsRejected(String),
    /// The parameter exists but does not hold a usable RSA private key.
    InvalidKey {
        /// The parameter name.
        parameter: String,
        /// Why (for example a public key or certificate stored by mistake).
        reason: &'static str,
    },
    /// The parameter holds an RSA key smaller than the minimum.
    KeyTooSmall {
        /// The parameter name.
        parameter: String,
        /// The key's modulus size.
        bits: usize,
        /// The minimum accepted.
        min_bits: usize,
    },
    /// A setting is invalid; the string names it.
    InvalidConfiguration(&'static str),
}

impl fmt::Display for KeyStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKeyId => {
                f.write_str("the message's key ID is not a valid key ID (1-128 characters of A-Z a-z 0-9 _ . -)")
            }
            Self::NotFound { parameter } => write!(
                f,
                "no private key in SSM parameter {parameter}: upload the key for this Connect key ID \
                 (or configure the legacy parameter)"
            ),
            Self::Unavailable(why) => write!(f, "SSM Parameter Store unavailable: {why}"),
            Self::CredentialsRejected(why) => write!(f, "SSM Parameter Store refused the credentials: {why}"),
            Self::AccessDenied { parameter, reason } => write!(
                f,
                "access denied reading SSM parameter {parameter} ({reason}): the function's role needs \
                 ssm:GetParameter on the parameter and kms:Decrypt, via SSM, on the KMS key that encrypts it; \
                 run `secure-ivr check` to see what the function can read"
            ),
            Self::InvalidKey { parameter, reason } => {
                write!(f, "SSM parameter {parameter} does not hold a usable RSA private key: {reason}")
            }
            // The size rule's one wording (`KeyTooSmall`), after the parameter's name.
            Self::KeyTooSmall { parameter, bits, .. } => {
                write!(f, "SSM parameter {parameter}: {}", crate::KeyTooSmall { bits: *bits })
            }
            Self::InvalidConfiguration(why) => write!(f, "invalid key store configuration: {why}"),
        }
    }
}

impl std::error::Error for KeyStoreError {}
