//! `secure-ivr retire`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::commands::Outcome;
use crate::error::{CliError, Exit, Result};
use crate::flow_update::{self, FlowUpdates, Target};
use crate::key_status::KeyStatus;
use crate::output::{emit, progress, rfc3339};
use crate::{Ctx, connect, files, store};

/// Disassociate a key from Connect and retire its private key.
///
/// By default the private key is kept for a grace period (labelled `retired` and tagged with the
/// date after which it may go) so contacts encrypted just before can still be decrypted; --delete
/// removes it now. Refuses to retire the instance's last key without --force. With --update-flows,
/// every flow and flow module still encrypting with the key first moves to the instance's other
/// key (--certificate), so no call is left on a key Connect no longer has.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance ID or instance ARN.
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: String,
    /// The key ID to retire.
    #[arg(long, value_name = "ID")]
    pub(crate) key_id: String,
    /// Delete the private key now instead of keeping it for the grace period.
    #[arg(long)]
    pub(crate) delete: bool,
    /// Days to keep a retired private key.
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub(crate) grace_days: u32,
    /// Retire even if it is the instance's last key (all encrypted input will fail until a new key is live).
    #[arg(long)]
    pub(crate) force: bool,
    /// First move every flow and flow module that encrypts with this key to --to-key-id and
    /// --certificate (UpdateContactFlowContent, UpdateContactFlowModuleContent).
    #[arg(long, requires = "certificate")]
    pub(crate) update_flows: bool,
    /// With --update-flows: the certificate of the key the flows move to (KEY_ID.cert.pem from
    /// keygen or rotate); it must hold the public key Connect has for that key ID.
    #[arg(long, value_name = "FILE", requires = "update_flows")]
    pub(crate) certificate: Option<PathBuf>,
    /// With --update-flows: the key the flows move to (default: the instance's only other key).
    #[arg(long, value_name = "ID", requires = "update_flows")]
    pub(crate) to_key_id: Option<String>,
    /// With --update-flows: change nothing (no flow, no key, no parameter); show what would change.
    #[arg(long, requires = "update_flows")]
    pub(crate) dry_run: bool,
}

/// The result.
#[derive(Debug, Serialize)]
pub(crate) struct Retired {
    /// Key ID.
    pub(crate) key_id: String,
    /// Whether Connect held it and it was disassociated.
    pub(crate) disassociated: bool,
    /// `deleted`, `kept until <time>`, or `not found`.
    pub(crate) private_key: String,
    /// Keys still live in Connect.
    pub(crate) remaining_key_ids: Vec<String>,
    /// What --update-flows changed (or, with --dry-run, would change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flows: Option<FlowUpdates>,
    /// Nothing was changed.
    pub(crate) dry_run: bool,
}

