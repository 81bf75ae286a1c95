//! The audit through CloudTrail `LookupEvents`: ask only for what can matter, within the limits.
//!
//! One lookup per SSM read event name, and one per KMS key protecting a watched parameter
//! (`ResourceName` = the key's ARN; the Decrypt events are then matched by `PARAMETER_ARN`). One
//! attribute per call (all CloudTrail takes), 50 events a page, paced by [`Pacer`]; each page is
//! filtered as it arrives.

use std::collections::BTreeSet;
use std::time::Instant;

use aws_sdk_cloudtrail::config::retry::RetryConfig;
use aws_sdk_cloudtrail::error::ProvideErrorMetadata as _;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_ssm::types::ParameterStringFilter;
use time::OffsetDateTime;

use super::coverage::{SSM_READS, Watched};
use super::pacing::Pacer;
use super::report::{Collector, Gathered};
use crate::aws::Aws;
use crate::error::{self, CliError, Exit, Result};
use crate::output::{progress, rfc3339};

/// CloudTrail keeps management events this long for `LookupEvents`.
pub(crate) const LOOKBACK_DAYS: i64 = 90;
/// Events per page: CloudTrail's maximum.
const PAGE: i32 = 50;
/// Throttles in a row on one page before giving up.
const MAX_THROTTLES_IN_A_ROW: u32 = 10;
/// Network failures in a row on one page before giving up.
const MAX_TRANSIENT_IN_A_ROW: u32 = 3;

/// One lookup: an attribute and its value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Lookup {
    key: &'static str,
    value: String,
}

impl Lookup {
    fn attribute(&self) -> Result<LookupAttribute> {
        LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::from(self.key))
            .attribute_value(&self.value)
            .build()
            .map_err(|e| CliError::bare(Exit::Internal, format!("lookup attribute: {e}")))
    }
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// What to look up: the SSM read event names, and the KMS keys (ARNs) of the watched parameters.
/// Without a key for some parameter, every `Decrypt` in the Region (slow on a busy account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The lookups, in order.
    pub(crate) lookups: Vec<Lookup>,
    /// The key ARNs.
    pub(crate) kms_keys: Vec<String>,
    /// Why the plan is wider or narrower than it should be.
    pub(crate) warnings: Vec<String>,
}

/// Builds the plan from the KMS key each watched parameter names (None: not known).
pub(crate) fn plan(keys: &BTreeSet<String>, unknown: Option<String>) -> Plan {
    let mut lookups: Vec<Lookup> =
        SSM_READS.iter().map(|n| Lookup { key: "EventName", value: (*n).to_owned() }).collect();
    let mut warnings = Vec::new();
    match unknown {
        Some(why) => {
            warnings
                .push(format!("{why}; looking up every kms:Decrypt in the Region instead (slow on a busy account)"));
            lookups.push(Lookup { key: "EventName", value: "Decrypt".to_owned() });
        }
        None => lookups.extend(keys.iter().map(|k| Lookup { key: "ResourceName", value: k.clone() })),
    }
    Plan { lookups, kms_keys: keys.iter().cloned().collect(), warnings }
}

