//! Shared AWS flags and the one place clients are built.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::config::ProvideCredentials as _;
use clap::Args;

use keystore::DEFAULT_PREFIX;

use crate::error::{CliError, Exit, Result};

/// Flags every AWS command shares, like the AWS CLI's.
#[derive(Debug, Clone, Args)]
pub(crate) struct AwsArgs {
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Named profile from ~/.aws/config (default: AWS_PROFILE or "default").
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Send every AWS call to this endpoint (local test servers). Per-service AWS_ENDPOINT_URL_SSM,
    /// AWS_ENDPOINT_URL_CONNECT and AWS_ENDPOINT_URL_CLOUDTRAIL are honoured too.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
    /// SSM parameter prefix under which private keys live; must match the Lambda's setting.
    #[arg(long, global = true, env = "SECURE_IVR_PREFIX", default_value = DEFAULT_PREFIX, value_name = "PATH")]
    pub(crate) prefix: String,
}

/// AWS clients for one run, built from one loaded configuration.
pub(crate) struct Aws {
    /// The loaded configuration.
    pub(crate) config: SdkConfig,
    /// Validated parameter prefix (starts and ends with `/`).
    pub(crate) prefix: String,
}

impl AwsArgs {
    /// Checks the prefix without touching the network, by the key store's rules
    /// ([`keystore::normalize_prefix`]), so it ends in exactly one `/` as the Lambda's does.
    pub(crate) fn checked_prefix(&self) -> Result<String> {
        let p = self.prefix.trim();
        keystore::normalize_prefix(p).map_err(|e| {
            CliError::new(
                Exit::Config,
                format!("--prefix {p:?} is not an SSM parameter path ({e})"),
                format!("give a path such as {DEFAULT_PREFIX}"),
            )
        })
    }

    /// Loads configuration and resolves credentials once, so a missing credential or region fails
    /// here with a clear sentence instead of inside the first call.
    pub(crate) async fn load(&self) -> Result<Aws> {
        let prefix = self.checked_prefix()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            check_region(region)?;
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        match config.region() {
            None => {
                return Err(CliError::new(
                    Exit::Config,
                    "no AWS region is configured",
                    "pass --region (for example --region eu-west-2), set AWS_REGION, or set region in the profile",
                ));
            }
            Some(r) => check_region(r.as_ref())?,
        }
        let Some(provider) = config.credentials_provider() else {
            return Err(no_credentials("no credentials provider is configured".into()));
        };
        if let Err(e) = provider.provide_credentials().await {
            return Err(no_credentials(format!("no usable AWS credentials: {e}")));
        }
        Ok(Aws { config, prefix })
    }
}

fn no_credentials(message: String) -> CliError {
    CliError::new(
        Exit::Config,
        message,
        "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, run `aws sso login --profile NAME` and pass --profile NAME, or run where a role is attached",
    )
}

/// Region names look like `eu-west-2` or `us-gov-west-1`; anything else is a typo.
fn check_region(region: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(CliError::new(
            Exit::Config,
            format!("{region:?} is not an AWS region name"),
            "use a region code such as us-east-1 or eu-west-2 (the Connect instance's region)",
        ))
    }
}

impl Aws {
    /// SSM client.
    pub(crate) fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config)
    }

    /// Connect client.
    pub(crate) fn connect(&self) -> aws_sdk_connect::Client {
        aws_sdk_connect::Client::new(&self.config)
    }

    /// CloudTrail client.
    pub(crate) fn cloudtrail(&self) -> aws_sdk_cloudtrail::Client {
        aws_sdk_cloudtrail::Client::new(&self.config)
    }

    /// Rekognition client, with the attachment scanner's timeouts and retries.
    pub(crate) fn rekognition(&self) -> aws_sdk_rekognition::Client {
        attachment_scanner::aws::rekognition_client(
            aws_sdk_rekognition::config::Builder::from(&self.config),
            &attachment_scanner::aws::ClientLimits::default(),
        )
    }

    /// STS client.
    pub(crate) fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    /// The caller's ARN (best effort: `None` when STS does not answer), for the created-by tag.
    pub(crate) async fn caller_arn(&self) -> Option<String> {
        self.sts().get_caller_identity().send().await.ok().and_then(|o| o.arn)
    }

    /// CloudFormation client (reads the deployed stack's outputs).
    pub(crate) fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    /// The region in use.
    pub(crate) fn region(&self) -> String {
        self.config.region().map(|r| r.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_region_names() {
        for r in ["us-east-1", "eu-west-2", "us-gov-west-1", "ap-southeast-4"] {
            assert!(check_region(r).is_ok(), "{r}");
        }
    }

    #[test]
    fn rejects_malformed_region_names() {
        for r in ["", "us_east_1", "US-EAST-1", "useast1", "eu-west", "eu--west-1"] {
            assert!(check_region(r).is_err(), "{r}");
        }
    }
}
