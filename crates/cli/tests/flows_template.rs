//! cloudformation/secure-ivr-flows.yaml against flows/*.json: one source of truth.
//!
//! Every `Content` in the template is generated from a flow file. These tests fail when one
//! differs from its file, and `SECURE_IVR_BLESS=1` rewrites the template's Content lines from the
//! files. The module's Content is also filled the way CloudFormation fills it (`Fn::Sub`, the
//! certificate through `Fn::Split`/`Fn::Join`) and compared with what `secure-ivr flow` renders
//! from the same file: both must give the same flow. What this cannot show: that Connect accepts
//! the flows (no Connect here; cfn-lint checks the resource shapes, scripts/check-templates.sh).
#![allow(
    clippy::expect_used,
    reason = "test helpers: a failed expect is a failed test, as clippy.toml allows in #[test] functions"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{assert_code, bin, json, out, run};

/// The placeholders of the flow files and the `Fn::Sub` variables the template puts in their place.
const SUBSTITUTIONS: [(&str, &str); 5] = [
    ("{{KEY_ID}}", "${KeyId}"),
    ("{{CERTIFICATE}}", "${CertificateJson}"),
    ("{{LAMBDA_ARN}}", "${FunctionArn}"),
    ("{{CAPTURE_MODULE_ARN}}", "${CaptureModule}"),
    ("{{AGENT_CAPTURE_FLOW_ARN}}", "${AgentAssistedFlow}"),
];

/// The flow files the template deploys, each exactly once. secure-ivr-card-capture.json is the
/// console-import flow and the payment variant belongs to the payments stack part: not here.
const DEPLOYED: [&str; 4] = [
    "secure-ivr-capture-module",
    "secure-ivr-self-service",
    "secure-ivr-agent-assisted",
    "secure-ivr-agent-assisted-transfer",
];

const MARKER: &str = "# generated from flows/";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template_path() -> PathBuf {
    repo().join("cloudformation/secure-ivr-flows.yaml")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (flow name, index of the Content JSON line) for every generated block of the template.
fn blocks(lines: &[&str]) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix(MARKER) else { continue };
        let name = rest.split(".json").next().expect("name").to_owned();
        let json_line = (i + 1..lines.len())
            .find(|j| lines.get(*j).is_some_and(|l| l.trim_start().starts_with('{')))
            .unwrap_or_else(|| panic!("no Content line after the marker of {name}"));
        assert!(json_line <= i + 4, "the Content of {name} is not right after its marker");
        found.push((name, json_line));
    }
    found
}

/// A flow file as its Content line: compact JSON with the `Fn::Sub` variables in place.
fn generated(name: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(&read(&repo().join(format!("flows/{name}.json")))).expect("flow file is JSON");
    let mut text = serde_json::to_string(&value).expect("serialise");
    for (placeholder, variable) in SUBSTITUTIONS {
        text = text.replace(placeholder, variable);
    }
    text
}

