//! `secure-ivr check` sees what the function sees: the real binary against moto (SSM, STS, KMS,
//! CloudFormation, CloudTrail) and the IAM wire fake in `common/iam.rs` (moto's IAM does not
//! evaluate condition keys; that file says what the fake cannot show).
//!
//! The stack: each test creates a small stack that reaches CREATE_COMPLETE in moto and carries
//! the outputs `check` reads (`FunctionRoleArn`, `FunctionArn`, `KeyParametersKmsKeyArn`,
//! `KeyAccessAlert`, `KeyParameterPrefix`), with a real moto KMS key as the function's key. The
//! real template's stack is deployed by tests/deploy (it needs the Lambda zip in S3); here each test
//! wants its own role, key and prefix on the shared moto server.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::process::Command;

use common::iam::{Grant, IamConfig, fake_iam, template_grants};
use common::{
    StackOut, assert_code, bin_with_creds, create_stack, err, fake_connect, json, moto, moto_call, out, run,
    unique_prefix,
};

/// moto's account (STS GetCallerIdentity answers it).
const ACCOUNT: &str = "123456789012";

fn moto_json(endpoint: &str, region: &str, service: &str, target: &str, body: &serde_json::Value) -> serde_json::Value {
    let (status, text) = moto_call(
        endpoint,
        region,
        service,
        &[("X-Amz-Target", target), ("Content-Type", "application/x-amz-json-1.1")],
        "POST",
        "/",
        &body.to_string(),
    );
    let start = text.find('{').unwrap_or(0);
    let end = text.rfind('}').map(|e| e + 1).unwrap_or(text.len());
    let v: serde_json::Value = serde_json::from_str(text.get(start..end).unwrap_or("{}")).unwrap_or_default();
    assert!(status == 200, "{target}: HTTP {status}: {text}");
    v
}

/// A moto KMS key (with `policy`, when given); returns its ARN.
fn create_key(m: &str, region: &str, policy: Option<&str>) -> String {
    let mut body = serde_json::json!({"Description": "secure-ivr check test"});
    if let Some(p) = policy {
        body["Policy"] = serde_json::json!(p);
    }
    let v = moto_json(m, region, "kms", "TrentService.CreateKey", &body);
    v["KeyMetadata"]["Arn"].as_str().expect("key arn").to_owned()
}

/// The key policy the function's key gets: the template's shape (root administers, the function
/// role decrypts via SSM), with a Sid unique to the test so the fake can tell it was passed on.
fn key_policy(region: &str, role: &str, marker: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")},
             "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:PutKeyPolicy"], "Resource": "*"},
            {"Sid": marker, "Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": format!("ssm.{region}.amazonaws.com")}}}
        ]
    })
    .to_string()
}

fn names(tag: &str) -> (String, String, String) {
    let nonce = format!(
        "{}{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
    );
    let stack = format!("secure-ivr-{tag}-{nonce}");
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{stack}-fn");
    (stack.clone(), role, format!("Fn{nonce}"))
}

fn cli(m: &str, region: &str, prefix: &str, stack: &str, iam: &str) -> Command {
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", m)
        .env("AWS_ENDPOINT_URL_IAM", iam)
        .env("AWS_REGION", region)
        .env("SECURE_IVR_PREFIX", prefix)
        .env("SECURE_IVR_STACK", stack);
    c
}

/// `keygen` (2048 bits for speed) with `c` (from [`cli`]); returns the new key ID.
fn keygen(mut c: Command, connect: &str, instance: &str, extra: &[&str]) -> String {
    c.env("AWS_ENDPOINT_URL_CONNECT", connect)
        .args(["--output", "json", "keygen", "--bits", "2048", "--instance-id", instance])
        .args(extra);
    let o = run(c, None);
    assert_code(&o, 0);
    json(&o)["key_id"].as_str().expect("key id").to_owned()
}

fn row<'a>(report: &'a serde_json::Value, check: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["check"] == check))
        .unwrap_or_else(|| panic!("no row {check:?} in {report:#}"))
}

