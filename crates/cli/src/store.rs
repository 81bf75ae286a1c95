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

use crate::aws::Aws;
use crate::error::{self, CliError, Exit, Result};
use crate::output::progress;
use crate::stack::StackArgs;

/// Tag: SHA-256 fingerprint of the public key.
pub(crate) const TAG_FINGERPRINT: &str = "secure-ivr:fingerprint";
/// Tag: certificate notAfter (RFC 3339).
pub(crate) const TAG_CERT_NOT_AFTER: &str = "secure-ivr:certificate-not-after";
/// Tag: the principal that created the key.
pub(crate) const TAG_CREATED_BY: &str = "secure-ivr:created-by";
/// Tag: `active`, `pending` or `retired`.
pub(crate) const TAG_STATUS: &str = "secure-ivr:status";
/// Tag: when a retired key may be deleted (RFC 3339).
pub(crate) const TAG_RETIRE_AFTER: &str = "secure-ivr:delete-after";
/// Tag: RSA modulus size.
pub(crate) const TAG_BITS: &str = "secure-ivr:bits";
/// Parameter label put on the version a retired key had.
pub(crate) const RETIRED_LABEL: &str = "retired";

fn not_a_key_id(key_id: &str) -> CliError {
    CliError::input(
        format!("{key_id:?} is not a Connect key ID"),
        "give the key ID (association ID) Connect shows under Security keys, for example from `secure-ivr list`",
    )
}

/// Refuses key IDs that could escape the prefix or are not what Connect issues
/// ([`keystore::validate_key_id`]).
pub(crate) fn check_key_id(key_id: &str) -> Result<()> {
    keystore::validate_key_id(key_id).map_err(|_| not_a_key_id(key_id))
}

/// Parameter name for a key ID ([`keystore::parameter_name`]).
pub(crate) fn name_for_key(prefix: &str, key_id: &str) -> Result<String> {
    keystore::parameter_name(prefix, key_id).map_err(|e| match e {
        keystore::KeyStoreError::InvalidKeyId => not_a_key_id(key_id),
        other => CliError::bare(Exit::Config, other.to_string()),
    })
}

/// Parameter name for a pending key: `<prefix>pending/<fingerprint>`
/// ([`keystore::pending_parameter_name`]).
pub(crate) fn name_for_pending(prefix: &str, fingerprint: &str) -> Result<String> {
    let fingerprint = keystore::Fingerprint::parse(fingerprint).ok_or_else(|| {
        CliError::input(
            format!("{fingerprint:?} is not a key fingerprint"),
            "give the 64-hex-digit fingerprint `secure-ivr keygen` printed (also in `secure-ivr list`)",
        )
    })?;
    keystore::pending_parameter_name(prefix, &fingerprint).map_err(|e| CliError::bare(Exit::Config, e.to_string()))
}

/// SSM's `TagKey` and `TagValue` pattern (botocore `ssm/2014-11-06` service-2.json).
const TAG_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";
/// `TagKey`: 1 to 128 characters.
const MAX_TAG_KEY_CHARS: usize = 128;
/// `TagValue`: 0 to 256 characters.
const MAX_TAG_VALUE_CHARS: usize = 256;
/// SSM allows at most 50 tags on a parameter; the tool sets [`OWN_TAGS`] of them itself.
pub(crate) const MAX_TAGS: usize = 50;
/// How many `secure-ivr:` tags a stored key carries.
pub(crate) const OWN_TAGS: usize = 5;

