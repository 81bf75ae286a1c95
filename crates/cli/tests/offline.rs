//! The real binary, without any AWS service: keys, messages, flows, trail files and error paths.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{assert_code, bin, bin_with_creds, err, json, out, run, write};

fn keygen_offline(dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let key = dir.join("private.pem");
    let outdir = dir.join("public");
    let mut c = bin();
    c.args(["--output", "json", "keygen", "--no-store", "--bits", "2048", "--private-key-out"])
        .arg(&key)
        .arg("--out-dir")
        .arg(&outdir)
        .args(extra);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    let cert = PathBuf::from(v["files"][0].as_str().expect("cert path"));
    (key, cert)
}

fn encrypt(cert: &Path, key_id: &str, text: &str) -> std::process::Output {
    let mut c = bin();
    c.args(["encrypt", "--key-id", key_id, "--text", text, "--certificate"]).arg(cert);
    run(c, None)
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let o = run(
        {
            let mut c = bin();
            c.arg("--help");
            c
        },
        None,
    );
    assert_code(&o, 0);
    let text = out(&o);
    for cmd in [
        "keygen", "activate", "list", "rotate", "retire", "inspect", "encrypt", "decrypt", "audit", "flow", "check",
        "scan",
    ] {
        assert!(text.contains(cmd), "help lacks {cmd}");
    }
    assert!(text.contains("Exit codes:") && text.contains("decryption failed"));
    for cmd in ["keygen", "decrypt", "audit", "flow", "retire"] {
        let mut c = bin();
        c.args([cmd, "--help"]);
        assert_code(&run(c, None), 0);
    }
}

#[test]
fn keygen_encrypt_decrypt_round_trip_with_masked_and_revealed_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = keygen_offline(dir.path(), &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let pem = std::fs::read_to_string(&cert).expect("cert");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    // The public directory holds public material only.
    for entry in std::fs::read_dir(dir.path().join("public")).expect("dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        assert!(!text.contains("PRIVATE KEY"));
    }

    let enc = encrypt(&cert, "key-0001", "4111111111111111");
    assert_code(&enc, 0);
    let ct = out(&enc);

    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&key);
    let o = run(c, Some(ct.as_bytes()));
    assert_code(&o, 0);
    assert!(out(&o).contains("XXXXXXXXXXXX1111"));
    assert!(!out(&o).contains("4111111111111111") && !err(&o).contains("4111111111111111"));

    let mut c = bin();
    c.args(["--output", "json", "decrypt", "--reveal", "--private-key"]).arg(&key);
    let o = run(c, Some(ct.as_bytes()));
    assert_code(&o, 0);
    assert_eq!(json(&o)["plaintext"], "4111111111111111");
    assert!(err(&o).contains("warning"));

    let raw = dir.path().join("plain.bin");
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&key).arg("--out").arg(&raw);
    let o = run(c, Some(ct.as_bytes()));
    assert_code(&o, 0);
    assert_eq!(std::fs::read(&raw).expect("raw"), b"4111111111111111");

    let mut c = bin();
    c.args(["--output", "json", "inspect"]);
    let o = run(c, Some(ct.as_bytes()));
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["suite"], "0x0378");
    assert_eq!(v["encrypted_data_keys"][0]["key_id"], "key-0001");
    assert_eq!(v["encrypted_data_keys"][0]["provider_id"], "AmazonConnect");
    assert_eq!(
        v["signature"], "self-consistent",
        "a signature checked with the key the message carries proves nothing"
    );
}

