//! Every AWS operation the CLI calls is documented, as `service:Action`, in the top-level README's
//! IAM section, so the least-privilege policy there cannot fall behind the code.
//!
//! The operations are found, not listed: each AWS SDK crate the CLI depends on (from
//! `cargo metadata`) names its operations in `src/operation/<snake_name>.rs` (`pub struct
//! PascalName;`), and every `.snake_name(` in `crates/cli/src` that is such an operation is a call.
//! An operation name several SDKs share (`list_tags_for_resource`) is attributed by its receiver
//! (`ssm.`, `aws.kms()`): name client variables after their service.
//!
//! What it cannot show: permissions AWS checks without a call of ours (SSM's own `kms:Encrypt` /
//! `kms:Decrypt` on a SecureString's key, `ssm:AddTagsToResource` for `PutParameter` with tags);
//! the README lists those by hand. Calls made through another crate (the `keystore` crate's SSM
//! reads) are outside `crates/cli/src`; the CLI makes its own reads through `store.rs`.
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Operation snake name → [(IAM service prefix, Action)].
type Operations = BTreeMap<String, Vec<(String, String)>>;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The AWS SDK crates `secure-ivr-cli` depends on, with their source directories.
fn sdk_crates() -> Vec<(String, PathBuf)> {
    // Only the host's packages: the others (Windows crates) need not be downloaded, so this works
    // offline.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc).arg("-vV").output().expect("run rustc -vV");
    let host = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked", "--filter-platform", &host])
        .current_dir(manifest_dir())
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let cli = packages.iter().find(|p| p["name"] == "secure-ivr-cli").expect("secure-ivr-cli in metadata");
    let deps: BTreeSet<&str> = cli["dependencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["kind"].is_null())
        .filter_map(|d| d["name"].as_str())
        .filter(|n| n.starts_with("aws-sdk-"))
        .collect();
    let mut found = Vec::new();
    for p in packages {
        let Some(name) = p["name"].as_str() else { continue };
        if !deps.contains(name) {
            continue;
        }
        let manifest = PathBuf::from(p["manifest_path"].as_str().expect("manifest_path"));
        found.push((name.to_owned(), manifest.parent().expect("crate dir").to_path_buf()));
    }
    assert_eq!(found.len(), deps.len(), "every aws-sdk-* dependency has a source directory: {deps:?}");
    found
}

/// The IAM prefix of an SDK crate (`aws-sdk-ssm` → `ssm`).
fn iam_prefix(crate_name: &str) -> String {
    crate_name.trim_start_matches("aws-sdk-").to_owned()
}

fn operations() -> Operations {
    let mut ops = Operations::new();
    for (name, dir) in sdk_crates() {
        let prefix = iam_prefix(&name);
        let op_dir = dir.join("src/operation");
        for entry in std::fs::read_dir(&op_dir).unwrap_or_else(|e| panic!("{}: {e}", op_dir.display())) {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let snake = path.file_stem().and_then(|s| s.to_str()).expect("name").to_owned();
            let text = std::fs::read_to_string(&path).expect("read operation");
            // The operation's own unit struct names it as the API does.
            let Some(pascal) = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("pub struct ")?.strip_suffix(';'))
                .find(|n| n.chars().all(char::is_alphanumeric))
            else {
                continue;
            };
            ops.entry(snake).or_default().push((prefix.clone(), pascal.to_owned()));
        }
    }
    assert!(ops.contains_key("get_parameter"), "the SSM operations were not found");
    ops
}

/// The IAM action that authorises an API operation: `service:Operation`, except where the
/// service authorises it under another name (S3's Service Authorization Reference: ListObjectsV2
/// is allowed by `s3:ListBucket`).
fn iam_action(prefix: &str, operation: &str) -> String {
    match (prefix, operation) {
        ("s3", "ListObjectsV2" | "ListObjects") => "s3:ListBucket".to_owned(),
        _ => format!("{prefix}:{operation}"),
    }
}