const CLOUDTRAIL: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

/// Trails are per Region, not per test: remove what an earlier run on this moto left behind.
fn delete_test_trails(m: &str, region: &str, prefix: &str) {
    let v = moto_json(m, region, "cloudtrail", &format!("{CLOUDTRAIL}.DescribeTrails"), &serde_json::json!({}));
    for t in v["trailList"].as_array().into_iter().flatten() {
        if let Some(name) = t["Name"].as_str().filter(|n| n.starts_with(prefix)) {
            moto_json(
                m,
                region,
                "cloudtrail",
                &format!("{CLOUDTRAIL}.DeleteTrail"),
                &serde_json::json!({"Name": name}),
            );
        }
    }
}

#[test]
fn check_says_whether_the_function_can_read_each_key() {
    let Some(m) = moto("check_says_whether_the_function_can_read_each_key") else { return };
    // Its own Region: the trail assertions need a Region no other test creates trails in.
    let region = "eu-north-1";
    let prefix = unique_prefix("fnview");
    let (stack, role, marker) = names("fnview");
    delete_test_trails(&m, region, "secure-ivr-fnview-");
    let function = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{stack}");
    let stack_key = create_key(&m, region, Some(&key_policy(region, &role, &marker)));
    let other_key = create_key(&m, region, None);
    let alias = format!("alias/{stack}-other");
    moto_json(
        &m,
        region,
        "kms",
        "TrentService.CreateAlias",
        &serde_json::json!({"AliasName": alias, "TargetKeyId": other_key}),
    );
    create_stack(
        &m,
        region,
        &stack,
        &StackOut { role: &role, function: &function, key: &stack_key, alert: true, prefix: &prefix, legacy: "" },
    );

    let (grants, denies) = template_grants(region, ACCOUNT, &prefix, &function, &stack_key, Some(&marker));
    let (iam, seen) =
        fake_iam(IamConfig { role_arn: role.clone(), grants, denies, page_size: 1, ..IamConfig::default() });
    let instance = "11111111-2222-3333-4444-555555555555";
    let (connect, _) = fake_connect(instance);

    // README step 2: keygen without --kms-key-id stores the key under the stack's key.
    let good = keygen(cli(&m, region, &prefix, &stack, &iam), &connect, instance, &[]);

    let mut c = cli(&m, region, &prefix, &stack, &iam);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(row(&v, &format!("function reads key {good}"))["status"], "ok", "{v:#}");
    assert_eq!(row(&v, &format!("function decrypts key {good}"))["status"], "ok", "{v:#}");
    let k = row(&v, &format!("key {good} KMS key"));
    assert_eq!(k["status"], "ok");
    assert!(k["detail"].as_str().is_some_and(|d| d.contains(&stack_key)), "{k}");
    // Alerts on, no trail in this Region: a warning, not a finding.
    let a = row(&v, "key-access alerts");
    assert_eq!(a["status"], "warn");
    assert!(a["detail"].as_str().is_some_and(|d| d.contains("no CloudTrail trail")), "{a}");

    // What IAM was asked: the exact actions, resources and context, the key policy, the caller.
    let parameter_arn = format!("arn:aws:ssm:{region}:{ACCOUNT}:parameter{prefix}{good}");
    {
        let seen = seen.lock().expect("lock");
        let get = seen.iter().find(|s| s.action_names == ["ssm:GetParameter"]).expect("ssm question");
        assert_eq!(get.policy_source_arn, role);
        assert_eq!(get.resource_arns, std::slice::from_ref(&parameter_arn));
        assert_eq!(get.context_value("lambda:SourceFunctionArn"), Some(function.as_str()));
        assert!(get.context.iter().all(|c| c.kind == "string" && c.values.len() == 1));
        assert!(get.resource_policy.is_none());
        let dec = seen.iter().find(|s| s.action_names == ["kms:Decrypt"]).expect("kms question");
        assert_eq!(dec.resource_arns, std::slice::from_ref(&stack_key));
        assert_eq!(dec.context_value("kms:ViaService"), Some(format!("ssm.{region}.amazonaws.com").as_str()));
        assert_eq!(dec.context_value("kms:EncryptionContext:PARAMETER_ARN"), Some(parameter_arn.as_str()));
        assert_eq!(dec.context_value("kms:CallerAccount"), Some(ACCOUNT));
        assert!(
            dec.resource_policy.as_deref().is_some_and(|p| p.contains(&marker)),
            "the key policy was not passed on"
        );
        assert_eq!(dec.caller_arn.as_deref(), Some(role.as_str()));
    }

    // A key under another KMS key (named by alias): unreadable by the function, a finding.
    let bad = keygen(cli(&m, region, &prefix, &stack, &iam), &connect, instance, &["--kms-key-id", &alias]);

    // A trail that logs, so the alerts row turns ok.
    let bucket = format!("{}-trail", stack.to_lowercase());
    let (status, text) = moto_call(&m, "us-east-1", "s3", &[], "PUT", &format!("/{bucket}"), "");
    assert_eq!(status, 200, "CreateBucket: {text}");
    let trail = moto_json(
        &m,
        region,
        "cloudtrail",
        &format!("{CLOUDTRAIL}.CreateTrail"),
        &serde_json::json!({"Name": format!("{stack}-trail"), "S3BucketName": bucket}),
    );
    let trail_arn = trail["TrailARN"].as_str().expect("trail arn").to_owned();

    // Stopped trail first: still a warning, naming it.
    let mut c = cli(&m, region, &prefix, &stack, &iam);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let a = row(&v, "key-access alerts");
    assert_eq!(a["status"], "warn");
    assert!(a["detail"].as_str().is_some_and(|d| d.contains("no trail is logging") && d.contains(&trail_arn)), "{a}");
    let k = row(&v, &format!("key {bad} KMS key"));
    assert_eq!(k["status"], "fail", "{v:#}");
    let d = k["detail"].as_str().unwrap_or_default();
    assert!(d.contains(&other_key) && d.contains(&stack_key) && d.contains("cannot decrypt"), "{d}");
    assert_eq!(row(&v, &format!("function decrypts key {bad}"))["status"], "fail", "{v:#}");
    // The first key is still fine, and reading is allowed for both (same path).
    assert_eq!(row(&v, &format!("function decrypts key {good}"))["status"], "ok");
    assert_eq!(row(&v, &format!("function reads key {bad}"))["status"], "ok");

    // Both keys were asked about in one ssm:GetParameter question, answered in two Marker pages.
    {
        let seen = seen.lock().expect("lock");
        let both: Vec<_> =
            seen.iter().filter(|s| s.action_names == ["ssm:GetParameter"] && s.resource_arns.len() == 2).collect();
        assert!(
            both.iter().any(|s| s.marker.is_none()) && both.iter().any(|s| s.marker.is_some()),
            "no second page was asked for"
        );
    }

    moto_json(&m, region, "cloudtrail", &format!("{CLOUDTRAIL}.StartLogging"), &serde_json::json!({"Name": trail_arn}));
    let mut c = cli(&m, region, &prefix, &stack, &iam);
    c.arg("check");
    let o = run(c, None);
    assert_code(&o, 9);
    let text = out(&o);
    assert!(text.contains("OK    key-access alerts: on; trail"), "{text}");
    assert!(text.contains(&format!("FAIL  key {bad} KMS key: stored under")), "{text}");
    assert!(!text.contains("PRIVATE KEY"), "key material in the output");

    // A logging trail that records writes only: the alerts would never see a read.
    moto_json(
        &m,
        region,
        "cloudtrail",
        &format!("{CLOUDTRAIL}.PutEventSelectors"),
        &serde_json::json!({"TrailName": trail_arn, "EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]}),
    );
    let mut c = cli(&m, region, &prefix, &stack, &iam);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    let v = json(&o);
    let a = row(&v, "key-access alerts");
    assert_eq!(a["status"], "warn");
    assert!(a["detail"].as_str().is_some_and(|d| d.contains("leaves out management read events")), "{a}");
    delete_test_trails(&m, region, &stack);
}

#[test]
fn a_missing_stack_is_a_note_by_default_and_a_finding_when_named() {
    let Some(m) = moto("a_missing_stack_is_a_note_by_default_and_a_finding_when_named") else { return };
    // No stack named secure-ivr exists in this Region of the shared moto.
    let region = "ap-south-2";
    let prefix = unique_prefix("nostack");
    let (iam, seen) = fake_iam(IamConfig::default());
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", &m)
        .env("AWS_ENDPOINT_URL_IAM", &iam)
        .env("AWS_REGION", region)
        .env("SECURE_IVR_PREFIX", &prefix);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    let r = row(&v, "function view");
    assert_eq!(r["status"], "warn");
    assert!(r["detail"].as_str().is_some_and(|d| d.contains("secure-ivr") && d.contains("--function-role")), "{r}");

    let mut c = cli(&m, region, &prefix, "no-such-stack", &iam);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let r = row(&v, "function view");
    assert_eq!(r["status"], "fail");
    assert!(r["detail"].as_str().is_some_and(|d| d.contains("no-such-stack") && d.contains("does not exist")), "{r}");
    assert!(seen.lock().expect("lock").is_empty(), "IAM was asked without a role");
}

#[test]
fn check_reports_a_role_the_simulation_denies() {
    let Some(m) = moto("check_reports_a_role_the_simulation_denies") else { return };
    let region = "eu-south-1";
    let prefix = unique_prefix("denied");
    let (stack, role, marker) = names("denied");
    let function = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{stack}");
    let key = create_key(&m, region, Some(&key_policy(region, &role, &marker)));
    create_stack(
        &m,
        region,
        &stack,
        &StackOut { role: &role, function: &function, key: &key, alert: false, prefix: &prefix, legacy: "" },
    );
    let instance = "21111111-2222-3333-4444-555555555555";
    let (connect, _) = fake_connect(instance);

    // The role exists but nothing allows it anything.
    let (iam, _) = fake_iam(IamConfig { role_arn: role.clone(), ..IamConfig::default() });
    let id = keygen(cli(&m, region, &prefix, &stack, &iam), &connect, instance, &[]);

    let mut c = cli(&m, region, &prefix, &stack, &iam);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let r = row(&v, &format!("function reads key {id}"));
    assert_eq!(r["status"], "fail");
    assert!(r["detail"].as_str().is_some_and(|d| d.contains("KeyAccessDenied") && d.contains(&role)), "{r}");
    assert_eq!(row(&v, &format!("function decrypts key {id}"))["status"], "fail");
    // The operator can read the key, which is exactly what proves nothing about the function.
    assert_eq!(row(&v, &format!("key {id} readable"))["status"], "ok");
    assert!(
        v["checks"].as_array().is_some_and(|r| r.iter().all(|r| r["check"] != "key-access alerts")),
        "alerts are off"
    );

    // The template's deny: the same grants, but asked without the function ARN, are denied.
    let (grants, denies) = template_grants(region, ACCOUNT, &prefix, &function, &key, Some(&marker));
    let (iam, _) = fake_iam(IamConfig { role_arn: role.clone(), grants, denies, ..IamConfig::default() });
    let mut c = cli(&m, region, &prefix, "no-stack-needed", &iam);
    c.args(["--output", "json", "check", "--function-role", &role, "--kms-key-id", &key]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    assert_eq!(row(&v, "function ARN")["status"], "warn");
    let r = row(&v, &format!("function reads key {id}"));
    assert_eq!(r["status"], "fail");
    assert!(r["detail"].as_str().is_some_and(|d| d.contains("explicitly denies")), "{r}");
    assert_eq!(row(&v, &format!("function decrypts key {id}"))["status"], "ok");
    // With it, allowed.
    let mut c = cli(&m, region, &prefix, "no-stack-needed", &iam);
    c.args(["--output", "json", "check", "--function-role", &role, "--function-arn", &function, "--kms-key-id", &key]);
    let o = run(c, None);
    assert_code(&o, 0);
    assert_eq!(row(&json(&o), &format!("function reads key {id}"))["status"], "ok");

    // A role IAM does not know: NoSuchEntity, named as such.
    let ghost = format!("arn:aws:iam::{ACCOUNT}:role/{stack}-deleted");
    let mut c = cli(&m, region, &prefix, "no-stack-needed", &iam);
    c.args(["--output", "json", "check", "--function-role", &ghost, "--function-arn", &function]);
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let r = row(&v, &format!("function reads key {id}"));
    assert!(
        r["detail"].as_str().is_some_and(|d| d.contains("IAM has no role") && d.contains("--function-role")),
        "{r}"
    );

    // IAM refusing the key policy as a resource policy: the role's policies still answer, with a note.
    let (grants, denies) = template_grants(region, ACCOUNT, &prefix, &function, &key, Some(&marker));
    let mut grants = grants;
    grants.push(Grant {
        action: "kms:Decrypt".into(),
        resource: key.clone(),
        context: vec![],
        in_resource_policy: None,
    });
    let (iam, _) = fake_iam(IamConfig {
        role_arn: role.clone(),
        grants,
        denies,
        reject_resource_policy: true,
        ..IamConfig::default()
    });
    let mut c = cli(&m, region, &prefix, &stack, &iam);
    c.args(["--output", "json", "check"]);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    let r = row(&v, &format!("function decrypts key {id}"));
    assert_eq!(r["status"], "warn");
    assert!(r["detail"].as_str().is_some_and(|d| d.contains("did not take the key policy")), "{r}");
}

#[test]
fn iam_throttling_or_access_denied_is_a_clear_error() {
    let Some(m) = moto("iam_throttling_or_access_denied_is_a_clear_error") else { return };
    let region = "ap-east-1";
    let prefix = unique_prefix("iamfail");
    let (stack, role, marker) = names("iamfail");
    let function = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{stack}");
    let key = create_key(&m, region, Some(&key_policy(region, &role, &marker)));
    create_stack(
        &m,
        region,
        &stack,
        &StackOut { role: &role, function: &function, key: &key, alert: false, prefix: &prefix, legacy: "" },
    );
    let instance = "31111111-2222-3333-4444-555555555555";
    let (connect, _) = fake_connect(instance);
    let (ok_iam, _) = fake_iam(IamConfig { role_arn: role.clone(), ..IamConfig::default() });
    let id = keygen(cli(&m, region, &prefix, &stack, &ok_iam), &connect, instance, &[]);

    for (status, code, message, expect) in [
        (400, "Throttling", "Rate exceeded", "wait a minute"),
        (
            403,
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/operator is not authorized to perform: iam:SimulatePrincipalPolicy",
            "iam:SimulatePrincipalPolicy",
        ),
    ] {
        let (iam, seen) = fake_iam(IamConfig {
            role_arn: role.clone(),
            fail: Some((status, code.into(), message.into())),
            ..IamConfig::default()
        });
        let mut c = cli(&m, region, &prefix, &stack, &iam);
        c.args(["--output", "json", "check"]);
        let o = run(c, None);
        assert_code(&o, 9);
        assert!(!err(&o).contains("panicked"), "{}", err(&o));
        let v = json(&o);
        let r = row(&v, &format!("function reads key {id}"));
        assert_eq!(r["status"], "fail");
        let d = r["detail"].as_str().unwrap_or_default();
        assert!(d.contains(code) && d.contains(expect), "{code}: {d}");
        assert!(seen.lock().expect("lock").is_empty(), "the fake accepted a call it should have failed");
    }
}
