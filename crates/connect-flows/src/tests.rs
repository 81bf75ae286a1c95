//! Each rule with a flow that breaks it and one that keeps it; certificates come from `rcgen`
//! with validity periods set around a fixed `now`, so nothing depends on the clock.
#![allow(clippy::indexing_slicing, reason = "tests: JSON indexing that panics is a failed test")]

use serde_json::{Value, json};

use crate::{ConnectKey, Error, Flow, FlowKind, FlowRef, MAX_CONTENT_LEN, Options, Placeholders, Report, Rule, check};

const NOW: i64 = 1_900_000_000;
const DAY: i64 = 86_400;
const OURS: &str = "arn:aws:lambda:eu-west-2:111122223333:function:secure-ivr-decrypt";
const OTHER: &str = "arn:aws:lambda:eu-west-2:111122223333:function:someone-else";
const KEY_ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";

/// A self-signed certificate valid from `now + from_days` to `now + to_days`, and the SPKI PEM
/// of its key (what `ListSecurityKeys` returns).
struct TestCert {
    pem: String,
    public_key_pem: String,
}

fn cert(from_days: i64, to_days: i64) -> TestCert {
    let key = rcgen::KeyPair::generate().expect("key pair");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.not_before = time::OffsetDateTime::from_unix_timestamp(NOW + from_days * DAY).expect("not before");
    params.not_after = time::OffsetDateTime::from_unix_timestamp(NOW + to_days * DAY).expect("not after");
    let c = params.self_signed(&key).expect("self-signed");
    TestCert { pem: c.pem(), public_key_pem: key.public_key_pem() }
}

fn valid_cert() -> TestCert {
    cert(-10, 365)
}

// ---------------------------------------------------------------- flow building blocks

fn action(id: &str, kind: &str, params: Value, next: &str, errors: &[&str]) -> Value {
    let errors: Vec<Value> = errors.iter().map(|e| json!({"NextAction": e, "ErrorType": "NoMatchingError"})).collect();
    json!({"Identifier": id, "Type": kind, "Parameters": params,
           "Transitions": {"NextAction": next, "Errors": errors, "Conditions": []}})
}

fn logging(id: &str, on: bool, next: &str) -> Value {
    let v = if on { "Enabled" } else { "Disabled" };
    action(id, "UpdateFlowLoggingBehavior", json!({"FlowLoggingBehavior": v}), next, &[])
}

/// A recording block (current action) whose errors go to `on_error`.
fn recording(id: &str, on: bool, next: &str, on_error: &str) -> Value {
    let parts: Vec<&str> = if on { vec!["Agent", "Customer"] } else { Vec::new() };
    let mut a = action(
        id,
        "UpdateContactRecordingAndAnalyticsBehavior",
        json!({"VoiceBehavior": {"VoiceRecordingBehavior": {"RecordedParticipants": parts, "IVRRecordingBehavior": "Disabled"}}}),
        next,
        &[],
    );
    a["Transitions"]["Errors"] = json!([
        {"NextAction": on_error, "ErrorType": "NoMatchingError"},
        {"NextAction": on_error, "ErrorType": "ChannelMismatch"}
    ]);
    a
}

fn encryption(key_id: &str, pem: &str) -> Value {
    json!({"EncryptionKeyId": key_id, "Key": pem})
}

fn capture(id: &str, next: &str, enc: Option<Value>) -> Value {
    let mut params = json!({"Text": "Card number?", "StoreInput": "True"});
    if let Some(e) = enc {
        params["InputEncryption"] = e;
    }
    action(id, "GetParticipantInput", params, next, &["bye"])
}

fn lambda(id: &str, arn: &str, next: &str) -> Value {
    action(
        id,
        "InvokeLambdaFunction",
        json!({"LambdaFunctionARN": arn, "InvocationTimeLimitSeconds": "8",
               "LambdaInvocationAttributes": {"EncryptedCard": "$.StoredCustomerInput", "EncryptedCardType": "card"},
               "ResponseValidation": {"ResponseType": "STRING_MAP"}}),
        next,
        &["bye"],
    )
}

