//! Amazon Connect instance security keys (at most two per instance).

use aws_sdk_connect::Client;
use serde::Serialize;

use crate::error::{self, CliError, Exit, Result};

/// Connect's limit on security keys per instance.
pub(crate) const MAX_KEYS: usize = 2;

/// Longest instance ID the Connect API takes (`InstanceId`: 1 to 100 characters); real IDs are UUIDs.
const MAX_INSTANCE_ID_LEN: usize = 100;

/// The instance ID from what the user typed: an instance ID, or an instance ARN
/// (`arn:PARTITION:connect:REGION:ACCOUNT:instance/ID`, as the console and the stack's
/// `ConnectInstanceArn` show it). An ARN naming another region than the one in use is refused:
/// every call would go to the wrong region's Connect.
pub(crate) fn instance_id(input: &str, region: &str) -> Result<String> {
    let input = input.trim();
    let id = if input.starts_with("arn:") {
        let parts: Vec<&str> = input.splitn(6, ':').collect();
        let (service, arn_region, resource) = match parts.as_slice() {
            [_, _, service, arn_region, _, resource] => (*service, *arn_region, *resource),
            _ => ("", "", ""),
        };
        let Some(id) = resource.strip_prefix("instance/").filter(|_| service == "connect") else {
            return Err(CliError::input(
                format!("{input:?} is not a Connect instance ARN"),
                "give the instance ID or its ARN, arn:aws:connect:REGION:ACCOUNT:instance/ID (Connect console > instance > Overview)",
            ));
        };
        if arn_region != region {
            return Err(CliError::new(
                Exit::Config,
                format!("instance ARN {input} is in region {arn_region:?} but the commands run in {region}"),
                format!("pass --region {arn_region} (keys, Connect and the function live in the instance's region)"),
            ));
        }
        id
    } else {
        input
    };
    let ok =
        !id.is_empty() && id.len() <= MAX_INSTANCE_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(CliError::input(
            format!("{input:?} is not a Connect instance ID or ARN"),
            "give the instance ID (a UUID, the last part of the instance ARN) or the whole instance ARN",
        ))
    }
}

/// Refuses, before anything is generated, when the instance already holds [`MAX_KEYS`] keys;
/// returns the keys it holds.
pub(crate) async fn ensure_room(connect: &Client, instance_id: &str) -> Result<Vec<Associated>> {
    let existing = list(connect, instance_id).await?;
    if existing.len() >= MAX_KEYS {
        let oldest = existing
            .iter()
            .min_by(|a, b| a.created.cmp(&b.created))
            .map(|k| k.key_id.clone())
            .unwrap_or_else(|| "OLD_KEY_ID".into());
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "Connect instance {instance_id} already holds {} security keys, its limit of {MAX_KEYS}; no key was generated",
                existing.len()
            ),
            format!(
                "make sure no flow uses the older key, then: secure-ivr retire --instance-id {instance_id} --key-id {oldest}"
            ),
        ));
    }
    Ok(existing)
}

/// One key associated with the instance.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Associated {
    /// The key ID Connect assigned (the association ID).
    pub(crate) key_id: String,
    /// Fingerprint of the public key, if it parses.
    pub(crate) fingerprint: Option<String>,
    /// When it was associated (RFC 3339).
    pub(crate) created: Option<String>,
}

/// Associates a public key PEM; returns the key ID.
pub(crate) async fn associate(connect: &Client, instance_id: &str, public_pem: &str) -> Result<String> {
    match connect.associate_security_key().instance_id(instance_id).key(public_pem).send().await {
        Ok(out) => out
            .association_id
            .ok_or_else(|| CliError::bare(Exit::Aws, "Connect accepted the key but returned no association ID")),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_service_quota_exceeded_exception()) => Err(CliError::new(
            Exit::Refused,
            format!("Connect instance {instance_id} already holds {MAX_KEYS} security keys (its limit)"),
            "retire the older key first: `secure-ivr list --instance-id ID`, then `secure-ivr retire --instance-id ID --key-id OLD`",
        )),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Err(CliError::new(
            Exit::NotFound,
            format!("Connect has no instance {instance_id} in this region"),
            "check --instance-id and --region (the instance ID is the last part of the instance ARN)",
        )),
        Err(e) => Err(error::aws(&format!("associating a security key with instance {instance_id}"), e)),
    }
}

