//! `secure-ivr rotate`.

use serde::Serialize;

use crate::commands::Outcome;
use crate::commands::new_key::{CreatedKey, Destination, KeyOptions, create_key, preflight_names, preflight_outputs};
use crate::error::Result;
use crate::output::emit;
use crate::{Ctx, connect, store};

/// Create and associate a new key while the old one stays live (Connect allows two per instance).
///
/// Afterwards update the flow's Store customer input block to the new key ID and certificate,
/// publish it, let in-flight contacts finish, then `secure-ivr retire` the old key.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance ID or instance ARN.
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: String,
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
        writeln!(f, "next:")?;
        for (i, s) in self.next_steps.iter().enumerate() {
            writeln!(f, "  {}. {s}", i + 1)?;
        }
        Ok(())
    }
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
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
    let mut next = vec![
        format!(
            "render the flow: secure-ivr flow --template FLOW.json --key-id {new_id} --certificate {new_id}.cert.pem --lambda-arn ARN"
        ),
        "import and publish the flow (or paste the key ID and certificate into the Store customer input block)".into(),
    ];
    for old in &previous {
        next.push(format!(
            "after in-flight contacts finish: secure-ivr retire --instance-id {} --key-id {old}",
            instance
        ));
    }
    emit(ctx.output, &Rotated { new_key, previous_key_ids: previous, next_steps: next })?;
    Ok(Outcome::Done)
}
