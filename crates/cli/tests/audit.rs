//! `secure-ivr audit` against the CloudTrail fake in `audit_support` (see its doc for what the fake
//! cannot show): the audit finishes at a busy account's scale, asks only for what can matter,
//! stays within the limits, and finds exactly the reads that matter.

// Helpers may panic: a panic is a failed test.
#![allow(clippy::expect_used)]

mod audit_support;
#[allow(unreachable_pub)]
mod common;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::process::{Command, Output};
use std::time::Instant;

use audit_support::{Fake, Limits};
use common::{assert_code, bin_with_creds, err, json, run};

/// Requests per second the fast tests allow (fake) and use (CLI): the same shape as CloudTrail's 2,
/// twenty times faster, so the CI does not wait minutes on real pacing.
const FAST: usize = 40;

fn cli(fake: &Fake, rate: Option<usize>) -> Command {
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", &fake.url)
        .env("AWS_REGION", audit_support::REGION)
        .env("SECURE_IVR_PREFIX", audit_support::PREFIX);
    if let Some(r) = rate {
        c.env("SECURE_IVR_LOOKUP_RATE", r.to_string());
    }
    c
}

fn start(unrelated: usize, fn_reads: usize, limits: Limits) -> (Fake, audit_support::DataSet) {
    let data = audit_support::dataset(unrelated, fn_reads);
    let fake = audit_support::start(&data.records, audit_support::parameters(), audit_support::aliases(), limits);
    (fake, data)
}

fn event_ids(v: &serde_json::Value) -> BTreeSet<String> {
    v["events"].as_array().expect("events").iter().filter_map(|e| e["event_id"].as_str().map(str::to_owned)).collect()
}

fn audit(fake: &Fake, rate: Option<usize>, extra: &[&str]) -> Output {
    let mut c = cli(fake, rate);
    c.args(["--output", "json", "audit", "--since", "14d", "--expect-role", "secure-ivr-fn"]).args(extra);
    run(c, None)
}

#[test]
fn finds_exactly_the_reads_that_matter_among_ten_thousand_unrelated_events() {
    let (fake, data) = start(10_000, 40, Limits { per_second: FAST, throttle_every: None });
    assert!(data.records.len() >= 10_000 + 40);
    let o = audit(&fake, Some(FAST), &[]);
    assert_code(&o, 9);
    let v = json(&o);
    let want: BTreeSet<String> = data.matter.iter().cloned().collect();
    assert_eq!(event_ids(&v), want, "exactly the reads that matter");

    let unexpected: Vec<&str> =
        v["unexpected_principals"].as_array().expect("u").iter().filter_map(|p| p.as_str()).collect();
    assert_eq!(unexpected, [audit_support::ROGUE_ROLE, audit_support::USER]);
    let by = |p: &str| v["principals"].as_array().expect("p").iter().find(|x| x["principal"] == p).cloned().expect(p);
    assert_eq!(by(audit_support::FN_ROLE)["events"], 80);
    assert_eq!(by(audit_support::FN_ROLE)["expected"], true);
    assert_eq!(by(audit_support::ROGUE_ROLE)["failures"], 1);
    let path_read = v["events"]
        .as_array()
        .expect("e")
        .iter()
        .find(|e| e["action"] == "ssm:GetParametersByPath")
        .expect("path read");
    assert_eq!(path_read["principal"], audit_support::USER);
    assert_eq!(path_read["parameters"][0], "/connect/secure-ivr/ (recursive)");

    // Asked only for what can matter: one attribute per call, never EventSource=ssm or every Decrypt.
    let seen = fake.seen.lock().expect("lock").clone();
    let lookups: BTreeSet<&str> = seen.attributes.iter().map(String::as_str).collect();
    let expected_lookups: BTreeSet<String> = [
        "EventName=GetParameter".to_owned(),
        "EventName=GetParameters".to_owned(),
        "EventName=GetParametersByPath".to_owned(),
        "EventName=GetParameterHistory".to_owned(),
        format!("ResourceName={}", audit_support::KEY_ACTIVE),
        format!("ResourceName={}", audit_support::KEY_PENDING),
    ]
    .into();
    assert_eq!(lookups, expected_lookups.iter().map(String::as_str).collect());
    // The Rust SDK sends the short target `CloudTrail_20131101.LookupEvents` (botocore's model names
    // the long `com.amazonaws.cloudtrail.v20131101.` prefix); the fake takes both, as CloudTrail does.
    assert!(seen.targets.iter().all(|t| t.ends_with("CloudTrail_20131101.LookupEvents")), "{:?}", seen.targets.first());
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);

    // Within the limits, and the report's count is the fake's.
    assert_eq!(seen.throttled, 0, "max in a second {}", seen.max_in_a_second);
    assert!(seen.max_in_a_second <= FAST);
    assert_eq!(v["gathered"]["requests"], seen.requests);
    assert_eq!(v["gathered"]["pages"], seen.pages);
    assert_eq!(v["gathered"]["throttled"], 0);
    // GetParameter holds 40 + 2,000 unrelated reads: 41 pages; the other lookups far fewer.
    assert!(seen.pages >= 41 + 5 && seen.pages < 80, "{} pages", seen.pages);
    assert!(err(&o).contains("events scanned"), "progress on stderr: {}", err(&o));
}

