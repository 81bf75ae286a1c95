//! The real binary against moto (SSM, STS) and wire-level fakes of Connect and CloudTrail.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::process::Command;

use common::{
    assert_code, bin_with_creds, err, fake_cloudtrail, fake_connect, json, moto, moto_ssm, out, run, unique_prefix,
};

const REGION: &str = "us-east-1";

/// Points every service at moto; Connect/CloudTrail at their fakes when given.
/// A well-formed RSA-1024 key, below the minimum (shared with the Lambda tests).
const WEAK_1024: &str = test_support::fixtures::KEY_WEAK_1024;

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
    // The key store's one wording of the size rule, as the Lambda says it.
    assert_eq!(row["detail"], keystore::KeyTooSmall { bits: 1024 }.to_string());
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
    c.args([
        "--output",
        "json",
        "keygen",
        "--bits",
        "2048",
        "--instance-id",
        instance,
        "--kms-key-id",
        "alias/secure-ivr-test",
    ])
    .arg("--out-dir")
    .arg(dir.path());
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
    c.args([
        "--output",
        "json",
        "rotate",
        "--bits",
        "2048",
        "--instance-id",
        instance,
        "--kms-key-id",
        "alias/secure-ivr-test",
    ]);
    let o = run(c, None);
    assert_code(&o, 0);
    let rotated = json(&o);
    let second = rotated["new_key"]["key_id"].as_str().expect("id").to_owned();
    assert_eq!(rotated["previous_key_ids"][0], first.as_str());

    // A third key hits Connect's limit: rotate and keygen both refuse up front.
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["rotate", "--bits", "2048", "--instance-id", instance, "--kms-key-id", "alias/secure-ivr-test"]);
    let o = run(c, None);
    assert_code(&o, 8);
    assert!(err(&o).contains(&first));
    let mut c = cli(&m, &prefix, Some(&connect), None);
    c.args(["keygen", "--bits", "2048", "--instance-id", instance, "--kms-key-id", "alias/secure-ivr-test"]);
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

/// What moto shows here: DescribeStacks of stacks it created (CREATE_COMPLETE, REVIEW_IN_PROGRESS
/// after a change set, unknown names) and the KeyId SSM records for each parameter. What it
/// cannot show: that the KMS key really encrypts (moto does not encrypt), or any key policy.
mod stack_keys {
    use super::*;
    use common::{moto_cloudformation, moto_kms_key, outputs_template};

    /// A stack in CREATE_COMPLETE with the current template's outputs and `kms` as its key.
    fn complete_stack(m: &str, name: &str, prefix: &str, kms: &str) {
        let t = outputs_template(&[
            ("FunctionArn", "arn:aws:lambda:us-east-1:123456789012:function:secure-ivr"),
            ("FunctionRoleArn", "arn:aws:iam::123456789012:role/secure-ivr-fn"),
            ("KeyParameterPrefix", prefix),
            ("KeyParametersKmsKeyArn", kms),
            ("KeyAccessAlert", "true"),
        ]);
        let r = moto_cloudformation(m, REGION, "CreateStack", &[("StackName", name), ("TemplateBody", &t)]);
        assert!(r.contains("StackId"), "CreateStack: {r}");
        let d = moto_cloudformation(m, REGION, "DescribeStacks", &[("StackName", name)]);
        assert!(d.contains("CREATE_COMPLETE"), "{d}");
    }

    fn stack_name(tag: &str) -> String {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        format!("secure-ivr-{tag}-{}-{nanos}", std::process::id())
    }

    fn kms_key_id_of(m: &str, name: &str) -> serde_json::Value {
        let d = moto_ssm(
            m,
            REGION,
            "DescribeParameters",
            &serde_json::json!({"ParameterFilters": [{"Key": "Name", "Values": [name]}]}),
        );
        d["Parameters"][0]["KeyId"].clone()
    }

    fn stored_under(m: &str, prefix: &str) -> usize {
        let v = moto_ssm(
            m,
            REGION,
            "GetParametersByPath",
            &serde_json::json!({"Path": prefix.trim_end_matches('/'), "Recursive": true}),
        );
        v["Parameters"].as_array().map_or(0, Vec::len)
    }

    fn keygen(m: &str, prefix: &str, connect: Option<&str>, args: &[&str]) -> std::process::Output {
        let mut c = cli(m, prefix, connect, None);
        c.args(["--output", "json", "keygen", "--bits", "2048"]).args(args);
        run(c, None)
    }

