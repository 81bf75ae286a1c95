//! `secure-ivr`: key management for Amazon Connect encrypted customer input.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod aws;
mod cert;
mod commands;
mod connect;
mod connect_flows_api;
mod duration;
mod error;
mod files;
mod flow_update;
mod iam;
mod key_status;
mod keymat;
mod kms;
mod output;
mod stack;
mod store;
mod trail;

use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};

use crate::aws::AwsArgs;
use crate::commands::{
    activate, audit, check, decrypt, encrypt, flow, flow_audit, inspect, keygen, list, retire, rotate, scan,
};
use crate::output::Format;

/// Key management for Amazon Connect's encrypted customer input: generate and rotate the RSA keys,
/// keep the private keys in SSM Parameter Store, and inspect, encrypt, decrypt and audit.
#[derive(Debug, Parser)]
#[command(name = "secure-ivr", version, after_help = error::EXIT_CODES_HELP, max_term_width = 110)]
struct Cli {
    #[command(flatten)]
    aws: AwsArgs,
    /// Result format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    output: Format,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate an RSA key pair and certificate; associate it with Connect and store the private key.
    Keygen(keygen::Args),
    /// Move a pending key under the key ID Connect assigned to it.
    Activate(activate::Args),
    /// List stored keys joined with the instance's Connect keys; flag mismatches and expiry.
    List(list::Args),
    /// Create and associate a new key while the old one stays live.
    Rotate(rotate::Args),
    /// Disassociate a key from Connect and retire (label, or delete) its private key.
    Retire(retire::Args),
    /// Describe a ciphertext; with --private-key, verify it fully without printing it.
    Inspect(inspect::Args),
    /// Encrypt as Connect's Store customer input block does.
    Encrypt(encrypt::Args),
    /// Decrypt a ciphertext; prints the Lambda's masked, validated fields unless --reveal.
    Decrypt(decrypt::Args),
    /// Who read the private keys: CloudTrail SSM reads and KMS decrypts on the prefix.
    Audit(audit::Args),
    /// Render a contact flow template with the key ID, certificate and Lambda ARN.
    Flow(flow::Args),
    /// Audit every flow and module of an instance: how each captures input, and where it goes.
    FlowAudit(flow_audit::Args),
    /// Preflight: credentials, region, keys readable, certificates valid, Connect consistent.
    Check(check::Args),
    /// Check a file as the attachment scanner does; exit 9 when it is rejected.
    Scan(scan::Args),
}

/// What every command gets.
pub(crate) struct Ctx {
    /// Shared AWS flags.
    pub(crate) aws: AwsArgs,
    /// Output format.
    pub(crate) output: Format,
    /// Verbosity.
    pub(crate) verbose: u8,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Ctx { aws: cli.aws, output: cli.output, verbose: cli.verbose };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(error::Exit::Internal as u8);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Keygen(a) => keygen::run(&ctx, a).await,
            Command::Activate(a) => activate::run(&ctx, a).await,
            Command::List(a) => list::run(&ctx, a).await,
            Command::Rotate(a) => rotate::run(&ctx, a).await,
            Command::Retire(a) => retire::run(&ctx, a).await,
            Command::Inspect(a) => inspect::run(&ctx, a),
            Command::Encrypt(a) => encrypt::run(&ctx, a),
            Command::Decrypt(a) => decrypt::run(&ctx, a).await,
            Command::Audit(a) => audit::run(&ctx, a).await,
            Command::Flow(a) => flow::run(&ctx, a),
            Command::FlowAudit(a) => flow_audit::run(&ctx, a).await,
            Command::Check(a) => check::run(&ctx, a).await,
            Command::Scan(a) => scan::run(&ctx, a).await,
        }
    });
    match result {
        Ok(commands::Outcome::Done) => ExitCode::SUCCESS,
        Ok(commands::Outcome::Findings) => ExitCode::from(error::Exit::Findings as u8),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
