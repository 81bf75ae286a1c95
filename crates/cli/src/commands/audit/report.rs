//! The audit's one model: what was read, by whom, when. Text, JSON and HTML all render it.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::coverage::Watched;
use crate::output::rfc3339;

/// One read of a watched parameter.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Access {
    /// Event time.
    pub(crate) time: String,
    /// e.g. `ssm:GetParameter`, `kms:Decrypt`.
    pub(crate) action: String,
    /// Principal: role ARN for assumed roles, else the identity ARN.
    pub(crate) principal: String,
    /// userIdentity.type.
    pub(crate) principal_type: String,
    /// Source IP or service.
    pub(crate) source: String,
    /// User agent.
    pub(crate) user_agent: String,
    /// Parameters (or path) named.
    pub(crate) parameters: Vec<String>,
    /// `success` or the error code.
    pub(crate) outcome: String,
    /// Whether the principal is an expected role (None when no --expect-role).
    pub(crate) expected: Option<bool>,
    /// CloudTrail event ID.
    pub(crate) event_id: String,
    /// awsRegion of the record.
    pub(crate) region: String,
}

/// Per-principal summary.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Principal {
    /// Principal.
    pub(crate) principal: String,
    /// Accesses.
    pub(crate) events: usize,
    /// Failed attempts.
    pub(crate) failures: usize,
    /// First seen.
    pub(crate) first: String,
    /// Last seen.
    pub(crate) last: String,
    /// Expected role?
    pub(crate) expected: Option<bool>,
}

/// Reads per day by one principal, for the timeline.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub(crate) day: String,
    /// Principal.
    pub(crate) principal: String,
    /// Reads that day.
    pub(crate) reads: usize,
}

/// How the events were gathered: enough to judge the run and to compare with CloudTrail's limits.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Gathered {
    /// LookupEvents requests sent (throttled ones included).
    pub(crate) requests: u64,
    /// Pages received.
    pub(crate) pages: u64,
    /// Requests answered ThrottlingException (each was retried).
    pub(crate) throttled: u64,
    /// Lookups made, as `Key=Value`.
    pub(crate) lookups: Vec<String>,
    /// Trail files read.
    pub(crate) files_read: u64,
    /// Digest and Insight files skipped.
    pub(crate) files_skipped: u64,
    /// Records looked at.
    pub(crate) records_scanned: u64,
    /// Records from another Region (trail files), skipped.
    pub(crate) records_other_region: u64,
    /// Wall time in seconds.
    pub(crate) seconds: f64,
}

/// The audit, suitable for archiving.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Parameter prefix audited.
    pub(crate) prefix: String,
    /// Single parameters audited besides the prefix (legacy).
    pub(crate) legacy_parameters: Vec<String>,
    /// Region audited (None: trail files of every Region).
    pub(crate) region: Option<String>,
    /// Window start.
    pub(crate) since: String,
    /// Window end.
    pub(crate) until: String,
    /// `cloudtrail:LookupEvents (REGION)` or `files:DIR`.
    pub(crate) source: String,
    /// KMS keys whose Decrypt events were looked up.
    pub(crate) kms_keys: Vec<String>,
    /// Expected roles.
    pub(crate) expected_roles: Vec<String>,
    /// Summary by principal.
    pub(crate) principals: Vec<Principal>,
    /// Principals other than the expected roles.
    pub(crate) unexpected_principals: Vec<String>,
    /// Reads per day by principal.
    pub(crate) timeline: Vec<DayCount>,
    /// Every access, oldest first.
    pub(crate) events: Vec<Access>,
    /// How the events were gathered.
    pub(crate) gathered: Gathered,
    /// What limited the audit (clamped window, unresolved keys).
    pub(crate) warnings: Vec<String>,
}

/// Where the report's scope comes from.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// Region (None: every Region, trail files only).
    pub(crate) region: Option<String>,
    /// Window.
    pub(crate) since: OffsetDateTime,
    /// Window end.
    pub(crate) until: OffsetDateTime,
    /// Source label.
    pub(crate) source: String,
    /// KMS keys looked up.
    pub(crate) kms_keys: Vec<String>,
    /// Warnings.
    pub(crate) warnings: Vec<String>,
}

/// Keeps the reads that matter as records stream past; everything else is dropped at once, so
/// memory grows with the reads found, not with the records scanned.
pub(crate) struct Collector {
    watched: Watched,
    since: OffsetDateTime,
    until: OffsetDateTime,
    expect: Vec<String>,
    region: Option<String>,
    seen: HashSet<String>,
    events: Vec<Access>,
    /// Records offered.
    pub(crate) scanned: u64,
    /// Records skipped for their Region.
    pub(crate) other_region: u64,
}

impl Collector {
    /// A collector for reads of `watched` in `[since, until]`, in `region` when given.
    pub(crate) fn new(
        watched: Watched,
        since: OffsetDateTime,
        until: OffsetDateTime,
        expect: &[String],
        region: Option<String>,
    ) -> Self {
        Self {
            watched,
            since,
            until,
            expect: expect.to_vec(),
            region,
            seen: HashSet::new(),
            events: Vec::new(),
            scanned: 0,
            other_region: 0,
        }
    }

    /// Reads kept so far.
    pub(crate) fn kept(&self) -> usize {
        self.events.len()
    }

