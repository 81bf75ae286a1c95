//! The contact flows in `flows/` and this Lambda agree: every Invoke-Lambda block sends only
//! parameters the Lambda consumes, and every `$.External.X` the flow reads after a block is a key
//! the real handler returns to that block (for a valid value, an invalid one, `Timeout`, and a
//! key the store does not have). A block that sends payment parameters (the payment flow and the
//! capture module, issue 13) is called with the generic connector on, to a merchant on 127.0.0.1
//! (authorized, a declined amount, and with no amount a tokenization when the block leaves the
//! operation to the Lambda), and once without a connector (no payment answer); its encrypted
//! values may come through flow attributes that the flow set from `$.StoredCustomerInput`.

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
/// The payment parameters a flow may send besides encrypted values and their types.
const PAYMENT_PARAMETERS: [&str; 3] = ["PaymentAmount", "PaymentCurrency", "PaymentOperation"];

/// `$.FlowAttributes.NAME` for every flow attribute an UpdateFlowAttributes block sets from
/// `$.StoredCustomerInput` (a ciphertext kept for a later Lambda call).
fn stored_flow_attributes(actions: &HashMap<String, Value>) -> BTreeSet<String> {
    actions
        .values()
        .filter(|a| a["Type"] == "UpdateFlowAttributes")
        .flat_map(|a| a["Parameters"]["FlowAttributes"].as_object().into_iter().flatten())
        .filter(|(_, v)| v["Value"] == STORED_INPUT)
        .map(|(k, _)| format!("$.FlowAttributes.{k}"))
        .collect()
}

