//! A loopback TCP fault proxy in front of moto: forward, hold the connection silent (slow SSM),
//! or answer as a throttling SSM does (HTTP 400 `ThrottlingException`, JSON 1.1 protocol).
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Accept and read, answer nothing for this long, then close.
    Silent(Duration),
    Throttle,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    pub connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Listens on `bind` (use port 0 for any) and forwards to `upstream` in `Forward` mode.
    pub async fn start(bind: SocketAddr, upstream: SocketAddr, mode: Mode) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(Mutex::new(mode));
        let connections = Arc::new(AtomicUsize::new(0));
        let (m, c) = (Arc::clone(&mode), Arc::clone(&connections));
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let mode = *m.lock().unwrap();
                tokio::spawn(serve(client, upstream, mode));
            }
        });
        Self { addr, mode, connections, task }
    }
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, mode: Mode) {
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
        Mode::Throttle => {
            if read_request(&mut client).await.is_some() {
                let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
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
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

/// The socket address of an `http://host:port` endpoint.
pub fn addr_of(endpoint: &str) -> SocketAddr {
    let hostport = endpoint.trim_start_matches("http://").trim_end_matches('/');
    hostport.parse().unwrap()
}
