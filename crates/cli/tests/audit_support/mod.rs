//! A wire-level CloudTrail `LookupEvents` fake for the audit tests, with the SSM
//! `DescribeParameters` and KMS `DescribeKey` answers the audit asks first, and a data set shaped
//! like a busy account.
//!
//! Shaped from botocore's `cloudtrail/2013-11-01/service-2.json`: JSON 1.1, target prefix
//! `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`; `LookupAttributes` "can contain only
//! one item"; `MaxResults` 1..=50 (default 50); `NextToken` "must be passed in with the same
//! parameters"; events "sorted by time, most recent first"; errors as `{"__type": NAME, "Message"}`
//! with the model's shape names (`InvalidLookupAttributesException`, `InvalidMaxResultsException`,
//! `InvalidTimeRangeException`, `InvalidNextTokenException`, `ThrottlingException`).
//!
//! What the fake cannot show: CloudTrail's real throttling algorithm (it counts every request,
//! throttled ones too, in a sliding one-second window; AWS documents only "two per second"), what
//! real CloudTrail answers to a StartTime older than 90 days (the issue asks for
//! `InvalidTimeRangeException`; the service may instead return only what it keeps), the delay
//! before events become visible (up to 15 minutes), which `Resources` real KMS events carry (the
//! fake lists the record's `resources` ARNs, as CloudTrail records them for KMS), signatures (not
//! checked), and anything about other services' events beyond their record shape.
// A panic in test support is a failed test (clippy.toml allows expect in tests, not in helpers).
#![allow(dead_code, clippy::expect_used, clippy::too_many_arguments)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Request, Response, serve};

pub(crate) const ACCOUNT: &str = "111122223333";
pub(crate) const REGION: &str = "eu-west-2";
pub(crate) const PREFIX: &str = "/connect/secure-ivr/keys/";
pub(crate) const FN_ROLE: &str = "arn:aws:iam::111122223333:role/secure-ivr-fn";
pub(crate) const ROGUE_ROLE: &str = "arn:aws:iam::111122223333:role/ci-deployer";
pub(crate) const USER: &str = "arn:aws:iam::111122223333:user/alice";
/// The key SSM reports by ARN for the active keys.
pub(crate) const KEY_ACTIVE: &str = "arn:aws:kms:eu-west-2:111122223333:key/11111111-1111-4111-8111-111111111111";
/// The key SSM reports by alias for the pending key (resolved through DescribeKey).
pub(crate) const KEY_PENDING: &str = "arn:aws:kms:eu-west-2:111122223333:key/22222222-2222-4222-8222-222222222222";
pub(crate) const KEY_PENDING_ALIAS: &str = "alias/secure-ivr-pending";
const KEY_OTHER: &str = "arn:aws:kms:eu-west-2:111122223333:key/33333333-3333-4333-8333-333333333333";
pub(crate) const ACTIVE_KEY_ID: &str = "0a1b2c3d-0000-4000-8000-000000000001";
pub(crate) const PENDING_FP: &str = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";

const TARGET: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";
const LOOKBACK: i64 = 90 * 86_400;

/// How strict the fake is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Requests allowed in any one second (CloudTrail: 2).
    pub(crate) per_second: usize,
    /// Also throttle every Nth LookupEvents request, to prove retries lose nothing.
    pub(crate) throttle_every: Option<u64>,
}

/// What the fake saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    /// LookupEvents requests.
    pub(crate) requests: u64,
    /// Answered ThrottlingException.
    pub(crate) throttled: u64,
    /// Pages served.
    pub(crate) pages: u64,
    /// Other errors served (type names): should stay empty.
    pub(crate) errors: Vec<String>,
    /// `Key=Value` of each request's one attribute.
    pub(crate) attributes: Vec<String>,
    /// X-Amz-Target values seen for CloudTrail.
    pub(crate) targets: Vec<String>,
    /// The most requests seen in one second (throttled ones included).
    pub(crate) max_in_a_second: usize,
}