#[test]
fn decrypt_prints_the_fields_the_lambda_returns_for_the_declared_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = keygen_offline(dir.path(), &[]);
    let decrypt = |text: &str, kind: &str| {
        let ct = out(&encrypt(&cert, "key-1", text));
        let mut c = bin();
        c.args(["--output", "json", "decrypt", "--type", kind, "--private-key"]).arg(&key);
        let o = run(c, Some(ct.as_bytes()));
        assert_code(&o, 0);
        assert!(!out(&o).contains(text) && !err(&o).contains(text), "{kind}: plaintext in output");
        json(&o)
    };
    let v = decrypt("5555555555554444", "card");
    for (k, want) in [
        ("Status", "Success"),
        ("Type", "card"),
        ("Length", "16"),
        ("Valid", "true"),
        ("Masked", "XXXXXXXXXXXX4444"),
        ("Last4", "4444"),
        ("Digits", "true"),
        ("Brand", "Mastercard"),
        ("Luhn", "true"),
    ] {
        assert_eq!(v[k], want, "{k}");
    }
    // A Luhn-invalid card number still shows its last four, as the Lambda does.
    let v = decrypt("4111111111111112", "card");
    assert_eq!((&v["Status"], &v["Luhn"], &v["Last4"]), (&"Invalid".into(), &"false".into(), &"1112".into()));
    // Other types reveal no digit.
    let v = decrypt("737", "cvv");
    assert_eq!(
        (&v["Masked"], &v["LengthValid"], &v["Last4"]),
        (&"XXX".into(), &"true".into(), &serde_json::Value::Null)
    );
    let v = decrypt("123456789012", "digits");
    assert_eq!((&v["Masked"], &v["Valid"]), (&"XXXXXXXXXXXX".into(), &"true".into()));
    assert!(v.get("Last4").is_none());
    // An unknown type is a usage error.
    let mut c = bin();
    c.args(["decrypt", "--type", "ssn", "--private-key"]).arg(&key);
    assert_code(&run(c, Some(b"")), 2);
}

#[test]
fn private_key_never_written_without_private_key_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = bin();
    c.args(["keygen", "--no-store", "--bits", "2048"]);
    let o = run(c, None);
    assert_code(&o, 2);
    let mut c = bin();
    c.current_dir(dir.path()).args([
        "keygen",
        "--no-store",
        "--bits",
        "2048",
        "--private-key-out",
        "k.pem",
        "--out-dir",
        "o",
    ]);
    let o = run(c, None);
    assert_code(&o, 0);
    assert!(!out(&o).contains("PRIVATE KEY") && !err(&o).contains("PRIVATE KEY"));
    // Refuses to overwrite an existing key file.
    let mut c = bin();
    c.current_dir(dir.path()).args(["keygen", "--no-store", "--bits", "2048", "--private-key-out", "k.pem"]);
    assert_code(&run(c, None), 8);
}

#[test]
fn wrong_private_key_is_a_decryption_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path(), &[]);
    let (other_key, _) = keygen_offline(a.path(), &[]);
    let ct = out(&encrypt(&cert, "key-1", "1234"));
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&other_key);
    let o = run(c, Some(ct.as_bytes()));
    assert_code(&o, 7);
    assert!(err(&o).contains("next:"));
}

#[test]
fn malformed_ciphertext_is_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, cert) = keygen_offline(dir.path(), &[]);
    for bad in [&b"not a message"[..], b"AYADeJ", b""] {
        let mut c = bin();
        c.args(["decrypt", "--private-key"]).arg(&key);
        let o = run(c, Some(bad));
        assert_code(&o, 6);
        assert!(err(&o).starts_with("error: ") && err(&o).contains("next: "));
        let mut c = bin();
        c.arg("inspect");
        assert_code(&run(c, Some(bad)), 6);
    }
    // A flipped byte in the body: parses, but fails authentication.
    let enc = encrypt(&cert, "key-1", "4111111111111111");
    use base64::Engine as _;
    let mut raw = base64::engine::general_purpose::STANDARD.decode(out(&enc).trim()).expect("b64");
    let n = raw.len();
    raw[n - 120] ^= 1;
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&key);
    assert_code(&run(c, Some(&raw)), 7);
    // Truncated.
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&key);
    assert_code(&run(c, Some(&raw[..n / 2])), 6);
}

#[test]
fn corrupt_pem_is_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path(), &[]);
    let ct = out(&encrypt(&cert, "key-1", "1234"));
    let corrupt = dir.path().join("corrupt.pem");
    write(&corrupt, b"-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n");
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&corrupt);
    let o = run(c, Some(ct.as_bytes()));
    assert_code(&o, 6);
    assert!(err(&o).contains("PEM"));
    // A certificate given where the private key belongs.
    let mut c = bin();
    c.args(["decrypt", "--private-key"]).arg(&cert);
    assert_code(&run(c, Some(ct.as_bytes())), 6);
    // A corrupt certificate for encrypt.
    let mut c = bin();
    c.args(["encrypt", "--key-id", "k", "--text", "1", "--certificate"]).arg(&corrupt);
    assert_code(&run(c, None), 6);
}

