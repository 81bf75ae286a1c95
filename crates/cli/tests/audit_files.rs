//! `secure-ivr audit --trail-files`: thousands of delivered log files streamed with progress,
//! Digest and Insight files skipped, records from other Regions left out.

// Helpers may panic: a panic is a failed test.
#![allow(clippy::expect_used)]

mod audit_support;
#[allow(unreachable_pub)]
mod common;

use std::collections::BTreeSet;

use audit_support::{FN_ROLE, REGION, ROGUE_ROLE, key_read, write_trail};
use common::{StackOut, assert_code, bin, bin_with_creds, create_stack, err, json, run};

fn ids(v: &serde_json::Value) -> BTreeSet<String> {
    v["events"].as_array().expect("events").iter().filter_map(|e| e["event_id"].as_str().map(str::to_owned)).collect()
}

#[test]
fn thousands_of_files_digests_skipped_other_regions_filtered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = audit_support::dataset(3_000, 10);
    let files = write_trail(dir.path(), REGION, &data.records, 2);
    assert!(files >= 1_500, "{files} files");
    // Files that are not API calls, holding what would be a finding if they were read.
    for kind in ["CloudTrail-Digest", "CloudTrail-Insight"] {
        let d = dir.path().join(format!("AWSLogs/111122223333/{kind}/{REGION}/2026/12/01"));
        std::fs::create_dir_all(&d).expect("mkdir");
        let r = key_read("arn:aws:iam::111122223333:role/not-an-api-call", &format!("{kind}-1"), REGION, "x");
        let body = serde_json::json!({"Records": [r]}).to_string();
        std::fs::write(d.join(format!("111122223333_{kind}_{REGION}_20261201T0000Z_1.json")), body).expect("write");
    }
    // Another Region's trail in the same tree.
    let elsewhere = key_read("arn:aws:iam::111122223333:role/us-east-1-admin", "other-region-1", "us-east-1", "x");
    write_trail(dir.path(), "us-east-1", &[elsewhere], 1);

    let mut c = bin();
    c.args(["--region", REGION, "--output", "json", "audit", "--since", "14d", "--expect-role", "secure-ivr-fn"])
        .arg("--trail-files")
        .arg(dir.path());
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(ids(&v), data.matter.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(v["gathered"]["files_read"], files + 1);
    assert_eq!(v["gathered"]["files_skipped"], 2);
    assert_eq!(v["gathered"]["records_other_region"], 1);
    assert_eq!(v["region"], REGION);
    assert!(err(&o).contains("trail files:"), "progress on stderr: {}", err(&o));

    // Without a Region, every Region's records count.
    let mut c = bin();
    c.args(["--output", "json", "audit", "--since", "14d", "--expect-role", "secure-ivr-fn"])
        .arg("--trail-files")
        .arg(dir.path());
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let mut want: BTreeSet<String> = data.matter.iter().cloned().collect();
    want.insert("other-region-1".into());
    assert_eq!(ids(&v), want);
    assert!(v["region"].is_null());
}

#[test]
fn a_file_that_is_not_a_trail_log_is_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("111122223333_CloudTrail_eu-west-2_x.json"), b"{\"not\": 1}").expect("write");
    let mut c = bin();
    c.args(["audit", "--trail-files"]).arg(dir.path());
    let o = run(c, None);
    assert_code(&o, 6);
    assert!(err(&o).contains("not a CloudTrail log file"), "{}", err(&o));
}

/// `--stack`: the deployed stack's `LegacyParameterName` joins the audit and its function role is
/// the expected reader. The stack is a real CloudFormation stack in moto (DescribeStacks as the
/// SDK reads it); the records are trail files, so nothing else is needed from AWS.
#[test]
fn the_stacks_legacy_parameter_and_function_role_join_the_audit() {
    let Some(m) = common::moto("audit --stack") else { return };
    let legacy = "CONNECT_INPUT_DECRYPTION_KEY";
    let stack = format!("secure-ivr-audit-{}", std::process::id());
    let outs = |prefix| StackOut {
        role: FN_ROLE,
        function: "arn:aws:lambda:eu-west-2:111122223333:function:secure-ivr",
        key: "arn:aws:kms:eu-west-2:111122223333:key/11111111-1111-4111-8111-111111111111",
        alert: false,
        prefix,
        legacy,
    };
    create_stack(&m, REGION, &stack, &outs(audit_support::PREFIX));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut by_legacy = key_read(ROGUE_ROLE, "legacy-read-1", REGION, "aws-cli/2");
    by_legacy["requestParameters"]["name"] = serde_json::json!(legacy);
    write_trail(dir.path(), REGION, &[key_read(FN_ROLE, "fn-read-1", REGION, "aws-sdk-rust"), by_legacy], 10);
    let audit = |extra: &[&str]| {
        let mut c = bin_with_creds();
        c.env("AWS_ENDPOINT_URL", &m)
            .env("AWS_REGION", REGION)
            .env("SECURE_IVR_PREFIX", audit_support::PREFIX)
            .args(["--output", "json", "audit", "--since", "14d"])
            .args(extra)
            .arg("--trail-files")
            .arg(dir.path());
        run(c, None)
    };

    // Without the stack the legacy read is not a key read, and nobody is expected.
    let o = audit(&[]);
    assert_code(&o, 0);
    assert_eq!(ids(&json(&o)), BTreeSet::from(["fn-read-1".to_owned()]));

    let o = audit(&["--stack", &stack]);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(ids(&v), BTreeSet::from(["fn-read-1".to_owned(), "legacy-read-1".to_owned()]));
    assert_eq!(v["legacy_parameters"], serde_json::json!([format!("/{legacy}")]));
    assert_eq!(v["expected_roles"], serde_json::json!([FN_ROLE]));
    assert_eq!(v["unexpected_principals"], serde_json::json!([ROGUE_ROLE]));
    assert!(err(&o).contains("LegacyParameterName"), "{}", err(&o));

    // --expect-role wins over the stack's role; the legacy parameter still comes from the stack.
    let o = audit(&["--stack", &stack, "--expect-role", ROGUE_ROLE]);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(v["unexpected_principals"], serde_json::json!([FN_ROLE]));
    assert_eq!(ids(&v).len(), 2);

    // A stack reading keys under another prefix is named in the report's warnings.
    let other = format!("{stack}-other");
    create_stack(&m, REGION, &other, &outs("/somewhere/else/"));
    let o = audit(&["--stack", &other]);
    let v = json(&o);
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("/somewhere/else/"), "{warnings}");

    // A stack that does not exist stops the audit (exit 5, naming the flag that avoids it).
    let o = audit(&["--stack", "no-such-stack"]);
    assert_code(&o, 5);
    assert!(err(&o).contains("--legacy-parameter"), "{}", err(&o));
}
