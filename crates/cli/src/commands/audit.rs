//! `secure-ivr audit`.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::commands::Outcome;
use crate::error::{self, CliError, Exit, Result};
use crate::output::{emit, progress, rfc3339};
use crate::{Ctx, duration};

/// SSM calls that return parameter values.
const SSM_READS: [&str; 4] = ["GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory"];

/// Who read the private keys: CloudTrail GetParameter/GetParameters/GetParametersByPath/
/// GetParameterHistory events on the prefix, and the KMS Decrypt calls SSM made for them (encryption
/// context PARAMETER_ARN), by principal, time, source and outcome.
///
/// Reads the CloudTrail LookupEvents API (last 90 days, management events) or, with --trail-files,
/// CloudTrail log files (.json / .json.gz, as delivered to S3). Exit 9 when --expect-role is given
/// and any other principal touched the keys.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How far back to look: 90m, 24h, 7d, 2w.
    #[arg(long, default_value = "7d", value_parser = duration::parse, value_name = "DURATION")]
    pub since: time::Duration,
    /// The role that should read the keys: name or ARN (repeatable), normally the Lambda's role.
    #[arg(long = "expect-role", value_name = "ROLE")]
    pub expect_roles: Vec<String>,
    /// Read CloudTrail log files under this directory instead of calling LookupEvents.
    #[arg(long, value_name = "DIR")]
    pub trail_files: Option<PathBuf>,
}

/// One access.
#[derive(Debug, Clone, Serialize)]
pub struct Access {
    /// Event time.
    pub time: String,
    /// e.g. `ssm:GetParameter`, `kms:Decrypt`.
    pub action: String,
    /// Principal: role ARN for assumed roles, else the identity ARN.
    pub principal: String,
    /// userIdentity.type.
    pub principal_type: String,
    /// Source IP or service.
    pub source: String,
    /// User agent.
    pub user_agent: String,
    /// Parameters (or path) named.
    pub parameters: Vec<String>,
    /// `success` or the error code.
    pub outcome: String,
    /// Whether the principal is an expected role (None when no --expect-role).
    pub expected: Option<bool>,
    /// CloudTrail event ID.
    pub event_id: String,
}

/// Per-principal summary.
#[derive(Debug, Serialize)]
pub struct Principal {
    /// Principal.
    pub principal: String,
    /// Accesses.
    pub events: usize,
    /// Failed attempts.
    pub failures: usize,
    /// First seen.
    pub first: String,
    /// Last seen.
    pub last: String,
    /// Expected role?
    pub expected: Option<bool>,
}

/// The audit, suitable for archiving.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Parameter prefix audited.
    pub prefix: String,
    /// Window start.
    pub since: String,
    /// Window end (report time).
    pub until: String,
    /// `cloudtrail:LookupEvents (REGION)` or `files:DIR`.
    pub source: String,
    /// Expected roles.
    pub expected_roles: Vec<String>,
    /// Summary by principal.
    pub principals: Vec<Principal>,
    /// Principals other than the expected roles.
    pub unexpected_principals: Vec<String>,
    /// Every access, oldest first.
    pub events: Vec<Access>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "key reads under {} from {} to {} ({})", self.prefix, self.since, self.until, self.source)?;
        if self.events.is_empty() {
            return writeln!(f, "no reads found");
        }
        writeln!(f, "\nby principal:")?;
        for p in &self.principals {
            let mark = match p.expected {
                Some(false) => "  <-- UNEXPECTED",
                _ => "",
            };
            writeln!(
                f,
                "  {} : {} reads, {} failed, {} .. {}{mark}",
                p.principal, p.events, p.failures, p.first, p.last
            )?;
        }
        writeln!(f, "\nevents:")?;
        for e in &self.events {
            writeln!(
                f,
                "  {} {:<24} {:<10} {} from {} [{}]",
                e.time,
                e.action,
                e.outcome,
                e.principal,
                e.source,
                e.parameters.join(", ")
            )?;
        }
        if !self.unexpected_principals.is_empty() {
            writeln!(f, "\nUNEXPECTED principals: {}", self.unexpected_principals.join(", "))?;
        }
        Ok(())
    }
}

