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
        KeyStoreError::Unavailable(why) | KeyStoreError::CredentialsRejected(why) => why.len(),
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
        // The Lambda's answer stays KeyStoreUnavailable for a rejected role session, as before.
        FetchError::Unavailable(why) | FetchError::CredentialsRejected(why) => KeyStoreError::Unavailable(why),
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