/// The KMS key ARNs protecting the watched parameters (`DescribeParameters`, aliases and key IDs
/// resolved by `kms:DescribeKey`), or why they could not all be known.
pub(crate) async fn kms_keys(aws: &Aws, watched: &Watched) -> (BTreeSet<String>, Option<String>) {
    let ssm = aws.ssm();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let path = watched.prefix().trim_end_matches('/');
    let filter = ParameterStringFilter::builder().key("Path").option("Recursive").values(path).build();
    let Ok(filter) = filter else { return (ids, Some("could not build the DescribeParameters filter".into())) };
    let mut pages = ssm.describe_parameters().parameter_filters(filter).into_paginator().send();
    let mut parameters = 0usize;
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => {
                for param in p.parameters() {
                    parameters += 1;
                    if let Some(k) = param.key_id() {
                        ids.insert(k.to_owned());
                    }
                }
            }
            Err(e) => {
                let e = error::aws(&format!("describing the parameters under {}", watched.prefix()), e);
                return (BTreeSet::new(), Some(format!("the KMS keys of the parameters are unknown ({})", e.message)));
            }
        }
    }
    for legacy in watched.exact() {
        match crate::store::kms_key_of(&ssm, legacy).await {
            Ok(Some(k)) => {
                ids.insert(k);
            }
            Ok(None) => {}
            Err(e) => return (BTreeSet::new(), Some(format!("the KMS key of {legacy} is unknown ({})", e.message))),
        }
    }
    if ids.is_empty() {
        let why = if parameters == 0 {
            format!("no parameter exists under {} now, so no KMS key is known", watched.prefix())
        } else {
            "SSM reports no KMS key for the parameters".to_owned()
        };
        return (ids, Some(why));
    }
    let kms = aws_sdk_kms::Client::new(&aws.config);
    let mut arns = BTreeSet::new();
    for id in ids {
        match crate::kms::key_arn(&kms, &id).await {
            Ok(arn) => {
                arns.insert(arn);
            }
            Err(e) => return (arns, Some(format!("KMS key {id} could not be resolved to an ARN ({})", e.message))),
        }
    }
    (arns, None)
}