fn bye() -> Value {
    json!({"Identifier": "bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}})
}

fn doc(actions: Vec<Value>) -> Value {
    let start = actions.first().and_then(|a| a["Identifier"].as_str()).unwrap_or("").to_owned();
    json!({"Version": "2019-10-30", "StartAction": start, "Actions": actions})
}

/// The safe shape: logging off, recording off, encrypted capture, our Lambda, recording and
/// logging back on.
fn safe(enc: Value) -> Vec<Value> {
    vec![
        logging("log-off", false, "rec-off"),
        recording("rec-off", false, "ask", "bye"),
        capture("ask", "decrypt", Some(enc)),
        lambda("decrypt", OURS, "rec-on"),
        recording("rec-on", true, "log-on", "log-on"),
        logging("log-on", true, "bye"),
        bye(),
    ]
}

fn who() -> FlowRef {
    FlowRef { name: "Pay".into(), id: "f-1".into(), kind: FlowKind::Flow }
}

fn options(keys: Option<Vec<ConnectKey>>, lambda_arn: Option<&str>) -> Options {
    Options {
        keys,
        lambda_arn: lambda_arn.map(str::to_owned),
        now_unix: NOW,
        warn_days: 30,
        contract: false,
        placeholders: Placeholders::Ignore,
    }
}

fn audit(d: &Value, o: &Options) -> Report {
    let flow = Flow::parse(&d.to_string()).expect("parses");
    check(&who(), &flow, o)
}

/// The (rule, action) pairs of the findings.
fn found(r: &Report) -> Vec<(Rule, Option<&str>)> {
    r.findings.iter().map(|f| (f.rule, f.action.as_deref())).collect()
}

fn has(r: &Report, rule: Rule, at: &str) -> bool {
    r.findings.iter().any(|f| f.rule == rule && f.action.as_deref() == Some(at))
}

/// The baseline: a certificate valid for a year, whose key the instance holds.
fn compliant() -> (Value, Options) {
    let c = valid_cert();
    let keys = vec![ConnectKey::from_pem(KEY_ID, &c.public_key_pem)];
    (doc(safe(encryption(KEY_ID, &c.pem))), options(Some(keys), Some(OURS)))
}

// ---------------------------------------------------------------- the baseline

#[test]
fn a_compliant_flow_has_no_findings_and_skips_nothing() {
    let (d, o) = compliant();
    let r = audit(&d, &o);
    assert_eq!(found(&r), []);
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_eq!(r.flow, who());
}

#[test]
fn a_flow_without_a_capture_is_not_a_capturing_flow_in_an_audit() {
    let d = doc(vec![action("hello", "MessageParticipant", json!({"Text": "Hi"}), "bye", &[]), bye()]);
    assert_eq!(found(&audit(&d, &options(Some(Vec::new()), Some(OURS)))), []);
}

// ---------------------------------------------------------------- unencrypted-capture

#[test]
fn unencrypted_capture_is_reported() {
    let mut actions = safe(json!({}));
    actions[2] = capture("ask", "decrypt", None);
    let r = audit(&doc(actions), &options(Some(Vec::new()), Some(OURS)));
    assert!(has(&r, Rule::UnencryptedCapture, "ask"), "{:?}", found(&r));
    let msg = &r.findings.iter().find(|f| f.rule == Rule::UnencryptedCapture).expect("finding").message;
    assert!(msg.contains("without InputEncryption"), "{msg}");
}

#[test]
fn input_encryption_without_a_certificate_is_unencrypted() {
    let (_, o) = compliant();
    let r = audit(&doc(safe(json!({"EncryptionKeyId": KEY_ID}))), &o);
    assert!(has(&r, Rule::UnencryptedCapture, "ask"), "{:?}", found(&r));
    let r = audit(&doc(safe(json!({"EncryptionKeyId": " ", "Key": "x"}))), &o);
    assert!(has(&r, Rule::UnencryptedCapture, "ask"), "{:?}", found(&r));
}

#[test]
fn a_get_input_that_stores_nothing_is_not_a_capture() {
    let d = doc(vec![
        action("menu", "GetParticipantInput", json!({"Text": "Press 1", "StoreInput": "False"}), "bye", &[]),
        bye(),
    ]);
    let r = audit(&d, &options(Some(Vec::new()), Some(OURS)));
    assert_eq!(found(&r), []);
}

// ---------------------------------------------------------------- unknown-key-id

#[test]
fn a_key_id_the_instance_does_not_hold_is_reported() {
    let c = valid_cert();
    let keys = vec![ConnectKey::from_pem("some-other-key", &c.public_key_pem)];
    let r = audit(&doc(safe(encryption(KEY_ID, &c.pem))), &options(Some(keys), Some(OURS)));
    assert_eq!(found(&r), [(Rule::UnknownKeyId, Some("ask"))]);
    assert!(r.findings[0].message.contains(KEY_ID));
}

#[test]
fn a_key_id_set_at_run_time_is_reported_even_without_keys() {
    let c = valid_cert();
    let r = audit(&doc(safe(encryption("$.Attributes.KeyId", &c.pem))), &options(None, Some(OURS)));
    assert!(has(&r, Rule::UnknownKeyId, "ask"), "{:?}", found(&r));
}

#[test]
fn without_the_instance_keys_the_key_rules_are_skipped_and_said_so() {
    let c = valid_cert();
    let r = audit(&doc(safe(encryption("not-checked", &c.pem))), &options(None, Some(OURS)));
    assert_eq!(found(&r), []);
    assert!(r.skipped.iter().any(|s| s.rule == Rule::UnknownKeyId), "{:?}", r.skipped);
}

// ---------------------------------------------------------------- certificates

fn with_cert(c: &TestCert) -> Report {
    let keys = vec![ConnectKey::from_pem(KEY_ID, &c.public_key_pem)];
    audit(&doc(safe(encryption(KEY_ID, &c.pem))), &options(Some(keys), Some(OURS)))
}

#[test]
fn a_certificate_expiring_within_the_window_is_reported() {
    let r = with_cert(&cert(-300, 10));
    assert_eq!(found(&r), [(Rule::CertificateExpiring, Some("ask"))]);
    assert!(r.findings[0].message.contains("in 10 day(s)"), "{}", r.findings[0].message);
}

#[test]
fn an_expired_certificate_is_reported() {
    let r = with_cert(&cert(-400, -5));
    assert_eq!(found(&r), [(Rule::CertificateExpiring, Some("ask"))]);
    assert!(r.findings[0].message.contains("expired 5 day(s) ago"), "{}", r.findings[0].message);
}

#[test]
fn a_certificate_outside_the_window_passes() {
    assert_eq!(found(&with_cert(&cert(-1, 31))), []);
    // The window is the caller's: 90 days catches what 30 does not.
    let c = cert(-1, 60);
    let keys = vec![ConnectKey::from_pem(KEY_ID, &c.public_key_pem)];
    let mut o = options(Some(keys), Some(OURS));
    let d = doc(safe(encryption(KEY_ID, &c.pem)));
    assert_eq!(found(&audit(&d, &o)), []);
    o.warn_days = 90;
    assert_eq!(found(&audit(&d, &o)), [(Rule::CertificateExpiring, Some("ask"))]);
}

#[test]
fn a_certificate_not_valid_yet_is_reported() {
    assert_eq!(found(&with_cert(&cert(5, 365))), [(Rule::CertificateNotYetValid, Some("ask"))]);
    assert_eq!(found(&with_cert(&cert(0, 365))), []);
}

#[test]
fn a_certificate_for_another_key_is_reported() {
    let flow_cert = valid_cert();
    let connect_key = valid_cert();
    let keys = vec![ConnectKey::from_pem(KEY_ID, &connect_key.public_key_pem)];
    let r = audit(&doc(safe(encryption(KEY_ID, &flow_cert.pem))), &options(Some(keys), Some(OURS)));
    assert_eq!(found(&r), [(Rule::CertificateKeyMismatch, Some("ask"))]);
}

#[test]
fn a_connect_key_that_does_not_read_cannot_be_matched() {
    let c = valid_cert();
    let keys = vec![ConnectKey::from_pem(KEY_ID, "not a pem")];
    assert_eq!(keys[0].public_key_spki, None);
    let r = audit(&doc(safe(encryption(KEY_ID, &c.pem))), &options(Some(keys), Some(OURS)));
    assert_eq!(found(&r), [(Rule::CertificateKeyMismatch, Some("ask"))]);
}

#[test]
fn the_fixture_public_key_reads_as_spki() {
    let k = ConnectKey::from_pem("k", test_support::fixtures::KEY_A_PUBLIC);
    assert_eq!(k.public_key_spki, Some(test_support::fixtures::der(test_support::fixtures::KEY_A_PUBLIC)));
}

#[test]
fn an_unreadable_or_run_time_certificate_is_reported() {
    let (_, o) = compliant();
    for key in [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "$.Attributes.Certificate",
    ] {
        let r = audit(&doc(safe(encryption(KEY_ID, key))), &o);
        assert!(has(&r, Rule::CertificateUnreadable, "ask"), "{key}: {:?}", found(&r));
        assert!(!r.findings.iter().any(|f| f.message.contains("AAAA")), "the message repeats the content");
    }
}

#[test]
fn a_certificate_rewrapped_with_crlf_and_long_lines_still_reads() {
    let c = valid_cert();
    let body: String = c.pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut wrapped = String::from("-----BEGIN CERTIFICATE-----\r\n");
    for chunk in body.as_bytes().chunks(76) {
        wrapped.push_str(std::str::from_utf8(chunk).expect("ascii"));
        wrapped.push_str("\r\n");
    }
    wrapped.push_str("-----END CERTIFICATE-----\r\n");
    let keys = vec![ConnectKey::from_pem(KEY_ID, &c.public_key_pem)];
    let r = audit(&doc(safe(encryption(KEY_ID, &wrapped))), &options(Some(keys), Some(OURS)));
    assert_eq!(found(&r), []);
}

// ---------------------------------------------------------------- logging

#[test]
fn a_capture_reached_with_logging_on_is_reported() {
    let (mut d, o) = compliant();
    d["StartAction"] = json!("rec-off");
    let r = audit(&d, &o);
    assert_eq!(found(&r), [(Rule::LoggingOffBeforeCapture, Some("ask"))]);
    assert!(r.findings[0].message.contains("rec-off -> ask"), "{}", r.findings[0].message);
}

#[test]
fn an_unknown_logging_value_counts_as_on() {
    let (mut d, o) = compliant();
    d["Actions"][0]["Parameters"]["FlowLoggingBehavior"] = json!("Paused");
    assert_eq!(found(&audit(&d, &o)), [(Rule::LoggingOffBeforeCapture, Some("ask"))]);
}

#[test]
fn logging_turned_on_between_capture_and_lambda_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][2]["Transitions"]["NextAction"] = json!("sneaky-log-on");
    d["Actions"].as_array_mut().expect("actions").push(logging("sneaky-log-on", true, "decrypt"));
    let r = audit(&d, &o);
    assert_eq!(found(&r), [(Rule::NoLoggingBetweenCaptureAndLambda, Some("decrypt"))]);
    assert!(r.findings[0].message.contains("ask -> sneaky-log-on -> decrypt"), "{}", r.findings[0].message);
}

