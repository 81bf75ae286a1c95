//! The real `bootstrap` binary under a small Lambda Runtime API emulator, so that the
//! invocation deadline is a real one (`cargo lambda watch` sends `Lambda-Runtime-Deadline-Ms:
//! 600000`, a moment in 1970, and cannot test this). The emulator hands out invocations on
//! `GET /2018-06-01/runtime/invocation/next` with the headers Lambda documents
//! (`Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//! `Lambda-Runtime-Invoked-Function-Arn`, `Lambda-Runtime-Trace-Id`) and records what the
//! function posts to `.../invocation/{id}/response` and `.../error` (HTTP 202), with the time.
//! SSM is the loopback fault proxy: silent (never answers) or refusing (`AccessDeniedException`).
//!
//! What it cannot show: Lambda itself freezing, thawing or killing the process at the deadline
//! (here a late answer is only measured late, never cut off); the sandbox's clock (the deadline
//! is read against this machine's clock, the same one the emulator uses); Lambda's init phase
//! limits and its `/runtime/init/error` handling beyond recording it; and anything about real
//! SSM beyond what the proxy's doc comment says.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::proxy::{FaultProxy, Mode, closed_port};
use common::{KEY_A_PUBLIC, encrypt, key_id};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

const CARD: &str = "4111111111111111";
const PREFIX: &str = "/connect/secure-ivr-runtime-test/keys/";

/// How a handed-out invocation's deadline is set.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// Now (when the function takes the invocation) plus this.
    In(Duration),
    /// This value of `Lambda-Runtime-Deadline-Ms`, as is.
    Fixed(u64),
}

struct Invocation {
    id: String,
    deadline: Deadline,
    body: String,
}

/// What the function posted for one invocation.
#[derive(Debug)]
struct Posted {
    id: String,
    /// `response` or `error`.
    kind: String,
    body: String,
    /// When the invocation was handed out, and when the answer arrived.
    handed_out: Instant,
    answered: Instant,
    deadline_ms: u64,
    answered_ms: u64,
}

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

struct RuntimeApi {
    addr: std::net::SocketAddr,
    queue: mpsc::UnboundedSender<Invocation>,
    posted: mpsc::UnboundedReceiver<Posted>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Default)]
struct Handed {
    /// Request ID -> (handed out, deadline header value).
    by_id: HashMap<String, (Instant, u64)>,
}

impl RuntimeApi {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (queue, rx) = mpsc::unbounded_channel::<Invocation>();
        let (post_tx, posted) = mpsc::unbounded_channel::<Posted>();
        let rx = Arc::new(Mutex::new(rx));
        let handed = Arc::new(std::sync::Mutex::new(Handed::default()));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                tokio::spawn(connection(stream, Arc::clone(&rx), post_tx.clone(), Arc::clone(&handed)));
            }
        });
        Self { addr, queue, posted, task }
    }

    fn invoke(&self, id: &str, deadline: Deadline, body: String) {
        self.queue.send(Invocation { id: id.to_owned(), deadline, body }).unwrap();
    }

    async fn answer(&mut self, within: Duration) -> Posted {
        tokio::time::timeout(within, self.posted.recv())
            .await
            .unwrap_or_else(|_| panic!("no answer from bootstrap within {within:?}"))
            .unwrap()
    }
}

