//! The one thing the key store needs from SSM, behind a trait so tests can fake it.

use std::future::Future;
use std::pin::Pin;

use zeroize::Zeroizing;

/// A boxed future, so [`ParameterSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A SecureString value, wiped on drop.
pub type SecretValue = Zeroizing<String>;

/// Why a fetch failed (not "the parameter is absent", which is `Ok(None)`). The strings hold no
/// parameter value: they come from the service's error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchError {
    /// The parameter service could not answer in time, was unreachable, throttled or failed
    /// inside: transient, worth asking again.
    Unavailable(String),
    /// The service answered that the caller may not read the parameter, or may not use the KMS
    /// key behind it (`AccessDeniedException`, `InvalidKeyId`): a misconfiguration that asking
    /// again will not fix.
    AccessDenied(String),
    /// The service refused the caller's credentials (expired, invalid or unsigned:
    /// `ExpiredTokenException`, `UnrecognizedClientException`, ...): a configuration fault of
    /// whoever runs the read, which asking again will not fix.
    CredentialsRejected(String),
}

impl FetchError {
    /// Longest service message kept in an error (SSM's denials name a role and a parameter ARN,
    /// well under this; the cap bounds what a cached error can hold).
    pub const MAX_DETAIL_LEN: usize = 512;

    /// A transient failure, its text cut to [`FetchError::MAX_DETAIL_LEN`].
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable(capped(detail.into()))
    }

    /// A refusal, its text cut to [`FetchError::MAX_DETAIL_LEN`].
    pub fn access_denied(detail: impl Into<String>) -> Self {
        Self::AccessDenied(capped(detail.into()))
    }

    /// A refusal of the caller's credentials, its text cut to [`FetchError::MAX_DETAIL_LEN`].
    pub fn credentials_rejected(detail: impl Into<String>) -> Self {
        Self::CredentialsRejected(capped(detail.into()))
    }

    /// The text, whichever the kind.
    pub fn detail(&self) -> &str {
        match self {
            Self::Unavailable(d) | Self::AccessDenied(d) | Self::CredentialsRejected(d) => d,
        }
    }
}

fn capped(mut s: String) -> String {
    if s.len() > FetchError::MAX_DETAIL_LEN {
        let mut end = FetchError::MAX_DETAIL_LEN;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

impl core::fmt::Display for FetchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.detail())
    }
}

impl std::error::Error for FetchError {}

/// What a listing says about one parameter, without its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfo {
    /// The full name.
    pub name: String,
    /// The version, when the source has versions.
    pub version: Option<i64>,
    /// When it was last written, when the source says.
    pub last_modified: Option<std::time::SystemTime>,
}

/// A decrypted value and the version it was read at.
pub struct Versioned {
    /// The decrypted value, wiped on drop.
    pub value: SecretValue,
    /// The version, when the source has versions.
    pub version: Option<i64>,
}

impl core::fmt::Debug for Versioned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Versioned").field("value", &"<redacted>").field("version", &self.version).finish()
    }
}

/// Reads decrypted SecureString parameters.
pub trait ParameterSource: Send + Sync {
    /// The decrypted value of `name`, or `None` when no such parameter exists.
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<SecretValue>, FetchError>>;

    /// Every parameter directly under `prefix` (not recursive), as (name, decrypted value).
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<(String, SecretValue)>, FetchError>>;

    /// Like [`ParameterSource::get`], with the version read. By default the version is unknown
    /// (`None`); [`crate::SsmParameterSource`] reports SSM's.
    fn get_versioned(&self, name: &str) -> BoxFuture<'_, Result<Option<Versioned>, FetchError>> {
        let value = self.get(name);
        Box::pin(async move { Ok(value.await?.map(|value| Versioned { value, version: None })) })
    }

    /// Names and versions of every parameter under `prefix`, at any depth, with no value read
    /// (an operator who may not decrypt can still list). A source that cannot list this way
    /// answers [`FetchError::Unavailable`] saying so; [`crate::SsmParameterSource`] uses
    /// `GetParametersByPath` with `Recursive` and without decryption.
    fn describe(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<ParameterInfo>, FetchError>> {
        let _ = prefix;
        Box::pin(async { Err(FetchError::unavailable("this parameter source cannot list parameters without values")) })
    }
}
