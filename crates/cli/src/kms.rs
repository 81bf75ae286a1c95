//! KMS lookups `check` needs: which key an ID or alias names, and the key's policy.

use crate::error::{self, CliError, Exit, Result};

/// Whether `id` is already a key ARN (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
pub(crate) fn is_key_arn(id: &str) -> bool {
    id.starts_with("arn:")
        && id.split(':').nth(2) == Some("kms")
        && id.split(':').nth(5).is_some_and(|r| r.starts_with("key/"))
}

/// The key ARN behind a key ID, key ARN, alias name (`alias/...`) or alias ARN, through
/// `kms:DescribeKey` (which resolves all four). A key ARN is returned as it is, without a call.
pub(crate) async fn key_arn(kms: &aws_sdk_kms::Client, id: &str) -> Result<String> {
    if is_key_arn(id) {
        return Ok(id.to_owned());
    }
    let out =
        kms.describe_key().key_id(id).send().await.map_err(|e| error::aws(&format!("resolving KMS key {id}"), e))?;
    out.key_metadata()
        .and_then(|m| m.arn())
        .map(str::to_owned)
        .ok_or_else(|| CliError::bare(Exit::Aws, format!("KMS returned no ARN for {id}")))
}

/// The key's policy (`kms:GetKeyPolicy`, policy name `default`, the only one KMS has).
pub(crate) async fn key_policy(kms: &aws_sdk_kms::Client, key_arn: &str) -> Result<String> {
    let out = kms
        .get_key_policy()
        .key_id(key_arn)
        .policy_name("default")
        .send()
        .await
        .map_err(|e| error::aws(&format!("reading the key policy of {key_arn}"), e))?;
    out.policy()
        .map(str::to_owned)
        .ok_or_else(|| CliError::bare(Exit::Aws, format!("KMS returned no policy for {key_arn}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_key_arns_skip_the_lookup() {
        assert!(is_key_arn("arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
        for other in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/secure-ivr/fn-keys",
            "arn:aws:kms:eu-west-2:111122223333:alias/secure-ivr/fn-keys",
            "alias/aws/ssm",
        ] {
            assert!(!is_key_arn(other), "{other}");
        }
    }
}
