//! What the function's role may do, asked of IAM's policy simulator (`SimulatePrincipalPolicy`).
//!
//! The questions are the two calls the function's key read makes: `ssm:GetParameter` on the key's
//! parameter (signed by the function, so Lambda's `lambda:SourceFunctionArn` is in the request) and
//! the `kms:Decrypt` SSM makes on the function's behalf (`kms:ViaService`, the parameter ARN as
//! encryption context, the caller's account). IAM evaluates the role's policies, and, when given,
//! the KMS key policy as the resource policy.

use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyError;
use aws_sdk_iam::types::{
    ContextEntry, ContextKeyTypeEnum, EvaluationResult, PolicyEvaluationDecisionType, PolicySourceType,
};

/// One context key the simulated request carries, as the service would set it. All keys used here
/// are single strings (IAM's `string` type; ARN-valued keys are strings to the simulator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextValue {
    /// Key name, e.g. `kms:ViaService`.
    pub(crate) key: String,
    /// Its value.
    pub(crate) value: String,
}

impl ContextValue {
    fn new(key: &str, value: impl Into<String>) -> Self {
        Self { key: key.to_owned(), value: value.into() }
    }
}

/// The context of the `ssm:GetParameter` the function makes.
pub(crate) fn get_parameter_context(function_arn: Option<&str>) -> Vec<ContextValue> {
    function_arn.map(|f| ContextValue::new("lambda:SourceFunctionArn", f)).into_iter().collect()
}

/// The context of the `kms:Decrypt` SSM makes when the function reads `parameter_arn`.
pub(crate) fn decrypt_context(region: &str, parameter_arn: &str, account: &str) -> Vec<ContextValue> {
    vec![
        ContextValue::new("kms:ViaService", format!("ssm.{region}.amazonaws.com")),
        ContextValue::new("kms:EncryptionContext:PARAMETER_ARN", parameter_arn),
        ContextValue::new("kms:CallerAccount", account),
    ]
}

/// One simulation: an action on some resources, as `role` in `context`.
#[derive(Debug, Clone)]
pub(crate) struct Question<'a> {
    /// The role whose policies are evaluated (also the simulated caller).
    pub(crate) role_arn: &'a str,
    /// IAM action, `service:Action`.
    pub(crate) action: &'a str,
    /// Resource ARNs.
    pub(crate) resources: Vec<String>,
    /// Request context.
    pub(crate) context: Vec<ContextValue>,
    /// Resource-based policy evaluated with each resource (the KMS key policy).
    pub(crate) resource_policy: Option<&'a str>,
}

/// IAM's answer for one action and resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// An Allow applies and no Deny does.
    Allowed,
    /// A Deny statement applies.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// One evaluated action and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Evaluation {
    /// Action evaluated.
    pub(crate) action: String,
    /// Resource evaluated (`*` when IAM does not say).
    pub(crate) resource: String,
    /// The decision.
    pub(crate) decision: Decision,
    /// Whether a statement of the resource policy (the key policy) was among those that matched.
    pub(crate) matched_resource_policy: bool,
    /// Context keys the policies test that the question did not supply: the answer may be wrong.
    pub(crate) missing_context: Vec<String>,
}

impl Evaluation {
    fn from_sdk(r: &EvaluationResult) -> Option<Self> {
        let decision = match r.eval_decision() {
            PolicyEvaluationDecisionType::Allowed => Decision::Allowed,
            PolicyEvaluationDecisionType::ExplicitDeny => Decision::ExplicitDeny,
            PolicyEvaluationDecisionType::ImplicitDeny => Decision::ImplicitDeny,
            // A decision this build does not know is not taken as a yes.
            _ => return None,
        };
        Some(Self {
            action: r.eval_action_name().to_owned(),
            resource: r.eval_resource_name().unwrap_or("*").to_owned(),
            decision,
            matched_resource_policy: r
                .matched_statements()
                .iter()
                .any(|s| s.source_policy_type() == Some(&PolicySourceType::Resource)),
            missing_context: r.missing_context_values().to_vec(),
        })
    }
}

