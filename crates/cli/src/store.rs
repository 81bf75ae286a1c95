//! Private keys in SSM Parameter Store, as SecureString parameters: the CLI's write paths.
//!
//! Layout under the prefix: `<prefix><KeyId>` for a key Connect knows (what the Lambda reads) and
//! `<prefix>pending/<fingerprint>` for a key waiting for its Connect key ID. Names, prefixes and
//! key IDs follow the `keystore` crate's rules, so the CLI writes exactly what the Lambda reads.
//! Tags carry the facts `list` and `check` need without decrypting anything.

use std::collections::BTreeMap;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterType, ResourceTypeForTagging, Tag};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{self, CliError, Exit, Result};

/// Tag: SHA-256 fingerprint of the public key.
pub const TAG_FINGERPRINT: &str = "secure-ivr:fingerprint";
/// Tag: certificate notAfter (RFC 3339).
pub const TAG_CERT_NOT_AFTER: &str = "secure-ivr:certificate-not-after";
/// Tag: the principal that created the key.
pub const TAG_CREATED_BY: &str = "secure-ivr:created-by";
/// Tag: `active`, `pending` or `retired`.
pub const TAG_STATUS: &str = "secure-ivr:status";
/// Tag: when a retired key may be deleted (RFC 3339).
pub const TAG_RETIRE_AFTER: &str = "secure-ivr:delete-after";
/// Tag: RSA modulus size.
pub const TAG_BITS: &str = "secure-ivr:bits";
/// Parameter label put on the version a retired key had.
pub const RETIRED_LABEL: &str = "retired";

fn not_a_key_id(key_id: &str) -> CliError {
    CliError::input(
        format!("{key_id:?} is not a Connect key ID"),
        "give the key ID (association ID) Connect shows under Security keys, for example from `secure-ivr list`",
    )
}

/// Refuses key IDs that could escape the prefix or are not what Connect issues
/// ([`keystore::validate_key_id`]).
pub fn check_key_id(key_id: &str) -> Result<()> {
    keystore::validate_key_id(key_id).map_err(|_| not_a_key_id(key_id))
}

/// Parameter name for a key ID ([`keystore::parameter_name`]).
pub fn name_for_key(prefix: &str, key_id: &str) -> Result<String> {
    keystore::parameter_name(prefix, key_id).map_err(|e| match e {
        keystore::KeyStoreError::InvalidKeyId => not_a_key_id(key_id),
        other => CliError::bare(Exit::Config, other.to_string()),
    })
}

/// Parameter name for a pending key: `<prefix>pending/<fingerprint>`.
pub fn name_for_pending(prefix: &str, fingerprint: &str) -> Result<String> {
    if fingerprint.len() != 64 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CliError::input(
            format!("{fingerprint:?} is not a key fingerprint"),
            "give the 64-hex-digit fingerprint `secure-ivr keygen` printed (also in `secure-ivr list`)",
        ));
    }
    let prefix = keystore::normalize_prefix(prefix).map_err(|e| CliError::bare(Exit::Config, e.to_string()))?;
    Ok(format!("{prefix}{}/{}", keystore::PENDING_LEVEL, fingerprint.to_ascii_lowercase()))
}

/// What to store.
pub struct NewKey<'a> {
    /// Parameter name.
    pub name: &'a str,
    /// Private key PEM.
    pub pem: &'a str,
    /// KMS key for the SecureString (None: the account's `alias/aws/ssm`).
    pub kms_key_id: Option<&'a str>,
    /// Parameter description.
    pub description: &'a str,
    /// Tags.
    pub tags: &'a BTreeMap<String, String>,
}

/// Stores a new SecureString; refuses to overwrite.
pub async fn put_new(ssm: &Client, key: &NewKey<'_>) -> Result<i64> {
    let mut req = ssm
        .put_parameter()
        .name(key.name)
        .value(key.pem)
        .r#type(ParameterType::SecureString)
        .description(key.description)
        .overwrite(false);
    if let Some(kms) = key.kms_key_id {
        req = req.key_id(kms);
    }
    for (k, v) in key.tags {
        req = req.tags(tag(k, v)?);
    }
    match req.send().await {
        Ok(out) => Ok(out.version()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_already_exists()) => Err(CliError::new(
            Exit::Refused,
            format!("a parameter named {} already exists; not overwriting a private key", key.name),
            "retire the old key first (`secure-ivr retire`), or use another --prefix",
        )),
        Err(e) => Err(error::aws(&format!("storing {} in SSM", key.name), e)),
    }
}

fn tag(k: &str, v: &str) -> Result<Tag> {
    Tag::builder().key(k).value(v).build().map_err(|e| CliError::bare(Exit::Internal, format!("tag {k}: {e}")))
}

/// A private key read from SSM.
pub struct Fetched {
    /// PEM text, zeroized on drop.
    pub pem: Zeroizing<String>,
    /// Parameter version.
    pub version: i64,
}

