//! `check`'s second half: what the function sees, rather than what the operator running `check`
//! can read. SSM decrypts with the caller's credentials, so an operator reading a key proves
//! nothing about the function: this asks IAM about the function's role instead.

use std::collections::BTreeMap;

use aws_sdk_iam::error::ProvideErrorMetadata as _;

use super::{CheckStatus, Item};
use crate::aws::Aws;
use crate::error::CliError;
use crate::iam::{self, Decision, Evaluation, Question};
use crate::stack::DEFAULT_STACK;
use crate::trail::{self, TrailCoverage};
use crate::{kms, store};

/// An active key whose parameter the function must read.
#[derive(Debug, Clone)]
pub(crate) struct ActiveKey {
    /// Key ID (or parameter name) as the other rows name it.
    pub(crate) label: String,
    /// Parameter name.
    pub(crate) parameter: String,
}

/// Whose view is checked, from the stack's outputs or the flags.
struct View {
    role_arn: String,
    function_arn: Option<String>,
    kms_key: Option<String>,
    alerts: Option<bool>,
    prefix: Option<String>,
    source: String,
}

struct Rows(Vec<Item>);

impl Rows {
    fn add(&mut self, check: impl Into<String>, status: CheckStatus, detail: impl Into<String>) {
        self.0.push(Item { check: check.into(), status, detail: detail.into() });
    }

    fn error(&mut self, check: impl Into<String>, e: CliError) {
        let detail = match e.hint {
            Some(h) => format!("{} (next: {h})", e.message),
            None => e.message,
        };
        self.add(check, CheckStatus::Fail, detail);
    }
}

