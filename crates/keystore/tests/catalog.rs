//! Reading and listing stored keys (`read_key`, `list_keys`) and the one size wording, over the
//! in-memory source and over moto through `SsmParameterSource`.

use std::sync::Arc;

use keystore::{
    Fingerprint, KeyError, KeyStore, KeyStoreConfig, KeyStoreError, KeyTooSmall, ListedKey, ParameterSource, SsmLimits,
    SsmParameterSource, StoredKey, list_keys, pending_parameter_name, read_key,
};
use test_support::fixtures::{KEY_A_PKCS8_2048, KEY_B_PKCS1_3072, KEY_WEAK_1024};
use test_support::memory::MemorySource;

const TOO_SMALL: &str = "the RSA key is 1024 bits, too small: at least 2048 bits are required";

/// 12 active keys (more than SSM's page of 10), 2 pending keys, and parameters that are neither.
#[allow(clippy::unwrap_used, reason = "test setup: a panic is a failed test")]
fn seed_names(prefix: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let active: Vec<String> = (0..12).map(|i| format!("{prefix}k-{i:02}")).collect();
    let pending: Vec<String> = ["0a", "0b"]
        .iter()
        .map(|b| pending_parameter_name(prefix, &Fingerprint::parse(&b.repeat(32)).unwrap()).unwrap())
        .collect();
    let other = vec![format!("{prefix}deeper/k-1"), format!("{prefix}pending")];
    (active, pending, other)
}

fn check_listing(listed: &[ListedKey], active: &[String], pending: &[String]) {
    let names: Vec<&str> = listed.iter().map(|k| k.info.name.as_str()).collect();
    let mut expected: Vec<&str> = active.iter().chain(pending).map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(names, expected, "every key, sorted, on all pages; other parameters left out");
    for k in listed {
        match (&k.key_id, &k.pending) {
            (Some(id), None) => assert!(k.info.name.ends_with(&format!("/{id}")) && id.starts_with("k-")),
            (None, Some(fp)) => assert!(Fingerprint::parse(fp).is_some() && k.info.name.ends_with(fp.as_str())),
            other => panic!("{}: {other:?}", k.info.name),
        }
        assert!(k.info.version.is_some_and(|v| v >= 1), "{:?}", k.info);
    }
}

#[tokio::test]
async fn lists_active_and_pending_keys_in_memory() {
    let prefix = "/connect/secure-ivr/keys/";
    let (active, pending, other) = seed_names(prefix);
    let src = MemorySource::with(&[("/elsewhere/k-1", "x")]);
    for name in active.iter().chain(&pending).chain(&other) {
        src.put(name, "not read by a listing");
    }
    let listed = list_keys(src.as_ref(), "/connect/secure-ivr/keys").await.unwrap();
    check_listing(&listed, &active, &pending);
    assert_eq!(src.gets(), 0, "listing reads no value");
}

#[tokio::test]
async fn listing_reports_the_source_failing() {
    let src = MemorySource::with(&[]);
    src.set_denied(true);
    let err = list_keys(src.as_ref(), "/p/").await.unwrap_err();
    assert!(matches!(&err, KeyStoreError::AccessDenied { parameter, .. } if parameter == "/p/"), "{err:?}");
    src.set_denied(false);
    src.set_down(true);
    assert!(matches!(list_keys(src.as_ref(), "/p/").await, Err(KeyStoreError::Unavailable(_))));
    assert!(matches!(list_keys(src.as_ref(), "p").await, Err(KeyStoreError::InvalidConfiguration(_))));
}

/// A source written before `describe` existed: the default answers that it cannot list.
struct GetOnly;

impl ParameterSource for GetOnly {
    fn get(&self, _: &str) -> keystore::BoxFuture<'_, Result<Option<keystore::SecretValue>, keystore::FetchError>> {
        Box::pin(async { Ok(Some(zeroize::Zeroizing::new(KEY_A_PKCS8_2048.to_owned()))) })
    }
    fn list(
        &self,
        _: &str,
    ) -> keystore::BoxFuture<'_, Result<Vec<(String, keystore::SecretValue)>, keystore::FetchError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

#[tokio::test]
async fn default_methods_keep_older_sources_working() {
    let read = read_key(&GetOnly, "/p/k").await.unwrap();
    assert_eq!((read.pem.as_str(), read.version), (KEY_A_PKCS8_2048, None));
    let err = list_keys(&GetOnly, "/p/").await.unwrap_err();
    assert!(matches!(&err, KeyStoreError::Unavailable(why) if why.contains("cannot list")), "{err:?}");
}

