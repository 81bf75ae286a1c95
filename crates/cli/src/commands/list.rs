//! `secure-ivr list`.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::aws::Aws;
use crate::commands::Outcome;
use crate::connect::Associated;
use crate::error::Result;
use crate::key_status::KeyStatus;
use crate::output::emit;
use crate::store::{self, Stored};
use crate::{Ctx, connect};

/// List the private keys under the prefix, joined with the Connect instance's keys.
///
/// Flags a Connect key with no private key in SSM (every call with it fails), a private key with no
/// Connect association, and certificates expiring soon.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance (ID or ARN) to join with (ListSecurityKeys).
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: Option<String>,
    /// Flag certificates expiring within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub(crate) warn_days: u32,
}

/// One row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// Connect key ID (None for pending keys).
    pub(crate) key_id: Option<String>,
    /// `active`, `pending`, `retired`, or `connect-only`.
    pub(crate) status: KeyStatus,
    /// Public key fingerprint.
    pub(crate) fingerprint: Option<String>,
    /// When the parameter was last written or the Connect association made.
    pub(crate) created: Option<String>,
    /// Certificate expiry from the parameter's tag.
    pub(crate) certificate_not_after: Option<String>,
    /// Parameter name.
    pub(crate) parameter: Option<String>,
    /// Parameter version.
    pub(crate) parameter_version: Option<i64>,
    /// Whether Connect holds the key (None: no --instance-id given).
    pub(crate) in_connect: Option<bool>,
    /// Problems with this key.
    pub(crate) flags: Vec<String>,
}

/// The listing.
#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    /// Prefix listed.
    pub(crate) prefix: String,
    /// Region.
    pub(crate) region: String,
    /// Instance joined, if any.
    pub(crate) instance_id: Option<String>,
    /// Rows.
    pub(crate) keys: Vec<Row>,
}

impl std::fmt::Display for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "keys under {} in {}{}",
            self.prefix,
            self.region,
            match &self.instance_id {
                Some(i) => format!(", joined with Connect instance {i}"),
                None => String::new(),
            }
        )?;
        if self.keys.is_empty() {
            return writeln!(f, "(none)");
        }
        writeln!(
            f,
            "{:<38} {:<12} {:<18} {:<22} {:<8} FLAGS",
            "KEY ID", "STATUS", "FINGERPRINT", "CERT EXPIRES", "VERSION"
        )?;
        for r in &self.keys {
            writeln!(
                f,
                "{:<38} {:<12} {:<18} {:<22} {:<8} {}",
                r.key_id.as_deref().unwrap_or("-"),
                r.status,
                r.fingerprint.as_deref().map(|s| s.chars().take(16).collect::<String>()).unwrap_or_else(|| "-".into()),
                r.certificate_not_after.as_deref().unwrap_or("-"),
                r.parameter_version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                r.flags.join("; ")
            )?;
        }
        Ok(())
    }
}

/// Builds the joined listing (also used by `check`, `rotate` and `retire`).
pub(crate) async fn build(
    aws: &Aws,
    instance_id: Option<&str>,
    warn_days: u32,
) -> Result<(Listing, Vec<Stored>, Option<Vec<Associated>>)> {
    let instance = instance_id.map(|i| connect::instance_id(i, &aws.region())).transpose()?;
    let instance_id = instance.as_deref();
    let stored = store::list(&aws.ssm(), &aws.prefix).await?;
    let associated = match instance_id {
        Some(i) => Some(connect::list(&aws.connect(), i).await?),
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    for s in &stored {
        let status = KeyStatus::of_stored(s.tag(store::TAG_STATUS), s.key_id.is_some());
        let fingerprint = s.tag(store::TAG_FINGERPRINT).map(str::to_owned);
        let mut flags = Vec::new();
        let in_connect =
            associated.as_ref().map(|a| s.key_id.as_ref().is_some_and(|id| a.iter().any(|k| &k.key_id == id)));
        if in_connect == Some(false) && status == KeyStatus::Active {
            flags.push("private key has no Connect association".into());
        }
        if let Some(a) = &associated
            && let Some(k) = a.iter().find(|k| Some(&k.key_id) == s.key_id.as_ref())
            && k.fingerprint.is_some()
            && k.fingerprint != fingerprint
        {
            flags.push("Connect holds a different public key under this ID".into());
        }
        if status != KeyStatus::Retired
            && let Some(exp) = s.tag(store::TAG_CERT_NOT_AFTER).and_then(parse_time)
        {
            if exp < now {
                flags.push("certificate expired".into());
            } else if exp < now + Duration::days(i64::from(warn_days)) {
                flags.push(format!("certificate expires within {warn_days} days"));
            }
        }
        if status == KeyStatus::Retired
            && let Some(after) = s.tag(store::TAG_RETIRE_AFTER).and_then(parse_time)
            && after < now
        {
            flags.push("grace period over; delete with `retire --delete`".into());
        }
        rows.push(Row {
            key_id: s.key_id.clone(),
            status,
            fingerprint,
            created: s.last_modified.clone(),
            certificate_not_after: s.tag(store::TAG_CERT_NOT_AFTER).map(str::to_owned),
            parameter: Some(s.name.clone()),
            parameter_version: Some(s.version),
            in_connect,
            flags,
        });
    }
    if let Some(a) = &associated {
        for k in a {
            if !stored.iter().any(|s| s.key_id.as_ref() == Some(&k.key_id)) {
                rows.push(Row {
                    key_id: Some(k.key_id.clone()),
                    status: KeyStatus::ConnectOnly,
                    fingerprint: k.fingerprint.clone(),
                    created: k.created.clone(),
                    certificate_not_after: None,
                    parameter: None,
                    parameter_version: None,
                    in_connect: Some(true),
                    flags: vec!["no private key in SSM: calls with this key will fail".into()],
                });
            }
        }
    }
    let listing = Listing {
        prefix: aws.prefix.clone(),
        region: aws.region(),
        instance_id: instance_id.map(str::to_owned),
        keys: rows,
    };
    Ok((listing, stored, associated))
}

/// Parses an RFC 3339 tag value.
pub(crate) fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let aws = ctx.aws.load().await?;
    let (listing, _, _) = build(&aws, args.instance_id.as_deref(), args.warn_days).await?;
    emit(ctx.output, &listing)?;
    Ok(Outcome::Done)
}