#[test]
fn expired_certificate_is_refused_by_encrypt_and_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path(), &["--valid-from", "2020-01-01", "--validity-days", "30"]);
    let o = encrypt(&cert, "key-1", "1234");
    assert_code(&o, 6);
    assert!(err(&o).contains("expired"));
    let tpl = dir.path().join("flow.json");
    write(&tpl, br#"{"k":"{{KEY_ID}}","c":"{{CERTIFICATE}}","l":"{{LAMBDA_ARN}}"}"#);
    let mut c = bin();
    c.args([
        "flow",
        "--key-id",
        "key-1",
        "--lambda-arn",
        "arn:aws:lambda:eu-west-2:111122223333:function:d",
        "--template",
    ])
    .arg(&tpl)
    .arg("--certificate")
    .arg(&cert);
    assert_code(&run(c, None), 6);
}

#[test]
fn flow_fills_placeholders_and_stays_valid_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path(), &[]);
    let tpl = dir.path().join("flow.json");
    write(
        &tpl,
        br#"{"Actions":[{"Type":"GetParticipantInput","Parameters":{"EncryptionKeyId":"{{KEY_ID}}","Certificate":"{{CERTIFICATE}}"}},{"Type":"InvokeLambdaFunction","Parameters":{"LambdaFunctionARN":"{{LAMBDA_ARN}}"}}]}"#,
    );
    let arn = "arn:aws:lambda:eu-west-2:111122223333:function:decrypt";
    let mut c = bin();
    c.args(["flow", "--key-id", "key-9", "--lambda-arn", arn, "--template"]).arg(&tpl).arg("--certificate").arg(&cert);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["Actions"][0]["Parameters"]["EncryptionKeyId"], "key-9");
    assert_eq!(v["Actions"][0]["Parameters"]["Certificate"], std::fs::read_to_string(&cert).expect("cert").as_str());
    assert_eq!(v["Actions"][1]["Parameters"]["LambdaFunctionARN"], arn);

    write(&tpl, br#"{"x":"{{SOMETHING}}"}"#);
    let mut c = bin();
    c.args(["flow", "--key-id", "key-9", "--lambda-arn", arn, "--template"]).arg(&tpl).arg("--certificate").arg(&cert);
    assert_code(&run(c, None), 6);
}

fn record(
    name: &str,
    source: &str,
    role: &str,
    params: serde_json::Value,
    id: &str,
    error: Option<&str>,
) -> serde_json::Value {
    let mut r = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:session",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/session"),
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                "arn": format!("arn:aws:iam::111122223333:role/{role}"), "accountId": "111122223333", "userName": role}}
        },
        "eventTime": time_now(),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-2",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-sdk-rust",
        "requestParameters": params,
        "responseElements": null,
        "requestID": "r",
        "eventID": id,
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333"
    });
    if let Some(e) = error {
        r["errorCode"] = serde_json::json!(e);
    }
    r
}