/// A running fake.
pub(crate) struct Fake {
    pub(crate) url: String,
    pub(crate) seen: Arc<Mutex<Seen>>,
}

struct Ev {
    time: i64,
    name: String,
    source: String,
    id: String,
    username: String,
    resources: Vec<String>,
    read_only: bool,
    wire: Value,
}

impl Ev {
    fn new(r: &Value) -> Self {
        let s = |p: &str| r.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
        let time = time::OffsetDateTime::parse(&s("/eventTime"), &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .unwrap_or(0);
        let resources: Vec<String> = r
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.get("ARN").and_then(Value::as_str).map(str::to_owned))
            .collect();
        let username = r
            .pointer("/userIdentity/sessionContext/sessionIssuer/userName")
            .or_else(|| r.pointer("/userIdentity/userName"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let read_only = r.get("readOnly").and_then(Value::as_bool).unwrap_or(false);
        let wire = json!({
            "EventId": s("/eventID"),
            "EventName": s("/eventName"),
            "ReadOnly": read_only.to_string(),
            "AccessKeyId": s("/userIdentity/accessKeyId"),
            "EventTime": time,
            "EventSource": s("/eventSource"),
            "Username": username,
            "Resources": resources.iter().map(|a| json!({"ResourceType": "AWS::KMS::Key", "ResourceName": a})).collect::<Vec<_>>(),
            "CloudTrailEvent": r.to_string(),
        });
        Self {
            time,
            name: s("/eventName"),
            source: s("/eventSource"),
            id: s("/eventID"),
            username,
            resources,
            read_only,
            wire,
        }
    }

    fn matches(&self, key: &str, value: &str) -> Option<bool> {
        Some(match key {
            "EventName" => self.name == value,
            "EventSource" => self.source == value,
            "EventId" => self.id == value,
            "Username" => self.username == value,
            "ResourceName" => self.resources.iter().any(|r| r == value),
            "ResourceType" => !self.resources.is_empty() && value == "AWS::KMS::Key",
            "ReadOnly" => self.read_only.to_string() == value,
            "AccessKeyId" => self.wire["AccessKeyId"] == value,
            _ => return None,
        })
    }
}

fn error(kind: &str, msg: &str) -> Response {
    (
        400,
        vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
        json!({"__type": kind, "Message": msg}).to_string(),
    )
}

fn ok(body: Value) -> Response {
    (200, vec![("Content-Type".into(), "application/x-amz-json-1.1".into())], body.to_string())
}

fn secs(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().and_then(|f| format!("{:.0}", f.floor()).parse().ok()))
}

/// Starts the fake with CloudTrail `records` (record JSON), SSM parameters `(name, KeyId)` and
/// KMS aliases `(alias, key ARN)`.
pub(crate) fn start(
    records: &[Value],
    parameters: Vec<(String, String)>,
    aliases: Vec<(String, String)>,
    limits: Limits,
) -> Fake {
    let mut events: Vec<Ev> = records.iter().map(Ev::new).collect();
    events.sort_by(|a, b| b.time.cmp(&a.time).then(a.id.cmp(&b.id)));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = Arc::clone(&seen);
    let window: Arc<Mutex<VecDeque<Instant>>> = Arc::new(Mutex::new(VecDeque::new()));
    let url = serve(move |req: &Request| {
        let target = req.header("x-amz-target").unwrap_or("").to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if target == "AmazonSSM.DescribeParameters" {
            return describe_parameters(&body, &parameters);
        }
        if target == "TrentService.DescribeKey" {
            return describe_key(&body, &aliases);
        }
        if !target.ends_with("CloudTrail_20131101.LookupEvents") {
            return error("UnknownOperationException", &format!("unexpected target {target}"));
        }
        let arrived = Instant::now();
        let mut seen = state.lock().expect("lock");
        seen.requests += 1;
        seen.targets.push(target.clone());
        {
            let mut w = window.lock().expect("lock");
            w.push_back(arrived);
            while w.front().is_some_and(|t| arrived.duration_since(*t) >= Duration::from_secs(1)) {
                w.pop_front();
            }
            seen.max_in_a_second = seen.max_in_a_second.max(w.len());
            let injected = limits.throttle_every.is_some_and(|n| seen.requests % n == 0);
            if w.len() > limits.per_second || injected {
                seen.throttled += 1;
                return error("ThrottlingException", "Rate exceeded");
            }
        }
        let served = lookup(&events, &body, &mut seen);
        if let Some(kind) = served.2.split("\"__type\":\"").nth(1).and_then(|r| r.split('"').next()) {
            seen.errors.push(kind.to_owned());
        } else {
            seen.pages += 1;
        }
        served
    });
    Fake { url, seen }
}

fn lookup(events: &[Ev], body: &Value, seen: &mut Seen) -> Response {
    let attrs = body.get("LookupAttributes").and_then(Value::as_array).cloned().unwrap_or_default();
    if attrs.len() > 1 {
        return error("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.");
    }
    let attr = attrs.first().map(|a| {
        (a["AttributeKey"].as_str().unwrap_or("").to_owned(), a["AttributeValue"].as_str().unwrap_or("").to_owned())
    });
    if let Some((k, v)) = &attr {
        seen.attributes.push(format!("{k}={v}"));
        if events.first().and_then(|e| e.matches(k, v)).is_none() && !events.is_empty() {
            return error("InvalidLookupAttributesException", &format!("{k} is not a lookup attribute key"));
        }
    } else {
        seen.attributes.push("(none)".into());
    }
    let max = match body.get("MaxResults") {
        None => 50,
        Some(v) => match v.as_i64() {
            Some(n @ 1..=50) => usize::try_from(n).unwrap_or(50),
            _ => return error("InvalidMaxResultsException", "MaxResults must be between 1 and 50"),
        },
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let start = body.get("StartTime").and_then(secs).unwrap_or(now - LOOKBACK);
    let end = body.get("EndTime").and_then(secs).unwrap_or(now);
    if start > end || start < now - LOOKBACK {
        return error("InvalidTimeRangeException", "the time range is not valid");
    }
    let fingerprint =
        format!("{attr:?}/{start}/{end}").bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let offset = match body.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => match t.split_once('.') {
            Some((f, o)) if f == fingerprint.to_string() => match o.parse::<usize>() {
                Ok(o) => o,
                Err(_) => return error("InvalidNextTokenException", "invalid token"),
            },
            _ => return error("InvalidNextTokenException", "the token does not match the request's parameters"),
        },
    };
    let matching: Vec<&Ev> = events
        .iter()
        .filter(|e| e.time >= start && e.time <= end)
        .filter(|e| attr.as_ref().is_none_or(|(k, v)| e.matches(k, v) == Some(true)))
        .collect();
    let page: Vec<&Value> = matching.iter().skip(offset).take(max).map(|e| &e.wire).collect();
    let mut out = json!({ "Events": page });
    if offset + max < matching.len() {
        out["NextToken"] = json!(format!("{fingerprint}.{}", offset + max));
    }
    ok(out)
}

fn describe_parameters(body: &Value, parameters: &[(String, String)]) -> Response {
    let filters = body.get("ParameterFilters").and_then(Value::as_array).cloned().unwrap_or_default();
    let list: Vec<Value> = parameters
        .iter()
        .filter(|(name, _)| {
            filters.iter().all(|f| {
                let v = f["Values"][0].as_str().unwrap_or("");
                match (f["Key"].as_str(), f["Option"].as_str()) {
                    (Some("Path"), Some("Recursive")) => name.starts_with(&format!("{}/", v.trim_end_matches('/'))),
                    (Some("Path"), _) => name.rsplit_once('/').map(|(d, _)| d) == Some(v.trim_end_matches('/')),
                    (Some("Name"), _) => name == v,
                    _ => false,
                }
            })
        })
        .map(
            |(name, key)| json!({"Name": name, "Type": "SecureString", "KeyId": key, "Version": 1, "Tier": "Standard"}),
        )
        .collect();
    ok(json!({ "Parameters": list }))
}

fn describe_key(body: &Value, aliases: &[(String, String)]) -> Response {
    let id = body["KeyId"].as_str().unwrap_or("");
    match aliases.iter().find(|(a, arn)| a == id || arn == id) {
        Some((_, arn)) => {
            ok(json!({"KeyMetadata": {"Arn": arn, "KeyId": arn.rsplit('/').next(), "KeyState": "Enabled"}}))
        }
        None => (400, vec![], json!({"__type": "NotFoundException", "message": format!("{id} not found")}).to_string()),
    }
}

/// The parameters SSM holds under the prefix, with their KeyId as SSM reports it.
pub(crate) fn parameters() -> Vec<(String, String)> {
    vec![
        (format!("{PREFIX}{ACTIVE_KEY_ID}"), KEY_ACTIVE.to_owned()),
        (format!("{PREFIX}pending/{PENDING_FP}"), KEY_PENDING_ALIAS.to_owned()),
        ("/app/billing/db-password".to_owned(), KEY_OTHER.to_owned()),
    ]
}

/// The aliases KMS resolves.
pub(crate) fn aliases() -> Vec<(String, String)> {
    vec![(KEY_PENDING_ALIAS.to_owned(), KEY_PENDING.to_owned())]
}

/// A data set: the records, and the IDs of the reads that matter.
pub(crate) struct DataSet {
    pub(crate) records: Vec<Value>,
    pub(crate) matter: Vec<String>,
    /// The alice reads' times (RFC 3339), to cut the window before them.
    pub(crate) user_first_read: String,
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn identity(principal: &str) -> Value {
    if let Some(role) = principal.split(":role/").nth(1) {
        json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:s", "accessKeyId": "ASIAEXAMPLE",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/session"), "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": principal, "userName": role, "accountId": ACCOUNT}}})
    } else {
        let user = principal.rsplit('/').next().unwrap_or("");
        json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": principal, "accountId": ACCOUNT,
            "accessKeyId": "AKIAEXAMPLE", "userName": user})
    }
}

