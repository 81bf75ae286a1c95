//! The cache: parsed keyrings by key ID, with a TTL, a short bounded negative cache, and the last
//! good key kept for a while when SSM is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use esdk_message::keyring::RawRsaKeyring;
use esdk_message::provider::CryptoProvider;

use crate::name::{key_id_from_parameter_name, normalize_prefix, parameter_name, validate_key_id};
use crate::pem::parse_private_key;
use crate::source::{FetchError, ParameterSource};
use crate::{KeyStoreError, defaults, name::DEFAULT_PREFIX};

/// How the key store finds and keeps keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStoreConfig {
    /// Parameter prefix, normalized to end in `/` (see [`normalize_prefix`]).
    pub prefix: String,
    /// The single legacy parameter tried when a key ID has no parameter of its own.
    pub legacy_parameter: Option<String>,
    /// How long a parsed key is used before SSM is asked again (rotation and revocation take
    /// effect within this time).
    pub ttl: Duration,
    /// How long "no such key" (or an unusable key) is remembered, so a storm of unknown key IDs
    /// costs one SSM call per key ID per this period.
    pub negative_ttl: Duration,
    /// How long "access denied" (by SSM or the KMS key behind the parameter) is remembered: long
    /// enough that a misconfigured role costs one SSM call per key ID per period, short enough
    /// that a fixed policy takes effect quickly.
    pub denied_ttl: Duration,
    /// How long past its TTL a key may still be used while SSM is unavailable (0 = never).
    pub max_stale: Duration,
    /// Most key IDs the negative cache remembers. Key IDs come from untrusted message headers, so
    /// the negative cache is bounded; when full, expired entries go first, then the oldest.
    pub max_negative_entries: usize,
    /// Most bytes the negative cache holds (key IDs, parameter names and reasons, plus a fixed
    /// per-entry overhead), the same way.
    pub max_negative_bytes: usize,
}

impl KeyStoreConfig {
    /// Default positive TTL ([`defaults::CACHE_TTL`]).
    pub const DEFAULT_TTL: Duration = defaults::CACHE_TTL;
    /// Default negative TTL ([`defaults::NEGATIVE_TTL`]).
    pub const DEFAULT_NEGATIVE_TTL: Duration = defaults::NEGATIVE_TTL;
    /// Default stale-if-error window ([`defaults::MAX_STALE`]).
    pub const DEFAULT_MAX_STALE: Duration = defaults::MAX_STALE;
    /// Default time an access denial is remembered ([`defaults::DENIED_TTL`]).
    pub const DEFAULT_DENIED_TTL: Duration = defaults::DENIED_TTL;
    /// Default bound on negative-cache entries.
    pub const DEFAULT_MAX_NEGATIVE_ENTRIES: usize = defaults::MAX_NEGATIVE_ENTRIES;
    /// Default bound on negative-cache bytes (256 KiB).
    pub const DEFAULT_MAX_NEGATIVE_BYTES: usize = defaults::MAX_NEGATIVE_BYTES;

    /// Defaults with the given prefix (checked and normalized).
    pub fn new(prefix: &str) -> Result<Self, KeyStoreError> {
        Ok(Self {
            prefix: normalize_prefix(prefix)?,
            legacy_parameter: None,
            ttl: Self::DEFAULT_TTL,
            ..Self::default()
        })
    }

    /// Sets the legacy parameter (an SSM name: a plain name or a `/`-path).
    pub fn with_legacy_parameter(mut self, name: &str) -> Result<Self, KeyStoreError> {
        let ok = !name.is_empty()
            && name.len() <= 1011
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'));
        if !ok {
            return Err(KeyStoreError::InvalidConfiguration(
                "the legacy parameter name may only contain A-Z a-z 0-9 _ . - /",
            ));
        }
        self.legacy_parameter = Some(name.to_owned());
        Ok(self)
    }
}

impl Default for KeyStoreConfig {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            legacy_parameter: None,
            ttl: Self::DEFAULT_TTL,
            negative_ttl: Self::DEFAULT_NEGATIVE_TTL,
            denied_ttl: Self::DEFAULT_DENIED_TTL,
            max_stale: Self::DEFAULT_MAX_STALE,
            max_negative_entries: Self::DEFAULT_MAX_NEGATIVE_ENTRIES,
            max_negative_bytes: Self::DEFAULT_MAX_NEGATIVE_BYTES,
        }
    }
}