impl std::fmt::Display for Retired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(flows) = &self.flows {
            write!(f, "{flows}")?;
        }
        if self.dry_run {
            return writeln!(f, "dry run: key {} not retired, nothing changed", self.key_id);
        }
        writeln!(f, "retired key {}", self.key_id)?;
        writeln!(f, "connect:     {}", if self.disassociated { "disassociated" } else { "was not associated" })?;
        writeln!(f, "private key: {}", self.private_key)?;
        writeln!(
            f,
            "still live:  {}",
            if self.remaining_key_ids.is_empty() { "NONE".into() } else { self.remaining_key_ids.join(", ") }
        )
    }
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, mut args: Args) -> Result<Outcome> {
    let aws = ctx.aws.load().await?;
    args.instance_id = connect::instance_id(&args.instance_id, &aws.region())?;
    let name = store::name_for_key(&aws.prefix, &args.key_id)?;
    let ssm = aws.ssm();
    let live = connect::list(&aws.connect(), &args.instance_id).await?;
    let associated = live.iter().any(|k| k.key_id == args.key_id);
    let remaining: Vec<String> = live.iter().filter(|k| k.key_id != args.key_id).map(|k| k.key_id.clone()).collect();
    let stored = store::tags(&ssm, &name).await.ok();
    if !associated && stored.is_none() {
        return Err(CliError::new(
            Exit::NotFound,
            format!(
                "key {} is neither associated with instance {} nor stored at {name}",
                args.key_id, args.instance_id
            ),
            "check the key ID, --instance-id, --prefix and --region; `secure-ivr list --instance-id ID` shows the keys",
        ));
    }
    if associated && remaining.is_empty() && !args.force {
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "key {} is the last key of instance {}; retiring it breaks every encrypted input",
                args.key_id, args.instance_id
            ),
            format!(
                "rotate first (secure-ivr rotate --instance-id {}), or pass --force if that is intended",
                args.instance_id
            ),
        ));
    }
    let flows = match &args.certificate {
        Some(path) if args.update_flows => Some(move_flows(&aws, &args, path, &live).await?),
        _ => None,
    };
    if args.dry_run {
        emit(
            ctx.output,
            &Retired {
                key_id: args.key_id,
                disassociated: false,
                private_key: "unchanged (dry run)".to_owned(),
                remaining_key_ids: remaining,
                flows,
                dry_run: true,
            },
        )?;
        return Ok(Outcome::Done);
    }
    if associated {
        progress(format!("disassociating {} from {} ...", args.key_id, args.instance_id));
        connect::disassociate(&aws.connect(), &args.instance_id, &args.key_id).await?;
    }
    let private_key = match stored {
        None => "not found".to_owned(),
        Some(_) if args.delete => {
            progress(format!("deleting {name} ..."));
            store::delete(&ssm, &name).await?;
            "deleted".to_owned()
        }
        Some(_) => {
            let fetched_version = ssm
                .get_parameter()
                .name(&name)
                .with_decryption(false)
                .send()
                .await
                .map_err(|e| crate::error::aws(&format!("reading {name}"), e))?
                .parameter
                .map(|p| p.version)
                .unwrap_or(1);
            let until = OffsetDateTime::now_utc() + Duration::days(i64::from(args.grace_days));
            store::label(&ssm, &name, fetched_version, store::RETIRED_LABEL).await?;
            let mut tags = BTreeMap::new();
            tags.insert(store::TAG_STATUS.to_owned(), KeyStatus::Retired.as_str().to_owned());
            tags.insert(store::TAG_RETIRE_AFTER.to_owned(), rfc3339(until));
            store::add_tags(&ssm, &name, &tags).await?;
            format!("kept until {} (then: secure-ivr retire --delete ...)", rfc3339(until))
        }
    };
    emit(
        ctx.output,
        &Retired {
            key_id: args.key_id,
            disassociated: associated,
            private_key,
            remaining_key_ids: remaining,
            flows,
            dry_run: false,
        },
    )?;
    Ok(Outcome::Done)
}

/// `--update-flows`: every flow and module on the retiring key moves to the other live key.
async fn move_flows(
    aws: &crate::aws::Aws,
    args: &Args,
    certificate: &std::path::Path,
    live: &[connect::Associated],
) -> Result<FlowUpdates> {
    let others: Vec<&connect::Associated> = live.iter().filter(|k| k.key_id != args.key_id).collect();
    let target = match (&args.to_key_id, others.as_slice()) {
        (Some(id), _) => others.iter().find(|k| k.key_id == *id).copied().ok_or_else(|| {
            CliError::new(
                Exit::Refused,
                format!("--to-key-id {id} is not another live key of instance {}", args.instance_id),
                "`secure-ivr list --instance-id ID` shows the associated keys",
            )
        })?,
        (None, [only]) => *only,
        (None, []) => {
            return Err(CliError::new(
                Exit::Refused,
                format!("instance {} has no other key for the flows to move to", args.instance_id),
                format!("rotate first: secure-ivr rotate --instance-id {} --update-flows", args.instance_id),
            ));
        }
        (None, _) => {
            return Err(CliError::new(
                Exit::Refused,
                format!("instance {} has several other keys", args.instance_id),
                "say which one the flows move to with --to-key-id",
            ));
        }
    };
    let pem = files::read_pem(certificate)?;
    let to = Target {
        key_id: &target.key_id,
        certificate_pem: Some(&pem),
        connect_fingerprint: target.fingerprint.as_deref(),
    };
    flow_update::update_flows(&aws.connect(), &args.instance_id, std::slice::from_ref(&args.key_id), &to, args.dry_run)
        .await
}