/// Checks a user tag against SSM's `TagKey`/`TagValue` shapes (characters and lengths) and the
/// `aws:` prefix AWS reserves, so a bad tag is refused before any key is generated.
pub(crate) fn check_tag(key: &str, value: &str) -> std::result::Result<(), String> {
    // The pattern is a constant; it compiles or every test fails.
    let pattern = regex::Regex::new(TAG_PATTERN).map_err(|e| format!("internal: tag pattern: {e}"))?;
    let allowed = "letters, digits, spaces and _ . : / = + - @";
    let key_chars = key.chars().count();
    if key_chars == 0 || key_chars > MAX_TAG_KEY_CHARS {
        return Err(format!("tag key {key:?} has {key_chars} characters; SSM allows 1 to {MAX_TAG_KEY_CHARS}"));
    }
    if !pattern.is_match(key) {
        return Err(format!("tag key {key:?} has a character SSM refuses; tag keys may contain {allowed}"));
    }
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(format!("tag key {key:?} begins with aws:, which AWS reserves"));
    }
    if key.starts_with("secure-ivr:") {
        return Err("tags starting secure-ivr: are set by the tool".into());
    }
    let value_chars = value.chars().count();
    if value_chars > MAX_TAG_VALUE_CHARS {
        return Err(format!(
            "the value of tag {key:?} has {value_chars} characters; SSM allows at most {MAX_TAG_VALUE_CHARS}"
        ));
    }
    if !pattern.is_match(value) {
        return Err(format!("the value of tag {key:?} has a character SSM refuses; tag values may contain {allowed}"));
    }
    Ok(())
}

/// A value the tool derives (the caller's ARN, whose role session name may hold `,`) made to fit
/// `TagValue`: characters outside SSM's set become `_`, and it is cut to 256 characters.
pub(crate) fn fit_tag_value(value: &str) -> String {
    let one = regex::Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]$").ok();
    let mut buf = [0u8; 4];
    value
        .chars()
        .take(MAX_TAG_VALUE_CHARS)
        .map(|c| if one.as_ref().is_some_and(|r| r.is_match(c.encode_utf8(&mut buf))) { c } else { '_' })
        .collect()
}

/// Checks a parameter name against SSM's naming rules ([`keystore::check_parameter_name`]).
/// `what` says where the name comes from, for the hint.
pub(crate) fn check_name(name: &str, region: &str) -> Result<()> {
    keystore::check_parameter_name(name, region).map_err(|e| {
        CliError::new(
            Exit::Config,
            format!("SSM would refuse the parameter name {name} ({e}); no key was generated"),
            "choose a --prefix (or SECURE_IVR_PREFIX) that does not begin with aws or ssm, has few enough levels and is shorter",
        )
    })
}

/// The KMS key a new or moved key parameter is encrypted under, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KmsChoice {
    /// Key ID, ARN or alias, as passed to PutParameter.
    pub(crate) key_id: String,
    /// `--kms-key-id`, `stack NAME` or `pending parameter`.
    pub(crate) source: String,
}

/// `ParameterKeyId`: 1 to 256 of `a-zA-Z0-9:/_-` (botocore `ssm/2014-11-06`).
fn check_kms_key_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CliError::new(
            Exit::Config,
            format!("--kms-key-id {id:?} is not a KMS key ID, key ARN or alias"),
            "give the stack's key (omit --kms-key-id and pass --stack NAME), or a key ARN, key ID or alias/NAME",
        ))
    }
}

/// Whether a key ID names the AWS managed key `aws/ssm` (by alias or alias ARN). A bare key ID of
/// that key cannot be recognised without a KMS call, which the key policies here do not allow.
pub(crate) fn is_aws_ssm_key(id: &str) -> bool {
    let alias = id.rsplit_once(':').map_or(id, |(_, tail)| tail);
    alias.eq_ignore_ascii_case("alias/aws/ssm") || id.eq_ignore_ascii_case("aws/ssm")
}

/// The warning printed whenever a key goes under `aws/ssm`.
pub(crate) fn warn_aws_ssm(id: &str) {
    progress(format!(
        "warning: {id} is the AWS managed key aws/ssm: its key policy lets every principal in the account use it \
         through SSM, so every principal with ssm:GetParameter on the key parameters can read the private keys. \
         The stack's own key (the default, from --stack) allows only the function role to decrypt."
    ));
}