/// Turns one CloudTrail record (the documented record format) into an access on `prefix`, if it is one.
pub fn access_from_record(r: &Value, prefix: &str, expect: &[String]) -> Option<Access> {
    let source = r.get("eventSource")?.as_str()?;
    let name = r.get("eventName")?.as_str()?;
    let req = r.get("requestParameters").unwrap_or(&Value::Null);
    let params: Vec<String> = match (source, name) {
        ("ssm.amazonaws.com", n) if SSM_READS.contains(&n) => {
            let mut names: Vec<String> = Vec::new();
            if let Some(n) = req.get("name").and_then(Value::as_str) {
                names.push(normalise(n));
            }
            if let Some(list) = req.get("names").and_then(Value::as_array) {
                names.extend(list.iter().filter_map(Value::as_str).map(normalise));
            }
            if let Some(p) = req.get("path").and_then(Value::as_str) {
                let path = normalise(p);
                let dir = if path.ends_with('/') { path.clone() } else { format!("{path}/") };
                if dir.starts_with(prefix) || prefix.starts_with(&dir) {
                    names.push(path);
                }
            }
            names.into_iter().filter(|n| n.starts_with(prefix) || prefix.starts_with(&format!("{n}/"))).collect()
        }
        ("kms.amazonaws.com", "Decrypt") => {
            let arn = req.get("encryptionContext").and_then(|c| c.get("PARAMETER_ARN")).and_then(Value::as_str)?;
            let n = normalise(arn);
            if n.starts_with(prefix) { vec![n] } else { vec![] }
        }
        _ => return None,
    };
    if params.is_empty() {
        return None;
    }
    let identity = r.get("userIdentity").unwrap_or(&Value::Null);
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
    let issuer = identity.pointer("/sessionContext/sessionIssuer/arn").and_then(Value::as_str);
    let principal = issuer
        .or_else(|| identity.get("arn").and_then(Value::as_str))
        .or_else(|| identity.get("invokedBy").and_then(Value::as_str))
        .or_else(|| identity.get("principalId").and_then(Value::as_str))
        .unwrap_or("unknown")
        .to_owned();
    let expected = (!expect.is_empty()).then(|| expect.iter().any(|e| role_matches(&principal, e)));
    Some(Access {
        time: s(r.get("eventTime")),
        action: format!("{}:{name}", source.trim_end_matches(".amazonaws.com")),
        principal,
        principal_type: s(identity.get("type")),
        source: s(r.get("sourceIPAddress")),
        user_agent: s(r.get("userAgent")),
        parameters: params,
        outcome: r.get("errorCode").and_then(Value::as_str).unwrap_or("success").to_owned(),
        expected,
        event_id: s(r.get("eventID")),
    })
}

/// Parameter ARN or name to `/name`.
fn normalise(n: &str) -> String {
    let n = match n.find(":parameter") {
        Some(i) if n.starts_with("arn:") => n.get(i + ":parameter".len()..).unwrap_or(n),
        _ => n,
    };
    if n.starts_with('/') { n.to_owned() } else { format!("/{n}") }
}

/// Whether `principal` (role ARN or identity ARN) is the role `expected` (name or ARN).
fn role_matches(principal: &str, expected: &str) -> bool {
    if principal == expected {
        return true;
    }
    let name = |arn: &str| -> Option<String> {
        if let Some(i) = arn.find(":role/") {
            return arn.get(i + 6..)?.rsplit('/').next().map(str::to_owned);
        }
        if let Some(i) = arn.find(":assumed-role/") {
            return arn.get(i + 14..)?.split('/').next().map(str::to_owned);
        }
        None
    };
    let want = if expected.starts_with("arn:") { name(expected) } else { Some(expected.to_owned()) };
    match (name(principal), want) {
        (Some(p), Some(w)) => p == w,
        _ => false,
    }
}

/// Reads CloudTrail log files (`{"Records": [...]}`, optionally gzip) under `dir`.
pub fn read_trail_files(dir: &Path) -> Result<Vec<Value>> {
    let mut records = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut files = 0usize;
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| error::io("could not read directory", &d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| error::io("could not read directory", &d, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = if name.ends_with(".json.gz") {
                let f = std::fs::File::open(&path).map_err(|e| error::io("could not open", &path, e))?;
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(f).read_to_end(&mut out).map_err(|e| {
                    CliError::input(
                        format!("{} is not valid gzip: {e}", path.display()),
                        "give CloudTrail files as delivered to S3",
                    )
                })?;
                out
            } else if name.ends_with(".json") {
                std::fs::read(&path).map_err(|e| error::io("could not read", &path, e))?
            } else {
                continue;
            };
            files += 1;
            let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
                CliError::input(
                    format!("{} is not JSON: {e}", path.display()),
                    "give CloudTrail log files ({\"Records\": [...]})",
                )
            })?;
            let Some(list) = doc.get("Records").and_then(Value::as_array) else {
                return Err(CliError::input(
                    format!("{} has no Records array", path.display()),
                    "give CloudTrail log files as delivered to S3 (digest files are skipped by name)",
                ));
            };
            records.extend(list.iter().cloned());
        }
    }
    if files == 0 {
        return Err(CliError::input(
            format!("no .json or .json.gz files under {}", dir.display()),
            "download the trail's files first: aws s3 sync s3://BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/ DIR",
        ));
    }
    Ok(records)
}