/// The function-view rows.
pub(crate) async fn check(aws: &Aws, args: &super::Args, active: &[ActiveKey]) -> Vec<Item> {
    let mut rows = Rows(Vec::new());
    let Some(view) = view(aws, args, &mut rows).await else { return rows.0 };
    if !iam::is_role_arn(&view.role_arn) {
        rows.error(
            "function role",
            CliError::input(
                format!("{:?} is not an IAM role ARN", view.role_arn),
                "give the role as arn:aws:iam::ACCOUNT:role/NAME (the stack's FunctionRoleArn output)",
            ),
        );
        return rows.0;
    }
    rows.add(
        "function",
        CheckStatus::Ok,
        format!(
            "role {}, function {}, KMS key {} ({})",
            view.role_arn,
            view.function_arn.as_deref().unwrap_or("(not given)"),
            view.kms_key.as_deref().unwrap_or("(not given)"),
            view.source
        ),
    );
    if let Some(p) = &view.prefix
        && keystore::normalize_prefix(p).ok().as_deref() != Some(aws.prefix.as_str())
    {
        rows.add(
            "function prefix",
            CheckStatus::Warn,
            format!("the function reads keys under {p}; this check looked under {} (pass --prefix {p})", aws.prefix),
        );
    }
    if view.function_arn.is_none() {
        rows.add(
            "function ARN",
            CheckStatus::Warn,
            "not given: ssm:GetParameter is simulated without lambda:SourceFunctionArn, which the template's role requires (pass --function-arn)",
        );
    }

    let kms = aws_sdk_kms::Client::new(&aws.config);
    let iam_client = aws_sdk_iam::Client::new(&aws.config);
    let ssm = aws.ssm();
    let region = aws.region();
    // Checked above: a role ARN has both.
    let account = iam::account_of(&view.role_arn).unwrap_or_default().to_owned();
    let partition = iam::partition_of(&view.role_arn).unwrap_or("aws").to_owned();

    let function_key = match &view.kms_key {
        None => None,
        Some(k) => match kms::key_arn(&kms, k).await {
            Ok(arn) => Some(arn),
            Err(e) => {
                rows.error("function KMS key", e);
                None
            }
        },
    };
    if active.is_empty() {
        rows.add(
            "function keys",
            CheckStatus::Warn,
            format!("no active key under {}: nothing for the function to read", aws.prefix),
        );
    }

    // ssm:GetParameter, as the function signs it: one question for every active key (IAM answers
    // each resource, in Marker pages).
    let arn_of = |name: &str| iam::parameter_arn(&partition, &region, &account, name);
    let reads = if active.is_empty() {
        Ok(Vec::new())
    } else {
        let q = Question {
            role_arn: &view.role_arn,
            action: "ssm:GetParameter",
            resources: active.iter().map(|k| arn_of(&k.parameter)).collect(),
            context: iam::get_parameter_context(view.function_arn.as_deref()),
            resource_policy: None,
        };
        iam::simulate(&iam_client, &q).await.map_err(|e| {
            let e = simulation_error(e, &view.role_arn);
            (e.message, e.hint)
        })
    };

    let mut resolved: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut policies: BTreeMap<String, Option<String>> = BTreeMap::new();
    for key in active {
        let label = &key.label;
        let parameter_arn = arn_of(&key.parameter);

        match &reads {
            Ok(evals) => {
                let (status, detail) = judge_get_parameter(evals, &parameter_arn, &view.role_arn);
                rows.add(format!("function reads key {label}"), status, detail);
            }
            Err((message, hint)) => rows.error(
                format!("function reads key {label}"),
                CliError { exit: crate::error::Exit::Aws, message: message.clone(), hint: hint.clone() },
            ),
        }

        // The parameter's KMS key, against the function's.
        let key_id = match store::kms_key_of(&ssm, &key.parameter).await {
            Ok(Some(id)) => id,
            Ok(None) => {
                rows.add(
                    format!("key {label} KMS key"),
                    CheckStatus::Warn,
                    "SSM reports no KMS key for this parameter (not a SecureString?)",
                );
                continue;
            }
            Err(e) => {
                rows.error(format!("key {label} KMS key"), e);
                continue;
            }
        };
        if !resolved.contains_key(&key_id) {
            let r = match kms::key_arn(&kms, &key_id).await {
                Ok(arn) => Some(arn),
                Err(e) => {
                    rows.error(format!("KMS key {key_id}"), e);
                    None
                }
            };
            resolved.insert(key_id.clone(), r);
        }
        let Some(key_arn) = resolved.get(&key_id).cloned().flatten() else {
            rows.add(
                format!("function decrypts key {label}"),
                CheckStatus::Warn,
                format!("unverified: the KMS key {key_id} could not be resolved to an ARN"),
            );
            continue;
        };
        match &function_key {
            Some(f) if *f == key_arn => {
                rows.add(format!("key {label} KMS key"), CheckStatus::Ok, format!("{key_arn}, the function's key"))
            }
            Some(f) => rows.add(
                format!("key {label} KMS key"),
                CheckStatus::Fail,
                format!(
                    "stored under {key_arn} ({key_id}), not the function's key {f}: the function cannot decrypt it; \
                     make a new key under the function's key (`secure-ivr rotate`) and retire this one"
                ),
            ),
            None => {}
        }

        // kms:Decrypt, as SSM asks it for the function, with the key policy when readable.
        if !policies.contains_key(&key_arn) {
            let p = match kms::key_policy(&kms, &key_arn).await {
                Ok(p) => Some(p),
                Err(e) => {
                    rows.add(
                        format!("KMS key policy {key_arn}"),
                        CheckStatus::Warn,
                        format!(
                            "not readable ({}): kms:Decrypt is simulated with the role's policies only, and KMS also needs its key policy to allow the role",
                            e.message
                        ),
                    );
                    None
                }
            };
            policies.insert(key_arn.clone(), p);
        }
        let policy = policies.get(&key_arn).cloned().flatten();
        let mut q = Question {
            role_arn: &view.role_arn,
            action: "kms:Decrypt",
            resources: vec![key_arn.clone()],
            context: iam::decrypt_context(&region, &parameter_arn, &account),
            resource_policy: policy.as_deref(),
        };
        let mut note = None;
        let mut outcome = iam::simulate(&iam_client, &q).await;
        if policy.is_some()
            && let Err(e) = &outcome
            && e.as_service_error().and_then(|s| s.code()) == Some("InvalidInput")
        {
            // IAM documents resource-policy simulation as unsupported for some principals; the
            // role's own policies still answer half of the question.
            note = Some(format!(
                "IAM did not take the key policy as a resource policy ({}); simulated the role's policies only",
                e.as_service_error().and_then(|s| s.message()).unwrap_or("InvalidInput")
            ));
            q.resource_policy = None;
            outcome = iam::simulate(&iam_client, &q).await;
        }
        match outcome {
            Ok(evals) => {
                let (mut status, mut detail) = judge_decrypt(&evals, &key_arn, q.resource_policy.is_some());
                if let Some(n) = note {
                    detail = format!("{detail}; {n}");
                    if status == CheckStatus::Ok {
                        status = CheckStatus::Warn;
                    }
                }
                rows.add(format!("function decrypts key {label}"), status, detail);
            }
            Err(e) => rows.error(format!("function decrypts key {label}"), simulation_error(e, &view.role_arn)),
        }
    }

    if view.alerts == Some(true) {
        alerts(aws, &mut rows).await;
    }
    rows.0
}

