//! A wire fake of IAM's `SimulatePrincipalPolicy`, shaped like the IAM API reference (botocore
//! `iam/2010-05-08/service-2.json`): query protocol (form-encoded POST to `/`,
//! `Action=SimulatePrincipalPolicy&Version=2010-05-08`), XML answers with the reference's element
//! names in `SimulatePrincipalPolicyResult`, `IsTruncated`/`Marker` paging, and errors as IAM sends
//! them (`<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>...`, HTTP 404;
//! `InvalidInput`, HTTP 400; `Throttling`, 400; `AccessDenied`, 403).
//!
//! moto's IAM does not evaluate condition keys, so this fake answers from a small evaluator the
//! test configures: Allow grants of (action, resource, required context values[, key-policy text
//! the request must carry as `ResourcePolicy`]) and Deny statements with an "unless these context
//! values" exemption, matched with a trailing `*` wildcard as `StringLike`/`ArnLike` would. It
//! checks every request: action names, resource ARNs, each `ContextEntries` member's key name,
//! values and type (`string`), the resource policy and `CallerArn`, paging markers, and that the
//! request is SigV4-signed for the `iam` service.
//!
//! What it cannot show: that IAM's real evaluation of the template's policies agrees with the
//! grants a test writes here (the grants are the test's reading of `cloudformation/secure-ivr.yaml`,
//! not the template itself); how IAM treats a KMS key policy passed as `ResourcePolicy` for a role
//! (the reference says resource-policy simulation is not supported for roles, so the CLI falls back
//! to the role's policies on `InvalidInput`, which `reject_resource_policy` exercises); the real
//! `MissingContextValues` for keys the policies use; or IAM's real throttling limits.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use super::{Request, Response, serve};

/// An Allow statement.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) action: String,
    /// Exact ARN, or a prefix ending in `*`.
    pub(crate) resource: String,
    /// Context keys that must be present with a matching value (exact, or a prefix ending in `*`).
    pub(crate) context: Vec<(String, String)>,
    /// When set, the statement lives in the resource (key) policy: it applies only when the
    /// request's `ResourcePolicy` contains this text, and is reported as `SourcePolicyType=resource`.
    pub(crate) in_resource_policy: Option<String>,
}

/// A Deny statement that applies unless every `unless` context key matches (the template's
/// `ArnNotLike lambda:SourceFunctionArn` deny; a missing key makes the Deny apply, as in IAM).
#[derive(Debug, Clone)]
pub(crate) struct Deny {
    pub(crate) action: String,
    pub(crate) resource: String,
    pub(crate) unless: Vec<(String, String)>,
}

/// The fake's configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct IamConfig {
    /// The one role that exists; any other `PolicySourceArn` is `NoSuchEntity`.
    pub(crate) role_arn: String,
    pub(crate) grants: Vec<Grant>,
    pub(crate) denies: Vec<Deny>,
    /// Answer every call with this error: (HTTP status, code, message).
    pub(crate) fail: Option<(u16, String, String)>,
    /// Results per page (IAM may return fewer than MaxItems); 0 means 100.
    pub(crate) page_size: usize,
    /// Refuse `ResourcePolicy` with `InvalidInput`, as the reference says IAM may for roles.
    pub(crate) reject_resource_policy: bool,
}

/// One context entry as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeenContext {
    pub(crate) name: String,
    pub(crate) values: Vec<String>,
    pub(crate) kind: String,
}

/// One request as received (after validation).
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) policy_source_arn: String,
    pub(crate) action_names: Vec<String>,
    pub(crate) resource_arns: Vec<String>,
    pub(crate) context: Vec<SeenContext>,
    pub(crate) resource_policy: Option<String>,
    pub(crate) caller_arn: Option<String>,
    pub(crate) marker: Option<String>,
}

impl Seen {
    pub(crate) fn context_value(&self, name: &str) -> Option<&str> {
        self.context.iter().find(|c| c.name == name).and_then(|c| c.values.first()).map(String::as_str)
    }
}

const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const CONTEXT_TYPES: [&str; 12] = [
    "string",
    "stringList",
    "numeric",
    "numericList",
    "boolean",
    "booleanList",
    "ip",
    "ipList",
    "binary",
    "binaryList",
    "date",
    "dateList",
];

/// Starts the fake on 127.0.0.1; returns its URL and the requests it accepted.
pub(crate) fn fake_iam(config: IamConfig) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let url = serve(move |req| handle(&config, &log, req));
    (url, seen)
}

