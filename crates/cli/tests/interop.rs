//! The certificate `keygen` makes is accepted by the Python and Node ESDKs for encryption, and
//! `decrypt` opens what they produce.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_code, bin, json, run};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn skip(name: &str, why: &str) {
    test_support::skip::missing_service(&format!("secure-ivr-cli {name}"), why);
}

fn oracle_round_trip(name: &str, program: &Path, script: &Path) {
    if !program.exists() || !script.exists() {
        return skip(
            name,
            &format!("{} not set up (scripts/setup-python.sh, scripts/setup-node.sh)", program.display()),
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("private.pem");
    let mut c = bin();
    c.args(["--output", "json", "keygen", "--no-store", "--bits", "4096", "--private-key-out"])
        .arg(&key)
        .arg("--out-dir")
        .arg(dir.path().join("pub"));
    let o = run(c, None);
    assert_code(&o, 0);
    let cert = PathBuf::from(json(&o)["files"][0].as_str().expect("cert"));
    let pt = dir.path().join("pt");
    let ct = dir.path().join("ct");
    std::fs::write(&pt, b"5555555555554444").expect("pt");
    let status = Command::new(program)
        .arg(script)
        .args(["encrypt", "--public-key"])
        .arg(&cert)
        .args(["--key-id", "oracle-key"])
        .arg("--in")
        .arg(&pt)
        .arg("--out")
        .arg(&ct)
        .status()
        .expect("run oracle");
    assert!(status.success(), "{name}: the oracle refused the certificate");
    let mut c = bin();
    c.args(["--output", "json", "decrypt", "--reveal", "--private-key"]).arg(&key).arg(&ct);
    let o = run(c, None);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["plaintext"], "5555555555554444");
    assert_eq!(v["key_id"], "oracle-key");
    assert_eq!(v["suite"], "0x0378");
}

#[test]
fn python_esdk_encrypts_to_generated_certificate() {
    let r = repo();
    oracle_round_trip(
        "python_esdk_encrypts_to_generated_certificate",
        &r.join(".venv/bin/python"),
        &r.join("tests/interop/esdk_oracle.py"),
    );
}

#[test]
fn node_esdk_encrypts_to_generated_certificate() {
    let r = repo();
    let node = std::env::var_os("NODE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/node"));
    let modules = r.join("tests/interop/node/node_modules");
    if !modules.exists() {
        return skip(
            "node_esdk_encrypts_to_generated_certificate",
            "tests/interop/node not set up (scripts/setup-node.sh)",
        );
    }
    oracle_round_trip(
        "node_esdk_encrypts_to_generated_certificate",
        &node,
        &r.join("tests/interop/node/esdk_oracle.mjs"),
    );
}
