//! How `SsmParameterSource` classifies SSM's refusals, against a loopback server that answers
//! every request with one AWS JSON 1.1 error (status 400, `{"__type": CODE, "message": ...}`, the
//! shape botocore's `ssm/2014-11-06` model gives for GetParameter's errors).
//!
//! What this cannot show: which of these codes a real SSM endpoint sends in which situation
//! (an expired session gives `ExpiredTokenException` on real accounts; this server sends whatever
//! the test names), nor the SDK's retry timing against a real endpoint.

#![allow(clippy::expect_used, reason = "test setup outside #[test] fns: a panic is a failed test")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;

use keystore::{FetchError, KeyStoreError, ParameterSource, SsmLimits, SsmParameterSource, read_key};

/// Serves `code` as the error of every request; returns the endpoint URL.
fn refusing_server(code: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let payload = format!(r#"{{"__type":"{code}","message":"refused by the test server"}}"#);
            let response = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                payload.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://{addr}")
}

fn source(endpoint: &str) -> SsmParameterSource {
    SsmParameterSource::new(test_support::moto::ssm_client(endpoint, &SsmLimits::default()))
}

#[tokio::test]
async fn rejected_credentials_are_told_apart_from_an_unavailable_service() {
    for code in keystore::CREDENTIAL_ERROR_CODES {
        let src = source(&refusing_server(code));
        let err = src.get("/secure-ivr/keys/k").await.expect_err("refused");
        assert!(matches!(err, FetchError::CredentialsRejected(ref d) if d.starts_with(code)), "{code}: {err:?}");
        let err = read_key(&src, "/secure-ivr/keys/k").await.expect_err("refused");
        assert!(matches!(err, KeyStoreError::CredentialsRejected(_)), "{code}: {err:?}");
    }
}

#[tokio::test]
async fn denials_and_other_service_errors_keep_their_kinds() {
    let err = source(&refusing_server("AccessDeniedException")).get("/k").await.expect_err("refused");
    assert!(matches!(err, FetchError::AccessDenied(_)), "{err:?}");
    let err = source(&refusing_server("InternalServerError")).get("/k").await.expect_err("refused");
    assert!(matches!(err, FetchError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn the_key_store_still_answers_unavailable_for_rejected_credentials() {
    // The Lambda's error code for a rejected role session stays KeyStoreUnavailable.
    let src = std::sync::Arc::new(source(&refusing_server("ExpiredTokenException")));
    let store = keystore::KeyStore::new(
        src,
        esdk_message::provider::default_provider(),
        keystore::KeyStoreConfig::new("/secure-ivr/keys/").expect("prefix"),
    );
    let err = store.get("k").await.expect_err("refused");
    assert!(matches!(err, KeyStoreError::Unavailable(_)), "{err:?}");
}
