//! SSM faults: unreachable, slow, throttled. The answer must be `Status=Error`,
//! `ErrorCode=KeyStoreUnavailable` well inside Connect's 8 s, and a later call must succeed once
//! SSM is back. Default production limits (3 s hard bound per fetch). SSM (or its KMS key)
//! refusing the role is `KeyAccessDenied`, at once, after exactly one request, and remembered.
//! The proxy's doc comment says what it cannot show.
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
    // Seeding is not under test: generous limits, so a loaded moto cannot fail it.
    let admin = ssm(
        moto,
        &keystore::SsmLimits {
            read_timeout: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(30),
            ..keystore::SsmLimits::default()
        },
    );
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
    let prefix = unique_prefix("lambda");
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
    let prefix = unique_prefix("lambda");
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
    let prefix = unique_prefix("lambda");
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
    let prefix = unique_prefix("lambda");
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
    let prefix = unique_prefix("lambda");
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

fn emf_has(h: &Harness, outcome: &str, code: &str) -> bool {
    h.emf().iter().any(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["Outcome"] == outcome && v["ErrorCode"] == code
    })
}

/// One refusing mode: `KeyAccessDenied` at once, one request (no SDK retry, no retry of ours),
/// none for a second call inside the negative-cache window, and the key read once the cache is
/// cleared and SSM answers again.
async fn denied_case(name: &str, moto: &str, mode: Mode, log_names: &str) {
    let prefix = unique_prefix("lambda");
    let (_, ct) = seed(moto, &prefix).await;
    let proxy = FaultProxy::start("127.0.0.1:0".parse().unwrap(), addr_of(moto), mode).await;
    let h = Harness::new(&proxy.endpoint(), &[(vars::KEY_PREFIX, &prefix)]);
    let ev = event(&[("EncryptedCreditCard", &ct)]);
    let t = Instant::now();
    let r = h.call(&ev).await;
    let elapsed = t.elapsed();
    assert_eq!(r.get("Status").map(String::as_str), Some("Error"), "{name}: {r:?}");
    assert_eq!(r.get("ErrorCode").map(String::as_str), Some("KeyAccessDenied"), "{name}: {r:?}");
    assert_eq!(r.get("EncryptedCreditCard_ErrorCode").map(String::as_str), Some("KeyAccessDenied"));
    // "At once": no backoff, no second attempt (the retry backoff alone is at least 50 ms and a
    // second attempt would show in the count).
    assert!(elapsed < Duration::from_millis(1000), "{name}: answered after {elapsed:?}");
    assert_eq!(proxy.requests(), 1, "{name}: a denial must not be retried");
    assert!(emf_has(&h, "Error", "KeyAccessDenied"), "{name}: no EMF line with ErrorCode=KeyAccessDenied");
    assert!(logs().contains(log_names), "{name}: the log should name {log_names}");

    // Within the negative-cache window: the same answer, no request.
    let r2 = h.call(&ev).await;
    assert_eq!(r2.get("ErrorCode").map(String::as_str), Some("KeyAccessDenied"));
    assert_eq!(proxy.requests(), 1, "{name}: a second call within the window must not reach SSM");
    assert_eq!(proxy.connections.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The policy is fixed and the cache forgotten: the key is read.
    proxy.set(Mode::Forward);
    h.keys.clear();
    expect_success(&h, &ev).await;
    check_leaks(&h, &[&r, &r2], &[CARD, KEY_A_PKCS8_2048]);
}

#[tokio::test]
async fn ssm_access_denied_is_key_access_denied_at_once() {
    let moto = moto!("ssm_access_denied_is_key_access_denied_at_once");
    denied_case("AccessDeniedException", &moto, Mode::AccessDenied, "ssm:GetParameter").await;
}

#[tokio::test]
async fn kms_access_denied_through_ssm_is_key_access_denied_at_once() {
    let moto = moto!("kms_access_denied_through_ssm_is_key_access_denied_at_once");
    denied_case("KMS AccessDeniedException", &moto, Mode::KmsAccessDenied, "AWSKMS").await;
}

#[tokio::test]
async fn invalid_kms_key_id_is_key_access_denied_at_once() {
    let moto = moto!("invalid_kms_key_id_is_key_access_denied_at_once");
    denied_case("InvalidKeyId", &moto, Mode::InvalidKeyId, "InvalidKeyId").await;
}

#[tokio::test]
async fn slow_ssm_gives_up_at_the_invocation_deadline_not_the_operation_timeout() {
    let moto = moto!("slow_ssm_gives_up_at_the_invocation_deadline_not_the_operation_timeout");
    let prefix = unique_prefix("lambda");
    let (_, ct) = seed(&moto, &prefix).await;
    let proxy =
        FaultProxy::start("127.0.0.1:0".parse().unwrap(), addr_of(&moto), Mode::Silent(Duration::from_secs(10))).await;
    // An attempt timeout longer than the deadline: only the deadline can end the fetch in time.
    let h = Harness::new(
        &proxy.endpoint(),
        &[
            (vars::KEY_PREFIX, &prefix),
            (vars::SSM_READ_TIMEOUT, "5000"),
            (vars::SSM_ATTEMPT_TIMEOUT, "5000"),
            (vars::SSM_OPERATION_TIMEOUT, "6000"),
        ],
    );
    let ev = event(&[("EncryptedCreditCard", &ct), ("EncryptedOther", &ct)]);
    let t = Instant::now();
    let r = h.call_by(&ev, t + Duration::from_millis(700)).await;
    let elapsed = t.elapsed();
    assert_eq!(r.get("ErrorCode").map(String::as_str), Some("KeyStoreUnavailable"), "{r:?}");
    assert_eq!(r.get("EncryptedOther_ErrorCode").map(String::as_str), Some("KeyStoreUnavailable"), "{r:?}");
    assert!(elapsed >= Duration::from_millis(690), "gave up before the deadline: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1200), "outlived the deadline: {elapsed:?}");
    assert!(logs().contains("no time left before the invocation deadline"));
    proxy.set(Mode::Forward);
    expect_success(&h, &event(&[("EncryptedCreditCard", &ct)])).await;
}
