//! Warm per-call time of the handler with a cached key (no moto needed: the key is loaded once
//! from an in-memory source). Prints the median; asserts only a generous ceiling.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use keystore::{KeyStore, KeyStoreConfig};
use secure_ivr_lambda::metrics::NoMetrics;
use secure_ivr_lambda::{Config, Deps, handle};
use test_support::memory::MemorySource;

#[tokio::test]
async fn warm_call_median() {
    capture_logs();
    let config = Config::from_lookup(&|_| None).unwrap();
    let provider = esdk_message::provider::default_provider();
    for (label, private, public) in
        [("RSA-4096", KEY_C_PKCS8_4096, KEY_C_PUBLIC), ("RSA-2048", KEY_A_PKCS8_2048, KEY_A_PUBLIC)]
    {
        let id = key_id();
        let source = MemorySource::with(&[(&format!("{}{id}", keystore::DEFAULT_PREFIX), private)]);
        let keys = KeyStore::new(source, provider, KeyStoreConfig::default());
        let deps = Deps { keys: &keys, config: &config, metrics: &NoMetrics, provider, payments: None };
        let ev = event(&[("EncryptedCreditCard", &encrypt(&id, public, "4111111111111111"))]);
        assert_eq!(handle(&ev, &deps, TODAY, answer_by(&config)).await["Status"], "Success");
        let mut times: Vec<Duration> = Vec::with_capacity(200);
        for _ in 0..200 {
            let t = Instant::now();
            let r = handle(&ev, &deps, TODAY, answer_by(&config)).await;
            times.push(t.elapsed());
            assert_eq!(r["Status"], "Success");
        }
        times.sort();
        let (median, p95) = (times[100], times[190]);
        eprintln!(
            "warm handler call, {label}, cached key, logs at TRACE into a buffer: median {median:?}, p95 {p95:?}"
        );
        assert!(median < Duration::from_millis(100), "{median:?}");
    }
}