    #[test]
    fn keygen_and_activate_use_the_stack_kms_key() {
        let Some(m) = moto("keygen_and_activate_use_the_stack_kms_key") else { return };
        let prefix = unique_prefix("stack-kms");
        let kms = moto_kms_key(&m, REGION);
        let stack = stack_name("kms");
        complete_stack(&m, &stack, &prefix, &kms);

        // No --kms-key-id: the stack's KeyParametersKmsKeyArn, found through --stack.
        let o = keygen(&m, &prefix, None, &["--stack", &stack]);
        assert_code(&o, 0);
        let created = json(&o);
        let pending = created["parameter"].as_str().expect("parameter").to_owned();
        assert_eq!(created["kms_key_id"], kms.as_str());
        assert_eq!(kms_key_id_of(&m, &pending), serde_json::json!(kms), "PutParameter KeyId");
        assert!(err(&o).contains(&stack), "{}", err(&o));
        assert!(!err(&o).contains("warning"), "{}", err(&o));

        // The same through SECURE_IVR_STACK.
        let mut c = cli(&m, &prefix, None, None);
        c.env("SECURE_IVR_STACK", &stack).args(["--output", "json", "keygen", "--bits", "2048"]);
        let o2 = run(c, None);
        assert_code(&o2, 0);
        let second = json(&o2)["parameter"].as_str().expect("parameter").to_owned();
        assert_eq!(kms_key_id_of(&m, &second), serde_json::json!(kms));

        // activate refuses another KMS key and leaves the pending key where it was.
        let fp = created["fingerprint"].as_str().expect("fingerprint").to_owned();
        let other = moto_kms_key(&m, REGION);
        let mut c = cli(&m, &prefix, None, None);
        c.args(["activate", "--key-id", "key-1", "--fingerprint", &fp, "--kms-key-id", &other]);
        let o = run(c, None);
        assert_code(&o, 8);
        assert!(err(&o).contains(&kms) && err(&o).contains(&other), "{}", err(&o));
        assert_eq!(kms_key_id_of(&m, &pending), serde_json::json!(kms), "pending key still there");
        assert_eq!(kms_key_id_of(&m, &format!("{prefix}key-1")), serde_json::Value::Null, "nothing activated");

        // An alias cannot be compared with the pending key's ARN without KMS: refused too.
        let mut c = cli(&m, &prefix, None, None);
        c.args(["activate", "--key-id", "key-1", "--fingerprint", &fp, "--kms-key-id", "alias/aws/ssm"]);
        assert_code(&run(c, None), 8);

        // Without --kms-key-id (and with a stack that does not exist, which it then never reads)
        // the activated key keeps the pending key's KMS key.
        let mut c = cli(&m, &prefix, None, None);
        c.args(["--output", "json", "activate", "--key-id", "key-1", "--fingerprint", &fp, "--stack", "no-such-stack"]);
        let o = run(c, None);
        assert_code(&o, 0);
        assert_eq!(json(&o)["kms_key_id"], kms.as_str());
        assert_eq!(kms_key_id_of(&m, &format!("{prefix}key-1")), serde_json::json!(kms));
        assert_eq!(kms_key_id_of(&m, &pending), serde_json::Value::Null, "pending removed");

        // Naming the pending key explicitly (by its bare key ID) is the same key: accepted.
        let fp2 = json(&o2)["fingerprint"].as_str().expect("fingerprint").to_owned();
        let bare = kms.rsplit('/').next().expect("key id").to_owned();
        let mut c = cli(&m, &prefix, None, None);
        c.args(["activate", "--key-id", "key-2", "--fingerprint", &fp2, "--kms-key-id", &bare]);
        assert_code(&run(c, None), 0);
        assert_eq!(kms_key_id_of(&m, &format!("{prefix}key-2")), serde_json::json!(kms));
    }

    #[test]
    fn keygen_without_a_usable_kms_key_stores_nothing() {
        let Some(m) = moto("keygen_without_a_usable_kms_key_stores_nothing") else { return };
        let prefix = unique_prefix("no-kms");
        let kms = moto_kms_key(&m, REGION);

        // No such stack (the default name in a fresh account).
        let o = keygen(&m, &prefix, None, &["--stack", &stack_name("absent")]);
        assert_code(&o, 5);
        assert!(err(&o).contains("does not exist"), "{}", err(&o));
        assert!(err(&o).contains("--kms-key-id") && err(&o).contains("--stack"), "{}", err(&o));
        assert!(!err(&o).contains("generating"), "refused before a key was generated: {}", err(&o));

        // A stack still in REVIEW_IN_PROGRESS (change set created, not executed).
        let review = stack_name("review");
        let t = outputs_template(&[("KeyParametersKmsKeyArn", &kms)]);
        let r = moto_cloudformation(
            &m,
            REGION,
            "CreateChangeSet",
            &[("StackName", &review), ("ChangeSetName", "c1"), ("ChangeSetType", "CREATE"), ("TemplateBody", &t)],
        );
        assert!(r.contains("StackId"), "CreateChangeSet: {r}");
        let o = keygen(&m, &prefix, None, &["--stack", &review]);
        assert_code(&o, 8);
        assert!(err(&o).contains("REVIEW_IN_PROGRESS") && err(&o).contains("--kms-key-id"), "{}", err(&o));

        // A complete stack from an older template: no KeyParametersKmsKeyArn output.
        let old = stack_name("old");
        let t = outputs_template(&[
            ("FunctionArn", "arn:aws:lambda:us-east-1:123456789012:function:secure-ivr"),
            ("FunctionRoleArn", "arn:aws:iam::123456789012:role/secure-ivr-fn"),
            ("KeyParameterPrefix", &prefix),
        ]);
        let r = moto_cloudformation(&m, REGION, "CreateStack", &[("StackName", &old), ("TemplateBody", &t)]);
        assert!(r.contains("StackId"), "CreateStack: {r}");
        let o = keygen(&m, &prefix, None, &["--stack", &old]);
        assert_code(&o, 3);
        assert!(err(&o).contains("KeyParametersKmsKeyArn") && err(&o).contains("older template"), "{}", err(&o));
        assert!(err(&o).contains("--kms-key-id"), "{}", err(&o));

        // rotate refuses the same way.
        let mut c = cli(&m, &prefix, None, None);
        c.args(["rotate", "--bits", "2048", "--instance-id", "11111111-2222-3333-4444-555555555555", "--stack", &old]);
        let o = run(c, None);
        assert_code(&o, 3);
        assert!(err(&o).contains("--kms-key-id"), "{}", err(&o));

        assert_eq!(stored_under(&m, &prefix), 0, "nothing was stored");
    }

