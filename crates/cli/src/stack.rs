//! `--stack`: the CloudFormation stack that deployed the function, and its outputs.
//!
//! One place reads the stack, so `keygen`, `rotate`, `activate` and `check` agree on which KMS key
//! encrypts the key parameters and which role the function runs as.
//!
//! Which statuses are accepted, and why:
//! - `CREATE_COMPLETE`, `UPDATE_COMPLETE`, `IMPORT_COMPLETE`: the stack is what its template says.
//! - `UPDATE_ROLLBACK_COMPLETE`: an update failed and CloudFormation put back the previous
//!   template's resources and outputs, which were working before the update; accepted, with a
//!   warning on stderr that the outputs are the previous template's.
//! - Refused: every `*_IN_PROGRESS` (outputs may change under us), every `*_FAILED` (resources in an
//!   unknown state), `ROLLBACK_COMPLETE` (creation failed; nothing usable remains, only deletion),
//!   `IMPORT_ROLLBACK_COMPLETE` (an import was undone; the imported resources are not managed),
//!   `DELETE_COMPLETE` (gone), and any status this build does not know.

use aws_sdk_cloudformation::types::{Stack, StackStatus};
use clap::Args;

use crate::aws::Aws;
use crate::error::{self, CliError, Exit, Result};
use crate::output::progress;

/// The stack name `scripts/deploy.sh` uses when none is given.
pub(crate) const DEFAULT_STACK: &str = "secure-ivr";

/// `--stack`, flattened into the commands that read the deployed stack.
#[derive(Debug, Clone, Args)]
pub(crate) struct StackArgs {
    /// CloudFormation stack that deployed the function (name or stack ID); its outputs give the
    /// KMS key for the key parameters and the function's role.
    #[arg(long, env = "SECURE_IVR_STACK", default_value = DEFAULT_STACK, value_name = "NAME")]
    pub(crate) stack: String,
}

/// The stack's outputs this CLI uses, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackOutputs {
    /// Stack name as CloudFormation reports it.
    pub(crate) stack_name: String,
    /// Status the stack was read in (one of the accepted ones).
    pub(crate) status: String,
    /// `FunctionArn`: the decrypting Lambda.
    pub(crate) function_arn: String,
    /// `FunctionRoleArn`: the role the Lambda runs as.
    pub(crate) function_role_arn: String,
    /// `KeyParameterPrefix`: SSM path the function reads keys under.
    pub(crate) key_parameter_prefix: String,
    /// `KeyParametersKmsKeyArn`: the KMS key that encrypts the key parameters.
    pub(crate) key_parameters_kms_key_arn: String,
    /// `KeyAccessAlert`: whether the key-access alerts are on.
    pub(crate) key_access_alert: bool,
    /// `AlertTopicArn`, when the stack has one.
    pub(crate) alert_topic_arn: Option<String>,
    /// The stack parameter `LegacyParameterName` (the function's SECURE_IVR_LEGACY_PARAMETER),
    /// when it is set: a single parameter the function reads besides the prefix.
    pub(crate) legacy_parameter: Option<String>,
}

/// Outputs every supported template has; a stack without one is from an older template.
const REQUIRED: [&str; 5] =
    ["FunctionArn", "FunctionRoleArn", "KeyParameterPrefix", "KeyParametersKmsKeyArn", "KeyAccessAlert"];

/// The template parameter that names the legacy single key parameter (empty: none).
const LEGACY_PARAMETER: &str = "LegacyParameterName";

/// Whether a status is accepted, and whether it deserves a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usable {
    Yes,
    YesAfterRollback,
    No,
}

fn usable(status: &StackStatus) -> Usable {
    match status {
        StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::ImportComplete => Usable::Yes,
        StackStatus::UpdateRollbackComplete => Usable::YesAfterRollback,
        _ => Usable::No,
    }
}

/// A stack name (`[A-Za-z][-A-Za-z0-9]*`, at most 128) or a stack ID ARN; checked before any call
/// so a typo is named as such rather than as "does not exist".
fn check_name(name: &str) -> Result<()> {
    let is_arn = name.starts_with("arn:") && name.contains(":cloudformation:") && name.contains(":stack/");
    let is_name = !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if is_arn || is_name {
        Ok(())
    } else {
        Err(CliError::new(
            Exit::Config,
            format!("--stack {name:?} is not a CloudFormation stack name or stack ID"),
            "a stack name starts with a letter and has only letters, digits and '-' (at most 128); the default is secure-ivr",
        ))
    }
}

