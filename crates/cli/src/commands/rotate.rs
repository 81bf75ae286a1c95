//! `secure-ivr rotate`.

use serde::Serialize;

use crate::commands::Outcome;
use crate::commands::new_key::{CreatedKey, Destination, KeyOptions, create_key, preflight_names, preflight_outputs};
use crate::error::Result;
use crate::flow_update::{self, FlowUpdates, Target};
use crate::output::emit;
use crate::{Ctx, connect, store};

/// Create and associate a new key while the old one stays live (Connect allows two per instance).
///
/// Afterwards the flows' Store customer input blocks need the new key ID and certificate:
/// --update-flows does that for every flow and flow module of the instance; without it, render
/// and publish the flow by hand. Let in-flight contacts finish, then `secure-ivr retire` the old key.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance ID or instance ARN.
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: String,
    /// Also move every flow and flow module that encrypts with the instance's other key to the
    /// new key ID and certificate (UpdateContactFlowContent, UpdateContactFlowModuleContent). The
    /// old key stays associated until `retire`, so calls in progress still decrypt.
    #[arg(long)]
    pub(crate) update_flows: bool,
    /// With --update-flows: generate no key and change nothing; show which flows would change.
    #[arg(long, requires = "update_flows")]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) key: KeyOptions,
}

/// The result.
#[derive(Debug, Serialize)]
pub(crate) struct Rotated {
    /// The new key.
    pub(crate) new_key: CreatedKey,
    /// Keys that stay live until retired.
    pub(crate) previous_key_ids: Vec<String>,
    /// What --update-flows changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flows: Option<FlowUpdates>,
    /// What to do next.
    pub(crate) next_steps: Vec<String>,
}

impl std::fmt::Display for Rotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.new_key)?;
        writeln!(
            f,
            "still live: {}",
            if self.previous_key_ids.is_empty() { "-".into() } else { self.previous_key_ids.join(", ") }
        )?;
        if let Some(flows) = &self.flows {
            write!(f, "{flows}")?;
        }
        writeln!(f, "next:")?;
        for (i, s) in self.next_steps.iter().enumerate() {
            writeln!(f, "  {}. {s}", i + 1)?;
        }
        Ok(())
    }
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    if args.dry_run {
        return dry_run(ctx, &args).await;
    }
    preflight_outputs(&args.key)?;
    let aws = ctx.aws.load().await?;
    let instance = connect::instance_id(&args.instance_id, &aws.region())?;
    let dest = Destination::Connect(&instance);
    preflight_names(&aws, &dest)?;
    let kms = store::kms_for_new(&aws, args.key.kms_key_id.as_deref(), &args.key.stack).await?;
    let existing = connect::ensure_room(&aws.connect(), &instance).await?;
    let new_key = create_key(Some(&aws), dest, &args.key, Some(&kms)).await?;
    let new_id = new_key.key_id.clone().unwrap_or_default();
    let previous: Vec<String> = existing.into_iter().map(|k| k.key_id).collect();
    let flows = if args.update_flows && !previous.is_empty() {
        let to = Target {
            key_id: &new_id,
            certificate_pem: Some(&new_key.certificate_pem),
            connect_fingerprint: Some(&new_key.fingerprint),
        };
        let updated = flow_update::update_flows(&aws.connect(), &instance, &previous, &to, false).await.map_err(|e| {
            let hint = e.hint.clone().map(|h| format!("{h}. ")).unwrap_or_default();
            e.with_hint(format!(
                "{hint}Key {new_id} was created and associated; once fixed, move the flows with: secure-ivr retire --instance-id {instance} --key-id {} --update-flows --certificate {new_id}.cert.pem --dry-run (then without --dry-run)",
                previous.join(",")
            ))
        })?;
        Some(updated)
    } else {
        None
    };
    let mut next = if flows.is_some() {
        vec![format!(
            "flows deployed by cloudformation/secure-ivr-flows.yaml: update that stack's KeyId ({new_id}) and Certificate parameters too, or its next update puts the old key back"
        )]
    } else {
        vec![
            format!(
                "render the flow: secure-ivr flow --template FLOW.json --key-id {new_id} --certificate {new_id}.cert.pem --lambda-arn ARN"
            ),
            "import and publish the flow (or paste the key ID and certificate into the Store customer input block), or run rotate with --update-flows next time".into(),
        ]
    };
    for old in &previous {
        next.push(format!(
            "after in-flight contacts finish: secure-ivr retire --instance-id {} --key-id {old}",
            instance
        ));
    }
    emit(ctx.output, &Rotated { new_key, previous_key_ids: previous, flows, next_steps: next })?;
    Ok(Outcome::Done)
}

/// `--update-flows --dry-run`: no key is generated; the flows that would move, with the new key
/// shown as a stand-in.
async fn dry_run(ctx: &Ctx, args: &Args) -> Result<Outcome> {
    let aws = ctx.aws.load().await?;
    let instance = connect::instance_id(&args.instance_id, &aws.region())?;
    let existing = connect::ensure_room(&aws.connect(), &instance).await?;
    let previous: Vec<String> = existing.into_iter().map(|k| k.key_id).collect();
    let flows =
        flow_update::update_flows(&aws.connect(), &instance, &previous, &Target::not_yet_created(), true).await?;
    emit(ctx.output, &flows)?;
    Ok(Outcome::Done)
}
