//! The template's parameter defaults and the code's defaults are one set: the environment the
//! function gets from `cloudformation/secure-ivr.yaml` with every parameter at its default
//! configures it exactly as no variable at all does (whose defaults come from
//! `keystore::defaults` and `config`). And every bound the template allows is one the function
//! accepts at cold start. The template is read as text: its `Parameters` and the function's
//! `Environment.Variables`.
#![allow(clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use secure_ivr_lambda::config::{self, vars};
use secure_ivr_lambda::{Config, ConfigError};

/// One template parameter: `Default`, `MinValue`, `MaxValue` as written.
#[derive(Debug, Default)]
struct Parameter {
    default: Option<String>,
    min: Option<String>,
    max: Option<String>,
}

fn template() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../cloudformation/secure-ivr.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unquote(v: &str) -> String {
    v.trim().trim_matches('"').to_owned()
}

/// The top-level `Parameters` section: two-space names, four-space properties.
fn parameters(text: &str) -> HashMap<String, Parameter> {
    let mut out: HashMap<String, Parameter> = HashMap::new();
    let mut current: Option<String> = None;
    let mut inside = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            inside = line.trim_end() == "Parameters:";
            continue;
        }
        if !inside {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            current = Some(name.to_owned());
            out.entry(name.to_owned()).or_default();
        } else if let (Some(name), Some((key, value))) =
            (&current, line.strip_prefix("    ").and_then(|l| l.split_once(": ")))
        {
            let p = out.entry(name.clone()).or_default();
            match key {
                "Default" => p.default = Some(unquote(value)),
                "MinValue" => p.min = Some(unquote(value)),
                "MaxValue" => p.max = Some(unquote(value)),
                _ => {}
            }
        }
    }
    out
}

/// The function's `Environment.Variables`: variable name and its raw value (`!Ref X`, `!Sub ...`).
fn environment(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines().skip_while(|l| l.trim() != "Variables:");
    let header = lines.next().expect("the template sets Environment.Variables");
    let indent = header.len() - header.trim_start().len();
    lines
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let (k, v) = l.trim().split_once(": ").unwrap_or_else(|| panic!("not `NAME: value`: {l}"));
            (k.to_owned(), v.trim().to_owned())
        })
        .collect()
}

/// The only condition an environment value may name (`!If [Payments, X, !Ref AWS::NoValue]`):
/// true when `PaymentConnector` is not `none`.
fn payments_on(value: &dyn Fn(&str) -> String) -> bool {
    value("PaymentConnector") != "none"
}

/// The value of `raw` when the parameters take the values `value(name)`; None for a variable an
/// `!If` leaves out. A logical resource's `!Ref` (the replay table) stands for a made-up name.
fn resolve_opt(raw: &str, value: &dyn Fn(&str) -> String) -> Option<String> {
    if let Some(args) = raw.strip_prefix("!If [").and_then(|r| r.strip_suffix(']')) {
        let parts: Vec<&str> = args.splitn(3, ", ").collect();
        let [condition, yes, no] = parts.as_slice() else { panic!("an !If the test cannot read: {raw}") };
        assert_eq!(*condition, "Payments", "an environment condition the test does not know: {raw}");
        assert_eq!(*no, "!Ref AWS::NoValue", "{raw}");
        return payments_on(value).then(|| resolve(yes, value));
    }
    Some(resolve(raw, value))
}

fn resolve_env(env: &[(String, String)], value: &dyn Fn(&str) -> String) -> Vec<(String, String)> {
    env.iter().filter_map(|(k, v)| resolve_opt(v, value).map(|v| (k.clone(), v))).collect()
}

/// The value of `raw` when the parameters take the values `value(name)`.
fn resolve(raw: &str, value: &dyn Fn(&str) -> String) -> String {
    if let Some(name) = raw.strip_prefix("!Ref ") {
        if name.trim() == "ReplayTable" {
            return "secure-ivr-ReplayTable-1ABC".to_owned();
        }
        return value(name.trim());
    }
    let Some(sub) = raw.strip_prefix("!Sub ") else { panic!("an environment value the test cannot read: {raw}") };
    let mut out = unquote(sub);
    while let Some(start) = out.find("${") {
        let end = out[start..].find('}').map(|e| start + e).expect("closed ${...}");
        let name = out[start + 2..end].to_owned();
        out.replace_range(start..=end, &value(&name));
    }
    out
}

fn config_from(env: &[(String, String)]) -> Result<Config, ConfigError> {
    let map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Config::from_lookup(&|k| map.get(k).map(|v| (*v).to_owned()))
}

