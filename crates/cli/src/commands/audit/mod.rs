//! `secure-ivr audit`: who read the private keys.
//!
//! [`coverage`] decides which records are reads of the keys, [`lookup`] (paced by [`pacing`]) and
//! [`files`] gather records and feed them to the [`report::Collector`] one by one, and
//! [`render`] shows the one [`report::Report`] as text, JSON or HTML.

mod bucket;
mod coverage;
mod files;
mod lookup;
mod pacing;
mod render;
mod report;

use std::path::PathBuf;

use time::OffsetDateTime;

use self::coverage::Watched;
use self::report::{Collector, Scope};
use crate::Ctx;
use crate::commands::Outcome;
use crate::error::{self, CliError, Exit, Result};
use crate::output::{emit, progress};

/// Who read the private keys: CloudTrail GetParameter/GetParameters/GetParametersByPath/
/// GetParameterHistory events on the prefix, and the KMS Decrypt calls SSM made for them (encryption
/// context PARAMETER_ARN), by principal, time, source and outcome.
///
/// Reads the CloudTrail LookupEvents API (last 90 days, management events; paced to CloudTrail's 2
/// requests per second, so a busy account takes minutes) or, with --trail-files, CloudTrail log
/// files (.json / .json.gz, as delivered to S3). Exit 9 when --expect-role (or --stack, whose function
/// role is then expected) is given and any other principal touched the keys.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Start of the period: a duration back from now (90m, 24h, 7d, 2w) or an RFC 3339 time.
    /// LookupEvents keeps 90 days; an earlier start is clamped, with a warning.
    #[arg(long, default_value = "7d", value_parser = parse_when, value_name = "WHEN")]
    pub(crate) since: When,
    /// End of the period, like --since (default now).
    #[arg(long, value_parser = parse_when, value_name = "WHEN")]
    pub(crate) until: Option<When>,
    /// The role that should read the keys: name or ARN (repeatable), normally the Lambda's role.
    #[arg(long = "expect-role", value_name = "ROLE")]
    pub(crate) expect_roles: Vec<String>,
    /// A single parameter the function also reads (its SECURE_IVR_LEGACY_PARAMETER), audited
    /// beside the prefix.
    #[arg(long, value_name = "NAME")]
    pub(crate) legacy_parameter: Option<String>,
    /// The CloudFormation stack that deployed the function (name or stack ID): its
    /// LegacyParameterName parameter is audited beside the prefix, and, unless --expect-role is
    /// given, its FunctionRoleArn output is the expected reader (others then exit 9).
    #[arg(long, value_name = "NAME")]
    pub(crate) stack: Option<String>,
    /// Read CloudTrail log files under this directory instead of calling LookupEvents.
    #[arg(long, value_name = "DIR", conflicts_with = "trail_bucket")]
    pub(crate) trail_files: Option<PathBuf>,
    /// Read CloudTrail log files straight from the trail's bucket (s3://BUCKET/PREFIX).
    #[arg(long, value_name = "S3_URL", value_parser = bucket::parse_url)]
    pub(crate) trail_bucket: Option<(String, String)>,
    /// Also write the report as one self-contained HTML file (created new; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// LookupEvents requests per second (CloudTrail allows 2). For tests against a faster fake.
    #[arg(long, hide = true, env = "SECURE_IVR_LOOKUP_RATE", default_value_t = pacing::CLOUDTRAIL_RATE)]
    pub(crate) lookup_rate: f64,
}

/// A point in time given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// This long before now.
    Ago(time::Duration),
    /// This time.
    At(OffsetDateTime),
}

impl When {
    fn resolve(self, now: OffsetDateTime) -> OffsetDateTime {
        match self {
            Self::Ago(d) => now - d,
            Self::At(t) => t,
        }
    }
}

fn parse_when(s: &str) -> std::result::Result<When, String> {
    if let Some(t) = crate::commands::list::parse_time(s.trim()) {
        return Ok(When::At(t));
    }
    crate::duration::parse(s).map(When::Ago).map_err(|e| format!("{e}, or an RFC 3339 time (2026-11-01T00:00:00Z)"))
}

