//! The real `attachment-scanner` binary at cold start: a bad setting stops it before it asks
//! the runtime for an event, with a log line naming the variable; good settings get as far as
//! "ready" (then fail only for want of a Lambda Runtime API, which this test does not run).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use attachment_scanner::config::vars;

const BUCKET: &str = "attachments-test";

/// Runs the binary with only `env` (and what the AWS SDK needs to stay offline); returns
/// (success, stdout + stderr).
fn run(env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attachment-scanner"));
    cmd.env_clear()
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn a_bad_setting_fails_the_cold_start_naming_the_variable() {
    for (var, value) in [
        (vars::BUCKET, "Not_A_Bucket"),
        (vars::KEY_PREFIX, "connect"),
        (vars::MAX_BYTES, "20971521"),
        (vars::MIN_CONFIDENCE, "101"),
        (vars::GUARDDUTY, "maybe"),
        (vars::GUARDDUTY_UNSCANNED, "later"),
        (vars::METRICS_NAMESPACE, "a:b"),
    ] {
        let mut env = vec![(vars::BUCKET, BUCKET)];
        env.retain(|(k, _)| *k != var);
        env.push((var, value));
        let (ok, out) = run(&env);
        assert!(!ok, "{var}={value} must fail the cold start");
        assert!(out.contains("cold start failed") && out.contains(var), "{var}={value}: {out}");
        assert!(!out.contains("\"ready\""), "{var}={value}: got past configuration: {out}");
    }
}

#[test]
fn a_missing_bucket_fails_the_cold_start() {
    let (ok, out) = run(&[]);
    assert!(!ok);
    assert!(out.contains(vars::BUCKET), "{out}");
}

#[test]
fn good_settings_get_to_ready() {
    let (ok, out) = run(&[(vars::BUCKET, BUCKET), (vars::GUARDDUTY, "true")]);
    assert!(!ok, "no Runtime API here, so it cannot run");
    assert!(out.contains("\"ready\"") || out.contains("ready"), "{out}");
    assert!(!out.contains("cold start failed"), "{out}");
    assert!(out.contains(r#""guardduty":true"#), "{out}");
}
