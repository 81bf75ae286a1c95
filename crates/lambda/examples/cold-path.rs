//! The Lambda's own cold path, for `scripts/bench.sh`: one process that reads the PEM key as SSM
//! would return it, builds the key store and configuration as `main` does, and answers one
//! Connect event through the real handler. SSM itself is replaced by an in-memory source so the
//! figure is the code's, not the network's. `scripts/bench.sh` builds it with
//! `--no-default-features`: nothing here calls AWS, so the SDK and runtime client are left out.
//!
//! ```text
//! cold-path --key PEM --key-id ID --message FILE
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use keystore::{KeyStore, KeyStoreConfig};
use secure_ivr_lambda::metrics::NoMetrics;
use secure_ivr_lambda::{Config, ConnectEvent, Deps, YearMonth, handle};
use test_support::memory::MemorySource;

fn arg(args: &[String], name: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| panic!("missing {name}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let message = std::fs::read(arg(&args, "--message")).expect("message");
    let started = std::time::Instant::now();
    let config = Config::from_lookup(&|_| None).expect("default configuration");
    let provider = esdk_message::provider::default_provider();
    let name = keystore::parameter_name(keystore::DEFAULT_PREFIX, &arg(&args, "--key-id")).expect("key ID");
    let pem = zeroize::Zeroizing::new(std::fs::read_to_string(arg(&args, "--key")).expect("key"));
    let source = MemorySource::with(&[(&name, &pem)]);
    let keys = KeyStore::new(source, provider, KeyStoreConfig::new(keystore::DEFAULT_PREFIX).expect("prefix"));
    let event: ConnectEvent = serde_json::from_value(serde_json::json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {"ContactId": "bench"},
            "Parameters": {"EncryptedCreditCard": base64::engine::general_purpose::STANDARD.encode(&message)}
        }
    }))
    .expect("event");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let deps = Deps { keys: &keys, config: &config, metrics: &NoMetrics, provider, payments: None };
    let response = runtime.block_on(handle(
        &event,
        &deps,
        YearMonth::now_utc(),
        secure_ivr_lambda::deadline::from_budget(std::time::Instant::now(), config.invocation_budget),
    ));
    let status = response.get("Status").cloned().unwrap_or_default();
    assert_eq!(status, "Success", "cold path must decrypt");
    println!(r#"{{"in_process_us": {:.1}, "status": "{status}"}}"#, started.elapsed().as_secs_f64() * 1e6);
}
