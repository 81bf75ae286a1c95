//! The payment tests' gateway and setup, shared by `payments.rs` and the leak test: a merchant on
//! 127.0.0.1 that checks the generic contract's signature, keys in moto's SSM, and the in-memory
//! secret and replay stores.

use std::sync::Arc;
use std::time::Duration;

use payments::{ConnectorSecret, EndpointUrl};
use secure_ivr_lambda::config::vars;
use secure_ivr_lambda::payment::{Connected, ConnectorKind, MemoryReplay, MemorySecret, PaymentService};
use test_support::loopback::{Received, Reply, Server};

use super::*;

pub(crate) const HMAC_KEY: &[u8] = b"merchant-shared-hmac-key-for-the-tests";
pub(crate) const CARD: &str = "5555555555554444";
pub(crate) const OTHER_CARD: &str = "4000056655665556";
pub(crate) const EXPIRY: &str = "1230";
pub(crate) const CVV: &str = "737";
pub(crate) const CONTACT: &str = "c0ffee00-aaaa-4bbb-8ccc-dddddddddddd";

/// The merchant: checks the contract's signature (401 if wrong) and answers by amount: 1250
/// authorized, 4000 declined, 9999 hangs, 5030 is a 503 the first time and authorized after; a
/// tokenization gets a token.
pub(crate) async fn merchant() -> Server {
    let failed_once = std::sync::atomic::AtomicBool::new(false);
    Server::start(move |r: &Received, i| {
        let (Some(ts), Some(sig)) = (r.header("x-secure-ivr-timestamp"), r.header("x-secure-ivr-signature")) else {
            return Reply::Json(401, "{}".into());
        };
        if sig != format!("v1={}", payments::generic::sign(HMAC_KEY, ts, &r.body)) {
            return Reply::Json(401, "{}".into());
        }
        let body = r.json();
        match (body["operation"].as_str(), body["amount"]["value"].as_u64()) {
            (Some("tokenize"), None) => Reply::Json(200, format!(r#"{{"status":"tokenized","token":"tok_{i}"}}"#)),
            (Some("authorize"), Some(1250)) => {
                Reply::Json(200, format!(r#"{{"status":"authorized","payment_id":"pay_{i}"}}"#))
            }
            (Some("authorize"), Some(4000)) => {
                Reply::Json(200, r#"{"status":"declined","decline_code":"insufficient_funds"}"#.into())
            }
            (Some("authorize"), Some(9999)) => Reply::Hang,
            (Some("authorize"), Some(5030)) if !failed_once.swap(true, std::sync::atomic::Ordering::SeqCst) => {
                Reply::Json(503, "{}".into())
            }
            (Some("authorize"), Some(5030)) => {
                Reply::Json(200, format!(r#"{{"status":"authorized","payment_id":"pay_{i}"}}"#))
            }
            _ => Reply::Json(400, "{}".into()),
        }
    })
    .await
}

pub(crate) struct Setup {
    pub(crate) h: Harness,
    pub(crate) server: Server,
    pub(crate) secret: Arc<MemorySecret>,
    pub(crate) replay: Arc<MemoryReplay>,
    pub(crate) id: String,
}

pub(crate) fn settings(url: &str, secret_ttl: Duration) -> Connected {
    Connected {
        kind: ConnectorKind::Http,
        url: Some(EndpointUrl::parse(url).unwrap()),
        secret_arn: "arn:aws:secretsmanager:us-east-1:111122223333:secret:secure-ivr/pay-AbCdEf".into(),
        replay_table: "secure-ivr-replay".into(),
        secret_ttl,
        replay_ttl: Duration::from_secs(86_400),
    }
}

pub(crate) async fn setup(test: &str, extra: &[(&str, &str)], secret_ttl: Duration) -> Option<Setup> {
    setup_at(test, extra, secret_ttl, None).await
}

/// Like [`setup`], with the connector pointed at `url` instead of the merchant.
pub(crate) async fn setup_at(
    test: &str,
    extra: &[(&str, &str)],
    secret_ttl: Duration,
    url: Option<&str>,
) -> Option<Setup> {
    let ep = moto_endpoint(test)?;
    let prefix = unique_prefix("pay");
    let mut vars_: Vec<(&str, &str)> = vec![(vars::KEY_PREFIX, &prefix)];
    vars_.extend_from_slice(extra);
    let server = merchant().await;
    let secret = Arc::new(MemorySecret::new(ConnectorSecret::new(HMAC_KEY).unwrap()));
    let replay = Arc::new(MemoryReplay::new());
    let service = PaymentService::new(
        settings(&url.map_or_else(|| server.url("/pay"), str::to_owned), secret_ttl),
        secret.clone(),
        replay.clone(),
    );
    let h = Harness::new(&ep, &vars_).with_payments(service);
    let id = key_id();
    put(&h.client, &format!("{prefix}{id}"), KEY_A_PKCS8_2048).await;
    Some(Setup { h, server, secret, replay, id })
}

impl Setup {
    pub(crate) fn enc(&self, plaintext: &str) -> String {
        encrypt(&self.id, KEY_A_PUBLIC, plaintext)
    }

    /// Card, expiry and security code, encrypted, plus the payment parameters.
    pub(crate) fn card_event(
        &self,
        card: &str,
        expiry: &str,
        params: &[(&str, &str)],
    ) -> (Vec<(String, String)>, String) {
        let card_ct = self.enc(card);
        let mut p = vec![
            ("EncryptedCreditCard".to_owned(), card_ct.clone()),
            ("EncryptedExpiry".to_owned(), self.enc(expiry)),
            ("EncryptedExpiryType".to_owned(), "expiry".to_owned()),
            ("EncryptedCvv".to_owned(), self.enc(CVV)),
            ("EncryptedCvvType".to_owned(), "cvv".to_owned()),
        ];
        p.extend(params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        (p, card_ct)
    }
}

pub(crate) fn ev(params: &[(String, String)]) -> secure_ivr_lambda::ConnectEvent {
    let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    event(&refs)
}

pub(crate) fn in_contact(params: &[(String, String)], contact: &str) -> secure_ivr_lambda::ConnectEvent {
    let mut e = ev(params);
    e.details.contact_data.contact_id = Some(contact.to_owned());
    e
}

pub(crate) fn get<'r>(r: &'r secure_ivr_lambda::Response, k: &str) -> &'r str {
    r.get(k).map_or("", String::as_str)
}

/// The ESDK message ID of a base64 ciphertext, lowercase hex (the replay table's key).
pub(crate) fn message_id(b64: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let message = esdk_message::Message::parse(&bytes, 1).unwrap();
    message.header().message_id().iter().map(|b| format!("{b:02x}")).collect()
}