/// Runs the plan, offering every event to `acc`. `rate`: requests per second (CloudTrail: 2).
pub(crate) async fn run(
    aws: &Aws,
    plan: &Plan,
    acc: &mut Collector,
    since: OffsetDateTime,
    until: OffsetDateTime,
    rate: f64,
) -> Result<Gathered> {
    // The pacer retries; the SDK's own retries would send requests the pacer never saw.
    let conf = aws_sdk_cloudtrail::config::Builder::from(&aws.config).retry_config(RetryConfig::disabled()).build();
    let client = aws_sdk_cloudtrail::Client::from_conf(conf);
    let mut pacer = Pacer::new(rate);
    let mut g = Gathered { lookups: plan.lookups.iter().map(ToString::to_string).collect(), ..Gathered::default() };
    let started = Instant::now();
    let window = (until - since).as_seconds_f64().max(1.0);
    for (n, lookup) in plan.lookups.iter().enumerate() {
        let attr = lookup.attribute()?;
        let mut token: Option<String> = None;
        let mut pages = 0u64;
        let lookup_started = Instant::now();
        let mut last_progress = Instant::now();
        let (mut throttles, mut transient) = (0u32, 0u32);
        loop {
            pacer.wait().await;
            g.requests += 1;
            let sent = client
                .lookup_events()
                .lookup_attributes(attr.clone())
                .start_time(DateTime::from_secs(since.unix_timestamp()))
                .end_time(DateTime::from_secs(until.unix_timestamp()))
                .max_results(PAGE)
                .set_next_token(token.clone())
                .send()
                .await;
            pacer.finished();
            let page = match sent {
                Ok(page) => page,
                Err(e) if is_throttle(e.code()) => {
                    g.throttled += 1;
                    throttles += 1;
                    if throttles > MAX_THROTTLES_IN_A_ROW {
                        return Err(gave_up(lookup, &g, acc, error::aws("cloudtrail:LookupEvents", e)));
                    }
                    pacer.throttled();
                    continue;
                }
                Err(e) if e.as_service_error().is_none() && transient < MAX_TRANSIENT_IN_A_ROW => {
                    transient += 1;
                    pacer.throttled();
                    continue;
                }
                Err(e) => return Err(gave_up(lookup, &g, acc, error::aws("cloudtrail:LookupEvents", e))),
            };
            (throttles, transient) = (0, 0);
            pacer.succeeded();
            g.pages += 1;
            pages += 1;
            let mut oldest: Option<i64> = None;
            for event in page.events() {
                oldest = event.event_time().map(DateTime::secs).or(oldest);
                if let Some(Ok(v)) = event.cloud_trail_event().map(serde_json::from_str::<serde_json::Value>) {
                    acc.offer(&v);
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() || last_progress.elapsed().as_secs_f64() >= 1.0 {
                last_progress = Instant::now();
                // Events come newest first: how far back the pages reached says how much is left.
                let done = oldest.map_or(1.0, |o| ((until.unix_timestamp() - o) as f64 / window).clamp(0.01, 1.0));
                let left =
                    if token.is_none() { 0.0 } else { lookup_started.elapsed().as_secs_f64() * (1.0 - done) / done };
                progress(format!(
                    "lookup {}/{} {lookup}: {pages} pages, {} events scanned, {} kept, {:.0}s elapsed{}",
                    n + 1,
                    plan.lookups.len(),
                    acc.scanned,
                    acc.kept(),
                    started.elapsed().as_secs_f64(),
                    if token.is_none() {
                        ", done".to_owned()
                    } else {
                        format!(", about {left:.0}s left for this lookup")
                    }
                ));
            }
            if token.is_none() {
                break;
            }
        }
    }
    g.seconds = started.elapsed().as_secs_f64();
    Ok(g)
}

fn is_throttle(code: Option<&str>) -> bool {
    matches!(code, Some("ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded"))
}

/// The error after giving up, saying what was read and how to go on from there.
fn gave_up(lookup: &Lookup, g: &Gathered, acc: &Collector, err: CliError) -> CliError {
    let hint = format!(
        "{} pages ({} reads) were read before {lookup} failed; {}; rerun later, or narrow the window with --since/--until",
        g.pages,
        acc.kept(),
        err.hint.as_deref().unwrap_or("check --region and credentials")
    );
    err.with_hint(hint)
}

/// `now - 90 days` plus a minute of slack for the clock, and whether `since` was earlier.
pub(crate) fn clamp_since(since: OffsetDateTime, now: OffsetDateTime) -> (OffsetDateTime, Option<String>) {
    let earliest = now - time::Duration::days(LOOKBACK_DAYS) + time::Duration::minutes(1);
    if since < earliest {
        let w = format!(
            "--since {} is beyond the {LOOKBACK_DAYS} days LookupEvents keeps; auditing from {} (use --trail-files for older events)",
            rfc3339(since),
            rfc3339(earliest)
        );
        (earliest, Some(w))
    } else {
        (since, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_asks_once_per_read_event_name_and_once_per_key() {
        let keys: BTreeSet<String> = ["arn:aws:kms:eu-west-2:1:key/a".to_owned()].into();
        let p = plan(&keys, None);
        let shown: Vec<String> = p.lookups.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "EventName=GetParameter",
                "EventName=GetParameters",
                "EventName=GetParametersByPath",
                "EventName=GetParameterHistory",
                "ResourceName=arn:aws:kms:eu-west-2:1:key/a"
            ]
        );
        assert!(p.warnings.is_empty());
        assert!(!shown.iter().any(|s| s.starts_with("EventSource")));
    }

    #[test]
    fn plan_without_known_keys_looks_up_every_decrypt_and_says_so() {
        let p = plan(&BTreeSet::new(), Some("no parameter exists".into()));
        assert_eq!(p.lookups.last().map(ToString::to_string).as_deref(), Some("EventName=Decrypt"));
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn since_is_clamped_to_ninety_days() {
        let now = OffsetDateTime::now_utc();
        let (s, w) = clamp_since(now - time::Duration::days(120), now);
        assert!(w.is_some());
        assert!(s > now - time::Duration::days(90));
        let (s, w) = clamp_since(now - time::Duration::days(30), now);
        assert!(w.is_none());
        assert_eq!(s, now - time::Duration::days(30));
    }

    #[test]
    fn throttle_codes() {
        assert!(is_throttle(Some("ThrottlingException")));
        assert!(!is_throttle(Some("InvalidTimeRangeException")));
        assert!(!is_throttle(None));
    }
}
