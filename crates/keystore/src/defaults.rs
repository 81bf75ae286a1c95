//! The defaults of the key store and its SSM client, in one place. The Lambda's configuration,
//! the CLI and the template's parameter defaults take them from here (the template by a test that
//! compares), so a default is changed once.

use std::time::Duration;

/// How long a parsed key is used before SSM is asked again, seconds.
pub const CACHE_TTL_SECS: u64 = 300;
/// How long "no such key" or "unusable key" is remembered, seconds.
pub const NEGATIVE_TTL_SECS: u64 = 30;
/// How long "access denied" is remembered, seconds.
pub const DENIED_TTL_SECS: u64 = 30;
/// How long past its TTL a key may still be used while SSM is unavailable, seconds.
pub const MAX_STALE_SECS: u64 = 3600;
/// Most key IDs the negative cache holds.
pub const MAX_NEGATIVE_ENTRIES: usize = 1024;
/// Most bytes the negative cache holds (256 KiB).
pub const MAX_NEGATIVE_BYTES: usize = 256 * 1024;

/// SSM connect timeout per attempt, milliseconds.
pub const SSM_CONNECT_TIMEOUT_MS: u64 = 500;
/// SSM read timeout per attempt, milliseconds.
pub const SSM_READ_TIMEOUT_MS: u64 = 1000;
/// SSM whole-attempt timeout, milliseconds.
pub const SSM_ATTEMPT_TIMEOUT_MS: u64 = 1200;
/// SSM whole-operation timeout (all attempts and backoff), milliseconds: well inside Connect's 8 s
/// Lambda limit.
pub const SSM_OPERATION_TIMEOUT_MS: u64 = 3000;
/// SSM attempts including the first.
pub const SSM_MAX_ATTEMPTS: u32 = 3;

/// [`CACHE_TTL_SECS`] as a duration.
pub const CACHE_TTL: Duration = Duration::from_secs(CACHE_TTL_SECS);
/// [`NEGATIVE_TTL_SECS`] as a duration.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(NEGATIVE_TTL_SECS);
/// [`DENIED_TTL_SECS`] as a duration.
pub const DENIED_TTL: Duration = Duration::from_secs(DENIED_TTL_SECS);
/// [`MAX_STALE_SECS`] as a duration.
pub const MAX_STALE: Duration = Duration::from_secs(MAX_STALE_SECS);
/// [`SSM_OPERATION_TIMEOUT_MS`] as a duration.
pub const SSM_OPERATION_TIMEOUT: Duration = Duration::from_millis(SSM_OPERATION_TIMEOUT_MS);
