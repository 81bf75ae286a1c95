//! The README's deploy path on a fresh moto, as a new user follows it: `scripts/deploy.sh` with the
//! pinned AWS CLI (`.venv-awscli`), then `keygen` without `--kms-key-id`, then `check`. Its own
//! moto server (a fresh account state), the real template, the real binary.
//!
//! What moto cannot show, and what this test does about it:
//! - moto 5.2.5 fills no stack Outputs when a stack is made through a change set (deploy.sh's
//!   path). The test then deletes that stack and creates it again from the same template and the
//!   same parameters with CreateStack, which does fill them, so the CLI's `--stack` lookup reads
//!   the real template's outputs. If a later moto fills them, the test uses them as they are.
//! - moto creates no Connect integration, alarms or topic policy, and enforces no IAM or key
//!   policy. Connect is the wire fake of `common`; IAM's verdict is the wire fake of `common/iam.rs`,
//!   configured with our reading of the template's role policy (see that file for what it cannot
//!   show). Which KMS key each parameter is under is moto's own answer.
//! - moto's GetKeyPolicy returns a stack-created key policy as a JSON object, not the string the
//!   real API returns, so `check` may find the key policy unreadable: the decrypt row is then a
//!   warning, which this test accepts; it asserts that row is never a pass without the policy.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::iam::{IamConfig, fake_iam, template_grants};
use common::{assert_code, bin_with_creds, err, fake_connect, json, out, run};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-2";
const INSTANCE: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A moto server of this test's own, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto(server: &Path) -> Moto {
    let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen on {endpoint}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto { child, endpoint }
}

/// Where the pinned tools are, or None after a loud, counted skip (a failure when the test
/// script promised them).
fn tools() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let root = repo();
    let moto = root.join(".venv/bin/moto_server");
    let python = root.join(".venv/bin/python");
    let aws_bin = root.join(".venv-awscli/bin");
    if moto.is_file() && python.is_file() && aws_bin.join("aws").is_file() {
        return Some((moto, python, aws_bin));
    }
    let why =
        "the pinned venvs (.venv with moto, .venv-awscli with the AWS CLI) are missing: run scripts/setup-python.sh";
    if std::env::var("SECURE_IVR_REQUIRE_SERVICES").as_deref() == Ok("1") {
        panic!("readme walkthrough: {why}");
    }
    eprintln!("SKIP readme walkthrough: {why}");
    if let Some(log) = std::env::var_os("SECURE_IVR_SKIP_LOG") {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
            let _ = writeln!(f, "SKIP secure-ivr-cli readme walkthrough: {why}");
        }
    }
    None
}

/// `program` with test credentials for `endpoint` and nothing of the caller's AWS setup.
fn aws_env(program: &Path, endpoint: &str) -> Command {
    let mut c = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            c.env_remove(k);
        }
    }
    c.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/secure-ivr-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/secure-ivr-test-credentials");
    c
}

/// The pinned AWS CLI against `endpoint`.
fn aws_cli(aws_bin: &Path, endpoint: &str) -> Command {
    aws_env(&aws_bin.join("aws"), endpoint)
}

fn aws_json(aws_bin: &Path, endpoint: &str, args: &[&str]) -> serde_json::Value {
    let mut c = aws_cli(aws_bin, endpoint);
    c.args(args).args(["--output", "json"]);
    let o = run(c, None);
    assert_code(&o, 0);
    let text = out(&o);
    if text.trim().is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text).expect("aws json") }
}

fn stack(aws_bin: &Path, endpoint: &str) -> serde_json::Value {
    aws_json(aws_bin, endpoint, &["cloudformation", "describe-stacks", "--stack-name", "secure-ivr"])["Stacks"][0]
        .clone()
}

fn output(stack: &serde_json::Value, key: &str) -> Option<String> {
    stack["Outputs"].as_array()?.iter().find(|o| o["OutputKey"] == key)?["OutputValue"].as_str().map(str::to_owned)
}

fn wait_for_status(aws_bin: &Path, endpoint: &str, want: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = stack(aws_bin, endpoint);
        if s["StackStatus"] == want {
            return s;
        }
        assert!(Instant::now() < deadline, "stack never reached {want}: {s:#}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The KMS key ID (the last part of the ARN) SSM reports for a parameter.
fn kms_key_of(aws_bin: &Path, endpoint: &str, name: &str) -> String {
    let v = aws_json(
        aws_bin,
        endpoint,
        &["ssm", "describe-parameters", "--parameter-filters", &format!("Key=Name,Option=Equals,Values={name}")],
    );
    let key = v["Parameters"][0]["KeyId"].as_str().unwrap_or_else(|| panic!("no KeyId for {name}: {v:#}"));
    key.rsplit('/').next().unwrap_or(key).to_owned()
}

fn row<'a>(report: &'a serde_json::Value, check: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["check"] == check))
        .unwrap_or_else(|| panic!("no row {check:?} in {report:#}"))
}