/// Every security key of the instance as Connect returns them (`ListSecurityKeys`, every page):
/// `list` and the flow rules (`connect_flows_api::security_keys`) both read them here.
pub(crate) async fn security_key_list(
    connect: &Client,
    instance_id: &str,
) -> Result<Vec<aws_sdk_connect::types::SecurityKey>> {
    connect
        .list_security_keys()
        .instance_id(instance_id)
        .into_paginator()
        .items()
        .send()
        .collect::<std::result::Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
                CliError::new(
                    Exit::NotFound,
                    format!("Connect has no instance {instance_id} in this region"),
                    "check --instance-id and --region",
                )
            } else {
                error::aws(&format!("listing the security keys of instance {instance_id}"), e)
            }
        })
}

/// Lists the instance's keys.
pub(crate) async fn list(connect: &Client, instance_id: &str) -> Result<Vec<Associated>> {
    let keys = security_key_list(connect, instance_id).await?;
    Ok(keys
        .into_iter()
        .filter_map(|k| {
            let key_id = k.association_id?;
            Some(Associated {
                fingerprint: k.key.as_deref().and_then(|pem| crate::keymat::fingerprint_public_pem(pem).ok()),
                created: k
                    .creation_time
                    .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.secs()).ok())
                    .map(crate::output::rfc3339),
                key_id,
            })
        })
        .collect())
}

/// Removes a key from the instance.
pub(crate) async fn disassociate(connect: &Client, instance_id: &str, key_id: &str) -> Result<()> {
    match connect.disassociate_security_key().instance_id(instance_id).association_id(key_id).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Err(CliError::new(
            Exit::NotFound,
            format!("Connect instance {instance_id} has no key {key_id}"),
            "`secure-ivr list --instance-id ID` shows the associated keys",
        )),
        Err(e) => Err(error::aws(&format!("disassociating key {key_id} from instance {instance_id}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11111111-2222-3333-4444-555555555555";

    #[test]
    fn takes_an_id_or_an_arn() {
        assert_eq!(instance_id(ID, "eu-west-2").ok().as_deref(), Some(ID));
        let arn = format!("arn:aws:connect:eu-west-2:111122223333:instance/{ID}");
        assert_eq!(instance_id(&arn, "eu-west-2").ok().as_deref(), Some(ID));
        let gov = format!("arn:aws-us-gov:connect:us-gov-west-1:111122223333:instance/{ID}");
        assert_eq!(instance_id(&gov, "us-gov-west-1").ok().as_deref(), Some(ID));
    }

    #[test]
    fn refuses_an_arn_from_another_region() {
        let arn = format!("arn:aws:connect:us-east-1:111122223333:instance/{ID}");
        let e = instance_id(&arn, "eu-west-2").expect_err("region mismatch");
        assert_eq!(e.exit, Exit::Config);
        assert!(e.hint.as_deref().is_some_and(|h| h.contains("--region us-east-1")));
    }

    #[test]
    fn refuses_what_is_neither() {
        for bad in [
            "",
            "a/b",
            "../x",
            "arn:aws:s3:::bucket",
            "arn:aws:connect:eu-west-2:111122223333:instance/",
            &format!("arn:aws:connect:eu-west-2:111122223333:instance/{ID}/contact-flow/x"),
            &format!("arn:aws:lambda:eu-west-2:111122223333:instance/{ID}"),
            &"a".repeat(101),
        ] {
            assert!(instance_id(bad, "eu-west-2").is_err(), "{bad}");
        }
    }
}
