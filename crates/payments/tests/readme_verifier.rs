//! The README's Python reference verifier, run against requests the generic connector really sent:
//! it accepts them with the right secret and a fresh timestamp, and refuses a wrong secret, a
//! tampered body, a stale timestamp and a re-cased signature. Needs `python3` (standard library
//! only); missing, it is a counted skip (a failure under SECURE_IVR_REQUIRE_SERVICES=1).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is a failed test")]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use payments::{Connector, ConnectorSecret, EndpointUrl, HttpConnector, IdempotencyKeyer, Operation, Outcome};
use serde_json::json;

use common::{Reply, Server, authorize, deadline_in, request};

const SECRET: &str = "readme-verifier-secret";

/// The one ```python block of the README.
fn readme_verifier() -> String {
    let readme = include_str!("../README.md");
    let start = readme.find("```python\n").expect("a python block in the README") + "```python\n".len();
    let len = readme[start..].find("\n```").expect("the block ends");
    assert!(readme[start + len..].find("```python\n").is_none(), "exactly one python block");
    readme[start..start + len].to_owned()
}

#[tokio::test]
async fn the_readme_verifier_accepts_real_requests_and_refuses_tampering() {
    let python_ok = Command::new("python3").arg("-c").arg("").status().is_ok_and(|s| s.success());
    if !python_ok {
        test_support::skip::missing_service("readme_verifier", "no python3 on PATH");
        return;
    }
    let server = Server::start(|_, _| Reply::Json(200, r#"{"status":"tokenized","token":"t1"}"#.into())).await;
    let secret = ConnectorSecret::new(SECRET.as_bytes()).unwrap();
    let connector = HttpConnector::new(EndpointUrl::parse(&server.url("/v")).unwrap(), secret.clone()).unwrap();
    let keyer = IdempotencyKeyer::from_secret(&secret);
    for op in [authorize(1250, "GBP"), Operation::Tokenize] {
        let req = request(op);
        let outcome = connector.execute(&req, &keyer.key(&req), deadline_in(5000)).await;
        assert!(matches!(outcome, Outcome::Tokenized { .. } | Outcome::Error { .. }));
    }

    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for r in server.requests() {
        let ts = r.header("x-secure-ivr-timestamp").unwrap().to_owned();
        let sig = r.header("x-secure-ivr-signature").unwrap().to_owned();
        let now: i64 = ts.parse().unwrap();
        let body = hex::encode(&r.body);
        let tampered = hex::encode(String::from_utf8(r.body.clone()).unwrap().replace("5555", "4444"));
        let mut add = |secret: &str, timestamp: &str, signature: &str, body: &str, now: i64, ok: bool| {
            cases.push(
                json!({"secret": secret, "timestamp": timestamp, "signature": signature, "body": body, "now": now}),
            );
            expected.push(ok);
        };
        add(SECRET, &ts, &sig, &body, now, true);
        add(SECRET, &ts, &sig, &body, now + 299, true);
        add(SECRET, &ts, &sig, &body, now + 301, false);
        add(SECRET, &ts, &sig, &body, now - 301, false);
        add("another-secret", &ts, &sig, &body, now, false);
        add(SECRET, &ts, &sig, &tampered, now, false);
        add(SECRET, &ts, &sig.to_uppercase().replace("V1=", "v1="), &body, now, false);
        add(SECRET, &ts, &sig.replace("v1=", "v2="), &body, now, false);
        add(SECRET, &(now + 1).to_string(), &sig, &body, now, false);
    }
    assert!(expected.len() >= 18, "both requests checked");

    let script = format!(
        "{}\n\nimport json, sys\nprint(json.dumps([verify(c['secret'].encode(), c['timestamp'], c['signature'], \
         bytes.fromhex(c['body']), now=c['now']) for c in json.load(sys.stdin)]))\n",
        readme_verifier()
    );
    let mut child =
        Command::new("python3").arg("-c").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(serde_json::to_string(&cases).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the verifier ran");
    let verdicts: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts, expected);
}
