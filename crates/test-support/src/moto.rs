//! moto, the local AWS: where it listens, and (feature `keystore`) an SSM client for it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable `scripts/lib/moto.sh` users export the endpoint in.
pub const ENDPOINT_VAR: &str = "SECURE_IVR_MOTO_ENDPOINT";

/// The moto endpoint (`http://127.0.0.1:PORT`, no trailing `/`). When unset: fails if the services
/// were required, otherwise a counted skip ([`crate::skip::missing_service`]) and `None`.
pub fn endpoint(test: &str) -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(ep) if !ep.trim().is_empty() => Some(ep.trim().trim_end_matches('/').to_owned()),
        _ => {
            crate::skip::missing_service(test, "no moto endpoint");
            None
        }
    }
}

/// A parameter prefix no other test, process or run uses: `/secure-ivr-test/<name>-<pid>-<n>-<nanos>/`.
pub fn unique_prefix(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("/secure-ivr-test/{name}-{}-{}-{nanos:x}/", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// An SSM client for `endpoint` with static test credentials, region `us-east-1` and `limits`.
#[cfg(feature = "ssm")]
pub fn ssm_client(endpoint: &str, limits: &keystore::SsmLimits) -> aws_sdk_ssm::Client {
    use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
    let builder = aws_sdk_ssm::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "secure-ivr-tests"))
        .endpoint_url(endpoint);
    keystore::ssm_client(builder, limits)
}

/// Stores (or overwrites) a SecureString; returns the version SSM gave it.
///
/// # Panics
/// When SSM refuses: seeding is not what the test checks.
#[cfg(feature = "ssm")]
pub async fn put_secure_string(client: &aws_sdk_ssm::Client, name: &str, value: &str) -> i64 {
    let sent = client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await;
    match sent {
        Ok(out) => out.version(),
        Err(e) => panic!("put {name}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)),
    }
}

/// Limits for seeding a test's parameters: one attempt with a generous deadline, because a put
/// the SDK retried after a timeout (a cold moto is slow) would store an extra version.
#[cfg(feature = "ssm")]
pub fn seeding_limits() -> keystore::SsmLimits {
    use std::time::Duration;
    keystore::SsmLimits {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(20),
        attempt_timeout: Duration::from_secs(30),
        operation_timeout: Duration::from_secs(30),
        max_attempts: 1,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes_are_unique_and_end_in_a_slash() {
        let (a, b) = (super::unique_prefix("t"), super::unique_prefix("t"));
        assert_ne!(a, b);
        assert!(a.starts_with("/secure-ivr-test/t-") && a.ends_with('/'), "{a}");
    }
}
