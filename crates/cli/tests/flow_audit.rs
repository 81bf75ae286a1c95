//! `secure-ivr flow-audit` against a wire-level fake of Amazon Connect (tests/common's
//! `fake_connect_flows`): REST-JSON paths, paging parameters, MaxResults limits, response and
//! error shapes as botocore's connect model (2017-08-08) gives them, with List* pages cut short
//! (`page_cap`) and every Nth request refused with HTTP 429 so the SDK's retries must get through.
//!
//! What the fake cannot show: whether real Connect accepts or rejects these flows (it stores and
//! returns content without validating it); Connect's real page sizes, rate limits and retry-after
//! behaviour; SAVED versus PUBLISHED content (every flow here is PUBLISHED, and `$SAVED` is not
//! served); flow types other than CONTACT_FLOW; IAM (every call is allowed unless a flow is set
//! to fail); signature checking; and the instance's real flow-log and recording settings, which
//! the rules assume on.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a failed expect or index is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::process::Command;

use common::{
    FakeConnect, FakeFlow, FakeKey, FakeOptions, assert_code, bin_with_creds, err, fake_connect_flows, json, out, run,
};
use serde_json::{Value, json};

const INSTANCE: &str = "0f6b5b8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b";
const REGION: &str = "eu-west-2";
const OURS: &str = "arn:aws:lambda:eu-west-2:111122223333:function:secure-ivr-decrypt";
const OTHER: &str = "arn:aws:lambda:eu-west-2:111122223333:function:collector";
const KEY_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";

/// A certificate valid for `days` more days and the SPKI PEM of its key (what Connect holds).
fn cert(days: i64) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key pair");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
    (params.self_signed(&key).expect("certificate").pem(), key.public_key_pem())
}

fn action(id: &str, kind: &str, params: Value, next: &str) -> Value {
    json!({"Identifier": id, "Type": kind, "Parameters": params,
           "Transitions": {"NextAction": next, "Errors": [{"NextAction": "bye", "ErrorType": "NoMatchingError"}], "Conditions": []}})
}

/// A capture flow: logging and recording off, the capture (`enc` = InputEncryption, or none),
/// then the Lambda `arn`, with `between` (an action id) between capture and Lambda if given.
fn capture_flow(enc: Option<Value>, arn: &str, between: Option<Value>, end: &str) -> String {
    let mut params = json!({"Text": "Card number?", "StoreInput": "True"});
    if let Some(e) = enc {
        params["InputEncryption"] = e;
    }
    let after_capture = between.as_ref().map_or("decrypt", |b| b["Identifier"].as_str().expect("id"));
    let mut actions = vec![
        action("log-off", "UpdateFlowLoggingBehavior", json!({"FlowLoggingBehavior": "Disabled"}), "rec-off"),
        action(
            "rec-off",
            "UpdateContactRecordingAndAnalyticsBehavior",
            json!({"VoiceBehavior": {"VoiceRecordingBehavior": {"RecordedParticipants": [], "IVRRecordingBehavior": "Disabled"}}}),
            "ask",
        ),
        action("ask", "GetParticipantInput", params, after_capture),
        action(
            "decrypt",
            "InvokeLambdaFunction",
            json!({"LambdaFunctionARN": arn, "InvocationTimeLimitSeconds": "8",
                   "LambdaInvocationAttributes": {"EncryptedCard": "$.StoredCustomerInput", "EncryptedCardType": "card"},
                   "ResponseValidation": {"ResponseType": "STRING_MAP"}}),
            "log-on",
        ),
        action("log-on", "UpdateFlowLoggingBehavior", json!({"FlowLoggingBehavior": "Enabled"}), "bye"),
        json!({"Identifier": "bye", "Type": end, "Parameters": {}, "Transitions": {}}),
    ];
    actions.extend(between);
    json!({"Version": "2019-10-30", "StartAction": "log-off", "Actions": actions}).to_string()
}