/// The KMS key for a new key: `--kms-key-id` when given (`alias/aws/ssm` only with a warning),
/// else the stack's `KeyParametersKmsKeyArn`. Never SSM's default: without a usable key this is an
/// error naming `--kms-key-id` and `--stack`.
pub(crate) async fn kms_for_new(aws: &Aws, explicit: Option<&str>, stack: &StackArgs) -> Result<KmsChoice> {
    if let Some(id) = explicit {
        let id = id.trim();
        check_kms_key_id(id)?;
        if is_aws_ssm_key(id) {
            warn_aws_ssm(id);
        }
        return Ok(KmsChoice { key_id: id.to_owned(), source: "--kms-key-id".into() });
    }
    let outputs = stack
        .outputs(aws, "--kms-key-id KEY (the KMS key whose policy lets the function role decrypt the keys)")
        .await?;
    let id = outputs.key_parameters_kms_key_arn;
    check_kms_key_id(&id).map_err(|e| {
        e.with_hint(format!(
            "stack {} has an unusable KeyParametersKmsKeyArn; pass --kms-key-id KEY",
            outputs.stack_name
        ))
    })?;
    if is_aws_ssm_key(&id) {
        warn_aws_ssm(&id);
    }
    if keystore::normalize_prefix(&outputs.key_parameter_prefix).ok().as_deref() != Some(aws.prefix.as_str()) {
        progress(format!(
            "warning: --prefix {} differs from stack {}'s KeyParameterPrefix {}: the function reads keys only under its own prefix",
            aws.prefix, outputs.stack_name, outputs.key_parameter_prefix
        ));
    }
    progress(format!(
        "KMS key for the key parameters: {id} (output KeyParametersKmsKeyArn of stack {})",
        outputs.stack_name
    ));
    Ok(KmsChoice { key_id: id, source: format!("stack {}", outputs.stack_name) })
}

/// The key part of a KMS key reference, for comparing two references to one key: the key ID of
/// a key ARN or bare ID, `alias/NAME` of an alias or alias ARN.
fn kms_key_part(id: &str) -> String {
    let tail = if id.starts_with("arn:") { id.splitn(6, ':').nth(5).unwrap_or(id) } else { id };
    tail.strip_prefix("key/").unwrap_or(tail).to_owned()
}

/// Whether two KMS key references surely name the same key (`Some(true)`), surely differ
/// (`Some(false)`), or cannot be told apart without KMS (`None`: an alias and a key ID).
pub(crate) fn same_kms_key(a: &str, b: &str) -> Option<bool> {
    if a == b {
        return Some(true);
    }
    let (pa, pb) = (kms_key_part(a), kms_key_part(b));
    let (alias_a, alias_b) = (pa.starts_with("alias/"), pb.starts_with("alias/"));
    if alias_a != alias_b {
        return None;
    }
    let arn_region = |id: &str| id.starts_with("arn:").then(|| id.split(':').nth(3).unwrap_or("").to_owned());
    if let (Some(ra), Some(rb)) = (arn_region(a), arn_region(b))
        && ra != rb
    {
        return Some(false);
    }
    Some(pa == pb)
}

/// What to store.
pub(crate) struct NewKey<'a> {
    /// Parameter name.
    pub(crate) name: &'a str,
    /// Private key PEM.
    pub(crate) pem: &'a str,
    /// KMS key for the SecureString: always named, never SSM's default.
    pub(crate) kms_key_id: &'a str,
    /// Parameter description.
    pub(crate) description: &'a str,
    /// Tags.
    pub(crate) tags: &'a BTreeMap<String, String>,
}