    #[test]
    fn explicit_aws_ssm_is_accepted_with_a_warning() {
        let Some(m) = moto("explicit_aws_ssm_is_accepted_with_a_warning") else { return };
        let prefix = unique_prefix("aws-ssm");
        // No stack is read: --kms-key-id makes --stack unnecessary.
        let o = keygen(&m, &prefix, None, &["--kms-key-id", "alias/aws/ssm", "--stack", "no-such-stack"]);
        assert_code(&o, 0);
        assert!(err(&o).contains("warning") && err(&o).contains("ssm:GetParameter"), "{}", err(&o));
        let name = json(&o)["parameter"].as_str().expect("parameter").to_owned();
        assert_eq!(kms_key_id_of(&m, &name), serde_json::json!("alias/aws/ssm"));

        // A customer managed key named explicitly: no warning, no stack.
        let kms = moto_kms_key(&m, REGION);
        let o = keygen(&m, &prefix, None, &["--kms-key-id", &kms, "--stack", "no-such-stack"]);
        assert_code(&o, 0);
        assert!(!err(&o).contains("warning"), "{}", err(&o));
    }

    #[test]
    fn connect_limit_and_instance_arns_are_checked_before_generating() {
        let Some(m) = moto("connect_limit_and_instance_arns_are_checked_before_generating") else { return };
        let prefix = unique_prefix("limit");
        let instance = "22222222-2222-3333-4444-555555555555";
        let arn = format!("arn:aws:connect:{REGION}:123456789012:instance/{instance}");
        let (connect, keys) = fake_connect(instance);
        let kms = moto_kms_key(&m, REGION);

        // An instance ARN works wherever an ID does: keygen, rotate, list.
        let o = keygen(&m, &prefix, Some(&connect), &["--instance-id", &arn, "--kms-key-id", &kms]);
        assert_code(&o, 0);
        assert_eq!(json(&o)["instance_id"], instance);
        let mut c = cli(&m, &prefix, Some(&connect), None);
        c.args(["--output", "json", "rotate", "--bits", "2048", "--instance-id", &arn, "--kms-key-id", &kms]);
        assert_code(&run(c, None), 0);
        assert_eq!(keys.lock().expect("lock").len(), 2);
        let mut c = cli(&m, &prefix, Some(&connect), None);
        c.args(["--output", "json", "list", "--instance-id", &arn]);
        let o = run(c, None);
        assert_code(&o, 0);
        assert_eq!(json(&o)["instance_id"], instance);
        let before = stored_under(&m, &prefix);
        assert_eq!(before, 2);

        // Two keys held: keygen refuses before generating, and nothing new is stored.
        let o = keygen(&m, &prefix, Some(&connect), &["--instance-id", instance, "--kms-key-id", &kms]);
        assert_code(&o, 8);
        assert!(err(&o).contains("limit") && err(&o).contains("no key was generated"), "{}", err(&o));
        assert!(!err(&o).contains("generating an RSA"), "{}", err(&o));
        assert_eq!(stored_under(&m, &prefix), before);
        assert_eq!(keys.lock().expect("lock").len(), 2);

        // An ARN from another region is refused before anything (exit 3, names the region).
        let west = format!("arn:aws:connect:eu-west-2:123456789012:instance/{instance}");
        let o = keygen(&m, &prefix, Some(&connect), &["--instance-id", &west, "--kms-key-id", &kms]);
        assert_code(&o, 3);
        assert!(err(&o).contains("--region eu-west-2"), "{}", err(&o));
        assert_eq!(stored_under(&m, &prefix), before);
    }
}
