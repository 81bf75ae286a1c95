//! One HTTP/1.1 exchange at a time over hyper's connection API, with the "possibly sent" rule and
//! bounded retries. Both connectors send through here.
//!
//! hyper's low-level `client::conn` is used rather than hyper-util's pooled client so that the two
//! phases are explicit: until TCP and TLS are up, no request byte can have left (not sent); from
//! `send_request` on, it may have (possibly sent). A pooled client reports both as one error.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::time::{Instant, sleep_until, timeout_at};
use tower_service::Service;

use crate::error::ConfigError;
use crate::url::EndpointUrl;

/// The largest answer body read; a longer one is a broken answer (the contract's is a few hundred bytes).
pub const MAX_ANSWER_LEN: usize = 64 * 1024;
/// TCP + TLS setup per attempt; a dead address is retried instead of eating the whole budget.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts per call, the first included.
pub const MAX_ATTEMPTS: u32 = 4;
/// Pause before the second attempt; doubled for each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// No new attempt starts with less than this left before the deadline (it could only end "possibly sent").
pub const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(200);

/// A complete answer: status and (bounded) body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

/// What the retry loop ends with.
pub(crate) enum Delivery {
    /// A final answer: not 5xx, or 429 with nothing possibly processed before it.
    Answer(Answer),
    /// No attempt ever wrote a request byte.
    NotSent,
    /// Some attempt may have reached the gateway (sent then lost, timed out, or answered 5xx) and
    /// none gave a final answer.
    Unknown,
}

enum Attempt {
    Answer(Answer),
    NotSent,
    MaybeSent,
}

/// Aborts the spawned connection driver when the attempt ends, so a hung gateway leaves no task behind.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which certificate authorities an https endpoint may chain to.
#[derive(Clone, Debug)]
pub(crate) enum Roots {
    /// The system's trust store (what a public endpoint, and Stripe, need).
    System,
    /// Only these (a merchant service or vault proxy on a private CA): the system's are not trusted.
    Only(Vec<rustls::pki_types::CertificateDer<'static>>),
}

/// The HTTP client: rustls (aws-lc-rs provider, TLS 1.2/1.3, the system's roots for https).
#[derive(Clone)]
pub(crate) struct Transport {
    connector: HttpsConnector<HttpConnector>,
}

impl Transport {
    /// System roots are loaded only for an https endpoint (a loopback http test needs none).
    pub(crate) fn new(url: &EndpointUrl, roots: Roots) -> Result<Self, ConfigError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| ConfigError::TlsRoots)?;
        let tls = match roots {
            Roots::System if url.is_https() => {
                builder.with_native_roots().map_err(|_| ConfigError::TlsRoots)?.with_no_client_auth()
            }
            Roots::System => builder.with_root_certificates(rustls::RootCertStore::empty()).with_no_client_auth(),
            Roots::Only(certs) => {
                let mut store = rustls::RootCertStore::empty();
                for cert in certs {
                    store.add(cert).map_err(|_| ConfigError::TlsRoots)?;
                }
                if store.is_empty() {
                    return Err(ConfigError::TlsRoots);
                }
                builder.with_root_certificates(store).with_no_client_auth()
            }
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector =
            HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
        Ok(Self { connector })
    }

    /// Sends `build()`'s request until a final answer, retrying 5xx, 429 and connection failures
    /// (the caller's request carries the same idempotency key each time) while the deadline allows.
    pub(crate) async fn send(
        &self,
        url: &EndpointUrl,
        mut build: impl FnMut() -> Option<Request<Full<Bytes>>>,
        deadline: Instant,
    ) -> Delivery {
        let mut possibly_processed = false;
        let mut last_refusal: Option<Answer> = None;
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            let Some(request) = build() else { break };
            match self.attempt(url, request, deadline).await {
                Attempt::Answer(a) if a.status.is_server_error() => possibly_processed = true,
                Attempt::Answer(a) if a.status == StatusCode::TOO_MANY_REQUESTS => last_refusal = Some(a),
                Attempt::Answer(a) => return Delivery::Answer(a),
                Attempt::MaybeSent => possibly_processed = true,
                Attempt::NotSent => {}
            }
            if attempt == MAX_ATTEMPTS {
                break;
            }
            let resume = Instant::now() + backoff;
            if resume + MIN_ATTEMPT_TIME > deadline {
                break;
            }
            sleep_until(resume).await;
            backoff *= 2;
        }
        if possibly_processed {
            Delivery::Unknown
        } else if let Some(a) = last_refusal {
            Delivery::Answer(a)
        } else {
            Delivery::NotSent
        }
    }

    async fn attempt(&self, url: &EndpointUrl, request: Request<Full<Bytes>>, deadline: Instant) -> Attempt {
        // tokio's timeout polls the inner future once before looking at the clock: check first, so
        // a deadline already past can never let a request out.
        if Instant::now() >= deadline {
            return Attempt::NotSent;
        }
        let mut connector = self.connector.clone();
        let origin = url.origin();
        let connecting = async move {
            std::future::poll_fn(|cx| connector.poll_ready(cx)).await?;
            connector.call(origin).await
        };
        let connect_deadline = deadline.min(Instant::now() + CONNECT_TIMEOUT);
        // Nothing of the request is written before this point: TCP and TLS only.
        let Ok(Ok(io)) = timeout_at(connect_deadline, connecting).await else { return Attempt::NotSent };
        // writev: hyper queues the body's `Bytes` for vectored writes instead of copying it into
        // its own (unwiped) header buffer.
        let Ok((mut sender, connection)) =
            hyper::client::conn::http1::Builder::new().writev(true).handshake::<_, Full<Bytes>>(io).await
        else {
            return Attempt::NotSent;
        };
        let _driver = AbortOnDrop(tokio::spawn(async move {
            // The connection's own error surfaces through `send_request` below.
            let _ = connection.await;
        }));
        let exchange = async {
            let response = sender.send_request(request).await.ok()?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_LEN).collect().await.ok()?.to_bytes();
            Some(Answer { status: parts.status, body })
        };
        match timeout_at(deadline, exchange).await {
            Ok(Some(answer)) => Attempt::Answer(answer),
            // Sent (or partly sent) and then no complete answer: a broken connection, an answer
            // over the size bound, or the deadline.
            Ok(None) | Err(_) => Attempt::MaybeSent,
        }
    }
}
