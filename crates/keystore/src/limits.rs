//! Deadlines for reading a key from SSM. Plain data, so that configuration can be read and
//! checked without the AWS SDK compiled in (the `ssm` feature).

use std::time::Duration;

use crate::defaults;

/// Timeouts and retries for the SSM client. The defaults keep the worst case (every attempt
/// timing out, plus backoff) under [`SsmLimits::DEFAULT_OPERATION_TIMEOUT`], well inside
/// Amazon Connect's 8 s Lambda limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SsmLimits {
    /// TCP (and TLS) connect timeout per attempt.
    pub connect_timeout: Duration,
    /// Time to wait for response bytes per attempt.
    pub read_timeout: Duration,
    /// Whole attempt (connect, send, read) timeout.
    pub attempt_timeout: Duration,
    /// Whole operation, all attempts and backoff: the hard upper bound of one fetch.
    pub operation_timeout: Duration,
    /// Attempts including the first (1 = no retry).
    pub max_attempts: u32,
}

impl SsmLimits {
    /// Default hard bound of one fetch.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = defaults::SSM_OPERATION_TIMEOUT;
}

impl Default for SsmLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(defaults::SSM_CONNECT_TIMEOUT_MS),
            read_timeout: Duration::from_millis(defaults::SSM_READ_TIMEOUT_MS),
            attempt_timeout: Duration::from_millis(defaults::SSM_ATTEMPT_TIMEOUT_MS),
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
            max_attempts: defaults::SSM_MAX_ATTEMPTS,
        }
    }
}