async fn lookup(ctx: &Ctx, since: OffsetDateTime) -> Result<(Vec<Value>, String)> {
    let aws = ctx.aws.load().await?;
    let client = aws.cloudtrail();
    let start = aws_sdk_cloudtrail::primitives::DateTime::from_secs(since.unix_timestamp());
    let mut records = Vec::new();
    for (key, value) in
        [(LookupAttributeKey::EventSource, "ssm.amazonaws.com"), (LookupAttributeKey::EventName, "Decrypt")]
    {
        let attr = LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .map_err(|e| CliError::bare(Exit::Internal, format!("lookup attribute: {e}")))?;
        progress(format!("looking up CloudTrail events ({value}) ..."));
        let pages = client
            .lookup_events()
            .lookup_attributes(attr)
            .start_time(start)
            .into_paginator()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err(|e| error::aws("cloudtrail:LookupEvents", e))?;
        for page in pages {
            for event in page.events.unwrap_or_default() {
                if let Some(Ok(v)) = event.cloud_trail_event.as_deref().map(serde_json::from_str::<Value>) {
                    records.push(v);
                }
            }
        }
    }
    Ok((records, format!("cloudtrail:LookupEvents ({})", aws.region())))
}

/// Builds the report from records.
pub fn report(records: &[Value], prefix: &str, since: OffsetDateTime, expect: &[String], source: String) -> Report {
    let since_s = rfc3339(since);
    let mut events: Vec<Access> = records
        .iter()
        .filter(|r| {
            r.get("eventTime")
                .and_then(Value::as_str)
                .and_then(crate::commands::list::parse_time)
                .is_some_and(|t| t >= since)
        })
        .filter_map(|r| access_from_record(r, prefix, expect))
        .collect();
    events.sort_by(|a, b| a.time.cmp(&b.time).then(a.event_id.cmp(&b.event_id)));
    events.dedup_by(|a, b| !a.event_id.is_empty() && a.event_id == b.event_id);
    let mut by: BTreeMap<String, Principal> = BTreeMap::new();
    for e in &events {
        let p = by.entry(e.principal.clone()).or_insert_with(|| Principal {
            principal: e.principal.clone(),
            events: 0,
            failures: 0,
            first: e.time.clone(),
            last: e.time.clone(),
            expected: e.expected,
        });
        p.events += 1;
        if e.outcome != "success" {
            p.failures += 1;
        }
        p.last = e.time.clone();
    }
    let unexpected = by.values().filter(|p| p.expected == Some(false)).map(|p| p.principal.clone()).collect();
    Report {
        prefix: prefix.to_owned(),
        since: since_s,
        until: rfc3339(OffsetDateTime::now_utc()),
        source,
        expected_roles: expect.to_vec(),
        principals: by.into_values().collect(),
        unexpected_principals: unexpected,
        events,
    }
}

/// Runs the command.
pub async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let prefix = ctx.aws.checked_prefix()?;
    let since = OffsetDateTime::now_utc() - args.since;
    let (records, source) = match &args.trail_files {
        Some(dir) => (read_trail_files(dir)?, format!("files:{}", dir.display())),
        None => lookup(ctx, since).await?,
    };
    let r = report(&records, &prefix, since, &args.expect_roles, source);
    let findings = !r.unexpected_principals.is_empty();
    emit(ctx.output, &r)?;
    Ok(if findings { Outcome::Findings } else { Outcome::Done })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_roles_by_name_or_arn() {
        let p = "arn:aws:iam::111122223333:role/service-role/decrypt-fn";
        assert!(role_matches(p, "decrypt-fn"));
        assert!(role_matches(p, "arn:aws:iam::111122223333:role/decrypt-fn"));
        assert!(role_matches("arn:aws:sts::111122223333:assumed-role/decrypt-fn/s1", "decrypt-fn"));
        assert!(!role_matches(p, "other"));
        assert!(!role_matches("arn:aws:iam::111122223333:user/alice", "alice-role"));
    }

    #[test]
    fn normalises_parameter_arns() {
        assert_eq!(normalise("arn:aws:ssm:eu-west-2:1:parameter/connect/k/a"), "/connect/k/a");
        assert_eq!(normalise("connect/k/a"), "/connect/k/a");
    }

    #[test]
    fn ignores_reads_outside_the_prefix() {
        let r = serde_json::json!({"eventSource":"ssm.amazonaws.com","eventName":"GetParameter",
            "requestParameters":{"name":"/other/x"},"userIdentity":{"arn":"a"}});
        assert!(access_from_record(&r, "/connect/k/", &[]).is_none());
    }
}