/// Reads and decrypts one parameter.
pub async fn get_private(ssm: &Client, name: &str, region: &str) -> Result<Fetched> {
    let out = match ssm.get_parameter().name(name).with_decryption(true).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => {
            return Err(CliError::new(
                Exit::NotFound,
                format!("no private key at {name} in region {region}"),
                "check the key ID, --prefix and --region (keys are per region); `secure-ivr list` shows the stored keys",
            ));
        }
        Err(e) => return Err(error::aws(&format!("reading {name} from SSM"), e)),
    };
    let mut p =
        out.parameter.ok_or_else(|| CliError::bare(Exit::Aws, format!("SSM returned no parameter for {name}")))?;
    let pem = Zeroizing::new(p.value.take().unwrap_or_default());
    Ok(Fetched { pem, version: p.version })
}

/// One stored key as listed (nothing decrypted).
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    /// Parameter name.
    pub name: String,
    /// Connect key ID, or None for a pending key.
    pub key_id: Option<String>,
    /// Parameter version.
    pub version: i64,
    /// Last modified (RFC 3339).
    pub last_modified: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Stored {
    /// A tag value.
    pub fn tag(&self, k: &str) -> Option<&str> {
        self.tags.get(k).map(String::as_str)
    }
}

/// Lists the keys under the prefix (values not decrypted) with their tags.
pub async fn list(ssm: &Client, prefix: &str) -> Result<Vec<Stored>> {
    let path = prefix.trim_end_matches('/');
    let pages = ssm
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(false)
        .into_paginator()
        .send()
        .collect::<std::result::Result<Vec<_>, _>>()
        .await
        .map_err(|e| error::aws(&format!("listing parameters under {prefix}"), e))?;
    let params = pages.into_iter().flat_map(|p| p.parameters.unwrap_or_default());
    let mut keys = Vec::new();
    for p in params {
        let Some(name) = p.name.clone() else { continue };
        let Some(rest) = name.strip_prefix(prefix) else { continue };
        let key_id = if rest.strip_prefix(keystore::PENDING_LEVEL).is_some_and(|r| r.starts_with('/')) {
            None
        } else if let Some(id) = keystore::key_id_from_parameter_name(prefix, &name) {
            Some(id.to_owned())
        } else {
            continue;
        };
        let tags = tags(ssm, &name).await?;
        keys.push(Stored {
            key_id,
            version: p.version,
            last_modified: p
                .last_modified_date
                .as_ref()
                .and_then(crate::output::from_smithy)
                .map(crate::output::rfc3339),
            tags,
            name,
        });
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(keys)
}

/// A parameter's tags.
pub async fn tags(ssm: &Client, name: &str) -> Result<BTreeMap<String, String>> {
    let out = ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .map_err(|e| error::aws(&format!("reading the tags of {name}"), e))?;
    Ok(out.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
}

/// Adds or replaces tags.
pub async fn add_tags(ssm: &Client, name: &str, tags: &BTreeMap<String, String>) -> Result<()> {
    let mut req = ssm.add_tags_to_resource().resource_type(ResourceTypeForTagging::Parameter).resource_id(name);
    for (k, v) in tags {
        req = req.tags(tag(k, v)?);
    }
    req.send().await.map(|_| ()).map_err(|e| error::aws(&format!("tagging {name}"), e))
}

/// Labels a parameter version.
pub async fn label(ssm: &Client, name: &str, version: i64, label: &str) -> Result<()> {
    ssm.label_parameter_version()
        .name(name)
        .parameter_version(version)
        .labels(label)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error::aws(&format!("labelling {name}"), e))
}

/// Deletes a parameter.
pub async fn delete(ssm: &Client, name: &str) -> Result<()> {
    ssm.delete_parameter().name(name).send().await.map(|_| ()).map_err(|e| error::aws(&format!("deleting {name}"), e))
}

/// The KMS key a SecureString parameter uses, if SSM reports it.
pub async fn kms_key_of(ssm: &Client, name: &str) -> Result<Option<String>> {
    use aws_sdk_ssm::types::ParameterStringFilter;
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .map_err(|e| CliError::bare(Exit::Internal, format!("filter: {e}")))?;
    let out = ssm
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .map_err(|e| error::aws(&format!("describing {name}"), e))?;
    Ok(out.parameters().iter().find(|p| p.name() == Some(name)).and_then(|p| p.key_id().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_cannot_escape_the_prefix() {
        for bad in ["", "../x", "a/b", "pending", "a b", "x\n"] {
            assert!(check_key_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_key_id("4e5a8f1c-1b2c-4d3e-9f00-0123456789ab").is_ok());
    }

    #[test]
    fn pending_names_need_a_full_fingerprint() {
        assert!(name_for_pending("/p/", "abc").is_err());
        let fp = "A".repeat(64);
        assert_eq!(name_for_pending("/p/", &fp).ok(), Some(format!("/p/pending/{}", "a".repeat(64))));
    }
}