/// The payment flow's shape: the card kept in a flow attribute, a second capture, then one call
/// that reads the kept card and the new stored input. `between` goes between the keep and the
/// second capture.
fn kept_card(between: Option<Value>) -> Value {
    let c = valid_cert();
    let enc = encryption(KEY_ID, &c.pem);
    let keep = json!({"Identifier": "keep", "Type": "UpdateFlowAttributes",
        "Parameters": {"FlowAttributes": {"Card": {"Value": "$.StoredCustomerInput"}}},
        "Transitions": {"NextAction": if between.is_some() { "between" } else { "ask-cvv" }, "Errors": [], "Conditions": []}});
    let mut pay = lambda("pay", OURS, "log-on");
    pay["Parameters"]["LambdaInvocationAttributes"] = json!({"EncryptedCard": "$.FlowAttributes.Card", "EncryptedCardType": "card",
        "EncryptedCvv": "$.StoredCustomerInput", "EncryptedCvvType": "cvv"});
    let mut actions = vec![
        logging("log-off", false, "rec-off"),
        recording("rec-off", false, "ask", "bye"),
        capture("ask", "keep", Some(enc.clone())),
        keep,
        capture("ask-cvv", "pay", Some(enc)),
        pay,
        logging("log-on", true, "bye"),
        bye(),
    ];
    actions.extend(between);
    doc(actions)
}