/// The `service:Action`s called in `source`, with a location for each; Err names an ambiguous call.
fn calls_in(source: &str, file: &str, ops: &Operations) -> Result<BTreeMap<String, String>, String> {
    // Drop comments (whole-line and trailing) so prose naming an operation is not a call.
    let code: String = source
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l.get(..i).is_some_and(|b| b.contains('"')) => l.get(..i).unwrap_or(""),
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = code.as_bytes();
    let mut found = BTreeMap::new();
    let mut i = 0;
    while let Some(rel) = code.get(i..).and_then(|s| s.find('.')) {
        let dot = i + rel;
        let start = dot + 1;
        let end = start
            + code
                .get(start..)
                .map_or(0, |s| s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len()));
        i = start;
        if bytes.get(end) != Some(&b'(') {
            continue;
        }
        let name = code.get(start..end).unwrap_or("");
        let Some(candidates) = ops.get(name) else { continue };
        let line = code.get(..dot).map_or(0, |b| b.matches('\n').count()) + 1;
        let at = format!("{file}:{line}");
        let chosen = if candidates.len() == 1 {
            candidates.first()
        } else {
            let receiver = receiver(code.get(..dot).unwrap_or(""));
            let service = receiver.trim_end_matches("_client");
            candidates.iter().find(|(p, _)| p == service)
        };
        match chosen {
            Some((p, a)) => {
                found.entry(iam_action(p, a)).or_insert(at);
            }
            None => {
                return Err(format!(
                    "{at}: .{name}() is an operation of {} and its receiver does not say which; name the client after its service (ssm, kms, ...)",
                    candidates.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(found)
}

/// The identifier a method is called on: `ssm` in `ssm\n    .x(`, `kms` in `aws.kms().x(`.
fn receiver(before: &str) -> &str {
    let t = before.trim_end();
    let t = t.strip_suffix("()").unwrap_or(t);
    let start = t.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
    t.get(start..).unwrap_or("")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("rs") {
            out.push(path);
        }
    }
}

/// The README's IAM section: from `## IAM` to the next level-2 heading.
fn iam_section() -> String {
    let readme = manifest_dir().join("../../README.md");
    let text = std::fs::read_to_string(&readme).expect("top-level README.md");
    let start = text.find("\n## IAM").expect("README.md has a \"## IAM\" section");
    let rest = text.get(start + 1..).unwrap_or("");
    let end = rest.get(3..).and_then(|r| r.find("\n## ")).map_or(rest.len(), |e| e + 3);
    rest.get(..end).unwrap_or("").to_owned()
}

fn documented(section: &str, action: &str) -> bool {
    section.match_indices(action).any(|(i, _)| {
        let after = section.get(i + action.len()..).and_then(|s| s.chars().next());
        !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

#[test]
fn every_aws_action_the_cli_calls_is_in_the_readme_iam_section() {
    let ops = operations();
    let mut files = Vec::new();
    rust_files(&manifest_dir().join("src"), &mut files);
    files.sort();
    let mut calls = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        let name = f.strip_prefix(manifest_dir()).unwrap_or(f).display().to_string();
        for (action, at) in calls_in(&text, &name, &ops).unwrap_or_else(|e| panic!("{e}")) {
            calls.entry(action).or_insert(at);
        }
    }
    // The CLI's known calls, so a scanner that finds nothing cannot pass.
    for must in ["ssm:GetParameter", "ssm:PutParameter", "connect:AssociateSecurityKey", "iam:SimulatePrincipalPolicy"]
    {
        assert!(calls.contains_key(must), "the scan did not find {must}: {calls:?}");
    }
    let section = iam_section();
    let missing: Vec<String> =
        calls.iter().filter(|(a, _)| !documented(&section, a)).map(|(a, at)| format!("{a} (called at {at})")).collect();
    assert!(
        missing.is_empty(),
        "the README's IAM section does not name these AWS actions the CLI calls:\n  {}\nadd them to the command(s) that call them",
        missing.join("\n  ")
    );
}

#[test]
fn scanner_finds_calls_across_lines_and_by_receiver() {
    let mut ops = Operations::new();
    ops.insert("put_parameter".into(), vec![("ssm".into(), "PutParameter".into())]);
    ops.insert(
        "list_tags_for_resource".into(),
        vec![("ssm".into(), "ListTagsForResource".into()), ("connect".into(), "ListTagsForResource".into())],
    );
    let src = "let r = ssm\n    .put_parameter()\n    .name(n);\n// kms.put_parameter() in a comment\nlet t = aws.connect().list_tags_for_resource().send();\n";
    let found = calls_in(src, "x.rs", &ops).expect("attributable");
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), ["connect:ListTagsForResource", "ssm:PutParameter"]);
    assert_eq!(found.get("ssm:PutParameter").map(String::as_str), Some("x.rs:2"));
    let err = calls_in("client.list_tags_for_resource()", "y.rs", &ops).expect_err("ambiguous");
    assert!(err.contains("y.rs:1") && err.contains("ssm, connect"), "{err}");
    assert!(documented("`ssm:GetParameter`,", "ssm:GetParameter"));
    assert!(!documented("ssm:GetParametersByPath", "ssm:GetParameter"), "a longer action does not count");
}