fn time_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // One hour ago, formatted as CloudTrail does (seconds, Z).
    let t = secs - 3600;
    let days = t / 86400;
    let rem = t % 86400;
    let (y, m, d) = civil(i64::try_from(days).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

// Howard Hinnant's days-to-civil.
fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Trail records: the Lambda reads its key, an operator reads it, an unrelated parameter, a KMS
/// decrypt made for a key parameter, and a denied attempt.
pub fn sample_records() -> Vec<serde_json::Value> {
    let p = "/connect/secure-ivr/keys/";
    vec![
        record(
            "GetParameter",
            "ssm.amazonaws.com",
            "decrypt-fn-role",
            serde_json::json!({"name": format!("{p}key-1"), "withDecryption": true}),
            "e1",
            None,
        ),
        record(
            "GetParameters",
            "ssm.amazonaws.com",
            "admin",
            serde_json::json!({"names": [format!("{p}key-1")], "withDecryption": true}),
            "e2",
            None,
        ),
        record("GetParameter", "ssm.amazonaws.com", "admin", serde_json::json!({"name": "/other/thing"}), "e3", None),
        record(
            "Decrypt",
            "kms.amazonaws.com",
            "decrypt-fn-role",
            serde_json::json!({"encryptionContext":
            {"PARAMETER_ARN": format!("arn:aws:ssm:eu-west-2:111122223333:parameter{p}key-1")}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            "e4",
            None,
        ),
        record(
            "GetParametersByPath",
            "ssm.amazonaws.com",
            "intruder",
            serde_json::json!({"path": "/connect", "recursive": true, "withDecryption": true}),
            "e5",
            Some("AccessDenied"),
        ),
    ]
}

#[test]
fn audit_reads_trail_files_plain_and_gzipped() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let records = sample_records();
    let (a, b) = records.split_at(2);
    write(
        &dir.path().join("111122223333_CloudTrail_eu-west-2_1.json"),
        serde_json::json!({"Records": a}).to_string().as_bytes(),
    );
    let sub = dir.path().join("2026/11/21");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(serde_json::json!({"Records": b}).to_string().as_bytes()).expect("gz");
    write(&sub.join("111122223333_CloudTrail_eu-west-2_2.json.gz"), &gz.finish().expect("gz"));
    write(&sub.join("digest.txt"), b"ignored");

    let mut c = bin();
    c.args(["--output", "json", "audit", "--since", "1d", "--expect-role", "decrypt-fn-role", "--trail-files"])
        .arg(dir.path());
    let o = run(c, None);
    assert_code(&o, 9);
    let v = json(&o);
    let ids: Vec<&str> =
        v["events"].as_array().expect("events").iter().filter_map(|e| e["event_id"].as_str()).collect();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(!ids.contains(&"e3"));
    let unexpected: Vec<&str> =
        v["unexpected_principals"].as_array().expect("u").iter().filter_map(|p| p.as_str()).collect();
    assert_eq!(unexpected, ["arn:aws:iam::111122223333:role/admin", "arn:aws:iam::111122223333:role/intruder"]);
    let denied = v["events"].as_array().expect("events").iter().find(|e| e["event_id"] == "e5").expect("e5");
    assert_eq!(denied["outcome"], "AccessDenied");

    // Only the expected role: no findings.
    let mut c = bin();
    c.args([
        "audit",
        "--since",
        "1d",
        "--expect-role",
        "decrypt-fn-role",
        "--expect-role",
        "admin",
        "--expect-role",
        "intruder",
        "--trail-files",
    ])
    .arg(dir.path());
    assert_code(&run(c, None), 0);

    // A window that ends before the events: nothing.
    let empty = tempfile::tempdir().expect("tempdir");
    let mut c = bin();
    c.args(["audit", "--trail-files"]).arg(empty.path());
    assert_code(&run(c, None), 6);
}

#[test]
fn no_credentials_is_a_configuration_error() {
    let mut c = bin();
    c.args(["--region", "eu-west-2", "--endpoint-url", "http://127.0.0.1:9", "list"]);
    let o = run(c, None);
    assert_code(&o, 3);
    assert!(err(&o).contains("credentials") && err(&o).contains("next:"));
}

#[test]
fn missing_or_malformed_region_is_a_configuration_error() {
    let mut c = bin_with_creds();
    c.args(["--endpoint-url", "http://127.0.0.1:9", "list"]);
    let o = run(c, None);
    assert_code(&o, 3);
    assert!(err(&o).contains("--region"));
    let mut c = bin_with_creds();
    c.args(["--region", "eu_west_2", "list"]);
    assert_code(&run(c, None), 3);
}

#[test]
fn unreachable_endpoint_is_an_aws_error() {
    let mut c = bin_with_creds();
    c.args(["--region", "eu-west-2", "--endpoint-url", "http://127.0.0.1:9", "list"]);
    let o = run(c, None);
    assert_code(&o, 4);
    assert!(err(&o).contains("--endpoint-url"));
}

#[test]
fn key_ids_that_escape_the_prefix_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, cert) = keygen_offline(dir.path(), &[]);
    let o = encrypt(&cert, "../../etc", "1");
    assert_code(&o, 6);
}

/// An endpoint nothing listens on: a command that reaches the network fails with exit 4, so a
/// refusal with another code shows nothing was sent.
fn closed_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    format!("http://{addr}")
}

fn keygen_against_nothing(prefix: &str, args: &[&str]) -> std::process::Output {
    let mut c = bin_with_creds();
    c.env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", closed_endpoint())
        .env("SECURE_IVR_PREFIX", prefix)
        .args(["keygen", "--bits", "2048"])
        .args(args);
    run(c, None)
}