/// `secure-ivr` as the README runs it, against moto, the Connect fake and the IAM fake.
fn secure_ivr(endpoint: &str, connect: &str, iam: &str) -> Command {
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", endpoint).env("AWS_ENDPOINT_URL_CONNECT", connect).env("AWS_ENDPOINT_URL_IAM", iam);
    c
}

#[test]
fn the_readme_deploy_path_stores_keys_under_the_stacks_key_and_check_sees_the_functions_view() {
    let Some((moto_server, python, aws_bin)) = tools() else { return };
    let moto = start_moto(&moto_server);
    let m = moto.endpoint.as_str();
    let work = tempfile::tempdir().expect("tempdir");

    // A zip with a `bootstrap` at its root: the upload and the stack are what is tested here.
    let zip = work.path().join("bootstrap.zip");
    let made = Command::new(&python)
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr('bootstrap', '#!/bin/sh\\n'); z.close()"])
        .arg(&zip)
        .status()
        .expect("python");
    assert!(made.success());
    let bucket = "secure-ivr-readme-artifacts";
    aws_json(
        &aws_bin,
        m,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            bucket,
            "--create-bucket-configuration",
            "LocationConstraint=eu-west-2",
        ],
    );

    // README step 1: deploy.sh, for real, with the pinned CLI on PATH.
    let instance_arn = format!("arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE}");
    let mut bash = aws_env(Path::new("bash"), m);
    let path = format!("{}:{}", aws_bin.display(), std::env::var("PATH").unwrap_or_default());
    bash.env("PATH", path)
        .arg(repo().join("scripts/deploy.sh"))
        .args(["--bucket", bucket, "--instance-arn", &instance_arn, "--zip"])
        .arg(&zip);
    let o = run(bash, None);
    assert_code(&o, 0);
    let deployed = wait_for_status(&aws_bin, m, "CREATE_COMPLETE");
    let objects = aws_json(&aws_bin, m, &["s3api", "list-objects-v2", "--bucket", bucket]);
    let keys: Vec<&str> =
        objects["Contents"].as_array().into_iter().flatten().filter_map(|o| o["Key"].as_str()).collect();
    // The zip, and the template beside it once it is over the 51,200 bytes CloudFormation takes
    // inline (it passes them since the payments part of issue 13).
    let big = std::fs::metadata(repo().join("cloudformation/secure-ivr.yaml")).expect("template").len() > 51_200;
    let (zips, templates): (Vec<&str>, Vec<&str>) = keys.iter().partition(|k| k.ends_with(".zip"));
    assert_eq!(zips.len(), 1, "deploy.sh uploads exactly one zip: {objects:#}");
    assert!(zips[0].starts_with("secure-ivr/bootstrap-"), "{keys:?}");
    assert_eq!(templates.len(), usize::from(big), "the template is uploaded iff it is over 51,200 bytes: {keys:?}");
    assert!(templates.iter().all(|k| k.starts_with("secure-ivr/template-") && k.ends_with(".yaml")), "{keys:?}");

    // moto's change-set path leaves no Outputs (see the top of this file): recreate the same stack
    // from the same template and parameters with CreateStack.
    let stack_now = if output(&deployed, "KeyParametersKmsKeyArn").is_some() {
        deployed
    } else {
        let params: Vec<String> = deployed["Parameters"]
            .as_array()
            .expect("stack parameters")
            .iter()
            .map(|p| {
                format!(
                    "ParameterKey={},ParameterValue={}",
                    p["ParameterKey"].as_str().unwrap_or_default(),
                    p["ParameterValue"].as_str().unwrap_or_default()
                )
            })
            .collect();
        assert!(params.iter().any(|p| p.contains("CodeS3Bucket")), "deploy.sh passed no parameters: {params:?}");
        aws_json(&aws_bin, m, &["cloudformation", "delete-stack", "--stack-name", "secure-ivr"]);
        // What the template retains on delete (the log group; the keys keep their aliases in moto).
        aws_json(&aws_bin, m, &["logs", "delete-log-group", "--log-group-name", "/aws/lambda/secure-ivr-decrypt"]);
        let aliases = aws_json(&aws_bin, m, &["kms", "list-aliases"]);
        for a in aliases["Aliases"].as_array().into_iter().flatten() {
            if let Some(name) = a["AliasName"].as_str().filter(|n| n.starts_with("alias/secure-ivr/")) {
                aws_json(&aws_bin, m, &["kms", "delete-alias", "--alias-name", name]);
            }
        }
        let template = repo().join("cloudformation/secure-ivr.yaml");
        let body = format!("file://{}", template.display());
        let mut args = vec![
            "cloudformation",
            "create-stack",
            "--stack-name",
            "secure-ivr",
            "--capabilities",
            "CAPABILITY_IAM",
            "--template-body",
            &body,
            "--parameters",
        ];
        args.extend(params.iter().map(String::as_str));
        aws_json(&aws_bin, m, &args);
        wait_for_status(&aws_bin, m, "CREATE_COMPLETE")
    };
    let stack_key = output(&stack_now, "KeyParametersKmsKeyArn").expect("KeyParametersKmsKeyArn output");
    let role = output(&stack_now, "FunctionRoleArn").expect("FunctionRoleArn output");
    let function = output(&stack_now, "FunctionArn").expect("FunctionArn output");
    let prefix = output(&stack_now, "KeyParameterPrefix").expect("KeyParameterPrefix output");
    assert_eq!(prefix, "/connect/secure-ivr/keys/");

    // IAM as the template's role policy reads (the fake's limits: see common/iam.rs).
    let (grants, denies) = template_grants(REGION, ACCOUNT, &prefix, &function, &stack_key, None);
    let (iam, seen) = fake_iam(IamConfig { role_arn: role.clone(), grants, denies, ..IamConfig::default() });
    let (connect, connect_keys) = fake_connect(INSTANCE);

    // README step 2, exactly: no --kms-key-id.
    let public = work.path().join("public");
    let mut c = secure_ivr(m, &connect, &iam);
    c.args(["--output", "json", "--region", REGION, "keygen", "--instance-id", INSTANCE, "--out-dir"]).arg(&public);
    let o = run(c, None);
    assert_code(&o, 0);
    let key_id = json(&o)["key_id"].as_str().expect("key_id").to_owned();
    assert_eq!(connect_keys.lock().expect("lock").len(), 1, "keygen associated one key");
    let stack_key_id = stack_key.rsplit('/').next().expect("key id").to_owned();
    assert_eq!(
        kms_key_of(&aws_bin, m, &format!("{prefix}{key_id}")),
        stack_key_id,
        "keygen without --kms-key-id must store under the stack's key"
    );
    let certificate = public.join(format!("{key_id}.cert.pem"));
    assert!(certificate.is_file(), "keygen wrote no {}", certificate.display());

    // README step 4: check sees what the function sees.
    let mut c = secure_ivr(m, &connect, &iam);
    c.args(["--output", "json", "--region", REGION, "check", "--instance-id", INSTANCE, "--certificate"])
        .arg(&certificate);
    let o = run(c, None);
    let report = json(&o);
    assert_eq!(row(&report, &format!("function reads key {key_id}"))["status"], "ok", "{report:#}");
    let kms_row = row(&report, &format!("key {key_id} KMS key"));
    assert_eq!(kms_row["status"], "ok", "{report:#}");
    let decrypts = row(&report, &format!("function decrypts key {key_id}"));
    assert_ne!(decrypts["status"], "fail", "{report:#}");
    assert_eq!(o.status.code(), Some(0), "stderr:\n{}\n{report:#}", err(&o));
    assert!(
        seen.lock()
            .expect("lock")
            .iter()
            .any(|s| s.action_names == ["kms:Decrypt"] && s.resource_arns == [stack_key.clone()]),
        "check did not ask IAM about kms:Decrypt on the stack's key"
    );

    // A second key under another KMS key: the function cannot read it, and check says so.
    let other = aws_json(&aws_bin, m, &["kms", "create-key", "--description", "not the stack's key"]);
    let other_arn = other["KeyMetadata"]["Arn"].as_str().expect("arn").to_owned();
    let mut c = secure_ivr(m, &connect, &iam);
    c.args(["--output", "json", "--region", REGION, "keygen", "--instance-id", INSTANCE, "--kms-key-id", &other_arn]);
    let o = run(c, None);
    assert_code(&o, 0);
    let second = json(&o)["key_id"].as_str().expect("key_id").to_owned();
    assert_eq!(kms_key_of(&aws_bin, m, &format!("{prefix}{second}")), other_arn.rsplit('/').next().expect("id"));

    let mut c = secure_ivr(m, &connect, &iam);
    c.args(["--output", "json", "--region", REGION, "check", "--instance-id", INSTANCE]);
    let o = run(c, None);
    assert_code(&o, 9);
    let report = json(&o);
    assert_eq!(row(&report, &format!("key {second} KMS key"))["status"], "fail", "{report:#}");
    assert_eq!(row(&report, &format!("key {key_id} KMS key"))["status"], "ok", "{report:#}");
}
