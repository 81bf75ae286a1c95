//! The one thing the key store needs from SSM, behind a trait so tests can fake it.

use std::future::Future;
use std::pin::Pin;

use zeroize::Zeroizing;

/// A boxed future, so [`ParameterSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A SecureString value, wiped on drop.
pub type SecretValue = Zeroizing<String>;

/// Why a fetch failed: the parameter service could not answer (not "the parameter is absent",
/// which is `Ok(None)`). The string holds no parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(pub String);

impl core::fmt::Display for FetchError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

/// Reads decrypted SecureString parameters.
pub trait ParameterSource: Send + Sync {
    /// The decrypted value of `name`, or `None` when no such parameter exists.
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<SecretValue>, FetchError>>;

    /// Every parameter directly under `prefix` (not recursive), as (name, decrypted value).
    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<(String, SecretValue)>, FetchError>>;
}