#[test]
fn logging_turned_on_while_a_kept_value_waits_for_its_lambda_is_reported() {
    let o = options(None, Some(OURS));
    assert_eq!(found(&audit(&kept_card(None), &o)), []);
    // Logging on before the second capture is caught for that capture too; the kept card's own
    // path to "pay" is what this rule adds.
    let r = audit(&kept_card(Some(logging("between", true, "ask-cvv"))), &o);
    assert!(has(&r, Rule::NoLoggingBetweenCaptureAndLambda, "pay"), "{:?}", found(&r));
    let m = r.findings.iter().find(|f| f.rule == Rule::NoLoggingBetweenCaptureAndLambda).map(|f| f.message.clone());
    assert!(m.as_deref().is_some_and(|m| m.contains("ask -> keep -> between -> ask-cvv -> pay")), "{m:?}");
    let r = audit(&kept_card(Some(recording("between", true, "ask-cvv", "ask-cvv"))), &o);
    assert!(has(&r, Rule::NoRecordingBetweenCaptureAndLambda, "pay"), "{:?}", found(&r));
}

#[test]
fn logging_turned_on_after_the_lambda_passes() {
    let (d, o) = compliant();
    // log-on follows decrypt in the baseline.
    assert_eq!(d["Actions"][5]["Identifier"], "log-on");
    assert_eq!(found(&audit(&d, &o)), []);
}

// ---------------------------------------------------------------- recording

#[test]
fn a_capture_reached_with_recording_on_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][0]["Transitions"]["NextAction"] = json!("ask");
    let r = audit(&d, &o);
    assert!(has(&r, Rule::RecordingOffBeforeCapture, "ask"), "{:?}", found(&r));
}

#[test]
fn a_failed_recording_off_that_goes_on_to_the_capture_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][1] = recording("rec-off", false, "ask", "ask");
    let r = audit(&d, &o);
    assert_eq!(found(&r), [(Rule::RecordingOffBeforeCapture, Some("ask"))]);
}

#[test]
fn a_recording_off_that_still_records_is_not_off() {
    let (mut d, o) = compliant();
    d["Actions"][1]["Parameters"]["VoiceBehavior"]["VoiceRecordingBehavior"]["IVRRecordingBehavior"] = json!("Enabled");
    assert_eq!(found(&audit(&d, &o)), [(Rule::RecordingOffBeforeCapture, Some("ask"))]);
}

#[test]
fn the_legacy_recording_action_turns_recording_off_too() {
    let (mut d, o) = compliant();
    d["Actions"][1]["Type"] = json!("UpdateContactRecordingBehavior");
    d["Actions"][1]["Parameters"] =
        json!({"RecordingBehavior": {"RecordedParticipants": [], "IVRRecordingBehavior": "Disabled"}});
    assert_eq!(found(&audit(&d, &o)), []);
}

#[test]
fn recording_turned_on_between_capture_and_lambda_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][2]["Transitions"]["NextAction"] = json!("early-rec-on");
    d["Actions"].as_array_mut().expect("actions").push(recording("early-rec-on", true, "decrypt", "decrypt"));
    let r = audit(&d, &o);
    assert_eq!(found(&r), [(Rule::NoRecordingBetweenCaptureAndLambda, Some("decrypt"))]);
}

#[test]
fn recording_turned_on_after_the_lambda_passes() {
    let (d, o) = compliant();
    assert_eq!(d["Actions"][4]["Identifier"], "rec-on");
    assert!(!has(&audit(&d, &o), Rule::NoRecordingBetweenCaptureAndLambda, "decrypt"));
}

// ---------------------------------------------------------------- where the input goes

#[test]
fn stored_input_sent_to_another_function_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][3]["Parameters"]["LambdaFunctionARN"] = json!(OTHER);
    let r = audit(&d, &o);
    assert_eq!(found(&r), [(Rule::StoredInputToOtherFunction, Some("decrypt"))]);
    assert!(r.findings[0].message.contains(OTHER) && r.findings[0].message.contains(OURS));
}

#[test]
fn a_wrapped_stored_input_still_counts() {
    let (mut d, o) = compliant();
    d["Actions"][3]["Parameters"]["LambdaFunctionARN"] = json!(OTHER);
    d["Actions"][3]["Parameters"]["LambdaInvocationAttributes"] = json!({"Blob": "x-$.StoredCustomerInput-y"});
    assert!(has(&audit(&d, &o), Rule::StoredInputToOtherFunction, "decrypt"));
}

#[test]
fn our_function_with_an_alias_passes_and_other_lambdas_are_not_judged() {
    let (mut d, o) = compliant();
    d["Actions"][3]["Parameters"]["LambdaFunctionARN"] = json!(format!("{OURS}:live"));
    // A Lambda that does not receive the stored input may be anyone's.
    d["Actions"][4]["Transitions"]["NextAction"] = json!("lookup");
    d["Actions"].as_array_mut().expect("actions").push(action(
        "lookup",
        "InvokeLambdaFunction",
        json!({"LambdaFunctionARN": OTHER, "LambdaInvocationAttributes": {"Phone": "$.CustomerEndpoint.Address"}}),
        "log-on",
        &[],
    ));
    assert_eq!(found(&audit(&d, &o)), []);
}

#[test]
fn without_our_function_the_other_function_rule_is_skipped_and_said_so() {
    let (mut d, mut o) = compliant();
    d["Actions"][3]["Parameters"]["LambdaFunctionARN"] = json!(OTHER);
    o.lambda_arn = None;
    let r = audit(&d, &o);
    assert_eq!(found(&r), []);
    assert_eq!(r.skipped.iter().map(|s| s.rule).collect::<Vec<_>>(), [Rule::StoredInputToOtherFunction]);
}

#[test]
fn a_function_chosen_at_run_time_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][3]["Parameters"]["LambdaFunctionARN"] = json!("$.Attributes.Function");
    assert_eq!(found(&audit(&d, &o)), [(Rule::DynamicFunctionArn, Some("decrypt"))]);
}

