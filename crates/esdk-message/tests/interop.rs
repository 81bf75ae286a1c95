//! Cross-SDK proof: the Python and Node AWS Encryption SDKs (pinned, installed by
//! `scripts/setup-python.sh` and `scripts/setup-node.sh`) encrypt Connect-shaped messages we
//! decrypt, and decrypt the messages we encrypt. Single-frame and multi-frame plaintexts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_possible_truncation)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use esdk_message::keyring::RawRsaKeyring;
use esdk_message::provider::all_providers;
use esdk_message::{DecryptOptions, decrypt, encrypt_connect_der};
use support::{TEST_KEY_ID, TEST_KEY_PEM, TEST_PUBLIC_PEM, test_key, test_public};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An oracle is a command line: program plus script.
struct Oracle {
    name: &'static str,
    program: PathBuf,
    script: PathBuf,
}

fn oracles(test: &str) -> Vec<Oracle> {
    let python = repo().join(".venv/bin/python");
    let node_modules = repo().join("tests/interop/node/node_modules/@aws-crypto/client-node");
    let mut found = Vec::new();
    if python.exists() {
        found.push(Oracle { name: "python", program: python, script: repo().join("tests/interop/esdk_oracle.py") });
    } else {
        missing(test, "Python ESDK venv (run scripts/setup-python.sh)");
    }
    if node_modules.exists() {
        found.push(Oracle {
            name: "node",
            program: PathBuf::from("node"),
            script: repo().join("tests/interop/node/esdk_oracle.mjs"),
        });
    } else {
        missing(test, "Node ESDK (run scripts/setup-node.sh)");
    }
    found
}

fn missing(test: &str, what: &str) {
    assert!(!support::services_required(), "{test}: {what} is required but absent");
    support::skip(test, &format!("{what} is absent"));
}

fn run(oracle: &Oracle, args: &[&str]) {
    let out = Command::new(&oracle.program).arg(&oracle.script).args(args).output().expect("oracle runs");
    assert!(
        out.status.success(),
        "{} oracle {:?} failed: {}",
        oracle.name,
        args.first(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn plaintexts() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("card", b"4111111111111111".to_vec()),
        // 10,000 bytes: two full 4096-byte frames and a final frame of 1808.
        ("multi-frame", (0..10_000u32).map(|i| b'0' + (i % 10) as u8).collect()),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("esdk-interop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

#[test]
fn we_decrypt_what_the_python_and_node_sdks_encrypt() {
    let dir = scratch("ours-decrypt");
    let public = write(&dir, "public.pem", TEST_PUBLIC_PEM.as_bytes());
    for oracle in oracles("we_decrypt_sdk_messages") {
        for (label, pt) in plaintexts() {
            let input = write(&dir, &format!("{label}.pt"), &pt);
            let output = dir.join(format!("{label}.{}.ct", oracle.name));
            let args = ["encrypt", "--public-key", public.to_str().unwrap(), "--key-id", TEST_KEY_ID];
            run(&oracle, &[&args[..], &["--in", input.to_str().unwrap(), "--out", output.to_str().unwrap()]].concat());
            let ct = std::fs::read(&output).expect("ciphertext");
            let parsed = esdk_message::Message::parse(&ct, 1).expect("SDK output parses");
            assert_eq!(parsed.header().suite_id().0, 0x0378, "{} output suite", oracle.name);
            assert_eq!(parsed.header().frame_length(), 4096);
            for provider in all_providers() {
                let keyring = RawRsaKeyring::connect_private_der(provider, TEST_KEY_ID, &test_key()).expect("key");
                let d = decrypt(provider, &[&keyring], &ct, &DecryptOptions::connect())
                    .unwrap_or_else(|e| panic!("{} {label} via {}: {e}", oracle.name, provider.name()));
                assert_eq!(d.plaintext.expose(), pt.as_slice(), "{} {label} via {}", oracle.name, provider.name());
                assert_eq!(d.frame_count, pt.len().div_ceil(4096) as u32);
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_python_and_node_sdks_decrypt_what_we_encrypt() {
    let dir = scratch("sdk-decrypt");
    let private = write(&dir, "private.pem", TEST_KEY_PEM.as_bytes());
    for oracle in oracles("sdks_decrypt_our_messages") {
        for (label, pt) in plaintexts() {
            for provider in all_providers() {
                let ct = encrypt_connect_der(provider, TEST_KEY_ID, &test_public(), &pt).expect("encrypts");
                let input = write(&dir, &format!("{label}.{}.ct", provider.name()), &ct);
                let output = dir.join(format!("{label}.{}.{}.pt", provider.name(), oracle.name));
                let args = ["decrypt", "--private-key", private.to_str().unwrap(), "--key-id", TEST_KEY_ID];
                run(
                    &oracle,
                    &[&args[..], &["--in", input.to_str().unwrap(), "--out", output.to_str().unwrap()]].concat(),
                );
                let got = std::fs::read(&output).expect("plaintext");
                assert_eq!(got, pt, "{} decrypting our {label} from {}", oracle.name, provider.name());
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