struct Gen {
    now: i64,
    n: u64,
    records: Vec<Value>,
}

impl Gen {
    /// A record `age` seconds ago.
    fn push(
        &mut self,
        age: i64,
        source: &str,
        name: &str,
        principal: &str,
        req: Value,
        error: Option<&str>,
        key: Option<&str>,
    ) -> String {
        self.n += 1;
        let id = format!("{:08x}-{}-4000-8000-{:012x}", self.n, name.len(), self.n);
        let ssm_made = source == "kms.amazonaws.com" && req.pointer("/encryptionContext/PARAMETER_ARN").is_some();
        let mut r = json!({
            "eventVersion": "1.09", "userIdentity": identity(principal), "eventTime": rfc3339(self.now - age),
            "eventSource": source, "eventName": name, "awsRegion": REGION,
            "sourceIPAddress": if ssm_made { "ssm.amazonaws.com" } else { "203.0.113.10" },
            "userAgent": if ssm_made { "ssm.amazonaws.com" } else { "aws-sdk-rust/1.3 os/linux" },
            "requestParameters": req, "responseElements": null, "requestID": format!("req-{}", self.n),
            "eventID": id, "readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": ACCOUNT, "eventCategory": "Management"
        });
        if ssm_made {
            r["userIdentity"]["invokedBy"] = json!("ssm.amazonaws.com");
        }
        if let Some(k) = key {
            r["resources"] = json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": k}]);
        }
        if let Some(e) = error {
            r["errorCode"] = json!(e);
            r["errorMessage"] = json!("User is not authorized to perform this operation");
        }
        self.records.push(r);
        id
    }
}

