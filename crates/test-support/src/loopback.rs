//! A loopback HTTP/1.1 server for tests that call a gateway: records every request as received on
//! the wire (request line, headers, body) and answers what the test's handler says. Written by hand
//! so the tests see the raw bytes (chunked encoding, `Content-Length`) that a server framework
//! would hide. Binds 127.0.0.1 only.
#![allow(clippy::expect_used, reason = "test helper: a failed expect is a failed test")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// `POST /path HTTP/1.1`.
    pub request_line: String,
    /// Names and values, as sent, in order.
    pub headers: Vec<(String, String)>,
    /// Exactly `Content-Length` bytes (empty without it).
    pub body: Vec<u8>,
}

impl Received {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("body is JSON")
    }
}

/// What the server does with a request.
pub enum Reply {
    /// This status and JSON body.
    Json(u16, String),
    /// Read the request, then never answer (the connection stays open).
    Hang,
    /// Read the request, then close the connection without a byte.
    Close,
}

type Handler = dyn Fn(&Received, usize) -> Reply + Send + Sync;

/// The running server; stops with the test's runtime.
pub struct Server {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port. `handler` gets each request and its 0-based index.
    pub async fn start(handler: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, handler) = (Arc::clone(&log), Arc::clone(&handler));
                tokio::spawn(async move { serve(stream, log, handler).await });
            }
        });
        Self { addr, received }
    }

    /// `http://127.0.0.1:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Received>>>, handler: Arc<Handler>) {
    let Some(request) = read_request(&mut stream).await else { return };
    let index = {
        let mut log = log.lock().expect("lock");
        log.push(request.clone());
        log.len() - 1
    };
    match handler(&request, index) {
        Reply::Json(status, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Reply::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
        Reply::Close => drop(stream),
    }
}

/// Reads one request: headers to the blank line, then exactly `Content-Length` body bytes. A
/// request without `Content-Length` (chunked) is recorded with an empty body for the test to see.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))).collect();
    let mut body = buf[head_end + 4..].to_vec();
    let length =
        headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length")).map(|(_, v)| v.parse::<usize>());
    if let Some(Ok(length)) = length {
        while body.len() < length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body.truncate(length);
    } else {
        body.clear();
    }
    Some(Received { request_line, headers, body })
}
