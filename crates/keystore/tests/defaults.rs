//! One source for each default: the key store's settings, the SSM client's, and the template's
//! parameter defaults all equal `keystore::defaults`.

use std::time::Duration;

use keystore::{KeyStoreConfig, SsmLimits, defaults};

#[test]
fn config_and_limits_are_built_from_the_defaults() {
    let c = KeyStoreConfig::default();
    assert_eq!(
        (c.ttl, c.negative_ttl, c.denied_ttl, c.max_stale),
        (
            Duration::from_secs(defaults::CACHE_TTL_SECS),
            Duration::from_secs(defaults::NEGATIVE_TTL_SECS),
            Duration::from_secs(defaults::DENIED_TTL_SECS),
            Duration::from_secs(defaults::MAX_STALE_SECS)
        )
    );
    assert_eq!(
        (c.max_negative_entries, c.max_negative_bytes),
        (defaults::MAX_NEGATIVE_ENTRIES, defaults::MAX_NEGATIVE_BYTES)
    );
    assert_eq!(KeyStoreConfig::new(keystore::DEFAULT_PREFIX).ok(), Some(c));
    let l = SsmLimits::default();
    assert_eq!(
        (l.connect_timeout, l.read_timeout, l.attempt_timeout, l.operation_timeout, l.max_attempts),
        (
            Duration::from_millis(defaults::SSM_CONNECT_TIMEOUT_MS),
            Duration::from_millis(defaults::SSM_READ_TIMEOUT_MS),
            Duration::from_millis(defaults::SSM_ATTEMPT_TIMEOUT_MS),
            Duration::from_millis(defaults::SSM_OPERATION_TIMEOUT_MS),
            defaults::SSM_MAX_ATTEMPTS
        )
    );
    // The worst case (every attempt timing out) is bounded by the operation timeout, well inside
    // Connect's 8 s Lambda limit.
    assert!(l.attempt_timeout <= l.operation_timeout && l.operation_timeout < Duration::from_secs(8));
}

/// `field` (`Default`, `MinValue`, ...) of the template parameter `name`.
fn template_field(template: &str, name: &str, field: &str) -> Option<String> {
    let mut lines = template.lines().skip_while(|l| l.trim_end() != format!("  {name}:")).skip(1);
    lines
        .by_ref()
        .take_while(|l| l.starts_with("    "))
        .find_map(|l| l.trim().strip_prefix(&format!("{field}:")).map(|v| v.trim().trim_matches('"').to_owned()))
}

#[test]
fn the_template_defaults_are_the_key_stores() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../cloudformation/secure-ivr.yaml");
    let template = std::fs::read_to_string(path).unwrap();
    let field = |name, f| template_field(&template, name, f).unwrap_or_else(|| panic!("{name}.{f} not in {path}"));
    assert_eq!(field("KeyCacheTtlSeconds", "Default"), defaults::CACHE_TTL_SECS.to_string());
    assert_eq!(field("SsmOperationTimeoutMs", "Default"), defaults::SSM_OPERATION_TIMEOUT_MS.to_string());
    // "at least the 1200 ms per-attempt limit": the template's floor is the attempt timeout.
    assert_eq!(field("SsmOperationTimeoutMs", "MinValue"), defaults::SSM_ATTEMPT_TIMEOUT_MS.to_string());
    assert_eq!(format!("{}/", field("KeyPath", "Default")), keystore::DEFAULT_PREFIX);
}
