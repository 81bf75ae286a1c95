//! A loopback TCP fault proxy in front of moto: forward, hold the connection silent (slow SSM),
//! or answer as SSM does when it throttles or refuses (HTTP 400, JSON 1.1 protocol, `__type` and
//! `Message`/`message` as botocore's `ssm/2014-11-06/service-2.json` names them:
//! `ThrottlingException`, `AccessDeniedException`, `InvalidKeyId`).
//!
//! What it cannot show: that real SSM sends these exact messages, request IDs and headers (the
//! messages are the documented wording seen in public reports, not captured here); IAM or KMS
//! deciding anything (it refuses every request, whatever the signature or parameter); and the
//! timing of a real endpoint over TLS. It answers HTTP/1.1 with `Connection: close`, so each SDK
//! attempt is a new connection and [`FaultProxy::requests`] counts attempts exactly.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Forward,
    /// Accept and read, answer nothing for this long, then close.
    Silent(Duration),
    Throttle,
    /// IAM said no: `AccessDeniedException`, as SSM answers a role without `ssm:GetParameter`.
    AccessDenied,
    /// KMS said no, passed on by SSM: `AccessDeniedException` whose message names `AWSKMS`, as
    /// SSM answers a role without `kms:Decrypt` on the parameter's key.
    KmsAccessDenied,
    /// `InvalidKeyId`, the KMS-key error `GetParameter` models.
    InvalidKeyId,
}

impl Mode {
    /// The canned HTTP 400 body of an answering mode.
    fn error_body(self) -> Option<&'static str> {
        Some(match self {
            Self::Throttle => r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
            Self::AccessDenied => {
                r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/secure-ivr-decrypt-role/secure-ivr is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:us-east-1:123456789012:parameter/connect/secure-ivr/keys/k because no identity-based policy allows the ssm:GetParameter action"}"#
            }
            Self::KmsAccessDenied => {
                r#"{"__type":"AccessDeniedException","Message":"The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access. (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: 00000000-0000-4000-8000-000000000001; Proxy: null)"}"#
            }
            Self::InvalidKeyId => r#"{"__type":"InvalidKeyId","message":"The query key ID isn't valid."}"#,
            Self::Forward | Self::Silent(_) => return None,
        })
    }
}

pub(crate) struct FaultProxy {
    pub(crate) addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    pub(crate) connections: Arc<AtomicUsize>,
    /// Requests read and answered by an answering mode (throttle, denials).
    pub(crate) requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far by an answering mode.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Listens on `bind` (use port 0 for any) and forwards to `upstream` in `Forward` mode.
    pub(crate) async fn start(bind: SocketAddr, upstream: SocketAddr, mode: Mode) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (m, c, r) = (Arc::clone(&mode), Arc::clone(&connections), Arc::clone(&requests));
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let mode = *m.lock().unwrap();
                tokio::spawn(serve(client, upstream, mode, Arc::clone(&r)));
            }
        });
        Self { addr, mode, connections, requests, task }
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, mode: Mode, requests: Arc<AtomicUsize>) {
    match mode {
        Mode::Forward => {
            if let Ok(mut up) = TcpStream::connect(upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
            }
        }
        Mode::Silent(d) => {
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(d, async {
                while let Ok(n) = client.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            })
            .await;
        }
        Mode::Throttle | Mode::AccessDenied | Mode::KmsAccessDenied | Mode::InvalidKeyId => {
            if read_request(&mut client).await.is_some() {
                requests.fetch_add(1, Ordering::SeqCst);
                let body = mode.error_body().unwrap_or_default();
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\nx-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n\
                     Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.write_all(response.as_bytes()).await;
                let _ = client.shutdown().await;
            }
        }
    }
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body).
async fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf);
        }
    }
}

/// A loopback port with nothing listening (bound, then released).
pub(crate) fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

/// The socket address of an `http://host:port` endpoint.
pub(crate) fn addr_of(endpoint: &str) -> SocketAddr {
    let hostport = endpoint.trim_start_matches("http://").trim_end_matches('/');
    hostport.parse().unwrap()
}