#[tokio::test]
async fn reads_one_key_with_its_version() {
    let src = MemorySource::with(&[("/p/k", KEY_B_PKCS1_3072)]);
    src.put("/p/k", KEY_A_PKCS8_2048);
    let read = read_key(src.as_ref(), "/p/k").await.unwrap();
    assert_eq!(read.version, Some(2));
    assert_eq!(StoredKey::from_pem(&read.pem).unwrap().bits(), 2048);
    assert!(!format!("{read:?}").contains("MII"), "Debug hides the PEM");
    let missing = read_key(src.as_ref(), "/p/none").await.unwrap_err();
    assert_eq!(missing, KeyStoreError::NotFound { parameter: "/p/none".into() });
    src.set_denied(true);
    assert!(matches!(read_key(src.as_ref(), "/p/k").await, Err(KeyStoreError::AccessDenied { .. })));
}

#[tokio::test]
async fn the_size_rule_reads_the_same_from_every_entry_point() {
    let provider = esdk_message::provider::default_provider();
    // The CLI's paths: the stored key itself, and the check before an upload.
    let direct = StoredKey::from_pem(KEY_WEAK_1024).unwrap_err();
    assert_eq!(direct, KeyError::TooSmall(KeyTooSmall { bits: 1024 }));
    assert_eq!(direct.to_string(), TOO_SMALL);
    let validated = keystore::validate_private_key_pem(provider, KEY_WEAK_1024).unwrap_err();
    let parsed = keystore::parse_private_key(provider, "/p/weak", "weak", KEY_WEAK_1024).unwrap_err();
    // The Lambda's path: the key store.
    let src = MemorySource::with(&[("/p/weak", KEY_WEAK_1024)]);
    let store = KeyStore::new(src, provider, KeyStoreConfig::new("/p/").unwrap());
    let from_store = store.get("weak").await.unwrap_err();
    assert_eq!(from_store, KeyStoreError::KeyTooSmall { parameter: "/p/weak".into(), bits: 1024, min_bits: 2048 });
    assert_eq!(parsed, from_store);
    assert_eq!(from_store.to_string(), format!("SSM parameter /p/weak: {TOO_SMALL}"));
    assert_eq!(validated.to_string(), format!("SSM parameter (input): {TOO_SMALL}"));
}

#[tokio::test]
async fn lists_and_reads_through_ssm_with_paging() {
    let Some(endpoint) = test_support::moto::endpoint("keystore::lists_and_reads_through_ssm_with_paging") else {
        return;
    };
    let seeding = test_support::moto::ssm_client(&endpoint, &test_support::moto::seeding_limits());
    let client = test_support::moto::ssm_client(&endpoint, &SsmLimits::default());
    let prefix = test_support::moto::unique_prefix("keystore-list");
    let (active, pending, other) = seed_names(&prefix);
    for name in active.iter().chain(&pending).chain(&other) {
        test_support::moto::put_secure_string(&seeding, name, KEY_A_PKCS8_2048).await;
    }
    // A second version of one key, to see versions come through.
    let second = test_support::moto::put_secure_string(&seeding, &active[0], KEY_B_PKCS1_3072).await;
    assert_eq!(second, 2);
    let source = SsmParameterSource::new(client.clone());

    let listed = list_keys(&source, &prefix).await.unwrap();
    check_listing(&listed, &active, &pending);
    assert_eq!(listed.iter().find(|k| k.info.name == active[0]).and_then(|k| k.info.version), Some(2));
    assert!(listed.iter().all(|k| k.info.last_modified.is_some()), "SSM reports when each was written");

    // The same request the source sends, page by page: more than one page was needed.
    let first =
        client.get_parameters_by_path().path(prefix.trim_end_matches('/')).recursive(true).send().await.unwrap();
    assert!(first.next_token.is_some(), "{} parameters fit one page: paging is not exercised", active.len() + 4);

    let read = read_key(&source, &active[0]).await.unwrap();
    assert_eq!(read.version, Some(2));
    assert_eq!(StoredKey::from_pem(&read.pem).unwrap().bits(), 3072);
    let missing = read_key(&source, &format!("{prefix}absent")).await.unwrap_err();
    assert!(matches!(missing, KeyStoreError::NotFound { .. }), "{missing:?}");

    // The warm-up reads only direct children that are key IDs: the 12 active keys.
    let store = KeyStore::new(
        Arc::new(source),
        esdk_message::provider::default_provider(),
        KeyStoreConfig::new(&prefix).unwrap(),
    );
    assert_eq!(store.warm().await.unwrap(), 12);
}