#[test]
fn the_template_defaults_configure_the_function_as_the_code_defaults_do() {
    let text = template();
    let params = parameters(&text);
    let env = environment(&text);
    assert!(env.len() >= 9, "{env:?}");
    for (var, _) in &env {
        assert!(vars::ALL.contains(&var.as_str()), "the template sets {var}, which the function does not read");
    }
    let default = |name: &str| {
        params.get(name).and_then(|p| p.default.clone()).unwrap_or_else(|| panic!("parameter {name} has no Default"))
    };
    let resolved = resolve_env(&env, &default);
    assert_eq!(config_from(&resolved).unwrap(), Config::from_lookup(&|_| None).unwrap(), "{resolved:?}");

    // The same, by name, for the defaults the template states as numbers.
    assert_eq!(default("KeyCacheTtlSeconds"), keystore::defaults::CACHE_TTL_SECS.to_string());
    assert_eq!(default("SsmOperationTimeoutMs"), keystore::defaults::SSM_OPERATION_TIMEOUT_MS.to_string());
    assert_eq!(format!("{}000", default("Timeout")), config::DEFAULT_INVOCATION_BUDGET_MS.to_string());
    let ssm = &params["SsmOperationTimeoutMs"];
    assert_eq!(ssm.min.as_deref(), Some(keystore::defaults::SSM_ATTEMPT_TIMEOUT_MS.to_string().as_str()));
    assert_eq!(ssm.max.as_deref(), Some(config::MAX_SSM_OPERATION_MS.to_string().as_str()));
}

#[test]
fn every_bound_the_template_allows_starts_the_function() {
    let text = template();
    let params = parameters(&text);
    let env = environment(&text);
    let mut checked = 0;
    for (bound_name, bound) in
        [("MinValue", (|p| p.min.clone()) as fn(&Parameter) -> Option<String>), ("MaxValue", |p| p.max.clone())]
    {
        for (name, p) in &params {
            let Some(limit) = bound(p) else { continue };
            if !env.iter().any(|(_, raw)| raw.contains(name.as_str())) {
                continue;
            }
            let value = |n: &str| {
                if n == name {
                    limit.clone()
                } else {
                    params.get(n).and_then(|q| q.default.clone()).unwrap_or_default()
                }
            };
            let resolved = resolve_env(&env, &value);
            if let Err(e) = config_from(&resolved) {
                panic!("{name} at its {bound_name} {limit}: the function would fail its cold start: {e}");
            }
            checked += 1;
        }
    }
    // KeyCacheTtlSeconds, SsmOperationTimeoutMs and Timeout, each at both ends.
    assert!(checked >= 6, "{checked} bounds checked");
}

/// Parameters of a stack with the generic connector on (the deploy test's values).
fn payments_value(params: &HashMap<String, Parameter>, set: &[(&str, &str)]) -> impl Fn(&str) -> String + use<> {
    let defaults: HashMap<String, String> =
        params.iter().map(|(k, p)| (k.clone(), p.default.clone().unwrap_or_default())).collect();
    let set: HashMap<String, String> = set.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |n: &str| set.get(n).or_else(|| defaults.get(n)).cloned().unwrap_or_default()
}

const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:secure-ivr-payments-AbCdEf";

#[test]
fn payment_connector_none_sets_no_payment_variable_and_http_configures_the_connector() {
    use secure_ivr_lambda::payment::{self, ConnectorKind, PaymentSettings};
    let text = template();
    let params = parameters(&text);
    let env = environment(&text);
    let payment_vars = [
        payment::vars::CONNECTOR,
        payment::vars::URL,
        payment::vars::SECRET_ARN,
        payment::vars::SECRET_TTL,
        payment::vars::REPLAY_TABLE,
    ];
    for var in payment_vars {
        assert!(env.iter().any(|(k, _)| k == var), "the template does not set {var}");
    }
    assert_eq!(params["PaymentConnector"].default.as_deref(), Some("none"));
    assert_eq!(
        params["PaymentSecretTtlSeconds"].default.as_deref(),
        Some(payment::DEFAULT_SECRET_TTL_SECONDS.to_string().as_str())
    );

    let none = resolve_env(&env, &payments_value(&params, &[]));
    for var in payment_vars {
        assert!(!none.iter().any(|(k, _)| k == var), "{var} is set with PaymentConnector=none: {none:?}");
    }

    let on = payments_value(
        &params,
        &[("PaymentConnector", "http"), ("PaymentUrl", "https://pay.example.com/ivr"), ("PaymentSecretArn", SECRET)],
    );
    let resolved = resolve_env(&env, &on);
    let config = config_from(&resolved).unwrap_or_else(|e| panic!("{e}: {resolved:?}"));
    let PaymentSettings::On(connected) = config.payment else { panic!("no connector: {resolved:?}") };
    assert_eq!(connected.kind, ConnectorKind::Http);
    assert_eq!(connected.secret_arn, SECRET);
    assert_eq!(connected.replay_table, "secure-ivr-ReplayTable-1ABC");
    assert_eq!(connected.secret_ttl.as_secs(), payment::DEFAULT_SECRET_TTL_SECONDS);
    assert_eq!(connected.replay_ttl.as_secs(), 86_400 * payment::DEFAULT_REPLAY_TTL_DAYS);

    // The secret TTL at both of its template bounds starts the function.
    let ttl = &params["PaymentSecretTtlSeconds"];
    for limit in [ttl.min.clone(), ttl.max.clone()].into_iter().map(|l| l.expect("MinValue and MaxValue")) {
        let at = payments_value(
            &params,
            &[
                ("PaymentConnector", "stripe"),
                ("PaymentSecretArn", SECRET),
                ("PaymentSecretTtlSeconds", limit.as_str()),
            ],
        );
        let resolved = resolve_env(&env, &at);
        let config = config_from(&resolved).unwrap_or_else(|e| panic!("PaymentSecretTtlSeconds={limit}: {e}"));
        let PaymentSettings::On(c) = config.payment else { panic!("no connector") };
        assert_eq!(c.secret_ttl.as_secs().to_string(), limit);
    }
}