fn handle(config: &IamConfig, log: &Mutex<Vec<Seen>>, req: &Request) -> Response {
    if req.method != "POST" || req.path != "/" {
        return error(404, "NotFound", "IAM takes POST / only");
    }
    if !req.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        return error(400, "InvalidInput", "query requests are form-encoded");
    }
    if !req
        .header("authorization")
        .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256") && a.contains("/iam/aws4_request"))
    {
        return error(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
    }
    let form = parse_form(&req.body);
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("Action") != Some("SimulatePrincipalPolicy") || get("Version") != Some("2010-05-08") {
        return error(400, "InvalidAction", "Could not find operation for this version");
    }
    if let Some((status, code, message)) = &config.fail {
        return error(*status, code, message);
    }
    let seen = match parse(&form) {
        Ok(s) => s,
        Err(m) => return error(400, "InvalidInput", &m),
    };
    if seen.policy_source_arn != config.role_arn {
        let name = seen.policy_source_arn.rsplit('/').next().unwrap_or("");
        return error(404, "NoSuchEntity", &format!("The role with name {name} cannot be found."));
    }
    if seen.resource_policy.is_some() {
        if config.reject_resource_policy {
            return error(400, "InvalidInput", "Simulation of resource-based policies isn't supported for IAM roles.");
        }
        if seen.caller_arn.is_none() {
            return error(400, "InvalidInput", "CallerArn is required when a ResourcePolicy is given for a role.");
        }
    }
    let mut results = Vec::new();
    for action in &seen.action_names {
        for resource in &seen.resource_arns {
            results.push(evaluate(config, &seen, action, resource));
        }
    }
    let start = match &seen.marker {
        None => 0,
        Some(m) => match m.strip_prefix("fake-marker-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n < results.len() => n,
            _ => return error(400, "InvalidInput", "Invalid Marker."),
        },
    };
    let max_items = get("MaxItems").and_then(|m| m.parse::<usize>().ok()).unwrap_or(100);
    let page = if config.page_size == 0 { 100 } else { config.page_size }.min(max_items);
    let end = (start + page).min(results.len());
    let truncated = end < results.len();
    log.lock().expect("lock").push(seen);

    let mut xml = format!("<SimulatePrincipalPolicyResponse xmlns=\"{NS}\">\n  <SimulatePrincipalPolicyResult>\n");
    xml.push_str(&format!("    <IsTruncated>{truncated}</IsTruncated>\n"));
    if truncated {
        xml.push_str(&format!("    <Marker>fake-marker-{end}</Marker>\n"));
    }
    xml.push_str("    <EvaluationResults>\n");
    for r in results.get(start..end).unwrap_or_default() {
        xml.push_str(r);
    }
    xml.push_str("    </EvaluationResults>\n  </SimulatePrincipalPolicyResult>\n");
    xml.push_str(
        "  <ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata>\n",
    );
    xml.push_str("</SimulatePrincipalPolicyResponse>\n");
    (200, vec![("Content-Type".into(), "text/xml".into())], xml)
}

fn evaluate(config: &IamConfig, seen: &Seen, action: &str, resource: &str) -> String {
    let has = |k: &str, v: &str| {
        seen.context.iter().any(|c| c.name == k && c.kind == "string" && c.values.iter().any(|x| like(v, x)))
    };
    let mut missing: Vec<String> = Vec::new();
    let mut note_missing = |keys: &[(String, String)]| {
        for (k, _) in keys {
            if !seen.context.iter().any(|c| &c.name == k) && !missing.contains(k) {
                missing.push(k.clone());
            }
        }
    };
    let mut decision = "implicitDeny";
    let mut source = None;
    for d in config.denies.iter().filter(|d| d.action == action && like(&d.resource, resource)) {
        note_missing(&d.unless);
        if !d.unless.iter().all(|(k, v)| has(k, v)) {
            decision = "explicitDeny";
            source = Some("role");
        }
    }
    if decision != "explicitDeny" {
        for g in config.grants.iter().filter(|g| g.action == action && like(&g.resource, resource)) {
            note_missing(&g.context);
            let policy_ok = match &g.in_resource_policy {
                None => true,
                Some(text) => seen.resource_policy.as_deref().is_some_and(|p| p.contains(text.as_str())),
            };
            if policy_ok && g.context.iter().all(|(k, v)| has(k, v)) {
                decision = "allowed";
                source = Some(if g.in_resource_policy.is_some() { "resource" } else { "role" });
                break;
            }
        }
    }
    let mut m = String::from("      <member>\n");
    m.push_str(&format!("        <EvalActionName>{}</EvalActionName>\n", esc(action)));
    m.push_str(&format!("        <EvalResourceName>{}</EvalResourceName>\n", esc(resource)));
    m.push_str(&format!("        <EvalDecision>{decision}</EvalDecision>\n"));
    m.push_str("        <MatchedStatements>\n");
    if let Some(s) = source {
        let id = if s == "resource" { "ResourcePolicy" } else { "read-connect-private-keys" };
        m.push_str(&format!(
            "          <member>\n            <SourcePolicyId>{id}</SourcePolicyId>\n            <SourcePolicyType>{s}</SourcePolicyType>\n            \
             <StartPosition><Line>1</Line><Column>1</Column></StartPosition>\n            \
             <EndPosition><Line>1</Line><Column>2</Column></EndPosition>\n          </member>\n"
        ));
    }
    m.push_str("        </MatchedStatements>\n        <MissingContextValues>\n");
    for k in &missing {
        m.push_str(&format!("          <member>{}</member>\n", esc(k)));
    }
    m.push_str("        </MissingContextValues>\n      </member>\n");
    m
}

