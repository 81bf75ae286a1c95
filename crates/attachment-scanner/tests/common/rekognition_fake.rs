//! A wire-level Rekognition on 127.0.0.1: HTTP/1.1, the JSON 1.1 protocol, one operation
//! (`X-Amz-Target: RekognitionService.DetectModerationLabels`), shaped like botocore's
//! `rekognition/2016-06-27/service-2.json`:
//!
//! - request `DetectModerationLabelsRequest` {`Image` {`Bytes` (base64 blob, 1 to 5242880 bytes) |
//!   `S3Object`}, `MinConfidence` (percent, default 50), `HumanLoopConfig`, `ProjectVersion`};
//! - response `DetectModerationLabelsResponse` {`ModerationLabels` [{`Confidence`, `Name`,
//!   `ParentName`, `TaxonomyLevel`}], `ModerationModelVersion`, `ContentTypes`};
//! - errors as `{"__type": NAME, "Message": …}`: HTTP 400 for the client exceptions
//!   (`InvalidImageFormatException`, `ImageTooLargeException`, `InvalidParameterException`,
//!   `ProvisionedThroughputExceededException`, `AccessDeniedException`, …), HTTP 500 for the
//!   shapes the model marks `"fault": true` (`InternalServerError`, `ThrottlingException`).
//!
//! What it cannot show: Rekognition's judgement, signatures (it checks only that one is there),
//! TLS. Labels come from [`Behaviour`]: scripted answers first, then a rule on the image.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The model's limit on `Image.Bytes` (shape `ImageBlob`, `max`).
pub(crate) const IMAGE_BLOB_MAX: usize = 5_242_880;

/// One answer of the fake.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// `200` with these labels (filtered by `MinConfidence`, as Rekognition does).
    Labels(Vec<Value>),
    /// An error shape: `(HTTP status, __type)`.
    Error(u16, &'static str),
    /// Waits this long, then answers with no labels.
    Slow(Duration),
}

impl Answer {
    /// A client exception (HTTP 400).
    pub(crate) fn client(name: &'static str) -> Self {
        Self::Error(400, name)
    }

    /// A server fault (HTTP 500), as the model marks `InternalServerError` and `ThrottlingException`.
    pub(crate) fn fault(name: &'static str) -> Self {
        Self::Error(500, name)
    }
}

/// A label as the API returns it.
pub(crate) fn label(name: &str, parent: &str, confidence: f64, level: u8) -> Value {
    json!({"Name": name, "ParentName": parent, "Confidence": confidence, "TaxonomyLevel": level})
}

/// What one request looked like.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// `X-Amz-Target`.
    pub(crate) target: String,
    /// `Content-Type`.
    pub(crate) content_type: String,
    /// An `Authorization: AWS4-HMAC-SHA256 …` header was sent.
    pub(crate) signed: bool,
    /// The decoded `Image.Bytes` (empty if absent).
    pub(crate) image: Vec<u8>,
    /// `MinConfidence`, when sent.
    pub(crate) min_confidence: Option<f64>,
}

#[derive(Default)]
struct State {
    script: VecDeque<Answer>,
    seen: Vec<Seen>,
}

/// The running fake.
#[derive(Clone)]
pub(crate) struct RekognitionFake {
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    state: Arc<Mutex<State>>,
}

impl RekognitionFake {
    /// Starts on a free port of 127.0.0.1 (on the current tokio runtime).
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        Self { endpoint, state }
    }

    /// Queues answers for the next requests (after them: the default rule).
    pub(crate) fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state.lock().unwrap().script.extend(answers);
    }

    /// Every request so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests so far.
    pub(crate) fn count(&self) -> usize {
        self.state.lock().unwrap().seen.len()
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut stream, &mut buf).await else { return };
        let (status, payload) = answer(&head, &body, &state).await;
        let data = payload.to_string();
        let response = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: \
             00000000-0000-4000-8000-000000000001\r\nContent-Length: {}\r\n\r\n{data}",
            if status == 200 { "OK" } else { "Error" },
            data.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// One request: the header block (lower-cased names) and a `Content-Length` body.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
    };
    let head = String::from_utf8_lossy(buf.get(..end)?).into_owned();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok())?;
    let start = end + 4;
    while buf.len() < start + len {
        let mut chunk = vec![0u8; 65536];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
    }
    let body = buf.get(start..start + len)?.to_vec();
    buf.drain(..start + len);
    Some((headers, body))
}

fn error(name: &str, message: &str) -> Value {
    json!({"__type": name, "Message": message})
}

async fn answer(headers: &[(String, String)], body: &[u8], state: &Mutex<State>) -> (u16, Value) {
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let target = header("x-amz-target");
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let image = request["Image"]["Bytes"]
        .as_str()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .unwrap_or_default();
    let min_confidence = request.get("MinConfidence").and_then(Value::as_f64);
    let scripted = {
        let mut s = state.lock().unwrap();
        s.seen.push(Seen {
            target: target.clone(),
            content_type: header("content-type"),
            signed: header("authorization").starts_with("AWS4-HMAC-SHA256 "),
            image: image.clone(),
            min_confidence,
        });
        s.script.pop_front()
    };
    if target != "RekognitionService.DetectModerationLabels" {
        return (400, error("UnknownOperationException", "unknown operation"));
    }
    if !request.is_object() || !request["Image"].is_object() {
        return (400, error("InvalidParameterException", "Request has invalid parameters"));
    }
    let has_bytes = request["Image"].get("Bytes").is_some();
    let has_s3 = request["Image"].get("S3Object").is_some();
    if has_bytes == has_s3 {
        return (400, error("InvalidParameterException", "Request has invalid parameters"));
    }
    if has_bytes && image.is_empty() {
        return (400, error("InvalidParameterException", "Request has invalid parameters"));
    }
    if image.len() > IMAGE_BLOB_MAX {
        return (400, error("ImageTooLargeException", "Image size is too large"));
    }
    let minimum = min_confidence.unwrap_or(50.0);
    if !(0.0..=100.0).contains(&minimum) {
        return (400, error("InvalidParameterException", "Request has invalid parameters"));
    }
    let labels = match scripted {
        Some(Answer::Error(status, name)) => return (status, error(name, "scripted error")),
        Some(Answer::Slow(pause)) => {
            tokio::time::sleep(pause).await;
            Vec::new()
        }
        Some(Answer::Labels(labels)) => labels,
        None => {
            let png = image.starts_with(b"\x89PNG\r\n\x1a\n");
            let jpeg = image.starts_with(b"\xff\xd8\xff");
            if !png && !jpeg {
                return (400, error("InvalidImageFormatException", "Request has unsupported image format"));
            }
            Vec::new()
        }
    };
    let labels: Vec<Value> =
        labels.into_iter().filter(|l| l["Confidence"].as_f64().is_some_and(|c| c >= minimum)).collect();
    (200, json!({"ModerationLabels": labels, "ModerationModelVersion": "7.0", "ContentTypes": []}))
}