/// One keep-alive connection from the runtime client: requests one after another.
async fn connection(
    mut stream: TcpStream,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    posted: mpsc::UnboundedSender<Posted>,
    handed: Arc<std::sync::Mutex<Handed>>,
) {
    let mut buf = Vec::new();
    while let Some((method, path, body)) = read_request(&mut stream, &mut buf).await {
        let reply = if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            // Long poll, as Lambda does: answer when there is an invocation.
            let Some(inv) = queue.lock().await.recv().await else { return };
            let deadline_ms = match inv.deadline {
                Deadline::In(d) => now_ms() + u64::try_from(d.as_millis()).unwrap(),
                Deadline::Fixed(ms) => ms,
            };
            handed.lock().unwrap().by_id.insert(inv.id.clone(), (Instant::now(), deadline_ms));
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:secure-ivr\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0\r\n\
                 Content-Length: {}\r\n\r\n{}",
                inv.id,
                inv.body.len(),
                inv.body
            )
        } else if method == "POST"
            && let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/")
            && let Some((id, kind)) = rest.split_once('/')
            && (kind == "response" || kind == "error")
        {
            let (handed_out, deadline_ms) = handed.lock().unwrap().by_id.get(id).copied().unwrap();
            let _ = posted.send(Posted {
                id: id.to_owned(),
                kind: kind.to_owned(),
                body: String::from_utf8_lossy(&body).into_owned(),
                handed_out,
                answered: Instant::now(),
                deadline_ms,
                answered_ms: now_ms(),
            });
            accepted()
        } else if method == "POST" && path == "/2018-06-01/runtime/init/error" {
            let _ = posted.send(Posted {
                id: String::new(),
                kind: "init-error".into(),
                body: String::from_utf8_lossy(&body).into_owned(),
                handed_out: Instant::now(),
                answered: Instant::now(),
                deadline_ms: 0,
                answered_ms: now_ms(),
            });
            accepted()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned()
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn accepted() -> String {
    let body = r#"{"status":"OK"}"#;
    format!("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

/// Reads one HTTP/1.1 request (Content-Length or chunked body) from a keep-alive stream;
/// `buf` carries bytes already read past the previous request.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, String, Vec<u8>)> {
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_ascii_lowercase())
        })
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let line_end = loop {
                if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                    break p;
                }
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            buf.drain(..line_end + 2);
            while buf.len() < size + 2 {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
            if size == 0 {
                break;
            }
        }
    } else {
        let len = header("content-length").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        while buf.len() < len {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        body = buf.drain(..len).collect();
    }
    Some((method, path, body))
}

/// `bootstrap` with the environment Lambda gives a `provided.al2023` function, pointed at the
/// emulator and at `ssm_endpoint`.
fn bootstrap(api: &RuntimeApi, ssm_endpoint: &str, extra: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "secure-ivr")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/secure-ivr")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/01/[$LATEST]00000000000000000000000000000000")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_SESSION_TOKEN", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_SSM", ssm_endpoint)
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .env("TZ", ":UTC")
        .env("SECURE_IVR_KEY_PREFIX", PREFIX)
        .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Stops the child (ours) and returns what it printed.
fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn card_event() -> String {
    let ct = encrypt(&key_id(), KEY_A_PUBLIC, CARD);
    serde_json::json!({
        "Name": "ContactFlowEvent",
        "Details": {"ContactData": {"ContactId": "c0ffee00-aaaa-4bbb-8ccc-dddddddddddd"},
                    "Parameters": {"EncryptedCreditCard": ct}}
    })
    .to_string()
}

fn fields(p: &Posted) -> serde_json::Value {
    assert_eq!(p.kind, "response", "the function posted {} for {}: {}", p.kind, p.id, p.body);
    serde_json::from_str(&p.body).unwrap()
}

#[tokio::test]
async fn slow_ssm_answers_before_a_short_invocation_deadline() {
    let mut api = RuntimeApi::start().await;
    let ssm =
        FaultProxy::start("127.0.0.1:0".parse().unwrap(), closed_port(), Mode::Silent(Duration::from_secs(30))).await;
    // Long SSM timeouts: only the invocation deadline can make the answer come in time.
    let child = bootstrap(
        &api,
        &ssm.endpoint(),
        &[
            ("SECURE_IVR_SSM_READ_TIMEOUT_MS", "6000"),
            ("SECURE_IVR_SSM_ATTEMPT_TIMEOUT_MS", "6000"),
            ("SECURE_IVR_SSM_OPERATION_TIMEOUT_MS", "6000"),
        ],
    );
    // A function timeout of 1.5 s, as a short `Timeout` gives.
    api.invoke("req-slow-1", Deadline::In(Duration::from_millis(1500)), card_event());
    let posted = api.answer(Duration::from_secs(20)).await;
    let log = stop(child);
    let r = fields(&posted);
    assert_eq!((&r["Status"], &r["ErrorCode"]), (&"Error".into(), &"KeyStoreUnavailable".into()), "{r}\n{log}");
    assert!(
        posted.answered_ms < posted.deadline_ms,
        "answered at {} after the deadline {}",
        posted.answered_ms,
        posted.deadline_ms
    );
    let took = posted.answered.duration_since(posted.handed_out);
    assert!(took >= Duration::from_millis(1000), "gave up long before the deadline: {took:?}");
    assert!(ssm.connections.load(std::sync::atomic::Ordering::SeqCst) >= 1, "SSM was never asked");
    assert!(log.contains("no time left before the invocation deadline"), "{log}");
    eprintln!("answered {took:?} after hand-out, {} ms before the deadline", posted.deadline_ms - posted.answered_ms);
}