#[test]
fn tags_outside_ssm_character_set_are_refused_before_generating() {
    let dir = tempfile::tempdir().expect("tempdir");
    for tag in ["team=a;b", "team=tab\there", "aws:owner=me", "bad*key=v", "=v", "secure-ivr:status=x"] {
        let key = dir.path().join("k.pem");
        let mut c = bin();
        c.args(["keygen", "--no-store", "--bits", "2048", "--private-key-out"]).arg(&key).args(["--tag", tag]);
        let o = run(c, None);
        assert_code(&o, 2);
        assert!(err(&o).contains("--tag"), "{tag}: {}", err(&o));
        assert!(!key.exists(), "{tag}: a key was generated");
    }
    // Unicode letters, spaces and SSM's symbols are fine.
    let key = dir.path().join("ok.pem");
    let mut c = bin();
    c.args(["keygen", "--no-store", "--bits", "2048", "--private-key-out"])
        .arg(&key)
        .args(["--tag", "équipe=Sécurité + Réseau @ HQ/1:2=3"]);
    assert_code(&run(c, None), 0);
}

#[test]
fn parameter_names_ssm_would_refuse_stop_keygen_before_generating() {
    let fourteen: String = (0..14).map(|i| format!("/l{i}")).collect();
    let long = format!("/{}/", "p".repeat(1000));
    for prefix in ["/aws/keys/", "/SSM-keys/", "/Aws/x/", &format!("{fourteen}/"), &long] {
        let o = keygen_against_nothing(prefix, &["--kms-key-id", "alias/k"]);
        assert_code(&o, 3);
        assert!(err(&o).contains("no key was generated"), "{prefix}: {}", err(&o));
        assert!(!err(&o).contains("generating an RSA"), "{prefix}: {}", err(&o));
    }
    // 14 levels + pending/<fingerprint> is 16, refused above; 13 levels + pending/<fingerprint> is
    // exactly 15: the name checks pass and the command only fails when it reaches for SSM.
    let thirteen: String = (0..13).map(|i| format!("/l{i}")).collect();
    let o = keygen_against_nothing(&format!("{thirteen}/"), &["--kms-key-id", "alias/k"]);
    assert_code(&o, 4);
    assert!(err(&o).contains("could not reach"), "passes the name checks, then fails on the network: {}", err(&o));
}

#[test]
fn instance_arn_in_another_region_and_bad_stack_names_are_refused_offline() {
    let arn = "arn:aws:connect:eu-west-2:111122223333:instance/11111111-2222-3333-4444-555555555555";
    let o = keygen_against_nothing("/p/", &["--instance-id", arn, "--kms-key-id", "alias/k"]);
    assert_code(&o, 3);
    assert!(err(&o).contains("eu-west-2") && err(&o).contains("--region"), "{}", err(&o));
    let o = keygen_against_nothing("/p/", &["--instance-id", "arn:aws:s3:::bucket", "--kms-key-id", "alias/k"]);
    assert_code(&o, 6);

    let o = keygen_against_nothing("/p/", &["--stack", "my_stack"]);
    assert_code(&o, 3);
    assert!(err(&o).contains("--stack"), "{}", err(&o));
    let o = keygen_against_nothing("/p/", &["--kms-key-id", "key id with spaces"]);
    assert_code(&o, 3);
}

#[test]
fn unreachable_stack_names_the_flag_that_avoids_it() {
    let o = keygen_against_nothing("/p/", &[]);
    assert_code(&o, 4);
    let e = err(&o);
    assert!(e.contains("CloudFormation stack secure-ivr"), "default stack name: {e}");
    assert!(e.contains("--kms-key-id"), "{e}");
    assert!(!e.contains("generating an RSA"), "{e}");
}

#[test]
fn no_store_needs_no_kms_key_and_no_stack() {
    // No credentials, no region, an unusable stack name in the environment: --no-store never reads it.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = bin();
    c.env("SECURE_IVR_STACK", "stack-that-does-not-exist")
        .args(["--output", "json", "keygen", "--no-store", "--bits", "2048", "--private-key-out"])
        .arg(dir.path().join("k.pem"));
    let o = run(c, None);
    assert_code(&o, 0);
    assert_eq!(json(&o)["kms_key_id"], serde_json::Value::Null);
    assert!(!err(&o).contains("CloudFormation"), "{}", err(&o));
}
