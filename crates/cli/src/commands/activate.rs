//! `secure-ivr activate`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::commands::Outcome;
use crate::error::{CliError, Exit, Result};
use crate::key_status::KeyStatus;
use crate::output::{emit, progress};
use crate::stack::StackArgs;
use crate::{Ctx, connect, keymat, store};

/// Move a pending private key under the key ID Connect assigned to its public key.
///
/// Run after pasting the public key `keygen` printed into Connect (Security keys > Add key). The
/// key stays under the KMS key the pending parameter has; a different --kms-key-id is refused.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The key ID Connect shows for the added key.
    #[arg(long, value_name = "ID")]
    pub(crate) key_id: String,
    /// The fingerprint `keygen` printed.
    #[arg(long, value_name = "HEX")]
    pub(crate) fingerprint: String,
    /// Also check that this Connect instance (ID or ARN) holds the same public key under that ID.
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: Option<String>,
    /// KMS key for the activated parameter; default (and only choice) the pending parameter's key.
    /// Read from --stack only when SSM reports no key for the pending parameter.
    #[arg(long, value_name = "KEY")]
    pub(crate) kms_key_id: Option<String>,
    #[command(flatten)]
    pub(crate) stack: StackArgs,
}

/// The result.
#[derive(Debug, Serialize)]
pub(crate) struct Activated {
    /// Key ID.
    pub(crate) key_id: String,
    /// Fingerprint.
    pub(crate) fingerprint: String,
    /// New parameter.
    pub(crate) parameter: String,
    /// Its version.
    pub(crate) parameter_version: i64,
    /// KMS key of the activated parameter (the pending parameter's).
    pub(crate) kms_key_id: String,
    /// The removed pending parameter.
    pub(crate) removed_pending: String,
    /// Whether Connect's copy was compared.
    pub(crate) verified_with_connect: bool,
}

impl std::fmt::Display for Activated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "activated key {} (fingerprint {})", self.key_id, self.fingerprint)?;
        writeln!(f, "parameter:  {} (version {})", self.parameter, self.parameter_version)?;
        writeln!(f, "KMS key:    {}", self.kms_key_id)?;
        writeln!(f, "removed:    {}", self.removed_pending)?;
        if !self.verified_with_connect {
            writeln!(f, "note: pass --instance-id to confirm Connect holds the same public key under this ID")?;
        }
        Ok(())
    }
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let aws = ctx.aws.load().await?;
    let ssm = aws.ssm();
    let fingerprint = args.fingerprint.to_ascii_lowercase();
    let pending = store::name_for_pending(&aws.prefix, &fingerprint)?;
    let target = store::name_for_key(&aws.prefix, &args.key_id)?;
    store::check_name(&target, &aws.region())?;
    let instance = match &args.instance_id {
        Some(i) => Some(connect::instance_id(i, &aws.region())?),
        None => None,
    };
    let kms = kms_for_activation(&aws, &ssm, &pending, &args).await?;

    let fetched = store::get_private(&ssm, &pending, &aws.region()).await.map_err(|e| {
        e.with_hint("no pending key with that fingerprint; `secure-ivr list` shows pending keys and their fingerprints")
    })?;
    let stored = keymat::stored_key(&fetched.pem)?;
    if stored.fingerprint().as_str() != fingerprint {
        return Err(CliError::input(
            format!("the key stored at {pending} has fingerprint {}, not {fingerprint}", stored.fingerprint()),
            "the parameter was altered; generate a new key with `secure-ivr keygen`",
        ));
    }
    let verified = if let Some(instance) = &instance {
        let keys = connect::list(&aws.connect(), instance).await?;
        let Some(k) = keys.iter().find(|k| k.key_id == args.key_id) else {
            return Err(CliError::new(
                crate::error::Exit::NotFound,
                format!("Connect instance {instance} has no key {}", args.key_id),
                "check the key ID on the instance's Security keys page",
            ));
        };
        if k.fingerprint.as_deref() != Some(fingerprint.as_str()) {
            return Err(CliError::input(
                format!("Connect key {} holds a different public key than the pending key {fingerprint}", args.key_id),
                "paste the public key `keygen` printed for this fingerprint, or activate the matching fingerprint",
            ));
        }
        true
    } else {
        false
    };

    let mut tags: BTreeMap<String, String> = store::tags(&ssm, &pending).await?;
    tags.insert(store::TAG_STATUS.into(), KeyStatus::Active.as_str().into());
    progress(format!("storing {target} under KMS key {} ({}) ...", kms.key_id, kms.source));
    let version = store::put_new(
        &ssm,
        &store::NewKey {
            name: &target,
            pem: &fetched.pem,
            kms_key_id: &kms.key_id,
            description: "Amazon Connect customer input private key (secure-ivr)",
            tags: &tags,
        },
    )
    .await?;
    progress(format!("removing {pending} ..."));
    store::delete(&ssm, &pending).await?;
    emit(
        ctx.output,
        &Activated {
            key_id: args.key_id,
            fingerprint,
            parameter: target,
            parameter_version: version,
            kms_key_id: kms.key_id,
            removed_pending: pending,
            verified_with_connect: verified,
        },
    )?;
    Ok(Outcome::Done)
}

/// The pending parameter's own KMS key (DescribeParameters `KeyId`): the activated key is never
/// re-stored under another. `--kms-key-id` may only name the same key; when SSM reports none,
/// the key is chosen as `keygen` chooses it (`--kms-key-id`, else the stack's).
async fn kms_for_activation(
    aws: &crate::aws::Aws,
    ssm: &aws_sdk_ssm::Client,
    pending: &str,
    args: &Args,
) -> Result<store::KmsChoice> {
    let Some(current) = store::kms_key_of(ssm, pending).await? else {
        progress(format!("SSM reports no KMS key for {pending}; choosing one as keygen does"));
        return store::kms_for_new(aws, args.kms_key_id.as_deref(), &args.stack).await;
    };
    if let Some(asked) = args.kms_key_id.as_deref().map(str::trim) {
        match store::same_kms_key(asked, &current) {
            Some(true) => {}
            Some(false) => {
                return Err(CliError::new(
                    Exit::Refused,
                    format!(
                        "the pending key {pending} is encrypted under KMS key {current}, not {asked}; activate keeps a key under the KMS key it was created with"
                    ),
                    "omit --kms-key-id; to use another KMS key, generate a new key under it (secure-ivr keygen --kms-key-id KEY) and retire this one",
                ));
            }
            None => {
                return Err(CliError::new(
                    Exit::Refused,
                    format!(
                        "cannot tell whether --kms-key-id {asked} is the KMS key {current} of the pending key {pending} (an alias and a key ID)"
                    ),
                    format!("omit --kms-key-id (the pending key's {current} is used), or pass exactly {current}"),
                ));
            }
        }
    }
    if store::is_aws_ssm_key(&current) {
        store::warn_aws_ssm(&current);
    }
    Ok(store::KmsChoice { key_id: current, source: "the pending parameter's".into() })
}