/// `pattern` is exact, or a prefix ending in `*`.
fn like(pattern: &str, value: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => value.starts_with(prefix),
        None => pattern == value,
    }
}

fn parse(form: &[(String, String)]) -> Result<Seen, String> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let list = |prefix: &str| -> Vec<String> { (1..).map_while(|i| get(&format!("{prefix}.member.{i}"))).collect() };
    let policy_source_arn = get("PolicySourceArn").ok_or("PolicySourceArn is required")?;
    if !(20..=2048).contains(&policy_source_arn.len()) {
        return Err(format!(
            "1 validation error detected: Value '{policy_source_arn}' at 'policySourceArn' failed to satisfy constraint"
        ));
    }
    let action_names = list("ActionNames");
    if action_names.is_empty() {
        return Err("ActionNames is required".into());
    }
    for a in &action_names {
        if !(3..=128).contains(&a.len()) || !a.contains(':') {
            return Err(format!("Invalid action name: {a}"));
        }
    }
    let resource_arns = list("ResourceArns");
    for r in &resource_arns {
        if !(1..=2048).contains(&r.len()) {
            return Err(format!("Invalid resource name: {r}"));
        }
    }
    let resource_arns = if resource_arns.is_empty() { vec!["*".to_owned()] } else { resource_arns };
    let mut context = Vec::new();
    for i in 1.. {
        let p = format!("ContextEntries.member.{i}");
        let Some(name) = get(&format!("{p}.ContextKeyName")) else { break };
        if !(5..=256).contains(&name.len()) {
            return Err(format!("Invalid context key name: {name}"));
        }
        let values = list(&format!("{p}.ContextKeyValues"));
        if values.is_empty() {
            return Err(format!("Context key {name} has no values."));
        }
        let kind = get(&format!("{p}.ContextKeyType")).ok_or_else(|| format!("Context key {name} has no type."))?;
        if !CONTEXT_TYPES.contains(&kind.as_str()) {
            return Err(format!("Invalid context key type: {kind}"));
        }
        context.push(SeenContext { name, values, kind });
    }
    let resource_policy = get("ResourcePolicy");
    if let Some(p) = &resource_policy
        && (p.is_empty() || p.len() > 131_072 || !p.chars().all(|c| matches!(c, '\t' | '\n' | '\r' | ' '..='\u{FF}')))
    {
        return Err("ResourcePolicy is not a valid policy document string.".into());
    }
    if let Some(m) = get("MaxItems")
        && !m.parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n))
    {
        return Err(format!("Invalid MaxItems: {m}"));
    }
    Ok(Seen {
        policy_source_arn,
        action_names,
        resource_arns,
        context,
        resource_policy,
        caller_arn: get("CallerArn"),
        marker: get("Marker"),
    })
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    let xml = format!(
        "<ErrorResponse xmlns=\"{NS}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
         <RequestId>00000000-0000-4000-8000-000000000002</RequestId>\n</ErrorResponse>\n",
        esc(code),
        esc(message)
    );
    (status, vec![("Content-Type".into(), "text/xml".into())], xml)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `application/x-www-form-urlencoded` into pairs.
pub(crate) fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The grants and denies the template gives the function role: our reading of
/// `cloudformation/secure-ivr.yaml` (its `ReadKeysUnderThePath`, `ReadKeysOnlyFromInsideTheFunction`
/// and the key policy's `OnlyTheFunctionDecryptsActiveKeysThroughSsm`). With `policy_marker`, the
/// Decrypt grant counts only when the request carries a key policy containing that text.
pub(crate) fn template_grants(
    region: &str,
    account: &str,
    prefix: &str,
    function: &str,
    key: &str,
    policy_marker: Option<&str>,
) -> (Vec<Grant>, Vec<Deny>) {
    let params = format!("arn:aws:ssm:{region}:{account}:parameter{prefix}*");
    let grants = vec![
        Grant {
            action: "ssm:GetParameter".into(),
            resource: params.clone(),
            context: vec![],
            in_resource_policy: None,
        },
        Grant {
            action: "kms:Decrypt".into(),
            resource: key.into(),
            context: vec![
                ("kms:ViaService".into(), format!("ssm.{region}.amazonaws.com")),
                ("kms:EncryptionContext:PARAMETER_ARN".into(), params.clone()),
                ("kms:CallerAccount".into(), account.into()),
            ],
            in_resource_policy: policy_marker.map(str::to_owned),
        },
    ];
    let denies = vec![Deny {
        action: "ssm:GetParameter".into(),
        resource: params,
        unless: vec![("lambda:SourceFunctionArn".into(), function.into())],
    }];
    (grants, denies)
}
