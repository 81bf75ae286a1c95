//! Amazon Connect instance security keys (at most two per instance).

use aws_sdk_connect::Client;
use serde::Serialize;

use crate::error::{self, CliError, Exit, Result};

/// Connect's limit on security keys per instance.
pub const MAX_KEYS: usize = 2;

/// One key associated with the instance.
#[derive(Debug, Clone, Serialize)]
pub struct Associated {
    /// The key ID Connect assigned (the association ID).
    pub key_id: String,
    /// Fingerprint of the public key, if it parses.
    pub fingerprint: Option<String>,
    /// When it was associated (RFC 3339).
    pub created: Option<String>,
}

/// Associates a public key PEM; returns the key ID.
pub async fn associate(connect: &Client, instance_id: &str, public_pem: &str) -> Result<String> {
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

/// Lists the instance's keys.
pub async fn list(connect: &Client, instance_id: &str) -> Result<Vec<Associated>> {
    let keys = connect
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
        })?;
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
pub async fn disassociate(connect: &Client, instance_id: &str, key_id: &str) -> Result<()> {
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
