//! The contact flows in `flows/` and this Lambda agree: every Invoke-Lambda block sends only
//! parameters the Lambda consumes, and every `$.External.X` the flow reads after a block is a key
//! the real handler returns to that block (for a valid value, an invalid one, `Timeout`, and a
//! key the store does not have).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;

use common::*;
use keystore::{KeyStore, KeyStoreConfig};
use secure_ivr_lambda::metrics::NoMetrics;
use secure_ivr_lambda::{Config, Deps, Response, handle};
use serde_json::Value;
use test_support::memory::MemorySource;

const STORED_INPUT: &str = "$.StoredCustomerInput";

fn flows() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../flows");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("flows/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no flow in {}", dir.display());
    v
}

fn next_actions(action: &Value) -> Vec<String> {
    let t = &action["Transitions"];
    let mut out: Vec<String> = t["NextAction"].as_str().map(str::to_owned).into_iter().collect();
    for list in ["Conditions", "Errors"] {
        for c in t[list].as_array().map(Vec::as_slice).unwrap_or_default() {
            out.extend(c["NextAction"].as_str().map(str::to_owned));
        }
    }
    out
}

/// `$.External.X` names read by the actions reachable from `start` before another Lambda call.
fn external_reads_after(start: &str, actions: &HashMap<String, Value>) -> BTreeSet<String> {
    let mut reads = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<String> = next_actions(&actions[start]).into();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(action) = actions.get(&id) else { continue };
        let text = action.to_string();
        for part in text.split("$.External.").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            reads.insert(name);
        }
        if action["Type"] != "InvokeLambdaFunction" {
            queue.extend(next_actions(action));
        }
    }
    reads
}

fn sample(kind: &str, valid: bool) -> &'static str {
    match (kind, valid) {
        ("expiry", true) => "1230",
        ("expiry", false) => "1399",
        ("cvv", true) => "123",
        ("cvv", false) => "12",
        ("digits", true) => "1234",
        ("digits", false) => "12a4",
        (_, true) => "4111111111111111",
        (_, false) => "4111111111111112",
    }
}

#[tokio::test]
async fn every_flow_sends_what_the_lambda_reads_and_reads_what_it_returns() {
    let key_id = "flow0000-0000-4000-8000-000000000001";
    // One key, in memory: the contract does not depend on SSM.
    let source =
        MemorySource::with(&[(&keystore::parameter_name(keystore::DEFAULT_PREFIX, key_id).unwrap(), KEY_A_PKCS8_2048)]);
    let provider = esdk_message::provider::default_provider();
    let keys = KeyStore::new(source, provider, KeyStoreConfig::new(keystore::DEFAULT_PREFIX).unwrap());
    let config = Config::from_lookup(&|_| None).unwrap();
    let deps = Deps { keys: &keys, config: &config, metrics: &NoMetrics, provider, payments: None };

    // Flows that hand the capture to the flow module (InvokeFlowModule / TransferToFlow) call no
    // Lambda themselves; the module's own blocks are checked here like any flow's.
    let mut checked = Vec::new();
    for path in flows() {
        let flow: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let actions: HashMap<String, Value> = flow["Actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["Identifier"].as_str().unwrap().to_owned(), a.clone()))
            .collect();
        let mut lambda_blocks = 0;
        for (id, action) in &actions {
            if action["Type"] != "InvokeLambdaFunction" {
                continue;
            }
            lambda_blocks += 1;
            let attrs = action["Parameters"]["LambdaInvocationAttributes"].as_object().expect("attributes");
            let encrypted: Vec<&str> =
                attrs.iter().filter(|(_, v)| *v == STORED_INPUT).map(|(k, _)| k.as_str()).collect();
            assert!(!encrypted.is_empty(), "{}: block {id} sends no encrypted value", path.display());
            // Every other parameter must be the type declaration of an encrypted one.
            for (name, value) in attrs {
                if value != STORED_INPUT {
                    let of = name.strip_suffix("Type").unwrap_or_else(|| {
                        panic!("{}: block {id} sends {name}, which the Lambda does not read", path.display())
                    });
                    assert!(encrypted.contains(&of), "{}: {name} declares no encrypted value", path.display());
                }
            }
            let kind = |name: &str| attrs.get(&format!("{name}Type")).and_then(Value::as_str).unwrap_or("card");
            let event_with = |value: &dyn Fn(&str) -> String| {
                let owned: Vec<(String, String)> = attrs
                    .iter()
                    .map(|(k, v)| {
                        (k.clone(), if v == STORED_INPUT { value(k) } else { v.as_str().unwrap().to_owned() })
                    })
                    .collect();
                let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                event(&borrowed)
            };
            let valid = event_with(&|k| encrypt(key_id, KEY_A_PUBLIC, sample(kind(k), true)));
            let invalid = event_with(&|k| encrypt(key_id, KEY_A_PUBLIC, sample(kind(k), false)));
            let timeout = event_with(&|_| "Timeout".to_owned());
            let unknown = event_with(&|k| encrypt("not-stored", KEY_A_PUBLIC, sample(kind(k), true)));
            let mut returned = BTreeSet::new();
            let mut statuses = BTreeSet::new();
            for (case, ev) in [("valid", valid), ("invalid", invalid), ("timeout", timeout), ("unknown key", unknown)] {
                let r: Response = handle(&ev, &deps, TODAY, answer_by(&config)).await;
                assert_eq!(
                    r.get("Values").map(String::as_str),
                    Some(encrypted.len().to_string().as_str()),
                    "{case}: every encrypted value consumed"
                );
                statuses.insert(r["Status"].clone());
                returned.extend(r.into_keys());
            }
            assert_eq!(statuses, ["Error", "Invalid", "NoInput", "Success"].map(str::to_owned).into(), "block {id}");
            let reads = external_reads_after(id, &actions);
            assert!(reads.contains("Status"), "{}: nothing reads $.External.Status after block {id}", path.display());
            for key in &reads {
                assert!(
                    returned.contains(key),
                    "{}: after block {id} the flow reads $.External.{key}, which the Lambda never returns there (returns {returned:?})",
                    path.display()
                );
            }
            eprintln!("{} block {id}: reads {reads:?}, all returned", path.display());
        }
        if lambda_blocks == 0 {
            let text = flow.to_string();
            assert!(
                !text.contains("$.External."),
                "{}: reads $.External.* but calls no Lambda (nothing can have set it)",
                path.display()
            );
            assert!(!text.contains(STORED_INPUT), "{}: uses {STORED_INPUT} but calls no Lambda", path.display());
            eprintln!("{}: no Invoke Lambda block (hands the capture on)", path.display());
        } else {
            checked.push(path.display().to_string());
        }
    }
    for must in ["secure-ivr-card-capture.json", "secure-ivr-capture-module.json"] {
        assert!(checked.iter().any(|p| p.ends_with(must)), "{must} was not checked: {checked:?}");
    }
}
