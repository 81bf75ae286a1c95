//! `secure-ivr audit --trail-files`: thousands of delivered log files streamed with progress,
//! Digest and Insight files skipped, records from other Regions left out.

// Helpers may panic: a panic is a failed test.
#![allow(clippy::expect_used)]

mod audit_support;
#[allow(unreachable_pub)]
mod common;

use std::collections::BTreeSet;

use audit_support::{REGION, key_read, write_trail};
use common::{assert_code, bin, err, json, run};

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