/// Asks IAM, following `Marker` pages. An evaluation with a decision this build does not know is
/// dropped, so the caller sees no answer for that resource (reported as unverified, not allowed).
pub(crate) async fn simulate(
    iam: &aws_sdk_iam::Client,
    q: &Question<'_>,
) -> Result<Vec<Evaluation>, SdkError<SimulatePrincipalPolicyError>> {
    let mut req = iam
        .simulate_principal_policy()
        .policy_source_arn(q.role_arn)
        .action_names(q.action)
        .set_resource_arns(Some(q.resources.clone()));
    for c in &q.context {
        req = req.context_entries(
            ContextEntry::builder()
                .context_key_name(&c.key)
                .context_key_values(&c.value)
                .context_key_type(ContextKeyTypeEnum::String)
                .build(),
        );
    }
    if let Some(policy) = q.resource_policy {
        // A resource policy's Principal needs a caller to match; for a role, IAM takes CallerArn.
        req = req.resource_policy(policy).caller_arn(q.role_arn);
    }
    let results = req.into_paginator().items().send().collect::<Result<Vec<_>, _>>().await?;
    Ok(results.iter().filter_map(Evaluation::from_sdk).collect())
}

/// The account ID in an ARN (`arn:partition:service:region:account:...`).
pub(crate) fn account_of(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The partition in an ARN (`aws`, `aws-cn`, `aws-us-gov`).
pub(crate) fn partition_of(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').next().filter(|p| !p.is_empty())
}

/// Whether `arn` names an IAM role (`arn:PARTITION:iam::ACCOUNT:role/[path/]NAME`).
pub(crate) fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", p, "iam", "", _, res] if !p.is_empty() && res.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
        && account_of(arn).is_some()
}

/// The parameter ARN SSM puts in the encryption context and IAM evaluates for a parameter name.
pub(crate) fn parameter_arn(partition: &str, region: &str, account: &str, name: &str) -> String {
    // Names under a path start with '/'; ARNs of other names get one between "parameter" and it.
    let sep = if name.starts_with('/') { "" } else { "/" };
    format!("arn:{partition}:ssm:{region}:{account}:parameter{sep}{name}")
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::types::Statement;

    use super::*;

    #[test]
    fn parameter_arns_have_one_slash_after_parameter() {
        assert_eq!(
            parameter_arn("aws", "eu-west-2", "111122223333", "/connect/k/abc"),
            "arn:aws:ssm:eu-west-2:111122223333:parameter/connect/k/abc"
        );
        assert_eq!(
            parameter_arn("aws", "eu-west-2", "111122223333", "legacy"),
            "arn:aws:ssm:eu-west-2:111122223333:parameter/legacy"
        );
    }

    #[test]
    fn role_arns_are_recognised_and_others_refused() {
        assert!(is_role_arn("arn:aws:iam::111122223333:role/secure-ivr-fn"));
        assert!(is_role_arn("arn:aws-us-gov:iam::111122223333:role/path/fn"));
        for bad in [
            "",
            "secure-ivr-fn",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:sts::111122223333:assumed-role/fn/session",
            "arn:aws:iam::1111:role/fn",
            "arn:aws:iam::111122223333:role/",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
        assert_eq!(account_of("arn:aws:iam::111122223333:role/x"), Some("111122223333"));
        assert_eq!(partition_of("arn:aws-cn:iam::111122223333:role/x"), Some("aws-cn"));
    }

    #[test]
    fn decrypt_context_is_what_ssm_sends() {
        let c = decrypt_context("eu-west-2", "arn:aws:ssm:eu-west-2:111122223333:parameter/k/a", "111122223333");
        let keys: Vec<&str> = c.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["kms:ViaService", "kms:EncryptionContext:PARAMETER_ARN", "kms:CallerAccount"]);
        assert_eq!(c[0].value, "ssm.eu-west-2.amazonaws.com");
        assert!(get_parameter_context(None).is_empty());
    }

    fn result(decision: PolicyEvaluationDecisionType, source: Option<PolicySourceType>) -> EvaluationResult {
        let mut b = EvaluationResult::builder()
            .eval_action_name("kms:Decrypt")
            .eval_resource_name("arn:k")
            .eval_decision(decision);
        if let Some(s) = source {
            b = b.matched_statements(Statement::builder().source_policy_type(s).build());
        }
        b.build().expect("result")
    }

    #[test]
    fn decisions_and_resource_policy_matches_are_read() {
        let e = Evaluation::from_sdk(&result(PolicyEvaluationDecisionType::Allowed, Some(PolicySourceType::Resource)))
            .expect("known");
        assert_eq!(e.decision, Decision::Allowed);
        assert!(e.matched_resource_policy);
        let e = Evaluation::from_sdk(&result(PolicyEvaluationDecisionType::Allowed, Some(PolicySourceType::Role)))
            .expect("known");
        assert!(!e.matched_resource_policy);
        let e = Evaluation::from_sdk(&result(PolicyEvaluationDecisionType::ExplicitDeny, None)).expect("known");
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert!(Evaluation::from_sdk(&result(PolicyEvaluationDecisionType::from("maybe"), None)).is_none());
    }
}