/// A parsed private key ready to decrypt, and where it came from.
#[derive(Debug)]
pub struct CachedKey {
    keyring: RawRsaKeyring,
    parameter: String,
    legacy: bool,
}

impl CachedKey {
    /// The Connect keyring (its name is the key ID).
    pub fn keyring(&self) -> &RawRsaKeyring {
        &self.keyring
    }

    /// The SSM parameter the key was read from.
    pub fn parameter(&self) -> &str {
        &self.parameter
    }

    /// Whether it came from the legacy single parameter.
    pub fn is_legacy(&self) -> bool {
        self.legacy
    }
}

/// Where a key handed out by [`KeyStore::get`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// From the cache, within its TTL.
    Hit,
    /// Fetched from SSM and parsed during this call.
    Fetched,
    /// Past its TTL, but SSM was unavailable, so the last good key was used.
    StaleAfterError,
}

impl CacheStatus {
    /// A short stable name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Fetched => "fetched",
            Self::StaleAfterError => "stale",
        }
    }
}

struct Entry {
    key: Arc<CachedKey>,
    fetched: Instant,
}

/// A remembered refusal: "not found", "unusable key", "access denied".
struct Negative {
    error: KeyStoreError,
    at: Instant,
    ttl: Duration,
    bytes: usize,
}

/// Negative entries by key ID, bounded in count and bytes.
#[derive(Default)]
struct NegativeCache {
    map: HashMap<String, Negative>,
    bytes: usize,
}

/// What one negative entry costs: the map slot, the key ID and the strings inside the error.
fn negative_bytes(key_id: &str, error: &KeyStoreError) -> usize {
    let held = match error {
        KeyStoreError::NotFound { parameter }
        | KeyStoreError::InvalidKey { parameter, .. }
        | KeyStoreError::KeyTooSmall { parameter, .. } => parameter.len(),
        KeyStoreError::AccessDenied { parameter, reason } => parameter.len() + reason.len(),
        KeyStoreError::Unavailable(why) => why.len(),
        _ => 0,
    };
    core::mem::size_of::<(String, Negative)>() + key_id.len() + held
}

impl NegativeCache {
    fn get(&self, key_id: &str, now: Instant) -> Option<&KeyStoreError> {
        self.map.get(key_id).filter(|n| now.duration_since(n.at) < n.ttl).map(|n| &n.error)
    }

    fn remove(&mut self, key_id: &str) {
        if let Some(old) = self.map.remove(key_id) {
            self.bytes = self.bytes.saturating_sub(old.bytes);
        }
    }

    fn insert(&mut self, key_id: &str, error: KeyStoreError, ttl: Duration, config: &KeyStoreConfig) {
        self.remove(key_id);
        let bytes = negative_bytes(key_id, &error);
        let (max_entries, max_bytes) = (config.max_negative_entries, config.max_negative_bytes);
        if ttl.is_zero() || max_entries == 0 || bytes > max_bytes {
            return;
        }
        let full = |c: &Self| c.map.len() >= max_entries || c.bytes.saturating_add(bytes) > max_bytes;
        if full(self) {
            let now = Instant::now();
            self.map.retain(|_, n| now.duration_since(n.at) < n.ttl);
            self.bytes = self.map.values().map(|n| n.bytes).sum();
        }
        while full(self) {
            let Some(oldest) = self.map.iter().min_by_key(|(_, n)| n.at).map(|(k, _)| k.clone()) else { break };
            self.remove(&oldest);
        }
        self.bytes += bytes;
        self.map.insert(key_id.to_owned(), Negative { error, at: Instant::now(), ttl, bytes });
    }
}

#[derive(Default)]
struct Cache {
    /// Parsed keys. Only parameters that exist in SSM land here, so their number is what the
    /// operator stored (plus, with the legacy parameter, one per key ID that fell back to it).
    keys: HashMap<String, Entry>,
    negative: NegativeCache,
}

