//! The real binary against moto (SSM, STS) and wire-level fakes of Connect and CloudTrail.

mod common;

use std::process::Command;

use common::{
    assert_code, bin_with_creds, err, fake_cloudtrail, fake_connect, json, moto, moto_ssm, out, run, unique_prefix,
};

const REGION: &str = "us-east-1";

/// Points every service at moto; Connect/CloudTrail at their fakes when given.
/// A well-formed RSA-1024 key, below the minimum (shared with the Lambda tests).
const WEAK_1024: &str = include_str!("../../lambda/tests/data/test-only-weak-1024.pem");

fn cli(moto: &str, prefix: &str, connect: Option<&str>, cloudtrail: Option<&str>) -> Command {
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", moto).env("AWS_REGION", REGION).env("SECURE_IVR_PREFIX", prefix);
    if let Some(u) = connect {
        c.env("AWS_ENDPOINT_URL_CONNECT", u);
    }
    if let Some(u) = cloudtrail {
        c.env("AWS_ENDPOINT_URL_CLOUDTRAIL", u);
    }
    c
}

#[test]
fn pending_key_lifecycle_in_ssm() {
    let Some(m) = moto("pending_key_lifecycle_in_ssm") else { return };
    let prefix = unique_prefix("pending");
    let dir = tempfile::tempdir().expect("tempdir");

    let mut c = cli(&m, &prefix, None, None);
    c.args([
        "--output",
        "json",
        "keygen",
        "--bits",
        "2048",
        "--kms-key-id",
        "alias/secure-ivr-test",
        "--tag",
        "team=security",
        "--out-dir",
    ])
    .arg(dir.path());
    let o = run(c, None);
    assert_code(&o, 0);
    let created = json(&o);
    assert_eq!(created["status"], "pending");
    let fp = created["fingerprint"].as_str().expect("fingerprint").to_owned();
    let pending = format!("{prefix}pending/{fp}");
    assert_eq!(created["parameter"], pending.as_str());
    assert!(!out(&o).contains("PRIVATE KEY"));

    // SecureString with the KMS key passed through, tags, description.
    let d = moto_ssm(
        &m,
        REGION,
        "DescribeParameters",
        &serde_json::json!({"ParameterFilters": [{"Key": "Name", "Values": [pending]}]}),
    );
    let p = &d["Parameters"][0];
    assert_eq!(p["Type"], "SecureString");
    assert_eq!(p["KeyId"], "alias/secure-ivr-test");
    let tags = moto_ssm(
        &m,
        REGION,
        "ListTagsForResource",
        &serde_json::json!({"ResourceType": "Parameter", "ResourceId": pending}),
    );
    let tag =
        |k: &str| tags["TagList"].as_array().and_then(|l| l.iter().find(|t| t["Key"] == k)).map(|t| t["Value"].clone());
    assert_eq!(tag("secure-ivr:fingerprint"), Some(serde_json::json!(fp)));
    assert_eq!(tag("team"), Some(serde_json::json!("security")));
    assert!(tag("secure-ivr:certificate-not-after").is_some());
    assert!(tag("secure-ivr:created-by").is_some());

    // list shows it pending.
    let mut c = cli(&m, &prefix, None, None);
    c.args(["--output", "json", "list"]);
    let o = run(c, None);
    assert_code(&o, 0);
    assert_eq!(json(&o)["keys"][0]["status"], "pending");

    // activate moves it under the key ID.
    let mut c = cli(&m, &prefix, None, None);
    c.args(["activate", "--key-id", "key-1", "--fingerprint", &fp]);
    assert_code(&run(c, None), 0);
    let d = moto_ssm(
        &m,
        REGION,
        "DescribeParameters",
        &serde_json::json!({"ParameterFilters": [{"Key": "Name", "Values": [format!("{prefix}key-1")]}]}),
    );
    assert_eq!(d["Parameters"][0]["KeyId"], "alias/secure-ivr-test");
    let gone = moto_ssm(&m, REGION, "GetParameter", &serde_json::json!({"Name": format!("{prefix}pending/{fp}")}));
    assert!(gone.get("Parameter").is_none());

    // encrypt with the certificate, decrypt with the key from SSM.
    let cert = dir.path().join(format!("{}.cert.pem", &fp[..16]));
    let mut c = bin_with_creds();
    c.args(["encrypt", "--key-id", "key-1", "--text", "4111111111111111", "--certificate"]).arg(&cert);
    let enc = run(c, None);
    assert_code(&enc, 0);
    let mut c = cli(&m, &prefix, None, None);
    c.args(["--output", "json", "decrypt"]);
    let o = run(c, Some(out(&enc).as_bytes()));
    assert_code(&o, 0);
    assert_eq!(json(&o)["Masked"], "XXXXXXXXXXXX1111");
    assert!(json(&o)["key_source"].as_str().is_some_and(|s| s.contains("ssm")));

    // Wrong region: the key lives in us-east-1 only.
    let mut c = cli(&m, &prefix, None, None);
    c.args(["--region", "eu-west-1", "decrypt"]);
    let o = run(c, Some(out(&enc).as_bytes()));
    assert_code(&o, 5);
    assert!(err(&o).contains("eu-west-1") && err(&o).contains("--region"));

    // Unknown key ID.
    let mut c = bin_with_creds();
    c.args(["encrypt", "--key-id", "key-unknown", "--text", "1", "--certificate"]).arg(&cert);
    let enc2 = run(c, None);
    let mut c = cli(&m, &prefix, None, None);
    c.arg("decrypt");
    let o = run(c, Some(out(&enc2).as_bytes()));
    assert_code(&o, 5);
    assert!(err(&o).contains("key-unknown"));

    // check: everything readable and the certificate matches.
    let mut c = cli(&m, &prefix, None, None);
    c.args(["check", "--certificate"]).arg(&cert);
    let o = run(c, None);
    assert_code(&o, 0);
    assert!(out(&o).contains("0 failed"), "{}", out(&o));

    // A corrupt private key in SSM makes check fail.
    moto_ssm(
        &m,
        REGION,
        "PutParameter",
        &serde_json::json!({"Name": format!("{prefix}key-2"), "Value": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "Type": "SecureString"}),
    );
    let mut c = cli(&m, &prefix, None, None);
    c.arg("check");
    let o = run(c, None);
    assert_code(&o, 9);
    assert!(out(&o).contains("key key-2"));

    // A well-formed but too small key is named by its size, not called malformed.
    moto_ssm(
        &m,
        REGION,
        "PutParameter",
        &serde_json::json!({"Name": format!("{prefix}key-2"), "Value": WEAK_1024, "Type": "SecureString", "Overwrite": true}),
    );
    let mut c = cli(&m, &prefix, None, None);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let rows = v["checks"].as_array().expect("checks");
    let row = rows.iter().find(|r| r["check"] == "key key-2 size").unwrap_or_else(|| panic!("no size row: {v}"));
    assert_eq!(row["status"], "fail");
    assert_eq!(row["detail"], "1024 bits; at least 2048 required");
    assert!(!out(&o).contains("PRIVATE KEY"), "key material in the output");
}