#[tokio::test]
async fn a_1970_deadline_falls_back_to_the_configured_budget() {
    let mut api = RuntimeApi::start().await;
    let ssm =
        FaultProxy::start("127.0.0.1:0".parse().unwrap(), closed_port(), Mode::Silent(Duration::from_secs(30))).await;
    let child = bootstrap(
        &api,
        &ssm.endpoint(),
        &[
            ("SECURE_IVR_INVOCATION_BUDGET_MS", "1500"),
            ("SECURE_IVR_SSM_READ_TIMEOUT_MS", "6000"),
            ("SECURE_IVR_SSM_ATTEMPT_TIMEOUT_MS", "6000"),
            ("SECURE_IVR_SSM_OPERATION_TIMEOUT_MS", "6000"),
        ],
    );
    // What `cargo lambda watch` sends.
    api.invoke("req-watch-1", Deadline::Fixed(600_000), card_event());
    let posted = api.answer(Duration::from_secs(20)).await;
    let log = stop(child);
    let r = fields(&posted);
    assert_eq!(r["ErrorCode"], "KeyStoreUnavailable", "{r}\n{log}");
    let took = posted.answered.duration_since(posted.handed_out);
    assert!(
        (Duration::from_millis(1000)..Duration::from_millis(2500)).contains(&took),
        "expected about 1.2 s (1.5 s budget less the margin), took {took:?}"
    );
    assert!(log.contains("SECURE_IVR_INVOCATION_BUDGET_MS"), "the fallback should be logged: {log}");
}

#[tokio::test]
async fn access_denied_answers_key_access_denied_at_once_and_is_not_asked_again() {
    let mut api = RuntimeApi::start().await;
    let ssm = FaultProxy::start("127.0.0.1:0".parse().unwrap(), closed_port(), Mode::KmsAccessDenied).await;
    let child = bootstrap(&api, &ssm.endpoint(), &[]);
    let event = card_event();
    api.invoke("req-denied-1", Deadline::In(Duration::from_secs(6)), event.clone());
    let first = api.answer(Duration::from_secs(20)).await;
    api.invoke("req-denied-2", Deadline::In(Duration::from_secs(6)), event);
    let second = api.answer(Duration::from_secs(20)).await;
    let log = stop(child);
    for p in [&first, &second] {
        let r = fields(p);
        assert_eq!((&r["Status"], &r["ErrorCode"]), (&"Error".into(), &"KeyAccessDenied".into()), "{r}\n{log}");
        let took = p.answered.duration_since(p.handed_out);
        assert!(took < Duration::from_millis(1000), "{}: not at once: {took:?}", p.id);
    }
    assert_eq!(ssm.requests(), 1, "one request for two invocations: no retry, then the negative cache");
    let emf = log.lines().filter(|l| l.contains("CloudWatchMetrics") && l.contains(r#""ErrorCode":"KeyAccessDenied""#));
    assert_eq!(emf.count(), 2, "one EMF line per invocation with ErrorCode=KeyAccessDenied: {log}");
    assert!(!log.contains(CARD) && !log.contains("411111111"), "plaintext in the function's output");
}
