//! Configuration from environment variables, read and validated once at cold start.

use std::time::Duration;

use keystore::{KeyStoreConfig, SsmLimits, defaults};

use caller_input::ValueType;

use crate::payment::PaymentSettings;

/// Every setting, with its environment variable and default (see the README).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Key store layout and cache lifetimes.
    pub keystore: KeyStoreConfig,
    /// SSM client timeouts and retries.
    pub ssm: SsmLimits,
    /// Type of a value whose flow declares none.
    pub default_type: ValueType,
    /// Load all keys under the prefix at cold start.
    pub warm_cache: bool,
    /// CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// Time an invocation has when the runtime gives no usable deadline (missing, or already
    /// past, as under `cargo lambda watch`); otherwise the deadline decides (see
    /// [`crate::deadline`]).
    pub invocation_budget: Duration,
    /// Decrypt parameters that are not declared (no `Encrypted` prefix, no `<Name>Type`) when
    /// their value parses as a Connect message. Off by default: attributes a caller can
    /// influence must not make the function ask SSM for key IDs of their choosing.
    pub decrypt_undeclared: bool,
    /// The payment connector (issue 13); [`PaymentSettings::None`] by default.
    pub payment: PaymentSettings,
}

/// A setting that cannot be used; the cold start fails with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Environment variable names.
pub mod vars {
    /// SSM prefix of the per-key-ID parameters.
    pub const KEY_PREFIX: &str = "SECURE_IVR_KEY_PREFIX";
    /// Legacy single parameter (unset or empty: off).
    pub const LEGACY_PARAMETER: &str = "SECURE_IVR_LEGACY_PARAMETER";
    /// Positive cache TTL, seconds.
    pub const CACHE_TTL: &str = "SECURE_IVR_KEY_CACHE_TTL_SECONDS";
    /// Negative cache TTL, seconds.
    pub const NEGATIVE_TTL: &str = "SECURE_IVR_KEY_NEGATIVE_TTL_SECONDS";
    /// Stale-if-SSM-unavailable window, seconds.
    pub const MAX_STALE: &str = "SECURE_IVR_KEY_MAX_STALE_SECONDS";
    /// Default value type.
    pub const DEFAULT_TYPE: &str = "SECURE_IVR_DEFAULT_VALUE_TYPE";
    /// Warm the cache at cold start.
    pub const WARM_CACHE: &str = "SECURE_IVR_WARM_KEY_CACHE";
    /// SSM connect timeout, ms.
    pub const SSM_CONNECT_TIMEOUT: &str = "SECURE_IVR_SSM_CONNECT_TIMEOUT_MS";
    /// SSM read timeout, ms.
    pub const SSM_READ_TIMEOUT: &str = "SECURE_IVR_SSM_READ_TIMEOUT_MS";
    /// SSM per-attempt timeout, ms.
    pub const SSM_ATTEMPT_TIMEOUT: &str = "SECURE_IVR_SSM_ATTEMPT_TIMEOUT_MS";
    /// SSM whole-operation timeout, ms.
    pub const SSM_OPERATION_TIMEOUT: &str = "SECURE_IVR_SSM_OPERATION_TIMEOUT_MS";
    /// SSM attempts (1 = no retry).
    pub const SSM_MAX_ATTEMPTS: &str = "SECURE_IVR_SSM_MAX_ATTEMPTS";
    /// EMF namespace.
    pub const METRICS_NAMESPACE: &str = "SECURE_IVR_METRICS_NAMESPACE";
    /// Time of one invocation when the runtime's deadline is missing or past, ms.
    pub const INVOCATION_BUDGET: &str = "SECURE_IVR_INVOCATION_BUDGET_MS";
    /// Decrypt undeclared parameters that parse as messages.
    pub const DECRYPT_UNDECLARED: &str = "SECURE_IVR_DECRYPT_UNDECLARED";

    /// Every variable above.
    pub const ALL: &[&str] = &[
        KEY_PREFIX,
        LEGACY_PARAMETER,
        CACHE_TTL,
        NEGATIVE_TTL,
        MAX_STALE,
        DEFAULT_TYPE,
        WARM_CACHE,
        SSM_CONNECT_TIMEOUT,
        SSM_READ_TIMEOUT,
        SSM_ATTEMPT_TIMEOUT,
        SSM_OPERATION_TIMEOUT,
        SSM_MAX_ATTEMPTS,
        METRICS_NAMESPACE,
        INVOCATION_BUDGET,
        DECRYPT_UNDECLARED,
        crate::payment::vars::CONNECTOR,
        crate::payment::vars::URL,
        crate::payment::vars::SECRET_ARN,
        crate::payment::vars::REPLAY_TABLE,
        crate::payment::vars::SECRET_TTL,
        crate::payment::vars::REPLAY_TTL_DAYS,
    ];
}

