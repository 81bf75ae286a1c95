//! Rotation without the console (issue 14), end to end: keygen associates the first key with a
//! faked Connect instance whose flow (the shipped capture flow, rendered with that key) encrypts
//! with it; a card encrypted with the old key; `rotate --update-flows` makes a second key and moves
//! the flow to it through UpdateContactFlowContent; a card encrypted with the new key; both
//! decrypt in the Lambda's own handler (keys read from moto's SSM) until `retire --delete`, then
//! only the new one does.
//!
//! What the fake cannot show: Connect publishing the flow (the fake stores the content it is
//! given) and Connect's own encryption at capture (the test encrypts as Connect does, with
//! `secure-ivr encrypt`, from the certificate the flow holds).
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::{
    FakeFlow, FakeOptions, assert_code, bin_with_creds, fake_connect_flows, json, moto, out, run, unique_prefix,
};

const REGION: &str = "us-east-1";
const INSTANCE: &str = "99999999-2222-4333-8444-555555555555";
const LAMBDA_ARN: &str = "arn:aws:lambda:us-east-1:111122223333:function:secure-ivr-decrypt";
const CARD: &str = "4111111111111111";

fn cli(moto: &str, prefix: &str, connect: &str) -> Command {
    let mut c = bin_with_creds();
    c.env("AWS_ENDPOINT_URL", moto)
        .env("AWS_REGION", REGION)
        .env("SECURE_IVR_PREFIX", prefix)
        .env("AWS_ENDPOINT_URL_CONNECT", connect);
    c
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Writes the key's certificate from the JSON output and returns (key ID, certificate path).
fn key_and_cert(v: &serde_json::Value, dir: &Path) -> (String, PathBuf) {
    let id = v["key_id"].as_str().expect("key id").to_owned();
    let path = dir.join(format!("{id}.test.cert.pem"));
    std::fs::write(&path, v["certificate_pem"].as_str().expect("certificate")).expect("write certificate");
    (id, path)
}

/// `secure-ivr encrypt` as Connect's Store customer input block does.
fn encrypt(m: &str, prefix: &str, connect: &str, key_id: &str, cert: &Path) -> String {
    let mut c = cli(m, prefix, connect);
    c.args(["encrypt", "--key-id", key_id, "--text", CARD]).arg("--certificate").arg(cert);
    let o = run(c, None);
    assert_code(&o, 0);
    out(&o).trim().to_owned()
}

/// One Connect event through the Lambda's handler, with a fresh key store (no cache) over moto.
fn lambda(m: &str, prefix: &str, ciphertext: &str) -> HashMap<String, String> {
    use secure_ivr_lambda::{Config, ConnectEvent, Deps, YearMonth, config::vars, handle, metrics::NoMetrics};
    let config = Config::from_lookup(&|k| (k == vars::KEY_PREFIX).then(|| prefix.to_owned())).expect("config");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let builder = aws_sdk_ssm::config::Builder::new()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .region(aws_sdk_ssm::config::Region::new(REGION))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(m);
    let client = keystore::ssm_client(builder, &config.ssm);
    let provider = esdk_message::provider::default_provider();
    let keys =
        keystore::KeyStore::new(Arc::new(keystore::SsmParameterSource::new(client)), provider, config.keystore.clone());
    let event: ConnectEvent = serde_json::from_value(serde_json::json!({
        "Name": "ContactFlowEvent",
        "Details": {"ContactData": {"ContactId": "rotation-contact"}, "Parameters": {"EncryptedCreditCard": ciphertext}}
    }))
    .expect("event");
    let deps = Deps { keys: &keys, config: &config, metrics: &NoMetrics, provider, payments: None };
    let by = secure_ivr_lambda::deadline::from_budget(std::time::Instant::now(), config.invocation_budget);
    runtime.block_on(handle(&event, &deps, YearMonth::now_utc(), by))
}

/// Every `Parameters.InputEncryption.Key` in a flow's content, in action order.
fn flow_certificates(content: &str) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(content).expect("flow content is JSON");
    doc["Actions"]
        .as_array()
        .expect("Actions")
        .iter()
        .filter_map(|a| a.pointer("/Parameters/InputEncryption/Key")?.as_str().map(str::to_owned))
        .collect()
}

fn status(r: &HashMap<String, String>) -> (&str, &str) {
    (r.get("Status").map_or("", String::as_str), r.get("ErrorCode").map_or("", String::as_str))
}

