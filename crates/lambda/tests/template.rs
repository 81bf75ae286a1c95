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

/// The value of `raw` when the parameters take the values `value(name)`.
fn resolve(raw: &str, value: &dyn Fn(&str) -> String) -> String {
    if let Some(name) = raw.strip_prefix("!Ref ") {
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
    let resolved: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), resolve(v, &default))).collect();
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
            let resolved: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), resolve(v, &value))).collect();
            if let Err(e) = config_from(&resolved) {
                panic!("{name} at its {bound_name} {limit}: the function would fail its cold start: {e}");
            }
            checked += 1;
        }
    }
    // KeyCacheTtlSeconds, SsmOperationTimeoutMs and Timeout, each at both ends.
    assert!(checked >= 6, "{checked} bounds checked");
}