#[test]
fn named_profile_supplies_region_and_credentials() {
    let Some(m) = moto("named_profile_supplies_region_and_credentials") else { return };
    let prefix = unique_prefix("profile");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(&config, format!("[default]\nregion = eu-west-2\n\n[profile auditor]\nregion = {REGION}\n"))
        .expect("config");
    std::fs::write(
        &credentials,
        "[auditor]\naws_access_key_id = AKIDPROFILETEST\naws_secret_access_key = profile-secret\n",
    )
    .expect("credentials");
    // No region and no credentials in the environment: both can only come from the profile.
    let with_files = |profile: &str| {
        let mut c = common::bin();
        c.env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_ENDPOINT_URL", &m)
            .env("SECURE_IVR_PREFIX", &prefix)
            .args(["--profile", profile, "--output", "json", "list"]);
        c
    };
    let o = run(with_files("auditor"), None);
    assert_code(&o, 0);
    assert_eq!(json(&o)["region"], REGION, "the region is the profile's, not the default's");

    // The default profile has a region but no credentials; an unknown profile has neither.
    let o = run(with_files("default"), None);
    assert_code(&o, 3);
    assert!(err(&o).contains("credentials"), "{}", err(&o));
    let o = run(with_files("no-such-profile"), None);
    assert_code(&o, 3);
    assert!(!err(&o).contains("profile-secret"), "a secret from the credentials file in an error");
}