fn param_arn(name: &str) -> String {
    format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}")
}

/// The reads that matter (the function role, an unexpected role, an IAM user reading by path)
/// among `unrelated` events that do not, over the last 10 days; and a few reads older than 14
/// days, outside the tests' window.
pub(crate) fn dataset(unrelated: usize, fn_reads: usize) -> DataSet {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() - 120;
    let mut g = Gen { now, n: 0, records: Vec::new() };
    let mut matter = Vec::new();
    let active = format!("{PREFIX}{ACTIVE_KEY_ID}");
    let pending = format!("{PREFIX}pending/{PENDING_FP}");
    let ctx = |name: &str| json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"PARAMETER_ARN": param_arn(name)}});
    let day = 86_400;
    for i in 0..fn_reads {
        let age = (i as i64 * 9 * day) / fn_reads.max(1) as i64 + 60;
        // The function asks by name or by ARN; SSM then decrypts with the role's credentials.
        let name = if i % 3 == 0 { param_arn(&active) } else { active.clone() };
        matter.push(g.push(
            age,
            "ssm.amazonaws.com",
            "GetParameter",
            FN_ROLE,
            json!({"name": name, "withDecryption": true}),
            None,
            None,
        ));
        matter.push(g.push(age, "kms.amazonaws.com", "Decrypt", FN_ROLE, ctx(&active), None, Some(KEY_ACTIVE)));
    }
    // An unexpected role: GetParameters naming a key among others, a denied GetParameter, history.
    let t = 2 * day + 300;
    matter.push(g.push(
        t,
        "ssm.amazonaws.com",
        "GetParameters",
        ROGUE_ROLE,
        json!({"names": ["/app/billing/db-password", active], "withDecryption": true}),
        None,
        None,
    ));
    matter.push(g.push(t, "kms.amazonaws.com", "Decrypt", ROGUE_ROLE, ctx(&active), None, Some(KEY_ACTIVE)));
    matter.push(g.push(
        t - 60,
        "ssm.amazonaws.com",
        "GetParameter",
        ROGUE_ROLE,
        json!({"name": format!("{pending}:1"), "withDecryption": true}),
        Some("AccessDenied"),
        None,
    ));
    matter.push(g.push(
        t - 120,
        "ssm.amazonaws.com",
        "GetParameterHistory",
        ROGUE_ROLE,
        json!({"name": active, "withDecryption": false}),
        None,
        None,
    ));
    // An IAM user reading by path from an ancestor, recursive: both keys, each decrypted.
    let t = day + 500;
    let user_first_read = rfc3339(now - t);
    matter.push(g.push(
        t,
        "ssm.amazonaws.com",
        "GetParametersByPath",
        USER,
        json!({"path": "/connect/secure-ivr", "recursive": true, "withDecryption": true}),
        None,
        None,
    ));
    matter.push(g.push(t, "kms.amazonaws.com", "Decrypt", USER, ctx(&active), None, Some(KEY_ACTIVE)));
    matter.push(g.push(t, "kms.amazonaws.com", "Decrypt", USER, ctx(&pending), None, Some(KEY_PENDING)));

    // Outside the window (20 days ago): a key read that the tests' --since 14d must not show.
    g.push(
        20 * day,
        "ssm.amazonaws.com",
        "GetParameter",
        "arn:aws:iam::111122223333:role/old-admin",
        json!({"name": active, "withDecryption": true}),
        None,
        None,
    );

    // Unrelated: what a busy account logs all day.
    for i in 0..unrelated {
        let age = (i as i64 * 10 * day) / unrelated.max(1) as i64 + 30;
        let app = format!("arn:aws:iam::{ACCOUNT}:role/app-{}", i % 7);
        match i % 20 {
            0..=9 => {
                let inst = format!("arn:aws:iam::{ACCOUNT}:role/ec2-managed-{}", i % 13);
                g.push(
                    age,
                    "ssm.amazonaws.com",
                    "UpdateInstanceInformation",
                    &inst,
                    json!({"instanceId": format!("i-{i:017x}"), "agentVersion": "3.3.0"}),
                    None,
                    None,
                );
            }
            10..=13 => {
                g.push(
                    age,
                    "ssm.amazonaws.com",
                    "GetParameter",
                    &app,
                    json!({"name": format!("/app/svc-{}/db-password", i % 11), "withDecryption": true}),
                    None,
                    None,
                );
            }
            14 => {
                // Path reads that do not reach the keys: a sibling, an ancestor without recursive, elsewhere.
                let (path, rec) = match i % 3 {
                    0 => ("/connect/secure-ivr/keys-old", true),
                    1 => ("/connect", false),
                    _ => ("/app", true),
                };
                g.push(
                    age,
                    "ssm.amazonaws.com",
                    "GetParametersByPath",
                    &app,
                    json!({"path": path, "recursive": rec}),
                    None,
                    None,
                );
            }
            15..=17 => {
                g.push(age, "kms.amazonaws.com", "Decrypt", &app, json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::bucket-{}/object", i % 5)}}), None, Some(KEY_OTHER));
            }
            18 => {
                // Under the keys' own KMS key, but for another parameter, or not a decrypt.
                if i % 2 == 0 {
                    g.push(
                        age,
                        "kms.amazonaws.com",
                        "Decrypt",
                        FN_ROLE,
                        ctx("/connect/secure-ivr/config/flags"),
                        None,
                        Some(KEY_ACTIVE),
                    );
                } else {
                    g.push(age, "kms.amazonaws.com", "GenerateDataKey", FN_ROLE, ctx(&active), None, Some(KEY_ACTIVE));
                }
            }
            _ => {
                g.push(
                    age,
                    "ssm.amazonaws.com",
                    "GetParameters",
                    &app,
                    json!({"names": [format!("/app/svc-{}/api-key", i % 11)]}),
                    None,
                    None,
                );
            }
        }
    }
    DataSet { records: g.records, matter, user_first_read }
}