/// From the flags, or the stack. None when there is nothing to check (a row says why).
async fn view(aws: &Aws, args: &super::Args, rows: &mut Rows) -> Option<View> {
    if let Some(role) = &args.function_role {
        return Some(View {
            role_arn: role.trim().to_owned(),
            function_arn: args.function_arn.clone(),
            kms_key: args.kms_key_id.clone(),
            alerts: None,
            prefix: None,
            source: "from --function-role".into(),
        });
    }
    match args.stack.outputs(aws, "--function-role ARN").await {
        Ok(o) => Some(View {
            role_arn: o.function_role_arn,
            function_arn: Some(o.function_arn),
            kms_key: Some(o.key_parameters_kms_key_arn),
            alerts: Some(o.key_access_alert),
            prefix: Some(o.key_parameter_prefix),
            source: format!("from stack {} ({})", o.stack_name, o.status),
        }),
        Err(e) => {
            // Without a stack named by the user, a missing default stack is a note, not a finding:
            // `check` also serves setups deployed some other way.
            let named = std::env::var_os("SECURE_IVR_STACK").is_some() || args.stack.stack != DEFAULT_STACK;
            if e.exit == crate::error::Exit::NotFound && !named {
                rows.add(
                    "function view",
                    CheckStatus::Warn,
                    format!(
                        "not checked: {}; pass --stack NAME, or --function-role ARN [--function-arn ARN] [--kms-key-id KEY], to check what the function can read",
                        e.message
                    ),
                );
            } else {
                rows.error("function view", e);
            }
            None
        }
    }
}

fn one<'a>(evals: &'a [Evaluation], resource: &str) -> Option<&'a Evaluation> {
    evals.iter().find(|e| e.resource == resource).or_else(|| evals.iter().find(|e| e.resource == "*"))
}

fn missing_note(e: &Evaluation) -> String {
    if e.missing_context.is_empty() {
        String::new()
    } else {
        format!("; the policies test context keys the simulation did not have: {}", e.missing_context.join(", "))
    }
}

fn judge_get_parameter(evals: &[Evaluation], parameter_arn: &str, role: &str) -> (CheckStatus, String) {
    match one(evals, parameter_arn) {
        None => {
            (CheckStatus::Warn, format!("unverified: IAM gave no decision for ssm:GetParameter on {parameter_arn}"))
        }
        Some(e) => {
            let extra = missing_note(e);
            match e.decision {
                Decision::Allowed => {
                    (CheckStatus::Ok, format!("IAM allows {role} ssm:GetParameter on {parameter_arn}{extra}"))
                }
                Decision::ExplicitDeny => (
                    CheckStatus::Fail,
                    format!(
                        "IAM explicitly denies {role} ssm:GetParameter on {parameter_arn}{extra}: the function answers ErrorCode=KeyAccessDenied"
                    ),
                ),
                Decision::ImplicitDeny => (
                    CheckStatus::Fail,
                    format!(
                        "no policy of {role} allows ssm:GetParameter on {parameter_arn}{extra}: the function answers ErrorCode=KeyAccessDenied; \
                         is the key under the stack's KeyPath?"
                    ),
                ),
            }
        }
    }
}

fn judge_decrypt(evals: &[Evaluation], key_arn: &str, with_key_policy: bool) -> (CheckStatus, String) {
    match one(evals, key_arn) {
        None => (CheckStatus::Warn, format!("unverified: IAM gave no decision for kms:Decrypt on {key_arn}")),
        Some(e) => {
            let extra = missing_note(e);
            match (e.decision, with_key_policy, e.matched_resource_policy) {
                (Decision::Allowed, true, true) => (
                    CheckStatus::Ok,
                    format!(
                        "IAM allows kms:Decrypt on {key_arn} through SSM for this parameter, with the key policy{extra}"
                    ),
                ),
                (Decision::Allowed, true, false) => (
                    CheckStatus::Warn,
                    format!(
                        "the role's policies allow kms:Decrypt on {key_arn} but no statement of its key policy matched{extra}: \
                         KMS decrypts only when the key policy allows the role, directly or through the account"
                    ),
                ),
                (Decision::Allowed, false, _) => (
                    CheckStatus::Warn,
                    format!(
                        "the role's policies allow kms:Decrypt on {key_arn} through SSM{extra}; the key policy was not simulated"
                    ),
                ),
                (Decision::ExplicitDeny, ..) => (
                    CheckStatus::Fail,
                    format!(
                        "IAM explicitly denies kms:Decrypt on {key_arn} through SSM for this parameter{extra}: the function answers ErrorCode=KeyAccessDenied"
                    ),
                ),
                (Decision::ImplicitDeny, ..) => (
                    CheckStatus::Fail,
                    format!(
                        "nothing allows the function kms:Decrypt on {key_arn} through SSM for this parameter{extra}: \
                         the function answers ErrorCode=KeyAccessDenied"
                    ),
                ),
            }
        }
    }
}