/// The lines of one top-level resource (two-space name, deeper-indented body).
fn resource_block<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("  {name}:");
    let mut lines = text.lines().skip_while(|l| *l != header);
    assert!(lines.next().is_some(), "no resource {name}");
    lines.take_while(|l| l.is_empty() || l.starts_with("    ") || l.trim_start().starts_with('#')).collect()
}

/// What moto 5.2.5 does not apply from a template (SSE, TTL, point-in-time recovery) is read here:
/// the replay table the function writes to, as `payment/aws.rs` uses it.
#[test]
fn the_replay_table_is_keyed_expired_encrypted_recoverable_and_kept() {
    let text = template();
    let table = resource_block(&text, "ReplayTable");
    for line in [
        "    Type: AWS::DynamoDB::Table",
        "    Condition: Payments",
        "    DeletionPolicy: Retain",
        "    UpdateReplacePolicy: Retain",
        "      BillingMode: PAY_PER_REQUEST",
        "        - { AttributeName: MessageId, AttributeType: S }",
        "        - { AttributeName: MessageId, KeyType: HASH }",
        "      TimeToLiveSpecification: { AttributeName: ExpiresAt, Enabled: true }",
        "      SSESpecification: { SSEEnabled: true, SSEType: KMS }",
        "      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }",
    ] {
        assert!(table.contains(&line), "ReplayTable lacks `{}`: {table:#?}", line.trim());
    }
    // One key attribute only: the item is found by the message ID alone.
    assert_eq!(table.iter().filter(|l| l.contains("AttributeName:")).count(), 3, "{table:#?}");
    // Every payment resource exists only with a connector.
    for name in ["ReplayTable", "PaymentUnknownAlarm", "PaymentErrorAlarm", "PaymentReplayAlarm"] {
        assert!(resource_block(&text, name).contains(&"    Condition: Payments"), "{name} is not behind Payments");
    }
}

/// The payment alarms count what the function emits: the metric and dimension names come from
/// the EMF line `metrics::payment_emf_line` writes.
#[test]
fn the_payment_alarms_watch_the_metric_the_function_emits() {
    let line = secure_ivr_lambda::metrics::payment_emf_line("SecureIvr", 0, "Error", Some("Replay"), 1.0);
    let doc: serde_json::Value = serde_json::from_str(&line).expect("EMF JSON");
    let emf = &doc["_aws"]["CloudWatchMetrics"][0];
    let metric = emf["Metrics"][0]["Name"].as_str().expect("metric name");
    let dims: Vec<Vec<&str>> = emf["Dimensions"]
        .as_array()
        .expect("dimensions")
        .iter()
        .map(|set| set.as_array().expect("set").iter().map(|d| d.as_str().expect("name")).collect())
        .collect();
    assert_eq!(dims, [vec!["PaymentStatus"], vec!["PaymentStatus", "ErrorCode"]]);
    let text = template();
    for (alarm, dimensions) in [
        ("PaymentUnknownAlarm", vec![("PaymentStatus", "Unknown")]),
        ("PaymentErrorAlarm", vec![("PaymentStatus", "Error")]),
        ("PaymentReplayAlarm", vec![("PaymentStatus", "Error"), ("ErrorCode", "Replay")]),
    ] {
        let block = resource_block(&text, alarm);
        assert!(block.contains(&"      Namespace: !Ref MetricsNamespace"), "{alarm}: {block:#?}");
        assert!(block.contains(&format!("      MetricName: {metric}").as_str()), "{alarm}: {block:#?}");
        let written: Vec<&str> = block.iter().copied().filter(|l| l.contains("{ Name: ")).collect();
        let want: Vec<String> =
            dimensions.iter().map(|(n, v)| format!("        - {{ Name: {n}, Value: {v} }}")).collect();
        assert_eq!(written, want, "{alarm}");
        // Exactly one of the function's dimension sets, so CloudWatch has a metric to match.
        let names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
        assert!(dims.contains(&names), "{alarm}: {names:?} is not a dimension set the function emits");
        assert!(
            block.iter().any(|l| l.contains("AlarmActions: !If [PaymentAlarmsNotify, [!Ref AlertTopic]")),
            "{alarm}"
        );
    }
}
