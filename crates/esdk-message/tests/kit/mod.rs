//! The decrypt-vector kit: runs an `awses-decrypt` manifest (versions 2 to 5, keys manifests
//! 1 to 3; format from aws-crypto-tools-test-vector-framework, feature 0004) with one provider.
//!
//! Shared by `examples/vectors.rs` and the integration tests. AWS KMS cases and keyrings outside
//! this crate (raw ECDH, hierarchy, static materials) are counted as skipped, never as passed.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use esdk_message::keyring::{Keyring, RawAesKeyring, RawRsaKeyring};
use esdk_message::provider::{CryptoProvider, RsaPadding};
use esdk_message::{DecryptOptions, EncryptionContext, Error, Hash, SuiteId, decrypt, key};
use serde_json::Value;

/// What happened to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Decrypted to the expected plaintext, or failed as expected.
    Passed,
    /// Did not behave as the manifest says; the string says how.
    Failed(String),
    /// Cannot run here; the string says why.
    Skipped(String),
}

/// One case's result, with the decryption error when there was one.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub outcome: Outcome,
    pub error: Option<Error>,
}

/// The counts of a run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}

pub fn count(results: &[CaseResult]) -> Counts {
    let mut c = Counts::default();
    for r in results {
        match r.outcome {
            Outcome::Passed => c.passed += 1,
            Outcome::Failed(_) => c.failed += 1,
            Outcome::Skipped(_) => c.skipped += 1,
        }
    }
    c
}

/// Runs every case of the manifest at `path`. With `expect_reject`, every runnable case passes
/// only if decryption fails (for sets known to be invalid whatever their manifest says).
pub fn run(provider: &'static dyn CryptoProvider, path: &Path, expect_reject: bool) -> Result<Vec<CaseResult>, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let manifest: Value = read_json(path)?;
    let kind = manifest["manifest"]["type"].as_str().unwrap_or_default();
    let version = manifest["manifest"]["version"].as_u64().unwrap_or(0);
    if kind != "awses-decrypt" || !(2..=5).contains(&version) {
        return Err(format!("{}: not an awses-decrypt manifest of version 2 to 5", path.display()));
    }
    let keys_uri = manifest["keys"].as_str().ok_or("manifest has no keys URI")?;
    let keys_doc = read_json(&resolve(dir, keys_uri)?)?;
    let keys_version = keys_doc["manifest"]["version"].as_u64().unwrap_or(0);
    if keys_doc["manifest"]["type"] != "keys" || !(1..=3).contains(&keys_version) {
        return Err("keys manifest is not of type keys, version 1 to 3".into());
    }
    let keys = keys_doc["keys"].as_object().ok_or("keys manifest has no keys")?;
    let tests = manifest["tests"].as_object().ok_or("manifest has no tests")?;
    let mut results = Vec::with_capacity(tests.len());
    for (name, test) in tests {
        let (outcome, error) = run_case(provider, dir, keys, test, expect_reject);
        results.push(CaseResult { name: name.clone(), outcome, error });
    }
    Ok(results)
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn resolve(dir: &Path, uri: &str) -> Result<PathBuf, String> {
    let rel = uri.strip_prefix("file://").ok_or_else(|| format!("unsupported URI {uri}"))?;
    Ok(dir.join(rel))
}

/// A case normalised across manifest versions.
struct Case<'a> {
    ciphertext: &'a str,
    expected: Expected,
    /// A keyring description: a list of v2-4 master keys, or a v5 keyring tree.
    keyrings: KeyringSpec<'a>,
    reproduced: EncryptionContext,
    required_keys: Vec<String>,
    unsigned_only: bool,
}

enum Expected {
    Plaintext(String),
    Error,
}