impl StackArgs {
    /// Reads the stack's outputs. `instead` names the flag that makes the stack unnecessary (for
    /// example `--kms-key-id KEY`); every error says to fix `--stack` or pass that flag.
    pub(crate) async fn outputs(&self, aws: &Aws, instead: &str) -> Result<StackOutputs> {
        let name = self.stack.trim();
        check_name(name)?;
        let region = aws.region();
        progress(format!("reading the outputs of CloudFormation stack {name} ({region}) ..."));
        let described = aws.cloudformation().describe_stacks().stack_name(name).send().await;
        let out = match described {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => {
                return Err(CliError::new(
                    Exit::NotFound,
                    format!("CloudFormation stack {name:?} does not exist in {region}"),
                    format!(
                        "pass --stack NAME (or set SECURE_IVR_STACK) naming the stack scripts/deploy.sh created, check --region, or pass {instead}"
                    ),
                ));
            }
            Err(e) => {
                let err = error::aws(&format!("reading CloudFormation stack {name}"), e);
                let hint = format!(
                    "{}; or pass {instead} instead of reading the stack",
                    err.hint.as_deref().unwrap_or("rerun with -v")
                );
                return Err(err.with_hint(hint));
            }
        };
        let Some(stack) = out.stacks().first() else {
            return Err(CliError::new(
                Exit::NotFound,
                format!("CloudFormation returned no stack named {name:?} in {region}"),
                format!("pass --stack NAME naming the deployed stack, check --region, or pass {instead}"),
            ));
        };
        let parsed = parse(stack, instead)?;
        if parsed.status == StackStatus::UpdateRollbackComplete.as_str() {
            progress(format!(
                "warning: stack {} is UPDATE_ROLLBACK_COMPLETE: its last update failed and was rolled back; using the previous template's outputs",
                parsed.stack_name
            ));
        }
        Ok(parsed)
    }
}

/// DescribeStacks answers an unknown stack with `ValidationError` "Stack with id X does not exist".
fn is_not_found<E, R>(err: &aws_sdk_cloudformation::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_cloudformation::error::ProvideErrorMetadata,
{
    err.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
    })
}