/// Stores a new SecureString; refuses to overwrite.
pub(crate) async fn put_new(ssm: &Client, key: &NewKey<'_>) -> Result<i64> {
    let mut req = ssm
        .put_parameter()
        .name(key.name)
        .value(key.pem)
        .r#type(ParameterType::SecureString)
        .description(key.description)
        .overwrite(false)
        .key_id(key.kms_key_id);
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
pub(crate) struct Fetched {
    /// PEM text, zeroized on drop.
    pub(crate) pem: Zeroizing<String>,
    /// Parameter version.
    pub(crate) version: i64,
}

/// Reads and decrypts one parameter through the key store ([`keystore::read_key`]), as the
/// Lambda reads it; the error says whether SSM refused the caller.
pub(crate) async fn read_private(ssm: &Client, name: &str) -> std::result::Result<Fetched, keystore::KeyStoreError> {
    let source = keystore::SsmParameterSource::new(ssm.clone());
    let fetched = keystore::read_key(&source, name).await?;
    Ok(Fetched { pem: fetched.pem, version: fetched.version.unwrap_or_default() })
}

/// Like [`read_private`], the error as a sentence with a next step.
pub(crate) async fn get_private(ssm: &Client, name: &str, region: &str) -> Result<Fetched> {
    read_private(ssm, name).await.map_err(|e| read_error(&e, name, region))
}

/// A key store read error as a sentence with a next step.
pub(crate) fn read_error(e: &keystore::KeyStoreError, name: &str, region: &str) -> CliError {
    match e {
        keystore::KeyStoreError::NotFound { .. } => CliError::new(
            Exit::NotFound,
            format!("no private key at {name} in region {region}"),
            "check the key ID, --prefix and --region (keys are per region); `secure-ivr list` shows the stored keys",
        ),
        keystore::KeyStoreError::AccessDenied { reason, .. } => CliError::new(
            Exit::Aws,
            format!("reading {name} from SSM failed: {reason}"),
            "the caller's IAM policy (or the KMS key's policy) does not allow this; see the README's IAM section, or use --profile for an authorised role",
        ),
        keystore::KeyStoreError::CredentialsRejected(why) => CliError::new(
            Exit::Config,
            format!("reading {name} from SSM failed: {why}"),
            "the credentials are invalid or expired; refresh them (aws sso login, new session) or pick another --profile",
        ),
        other => CliError::new(
            Exit::Aws,
            format!("reading {name} from SSM failed: {other}"),
            "check the network, --region and --endpoint-url (and AWS_ENDPOINT_URL* variables); rerun with -v",
        ),
    }
}

/// One stored key as listed (nothing decrypted).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Stored {
    /// Parameter name.
    pub(crate) name: String,
    /// Connect key ID, or None for a pending key.
    pub(crate) key_id: Option<String>,
    /// Parameter version.
    pub(crate) version: i64,
    /// Last modified (RFC 3339).
    pub(crate) last_modified: Option<String>,
    /// Tags.
    pub(crate) tags: BTreeMap<String, String>,
}

impl Stored {
    /// A tag value.
    pub(crate) fn tag(&self, k: &str) -> Option<&str> {
        self.tags.get(k).map(String::as_str)
    }
}

/// Lists the keys under the prefix (values not decrypted) with their tags
/// ([`keystore::list_keys`]: the key store says which names are keys).
pub(crate) async fn list(ssm: &Client, prefix: &str) -> Result<Vec<Stored>> {
    let source = keystore::SsmParameterSource::new(ssm.clone());
    let listed = keystore::list_keys(&source, prefix).await.map_err(|e| match e {
        keystore::KeyStoreError::CredentialsRejected(why) => CliError::new(
            Exit::Config,
            format!("listing parameters under {prefix} failed: {why}"),
            "the credentials are invalid or expired; refresh them (aws sso login, new session) or pick another --profile",
        ),
        e => CliError::new(
            Exit::Aws,
            format!("listing parameters under {prefix} failed: {e}"),
            "check the caller's ssm:GetParametersByPath permission, --region and --endpoint-url",
        ),
    })?;
    let mut keys = Vec::with_capacity(listed.len());
    for k in listed {
        let tags = tags(ssm, &k.info.name).await?;
        keys.push(Stored {
            key_id: k.key_id,
            version: k.info.version.unwrap_or_default(),
            last_modified: k.info.last_modified.map(|t| crate::output::rfc3339(time::OffsetDateTime::from(t))),
            tags,
            name: k.info.name,
        });
    }
    Ok(keys)
}