/// A value for a payment parameter as the flow passes it: a literal as given, an attribute
/// reference as what the earlier part of the contact would have set (`amount` in minor units,
/// with a currency; `None`: the contact set neither, which Connect passes as empty strings).
fn payment_sample(name: &str, value: &str, amount: Option<&str>) -> String {
    match (name, amount) {
        _ if !value.starts_with("$.") => value.to_owned(),
        ("PaymentAmount", Some(a)) => a.to_owned(),
        ("PaymentCurrency", Some(_)) => "GBP".to_owned(),
        ("PaymentAmount" | "PaymentCurrency", None) => String::new(),
        _ => "authorize".to_owned(),
    }
}

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
    // The generic connector to a merchant on 127.0.0.1 (common::pay: 1250 authorized, 4000 declined).
    let merchant = common::pay::merchant().await;
    let service = secure_ivr_lambda::payment::PaymentService::new(
        common::pay::settings(&merchant.url("/pay"), std::time::Duration::from_secs(300)),
        std::sync::Arc::new(secure_ivr_lambda::payment::MemorySecret::new(
            payments::ConnectorSecret::new(common::pay::HMAC_KEY).unwrap(),
        )),
        std::sync::Arc::new(secure_ivr_lambda::payment::MemoryReplay::new()),
    );
    let pay_deps = Deps { payments: Some(&service), ..deps };
    let mut payment_blocks = 0;

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
        let kept = stored_flow_attributes(&actions);
        let mut lambda_blocks = 0;
        for (id, action) in &actions {
            if action["Type"] != "InvokeLambdaFunction" {
                continue;
            }
            lambda_blocks += 1;
            let attrs = action["Parameters"]["LambdaInvocationAttributes"].as_object().expect("attributes");
            let is_ciphertext = |v: &Value| v == STORED_INPUT || v.as_str().is_some_and(|s| kept.contains(s));
            let encrypted: Vec<&str> =
                attrs.iter().filter(|(_, v)| is_ciphertext(v)).map(|(k, _)| k.as_str()).collect();
            assert!(!encrypted.is_empty(), "{}: block {id} sends no encrypted value", path.display());
            let pays = attrs.keys().any(|k| PAYMENT_PARAMETERS.contains(&k.as_str()));
            // Every other parameter must be the type declaration of an encrypted one, or a payment
            // parameter.
            for (name, value) in attrs {
                if !is_ciphertext(value) && !PAYMENT_PARAMETERS.contains(&name.as_str()) {
                    let of = name.strip_suffix("Type").unwrap_or_else(|| {
                        panic!("{}: block {id} sends {name}, which the Lambda does not read", path.display())
                    });
                    assert!(encrypted.contains(&of), "{}: {name} declares no encrypted value", path.display());
                }
            }
            let kind = |name: &str| attrs.get(&format!("{name}Type")).and_then(Value::as_str).unwrap_or("card");
            let event_for = |value: &dyn Fn(&str) -> String, amount: Option<&str>| {
                let owned: Vec<(String, String)> = attrs
                    .iter()
                    .map(|(k, v)| {
                        let v = if is_ciphertext(v) {
                            value(k)
                        } else if PAYMENT_PARAMETERS.contains(&k.as_str()) {
                            payment_sample(k, v.as_str().unwrap(), amount)
                        } else {
                            v.as_str().unwrap().to_owned()
                        };
                        (k.clone(), v)
                    })
                    .collect();
                let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                event(&borrowed)
            };
            let event_with = |value: &dyn Fn(&str) -> String| event_for(value, Some("1250"));
            let valid = event_with(&|k| encrypt(key_id, KEY_A_PUBLIC, sample(kind(k), true)));
            let invalid = event_with(&|k| encrypt(key_id, KEY_A_PUBLIC, sample(kind(k), false)));
            let timeout = event_with(&|_| "Timeout".to_owned());
            let unknown = event_with(&|k| encrypt("not-stored", KEY_A_PUBLIC, sample(kind(k), true)));
            let mut cases =
                vec![("valid", valid), ("invalid", invalid), ("timeout", timeout), ("unknown key", unknown)];
            let valid_with = |amount| event_for(&|k| encrypt(key_id, KEY_A_PUBLIC, sample(kind(k), true)), amount);
            // A block that leaves the operation to the Lambda tokenizes when the contact set no amount.
            let tokenizes = pays && !attrs.contains_key("PaymentOperation");
            if pays {
                cases.push(("declined", valid_with(Some("4000"))));
                if tokenizes {
                    cases.push(("no amount", valid_with(None)));
                }
                // The same block where the function has no connector: values only, no payment
                // answer (the flow's way past the payment Compare is its NoMatchingCondition).
                let r: Response = handle(&valid_with(Some("1250")), &deps, TODAY, answer_by(&config)).await;
                assert_eq!(r.get("Status").map(String::as_str), Some("Success"), "{}: block {id}", path.display());
                assert!(!r.contains_key("PaymentStatus"), "{}: block {id} paid without a connector", path.display());
            }
            let sent_before = merchant.requests().len();
            let mut returned = BTreeSet::new();
            let mut statuses = BTreeSet::new();
            let mut payment_statuses = BTreeSet::new();
            for (case, ev) in cases {
                let r: Response = handle(&ev, if pays { &pay_deps } else { &deps }, TODAY, answer_by(&config)).await;
                assert_eq!(
                    r.get("Values").map(String::as_str),
                    Some(encrypted.len().to_string().as_str()),
                    "{case}: every encrypted value consumed"
                );
                statuses.insert(r["Status"].clone());
                payment_statuses.extend(r.get("PaymentStatus").cloned());
                returned.extend(r.into_keys());
            }
            assert_eq!(statuses, ["Error", "Invalid", "NoInput", "Success"].map(str::to_owned).into(), "block {id}");
            if pays {
                payment_blocks += 1;
                let mut want: BTreeSet<String> = ["Authorized", "Declined", "NotAttempted"].map(str::to_owned).into();
                if tokenizes {
                    want.insert("Tokenized".to_owned());
                }
                assert_eq!(payment_statuses, want, "{}: block {id}", path.display());
                // Only the valid, declined (and no-amount) cases reach the gateway (NotAttempted
                // sends nothing).
                let sent = if tokenizes { 3 } else { 2 };
                assert_eq!(merchant.requests().len() - sent_before, sent, "{}: block {id}", path.display());
            } else {
                assert!(payment_statuses.is_empty(), "{}: block {id} is a payment without a connector", path.display());
            }
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
    assert!(payment_blocks >= 2, "the payment flow and the capture module both take payments: {payment_blocks}");
    for must in ["secure-ivr-card-capture.json", "secure-ivr-capture-module.json", "secure-ivr-card-payment.json"] {
        assert!(checked.iter().any(|p| p.ends_with(must)), "{must} was not checked: {checked:?}");
    }
}