/// Default of [`vars::INVOCATION_BUDGET`]: the template's default function timeout (6 s).
pub const DEFAULT_INVOCATION_BUDGET_MS: u64 = 6000;
/// Smallest [`vars::INVOCATION_BUDGET`]: more than [`crate::deadline::ANSWER_MARGIN`], so some
/// time is left for a key fetch.
pub const MIN_INVOCATION_BUDGET_MS: u64 = 500;
/// Largest [`vars::INVOCATION_BUDGET`]: Lambda's longest function timeout (15 min). The template
/// sets it to the function's `Timeout`; Connect itself waits at most 8 s.
pub const MAX_INVOCATION_BUDGET_MS: u64 = 900_000;

/// Connect gives a Lambda at most 8 s; one key fetch may use at most this much of it.
pub const MAX_SSM_OPERATION_MS: u64 = 6000;

fn flag(get: &dyn Fn(&str) -> Option<String>, var: &str) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(ConfigError(format!("{var}={other:?}: expected true or false"))),
    }
}

pub(crate) fn number(
    get: &dyn Fn(&str) -> Option<String>,
    var: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(var).filter(|v| !v.trim().is_empty()) else { return Ok(default) };
    match raw.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(ConfigError(format!("{var}={raw:?}: expected a whole number from {min} to {max}"))),
    }
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// From any lookup (tests pass a map).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use vars::*;
        let prefix = get(KEY_PREFIX).filter(|v| !v.is_empty()).unwrap_or_else(|| keystore::DEFAULT_PREFIX.to_owned());
        let mut keystore =
            KeyStoreConfig::new(&prefix).map_err(|e| ConfigError(format!("{KEY_PREFIX}={prefix:?}: {e}")))?;
        if let Some(legacy) = get(LEGACY_PARAMETER).filter(|v| !v.trim().is_empty()) {
            keystore = keystore
                .with_legacy_parameter(legacy.trim())
                .map_err(|e| ConfigError(format!("{LEGACY_PARAMETER}={legacy:?}: {e}")))?;
        }
        keystore.ttl = Duration::from_secs(number(get, CACHE_TTL, defaults::CACHE_TTL_SECS, 1, 86_400)?);
        keystore.negative_ttl = Duration::from_secs(number(get, NEGATIVE_TTL, defaults::NEGATIVE_TTL_SECS, 0, 3600)?);
        keystore.max_stale = Duration::from_secs(number(get, MAX_STALE, defaults::MAX_STALE_SECS, 0, 86_400)?);

        let default_type = match get(DEFAULT_TYPE).filter(|v| !v.trim().is_empty()) {
            None => ValueType::Card,
            Some(v) => ValueType::parse(&v)
                .ok_or_else(|| ConfigError(format!("{DEFAULT_TYPE}={v:?}: expected card, expiry, cvv or digits")))?,
        };
        let warm_cache = flag(get, WARM_CACHE)?;
        let decrypt_undeclared = flag(get, DECRYPT_UNDECLARED)?;

        let ms = Duration::from_millis;
        let ssm = SsmLimits {
            connect_timeout: ms(number(
                get,
                SSM_CONNECT_TIMEOUT,
                defaults::SSM_CONNECT_TIMEOUT_MS,
                50,
                MAX_SSM_OPERATION_MS,
            )?),
            read_timeout: ms(number(get, SSM_READ_TIMEOUT, defaults::SSM_READ_TIMEOUT_MS, 50, MAX_SSM_OPERATION_MS)?),
            attempt_timeout: ms(number(
                get,
                SSM_ATTEMPT_TIMEOUT,
                defaults::SSM_ATTEMPT_TIMEOUT_MS,
                50,
                MAX_SSM_OPERATION_MS,
            )?),
            operation_timeout: ms(number(
                get,
                SSM_OPERATION_TIMEOUT,
                defaults::SSM_OPERATION_TIMEOUT_MS,
                100,
                MAX_SSM_OPERATION_MS,
            )?),
            max_attempts: u32::try_from(number(get, SSM_MAX_ATTEMPTS, u64::from(defaults::SSM_MAX_ATTEMPTS), 1, 5)?)
                .unwrap_or(defaults::SSM_MAX_ATTEMPTS),
        };
        if ssm.attempt_timeout > ssm.operation_timeout {
            return Err(ConfigError(format!(
                "{SSM_ATTEMPT_TIMEOUT} ({} ms) exceeds {SSM_OPERATION_TIMEOUT} ({} ms)",
                ssm.attempt_timeout.as_millis(),
                ssm.operation_timeout.as_millis()
            )));
        }

        let metrics_namespace =
            get(METRICS_NAMESPACE).filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "SecureIvr".into());
        if metrics_namespace.len() > 255 || metrics_namespace.contains(':') {
            return Err(ConfigError(format!("{METRICS_NAMESPACE}={metrics_namespace:?}: not a CloudWatch namespace")));
        }
        let invocation_budget = ms(number(
            get,
            INVOCATION_BUDGET,
            DEFAULT_INVOCATION_BUDGET_MS,
            MIN_INVOCATION_BUDGET_MS,
            MAX_INVOCATION_BUDGET_MS,
        )?);
        let payment = PaymentSettings::from_lookup(get)?;
        Ok(Self {
            keystore,
            ssm,
            default_type,
            warm_cache,
            metrics_namespace,
            invocation_budget,
            decrypt_undeclared,
            payment,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Config::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.keystore.prefix, keystore::DEFAULT_PREFIX);
        assert_eq!(c.keystore.legacy_parameter, None);
        assert_eq!(c.default_type, ValueType::Card);
        assert_eq!(c.ssm, SsmLimits::default());
        assert!(!c.warm_cache);
        assert!(!c.decrypt_undeclared);
        assert_eq!(c.payment, PaymentSettings::None, "no connector unless asked: today's behaviour");
        assert_eq!(c.invocation_budget, Duration::from_millis(DEFAULT_INVOCATION_BUDGET_MS));
        assert_eq!(c.keystore.denied_ttl, KeyStoreConfig::DEFAULT_DENIED_TTL);
    }

    #[test]
    fn the_smallest_budget_leaves_time_after_the_answer_margin() {
        assert!(Duration::from_millis(MIN_INVOCATION_BUDGET_MS) > crate::deadline::ANSWER_MARGIN);
    }

    #[test]
    fn reads_every_setting() {
        let c = with(&[
            (vars::KEY_PREFIX, "/x/y"),
            (vars::LEGACY_PARAMETER, keystore::LEGACY_PARAMETER_NAME),
            (vars::CACHE_TTL, "60"),
            (vars::DEFAULT_TYPE, "digits"),
            (vars::WARM_CACHE, "true"),
            (vars::SSM_OPERATION_TIMEOUT, "2000"),
            (vars::SSM_MAX_ATTEMPTS, "2"),
            (vars::INVOCATION_BUDGET, "3000"),
            (vars::DECRYPT_UNDECLARED, "true"),
        ])
        .unwrap();
        assert_eq!(c.invocation_budget, Duration::from_millis(3000));
        assert!(c.decrypt_undeclared);
        assert_eq!(c.keystore.prefix, "/x/y/");
        assert_eq!(c.keystore.legacy_parameter.as_deref(), Some("CONNECT_INPUT_DECRYPTION_KEY"));
        assert_eq!(c.keystore.ttl, Duration::from_secs(60));
        assert_eq!(c.default_type, ValueType::Digits);
        assert!(c.warm_cache);
        assert_eq!((c.ssm.operation_timeout, c.ssm.max_attempts), (Duration::from_secs(2), 2));
    }

    #[test]
    fn rejects_bad_settings_with_the_variable_named() {
        for (var, value) in [
            (vars::KEY_PREFIX, "no-slash"),
            (vars::CACHE_TTL, "abc"),
            (vars::CACHE_TTL, "0"),
            (vars::DEFAULT_TYPE, "ssn"),
            (vars::WARM_CACHE, "maybe"),
            (vars::SSM_OPERATION_TIMEOUT, "9000"),
            (vars::SSM_MAX_ATTEMPTS, "10"),
            (vars::LEGACY_PARAMETER, "bad name"),
            (vars::INVOCATION_BUDGET, "100"),
            (vars::INVOCATION_BUDGET, "900001"),
            (vars::INVOCATION_BUDGET, "6s"),
            (vars::DECRYPT_UNDECLARED, "sometimes"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
        assert!(with(&[(vars::SSM_ATTEMPT_TIMEOUT, "5000"), (vars::SSM_OPERATION_TIMEOUT, "1000")]).is_err());
    }
}