#[test]
fn stored_input_copied_to_an_attribute_is_reported() {
    let (mut d, o) = compliant();
    d["Actions"][4]["Transitions"]["NextAction"] = json!("keep");
    let keep = |value: &str| {
        action(
            "keep",
            "UpdateContactAttributes",
            json!({"Attributes": {"Saved": value}, "TargetContact": "Current"}),
            "log-on",
            &[],
        )
    };
    d["Actions"].as_array_mut().expect("actions").push(keep("$.StoredCustomerInput"));
    assert_eq!(found(&audit(&d, &o)), [(Rule::StoredInputCopiedToAttribute, Some("keep"))]);
    let last = d["Actions"].as_array().expect("actions").len() - 1;
    d["Actions"][last] = keep("$.External.Last4");
    assert_eq!(found(&audit(&d, &o)), []);
}

// ---------------------------------------------------------------- content-unavailable and parsing

#[test]
fn content_without_actions_is_reported_not_passed() {
    let (_, o) = compliant();
    let r = audit(&json!({"Version": "2019-10-30", "StartAction": "x", "Actions": []}), &o);
    assert_eq!(found(&r), [(Rule::ContentUnavailable, None)]);
    let r = audit(&json!({"Version": "2019-10-30", "StartAction": "nowhere", "Actions": [bye()]}), &o);
    assert_eq!(found(&r), [(Rule::ContentUnavailable, None)]);
    let r = audit(&json!(["not", "a", "flow"]), &o);
    assert_eq!(found(&r), [(Rule::ContentUnavailable, None)]);
}

#[test]
fn unavailable_names_the_flow_and_the_reason() {
    let f = crate::unavailable(&who(), "DescribeContactFlow: AccessDeniedException");
    assert_eq!((f.rule, f.action.as_deref(), &f.flow), (Rule::ContentUnavailable, None, &who()));
    assert!(f.message.contains("AccessDeniedException"));
}

#[test]
fn content_too_large_or_not_json_is_an_error_without_the_content() {
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_CONTENT_LEN));
    assert_eq!(Flow::parse(&big).map(|_| ()), Err(Error::TooLarge { max: MAX_CONTENT_LEN, found: big.len() }));
    let err = Flow::parse("{\n  \"Actions\": [4111111111111111,\n").map(|_| ()).expect_err("not JSON");
    assert!(matches!(err, Error::NotJson { line: 3, .. }), "{err:?}");
    assert!(!err.to_string().contains("4111"), "{err}");
}

#[test]
fn findings_serialise_with_kebab_case_rules() {
    let (mut d, o) = compliant();
    d["Actions"][3]["Parameters"]["LambdaFunctionARN"] = json!(OTHER);
    let v = serde_json::to_value(audit(&d, &o)).expect("serialises");
    assert_eq!(v["findings"][0]["rule"], "stored-input-to-other-function");
    assert_eq!(v["findings"][0]["action"], "decrypt");
    assert_eq!(v["findings"][0]["flow"], json!({"name": "Pay", "id": "f-1", "kind": "flow"}));
    assert_eq!(Rule::StoredInputToOtherFunction.to_string(), "stored-input-to-other-function");
}

#[test]
fn key_ids_lists_every_capture_key() {
    let c = valid_cert();
    let mut actions = safe(encryption("k1", &c.pem));
    actions[3]["Transitions"]["NextAction"] = json!("ask2");
    actions.push(capture("ask2", "rec-on", Some(encryption("k2", &c.pem))));
    let flow = Flow::from_value(doc(actions));
    assert_eq!(crate::key_ids(&flow), ["k1", "k2"]);
    assert_eq!(flow.captures(), ["ask", "ask2"]);
    assert!(Flow::from_value(doc(vec![bye()])).captures().is_empty());
}

#[test]
fn a_long_cycle_does_not_overflow_the_stack() {
    let n = 20_000;
    let mut actions: Vec<Value> = (0..n)
        .map(|i| {
            action(&format!("m{i}"), "MessageParticipant", json!({"Text": "x"}), &format!("m{}", (i + 1) % n), &[])
        })
        .collect();
    actions.push(bye());
    let mut o = options(Some(Vec::new()), Some(OURS));
    o.contract = true;
    // Past Connect's size limit, so from a parsed value: this tests the walk, not the limit.
    let r = check(&who(), &Flow::from_value(doc(actions)), &o);
    assert!(r.findings.iter().any(|f| f.rule == Rule::BoundedRetries), "{:?}", found(&r));
}

// ---------------------------------------------------------------- contract rules on the shipped flows

fn repo_flow(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("flow file")).expect("flow JSON")
}

fn contract_options(placeholders: Placeholders) -> Options {
    Options { contract: true, placeholders, ..options(None, None) }
}

fn contract(d: &Value) -> Vec<Rule> {
    let mut rules: Vec<Rule> =
        audit(d, &contract_options(Placeholders::Required)).findings.iter().map(|f| f.rule).collect();
    rules.dedup();
    rules
}

/// Every flow file in `flows/` with a Store customer input block (the files the contract rules
/// are for; the others hand the capture to the module), checked to hold the three we ship.
fn capture_flows() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("flows/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .filter(|n| {
            repo_flow(n)["Actions"].as_array().is_some_and(|a| a.iter().any(|a| a["Type"] == "GetParticipantInput"))
        })
        .collect();
    names.sort();
    for must in ["secure-ivr-capture-module.json", "secure-ivr-card-capture.json", "secure-ivr-card-payment.json"] {
        assert!(names.iter().any(|n| n == must), "{must} has no capture block: {names:?}");
    }
    names
}

