//! Shared test support: moto endpoint discovery (with counted skips), SSM helpers, Connect-shaped
//! ciphertexts, a log-capturing subscriber at TRACE, and the leak check.
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod pay;
pub(crate) mod proxy;

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use base64::Engine;
use keystore::{KeyStore, SsmLimits, SsmParameterSource};
use secure_ivr_lambda::metrics::MetricSink;
use secure_ivr_lambda::{Config, ConnectEvent, Deps, Response, YearMonth, handle};
use tracing_subscriber::prelude::*;

// The test keys and the moto/skip conventions are the workspace's, in one place. (Each test
// binary uses some of them.)
#[allow(unused_imports)]
pub(crate) use test_support::fixtures::{
    KEY_A_PKCS8_2048, KEY_A_PUBLIC, KEY_B_PKCS1_3072, KEY_B_PUBLIC, KEY_C_PKCS8_4096, KEY_C_PUBLIC, KEY_WEAK_1024,
};
#[allow(unused_imports)]
pub(crate) use test_support::moto::{endpoint as moto_endpoint, unique_prefix};

/// The month the expiry cases are pinned to.
pub(crate) const TODAY: YearMonth = YearMonth { year: 2026, month: 11 };

/// A real SSM client for `endpoint` with static test credentials.
pub(crate) fn ssm(endpoint: &str, limits: &SsmLimits) -> aws_sdk_ssm::Client {
    let builder = aws_sdk_ssm::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "secure-ivr-tests"))
        .endpoint_url(endpoint);
    keystore::ssm_client(builder, limits)
}

/// A key ID shaped like Connect's (a UUID), unique per call.
pub(crate) fn key_id() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        nanos,
        u64::from(std::process::id()) << 16 | u64::from(N.fetch_add(1, Ordering::SeqCst))
    )
}

/// Stores a SecureString.
pub(crate) async fn put(client: &aws_sdk_ssm::Client, name: &str, value: &str) {
    client
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {name}: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)));
}

/// A Connect-shaped ciphertext of `plaintext` for `key_id`, base64 as Connect passes it.
pub(crate) fn encrypt(key_id: &str, public_pem: &str, plaintext: &str) -> String {
    let provider = esdk_message::provider::default_provider();
    let spki = test_support::fixtures::der(public_pem);
    let ct = esdk_message::encrypt_connect_der(provider, key_id, &spki, plaintext.as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(ct)
}

/// A `ContactFlowEvent` with these parameters.
pub(crate) fn event(params: &[(&str, &str)]) -> ConnectEvent {
    let params: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
    serde_json::from_value(serde_json::json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {"ContactId": "c0ffee00-aaaa-4bbb-8ccc-dddddddddddd", "Channel": "VOICE"},
            "Parameters": params
        }
    }))
    .unwrap()
}

/// Captured EMF lines.
#[derive(Default)]
pub(crate) struct CaptureMetrics(pub Mutex<Vec<String>>);

impl MetricSink for CaptureMetrics {
    fn emit(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_owned());
    }
}

/// Everything a test needs to call the handler.
pub(crate) struct Harness {
    pub(crate) keys: KeyStore,
    pub(crate) config: Config,
    pub(crate) metrics: CaptureMetrics,
    pub(crate) client: aws_sdk_ssm::Client,
    /// The payment step, when a test turns a connector on ([`Harness::with_payments`]).
    pub(crate) payments: Option<secure_ivr_lambda::payment::PaymentService>,
}

impl Harness {
    /// The same handler with a payment connector.
    pub(crate) fn with_payments(mut self, service: secure_ivr_lambda::payment::PaymentService) -> Self {
        self.payments = Some(service);
        self
    }

    /// A handler over `endpoint` with default limits and the given configuration variables.
    pub(crate) fn new(endpoint: &str, vars: &[(&str, &str)]) -> Self {
        Self::with_limits(endpoint, vars, None)
    }

    pub(crate) fn with_limits(endpoint: &str, vars: &[(&str, &str)], limits: Option<SsmLimits>) -> Self {
        capture_logs();
        let map: std::collections::HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let config = Config::from_lookup(&|k| map.get(k).cloned()).unwrap();
        let client = ssm(endpoint, &limits.unwrap_or(config.ssm));
        let keys = KeyStore::new(
            Arc::new(SsmParameterSource::new(client.clone())),
            esdk_message::provider::default_provider(),
            config.keystore.clone(),
        );
        Self { keys, config, metrics: CaptureMetrics::default(), client, payments: None }
    }