enum KeyringSpec<'a> {
    MasterKeys(&'a [Value]),
    Tree(&'a Value),
}

fn parse_case(test: &Value) -> Result<Case<'_>, Outcome> {
    let bad = |what: &str| Outcome::Failed(format!("malformed case: {what}"));
    let context = |v: &Value| -> EncryptionContext {
        v.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
            .unwrap_or_default()
    };
    if let Some(s) = test.get("decryption-scenario") {
        let expected = match s["type"].as_str() {
            Some("positive-esdk") => Expected::Plaintext(s["result"].as_str().ok_or_else(|| bad("result"))?.into()),
            Some("negative-esdk") => Expected::Error,
            other => return Err(Outcome::Skipped(format!("scenario type {other:?}"))),
        };
        let tree = &s["decryptKeyDescription"];
        let reproduced = context(&s["reproduced-encryption-context"]);
        let required_keys = required_keys(tree);
        return Ok(Case {
            ciphertext: s["ciphertext"].as_str().ok_or_else(|| bad("ciphertext"))?,
            expected,
            keyrings: KeyringSpec::Tree(tree),
            reproduced,
            required_keys,
            unsigned_only: false,
        });
    }
    let expected = if let Some(p) = test["result"]["output"]["plaintext"].as_str() {
        Expected::Plaintext(p.into())
    } else if test["result"].get("error").is_some() {
        Expected::Error
    } else {
        return Err(bad("result"));
    };
    let reproduced = context(&test["encryption-context"]);
    let required_keys =
        if test["cmm"] == "RequiredEncryptionContext" { reproduced.keys().cloned().collect() } else { vec![] };
    Ok(Case {
        ciphertext: test["ciphertext"].as_str().ok_or_else(|| bad("ciphertext"))?,
        expected,
        keyrings: KeyringSpec::MasterKeys(test["master-keys"].as_array().ok_or_else(|| bad("master-keys"))?),
        reproduced,
        required_keys,
        unsigned_only: test["decryption-method"] == "streaming-unsigned-only",
    })
}

fn required_keys(tree: &Value) -> Vec<String> {
    if tree["type"] == "required-encryption-context-cmm" {
        return tree["requiredEncryptionContextKeys"]
            .as_array()
            .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
    }
    vec![]
}

fn run_case(
    provider: &'static dyn CryptoProvider,
    dir: &Path,
    keys: &serde_json::Map<String, Value>,
    test: &Value,
    expect_reject: bool,
) -> (Outcome, Option<Error>) {
    let case = match parse_case(test) {
        Ok(c) => c,
        Err(o) => return (o, None),
    };
    let keyrings = match build_keyrings(provider, keys, &case.keyrings) {
        Ok(k) => k,
        Err(o) => return (o, None),
    };
    let ciphertext =
        match resolve(dir, case.ciphertext).and_then(|p| fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))) {
            Ok(c) => c,
            Err(e) => return (Outcome::Failed(e), None),
        };
    let mut options = DecryptOptions::permissive();
    options.max_encrypted_data_keys = u16::MAX;
    options.reproduced_context = case.reproduced;
    options.required_context_keys = case.required_keys;
    if case.unsigned_only {
        options.allowed_suites =
            Some(SuiteId::ALL.into_iter().filter(|s| s.suite().is_ok_and(|s| s.signature.is_none())).collect());
    }
    let refs: Vec<&dyn Keyring> = keyrings.iter().map(|k| k.as_ref()).collect();
    let result = decrypt(provider, &refs, &ciphertext, &options);
    let expect_error = expect_reject || matches!(case.expected, Expected::Error);
    match (result, &case.expected) {
        (Err(e), _) if expect_error => (Outcome::Passed, Some(e)),
        (Err(e), _) => (Outcome::Failed(format!("decryption failed: {e}")), Some(e)),
        (Ok(_), _) if expect_error => (Outcome::Failed("decrypted, but the case must be rejected".into()), None),
        (Ok(d), Expected::Plaintext(uri)) => {
            let want = match resolve(dir, uri).and_then(|p| fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))) {
                Ok(w) => w,
                Err(e) => return (Outcome::Failed(e), None),
            };
            if d.plaintext.expose() == want.as_slice() {
                (Outcome::Passed, None)
            } else {
                (Outcome::Failed("plaintext differs from the expected one".into()), None)
            }
        }
        (Ok(_), Expected::Error) => (Outcome::Failed("decrypted, but an error was expected".into()), None),
    }
}

fn build_keyrings(
    provider: &'static dyn CryptoProvider,
    keys: &serde_json::Map<String, Value>,
    spec: &KeyringSpec<'_>,
) -> Result<Vec<Box<dyn Keyring>>, Outcome> {
    let mut out = Vec::new();
    match spec {
        KeyringSpec::MasterKeys(list) => {
            // A master key whose material cannot decrypt (a public key) takes no part in
            // decryption; the case runs if any listed key can decrypt.
            for mk in *list {
                let entry = mk["key"].as_str().and_then(|k| keys.get(k));
                if mk["type"] == "raw" && entry.is_some_and(|e| e["decrypt"] == false) {
                    continue;
                }
                out.push(raw_keyring(provider, keys, mk)?);
            }
            if out.is_empty() {
                return Err(Outcome::Skipped("no listed key can decrypt".into()));
            }
        }
        KeyringSpec::Tree(tree) => collect_tree(provider, keys, tree, &mut out)?,
    }
    Ok(out)
}