    /// Looks at one CloudTrail record and keeps it when it is a read of a watched parameter.
    pub(crate) fn offer(&mut self, r: &Value) {
        self.scanned += 1;
        let Some(t) = r.get("eventTime").and_then(Value::as_str).and_then(crate::commands::list::parse_time) else {
            return;
        };
        if t < self.since || t > self.until {
            return;
        }
        let region = r.get("awsRegion").and_then(Value::as_str).unwrap_or("");
        if let Some(want) = &self.region
            && !region.is_empty()
            && region != want
        {
            self.other_region += 1;
            return;
        }
        let Some(read) = self.watched.read_in(r) else { return };
        let event_id = r.get("eventID").and_then(Value::as_str).unwrap_or("").to_owned();
        if !event_id.is_empty() && !self.seen.insert(event_id.clone()) {
            return;
        }
        let identity = r.get("userIdentity").unwrap_or(&Value::Null);
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_owned();
        let principal = principal_of(identity);
        let expected = (!self.expect.is_empty()).then(|| self.expect.iter().any(|e| role_matches(&principal, e)));
        self.events.push(Access {
            time: rfc3339(t),
            action: read.action,
            principal,
            principal_type: s(identity.get("type")),
            source: s(r.get("sourceIPAddress")),
            user_agent: s(r.get("userAgent")),
            parameters: read.parameters,
            outcome: r.get("errorCode").and_then(Value::as_str).unwrap_or("success").to_owned(),
            expected,
            event_id,
            region: region.to_owned(),
        });
    }

    /// The report.
    pub(crate) fn finish(self, scope: Scope, gathered: Gathered) -> Report {
        let mut events = self.events;
        events.sort_by(|a, b| a.time.cmp(&b.time).then(a.event_id.cmp(&b.event_id)));
        let mut by: BTreeMap<String, Principal> = BTreeMap::new();
        let mut days: BTreeMap<(String, String), usize> = BTreeMap::new();
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
            let day = e.time.get(..10).unwrap_or(&e.time).to_owned();
            *days.entry((day, e.principal.clone())).or_insert(0) += 1;
        }
        let unexpected = by.values().filter(|p| p.expected == Some(false)).map(|p| p.principal.clone()).collect();
        Report {
            prefix: self.watched.prefix().to_owned(),
            legacy_parameters: self.watched.exact().to_vec(),
            region: scope.region,
            since: rfc3339(scope.since),
            until: rfc3339(scope.until),
            source: scope.source,
            kms_keys: scope.kms_keys,
            expected_roles: self.expect,
            principals: by.into_values().collect(),
            unexpected_principals: unexpected,
            timeline: days.into_iter().map(|((day, principal), reads)| DayCount { day, principal, reads }).collect(),
            events,
            gathered: Gathered { records_scanned: self.scanned, records_other_region: self.other_region, ..gathered },
            warnings: scope.warnings,
        }
    }
}

/// The principal of a record: the role for assumed roles, else the identity's ARN.
fn principal_of(identity: &Value) -> String {
    identity
        .pointer("/sessionContext/sessionIssuer/arn")
        .and_then(Value::as_str)
        .or_else(|| identity.get("arn").and_then(Value::as_str))
        .or_else(|| identity.get("invokedBy").and_then(Value::as_str))
        .or_else(|| identity.get("principalId").and_then(Value::as_str))
        .unwrap_or("unknown")
        .to_owned()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    fn record(id: &str, time: &str, region: &str) -> Value {
        json!({"eventSource": "ssm.amazonaws.com", "eventName": "GetParameter", "eventID": id, "eventTime": time,
            "awsRegion": region, "requestParameters": {"name": "/k/a"},
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/alice"}})
    }

    fn collector(region: Option<&str>) -> Collector {
        let t = |s: &str| crate::commands::list::parse_time(s).expect("time");
        Collector::new(
            Watched::new("/k/", &[]),
            t("2026-11-01T00:00:00Z"),
            t("2026-11-30T00:00:00Z"),
            &["fn".to_owned()],
            region.map(str::to_owned),
        )
    }

    #[test]
    fn keeps_each_event_once_within_window_and_region() {
        let mut c = collector(Some("eu-west-2"));
        c.offer(&record("a", "2026-11-02T10:00:00Z", "eu-west-2"));
        c.offer(&record("a", "2026-11-02T10:00:00Z", "eu-west-2"));
        c.offer(&record("b", "2026-10-31T23:59:59Z", "eu-west-2"));
        c.offer(&record("c", "2026-11-30T00:00:01Z", "eu-west-2"));
        c.offer(&record("d", "2026-11-03T10:00:00Z", "us-east-1"));
        c.offer(&record("e", "2026-11-03T11:00:00Z", "eu-west-2"));
        assert_eq!(c.kept(), 2);
        assert_eq!(c.other_region, 1);
        let scope = Scope {
            region: Some("eu-west-2".into()),
            since: OffsetDateTime::UNIX_EPOCH,
            until: OffsetDateTime::UNIX_EPOCH,
            source: "test".into(),
            kms_keys: vec![],
            warnings: vec![],
        };
        let r = c.finish(scope, Gathered::default());
        assert_eq!(r.gathered.records_scanned, 6);
        assert_eq!(r.unexpected_principals, ["arn:aws:iam::1:user/alice"]);
        assert_eq!(
            r.timeline,
            [
                DayCount { day: "2026-11-02".into(), principal: "arn:aws:iam::1:user/alice".into(), reads: 1 },
                DayCount { day: "2026-11-03".into(), principal: "arn:aws:iam::1:user/alice".into(), reads: 1 }
            ]
        );
    }

    #[test]
    fn every_region_when_none_is_given() {
        let mut c = collector(None);
        c.offer(&record("d", "2026-11-03T10:00:00Z", "us-east-1"));
        c.offer(&record("e", "2026-11-03T11:00:00Z", "eu-west-2"));
        assert_eq!(c.kept(), 2);
    }
}