/// The key store's error for a failed fetch of `parameter`.
fn fetch_failed(error: FetchError, parameter: &str) -> KeyStoreError {
    match error {
        FetchError::AccessDenied(reason) => KeyStoreError::AccessDenied { parameter: parameter.to_owned(), reason },
        FetchError::Unavailable(why) => KeyStoreError::Unavailable(why),
    }
}

/// Reads Connect private keys from a [`ParameterSource`] (SSM), parses them once and caches the
/// keyrings by key ID.
///
/// One store per process; `get` may be called concurrently (the lock is never held across a
/// fetch, so two concurrent misses for one key ID may both fetch, which is harmless).
pub struct KeyStore {
    source: Arc<dyn ParameterSource>,
    provider: &'static dyn CryptoProvider,
    config: KeyStoreConfig,
    cache: Mutex<Cache>,
}

impl core::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let cache = self.lock();
        let cached: Vec<&String> = cache.keys.keys().collect();
        f.debug_struct("KeyStore")
            .field("config", &self.config)
            .field("cached_key_ids", &cached)
            .field("negative_entries", &cache.negative.map.len())
            .field("negative_bytes", &cache.negative.bytes)
            .finish()
    }
}

impl KeyStore {
    /// A store reading from `source`, parsing with `provider`.
    pub fn new(
        source: Arc<dyn ParameterSource>,
        provider: &'static dyn CryptoProvider,
        config: KeyStoreConfig,
    ) -> Self {
        Self { source, provider, config, cache: Mutex::new(Cache::default()) }
    }