/// The Region records are kept for with trail files: --region, else AWS_REGION (none: all).
fn files_region(ctx: &Ctx) -> Option<String> {
    ctx.aws.region.clone().or_else(|| std::env::var("AWS_REGION").ok()).filter(|r| !r.trim().is_empty())
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let prefix = ctx.aws.checked_prefix()?;
    if let Some(path) = &args.html {
        crate::files::ensure_absent(path)?;
    }
    let now = OffsetDateTime::now_utc();
    let until = args.until.map_or(now, |w| w.resolve(now)).min(now);
    let mut since = args.since.resolve(now);
    let mut legacy: Vec<String> = args.legacy_parameter.iter().cloned().collect();
    let mut expect_roles = args.expect_roles.clone();
    let mut warnings = Vec::new();
    if let Some(stack) = &args.stack {
        let from = from_stack(ctx, stack, &prefix).await?;
        if let Some(l) = from.legacy {
            if legacy.iter().any(|x| coverage::name_of(x) == coverage::name_of(&l)) {
                progress(format!("the stack's legacy parameter {l} is the one --legacy-parameter names"));
            } else {
                progress(format!("also auditing the stack's legacy parameter {l} (LegacyParameterName)"));
                legacy.push(l);
            }
        }
        if expect_roles.is_empty() {
            progress(format!("expected reader: the stack's function role {}", from.role));
            expect_roles.push(from.role);
        }
        warnings.extend(from.warnings);
    }
    let watched = Watched::new(&prefix, &legacy);
    let report = match &args.trail_files {
        Some(dir) => {
            check_window(since, until)?;
            let region = files_region(ctx);
            let mut acc = Collector::new(watched, since, until, &expect_roles, region.clone());
            let gathered = files::read_dir(dir, &mut acc)?;
            let scope = Scope {
                region,
                since,
                until,
                source: format!("files:{}", dir.display()),
                kms_keys: Vec::new(),
                warnings,
            };
            acc.finish(scope, gathered)
        }
        None if args.trail_bucket.is_some() => {
            check_window(since, until)?;
            let (bucket, key_prefix) = args.trail_bucket.clone().unwrap_or_default();
            let aws = ctx.aws.load().await?;
            let region = aws.region();
            let mut acc = Collector::new(watched, since, until, &expect_roles, Some(region.clone()));
            let gathered = bucket::read_bucket(&aws, &bucket, &key_prefix, &mut acc).await?;
            let scope = Scope {
                region: Some(region),
                since,
                until,
                source: format!("s3://{bucket}/{key_prefix}"),
                kms_keys: Vec::new(),
                warnings,
            };
            acc.finish(scope, gathered)
        }
        None => {
            let (clamped, warning) = lookup::clamp_since(since, now);
            if let Some(w) = warning {
                progress(format!("warning: {w}"));
                warnings.push(w);
                since = clamped;
            }
            check_window(since, until)?;
            let aws = ctx.aws.load().await?;
            let region = aws.region();
            progress(format!("finding the KMS keys of the parameters under {prefix} (ssm:DescribeParameters) ..."));
            let (keys, unknown) = lookup::kms_keys(&aws, &watched).await;
            let plan = lookup::plan(&keys, unknown);
            for w in &plan.warnings {
                progress(format!("warning: {w}"));
            }
            warnings.extend(plan.warnings.iter().cloned());
            let mut acc = Collector::new(watched, since, until, &expect_roles, Some(region.clone()));
            let gathered = lookup::run(&aws, &plan, &mut acc, since, until, args.lookup_rate).await?;
            progress(format!(
                "{} LookupEvents requests ({} pages, {} throttled and retried) in {:.1}s",
                gathered.requests, gathered.pages, gathered.throttled, gathered.seconds
            ));
            let scope = Scope {
                region: Some(region.clone()),
                since,
                until,
                source: format!("cloudtrail:LookupEvents ({region})"),
                kms_keys: plan.kms_keys.clone(),
                warnings,
            };
            acc.finish(scope, gathered)
        }
    };
    if let Some(path) = &args.html {
        write_new(path, render::html(&report).as_bytes())?;
        progress(format!("wrote {}", path.display()));
    }
    let findings = !report.unexpected_principals.is_empty();
    emit(ctx.output, &report)?;
    Ok(if findings { Outcome::Findings } else { Outcome::Done })
}

/// What `--stack` adds to the audit.
struct FromStack {
    legacy: Option<String>,
    role: String,
    warnings: Vec<String>,
}

/// Reads the stack's outputs and parameters (one DescribeStacks).
async fn from_stack(ctx: &Ctx, stack: &str, prefix: &str) -> Result<FromStack> {
    let aws = ctx.aws.load().await?;
    let args = crate::stack::StackArgs { stack: stack.to_owned() };
    let outs = args.outputs(&aws, "--legacy-parameter NAME and --expect-role ROLE instead of --stack").await?;
    let mut warnings = Vec::new();
    let level = |p: &str| format!("{}/", p.trim().trim_end_matches('/'));
    if level(&outs.key_parameter_prefix) != level(prefix) {
        let w = format!(
            "stack {} reads keys under {} but this audit covers {prefix}; pass --prefix {} to audit the function's keys",
            outs.stack_name,
            level(&outs.key_parameter_prefix),
            level(&outs.key_parameter_prefix)
        );
        progress(format!("warning: {w}"));
        warnings.push(w);
    }
    Ok(FromStack { legacy: outs.legacy_parameter, role: outs.function_role_arn, warnings })
}

fn check_window(since: OffsetDateTime, until: OffsetDateTime) -> Result<()> {
    if since >= until {
        return Err(CliError::new(
            Exit::Input,
            format!(
                "the period is empty: --since {} is not before --until {}",
                crate::output::rfc3339(since),
                crate::output::rfc3339(until)
            ),
            "give --since earlier than --until (durations count back from now: --since 30d --until 7d)",
        ));
    }
    Ok(())
}

/// Creates `path` (never overwriting) and writes `data`.
fn write_new(path: &std::path::Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| error::io("could not create", path, e))?;
    f.write_all(data).map_err(|e| error::io("could not write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_takes_durations_and_times() {
        assert_eq!(parse_when("7d"), Ok(When::Ago(time::Duration::days(7))));
        let t = crate::commands::list::parse_time("2026-11-01T00:00:00Z").expect("time");
        assert_eq!(parse_when("2026-11-01T00:00:00Z"), Ok(When::At(t)));
        assert!(parse_when("yesterday").is_err());
    }

    #[test]
    fn an_empty_period_is_refused() {
        let now = OffsetDateTime::now_utc();
        assert!(check_window(now, now).is_err());
        assert!(check_window(now - time::Duration::days(1), now).is_ok());
    }
}