fn menu_flow() -> String {
    json!({"Version": "2019-10-30", "StartAction": "hi", "Actions": [
        action("hi", "MessageParticipant", json!({"Text": "Hello"}), "bye"),
        {"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
    ]})
    .to_string()
}

fn enc(key_id: &str, pem: &str) -> Option<Value> {
    Some(json!({"EncryptionKeyId": key_id, "Key": pem}))
}

/// An instance with one compliant flow and module, a flow that captures nothing, and one flow
/// per finding.
fn mixed_instance(opts: FakeOptions) -> FakeConnect {
    let (pem, public) = cert(365);
    let good = |end| capture_flow(enc(KEY_ID, &pem), OURS, None, end);
    let sneaky = action("sneaky", "UpdateFlowLoggingBehavior", json!({"FlowLoggingBehavior": "Enabled"}), "decrypt");
    let mut broken = FakeFlow::flow("f-broken", "Unpublished", &good("DisconnectParticipant"));
    broken.describe_error = Some((404, "ContactFlowNotPublishedException".into()));
    let flows = vec![
        FakeFlow::flow("f-good", "Card capture", &good("DisconnectParticipant")),
        FakeFlow::flow("f-menu", "Main menu", &menu_flow()),
        FakeFlow::flow("f-plain", "Unencrypted", &capture_flow(None, OURS, None, "DisconnectParticipant")),
        FakeFlow::flow(
            "f-stale",
            "Stale key",
            &capture_flow(enc("retired-0000", &pem), OURS, None, "DisconnectParticipant"),
        ),
        FakeFlow::flow(
            "f-logging",
            "Logging between",
            &capture_flow(enc(KEY_ID, &pem), OURS, Some(sneaky), "DisconnectParticipant"),
        ),
        FakeFlow::flow(
            "f-other",
            "Other function",
            &capture_flow(enc(KEY_ID, &pem), OTHER, None, "DisconnectParticipant"),
        ),
        broken,
        FakeFlow::module("m-good", "Capture module", &good("EndFlowModuleExecution")),
    ];
    let fake = fake_connect_flows(INSTANCE, flows, opts);
    fake.keys.lock().expect("lock").push(FakeKey {
        association_id: KEY_ID.into(),
        key: public,
        creation_time: 1_700_000_000,
    });
    fake
}

fn flow_audit(fake: &FakeConnect, args: &[&str]) -> Command {
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL_CONNECT", &fake.url).args(["--region", REGION, "flow-audit"]).args(args);
    c
}

/// (rule, flow id, action) of every finding in the JSON report.
fn findings(v: &Value) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().expect("rule").to_owned(),
                f["flow"]["id"].as_str().expect("id").to_owned(),
                f["action"].as_str().map(str::to_owned),
            )
        })
        .collect();
    out.sort();
    out
}

fn finding(rule: &str, id: &str, action: Option<&str>) -> (String, String, Option<String>) {
    (rule.to_owned(), id.to_owned(), action.map(str::to_owned))
}

#[test]
fn reports_each_finding_by_flow_and_action_and_exits_9() {
    let fake = mixed_instance(FakeOptions::default());
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS, "--output", "json"]), None);
    assert_code(&o, 9);
    let v = json(&o);
    let mut want = vec![
        finding("content-unavailable", "f-broken", None),
        finding("no-logging-between-capture-and-lambda", "f-logging", Some("decrypt")),
        finding("stored-input-to-other-function", "f-other", Some("decrypt")),
        finding("unencrypted-capture", "f-plain", Some("ask")),
        finding("unknown-key-id", "f-stale", Some("ask")),
    ];
    want.sort();
    assert_eq!(findings(&v), want, "{v:#}");
    assert_eq!(v["instance_id"], INSTANCE);
    assert_eq!(v["lambda_arn"], OURS);
    assert_eq!(v["skipped"], json!([]));
    assert_eq!(v["key_ids"], json!([KEY_ID]));
    let broken =
        v["findings"].as_array().expect("findings").iter().find(|f| f["flow"]["id"] == "f-broken").expect("broken");
    assert!(broken["message"].as_str().is_some_and(|m| m.contains("ContactFlowNotPublishedException")), "{broken}");
    assert_eq!(broken["flow"]["name"], "Unpublished");
    let flows = v["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 8);
    let row = |id: &str| flows.iter().find(|f| f["id"] == id).expect("flow row");
    assert_eq!(row("m-good")["kind"], "module");
    assert_eq!(row("m-good")["findings"], 0);
    assert_eq!(row("f-menu")["captures"], json!([]));
    assert_eq!(row("f-good")["captures"], json!(["ask"]));
}

#[test]
fn the_text_report_names_the_flow_its_id_and_the_action() {
    let fake = mixed_instance(FakeOptions::default());
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS]), None);
    assert_code(&o, 9);
    let text = out(&o);
    assert!(text.contains("FINDING  unencrypted-capture  flow \"Unencrypted\" (f-plain) action ask: "), "{text}");
    assert!(text.contains("FINDING  content-unavailable  flow \"Unpublished\" (f-broken): "), "{text}");
    assert!(
        text.contains("instance 0f6b5b8e-1c2d-4e3f-8a9b-0c1d2e3f4a5b: 7 flows and 1 modules, 6 of them capture input"),
        "{text}"
    );
    assert!(text.contains("5 findings in 8 flows and modules"), "{text}");
    assert!(!text.contains("BEGIN CERTIFICATE"), "a certificate body in the report");
    assert!(err(&o).contains("reading the flows and modules"), "{}", err(&o));
}

