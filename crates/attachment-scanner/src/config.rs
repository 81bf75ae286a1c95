//! Configuration from environment variables, read and validated once at cold start: a bad value
//! fails the cold start with the variable named, never a call.

use std::time::Duration;

use crate::moderation::ModerationPolicy;
use crate::policy::{Policy, UnmoderatedImages};

/// Every setting, with its environment variable and default.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The only bucket the scanner reads ([`vars::BUCKET`], required).
    pub bucket: String,
    /// Keys must start with it ([`vars::KEY_PREFIX`], default `connect/`).
    pub key_prefix: String,
    /// The content policy (size limit, allowed types, moderation), the core's rules.
    pub policy: Policy,
    /// GuardDuty Malware Protection tag handling ([`vars::GUARDDUTY`]); `None` when off.
    pub guardduty: Option<GuardDutySettings>,
    /// CloudWatch namespace of the EMF metrics.
    pub metrics_namespace: String,
    /// Time an invocation has when the runtime gives no usable deadline (missing or past, as
    /// under `cargo lambda watch`).
    pub invocation_budget: Duration,
}

/// How the GuardDuty tag is honoured when [`vars::GUARDDUTY`] is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardDutySettings {
    /// Longest wait for the tag to appear (within the invocation's time).
    pub wait: Duration,
    /// Pause between two `GetObjectTagging` calls.
    pub poll_interval: Duration,
    /// What a file without a usable result gets (not scanned in time, or a status other than
    /// `NO_THREATS_FOUND` / `THREATS_FOUND`).
    pub unscanned: Unscanned,
}

/// The policy for a file GuardDuty has not (usably) scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unscanned {
    /// Reject it (default: fail closed).
    Reject,
    /// Answer by the scanner's own checks alone.
    Allow,
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
    /// The attachments bucket (required).
    pub const BUCKET: &str = "SECURE_IVR_SCAN_BUCKET";
    /// Key prefix of the attachments, ending in `/`.
    pub const KEY_PREFIX: &str = "SECURE_IVR_SCAN_KEY_PREFIX";
    /// Largest file, bytes.
    pub const MAX_BYTES: &str = "SECURE_IVR_SCAN_MAX_BYTES";
    /// Rekognition labels below this confidence (percent) are ignored.
    pub const MIN_CONFIDENCE: &str = "SECURE_IVR_SCAN_MIN_CONFIDENCE";
    /// Comma-separated moderation categories that reject (a label or any of its parents).
    pub const REJECT_CATEGORIES: &str = "SECURE_IVR_SCAN_REJECT_CATEGORIES";
    /// Comma-separated allowed extensions (default: Connect's attachment types).
    pub const ALLOWED_TYPES: &str = "SECURE_IVR_SCAN_ALLOWED_TYPES";
    /// Allow archives (they must also be among the allowed types).
    pub const ALLOW_ARCHIVES: &str = "SECURE_IVR_SCAN_ALLOW_ARCHIVES";
    /// Images Rekognition does not take as they are (HEIC, GIF, WebP): `reject`, `convert` or `allow`.
    pub const UNMODERATED_IMAGES: &str = "SECURE_IVR_SCAN_UNMODERATED_IMAGES";
    /// Honour GuardDuty Malware Protection's object tag.
    pub const GUARDDUTY: &str = "SECURE_IVR_SCAN_GUARDDUTY";
    /// Longest wait for the GuardDuty tag, ms.
    pub const GUARDDUTY_WAIT: &str = "SECURE_IVR_SCAN_GUARDDUTY_WAIT_MS";
    /// Pause between tag reads, ms.
    pub const GUARDDUTY_POLL: &str = "SECURE_IVR_SCAN_GUARDDUTY_POLL_MS";
    /// A file GuardDuty has not scanned in time: `reject` or `allow`.
    pub const GUARDDUTY_UNSCANNED: &str = "SECURE_IVR_SCAN_GUARDDUTY_UNSCANNED";
    /// EMF namespace.
    pub const METRICS_NAMESPACE: &str = "SECURE_IVR_METRICS_NAMESPACE";
    /// Time of one invocation when the runtime's deadline is missing or past, ms.
    pub const INVOCATION_BUDGET: &str = "SECURE_IVR_SCAN_BUDGET_MS";

    /// Every variable above.
    pub const ALL: &[&str] = &[
        BUCKET,
        KEY_PREFIX,
        MAX_BYTES,
        MIN_CONFIDENCE,
        REJECT_CATEGORIES,
        ALLOWED_TYPES,
        ALLOW_ARCHIVES,
        UNMODERATED_IMAGES,
        GUARDDUTY,
        GUARDDUTY_WAIT,
        GUARDDUTY_POLL,
        GUARDDUTY_UNSCANNED,
        METRICS_NAMESPACE,
        INVOCATION_BUDGET,
    ];
}

