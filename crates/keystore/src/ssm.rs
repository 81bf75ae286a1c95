//! [`ParameterSource`] over the real `aws-sdk-ssm` client, and a client tuned for a call path
//! with a deadline.

use std::time::Duration;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use zeroize::Zeroizing;

use crate::limits::SsmLimits;
use crate::source::{BoxFuture, FetchError, ParameterInfo, ParameterSource, SecretValue, Versioned};

impl SsmLimits {
    /// The SDK timeout configuration.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.operation_timeout)
            .build()
    }

    /// The SDK retry configuration: standard mode, short backoff (a caller is waiting on the
    /// phone; the operation timeout caps the total anyway).
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(50))
            .with_max_backoff(Duration::from_millis(400))
    }
}

/// An SSM client with `limits` applied to a configuration builder (typically
/// `aws_sdk_ssm::config::Builder::from(&aws_config::load_defaults(..).await)`).
pub fn client(builder: aws_sdk_ssm::config::Builder, limits: &SsmLimits) -> Client {
    let conf = builder.timeout_config(limits.timeout_config()).retry_config(limits.retry_config()).build();
    Client::from_conf(conf)
}

/// Reads SecureStrings with `WithDecryption=true` through the AWS SDK.
#[derive(Debug, Clone)]
pub struct SsmParameterSource {
    client: Client,
}

impl SsmParameterSource {
    /// Wraps a client (build it with [`client`] so it has timeouts).
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

/// Error codes that mean "you may not read this", from SSM itself or from the KMS key behind a
/// SecureString. Taken from botocore's `ssm/2014-11-06/service-2.json`: `AccessDeniedException`
/// is SSM's (and, with a message naming `AWSKMS`, how SSM passes on KMS's refusal to decrypt);
/// `InvalidKeyId` is the KMS-key error `GetParameter` and `GetParametersByPath` model. Neither
/// is in the SDK's retryable set (throttling, transient, HTTP 5xx), so the SDK makes one attempt.
pub const DENIED_ERROR_CODES: &[&str] = &["AccessDeniedException", "InvalidKeyId"];

/// Error codes that mean "these credentials are not accepted" (botocore's common AWS errors for
/// JSON services: a token that expired, an unknown access key, a bad signature). The CLI tells
/// its user to refresh credentials (exit 3) instead of blaming the service.
pub const CREDENTIAL_ERROR_CODES: &[&str] = &[
    "ExpiredTokenException",
    "ExpiredToken",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
];

fn fetch_error<E, R>(err: &SdkError<E, R>) -> FetchError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = err
        && let Some(code) = service.err().code()
        && DENIED_ERROR_CODES.contains(&code)
    {
        return FetchError::access_denied(format!("{code}: {}", service.err().message().unwrap_or("")));
    }
    if let SdkError::ServiceError(service) = err
        && let Some(code) = service.err().code()
        && CREDENTIAL_ERROR_CODES.contains(&code)
    {
        return FetchError::credentials_rejected(format!("{code}: {}", service.err().message().unwrap_or("")));
    }
    // The SDK's error text names the error code and message from SSM; it never echoes a value.
    let kind = match err {
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(d) if d.is_timeout() => "timeout",
        SdkError::DispatchFailure(d) if d.is_io() => "connection failed",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(_) => "service error",
        SdkError::ConstructionFailure(_) => "request construction failed",
        _ => "error",
    };
    FetchError::unavailable(format!("{kind}: {}", DisplayErrorContext(err)))
}

impl ParameterSource for SsmParameterSource {
    fn get(&self, name: &str) -> BoxFuture<'_, Result<Option<SecretValue>, FetchError>> {
        let read = self.get_versioned(name);
        Box::pin(async move { Ok(read.await?.map(|v| v.value)) })
    }

    fn get_versioned(&self, name: &str) -> BoxFuture<'_, Result<Option<Versioned>, FetchError>> {
        let request = self.client.get_parameter().name(name).with_decryption(true);
        Box::pin(async move {
            match request.send().await {
                Ok(out) => Ok(out.parameter.and_then(|p| {
                    let version = p.version;
                    p.value.map(|value| Versioned { value: Zeroizing::new(value), version: Some(version) })
                })),
                Err(SdkError::ServiceError(e)) if matches!(e.err(), GetParameterError::ParameterNotFound(_)) => {
                    Ok(None)
                }
                Err(e) => Err(fetch_error(&e)),
            }
        })
    }

    fn describe(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<ParameterInfo>, FetchError>> {
        let mut pages = self
            .client
            .get_parameters_by_path()
            .path(prefix.trim_end_matches('/'))
            .recursive(true)
            .with_decryption(false)
            .into_paginator()
            .send();
        Box::pin(async move {
            let mut all = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| fetch_error(&e))?;
                for p in page.parameters.unwrap_or_default() {
                    let Some(name) = p.name else { continue };
                    let last_modified = p.last_modified_date.and_then(|d| std::time::SystemTime::try_from(d).ok());
                    all.push(ParameterInfo { name, version: Some(p.version), last_modified });
                }
            }
            Ok(all)
        })
    }

    fn list(&self, prefix: &str) -> BoxFuture<'_, Result<Vec<(String, SecretValue)>, FetchError>> {
        let mut pages = self
            .client
            .get_parameters_by_path()
            .path(prefix.trim_end_matches('/'))
            .recursive(false)
            .with_decryption(true)
            .into_paginator()
            .send();
        Box::pin(async move {
            let mut all = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| fetch_error(&e))?;
                for p in page.parameters.unwrap_or_default() {
                    if let (Some(name), Some(value)) = (p.name, p.value) {
                        all.push((name, Zeroizing::new(value)));
                    }
                }
            }
            Ok(all)
        })
    }
}
