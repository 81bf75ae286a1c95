//! The key store's cache, negative cache, stale fallback, legacy parameter and warm-up, over the
//! in-memory source.

use std::sync::Arc;
use std::time::Duration;

use keystore::{CacheStatus, FetchError, KeyStore, KeyStoreConfig, KeyStoreError};
use test_support::fixtures::{
    KEY_A_PKCS8_2048 as PKCS8_2048, KEY_A_PUBLIC as PUBLIC, KEY_B_PKCS1_3072 as PKCS1_3072, KEY_WEAK_1024 as WEAK_1024,
};
use test_support::memory::MemorySource as Memory;

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
    src.put(&format!("{P}nope"), PKCS8_2048);
    assert!(ks.get("nope").await.is_ok());
}

#[tokio::test]
async fn legacy_parameter_is_used_only_when_the_key_id_has_none() {
    let src = Memory::with(&[(LEGACY, PKCS1_3072), (&format!("{P}own"), PKCS8_2048)]);
    const LEGACY: &str = keystore::LEGACY_PARAMETER_NAME;
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
    let src =
        Memory::with(&[(&format!("{P}weak"), WEAK_1024), (&format!("{P}pub"), PUBLIC), (&format!("{P}junk"), "hello")]);
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
    src.set_down(true);
    let ks = store(Arc::clone(&src), KeyStoreConfig { ttl: Duration::ZERO, ..KeyStoreConfig::default() });
    assert!(matches!(ks.get("k").await, Err(KeyStoreError::Unavailable(_))));
    src.set_down(false);
    assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::Fetched);
    src.set_down(true);
    assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::StaleAfterError);
}

#[tokio::test]
async fn no_stale_key_when_max_stale_is_zero() {
    let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
    let cfg = KeyStoreConfig { ttl: Duration::ZERO, max_stale: Duration::ZERO, ..KeyStoreConfig::default() };
    let ks = store(Arc::clone(&src), cfg);
    ks.get("k").await.unwrap();
    src.set_down(true);
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
    src.set_denied(true);
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
    src.set_denied(true);
    let cfg = KeyStoreConfig { denied_ttl: Duration::ZERO, ..KeyStoreConfig::default() };
    let ks = store(Arc::clone(&src), cfg);
    assert!(matches!(ks.get("k").await, Err(KeyStoreError::AccessDenied { .. })));
    src.set_denied(false);
    // The policy was fixed: with no denied TTL the next call reads the key.
    assert_eq!(ks.get("k").await.unwrap().1, CacheStatus::Fetched);
    assert_eq!(src.gets(), 2);
}

#[tokio::test]
async fn access_denied_is_not_bridged_by_a_stale_key() {
    let src = Memory::with(&[(&format!("{P}k"), PKCS8_2048)]);
    let ks = store(Arc::clone(&src), KeyStoreConfig { ttl: Duration::ZERO, ..KeyStoreConfig::default() });
    ks.get("k").await.unwrap();
    src.set_denied(true);
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
    assert_eq!(keystore::validate_private_key_pem(p, PKCS1_3072), Ok(3072));
    assert!(matches!(keystore::validate_private_key_pem(p, WEAK_1024), Err(KeyStoreError::KeyTooSmall { .. })));
}