fn simulation_error(
    e: aws_sdk_iam::error::SdkError<aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyError>,
    role: &str,
) -> CliError {
    if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) {
        return CliError::new(
            crate::error::Exit::NotFound,
            format!("IAM has no role {role}"),
            "check --stack (its FunctionRoleArn output) or --function-role; the role may have been deleted",
        );
    }
    let err = crate::error::aws("asking IAM's policy simulator (iam:SimulatePrincipalPolicy)", e);
    match err.hint.clone() {
        Some(h) if h.contains("IAM policy") => err.with_hint(format!(
            "the operator needs iam:SimulatePrincipalPolicy on {role} (README, section IAM) to check what the function can read"
        )),
        _ => err,
    }
}

async fn alerts(aws: &Aws, rows: &mut Rows) {
    let check = "key-access alerts";
    let region = aws.region();
    match trail::coverage(&aws.cloudtrail()).await {
        Ok(TrailCoverage::Logging { trail, selectors_known: true }) => {
            rows.add(check, CheckStatus::Ok, format!("on; trail {trail} logs management read events in {region}"))
        }
        Ok(TrailCoverage::Logging { trail, selectors_known: false }) => rows.add(
            check,
            CheckStatus::Warn,
            format!("on; trail {trail} is logging, but its event selectors could not be read (cloudtrail:GetEventSelectors): it must record management read events"),
        ),
        Ok(TrailCoverage::NoReadEvents(t)) => rows.add(
            check,
            CheckStatus::Warn,
            format!(
                "on, but trail {} leaves out management read events (or KMS events): the alerts never fire; log read management events",
                t.join(", ")
            ),
        ),
        Ok(TrailCoverage::NotLogging(t)) => rows.add(
            check,
            CheckStatus::Warn,
            format!("on, but no trail is logging in {region} (stopped: {}): the alerts never fire; `aws cloudtrail start-logging --name TRAIL`", t.join(", ")),
        ),
        Ok(TrailCoverage::NoTrail) => rows.add(
            check,
            CheckStatus::Warn,
            format!("on, but no CloudTrail trail applies to {region}: the alerts never fire; create a trail that logs management read events"),
        ),
        Err(e) => rows.add(
            check,
            CheckStatus::Warn,
            format!("on; whether a trail is logging could not be read: {}", e.message),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(decision: Decision, resource: &str, by_policy: bool, missing: &[&str]) -> Evaluation {
        Evaluation {
            action: "x".into(),
            resource: resource.into(),
            decision,
            matched_resource_policy: by_policy,
            missing_context: missing.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn get_parameter_needs_an_allow() {
        let p = "arn:aws:ssm:eu-west-2:111122223333:parameter/k/a";
        assert_eq!(judge_get_parameter(&[eval(Decision::Allowed, p, false, &[])], p, "r").0, CheckStatus::Ok);
        assert_eq!(judge_get_parameter(&[eval(Decision::ImplicitDeny, p, false, &[])], p, "r").0, CheckStatus::Fail);
        assert_eq!(judge_get_parameter(&[eval(Decision::ExplicitDeny, p, false, &[])], p, "r").0, CheckStatus::Fail);
        assert_eq!(judge_get_parameter(&[], p, "r").0, CheckStatus::Warn, "no answer is not a yes");
        let (_, d) =
            judge_get_parameter(&[eval(Decision::ExplicitDeny, p, false, &["lambda:SourceFunctionArn"])], p, "r");
        assert!(d.contains("lambda:SourceFunctionArn"), "{d}");
    }

    #[test]
    fn decrypt_is_ok_only_with_the_key_policy_matched() {
        let k = "arn:aws:kms:eu-west-2:111122223333:key/k";
        assert_eq!(judge_decrypt(&[eval(Decision::Allowed, k, true, &[])], k, true).0, CheckStatus::Ok);
        assert_eq!(judge_decrypt(&[eval(Decision::Allowed, k, false, &[])], k, true).0, CheckStatus::Warn);
        assert_eq!(judge_decrypt(&[eval(Decision::Allowed, k, false, &[])], k, false).0, CheckStatus::Warn);
        assert_eq!(judge_decrypt(&[eval(Decision::ImplicitDeny, k, false, &[])], k, true).0, CheckStatus::Fail);
        assert_eq!(judge_decrypt(&[eval(Decision::ExplicitDeny, k, true, &[])], k, true).0, CheckStatus::Fail);
        assert_eq!(judge_decrypt(&[eval(Decision::Allowed, "arn:other", true, &[])], k, true).0, CheckStatus::Warn);
    }
}