#[test]
fn throttles_are_retried_and_lose_nothing() {
    // Every 4th request is throttled whatever the pace: more than any real run should see.
    let (fake, data) = start(1_500, 20, Limits { per_second: FAST, throttle_every: Some(4) });
    let o = audit(&fake, Some(FAST), &[]);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(event_ids(&v), data.matter.iter().cloned().collect::<BTreeSet<_>>());
    let seen = fake.seen.lock().expect("lock").clone();
    assert!(seen.throttled > 0);
    assert_eq!(v["gathered"]["throttled"], seen.throttled);
    assert_eq!(v["gathered"]["requests"], seen.requests);
    assert_eq!(seen.requests, seen.pages + seen.throttled, "every throttled request was retried once");
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

#[test]
fn paces_at_cloudtrails_real_two_per_second() {
    let (fake, data) = start(150, 10, Limits { per_second: 2, throttle_every: None });
    let t = Instant::now();
    let o = audit(&fake, None, &[]);
    let wall = t.elapsed().as_secs_f64();
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(event_ids(&v), data.matter.iter().cloned().collect::<BTreeSet<_>>());
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.throttled, 0, "2/s against a 2/s limit: max {} in a second", seen.max_in_a_second);
    assert!(seen.max_in_a_second <= 2);
    let lower_bound = (seen.requests.saturating_sub(1)) as f64 / 2.0;
    assert!(wall >= lower_bound, "{} requests in {wall:.1}s", seen.requests);
    assert_eq!(v["gathered"]["requests"], seen.requests);
}