#[test]
fn the_shipped_capture_flows_pass_every_contract_rule() {
    for name in capture_flows() {
        let name = name.as_str();
        let r = audit(&repo_flow(name), &contract_options(Placeholders::Required));
        assert_eq!(found(&r), [], "{name}: {:?}", r.findings);
        // Our function is only known once rendered.
        assert!(r.skipped.iter().any(|s| s.rule == Rule::StoredInputToOtherFunction));
    }
}

/// The identifier of the first action of `kind` for which `pick` holds.
fn first_id(d: &Value, kind: &str, pick: impl Fn(&Value) -> bool) -> String {
    d["Actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["Type"] == kind && pick(a))
        .and_then(|a| a["Identifier"].as_str())
        .unwrap_or_else(|| panic!("no {kind}"))
        .to_owned()
}

/// Puts a new action between `after` and its `NextAction`.
fn insert_after(d: &mut Value, after: &str, mut action: Value) {
    let next = by_id(d, after)["Transitions"]["NextAction"].clone();
    action["Transitions"] = json!({"NextAction": next, "Errors": [], "Conditions": []});
    by_id(d, after)["Transitions"]["NextAction"] = action["Identifier"].clone();
    d["Actions"].as_array_mut().expect("actions").push(action);
}

fn recording_off_id(d: &Value) -> String {
    first_id(d, "UpdateContactRecordingAndAnalyticsBehavior", |a| {
        a.pointer("/Parameters/VoiceBehavior/VoiceRecordingBehavior/RecordedParticipants") == Some(&json!([]))
    })
}

/// The security rules on every shipped capture flow: each mutation (the ones the former Python
/// self-test made) is caught by its rule, and the unmutated flow passes them.
#[test]
fn each_security_rule_catches_its_mutation_of_every_shipped_capture_flow() {
    let cases: [Mutation; 7] = [
        ("logging turned on right after the capture", Rule::NoLoggingBetweenCaptureAndLambda, |d| {
            let cap = first_id(d, "GetParticipantInput", |_| true);
            insert_after(
                d,
                &cap,
                action(
                    "sneaky-logging-on",
                    "UpdateFlowLoggingBehavior",
                    json!({"FlowLoggingBehavior": "Enabled"}),
                    "",
                    &[],
                ),
            );
        }),
        ("the first logging-off dropped", Rule::LoggingOffBeforeCapture, |d| {
            let start = d["StartAction"].as_str().expect("start").to_owned();
            assert_eq!(
                by_id(d, &start)["Parameters"]["FlowLoggingBehavior"],
                "Disabled",
                "the flow starts by turning logging off"
            );
            d["StartAction"] = by_id(d, &start)["Transitions"]["NextAction"].clone();
            d["Actions"].as_array_mut().expect("a").retain(|a| a["Identifier"] != start.as_str());
        }),
        ("recording off records both", Rule::RecordingOffBeforeCapture, |d| {
            let off = recording_off_id(d);
            by_id(d, &off)["Parameters"]["VoiceBehavior"]["VoiceRecordingBehavior"]["RecordedParticipants"] =
                json!(["Agent", "Customer"]);
        }),
        ("recording off keeps IVR recording", Rule::RecordingOffBeforeCapture, |d| {
            let off = recording_off_id(d);
            by_id(d, &off)["Parameters"]["VoiceBehavior"]["VoiceRecordingBehavior"]["IVRRecordingBehavior"] =
                json!("Enabled");
        }),
        ("a failed recording off goes on to the capture", Rule::RecordingOffBeforeCapture, |d| {
            let off = recording_off_id(d);
            let next = by_id(d, &off)["Transitions"]["NextAction"].clone();
            for e in by_id(d, &off)["Transitions"]["Errors"].as_array_mut().expect("errors") {
                e["NextAction"] = next.clone();
            }
        }),
        ("recording turned on right after the capture", Rule::NoRecordingBetweenCaptureAndLambda, |d| {
            let cap = first_id(d, "GetParticipantInput", |_| true);
            let params = json!({"VoiceBehavior": {"VoiceRecordingBehavior": {"RecordedParticipants": ["Agent", "Customer"], "IVRRecordingBehavior": "Enabled"}}});
            insert_after(
                d,
                &cap,
                action("sneaky-recording-on", "UpdateContactRecordingAndAnalyticsBehavior", params, "", &[]),
            );
        }),
        ("the stored input copied into a contact attribute", Rule::StoredInputCopiedToAttribute, |d| {
            let cap = first_id(d, "GetParticipantInput", |_| true);
            let params = json!({"Attributes": {"Card": "$.StoredCustomerInput"}, "TargetContact": "Current"});
            insert_after(d, &cap, action("sneaky-copy", "UpdateContactAttributes", params, "", &[]));
        }),
    ];
    let security = options(None, None);
    let rules = |d: &Value| -> Vec<Rule> { audit(d, &security).findings.iter().map(|f| f.rule).collect() };
    for name in capture_flows() {
        let original = repo_flow(&name);
        assert_eq!(rules(&original), [], "{name} passes the security rules");
        each_caught(&name, &original, &cases, rules);
    }
}

/// A mutation of a flow: what it does, the rule that must catch it, and the change.
type Mutation = (&'static str, Rule, fn(&mut Value));

/// Applies each mutation to a copy of `original` (each must change it) and asserts `rules`
/// reports the mutation's rule for the copy.
fn each_caught(name: &str, original: &Value, cases: &[Mutation], rules: impl Fn(&Value) -> Vec<Rule>) {
    for (what, rule, mutate) in cases {
        let mut d = original.clone();
        mutate(&mut d);
        assert_ne!(&d, original, "{name}, {what}: the mutation changed nothing");
        let found = rules(&d);
        assert!(found.contains(rule), "{name}, {what}: not caught by {rule} (found {found:?})");
    }
}

/// Every flow file in `flows/` without a capture block: each hands the capture on (to the module,
/// or to the agent-assisted flow) and passes the contract rules, placeholders included.
#[test]
fn the_shipped_hand_off_flows_pass_every_contract_rule() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let captures = capture_flows();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("flows/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !captures.contains(n))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["secure-ivr-agent-assisted-transfer.json", "secure-ivr-agent-assisted.json", "secure-ivr-self-service.json"]
    );
    for name in &names {
        let d = repo_flow(name);
        assert!(Flow::parse(&d.to_string()).expect("parses").hands_off(), "{name}");
        assert_eq!(contract(&d), [], "{name}");
    }
}

/// The agent-assisted flow's own rules: each mutation is caught by its rule.
#[test]
fn each_agent_rule_catches_its_mutation_of_the_agent_assisted_flow() {
    let cases: [Mutation; 6] = [
        ("the hold dropped", Rule::AgentOnHoldDuringCapture, |d| {
            by_id(d, "hold-message")["Transitions"]["NextAction"] = json!("capture");
            by_id(d, "hold-message")["Transitions"]["Errors"][0]["NextAction"] = json!("capture");
            d["Actions"].as_array_mut().expect("a").retain(|a| a["Identifier"] != "hold-agent");
        }),
        ("a failed hold goes on to the capture", Rule::AgentOnHoldDuringCapture, |d| {
            by_id(d, "hold-agent")["Transitions"]["Errors"][0]["NextAction"] = json!("capture");
        }),
        ("the customer held instead of the agent", Rule::AgentOnHoldDuringCapture, |d| {
            by_id(d, "hold-agent")["Parameters"]["PreviousContactParticipantState"] = json!("CustomerOnHold");
        }),
        ("the agent never taken off hold", Rule::AgentTakenOffHold, |d| {
            by_id(d, "capture")["Transitions"]["NextAction"] = json!("recording-on");
            by_id(d, "module-failed")["Transitions"]["NextAction"] = json!("recording-on");
            by_id(d, "module-failed")["Transitions"]["Errors"][0]["NextAction"] = json!("recording-on");
        }),
        ("the module's ARN hard-coded", Rule::Placeholders, |d| {
            by_id(d, "capture")["Parameters"]["FlowModuleId"] =
                json!("arn:aws:connect:eu-west-2:111122223333:instance/i/flow-module/m");
        }),
        ("a capture placeholder in a hand-off flow", Rule::Placeholders, |d| {
            by_id(d, "hold-message")["Parameters"]["Text"] = json!("{{KEY_ID}}");
        }),
    ];
    let original = repo_flow("secure-ivr-agent-assisted.json");
    each_caught("secure-ivr-agent-assisted.json", &original, &cases, contract);
    let mut transfer = repo_flow("secure-ivr-agent-assisted-transfer.json");
    by_id(&mut transfer, "to-capture")["Parameters"]["ContactFlowId"] = json!("some-flow");
    assert_eq!(contract(&transfer), [Rule::Placeholders]);
}

/// In an instance audit the hold rule judges a flow's own captures: a capture before the agent
/// is held is a finding; a flow without a hold block is not judged (nothing says an agent is on
/// the line); modules a flow invokes are judged only for our own flows (contract mode).
#[test]
fn a_capture_before_the_agent_is_held_is_reported() {
    let (mut d, o) = compliant();
    let hold = |state: &str, next: &str| {
        action(
            "hold",
            "UpdatePreviousContactParticipantState",
            json!({"PreviousContactParticipantState": state}),
            next,
            &["bye"],
        )
    };
    // rec-off -> hold -> ask: held, passes; rec-off -> ask with the hold after it: reported.
    d["Actions"][1]["Transitions"]["NextAction"] = json!("hold");
    d["Actions"].as_array_mut().expect("a").push(hold("AgentOnHold", "ask"));
    assert_eq!(found(&audit(&d, &o)), []);
    by_id(&mut d, "hold")["Parameters"]["PreviousContactParticipantState"] = json!("OffHold");
    assert_eq!(found(&audit(&d, &o)), [(Rule::AgentOnHoldDuringCapture, Some("ask"))]);
    let (plain, o) = compliant();
    assert_eq!(found(&audit(&plain, &o)), []);

    let mut agent = repo_flow("secure-ivr-agent-assisted.json");
    by_id(&mut agent, "hold-agent")["Transitions"]["Errors"][0]["NextAction"] = json!("capture");
    assert!(!audit(&agent, &options(None, None)).findings.iter().any(|f| f.rule == Rule::AgentOnHoldDuringCapture));
}

fn by_id<'a>(d: &'a mut Value, id: &str) -> &'a mut Value {
    d["Actions"].as_array_mut().expect("actions").iter_mut().find(|a| a["Identifier"] == id).expect("action")
}