fn collect_tree(
    provider: &'static dyn CryptoProvider,
    keys: &serde_json::Map<String, Value>,
    tree: &Value,
    out: &mut Vec<Box<dyn Keyring>>,
) -> Result<(), Outcome> {
    match tree["type"].as_str() {
        Some("raw") => out.push(raw_keyring(provider, keys, tree)?),
        Some("multi-keyring") => {
            if !tree["generator"].is_null() {
                collect_tree(provider, keys, &tree["generator"], out)?;
            }
            for child in tree["childKeyrings"].as_array().map(Vec::as_slice).unwrap_or_default() {
                collect_tree(provider, keys, child, out)?;
            }
        }
        Some("required-encryption-context-cmm") => collect_tree(provider, keys, &tree["underlying"], out)?,
        other => return Err(Outcome::Skipped(skip_reason(other))),
    }
    Ok(())
}

fn skip_reason(kind: Option<&str>) -> String {
    match kind {
        Some(k) if k.starts_with("aws-kms") => format!("needs AWS KMS ({k})"),
        Some(k) => format!("keyring type {k} is outside this crate"),
        None => "keyring without a type".into(),
    }
}

fn raw_keyring(
    provider: &'static dyn CryptoProvider,
    keys: &serde_json::Map<String, Value>,
    mk: &Value,
) -> Result<Box<dyn Keyring>, Outcome> {
    let kind = mk["type"].as_str();
    if kind != Some("raw") {
        return Err(Outcome::Skipped(skip_reason(kind)));
    }
    let key_ref = mk["key"].as_str().ok_or_else(|| Outcome::Failed("master key without key".into()))?;
    let entry = keys.get(key_ref).ok_or_else(|| Outcome::Failed(format!("unknown key {key_ref}")))?;
    let name = entry["key-id"].as_str().unwrap_or(key_ref);
    let namespace = mk["provider-id"].as_str().ok_or_else(|| Outcome::Failed("raw key without provider-id".into()))?;
    let material = entry["material"].as_str().unwrap_or_default();
    let failed = |e: Error| Outcome::Failed(format!("key {key_ref}: {e}"));
    match mk["encryption-algorithm"].as_str() {
        Some("aes") => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(material)
                .map_err(|_| Outcome::Failed(format!("key {key_ref}: bad base64")))?;
            Ok(Box::new(RawAesKeyring::new(provider, namespace, name, &bytes).map_err(failed)?))
        }
        Some("rsa") => {
            let padding = match (mk["padding-algorithm"].as_str(), mk["padding-hash"].as_str()) {
                (Some("pkcs1"), _) => RsaPadding::Pkcs1v15,
                (Some("oaep-mgf1"), Some("sha1")) => RsaPadding::Oaep(Hash::Sha1),
                (Some("oaep-mgf1"), Some("sha256")) => RsaPadding::Oaep(Hash::Sha256),
                (Some("oaep-mgf1"), Some("sha384")) => RsaPadding::Oaep(Hash::Sha384),
                (Some("oaep-mgf1"), Some("sha512")) => RsaPadding::Oaep(Hash::Sha512),
                other => return Err(Outcome::Skipped(format!("RSA padding {other:?}"))),
            };
            if entry["type"] != "private" {
                return Err(Outcome::Skipped(format!("key {key_ref} has no private half")));
            }
            // The vector keys are PKCS#8 PEM; the keyring takes DER.
            let der =
                key::PrivateKeyDer::from_pkcs8_der(zeroize::Zeroizing::new(test_support::fixtures::der(material)));
            Ok(Box::new(RawRsaKeyring::from_private_key(provider, namespace, name, &der, padding).map_err(failed)?))
        }
        other => Err(Outcome::Skipped(format!("raw keyring algorithm {other:?}"))),
    }
}

/// Counts per skip reason, for the report.
pub fn skip_reasons(results: &[CaseResult]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in results {
        if let Outcome::Skipped(why) = &r.outcome {
            *m.entry(why.clone()).or_insert(0) += 1;
        }
    }
    m
}