    pub(crate) async fn call(&self, event: &ConnectEvent) -> Response {
        self.call_by(event, answer_by(&self.config)).await
    }

    /// Like [`Harness::call`], answering by `answer_by` (as the runtime's deadline sets it).
    pub(crate) async fn call_by(&self, event: &ConnectEvent, answer_by: std::time::Instant) -> Response {
        let deps = Deps {
            keys: &self.keys,
            config: &self.config,
            metrics: &self.metrics,
            provider: esdk_message::provider::default_provider(),
            payments: self.payments.as_ref(),
        };
        let r = handle(event, &deps, TODAY, answer_by).await;
        assert_response_alphabet(&r);
        r
    }

    pub(crate) fn emf(&self) -> Vec<String> {
        self.metrics.0.lock().unwrap().clone()
    }
}

/// When a test call must answer: the configured budget from now, as the runtime does when it
/// gives no deadline.
pub(crate) fn answer_by(config: &Config) -> std::time::Instant {
    secure_ivr_lambda::deadline::from_budget(std::time::Instant::now(), config.invocation_budget)
}

/// Every key and value of a response uses only `A-Z a-z 0-9 _ -`.
pub(crate) fn assert_response_alphabet(r: &Response) {
    for (k, v) in r {
        let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        assert!(ok(k) && ok(v), "response entry {k:?}={v:?} leaves the alphabet");
    }
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A poisoned buffer (a test panicked while logging) still collects the logs.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per process) a JSON subscriber at TRACE, through the production filter, that
/// writes into a buffer.
pub(crate) fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    install(|| secure_ivr_lambda::logging::filter("trace"))
}

/// Like [`capture_logs`] but with every crate at TRACE, the AWS SDK and hyper included (more than
/// production ever logs). Must be the first capture call of the process.
pub(crate) fn capture_logs_all_crates() -> Arc<Mutex<Vec<u8>>> {
    install(|| tracing_subscriber::filter::Targets::new().with_default(tracing_subscriber::filter::LevelFilter::TRACE))
}

fn install(filter: impl FnOnce() -> tracing_subscriber::filter::Targets) -> Arc<Mutex<Vec<u8>>> {
    Arc::clone(LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buf);
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(move || BufWriter(Arc::clone(&writer)))
            .with_filter(filter());
        let _ = tracing_subscriber::registry().with(layer).try_init();
        buf
    }))
}

/// The captured logs so far.
pub(crate) fn logs() -> String {
    String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned()
}

/// Fails if any secret shows up in `text`: the value itself; for card numbers, any run of 7 of
/// its digits (more than the last four); for short values, the value as a JSON string or a
/// `key=value` token, and its bytes as a Debug list; and for keys, any base64 line of the PEM.
pub(crate) fn assert_no_leaks(text: &str, secrets: &[&str]) {
    for secret in secrets {
        if secret.contains("-----BEGIN") {
            for line in secret.lines().filter(|l| !l.starts_with("-----") && l.len() > 16) {
                assert!(!text.contains(line), "private key material leaked");
            }
            continue;
        }
        let digits: String = secret.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            for w in 0..=digits.len() - 7 {
                let run = &digits[w..w + 7];
                if let Some(at) = text.find(run) {
                    let from = text.floor_char_boundary(at.saturating_sub(200));
                    let to = text.ceil_char_boundary((at + 200).min(text.len()));
                    panic!("digit run {run} of a secret leaked, in: {}", &text[from..to]);
                }
            }
        }
        for form in
            [format!("\"{secret}\""), format!("={secret}"), format!(": {secret},"), format!("{:?}", secret.as_bytes())]
        {
            assert!(!text.contains(&form), "secret leaked as {form}");
        }
        if secret.len() >= 6 {
            assert!(!text.contains(secret), "secret leaked");
        }
    }
}

/// The leak check over everything a test produced: captured logs, EMF lines and the responses
/// (which may hold a card's last four, never more).
pub(crate) fn check_leaks(h: &Harness, responses: &[&Response], secrets: &[&str]) {
    let mut text = logs();
    assert!(!text.is_empty(), "no logs captured");
    text.push_str(&h.emf().join("\n"));
    for r in responses {
        text.push_str(&serde_json::to_string(r).unwrap());
    }
    assert_no_leaks(&text, secrets);
}
