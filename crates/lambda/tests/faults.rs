//! SSM faults: unreachable, slow, throttled. The answer must be `Status=Error`,
//! `ErrorCode=KeyStoreUnavailable` well inside Connect's 8 s, and a later call must succeed once
//! SSM is back. Default production limits (3 s hard bound per fetch).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::proxy::{FaultProxy, Mode, addr_of, closed_port};
use common::*;
use secure_ivr_lambda::config::vars;

const CARD: &str = "5555555555554444";
/// Production bound is 3 s per fetch; allow scheduling slack on a loaded 2-core machine, and
/// stay far from Connect's 8 s.
const BUDGET: Duration = Duration::from_millis(4500);

macro_rules! moto {
    ($name:literal) => {
        match moto_endpoint($name) {
            Some(ep) => ep,
            None => return,
        }
    };
}

async fn seed(moto: &str, prefix: &str) -> (String, String) {
    let admin = ssm(moto, &keystore::SsmLimits::default());
    let id = key_id();
    put(&admin, &format!("{prefix}{id}"), KEY_A_PKCS8_2048).await;
    let ct = encrypt(&id, KEY_A_PUBLIC, CARD);
    (id, ct)
}

async fn expect_unavailable(h: &Harness, ev: &secure_ivr_lambda::ConnectEvent) -> Duration {
    let t = Instant::now();
    let r = h.call(ev).await;
    let elapsed = t.elapsed();
    assert_eq!(r.get("Status").map(String::as_str), Some("Error"), "{r:?}");
    assert_eq!(r.get("ErrorCode").map(String::as_str), Some("KeyStoreUnavailable"), "{r:?}");
    assert!(elapsed < BUDGET, "answered after {elapsed:?}");
    eprintln!("KeyStoreUnavailable after {elapsed:?}");
    elapsed
}

async fn expect_success(h: &Harness, ev: &secure_ivr_lambda::ConnectEvent) {
    let r = h.call(ev).await;
    assert_eq!(r.get("Status").map(String::as_str), Some("Success"), "{r:?}");
    assert_eq!(r.get("Last4").map(String::as_str), Some("4444"));
}

#[tokio::test]
async fn unreachable_ssm_then_back() {
    let moto = moto!("unreachable_ssm_then_back");
    let prefix = unique_prefix();
    let (_, ct) = seed(&moto, &prefix).await;
    let dead = closed_port();
    let h = Harness::new(&format!("http://{dead}"), &[(vars::KEY_PREFIX, &prefix)]);
    let ev = event(&[("EncryptedCreditCard", &ct)]);
    expect_unavailable(&h, &ev).await;
    // SSM comes back on the same address.
    let _proxy = FaultProxy::start(dead, addr_of(&moto), Mode::Forward).await;
    expect_success(&h, &ev).await;
    check_leaks(&h, &[], &[CARD, KEY_A_PKCS8_2048]);
}

#[tokio::test]
async fn slow_ssm_then_back() {
    let moto = moto!("slow_ssm_then_back");
    let prefix = unique_prefix();
    let (_, ct) = seed(&moto, &prefix).await;
    let proxy =
        FaultProxy::start("127.0.0.1:0".parse().unwrap(), addr_of(&moto), Mode::Silent(Duration::from_secs(10))).await;
    let h = Harness::new(&proxy.endpoint(), &[(vars::KEY_PREFIX, &prefix)]);
    let ev = event(&[("EncryptedCreditCard", &ct)]);
    let elapsed = expect_unavailable(&h, &ev).await;
    assert!(elapsed >= Duration::from_millis(900), "gave up before the read timeout: {elapsed:?}");
    proxy.set(Mode::Forward);
    expect_success(&h, &ev).await;
    check_leaks(&h, &[], &[CARD, KEY_A_PKCS8_2048]);
}

#[tokio::test]
async fn throttled_ssm_then_back() {
    let moto = moto!("throttled_ssm_then_back");
    let prefix = unique_prefix();
    let (_, ct) = seed(&moto, &prefix).await;
    let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), addr_of(&moto), Mode::Throttle).await;
    let h = Harness::new(&proxy.endpoint(), &[(vars::KEY_PREFIX, &prefix)]);
    let ev = event(&[("EncryptedCreditCard", &ct)]);
    expect_unavailable(&h, &ev).await;
    let attempts = proxy.connections.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=3).contains(&attempts), "bounded retries expected, saw {attempts} requests");
    assert!(logs().contains("ThrottlingException"), "the log should name the throttling");
    proxy.set(Mode::Forward);
    expect_success(&h, &ev).await;
    check_leaks(&h, &[], &[CARD, KEY_A_PKCS8_2048]);
}

#[tokio::test]
async fn stale_key_bridges_an_outage_after_ttl() {
    let moto = moto!("stale_key_bridges_an_outage_after_ttl");
    let prefix = unique_prefix();
    let (_, ct) = seed(&moto, &prefix).await;
    let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), addr_of(&moto), Mode::Forward).await;
    let h = Harness::new(&proxy.endpoint(), &[(vars::KEY_PREFIX, &prefix), (vars::CACHE_TTL, "1")]);
    let ev = event(&[("EncryptedCreditCard", &ct)]);
    expect_success(&h, &ev).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    proxy.set(Mode::Throttle);
    expect_success(&h, &ev).await;
    assert!(logs().contains(r#""cache":"stale""#));
}

#[tokio::test]
async fn several_keys_with_slow_ssm_still_answer_in_time() {
    let moto = moto!("several_keys_with_slow_ssm_still_answer_in_time");
    let prefix = unique_prefix();
    let proxy =
        FaultProxy::start("127.0.0.1:0".parse().unwrap(), addr_of(&moto), Mode::Silent(Duration::from_secs(10))).await;
    let h = Harness::new(&proxy.endpoint(), &[(vars::KEY_PREFIX, &prefix)]);
    // Three values under three key IDs: only the first may wait for SSM.
    let (a, b, c) = (key_id(), key_id(), key_id());
    let ev = event(&[
        ("EncryptedA", &encrypt(&a, KEY_A_PUBLIC, CARD)),
        ("EncryptedB", &encrypt(&b, KEY_A_PUBLIC, CARD)),
        ("EncryptedC", &encrypt(&c, KEY_A_PUBLIC, CARD)),
    ]);
    let t = Instant::now();
    let r = h.call(&ev).await;
    let elapsed = t.elapsed();
    assert_eq!(r.get("ErrorCode").map(String::as_str), Some("KeyStoreUnavailable"), "{r:?}");
    for name in ["EncryptedA", "EncryptedB", "EncryptedC"] {
        assert_eq!(r.get(&format!("{name}_ErrorCode")).map(String::as_str), Some("KeyStoreUnavailable"));
    }
    assert!(elapsed < BUDGET, "answered after {elapsed:?}");
    check_leaks(&h, &[], &[CARD]);
}