#[test]
fn rotate_update_flows_retire_needs_no_console_and_no_call_fails() {
    let Some(m) = moto("rotate_update_flows_retire_needs_no_console_and_no_call_fails") else { return };
    let prefix = unique_prefix("rotflows");
    let fake = fake_connect_flows(INSTANCE, Vec::new(), FakeOptions::default());
    let dir = tempfile::tempdir().expect("tempdir");

    // The first key, associated with the instance.
    let mut c = cli(&m, &prefix, &fake.url);
    c.args(["--output", "json", "keygen", "--bits", "2048", "--instance-id", INSTANCE])
        .args(["--kms-key-id", "alias/secure-ivr-test"]);
    let o = run(c, None);
    assert_code(&o, 0);
    let (old_id, old_cert) = key_and_cert(&json(&o), dir.path());

    // The instance's capture flow encrypts with it (rendered from the shipped flow, as deployed).
    let rendered = dir.path().join("capture.json");
    let mut c = cli(&m, &prefix, &fake.url);
    c.args(["flow", "--key-id", &old_id, "--lambda-arn", LAMBDA_ARN])
        .arg("--template")
        .arg(repo("flows/secure-ivr-card-capture.json"))
        .arg("--certificate")
        .arg(&old_cert)
        .arg("--out")
        .arg(&rendered);
    assert_code(&run(c, None), 0);
    let content = std::fs::read_to_string(&rendered).expect("rendered flow");
    fake.flows.lock().expect("lock").push(FakeFlow::flow("flow-capture-1", "Card capture", &content));
    let old_ct = encrypt(&m, &prefix, &fake.url, &old_id, &old_cert);
    assert_eq!(status(&lambda(&m, &prefix, &old_ct)), ("Success", ""));

    // Rotate with --update-flows: a second key, and the flow moved to it.
    let mut c = cli(&m, &prefix, &fake.url);
    c.args(["--output", "json", "rotate", "--bits", "2048", "--instance-id", INSTANCE, "--update-flows"])
        .args(["--kms-key-id", "alias/secure-ivr-test"]);
    let o = run(c, None);
    assert_code(&o, 0);
    let rotated = json(&o);
    let (new_id, new_cert) = key_and_cert(&rotated["new_key"], dir.path());
    assert_ne!(new_id, old_id);
    assert_eq!(rotated["previous_key_ids"][0], old_id.as_str());
    assert_eq!(rotated["flows"]["changed"].as_array().map(Vec::len), Some(1), "{rotated}");
    let requests = fake.requests.lock().expect("lock").clone();
    assert!(
        requests.iter().any(|r| r.starts_with("POST /contact-flows/") && r.contains("/flow-capture-1/content")),
        "UpdateContactFlowContent was not called: {requests:?}"
    );
    // The content Connect now holds: the new key ID and certificate, nothing of the old.
    let updated = fake.flows.lock().expect("lock")[0].content.clone();
    let new_pem = std::fs::read_to_string(&new_cert).expect("new certificate");
    let old_pem = std::fs::read_to_string(&old_cert).expect("old certificate");
    assert!(updated.contains(&new_id) && !updated.contains(&old_id), "key ID not moved");
    // Whole certificates are compared (whitespace aside): two keys made in the same second share
    // their validity lines, so no single base64 line tells them apart.
    let flat = |pem: &str| pem.split_whitespace().collect::<String>();
    let keys = flow_certificates(&updated);
    assert!(!keys.is_empty(), "no InputEncryption.Key in the updated flow");
    assert!(keys.iter().all(|k| flat(k) == flat(&new_pem)), "certificate not moved to the new key's");
    assert_ne!(flat(&new_pem), flat(&old_pem));
    // The updated flow still passes the flow rules (the same crate rotate validated it with).
    std::fs::write(&rendered, &updated).expect("write updated flow");
    let mut c = cli(&m, &prefix, &fake.url);
    c.args(["flow-audit", "--file"]).arg(&rendered).args(["--rendered"]);
    let o = run(c, None);
    assert_code(&o, 0);

    // Between rotate and retire, calls captured with either key decrypt.
    let new_ct = encrypt(&m, &prefix, &fake.url, &new_id, &new_cert);
    assert_eq!(status(&lambda(&m, &prefix, &old_ct)), ("Success", ""), "the old key must keep working until retire");
    assert_eq!(status(&lambda(&m, &prefix, &new_ct)), ("Success", ""));

    // Retire the old key (deleting its private key now): only the new one decrypts.
    let mut c = cli(&m, &prefix, &fake.url);
    c.args(["retire", "--instance-id", INSTANCE, "--key-id", &old_id, "--delete"]);
    assert_code(&run(c, None), 0);
    assert_eq!(fake.keys.lock().expect("lock").len(), 1, "disassociated from Connect");
    assert_eq!(status(&lambda(&m, &prefix, &old_ct)), ("Error", "KeyNotFound"));
    assert_eq!(status(&lambda(&m, &prefix, &new_ct)), ("Success", ""));
}