/// Each mutation of the card-capture flow, and the one contract rule that must catch it (as the
/// former Python self-test did).
#[test]
fn each_contract_rule_catches_its_mutation_of_the_card_flow() {
    let cases: [Mutation; 16] = [
        ("broken transition", Rule::TransitionTargets, |d| {
            d["Actions"][0]["Transitions"]["NextAction"] = json!("no-such-action")
        }),
        ("start names nothing", Rule::StartAction, |d| d["StartAction"] = json!("nowhere")),
        ("wrong version", Rule::Shape, |d| d["Version"] = json!("2020-01-01")),
        ("orphan", Rule::NoOrphans, |d| d["Actions"].as_array_mut().expect("a").push(bye())),
        ("re-prompt without a Loop", Rule::BoundedRetries, |d| {
            let conds = by_id(d, "card-status")["Transitions"]["Conditions"].as_array_mut().expect("c");
            for c in conds.iter_mut().filter(|c| c["Condition"]["Operands"] == json!(["Invalid"])) {
                c["NextAction"] = json!("card-capture");
            }
        }),
        ("logging never back on", Rule::LoggingRestoredOnExit, |d| {
            for id in ["logging-on", "error-logging-on"] {
                by_id(d, id)["Parameters"]["FlowLoggingBehavior"] = json!("Disabled");
            }
        }),
        ("legacy parameters on the current action", Rule::RecordingActions, |d| {
            by_id(d, "recording-off")["Parameters"] =
                json!({"RecordingBehavior": {"RecordedParticipants": [], "IVRRecordingBehavior": "Disabled"}});
        }),
        ("no ChannelMismatch error", Rule::RecordingActions, |d| {
            let errs = by_id(d, "recording-off")["Transitions"]["Errors"].as_array_mut().expect("e");
            errs.retain(|e| e["ErrorType"] != "ChannelMismatch");
        }),
        ("unknown participant", Rule::RecordingActions, |d| {
            by_id(d, "recording-on")["Parameters"]["VoiceBehavior"]["VoiceRecordingBehavior"]["RecordedParticipants"] =
                json!(["Agent", "Supervisor"]);
        }),
        ("recording never resumed", Rule::RecordingResumedForAgent, |d| {
            by_id(d, "recording-on")["Parameters"]["VoiceBehavior"]["VoiceRecordingBehavior"]["RecordedParticipants"] =
                json!([]);
        }),
        ("time limit out of range", Rule::LambdaParameters, |d| {
            by_id(d, "card-decrypt")["Parameters"]["InvocationTimeLimitSeconds"] = json!("9");
        }),
        ("ciphertext under an undeclared name", Rule::LambdaParameters, |d| {
            by_id(d, "card-decrypt")["Parameters"]["LambdaInvocationAttributes"] =
                json!({"CardData": "$.StoredCustomerInput"});
        }),
        ("reads $.External.CardNumber", Rule::ExternalKeys, |d| {
            by_id(d, "card-readback")["Parameters"]["SSML"] = json!("<speak>$.External.CardNumber</speak>");
        }),
        ("no NoInput branch", Rule::StatusBranches, |d| {
            let conds = by_id(d, "card-status")["Transitions"]["Conditions"].as_array_mut().expect("c");
            conds.retain(|c| c["Condition"]["Operands"] != json!(["NoInput"]));
        }),
        ("key ID hard-coded", Rule::Placeholders, |d| {
            by_id(d, "card-capture")["Parameters"]["InputEncryption"]["EncryptionKeyId"] = json!("1234");
        }),
        ("a placeholder secure-ivr flow does not fill", Rule::Placeholders, |d| {
            by_id(d, "card-readback")["Parameters"]["SSML"] = json!("{{NAME}}");
        }),
    ];
    let original = repo_flow("secure-ivr-card-capture.json");
    each_caught("secure-ivr-card-capture.json", &original, &cases, contract);
}