    /// The configuration.
    pub fn config(&self) -> &KeyStoreConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts).
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The key for `key_id`: from the cache when fresh, otherwise from SSM (then the legacy
    /// parameter, if configured).
    pub async fn get(&self, key_id: &str) -> Result<(Arc<CachedKey>, CacheStatus), KeyStoreError> {
        validate_key_id(key_id)?;
        let now = Instant::now();
        let stale = {
            let cache = self.lock();
            if let Some(error) = cache.negative.get(key_id, now) {
                return Err(error.clone());
            }
            match cache.keys.get(key_id) {
                Some(Entry { key, fetched }) if now.duration_since(*fetched) < self.config.ttl => {
                    return Ok((Arc::clone(key), CacheStatus::Hit));
                }
                Some(Entry { key, fetched })
                    if now.duration_since(*fetched) < self.config.ttl.saturating_add(self.config.max_stale) =>
                {
                    Some(Arc::clone(key))
                }
                _ => None,
            }
        };
        match self.load(key_id).await {
            Ok(key) => {
                let key = Arc::new(key);
                let mut cache = self.lock();
                cache.negative.remove(key_id);
                cache.keys.insert(key_id.to_owned(), Entry { key: Arc::clone(&key), fetched: Instant::now() });
                Ok((key, CacheStatus::Fetched))
            }
            Err(KeyStoreError::Unavailable(why)) => match stale {
                Some(key) => {
                    tracing::warn!(key_id, reason = %why, "SSM unavailable; using the last good key past its TTL");
                    Ok((key, CacheStatus::StaleAfterError))
                }
                None => Err(KeyStoreError::Unavailable(why)),
            },
            // An answer from SSM (absent, unusable, denied) replaces any key held for this ID: a
            // revoked permission or deleted parameter is not bridged by the stale key.
            Err(error) => {
                let ttl = match error {
                    KeyStoreError::AccessDenied { .. } => self.config.denied_ttl,
                    _ => self.config.negative_ttl,
                };
                let mut cache = self.lock();
                cache.keys.remove(key_id);
                cache.negative.insert(key_id, error.clone(), ttl, &self.config);
                Err(error)
            }
        }
    }

    /// The key for `key_id` if the cache holds one (fresh or within `max_stale`), without asking
    /// SSM. For callers that already know SSM is unavailable.
    pub fn get_cached(&self, key_id: &str) -> Option<(Arc<CachedKey>, CacheStatus)> {
        let now = Instant::now();
        match self.lock().keys.get(key_id)? {
            Entry { key, fetched } if now.duration_since(*fetched) < self.config.ttl => {
                Some((Arc::clone(key), CacheStatus::Hit))
            }
            Entry { key, fetched }
                if now.duration_since(*fetched) < self.config.ttl.saturating_add(self.config.max_stale) =>
            {
                Some((Arc::clone(key), CacheStatus::StaleAfterError))
            }
            _ => None,
        }
    }

    async fn load(&self, key_id: &str) -> Result<CachedKey, KeyStoreError> {
        let parameter = parameter_name(&self.config.prefix, key_id)?;
        tracing::debug!(key_id, parameter = %parameter, "fetching key from SSM");
        if let Some(pem) = self.source.get(&parameter).await.map_err(|e| fetch_failed(e, &parameter))? {
            let keyring = parse_private_key(self.provider, &parameter, key_id, &pem)?;
            return Ok(CachedKey { keyring, parameter, legacy: false });
        }
        let Some(legacy) = &self.config.legacy_parameter else {
            return Err(KeyStoreError::NotFound { parameter });
        };
        tracing::debug!(key_id, parameter = %legacy, "no parameter for the key ID; trying the legacy parameter");
        match self.source.get(legacy).await.map_err(|e| fetch_failed(e, legacy))? {
            Some(pem) => {
                let keyring = parse_private_key(self.provider, legacy, key_id, &pem)?;
                Ok(CachedKey { keyring, parameter: legacy.clone(), legacy: true })
            }
            None => Err(KeyStoreError::NotFound { parameter }),
        }
    }

    /// Loads every key directly under the prefix into the cache (for a cold start that should
    /// not pay a fetch on its first call). Parameters that are not usable keys are skipped with a
    /// warning; returns how many keys were cached.
    pub async fn warm(&self) -> Result<usize, KeyStoreError> {
        let all = self.source.list(&self.config.prefix).await.map_err(|e| fetch_failed(e, &self.config.prefix))?;
        let mut loaded = 0;
        for (name, pem) in all {
            let Some(key_id) = key_id_from_parameter_name(&self.config.prefix, &name) else { continue };
            match parse_private_key(self.provider, &name, key_id, &pem) {
                Ok(keyring) => {
                    let key = Arc::new(CachedKey { keyring, parameter: name.clone(), legacy: false });
                    self.lock().keys.insert(key_id.to_owned(), Entry { key, fetched: Instant::now() });
                    loaded += 1;
                }
                Err(error) => tracing::warn!(parameter = %name, error = %error, "skipping unusable key while warming"),
            }
        }
        Ok(loaded)
    }

    /// Forgets everything cached (for example after a rotation the operator wants applied now).
    pub fn clear(&self) {
        let mut cache = self.lock();
        cache.keys.clear();
        cache.negative = NegativeCache::default();
    }

    /// How many key IDs the negative cache holds, and their bytes (see
    /// [`KeyStoreConfig::max_negative_bytes`]).
    pub fn negative_cache_size(&self) -> (usize, usize) {
        let cache = self.lock();
        (cache.negative.map.len(), cache.negative.bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::source::{BoxFuture, FetchError, SecretValue};

    const PKCS8_2048: &str = include_str!("../../lambda/tests/data/test-only-a-pkcs8-2048.pem");
    const PKCS1_3072: &str = include_str!("../../lambda/tests/data/test-only-b-pkcs1-3072.pem");
    const WEAK_1024: &str = include_str!("../../lambda/tests/data/test-only-weak-1024.pem");
    const PUBLIC: &str = include_str!("../../lambda/tests/data/test-only-a-public.pem");

    #[derive(Default)]
    struct Memory {
        values: Mutex<HashMap<String, String>>,
        gets: AtomicUsize,
        down: AtomicBool,
        denied: AtomicBool,
    }

    impl Memory {
        fn with(pairs: &[(&str, &str)]) -> Arc<Self> {
            let m = Self::default();
            for (k, v) in pairs {
                m.values.lock().unwrap().insert((*k).to_owned(), (*v).to_owned());
            }
            Arc::new(m)
        }
        fn gets(&self) -> usize {
            self.gets.load(Ordering::SeqCst)
        }
    }

    impl ParameterSource for Memory {
        fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<SecretValue>, FetchError>> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            let r = if self.denied.load(Ordering::SeqCst) {
                Err(FetchError::access_denied(format!(
                    "AccessDeniedException: The ciphertext refers to a customer master key that does not exist, \
                     does not exist in this region, or you are not allowed to access. (Service: AWSKMS; {name})"
                )))
            } else if self.down.load(Ordering::SeqCst) {
                Err(FetchError::unavailable("connection failed"))
            } else {
                Ok(self.values.lock().unwrap().get(name).cloned().map(zeroize::Zeroizing::new))
            };
            Box::pin(async move { r })
        }
        fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<(String, SecretValue)>, FetchError>> {
            let r = self
                .values
                .lock()
                .unwrap()
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), zeroize::Zeroizing::new(v.clone())))
                .collect();
            Box::pin(async move { Ok(r) })
        }
    }

    fn store(source: Arc<Memory>, config: KeyStoreConfig) -> KeyStore {
        KeyStore::new(source, esdk_message::provider::default_provider(), config)
    }

    const P: &str = "/connect/secure-ivr/keys/";

    #[tokio::test]
    async fn reads_pkcs8_and_pkcs1_keys() {
        let src = Memory::with(&[(&format!("{P}k8"), PKCS8_2048), (&format!("{P}k1"), PKCS1_3072)]);
        let ks = store(src, KeyStoreConfig::default());
        let (k8, s) = ks.get("k8").await.unwrap();
        assert_eq!((k8.keyring().bits(), k8.keyring().name(), s), (2048, "k8", CacheStatus::Fetched));
        assert_eq!(ks.get("k1").await.unwrap().0.keyring().bits(), 3072);
    }

    #[tokio::test]
    async fn warm_calls_hit_the_cache_within_ttl() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        ks.get("k").await.unwrap();
        for _ in 0..10 {
            assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::Hit);
        }
        assert_eq!(src.gets(), 1);
    }

    #[tokio::test]
    async fn refetches_after_ttl() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        let ks = store(Arc::clone(&src), KeyStoreConfig { ttl: Duration::ZERO, ..KeyStoreConfig::default() });
        ks.get("k").await.unwrap();
        assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::Fetched);
        assert_eq!(src.gets(), 2);
    }

    #[tokio::test]
    async fn unknown_key_ids_are_negatively_cached() {
        let src = Memory::with(&[]);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        for _ in 0..5 {
            assert!(matches!(ks.get("nope").await, Err(KeyStoreError::NotFound { .. })));
        }
        assert_eq!(src.gets(), 1);
    }

    #[tokio::test]
    async fn negative_cache_expires() {
        let src = Memory::with(&[]);
        let ks = store(Arc::clone(&src), KeyStoreConfig { negative_ttl: Duration::ZERO, ..KeyStoreConfig::default() });
        let _ = ks.get("nope").await;
        src.values.lock().unwrap().insert(format!("{P}nope"), PKCS8_2048.into());
        assert!(ks.get("nope").await.is_ok());
    }

    #[tokio::test]
    async fn legacy_parameter_is_used_only_when_the_key_id_has_none() {
        let src = Memory::with(&[(LEGACY, PKCS1_3072), (&format!("{P}own"), PKCS8_2048)]);
        const LEGACY: &str = crate::LEGACY_PARAMETER_NAME;
        let config = KeyStoreConfig::default().with_legacy_parameter(LEGACY).unwrap();
        let ks = store(src, config);
        let (own, _) = ks.get("own").await.unwrap();
        assert!(!own.is_legacy());
        let (other, _) = ks.get("other").await.unwrap();
        assert!(other.is_legacy());
        assert_eq!((other.keyring().name(), other.parameter(), other.keyring().bits()), ("other", LEGACY, 3072));
    }

    #[tokio::test]
    async fn refuses_small_keys_public_keys_and_garbage() {
        let src = Memory::with(&[
            (&format!("{P}weak"), WEAK_1024),
            (&format!("{P}pub"), PUBLIC),
            (&format!("{P}junk"), "hello"),
        ]);
        let ks = store(src, KeyStoreConfig::default());
        assert!(matches!(ks.get("weak").await, Err(KeyStoreError::KeyTooSmall { bits: 1024, .. })));
        let Err(KeyStoreError::InvalidKey { parameter, reason }) = ks.get("pub").await else { panic!() };
        assert_eq!(parameter, format!("{P}pub"));
        assert!(reason.contains("public"), "{reason}");
        assert!(matches!(ks.get("junk").await, Err(KeyStoreError::InvalidKey { .. })));
    }

    #[tokio::test]
    async fn service_errors_are_not_cached_and_stale_keys_bridge_an_outage() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        src.down.store(true, Ordering::SeqCst);
        let ks = store(Arc::clone(&src), KeyStoreConfig { ttl: Duration::ZERO, ..KeyStoreConfig::default() });
        assert!(matches!(ks.get("k").await, Err(KeyStoreError::Unavailable(_))));
        src.down.store(false, Ordering::SeqCst);
        assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::Fetched);
        src.down.store(true, Ordering::SeqCst);
        assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::StaleAfterError);
    }

    #[tokio::test]
    async fn no_stale_key_when_max_stale_is_zero() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        let cfg = KeyStoreConfig { ttl: Duration::ZERO, max_stale: Duration::ZERO, ..KeyStoreConfig::default() };
        let ks = store(Arc::clone(&src), cfg);
        ks.get("k").await.unwrap();
        src.down.store(true, Ordering::SeqCst);
        assert!(matches!(ks.get("k").await, Err(KeyStoreError::Unavailable(_))));
    }

    #[tokio::test]
    async fn invalid_key_ids_never_reach_ssm() {
        let src = Memory::with(&[]);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        assert_eq!(ks.get("../../etc").await.err(), Some(KeyStoreError::InvalidKeyId));
        assert_eq!(src.gets(), 0);
    }

    #[tokio::test]
    async fn warm_loads_usable_keys_under_the_prefix() {
        let src = Memory::with(&[
            (&format!("{P}a"), PKCS8_2048),
            (&format!("{P}b"), PKCS1_3072),
            (&format!("{P}weak"), WEAK_1024),
            ("/elsewhere/c", PKCS8_2048),
        ]);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        assert_eq!(ks.warm().await.unwrap(), 2);
        assert_eq!(ks.get("a").await.unwrap().1, CacheStatus::Hit);
        assert_eq!(ks.get("b").await.unwrap().1, CacheStatus::Hit);
        assert_eq!(src.gets(), 0);
    }

    #[tokio::test]
    async fn pending_keys_are_neither_warmed_nor_read() {
        let fp = "ab".repeat(32);
        let src = Memory::with(&[
            (&format!("{P}a"), PKCS8_2048),
            (&format!("{P}pending/{fp}"), PKCS1_3072),
            (&format!("{P}pending"), PKCS1_3072),
        ]);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        assert_eq!(ks.warm().await.unwrap(), 1);
        assert_eq!(ks.get("pending").await.err(), Some(KeyStoreError::InvalidKeyId));
        assert_eq!(ks.get(&format!("pending/{fp}")).await.err(), Some(KeyStoreError::InvalidKeyId));
        assert_eq!(src.gets(), 0);
    }

    #[tokio::test]
    async fn debug_and_errors_hold_no_key_material() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048), (&format!("{P}w"), WEAK_1024)]);
        let ks = store(src, KeyStoreConfig::default());
        let (k, _) = ks.get("k").await.unwrap();
        let err = ks.get("w").await.unwrap_err();
        let text = format!("{ks:?} {k:?} {err} {err:?}");
        for line in PKCS8_2048.lines().chain(WEAK_1024.lines()).filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "key material in {text}");
        }
    }

    #[tokio::test]
    async fn access_denied_is_its_own_error_and_remembered_for_the_denied_ttl() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        src.denied.store(true, Ordering::SeqCst);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        for _ in 0..5 {
            let Err(KeyStoreError::AccessDenied { parameter, reason }) = ks.get("k").await else { panic!() };
            assert_eq!(parameter, format!("{P}k"));
            assert!(reason.starts_with("AccessDeniedException") && reason.contains("AWSKMS"), "{reason}");
        }
        assert_eq!(src.gets(), 1, "a denial is asked once per denied_ttl");
        let text = ks.get("k").await.unwrap_err().to_string();
        assert!(text.contains("kms:Decrypt") && text.contains("secure-ivr check"), "{text}");
    }

    #[tokio::test]
    async fn access_denied_has_its_own_ttl() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        src.denied.store(true, Ordering::SeqCst);
        let cfg = KeyStoreConfig { denied_ttl: Duration::ZERO, ..KeyStoreConfig::default() };
        let ks = store(Arc::clone(&src), cfg);
        assert!(matches!(ks.get("k").await, Err(KeyStoreError::AccessDenied { .. })));
        src.denied.store(false, Ordering::SeqCst);
        // The policy was fixed: with no denied TTL the next call reads the key.
        assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::Fetched);
        assert_eq!(src.gets(), 2);
    }

    #[tokio::test]
    async fn access_denied_is_not_bridged_by_a_stale_key() {
        let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
        let ks = store(Arc::clone(&src), KeyStoreConfig { ttl: Duration::ZERO, ..KeyStoreConfig::default() });
        ks.get("k").await.unwrap();
        src.denied.store(true, Ordering::SeqCst);
        assert!(matches!(ks.get("k").await, Err(KeyStoreError::AccessDenied { .. })));
        assert!(ks.get_cached("k").is_none(), "a revoked permission drops the cached key");
    }

    #[tokio::test]
    async fn negative_cache_is_bounded_in_entries_and_keeps_the_newest() {
        let src = Memory::with(&[]);
        let cfg = KeyStoreConfig { max_negative_entries: 4, ..KeyStoreConfig::default() };
        let ks = store(Arc::clone(&src), cfg);
        for i in 0..10 {
            let _ = ks.get(&format!("unknown-{i}")).await;
        }
        assert_eq!(ks.negative_cache_size().0, 4);
        assert_eq!(src.gets(), 10);
        let _ = ks.get("unknown-9").await;
        assert_eq!(src.gets(), 10, "the newest entry is still cached");
        let _ = ks.get("unknown-0").await;
        assert_eq!(src.gets(), 11, "the oldest entry was evicted");
    }

    #[tokio::test]
    async fn negative_cache_is_bounded_in_bytes() {
        let src = Memory::with(&[]);
        let ks = store(Arc::clone(&src), KeyStoreConfig::default());
        let _ = ks.get(&"a".repeat(100)).await;
        let (_, one) = ks.negative_cache_size();
        assert!(one > 100);
        let cfg = KeyStoreConfig { max_negative_bytes: one * 5 / 2, ..KeyStoreConfig::default() };
        let ks = store(Arc::clone(&src), cfg);
        for c in ['a', 'b', 'c', 'd', 'e'] {
            let _ = ks.get(&c.to_string().repeat(100)).await;
        }
        let (entries, bytes) = ks.negative_cache_size();
        assert_eq!(entries, 2);
        assert!(bytes <= one * 5 / 2, "{bytes}");
        // Larger than the whole budget: not cached at all.
        let cfg = KeyStoreConfig { max_negative_bytes: 10, ..KeyStoreConfig::default() };
        let ks = store(src, cfg);
        let _ = ks.get("x").await;
        assert_eq!(ks.negative_cache_size(), (0, 0));
    }

    #[test]
    fn service_text_in_a_fetch_error_is_capped() {
        let long = FetchError::access_denied("é".repeat(5000));
        assert!(long.detail().len() <= FetchError::MAX_DETAIL_LEN + 3, "{}", long.detail().len());
        assert_eq!(FetchError::unavailable("timeout").detail(), "timeout");
    }

    #[test]
    fn validate_reports_bits() {
        let p = esdk_message::provider::default_provider();
        assert_eq!(crate::validate_private_key_pem(p, PKCS1_3072), Ok(3072));
        assert!(matches!(crate::validate_private_key_pem(p, WEAK_1024), Err(KeyStoreError::KeyTooSmall { .. })));
    }
}