/// Default of [`vars::KEY_PREFIX`] (the template's `AttachmentsKeyPrefix` default).
pub const DEFAULT_KEY_PREFIX: &str = "connect/";
/// Default of [`vars::INVOCATION_BUDGET`]: the template's default scanner timeout (15 s).
pub const DEFAULT_INVOCATION_BUDGET_MS: u64 = 15_000;
/// Smallest [`vars::INVOCATION_BUDGET`].
pub const MIN_INVOCATION_BUDGET_MS: u64 = 1000;
/// Largest [`vars::INVOCATION_BUDGET`]: the template's largest scanner timeout, so Connect's
/// three retries fit in its 60 s.
pub const MAX_INVOCATION_BUDGET_MS: u64 = 20_000;
/// Default of [`vars::GUARDDUTY_WAIT`]: GuardDuty scans most small objects within seconds.
pub const DEFAULT_GUARDDUTY_WAIT_MS: u64 = 8000;
/// Default of [`vars::GUARDDUTY_POLL`].
pub const DEFAULT_GUARDDUTY_POLL_MS: u64 = 500;

fn flag(get: &dyn Fn(&str) -> Option<String>, var: &str) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(ConfigError(format!("{var}={other:?}: expected true or false"))),
    }
}

fn set(get: &dyn Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    get(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn number(
    get: &dyn Fn(&str) -> Option<String>,
    var: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = set(get, var) else { return Ok(default) };
    match raw.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(ConfigError(format!("{var}={raw:?}: expected a whole number from {min} to {max}"))),
    }
}

fn choice<T: Copy>(
    get: &dyn Fn(&str) -> Option<String>,
    var: &str,
    default: T,
    options: &[(&str, T)],
) -> Result<T, ConfigError> {
    let Some(raw) = set(get, var) else { return Ok(default) };
    options.iter().find(|(name, _)| name.eq_ignore_ascii_case(&raw)).map(|(_, v)| *v).ok_or_else(|| {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        ConfigError(format!("{var}={raw:?}: expected {}", names.join(" or ")))
    })
}

/// An S3 bucket name as S3 allows it for new buckets: 3 to 63 of `a-z 0-9 . -`, starting and
/// ending with a letter or digit.
fn bucket_name_ok(name: &str) -> bool {
    let edge = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && edge(name.bytes().next())
        && edge(name.bytes().last())
}

/// The template's `AttachmentsKeyPrefix` rule: one or more segments of S3's safe characters,
/// each ending in `/`.
fn key_prefix_ok(prefix: &str) -> bool {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"!_.*'()-".contains(&b);
    prefix.ends_with('/')
        && prefix.len() <= 1024
        && prefix.strip_suffix('/').is_some_and(|p| {
            p.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.bytes().all(safe))
        })
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// From any lookup (tests pass a map).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use vars::*;
        let bucket = set(get, BUCKET)
            .ok_or_else(|| ConfigError(format!("{BUCKET} is not set: name the instance's attachments bucket")))?;
        if !bucket_name_ok(&bucket) {
            return Err(ConfigError(format!("{BUCKET}={bucket:?}: not an S3 bucket name")));
        }
        let key_prefix = set(get, KEY_PREFIX).unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned());
        if !key_prefix_ok(&key_prefix) {
            return Err(ConfigError(format!(
                "{KEY_PREFIX}={key_prefix:?}: expected a key prefix such as connect/ (segments of A-Z a-z 0-9 ! _ . * ' ( ) -, each ending in /)"
            )));
        }

        let mut policy = Policy::default();
        policy.max_size = number(get, MAX_BYTES, policy.max_size, 1, crate::policy::DEFAULT_MAX_SIZE)?;
        if let Some(raw) = set(get, MIN_CONFIDENCE) {
            policy.moderation.min_confidence = ModerationPolicy::parse_min_confidence(&raw)
                .map_err(|e| ConfigError(format!("{MIN_CONFIDENCE}={raw:?}: {e}")))?;
        }
        if let Some(raw) = set(get, REJECT_CATEGORIES) {
            policy.moderation.reject_categories = ModerationPolicy::parse_categories(&raw)
                .map_err(|e| ConfigError(format!("{REJECT_CATEGORIES}: {e}")))?;
        }
        if let Some(raw) = set(get, ALLOWED_TYPES) {
            policy.allowed = Policy::parse_allowed(&raw).map_err(|e| ConfigError(format!("{ALLOWED_TYPES}: {e}")))?;
        }
        policy.allow_archives = flag(get, ALLOW_ARCHIVES)?;
        if let Some(raw) = set(get, UNMODERATED_IMAGES) {
            policy.unmoderated_images = UnmoderatedImages::parse(&raw.to_ascii_lowercase())
                .map_err(|e| ConfigError(format!("{UNMODERATED_IMAGES}={raw:?}: {e}")))?;
        }
        let invocation_budget = Duration::from_millis(number(
            get,
            INVOCATION_BUDGET,
            DEFAULT_INVOCATION_BUDGET_MS,
            MIN_INVOCATION_BUDGET_MS,
            MAX_INVOCATION_BUDGET_MS,
        )?);
        let guardduty = if flag(get, GUARDDUTY)? {
            let wait = number(get, GUARDDUTY_WAIT, DEFAULT_GUARDDUTY_WAIT_MS, 0, MAX_INVOCATION_BUDGET_MS)?;
            let poll = number(get, GUARDDUTY_POLL, DEFAULT_GUARDDUTY_POLL_MS, 50, 5000)?;
            let unscanned = choice(
                get,
                GUARDDUTY_UNSCANNED,
                Unscanned::Reject,
                &[("reject", Unscanned::Reject), ("allow", Unscanned::Allow)],
            )?;
            Some(GuardDutySettings {
                wait: Duration::from_millis(wait),
                poll_interval: Duration::from_millis(poll),
                unscanned,
            })
        } else {
            // Settings that only matter with GuardDuty on are still checked: a typo must not wait
            // for the day someone turns it on.
            number(get, GUARDDUTY_WAIT, DEFAULT_GUARDDUTY_WAIT_MS, 0, MAX_INVOCATION_BUDGET_MS)?;
            number(get, GUARDDUTY_POLL, DEFAULT_GUARDDUTY_POLL_MS, 50, 5000)?;
            choice(
                get,
                GUARDDUTY_UNSCANNED,
                Unscanned::Reject,
                &[("reject", Unscanned::Reject), ("allow", Unscanned::Allow)],
            )?;
            None
        };

        let metrics_namespace = set(get, METRICS_NAMESPACE).unwrap_or_else(|| "SecureIvr".into());
        if metrics_namespace.len() > 255 || metrics_namespace.contains(':') {
            return Err(ConfigError(format!("{METRICS_NAMESPACE}={metrics_namespace:?}: not a CloudWatch namespace")));
        }
        Ok(Self { bucket, key_prefix, policy, guardduty, metrics_namespace, invocation_budget })
    }

    /// The object is in the configured bucket, under the prefix, with no `.` or `..` segment
    /// (S3 keys are literal, but a proxy or a log reader might not treat them so).
    pub fn allows_location(&self, bucket: &str, key: &str) -> bool {
        bucket == self.bucket
            && key.len() <= 1024
            && key.strip_prefix(&self.key_prefix).is_some_and(|rest| !rest.is_empty())
            && !key.split('/').any(|seg| seg == "." || seg == "..")
            && !key.chars().any(char::is_control)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = [(vars::BUCKET.to_owned(), "attachments-1".to_owned())].into();
        map.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Config::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.bucket, "attachments-1");
        assert_eq!(c.key_prefix, "connect/");
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.guardduty, None);
        assert_eq!(c.metrics_namespace, "SecureIvr");
        assert_eq!(c.invocation_budget, Duration::from_millis(DEFAULT_INVOCATION_BUDGET_MS));
    }

    #[test]
    fn the_bucket_is_required() {
        let err = Config::from_lookup(&|_| None).unwrap_err();
        assert!(err.to_string().contains(vars::BUCKET), "{err}");
    }

    #[test]
    fn reads_every_setting() {
        let c = with(&[
            (vars::KEY_PREFIX, "connect/my-instance/Attachments/"),
            (vars::MAX_BYTES, "1048576"),
            (vars::MIN_CONFIDENCE, "75.5"),
            (vars::REJECT_CATEGORIES, "Explicit,Violence"),
            (vars::ALLOWED_TYPES, "png,txt"),
            (vars::ALLOW_ARCHIVES, "true"),
            (vars::UNMODERATED_IMAGES, "allow"),
            (vars::GUARDDUTY, "true"),
            (vars::GUARDDUTY_WAIT, "2000"),
            (vars::GUARDDUTY_POLL, "100"),
            (vars::GUARDDUTY_UNSCANNED, "allow"),
            (vars::METRICS_NAMESPACE, "Scans"),
            (vars::INVOCATION_BUDGET, "5000"),
        ])
        .unwrap();
        assert_eq!(c.key_prefix, "connect/my-instance/Attachments/");
        assert_eq!(c.policy.max_size, 1_048_576);
        assert!((c.policy.moderation.min_confidence - 75.5).abs() < f32::EPSILON);
        assert_eq!(c.policy.moderation.reject_categories.len(), 2);
        assert_eq!(c.policy.allowed.len(), 2);
        assert!(c.policy.allow_archives);
        assert_eq!(c.policy.unmoderated_images, UnmoderatedImages::Allow);
        assert_eq!(
            c.guardduty,
            Some(GuardDutySettings {
                wait: Duration::from_secs(2),
                poll_interval: Duration::from_millis(100),
                unscanned: Unscanned::Allow
            })
        );
        assert_eq!(c.metrics_namespace, "Scans");
        assert_eq!(c.invocation_budget, Duration::from_secs(5));
    }

    #[test]
    fn guardduty_defaults_to_reject_when_unscanned() {
        let g = with(&[(vars::GUARDDUTY, "true")]).unwrap().guardduty.unwrap();
        assert_eq!(g.unscanned, Unscanned::Reject);
        assert_eq!(g.wait, Duration::from_millis(DEFAULT_GUARDDUTY_WAIT_MS));
    }

    #[test]
    fn rejects_bad_settings_with_the_variable_named() {
        for (var, value) in [
            (vars::BUCKET, "Not_A_Bucket"),
            (vars::BUCKET, "ab"),
            (vars::BUCKET, "-bucket"),
            (vars::KEY_PREFIX, "connect"),
            (vars::KEY_PREFIX, "/connect/"),
            (vars::KEY_PREFIX, "connect//x/"),
            (vars::KEY_PREFIX, "connect/../"),
            (vars::KEY_PREFIX, "con nect/"),
            (vars::MAX_BYTES, "0"),
            (vars::MAX_BYTES, "20971521"),
            (vars::MAX_BYTES, "20MB"),
            (vars::MIN_CONFIDENCE, "101"),
            (vars::MIN_CONFIDENCE, "-1"),
            (vars::MIN_CONFIDENCE, "NaN"),
            (vars::MIN_CONFIDENCE, "high"),
            (vars::ALLOW_ARCHIVES, "sometimes"),
            (vars::UNMODERATED_IMAGES, "moderate-later"),
            (vars::GUARDDUTY, "on-ish"),
            (vars::GUARDDUTY_WAIT, "60000"),
            (vars::GUARDDUTY_POLL, "10"),
            (vars::GUARDDUTY_UNSCANNED, "maybe"),
            (vars::METRICS_NAMESPACE, "a:b"),
            (vars::INVOCATION_BUDGET, "999"),
            (vars::INVOCATION_BUDGET, "20001"),
        ] {
            let err = with(&[(var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{var}={value}: {err}");
        }
    }

    #[test]
    fn guardduty_settings_are_checked_even_when_it_is_off() {
        let err = with(&[(vars::GUARDDUTY_UNSCANNED, "maybe")]).unwrap_err();
        assert!(err.to_string().contains(vars::GUARDDUTY_UNSCANNED));
    }

    #[test]
    fn locations_must_be_the_bucket_and_under_the_prefix() {
        let c = with(&[(vars::KEY_PREFIX, "connect/i/")]).unwrap();
        assert!(c.allows_location("attachments-1", "connect/i/Attachments/chat/a.png"));
        assert!(!c.allows_location("attachments-2", "connect/i/Attachments/chat/a.png"));
        assert!(!c.allows_location("attachments-1", "connect/j/a.png"));
        assert!(!c.allows_location("attachments-1", "connect/i/"), "the prefix itself is no file");
        assert!(!c.allows_location("attachments-1", "xconnect/i/a.png"));
        assert!(!c.allows_location("attachments-1", "connect/i/../../secret"));
        assert!(!c.allows_location("attachments-1", "connect/i/./a"));
        assert!(!c.allows_location("attachments-1", "connect/i/a\nb"));
        assert!(!c.allows_location("Attachments-1", "connect/i/a.png"));
    }
}