#[test]
fn since_beyond_ninety_days_is_clamped_with_a_warning_and_until_cuts_the_end() {
    let (fake, data) = start(500, 5, Limits { per_second: FAST, throttle_every: None });
    let mut c = cli(&fake, Some(FAST));
    c.args([
        "--output",
        "json",
        "audit",
        "--since",
        "120d",
        "--until",
        &data.user_first_read,
        "--expect-role",
        "secure-ivr-fn",
    ]);
    let o = run(c, None);
    assert_code(&o, 9);
    assert!(err(&o).contains("beyond the 90 days"), "{}", err(&o));
    let v = json(&o);
    assert!(v["warnings"][0].as_str().is_some_and(|w| w.contains("90 days")));
    let seen = fake.seen.lock().expect("lock").clone();
    assert!(seen.errors.is_empty(), "the fake refused a request: {:?}", seen.errors);
    // The user's path read is at --until exactly; everything after it (nothing here) is cut.
    let principals: BTreeSet<&str> =
        v["principals"].as_array().expect("p").iter().filter_map(|p| p["principal"].as_str()).collect();
    assert!(principals.contains(audit_support::USER));
    // One second earlier: the user's reads are outside the period.
    let until = time::OffsetDateTime::parse(&data.user_first_read, &time::format_description::well_known::Rfc3339)
        .expect("t")
        - time::Duration::seconds(1);
    let until = until.format(&time::format_description::well_known::Rfc3339).expect("fmt");
    let mut c = cli(&fake, Some(FAST));
    c.args(["--output", "json", "audit", "--since", "14d", "--until", &until, "--expect-role", "secure-ivr-fn"]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    assert!(!v["principals"].as_array().expect("p").iter().any(|p| p["principal"] == audit_support::USER));
    assert!(v["principals"].as_array().expect("p").iter().any(|p| p["principal"] == audit_support::ROGUE_ROLE));

    // An empty period is refused as bad input, before any request.
    let before = fake.seen.lock().expect("lock").requests;
    let mut c = cli(&fake, Some(FAST));
    c.args(["audit", "--since", "1d", "--until", "2d"]);
    let o = run(c, None);
    assert_code(&o, 6);
    assert!(err(&o).contains("period is empty"), "{}", err(&o));
    assert_eq!(fake.seen.lock().expect("lock").requests, before);
}

#[test]
fn only_expected_readers_is_exit_zero() {
    let (fake, _) = start(200, 5, Limits { per_second: FAST, throttle_every: None });
    let mut c = cli(&fake, Some(FAST));
    c.args([
        "audit",
        "--since",
        "14d",
        "--expect-role",
        "secure-ivr-fn",
        "--expect-role",
        "ci-deployer",
        "--expect-role",
        audit_support::USER,
    ]);
    let o = run(c, None);
    assert_code(&o, 0);
    assert!(common::out(&o).contains("by principal:"));
}

/// The fake itself refuses what CloudTrail refuses (so a passing audit is not a lenient fake).
#[test]
fn the_fake_enforces_cloudtrails_rules() {
    let (fake, _) = start(120, 2, Limits { per_second: 2, throttle_every: None });
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let call = |body: serde_json::Value| -> String {
        let addr = fake.url.trim_start_matches("http://");
        let payload = body.to_string();
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents\r\n\
             Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            payload.len()
        )
        .expect("write");
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        std::thread::sleep(std::time::Duration::from_millis(600));
        resp
    };
    let attr = |k: &str, v: &str| serde_json::json!({"AttributeKey": k, "AttributeValue": v});
    assert!(
        call(
            serde_json::json!({"LookupAttributes": [attr("EventName", "GetParameter"), attr("EventName", "Decrypt")]})
        )
        .contains("InvalidLookupAttributesException")
    );
    assert!(call(serde_json::json!({"MaxResults": 51})).contains("InvalidMaxResultsException"));
    assert!(call(serde_json::json!({"StartTime": now - 91 * 86_400})).contains("InvalidTimeRangeException"));
    assert!(call(serde_json::json!({"NextToken": "forged.50"})).contains("InvalidNextTokenException"));
    let first = call(
        serde_json::json!({"LookupAttributes": [attr("EventName", "UpdateInstanceInformation")], "MaxResults": 50}),
    );
    assert!(first.contains("NextToken"), "more than one page of unrelated events");
    // Three requests at once: the third in the same second is throttled.
    let addr = fake.url.clone();
    let quick: Vec<String> = (0..3)
        .map(|_| {
            let addr = addr.trim_start_matches("http://").to_owned();
            let payload = "{}";
            let mut s = std::net::TcpStream::connect(&addr).expect("connect");
            write!(s, "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                payload.len()).expect("write");
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
            let mut r = String::new();
            s.read_to_string(&mut r).expect("read");
            r
        })
        .collect();
    assert!(quick.iter().any(|r| r.contains("ThrottlingException")), "{quick:?}");
}

/// Benchmark, not a timed test (run by scripts/bench-audit.sh): requests and wall time against
/// the lower bound (pages needed / rate), and the audit's peak RSS as unrelated events grow 10x.
/// `SECURE_IVR_BENCH_RATE` (default 2, CloudTrail's limit) sets both the fake's limit and the pace.
#[test]
#[ignore = "benchmark: scripts/bench-audit.sh"]
fn bench_audit_requests_wall_time_and_peak_rss() {
    let rate: usize = std::env::var("SECURE_IVR_BENCH_RATE").ok().and_then(|r| r.parse().ok()).unwrap_or(2);
    for unrelated in [10_000, 100_000] {
        let (fake, data) = start(unrelated, 40, Limits { per_second: rate, throttle_every: None });
        let mut c = cli(&fake, Some(rate));
        c.args(["--output", "json", "audit", "--since", "14d", "--expect-role", "secure-ivr-fn"]);
        c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
        let t = Instant::now();
        let mut child = c.spawn().expect("spawn");
        let status = format!("/proc/{}/status", child.id());
        let mut peak_kb = 0u64;
        let mut stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).expect("read");
            s
        });
        while child.try_wait().expect("wait").is_none() {
            if let Ok(s) = std::fs::read_to_string(&status)
                && let Some(kb) = s
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let wall = t.elapsed().as_secs_f64();
        let v: serde_json::Value = serde_json::from_str(&reader.join().expect("join")).expect("json");
        assert_eq!(event_ids(&v), data.matter.iter().cloned().collect::<BTreeSet<_>>());
        let seen = fake.seen.lock().expect("lock").clone();
        let line = format!(
            "audit bench: unrelated={unrelated} records={} scanned={} pages={} requests={} throttled={} wall={wall:.1}s lower_bound={:.1}s (pages/{rate} per s) peak_rss={peak_kb}kB",
            data.records.len(),
            v["gathered"]["records_scanned"],
            seen.pages,
            seen.requests,
            seen.throttled,
            seen.pages as f64 / rate as f64
        );
        println!("{line}");
        if let Ok(out) = std::env::var("SECURE_IVR_BENCH_OUT")
            && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(out)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}
