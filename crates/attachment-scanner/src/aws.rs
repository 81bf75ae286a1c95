//! The handler's dependencies on AWS: S3 (`GetObject`, `GetObjectTagging`) and Rekognition
//! (`DetectModerationLabels` with image bytes). Thin: every rule is in the handler or the core.

use std::time::Duration;

use aws_sdk_rekognition::primitives::Blob;
// Both SDKs re-export the same aws-smithy types (one generation in the lock file).
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use bytes::Bytes;

use crate::handler::{Moderation, ModerationError, Moderator, ObjectBody, ObjectStore, StoreError};
use crate::moderation::ModerationLabel;

/// Timeouts and retries of both clients. The handler's deadline bounds the whole call on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// TCP and TLS connect.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Attempts (1 = no retry); the SDK's standard retry (throttling, 5xx, transport).
    pub max_attempts: u32,
    /// First retry's backoff (jittered, doubling). The SDK's 1 s default would spend most of a
    /// 15 s invocation on two retries.
    pub initial_backoff: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
        }
    }
}

fn retries(limits: &ClientLimits) -> RetryConfig {
    RetryConfig::standard().with_max_attempts(limits.max_attempts).with_initial_backoff(limits.initial_backoff)
}

fn timeouts(limits: &ClientLimits) -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(limits.connect_timeout).read_timeout(limits.read_timeout).build()
}

/// An S3 client. `path_style` for an endpoint override (moto, a VPC endpoint by URL): those
/// cannot resolve `BUCKET.host` names.
pub fn s3_client(builder: aws_sdk_s3::config::Builder, path_style: bool, limits: &ClientLimits) -> aws_sdk_s3::Client {
    let conf =
        builder.force_path_style(path_style).timeout_config(timeouts(limits)).retry_config(retries(limits)).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A Rekognition client.
pub fn rekognition_client(
    builder: aws_sdk_rekognition::config::Builder,
    limits: &ClientLimits,
) -> aws_sdk_rekognition::Client {
    let conf = builder.timeout_config(timeouts(limits)).retry_config(retries(limits)).build();
    aws_sdk_rekognition::Client::from_conf(conf)
}

/// True when the environment points S3 at another endpoint (`AWS_ENDPOINT_URL_S3` or
/// `AWS_ENDPOINT_URL`, as aws-config reads them), so the client should use path-style URLs.
pub fn s3_endpoint_overridden(get: &dyn Fn(&str) -> Option<String>) -> bool {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"].iter().any(|v| get(v).is_some_and(|s| !s.trim().is_empty()))
}

/// A safe description of an SDK failure: the service's error code, or the kind of failure.
fn describe<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("unknown service error").to_owned(),
        SdkError::TimeoutError(_) => "timeout".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "timeout".into(),
        SdkError::DispatchFailure(d) if d.is_io() => "connection failed".into(),
        SdkError::DispatchFailure(_) => "request not sent".into(),
        SdkError::ResponseError(_) => "unreadable response".into(),
        SdkError::ConstructionFailure(_) => "request not built".into(),
        _ => "unknown failure".into(),
    }
}

/// The attachments bucket through `aws-sdk-s3`.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    /// Over `client`.
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client }
    }
}

/// A `GetObject` body.
#[derive(Debug)]
pub struct S3Body {
    content_length: Option<u64>,
    body: aws_sdk_s3::primitives::ByteStream,
}

impl ObjectBody for S3Body {
    fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        match self.body.next().await {
            None => Ok(None),
            Some(Ok(chunk)) => Ok(Some(chunk)),
            Some(Err(_)) => Err(StoreError("body read failed".into())),
        }
    }
}

impl ObjectStore for S3Store {
    type Body = S3Body;

    async fn get_object(&self, bucket: &str, key: &str) -> Result<S3Body, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StoreError(format!("GetObject {}", describe(&e))))?;
        // A negative length is no length: the reader then counts what it gets.
        let content_length = out.content_length().and_then(|n| u64::try_from(n).ok());
        Ok(S3Body { content_length, body: out.body })
    }

    async fn get_object_tagging(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        let out = self
            .client
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| StoreError(format!("GetObjectTagging {}", describe(&e))))?;
        Ok(out.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
    }
}

/// Rekognition through `aws-sdk-rekognition`.
#[derive(Debug, Clone)]
pub struct RekognitionModerator {
    client: aws_sdk_rekognition::Client,
}

impl RekognitionModerator {
    /// Over `client`.
    pub fn new(client: aws_sdk_rekognition::Client) -> Self {
        Self { client }
    }
}

impl Moderator for RekognitionModerator {
    async fn detect_moderation_labels(
        &self,
        image: Vec<u8>,
        min_confidence: f32,
    ) -> Result<Moderation, ModerationError> {
        let image = aws_sdk_rekognition::types::Image::builder().bytes(Blob::new(image)).build();
        let out = self
            .client
            .detect_moderation_labels()
            .image(image)
            .min_confidence(min_confidence)
            .send()
            .await
            .map_err(|e| ModerationError(format!("DetectModerationLabels {}", describe(&e))))?;
        let labels = out
            .moderation_labels()
            .iter()
            .map(|l| ModerationLabel {
                name: l.name().unwrap_or_default().to_owned(),
                parent_name: l.parent_name().unwrap_or_default().to_owned(),
                // Rekognition always sends a confidence; a label without one counts as certain.
                confidence: l.confidence().unwrap_or(100.0),
                taxonomy_level: l.taxonomy_level().and_then(|t| u8::try_from(t).ok()),
            })
            .collect();
        Ok(Moderation { labels, model_version: out.moderation_model_version().map(str::to_owned) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_style_only_with_an_endpoint_override() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        assert!(s3_endpoint_overridden(&env(&[("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5000")])));
        assert!(s3_endpoint_overridden(&env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")])));
        assert!(!s3_endpoint_overridden(&env(&[("AWS_ENDPOINT_URL_S3", " ")])));
        assert!(!s3_endpoint_overridden(&env(&[("AWS_ENDPOINT_URL_REKOGNITION", "http://127.0.0.1:1")])));
        assert!(!s3_endpoint_overridden(&env(&[])));
    }

    #[test]
    fn retries_stay_inside_connects_budget() {
        let l = ClientLimits::default();
        // Three attempts, each bounded by connect + read timeouts, plus backoffs, fit the
        // template's default 15 s with room for the rest of the scan.
        assert!(l.max_attempts >= 2 && l.initial_backoff <= Duration::from_millis(500));
        assert!(l.connect_timeout + l.read_timeout <= Duration::from_secs(7));
    }
}
