//! The payment path's own cost, for `scripts/bench-payments.sh`: the same three-value events
//! (card, expiry, security code) through the real handler, once with no connector (decrypt only)
//! and once with the generic connector calling a merchant on 127.0.0.1 that answers at once. The
//! merchant's own time (request read to answer written, measured inside it) is reported so it can
//! be taken out. Secrets and replay records are the in-memory stores (no AWS). Every event has
//! fresh ciphertexts, so every payment claims a new message and really calls the merchant.
//!
//! ```text
//! payment-path [--iterations N]       # prints one JSON object
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use keystore::{KeyStore, KeyStoreConfig};
use payments::{ConnectorSecret, EndpointUrl};
use secure_ivr_lambda::metrics::NoMetrics;
use secure_ivr_lambda::payment::{Connected, ConnectorKind, MemoryReplay, MemorySecret, PaymentService};
use secure_ivr_lambda::{Config, ConnectEvent, Deps, YearMonth, handle};
use test_support::fixtures::{KEY_A_PKCS8_2048, KEY_A_PUBLIC, der};
use test_support::memory::MemorySource;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY_ID: &str = "0b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
const SECRET: &[u8] = b"bench-merchant-hmac-key";

/// A merchant that reads a request and answers `authorized` at once, recording its own time.
async fn merchant(times: Arc<Mutex<Vec<Duration>>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let times = Arc::clone(&times);
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(2048);
                let mut chunk = [0u8; 2048];
                let mut first = None;
                loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    first.get_or_insert_with(Instant::now);
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let body = r#"{"status":"authorized","payment_id":"pay_bench"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                if let Some(first) = first {
                    times.lock().unwrap().push(first.elapsed());
                }
            });
        }
    });
    addr
}

fn event(params: &[(&str, String)]) -> ConnectEvent {
    let params: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(v.as_str()))).collect();
    serde_json::from_value(serde_json::json!({
        "Name": "ContactFlowEvent",
        "Details": {"ContactData": {"ContactId": "bench-contact-0001"}, "Parameters": params}
    }))
    .unwrap()
}

fn median_us(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let iterations: usize = args
        .iter()
        .position(|a| a == "--iterations")
        .and_then(|i| args.get(i + 1))
        .map_or(200, |n| n.parse().expect("--iterations N"));
    let provider = esdk_message::provider::default_provider();
    let spki = der(KEY_A_PUBLIC);
    let encrypt = |text: &str| {
        let ct = esdk_message::encrypt_connect_der(provider, KEY_ID, &spki, text.as_bytes()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(ct)
    };
    // Fresh ciphertexts for every invocation of both runs (made before timing starts).
    let events: Vec<ConnectEvent> = (0..iterations * 2)
        .map(|_| {
            event(&[
                ("EncryptedCreditCard", encrypt("5555555555554444")),
                ("EncryptedExpiry", encrypt("1230")),
                ("EncryptedExpiryType", "expiry".into()),
                ("EncryptedCvv", encrypt("737")),
                ("EncryptedCvvType", "cvv".into()),
                ("PaymentAmount", "1250".into()),
                ("PaymentCurrency", "GBP".into()),
            ])
        })
        .collect();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = Config::from_lookup(&|_| None).unwrap();
    let name = keystore::parameter_name(keystore::DEFAULT_PREFIX, KEY_ID).unwrap();
    let keys = KeyStore::new(
        MemorySource::with(&[(&name, KEY_A_PKCS8_2048)]),
        provider,
        KeyStoreConfig::new(keystore::DEFAULT_PREFIX).unwrap(),
    );
    let merchant_times = Arc::new(Mutex::new(Vec::new()));
    let addr = runtime.block_on(merchant(Arc::clone(&merchant_times)));
    let service = PaymentService::new(
        Connected {
            kind: ConnectorKind::Http,
            url: Some(EndpointUrl::parse(&format!("http://{addr}/pay")).unwrap()),
            secret_arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:bench-AbCdEf".into(),
            replay_table: "bench".into(),
            secret_ttl: Duration::from_secs(300),
            replay_ttl: Duration::from_secs(86_400),
        },
        Arc::new(MemorySecret::new(ConnectorSecret::new(SECRET).unwrap())),
        Arc::new(MemoryReplay::new()),
    );
    let run = |events: &[ConnectEvent], payments: Option<&PaymentService>, expect: &str| -> Vec<Duration> {
        let deps = Deps { keys: &keys, config: &config, metrics: &NoMetrics, provider, payments };
        events
            .iter()
            .map(|e| {
                let started = Instant::now();
                let by = secure_ivr_lambda::deadline::from_budget(started, config.invocation_budget);
                let r = runtime.block_on(handle(e, &deps, YearMonth::now_utc(), by));
                let took = started.elapsed();
                let status = r.get("PaymentStatus").map_or("-", String::as_str);
                assert_eq!(status, expect, "{r:?}");
                took
            })
            .collect()
    };
    let (decrypt_events, pay_events) = events.split_at(iterations);
    // Warm-up: the key parse, the secret read and the first connection setup are not per-invocation costs.
    run(&decrypt_events[..1], None, "-");
    run(&pay_events[..1], Some(&service), "Authorized");
    merchant_times.lock().unwrap().clear();
    let decrypt_only = median_us(run(&decrypt_events[1..], None, "-"));
    let with_payment = median_us(run(&pay_events[1..], Some(&service), "Authorized"));
    let merchant = median_us(merchant_times.lock().unwrap().clone());
    println!(
        "{}",
        serde_json::json!({
            "iterations": iterations - 1,
            "decrypt_only_us": (decrypt_only * 10.0).round() / 10.0,
            "with_payment_us": (with_payment * 10.0).round() / 10.0,
            "merchant_us": (merchant * 10.0).round() / 10.0,
            "payment_path_own_us": ((with_payment - decrypt_only - merchant) * 10.0).round() / 10.0,
        })
    );
}
