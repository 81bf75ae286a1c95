//! An in-memory [`ParameterSource`]: values by name with versions, call counters, and switches
//! that make it answer as SSM does when it is down or refuses.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use keystore::{BoxFuture, FetchError, ParameterInfo, ParameterSource, SecretValue, Versioned};
use zeroize::Zeroizing;

/// Parameters in memory. `get`/`get_versioned` count as reads ([`MemorySource::gets`]);
/// `list`/`describe` count as listings ([`MemorySource::lists`]).
#[derive(Default)]
pub struct MemorySource {
    values: Mutex<BTreeMap<String, (Zeroizing<String>, i64)>>,
    gets: AtomicUsize,
    lists: AtomicUsize,
    down: AtomicBool,
    denied: AtomicBool,
}

impl core::fmt::Debug for MemorySource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemorySource").field("names", &self.lock().keys().collect::<Vec<_>>()).finish()
    }
}

/// The text of the denial [`MemorySource::set_denied`] answers with: SSM passing on KMS's refusal.
pub fn kms_denial(name: &str) -> String {
    format!(
        "AccessDeniedException: The ciphertext refers to a customer master key that does not exist, \
         does not exist in this region, or you are not allowed to access. (Service: AWSKMS; {name})"
    )
}

impl MemorySource {
    /// A source holding `pairs` (name, value), each at version 1.
    pub fn with(pairs: &[(&str, &str)]) -> Arc<Self> {
        let source = Self::default();
        for (name, value) in pairs {
            source.put(name, value);
        }
        Arc::new(source)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, (Zeroizing<String>, i64)>> {
        self.values.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `value` under `name`, one version above the last.
    pub fn put(&self, name: &str, value: &str) {
        let mut values = self.lock();
        let version = values.get(name).map_or(1, |(_, v)| v + 1);
        values.insert(name.to_owned(), (Zeroizing::new(value.to_owned()), version));
    }

    /// Removes `name`.
    pub fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    /// Reads so far.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    /// Listings so far.
    pub fn lists(&self) -> usize {
        self.lists.load(Ordering::SeqCst)
    }

    /// While set, every call fails as an unreachable SSM does ([`FetchError::Unavailable`]).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// While set, every call is refused as SSM refuses a KMS denial ([`FetchError::AccessDenied`]).
    pub fn set_denied(&self, denied: bool) {
        self.denied.store(denied, Ordering::SeqCst);
    }

    fn refusal(&self, name: &str) -> Option<FetchError> {
        if self.denied.load(Ordering::SeqCst) {
            Some(FetchError::access_denied(kms_denial(name)))
        } else if self.down.load(Ordering::SeqCst) {
            Some(FetchError::unavailable("connection failed"))
        } else {
            None
        }
    }

    fn read(&self, name: &str) -> Result<Option<Versioned>, FetchError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = self.refusal(name) {
            return Err(e);
        }
        Ok(self.lock().get(name).map(|(v, version)| Versioned { value: v.clone(), version: Some(*version) }))
    }
}

/// Whether `name` is at most one level below `prefix` (what `GetParametersByPath` without
/// `Recursive` returns).
fn direct_child(prefix: &str, name: &str) -> bool {
    name.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

impl ParameterSource for MemorySource {
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<SecretValue>, FetchError>> {
        let r = self.read(name).map(|v| v.map(|v| v.value));
        Box::pin(async move { r })
    }

    fn get_versioned(&self, name: &str) -> BoxFuture<'_, Result<Option<Versioned>, FetchError>> {
        let r = self.read(name);
        Box::pin(async move { r })
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<(String, SecretValue)>, FetchError>> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        let r = match self.refusal(prefix) {
            Some(e) => Err(e),
            None => Ok(self
                .lock()
                .iter()
                .filter(|(k, _)| direct_child(prefix, k))
                .map(|(k, (v, _))| (k.clone(), v.clone()))
                .collect()),
        };
        Box::pin(async move { r })
    }

    fn describe(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<ParameterInfo>, FetchError>> {
        self.lists.fetch_add(1, Ordering::SeqCst);
        let r = match self.refusal(prefix) {
            Some(e) => Err(e),
            None => Ok(self
                .lock()
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, (_, version))| ParameterInfo {
                    name: k.clone(),
                    version: Some(*version),
                    last_modified: None,
                })
                .collect()),
        };
        Box::pin(async move { r })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_lists_and_counts() {
        let m = MemorySource::with(&[("/p/a", "1"), ("/p/b/c", "2"), ("/q/a", "3")]);
        m.put("/p/a", "1b");
        let v = m.get_versioned("/p/a").await.unwrap().unwrap();
        assert_eq!((v.value.as_str(), v.version), ("1b", Some(2)));
        assert!(m.get("/p/none").await.unwrap().is_none());
        assert_eq!(m.gets(), 2);
        let listed: Vec<String> = m.list("/p/").await.unwrap().into_iter().map(|(k, _)| k).collect();
        assert_eq!(listed, ["/p/a"], "list is one level");
        let described: Vec<String> = m.describe("/p/").await.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(described, ["/p/a", "/p/b/c"], "describe is recursive");
        assert_eq!(m.lists(), 2);
    }

    #[tokio::test]
    async fn switches_answer_as_ssm_does() {
        let m = MemorySource::with(&[("/p/a", "1")]);
        m.set_down(true);
        assert!(matches!(m.get("/p/a").await, Err(FetchError::Unavailable(_))));
        m.set_denied(true);
        assert!(matches!(m.describe("/p/").await, Err(FetchError::AccessDenied(d)) if d.contains("AWSKMS")));
        m.set_denied(false);
        m.set_down(false);
        assert!(m.get("/p/a").await.unwrap().is_some());
    }
}