/// A Content line back to the flow file's form (variables to placeholders), parsed.
fn as_flow_file(content: &str) -> serde_json::Value {
    let mut text = content.trim().to_owned();
    for (placeholder, variable) in SUBSTITUTIONS {
        text = text.replace(variable, placeholder);
    }
    assert!(!text.contains("${"), "a Content uses a Fn::Sub variable the flow files do not know: {text:.200}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("a template Content is not JSON: {e}"))
}

#[test]
fn template_content_is_generated_from_the_flow_files() {
    let path = template_path();
    let text = read(&path);
    let lines: Vec<&str> = text.lines().collect();
    let found = blocks(&lines);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let mut want = DEPLOYED.to_vec();
    want.sort_unstable();
    assert_eq!(sorted, want, "the template must deploy each of {DEPLOYED:?} exactly once");

    if std::env::var_os("SECURE_IVR_BLESS").is_some() {
        let mut new: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        for (name, i) in &found {
            let indent: String = lines.get(*i).expect("line").chars().take_while(|c| *c == ' ').collect();
            if let Some(slot) = new.get_mut(*i) {
                *slot = format!("{indent}{}", generated(name));
            }
        }
        std::fs::write(&path, new.join("\n") + "\n").expect("write template");
        return;
    }
    for (name, i) in &found {
        let file: serde_json::Value =
            serde_json::from_str(&read(&repo().join(format!("flows/{name}.json")))).expect("flow file is JSON");
        assert!(
            as_flow_file(lines.get(*i).expect("line")) == file,
            "the template's Content for flows/{name}.json differs from the file; \
             run SECURE_IVR_BLESS=1 cargo nextest run -p secure-ivr-cli --test flows_template"
        );
    }
}

#[test]
fn a_changed_flow_file_is_caught() {
    // The comparison above must see a one-character change in a file.
    let text = read(&template_path());
    let lines: Vec<&str> = text.lines().collect();
    let (name, i) = blocks(&lines).into_iter().next().expect("a block");
    let content = lines.get(i).expect("line").replacen("Disabled", "Enabled", 1);
    let file: serde_json::Value =
        serde_json::from_str(&read(&repo().join(format!("flows/{name}.json")))).expect("flow file is JSON");
    assert!(as_flow_file(&content) != file, "a changed Content still compared equal");
}

/// What CloudFormation makes of the module's Content for these parameter values.
fn cloudformation_sub(content: &str, key_id: &str, certificate_pem: &str, function_arn: &str) -> String {
    // !Join ['\n', !Split ["\n", !Ref Certificate]]: each newline becomes the two characters \n.
    let certificate_json = certificate_pem.split('\n').collect::<Vec<_>>().join("\\n");
    content
        .trim()
        .replace("${KeyId}", key_id)
        .replace("${CertificateJson}", &certificate_json)
        .replace("${FunctionArn}", function_arn)
}

#[test]
fn module_content_renders_as_secure_ivr_flow_renders_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = bin();
    c.args(["--output", "json", "keygen", "--no-store", "--bits", "2048", "--private-key-out"])
        .arg(dir.path().join("private.pem"))
        .arg("--out-dir")
        .arg(dir.path().join("public"));
    let o = run(c, None);
    assert_code(&o, 0);
    let cert = PathBuf::from(json(&o)["files"][0].as_str().expect("cert path"));
    let pem = read(&cert);
    assert!(pem.contains('\n'), "a PEM certificate has line breaks to escape");
    let (key_id, arn) =
        ("11111111-aaaa-4bbb-8ccc-222222222222", "arn:aws:lambda:eu-west-2:111122223333:function:decrypt");

    let mut c = bin();
    c.args(["flow", "--key-id", key_id, "--lambda-arn", arn, "--template"])
        .arg(repo().join("flows/secure-ivr-capture-module.json"))
        .arg("--certificate")
        .arg(&cert);
    let o = run(c, None);
    assert_code(&o, 0);
    let rendered: serde_json::Value = serde_json::from_str(&out(&o)).expect("rendered flow is JSON");

    let text = read(&template_path());
    let lines: Vec<&str> = text.lines().collect();
    let (_, i) = blocks(&lines).into_iter().find(|(n, _)| n == "secure-ivr-capture-module").expect("module block");
    let by_stack: serde_json::Value =
        serde_json::from_str(&cloudformation_sub(lines.get(i).expect("line"), key_id, &pem, arn))
            .expect("the stack's module Content is JSON once CloudFormation fills it");
    assert!(by_stack == rendered, "the stack and `secure-ivr flow` give different modules");
    let capture = by_stack["Actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["Type"] == "GetParticipantInput")
        .expect("a capture block");
    assert_eq!(capture["Parameters"]["InputEncryption"]["Key"], pem.as_str());
    assert_eq!(capture["Parameters"]["InputEncryption"]["EncryptionKeyId"], key_id);
}
