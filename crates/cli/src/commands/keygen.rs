//! `secure-ivr keygen`.

use crate::commands::Outcome;
use crate::commands::new_key::{Destination, KeyOptions, create_key, preflight_names, preflight_outputs};
use crate::error::{CliError, Result};
use crate::output::emit;
use crate::{Ctx, connect, store};

/// Generate a key pair and certificate in memory.
///
/// With --instance-id the public key is associated with the Connect instance and the private key
/// stored as a SecureString under <prefix><KeyId>. Without it the private key is stored as pending
/// under <prefix>pending/<fingerprint>; add the printed public key in the Connect console, then run
/// `secure-ivr activate`. The private key is encrypted under the stack's KMS key (output
/// KeyParametersKmsKeyArn of --stack) unless --kms-key-id names one. With --no-store nothing
/// touches AWS (give --private-key-out).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance ID or instance ARN to associate the new key with.
    #[arg(long, value_name = "ID", conflicts_with = "no_store")]
    pub(crate) instance_id: Option<String>,
    /// Do not store the private key in SSM (offline use; requires --private-key-out).
    #[arg(long, requires = "private_key_out")]
    pub(crate) no_store: bool,
    #[command(flatten)]
    pub(crate) key: KeyOptions,
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    if args.no_store && args.key.private_key_out.is_none() {
        return Err(CliError::input("--no-store would lose the private key", "add --private-key-out FILE"));
    }
    preflight_outputs(&args.key)?;
    let created = if args.no_store {
        create_key(None, Destination::Nowhere, &args.key, None).await?
    } else {
        // Everything that can refuse runs before the key is generated: names, KMS key, Connect's limit.
        let aws = ctx.aws.load().await?;
        let instance = match &args.instance_id {
            Some(i) => Some(connect::instance_id(i, &aws.region())?),
            None => None,
        };
        let dest = match &instance {
            Some(i) => Destination::Connect(i),
            None => Destination::Pending,
        };
        preflight_names(&aws, &dest)?;
        let kms = store::kms_for_new(&aws, args.key.kms_key_id.as_deref(), &args.key.stack).await?;
        if let Some(i) = &instance {
            connect::ensure_room(&aws.connect(), i).await?;
        }
        create_key(Some(&aws), dest, &args.key, Some(&kms)).await?
    };
    emit(ctx.output, &created)?;
    Ok(Outcome::Done)
}