#[test]
fn connect_rotation_within_the_two_key_limit() {
    let Some(m) = moto("connect_rotation_within_the_two_key_limit") else { return };
    let prefix = unique_prefix("rotate");
    let instance = "11111111-2222-3333-4444-555555555555";
    let (connect, keys) = fake_connect(instance);
    let dir = tempfile::tempdir().expect("tempdir");

    // First key.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["--output", "json", "keygen", "--bits", "2048", "--instance-id", instance, "--out-dir"]).arg(dir.path());
    let o = run(c, None);
    assert_code(&o, 0);
    let first = json(&o)["key_id"].as_str().expect("key id").to_owned();
    assert_eq!(keys.lock().expect("lock").len(), 1);
    assert!(keys.lock().expect("lock")[0].key.starts_with("-----BEGIN PUBLIC KEY-----"));
    let text_o = {
        let mut c = cli(&m, &prefix, Some(&connect), None);
        c.args(["list", "--instance-id", instance]);
        run(c, None)
    };
    assert_code(&text_o, 0);
    assert!(out(&text_o).contains(&first));

    // Retiring the only key is refused.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["retire", "--instance-id", instance, "--key-id", &first]);
    let o = run(c, None);
    assert_code(&o, 8);
    assert!(err(&o).contains("--force"));

    // Rotate: second key, old stays live.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["--output", "json", "rotate", "--bits", "2048", "--instance-id", instance]);
    let o = run(c, None);
    assert_code(&o, 0);
    let rotated = json(&o);
    let second = rotated["new_key"]["key_id"].as_str().expect("id").to_owned();
    assert_eq!(rotated["previous_key_ids"][0], first.as_str());

    // A third key hits Connect's limit: rotate refuses up front, keygen reports the service error.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["rotate", "--bits", "2048", "--instance-id", instance]);
    let o = run(c, None);
    assert_code(&o, 8);
    assert!(err(&o).contains(&first));
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["keygen", "--bits", "2048", "--instance-id", instance]);
    let o = run(c, None);
    assert_code(&o, 8);
    assert!(err(&o).contains("limit"));

    // check is consistent.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["check", "--instance-id", instance]);
    let o = run(c, None);
    assert_code(&o, 0);

    // Retire the first: disassociated, private key labelled and kept.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["--output", "json", "retire", "--instance-id", instance, "--key-id", &first]);
    let o = run(c, None);
    assert_code(&o, 0);
    assert_eq!(json(&o)["disassociated"], true);
    assert_eq!(keys.lock().expect("lock").len(), 1);
    let h = moto_ssm(&m, REGION, "GetParameterHistory", &serde_json::json!({"Name": format!("{prefix}{first}")}));
    assert_eq!(h["Parameters"][0]["Labels"][0], "retired");

    // A Connect key with no private key is flagged.
    keys.lock().expect("lock").push(common::FakeKey {
        association_id: "orphan-key".into(),
        key: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into(),
        creation_time: 1_800_000_000,
    });
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["--output", "json", "list", "--instance-id", instance]);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    let orphan = v["keys"].as_array().expect("keys").iter().find(|k| k["key_id"] == "orphan-key").expect("orphan");
    assert_eq!(orphan["status"], "connect-only");
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["check", "--instance-id", instance]);
    assert_code(&run(c, None), 9);

    // Retire with --delete removes the private key.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["retire", "--instance-id", instance, "--key-id", &second, "--delete"]);
    assert_code(&run(c, None), 0);
    let gone = moto_ssm(&m, REGION, "GetParameter", &serde_json::json!({"Name": format!("{prefix}{second}")}));
    assert!(gone.get("Parameter").is_none());

    // Unknown instance.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["list", "--instance-id", "no-such-instance"]);
    assert_code(&run(c, None), 5);
}

#[test]
fn audit_through_cloudtrail_lookup_events() {
    let Some(m) = moto("audit_through_cloudtrail_lookup_events") else { return };
    let prefix = "/connect/secure-ivr/keys/";
    let records = offline_records();
    let ct = fake_cloudtrail(records);
    let mut c = cli(&m, prefix, None, Some(&ct));
    c.args([
        "--output",
        "json",
        "audit",
        "--since",
        "1d",
        "--expect-role",
        "arn:aws:iam::111122223333:role/decrypt-fn-role",
    ]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(v["events"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["unexpected_principals"][0], "arn:aws:iam::111122223333:role/admin");
}

fn offline_records() -> Vec<serde_json::Value> {
    let now = time_now();
    let r = |name: &str, source: &str, role: &str, params: serde_json::Value, id: &str| {
        serde_json::json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/s"),
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::111122223333:role/{role}")}}},
            "eventTime": now, "eventSource": source, "eventName": name, "awsRegion": REGION,
            "sourceIPAddress": "203.0.113.7", "userAgent": "sdk", "requestParameters": params, "eventID": id,
            "readOnly": true, "eventType": "AwsApiCall"
        })
    };
    vec![
        r(
            "GetParameter",
            "ssm.amazonaws.com",
            "decrypt-fn-role",
            serde_json::json!({"name": "/connect/secure-ivr/keys/k1"}),
            "a1",
        ),
        r(
            "GetParameter",
            "ssm.amazonaws.com",
            "admin",
            serde_json::json!({"name": "/connect/secure-ivr/keys/k1"}),
            "a2",
        ),
        r(
            "PutParameter",
            "ssm.amazonaws.com",
            "admin",
            serde_json::json!({"name": "/connect/secure-ivr/keys/k1"}),
            "a3",
        ),
        r(
            "Decrypt",
            "kms.amazonaws.com",
            "decrypt-fn-role",
            serde_json::json!({"encryptionContext": {"PARAMETER_ARN": "arn:aws:ssm:us-east-1:111122223333:parameter/connect/secure-ivr/keys/k1"}}),
            "a4",
        ),
    ]
}

fn time_now() -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    t.replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