/// Checks status and outputs of one described stack.
fn parse(stack: &Stack, instead: &str) -> Result<StackOutputs> {
    let name = stack.stack_name().unwrap_or("(unnamed)").to_owned();
    let status = stack.stack_status().cloned().unwrap_or_else(|| StackStatus::from("UNKNOWN"));
    let reason = stack.stack_status_reason().map(|r| format!(" ({r})")).unwrap_or_default();
    if usable(&status) == Usable::No {
        let next = if status.as_str().ends_with("_IN_PROGRESS") {
            "wait for it to finish (aws cloudformation wait stack-create-complete / stack-update-complete), then rerun"
        } else if status == StackStatus::RollbackComplete || status.as_str().ends_with("_FAILED") {
            "look at the stack's events, fix the cause and deploy again (scripts/deploy.sh); a ROLLBACK_COMPLETE stack must be deleted first"
        } else {
            "deploy the stack again with scripts/deploy.sh"
        };
        return Err(CliError::new(
            Exit::Refused,
            format!(
                "CloudFormation stack {name:?} is {}{reason}: its outputs are not usable until it is *_COMPLETE",
                status.as_str()
            ),
            format!("{next}; or pass --stack NAME naming another stack, or {instead}"),
        ));
    }
    let get = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|k| get(k).is_none()).collect();
    if !missing.is_empty() {
        return Err(CliError::new(
            Exit::Config,
            format!(
                "CloudFormation stack {name:?} has no output {} (deployed from an older template)",
                missing.join(", ")
            ),
            format!(
                "update the stack with the current cloudformation/secure-ivr.yaml (scripts/deploy.sh), pass --stack NAME naming a current stack, or pass {instead}"
            ),
        ));
    }
    let alert = get("KeyAccessAlert").unwrap_or_default();
    let key_access_alert = match alert.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(CliError::new(
                Exit::Config,
                format!(
                    "CloudFormation stack {name:?} has output KeyAccessAlert {other:?}; expected \"true\" or \"false\""
                ),
                format!("update the stack with the current template (scripts/deploy.sh), or pass {instead}"),
            ));
        }
    };
    Ok(StackOutputs {
        stack_name: name,
        status: status.as_str().to_owned(),
        function_arn: get("FunctionArn").unwrap_or_default(),
        function_role_arn: get("FunctionRoleArn").unwrap_or_default(),
        key_parameter_prefix: get("KeyParameterPrefix").unwrap_or_default(),
        key_parameters_kms_key_arn: get("KeyParametersKmsKeyArn").unwrap_or_default(),
        key_access_alert,
        alert_topic_arn: get("AlertTopicArn"),
        legacy_parameter: stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(LEGACY_PARAMETER))
            .and_then(|p| p.resolved_value().or(p.parameter_value()))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudformation::types::Output;

    use super::*;

    fn stack(status: StackStatus, outputs: &[(&str, &str)]) -> Stack {
        let mut b = Stack::builder().stack_name("secure-ivr").stack_status(status);
        for (k, v) in outputs {
            b = b.outputs(Output::builder().output_key(*k).output_value(*v).build());
        }
        b.build()
    }

    const FULL: [(&str, &str); 6] = [
        ("FunctionArn", "arn:aws:lambda:eu-west-2:111122223333:function:secure-ivr"),
        ("FunctionRoleArn", "arn:aws:iam::111122223333:role/secure-ivr"),
        ("KeyParameterPrefix", "/connect/input-keys/"),
        ("KeyParametersKmsKeyArn", "arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("KeyAccessAlert", "true"),
        ("LogGroupName", "/aws/lambda/secure-ivr"),
    ];

    #[test]
    fn complete_stack_gives_typed_outputs() {
        let o = parse(&stack(StackStatus::CreateComplete, &FULL), "--kms-key-id KEY").expect("usable");
        assert_eq!(o.key_parameters_kms_key_arn, FULL[3].1);
        assert_eq!(o.function_role_arn, FULL[1].1);
        assert!(o.key_access_alert);
        assert_eq!(o.alert_topic_arn, None);
        assert_eq!(o.legacy_parameter, None);
    }

    #[test]
    fn the_legacy_parameter_comes_from_the_stack_parameters_when_set() {
        use aws_sdk_cloudformation::types::Parameter;
        let with = |v: &str| {
            let mut s = stack(StackStatus::CreateComplete, &FULL);
            s.parameters = Some(vec![
                Parameter::builder().parameter_key("KeyPath").parameter_value("/connect/input-keys").build(),
                Parameter::builder().parameter_key("LegacyParameterName").parameter_value(v).build(),
            ]);
            parse(&s, "x").expect("usable").legacy_parameter
        };
        assert_eq!(with("CONNECT_INPUT_DECRYPTION_KEY").as_deref(), Some("CONNECT_INPUT_DECRYPTION_KEY"));
        assert_eq!(with(""), None, "empty disables it");
        assert_eq!(with("  "), None);
    }

    #[test]
    fn update_rollback_complete_is_accepted() {
        assert!(parse(&stack(StackStatus::UpdateRollbackComplete, &FULL), "x").is_ok());
    }

    #[test]
    fn refuses_statuses_without_usable_outputs() {
        for s in [
            StackStatus::CreateInProgress,
            StackStatus::CreateFailed,
            StackStatus::RollbackComplete,
            StackStatus::DeleteComplete,
            StackStatus::ImportRollbackComplete,
            StackStatus::UpdateRollbackFailed,
            StackStatus::UpdateCompleteCleanupInProgress,
            StackStatus::from("SOMETHING_NEW_COMPLETE"),
        ] {
            let e = parse(&stack(s.clone(), &FULL), "--kms-key-id KEY").expect_err(s.as_str());
            assert!(e.message.contains(s.as_str()), "{}", e.message);
            assert!(e.hint.as_deref().is_some_and(|h| h.contains("--kms-key-id")));
        }
    }

    #[test]
    fn names_every_missing_output() {
        let e = parse(&stack(StackStatus::UpdateComplete, &FULL[..3]), "--kms-key-id KEY").expect_err("older template");
        assert!(e.message.contains("KeyParametersKmsKeyArn, KeyAccessAlert"), "{}", e.message);
        assert!(e.message.contains("older template"));
    }

    #[test]
    fn refuses_a_malformed_alert_flag() {
        let mut outs = FULL;
        outs[4] = ("KeyAccessAlert", "yes");
        assert!(parse(&stack(StackStatus::CreateComplete, &outs), "x").is_err());
    }

    #[test]
    fn checks_stack_names_locally() {
        for ok in ["secure-ivr", "a", "arn:aws:cloudformation:eu-west-2:111122223333:stack/secure-ivr/1b2c"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1stack", "my_stack", "a b", &"a".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