#[test]
fn without_our_function_the_other_function_rule_is_skipped_and_said_so() {
    let fake = mixed_instance(FakeOptions::default());
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--output", "json"]), None);
    assert_code(&o, 9);
    let v = json(&o);
    assert!(!findings(&v).iter().any(|f| f.0 == "stored-input-to-other-function"), "{v:#}");
    assert_eq!(v["skipped"][0]["rule"], "stored-input-to-other-function", "{v:#}");
    assert_eq!(v["lambda_arn"], Value::Null);
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE]), None);
    assert!(out(&o).contains("SKIPPED  stored-input-to-other-function: "), "{}", out(&o));
}

#[test]
fn a_compliant_instance_exits_0_and_an_expiring_certificate_is_a_finding() {
    let (pem, public) = cert(100);
    let flows = vec![
        FakeFlow::flow("f-good", "Card capture", &capture_flow(enc(KEY_ID, &pem), OURS, None, "DisconnectParticipant")),
        FakeFlow::flow("f-menu", "Main menu", &menu_flow()),
    ];
    let fake = fake_connect_flows(INSTANCE, flows, FakeOptions::default());
    fake.keys.lock().expect("lock").push(FakeKey {
        association_id: KEY_ID.into(),
        key: public,
        creation_time: 1_700_000_000,
    });
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS, "--output", "json"]), None);
    assert_code(&o, 0);
    assert_eq!(findings(&json(&o)), []);
    let o = run(
        flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS, "--warn-days", "120", "--output", "json"]),
        None,
    );
    assert_code(&o, 9);
    assert_eq!(findings(&json(&o)), [finding("certificate-expiring", "f-good", Some("ask"))]);
}

#[test]
fn a_certificate_for_another_key_than_connect_holds_is_a_finding() {
    let (pem, _) = cert(365);
    let (_, connect_public) = cert(365);
    let flows =
        vec![FakeFlow::flow("f-x", "Mismatch", &capture_flow(enc(KEY_ID, &pem), OURS, None, "DisconnectParticipant"))];
    let fake = fake_connect_flows(INSTANCE, flows, FakeOptions::default());
    fake.keys.lock().expect("lock").push(FakeKey {
        association_id: KEY_ID.into(),
        key: connect_public,
        creation_time: 1,
    });
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS, "--output", "json"]), None);
    assert_code(&o, 9);
    assert_eq!(findings(&json(&o)), [finding("certificate-key-mismatch", "f-x", Some("ask"))]);
}

#[test]
fn pages_through_every_list_and_gets_past_throttling() {
    let (pem, public) = cert(365);
    let flows: Vec<FakeFlow> = (0..7)
        .map(|i| {
            let content = if i == 5 {
                capture_flow(None, OURS, None, "DisconnectParticipant")
            } else {
                capture_flow(enc(KEY_ID, &pem), OURS, None, "DisconnectParticipant")
            };
            FakeFlow::flow(&format!("f-{i}"), &format!("Flow {i}"), &content)
        })
        .chain((0..3).map(|i| FakeFlow::module(&format!("m-{i}"), &format!("Module {i}"), &menu_flow())))
        .collect();
    let fake = fake_connect_flows(INSTANCE, flows, FakeOptions { page_cap: 2, throttle_every: 5 });
    fake.keys.lock().expect("lock").push(FakeKey { association_id: KEY_ID.into(), key: public, creation_time: 1 });
    fake.keys.lock().expect("lock").push(FakeKey {
        association_id: "second".into(),
        key: "junk".into(),
        creation_time: 2,
    });
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS, "--output", "json"]), None);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(v["flows"].as_array().expect("flows").len(), 10, "{v:#}");
    assert_eq!(v["key_ids"], json!([KEY_ID, "second"]));
    assert_eq!(findings(&v), [finding("unencrypted-capture", "f-5", Some("ask"))]);
    let requests = fake.requests.lock().expect("lock").clone();
    let summary = |prefix: &str| requests.iter().filter(|r| r.starts_with(prefix)).cloned().collect::<Vec<_>>();
    let lists = summary(&format!("GET /contact-flows-summary/{INSTANCE}"));
    assert!(lists.iter().all(|r| r.contains("maxResults=1000")), "{lists:#?}");
    for token in ["nextToken=fake-page-2", "nextToken=fake-page-4", "nextToken=fake-page-6"] {
        assert!(lists.iter().any(|r| r.contains(token)), "{token} not followed: {lists:#?}");
    }
    let modules = summary(&format!("GET /contact-flow-modules-summary/{INSTANCE}"));
    assert!(modules.iter().any(|r| r.contains("nextToken=fake-page-2")), "{modules:#?}");
    // 7 + 3 describes, 4 + 2 list pages, 1 key page at least; every 5th was refused and retried.
    let served = 7 + 3 + 4 + 2 + 1;
    assert!(requests.len() > served, "no request was throttled: {requests:#?}");
}

