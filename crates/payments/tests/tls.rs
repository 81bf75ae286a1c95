//! The generic connector over TLS: rustls on both sides, a private CA made by rcgen, a server on
//! 127.0.0.1 with an IP-address certificate. Shows the https path works end to end with
//! `with_trusted_roots`, that a certificate the client does not trust fails the handshake before a
//! byte of the request is written (`Unreachable`, the server sees no request), and the root checks.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers: a panic is a failed test")]

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use payments::{
    ConfigError, Connector, ConnectorSecret, EndpointUrl, ErrorKind, HttpConnector, IdempotencyKeyer, OpaqueId, Outcome,
};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use common::{authorize, deadline_in, request};

const SECRET: &[u8] = b"tls-test-hmac-key";

struct Pki {
    ca: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca: ca.der().clone(),
        leaf: leaf.der().clone(),
        leaf_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    }
}

/// A blocking rustls server on 127.0.0.1: for each connection, handshake, read one request
/// (headers and Content-Length body), record it, answer `authorized`.
fn serve(pki: &Pki) -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.leaf_key.clone_key())
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let complete = loop {
                let Ok(n) = tls.read(&mut buf) else { break false };
                if n == 0 {
                    break false;
                }
                raw.extend_from_slice(&buf[..n]);
                if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if raw.len() >= end + 4 + len {
                        break true;
                    }
                }
            };
            if !complete {
                continue;
            }
            log.lock().unwrap().push(raw);
            let body = r#"{"status":"authorized","payment_id":"pay_tls_1"}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (port, seen)
}

fn keyer() -> IdempotencyKeyer {
    IdempotencyKeyer::from_secret(&ConnectorSecret::new(SECRET).unwrap())
}

#[tokio::test]
async fn authorizes_over_tls_to_a_private_ca() {
    let pki = pki();
    let (port, seen) = serve(&pki);
    let url = EndpointUrl::parse(&format!("https://127.0.0.1:{port}/ivr/pay")).unwrap();
    let connector =
        HttpConnector::with_trusted_roots(url, ConnectorSecret::new(SECRET).unwrap(), vec![pki.ca]).unwrap();
    let req = request(authorize(1250, "GBP"));
    let outcome = connector.execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Authorized { payment_id: OpaqueId::new("pay_tls_1").unwrap() });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let text = String::from_utf8_lossy(&seen[0]);
    assert!(text.starts_with("POST /ivr/pay HTTP/1.1\r\n"), "{text}");
    assert!(text.to_ascii_lowercase().contains("x-secure-ivr-signature: v1="));
}

#[tokio::test]
async fn an_untrusted_certificate_fails_before_anything_is_sent() {
    let pki = pki();
    let (port, seen) = serve(&pki);
    let url = EndpointUrl::parse(&format!("https://127.0.0.1:{port}/ivr/pay")).unwrap();
    // The system's roots do not include this test CA.
    let connector = HttpConnector::new(url, ConnectorSecret::new(SECRET).unwrap()).unwrap();
    let req = request(authorize(1250, "GBP"));
    let outcome = connector.execute(&req, &keyer().key(&req), deadline_in(5000)).await;
    assert_eq!(outcome, Outcome::Error { kind: ErrorKind::Unreachable });
    assert!(seen.lock().unwrap().is_empty(), "no request got past the handshake");
}

#[test]
fn trusted_roots_must_be_given_and_parse() {
    let url = || EndpointUrl::parse("https://127.0.0.1:1/").unwrap();
    let secret = || ConnectorSecret::new(SECRET).unwrap();
    assert_eq!(HttpConnector::with_trusted_roots(url(), secret(), vec![]).unwrap_err(), ConfigError::TlsRoots);
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert_eq!(HttpConnector::with_trusted_roots(url(), secret(), vec![garbage]).unwrap_err(), ConfigError::TlsRoots);
}