#[test]
fn the_payment_answer_keys_are_keys_the_lambda_returns() {
    let mut d = repo_flow("secure-ivr-card-capture.json");
    by_id(&mut d, "card-readback")["Parameters"]["SSML"] = json!(
        "<speak>$.External.PaymentStatus $.External.PaymentId $.External.DeclineCode $.External.PaymentErrorKind</speak>"
    );
    assert_eq!(contract(&d), []);
    by_id(&mut d, "card-readback")["Parameters"]["SSML"] = json!("<speak>$.External.PaymentCard</speak>");
    assert_eq!(contract(&d), [Rule::ExternalKeys]);
}

#[test]
fn the_legacy_recording_action_in_its_own_shape_passes_the_contract() {
    let mut d = repo_flow("secure-ivr-card-capture.json");
    for a in d["Actions"].as_array_mut().expect("actions") {
        if a["Type"] == "UpdateContactRecordingAndAnalyticsBehavior" {
            let rec = a["Parameters"]["VoiceBehavior"]["VoiceRecordingBehavior"].clone();
            a["Type"] = json!("UpdateContactRecordingBehavior");
            a["Parameters"] = json!({"RecordingBehavior": rec});
            a["Transitions"]["Errors"].as_array_mut().expect("errors").retain(|e| e["ErrorType"] == "NoMatchingError");
        }
    }
    assert_eq!(contract(&d), []);
}

#[test]
fn contract_mode_requires_a_capture_and_a_lambda_that_receives_it() {
    let d = doc(vec![action("hello", "MessageParticipant", json!({"Text": "Hi"}), "bye", &[]), bye()]);
    let rules = contract(&d);
    assert!(rules.contains(&Rule::LoggingOffBeforeCapture), "{rules:?}");
    assert!(rules.contains(&Rule::NoLoggingBetweenCaptureAndLambda), "{rules:?}");
}

#[test]
fn a_rendered_flow_must_have_no_placeholders_left() {
    let d = repo_flow("secure-ivr-card-capture.json");
    let o = contract_options(Placeholders::Forbidden);
    let r = audit(&d, &o);
    assert!(r.findings.iter().any(|f| f.rule == Rule::NoPlaceholdersLeft && f.message.contains("{{KEY_ID}}")));
    let c = valid_cert();
    let text = d
        .to_string()
        .replace("{{KEY_ID}}", KEY_ID)
        .replace("{{CERTIFICATE}}", &c.pem.replace('\n', "\\n"))
        .replace("{{LAMBDA_ARN}}", OURS);
    let rendered: Value = serde_json::from_str(&text).expect("rendered JSON");
    let keys = vec![ConnectKey::from_pem(KEY_ID, &c.public_key_pem)];
    let o = Options { keys: Some(keys), lambda_arn: Some(OURS.into()), ..o };
    let r = audit(&rendered, &o);
    assert_eq!(found(&r), []);
    assert!(r.skipped.is_empty());
}