/// A parameter's tags.
pub(crate) async fn tags(ssm: &Client, name: &str) -> Result<BTreeMap<String, String>> {
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
pub(crate) async fn add_tags(ssm: &Client, name: &str, tags: &BTreeMap<String, String>) -> Result<()> {
    let mut req = ssm.add_tags_to_resource().resource_type(ResourceTypeForTagging::Parameter).resource_id(name);
    for (k, v) in tags {
        req = req.tags(tag(k, v)?);
    }
    req.send().await.map(|_| ()).map_err(|e| error::aws(&format!("tagging {name}"), e))
}

/// Labels a parameter version.
pub(crate) async fn label(ssm: &Client, name: &str, version: i64, label: &str) -> Result<()> {
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
pub(crate) async fn delete(ssm: &Client, name: &str) -> Result<()> {
    ssm.delete_parameter().name(name).send().await.map(|_| ()).map_err(|e| error::aws(&format!("deleting {name}"), e))
}

/// The KMS key a SecureString parameter uses, if SSM reports it.
pub(crate) async fn kms_key_of(ssm: &Client, name: &str) -> Result<Option<String>> {
    use aws_sdk_ssm::types::ParameterStringFilter;
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .map_err(|e| CliError::bare(Exit::Internal, format!("filter: {e}")))?;
    // SSM may answer a filtered DescribeParameters with an empty page and a NextToken: follow the
    // pages (a name filter matches at most one parameter, so this ends quickly).
    let mut pages = ssm.describe_parameters().parameter_filters(filter).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| error::aws(&format!("describing {name}"), e))?;
        if let Some(p) = page.parameters().iter().find(|p| p.name() == Some(name)) {
            return Ok(p.key_id().map(str::to_owned));
        }
    }
    Ok(None)
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

    #[test]
    fn tags_follow_ssm_shapes() {
        for (k, v) in
            [("team", "security"), ("cost-centre", "CC 12/3"), ("Ünïcode", "日本語 = ok"), ("k", ""), ("a@b.c", "+:/")]
        {
            assert_eq!(check_tag(k, v), Ok(()), "{k}={v}");
        }
        for (k, v) in [
            ("", "v"),
            ("team", "semi;colon"),
            ("team", "quote\""),
            ("tab", "a\tb"),
            ("new\nline", "v"),
            ("aws:owner", "x"),
            ("AWS:owner", "x"),
            ("secure-ivr:status", "active"),
            ("star*", "v"),
        ] {
            assert!(check_tag(k, v).is_err(), "{k:?}={v:?}");
        }
        assert!(check_tag(&"k".repeat(128), "v").is_ok());
        assert!(check_tag(&"k".repeat(129), "v").is_err());
        assert!(check_tag("k", &"é".repeat(256)).is_ok(), "characters, not bytes");
        assert!(check_tag("k", &"v".repeat(257)).is_err());
    }

    #[test]
    fn derived_tag_values_are_made_to_fit() {
        let arn = "arn:aws:sts::111122223333:assumed-role/Ops/alice,bob@example.com";
        let fitted = fit_tag_value(arn);
        assert_eq!(fitted, "arn:aws:sts::111122223333:assumed-role/Ops/alice_bob@example.com");
        assert_eq!(check_tag("k", &fitted), Ok(()));
        assert_eq!(fit_tag_value(&"a".repeat(300)).chars().count(), 256);
    }

    #[test]
    fn recognises_aws_ssm_by_alias() {
        for id in ["alias/aws/ssm", "ALIAS/AWS/SSM", "arn:aws:kms:eu-west-2:111122223333:alias/aws/ssm", "aws/ssm"] {
            assert!(is_aws_ssm_key(id), "{id}");
        }
        for id in ["alias/secure-ivr/fn-keys", "arn:aws:kms:eu-west-2:111122223333:key/1234", "alias/aws/ssm-not"] {
            assert!(!is_aws_ssm_key(id), "{id}");
        }
    }

    #[test]
    fn compares_kms_key_references() {
        let arn = "arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(same_kms_key(arn, "1234abcd-12ab-34cd-56ef-1234567890ab"), Some(true));
        assert_eq!(same_kms_key(arn, "99999999-12ab-34cd-56ef-1234567890ab"), Some(false));
        assert_eq!(
            same_kms_key(arn, "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            Some(false)
        );
        assert_eq!(same_kms_key("alias/a", "arn:aws:kms:eu-west-2:111122223333:alias/a"), Some(true));
        assert_eq!(same_kms_key("alias/a", "alias/b"), Some(false));
        assert_eq!(same_kms_key("alias/a", arn), None);
    }
}