/// Writes `records` as CloudTrail log files (`{"Records": [...]}`, gzip), `per_file` to a file,
/// under `dir` in the layout CloudTrail delivers to S3; returns the number of files.
pub(crate) fn write_trail(dir: &std::path::Path, region: &str, records: &[Value], per_file: usize) -> usize {
    use std::io::Write as _;
    let day = dir.join(format!("AWSLogs/{ACCOUNT}/CloudTrail/{region}/2026/12/01"));
    std::fs::create_dir_all(&day).expect("mkdir");
    let mut n = 0;
    for chunk in records.chunks(per_file.max(1)) {
        n += 1;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json!({ "Records": chunk }).to_string().as_bytes()).expect("gzip");
        let name = format!("{ACCOUNT}_CloudTrail_{region}_20261201T0000Z_{n:06}.json.gz");
        std::fs::write(day.join(name), gz.finish().expect("gzip")).expect("write");
    }
    n
}

/// A key read by `principal` (role ARN), for trail-file tests.
pub(crate) fn key_read(principal: &str, id: &str, region: &str, user_agent: &str) -> Value {
    let mut g = Gen { now: time::OffsetDateTime::now_utc().unix_timestamp() - 3_600, n: 0, records: Vec::new() };
    g.push(
        0,
        "ssm.amazonaws.com",
        "GetParameter",
        principal,
        json!({"name": format!("{PREFIX}{ACTIVE_KEY_ID}"), "withDecryption": true}),
        None,
        None,
    );
    let mut r = g.records.pop().expect("record");
    r["eventID"] = json!(id);
    r["awsRegion"] = json!(region);
    r["userAgent"] = json!(user_agent);
    r
}