#[test]
fn takes_the_instance_arn_and_refuses_one_from_another_region() {
    let fake = mixed_instance(FakeOptions::default());
    let arn = format!("arn:aws:connect:{REGION}:111122223333:instance/{INSTANCE}");
    let o = run(flow_audit(&fake, &["--instance-id", &arn, "--lambda-arn", OURS, "--output", "json"]), None);
    assert_code(&o, 9);
    assert_eq!(json(&o)["instance_id"], INSTANCE);
    let elsewhere = format!("arn:aws:connect:us-east-1:111122223333:instance/{INSTANCE}");
    let o = run(flow_audit(&fake, &["--instance-id", &elsewhere]), None);
    assert_code(&o, 3);
    assert!(err(&o).contains("--region us-east-1"), "{}", err(&o));
}

#[test]
fn an_unknown_instance_is_not_found_and_a_bad_function_arn_is_bad_input() {
    let fake = mixed_instance(FakeOptions::default());
    let o = run(flow_audit(&fake, &["--instance-id", "99999999-0000-4000-8000-000000000000"]), None);
    assert_code(&o, 5);
    assert!(err(&o).contains("no instance 99999999-0000-4000-8000-000000000000"), "{}", err(&o));
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", "secure-ivr-decrypt"]), None);
    assert_code(&o, 6);
    let o = run(flow_audit(&fake, &["--instance-id", INSTANCE, "--lambda-arn", OURS, "--stack", "s"]), None);
    assert_code(&o, 2);
}

fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn checks_flow_files_with_the_contract_rules_and_no_aws() {
    let card = repo().join("flows/secure-ivr-card-capture.json");
    let module = repo().join("flows/secure-ivr-capture-module.json");
    // No credentials, no endpoint: --file makes no AWS call.
    let mut c = common::bin();
    c.args(["--output", "json", "flow-audit", "--file"]).arg(&card).arg("--file").arg(&module);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["instance_id"], Value::Null);
    assert_eq!(v["flows"].as_array().expect("flows").len(), 2);
    assert_eq!(v["flows"][1]["kind"], "module");
    assert_eq!(findings(&v), []);

    // The same template read as a rendered flow: its placeholders are findings.
    let mut c = common::bin();
    c.args(["--output", "json", "flow-audit", "--rendered", "--file"]).arg(&card);
    let o = run(c, None);
    assert_code(&o, 9);
    assert!(findings(&json(&o)).iter().all(|f| f.0 == "no-placeholders-left"), "{}", out(&o));

    // A broken transition in a copy: the contract rule names it.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&card).expect("flow")).expect("json");
    doc["Actions"][0]["Transitions"]["NextAction"] = json!("no-such-action");
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken.json");
    common::write(&broken, doc.to_string().as_bytes());
    let mut c = common::bin();
    c.args(["flow-audit", "--file"]).arg(&broken);
    let o = run(c, None);
    assert_code(&o, 9);
    assert!(out(&o).contains("FINDING  transition-targets  flow"), "{}", out(&o));

    let mut c = common::bin();
    c.args(["flow-audit", "--file", "/nonexistent/flow.json"]);
    assert_code(&run(c, None), 6);
    let mut c = common::bin();
    c.args(["flow-audit", "--rendered"]);
    assert_code(&run(c, None), 2);
}

/// `--stack`: our function is the stack's FunctionArn output (the stack in moto, Connect faked).
#[test]
fn takes_our_function_from_the_stack() {
    let Some(m) = common::moto("flow_audit takes_our_function_from_the_stack") else { return };
    let stack = format!("flows{}", std::process::id());
    let o = common::StackOut {
        role: "arn:aws:iam::111122223333:role/secure-ivr",
        function: OURS,
        key: "arn:aws:kms:eu-west-2:111122223333:key/00000000-0000-4000-8000-000000000000",
        alert: false,
        legacy: "",
        prefix: "/connect/secure-ivr/keys/",
    };
    common::create_stack(&m, REGION, &stack, &o);
    let fake = mixed_instance(FakeOptions::default());
    let mut c = flow_audit(&fake, &["--instance-id", INSTANCE, "--stack", &stack, "--output", "json"]);
    c.env("AWS_ENDPOINT_URL", &m);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(v["lambda_arn"], OURS);
    assert_eq!(v["lambda_arn_source"], format!("stack {stack}"));
    assert!(findings(&v).contains(&finding("stored-input-to-other-function", "f-other", Some("decrypt"))), "{v:#}");
}
