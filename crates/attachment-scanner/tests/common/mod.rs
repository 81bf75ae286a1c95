//! What the scanner's tests share: an in-memory bucket and a scripted moderator (the handler's
//! traits), files made here (PNG, JPEG, ELF, text), events, configuration, captured logs and
//! EMF lines.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::unwrap_in_result,
    clippy::cast_possible_truncation
)]

pub(crate) mod rekognition_fake;

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use attachment_scanner::config::{Config, vars};
use attachment_scanner::handler::{
    Deps, Moderation, ModerationError, Moderator, ObjectBody, ObjectStore, StoreError, handle,
};
use attachment_scanner::metrics::MetricSink;
use bytes::Bytes;
use serde_json::{Value, json};
use tracing_subscriber::prelude::*;

pub(crate) const BUCKET: &str = "attachments-test";
pub(crate) const PREFIX: &str = "connect/test-instance/Attachments/";

// ---------------------------------------------------------------- files

/// A PNG of `width` x `height` (RGB gradient).
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40 % 256) as u8, (y * 40 % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG of `width` x `height`.
pub(crate) fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 64]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A minimal aarch64 ELF header and padding.
pub(crate) fn elf() -> Vec<u8> {
    let mut v = b"\x7fELF\x02\x01\x01\x00".to_vec();
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&183u16.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    v.resize(256, 0);
    v
}

/// A text file with a marker that must never reach a log.
pub(crate) const CONTENT_MARKER: &str = "CONTENT-MARKER-5521";
pub(crate) fn text() -> Vec<u8> {
    format!("Order 1234 arrived damaged.\n{CONTENT_MARKER}\nPlease call back.\n").into_bytes()
}

/// A file name that must reach the logs only as a hash.
pub(crate) const SECRET_NAME: &str = "jane-doe-passport-7731";

// ---------------------------------------------------------------- events and configuration

static N: AtomicUsize = AtomicUsize::new(0);

/// A file ID no other test uses.
pub(crate) fn file_id() -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// The key Connect would use for `file_id` with `ext`.
pub(crate) fn key_for(file_id: &str, ext: &str) -> String {
    format!("{PREFIX}chat/2026/12/02/{file_id}_20261202T11:41_UTC.{ext}")
}

/// A FILE_SCANNER event.
pub(crate) fn event(file_id: &str, name: &str, size: u64, bucket: &str, key: &str) -> Value {
    json!({"Version": "1.0", "InstanceId": "0c4a1f6e-2b7d-4e59-9a31-5d8e7f60b2c4",
        "File": {"FileId": file_id, "FileCreationTime": 1_764_675_660_000_u64, "FileName": name,
            "FileSizeInBytes": size,
            "FileLocation": {"S3Location": {"Key": key, "Bucket": bucket, "Arn": format!("arn:aws:s3:::{bucket}/{key}")}}}})
}

/// The configuration with [`BUCKET`], [`PREFIX`] and `pairs`.
pub(crate) fn config(pairs: &[(&str, &str)]) -> Config {
    let mut map: HashMap<String, String> =
        [(vars::BUCKET.to_owned(), BUCKET.to_owned()), (vars::KEY_PREFIX.to_owned(), PREFIX.to_owned())].into();
    map.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Config::from_lookup(&|k| map.get(k).cloned()).unwrap()
}

// ---------------------------------------------------------------- the in-memory bucket

/// One stored object.
#[derive(Clone, Default)]
pub(crate) struct MemObject {
    pub(crate) bytes: Vec<u8>,
    /// The tag sets successive `GetObjectTagging` calls see; the last one repeats.
    pub(crate) tags: Vec<Vec<(String, String)>>,
    /// `Some(n)`: the response claims `Content-Length: n` (`Some(None)`: no header).
    pub(crate) content_length: Option<Option<u64>>,
}

/// An in-memory bucket that counts calls and serves bodies in 64 KiB chunks.
#[derive(Default)]
pub(crate) struct MemStore {
    objects: Mutex<HashMap<(String, String), MemObject>>,
    pub(crate) gets: AtomicUsize,
    pub(crate) tag_reads: AtomicUsize,
    /// Chunks handed out (to show a long body is not read to the end).
    pub(crate) chunks: Arc<AtomicUsize>,
    /// `GetObject` fails with this code.
    pub(crate) fail_get: Mutex<Option<String>>,
    /// `GetObjectTagging` fails with this code.
    pub(crate) fail_tags: Mutex<Option<String>>,
    /// `GetObject` waits this long before answering.
    pub(crate) get_delay: Mutex<Option<Duration>>,
}

pub(crate) const CHUNK: usize = 64 * 1024;

impl MemStore {
    pub(crate) fn put(&self, key: &str, object: MemObject) {
        self.objects.lock().unwrap().insert((BUCKET.to_owned(), key.to_owned()), object);
    }

    pub(crate) fn put_bytes(&self, key: &str, bytes: Vec<u8>) {
        self.put(key, MemObject { bytes, ..MemObject::default() });
    }
}

pub(crate) struct MemBody {
    content_length: Option<u64>,
    rest: VecDeque<Bytes>,
    chunks: Arc<AtomicUsize>,
}

impl ObjectBody for MemBody {
    fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        let next = self.rest.pop_front();
        if next.is_some() {
            self.chunks.fetch_add(1, Ordering::SeqCst);
        }
        Ok(next)
    }
}

impl ObjectStore for MemStore {
    type Body = MemBody;

    async fn get_object(&self, bucket: &str, key: &str) -> Result<MemBody, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        let delay = *self.get_delay.lock().unwrap();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if let Some(code) = self.fail_get.lock().unwrap().clone() {
            return Err(StoreError(format!("GetObject {code}")));
        }
        let o = self
            .objects
            .lock()
            .unwrap()
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| StoreError("GetObject NoSuchKey".into()))?;
        let content_length = o.content_length.unwrap_or(Some(o.bytes.len() as u64));
        let rest = o.bytes.chunks(CHUNK).map(Bytes::copy_from_slice).collect();
        Ok(MemBody { content_length, rest, chunks: Arc::clone(&self.chunks) })
    }

    async fn get_object_tagging(&self, bucket: &str, key: &str) -> Result<Vec<(String, String)>, StoreError> {
        let n = self.tag_reads.fetch_add(1, Ordering::SeqCst);
        if let Some(code) = self.fail_tags.lock().unwrap().clone() {
            return Err(StoreError(format!("GetObjectTagging {code}")));
        }
        let objects = self.objects.lock().unwrap();
        let o = objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .ok_or_else(|| StoreError("GetObjectTagging NoSuchKey".into()))?;
        Ok(o.tags.get(n.min(o.tags.len().saturating_sub(1))).cloned().unwrap_or_default())
    }
}

/// GuardDuty's tag.
pub(crate) fn guardduty_tag(value: &str) -> Vec<(String, String)> {
    vec![("GuardDutyMalwareScanStatus".to_owned(), value.to_owned())]
}

// ---------------------------------------------------------------- the scripted moderator

/// Answers from a script (then: no labels), recording what it was asked.
#[derive(Default)]
pub(crate) struct ScriptedModerator {
    script: Mutex<VecDeque<Result<Moderation, ModerationError>>>,
    /// `(image bytes, min_confidence)` of each call.
    pub(crate) calls: Mutex<Vec<(Vec<u8>, f32)>>,
    /// Every call waits this long first.
    pub(crate) delay: Mutex<Option<Duration>>,
}

impl ScriptedModerator {
    pub(crate) fn answer(&self, answer: Result<Moderation, ModerationError>) {
        self.script.lock().unwrap().push_back(answer);
    }

    pub(crate) fn labels(&self, labels: &[(&str, &str, f32)]) {
        self.answer(Ok(Moderation {
            labels: labels
                .iter()
                .map(|(name, parent, confidence)| attachment_scanner::ModerationLabel {
                    name: (*name).to_owned(),
                    parent_name: (*parent).to_owned(),
                    confidence: *confidence,
                    taxonomy_level: None,
                })
                .collect(),
            model_version: Some("7.0".into()),
        }));
    }

    pub(crate) fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
}

impl Moderator for ScriptedModerator {
    async fn detect_moderation_labels(
        &self,
        image: Vec<u8>,
        min_confidence: f32,
    ) -> Result<Moderation, ModerationError> {
        self.calls.lock().unwrap().push((image, min_confidence));
        let delay = *self.delay.lock().unwrap();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        self.script.lock().unwrap().pop_front().unwrap_or_else(|| Ok(Moderation::default()))
    }
}

// ---------------------------------------------------------------- metrics and logs

/// Keeps EMF lines.
#[derive(Default)]
pub(crate) struct CaptureMetrics(pub Mutex<Vec<String>>);

impl MetricSink for CaptureMetrics {
    fn emit(&self, line: &str) {
        self.0.lock().unwrap().push(line.to_owned());
    }
}

impl CaptureMetrics {
    pub(crate) fn docs(&self) -> Vec<Value> {
        self.0.lock().unwrap().iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per process) a JSON subscriber at TRACE through the production filter.
pub(crate) fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    Arc::clone(LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buf);
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(move || BufWriter(Arc::clone(&writer)))
            .with_filter(attachment_scanner::log::filter(tracing::level_filters::LevelFilter::TRACE));
        let _ = tracing_subscriber::registry().with(layer).try_init();
        buf
    }))
}

/// Every captured log line, as JSON.
pub(crate) fn log_lines() -> Vec<Value> {
    let raw = String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned();
    raw.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// The raw captured logs.
pub(crate) fn logs() -> String {
    String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned()
}

/// The "file scanned" line of `file_id` (exactly one).
pub(crate) fn file_line(file_id: &str) -> Value {
    let lines: Vec<Value> =
        log_lines().into_iter().filter(|l| l["message"] == "file scanned" && l["file_id"] == file_id).collect();
    assert_eq!(lines.len(), 1, "one line per file: {lines:?}");
    lines.into_iter().next().unwrap()
}

// ---------------------------------------------------------------- the handler

/// A handler over the in-memory bucket and the scripted moderator.
pub(crate) struct Harness {
    pub(crate) store: MemStore,
    pub(crate) moderator: ScriptedModerator,
    pub(crate) config: Config,
    pub(crate) metrics: CaptureMetrics,
}

impl Harness {
    pub(crate) fn new(vars: &[(&str, &str)]) -> Self {
        capture_logs();
        Self {
            store: MemStore::default(),
            moderator: ScriptedModerator::default(),
            config: config(vars),
            metrics: CaptureMetrics::default(),
        }
    }

    /// Stores `bytes` under a fresh key and returns the event for it, named `name`.
    pub(crate) fn file(&self, name: &str, bytes: Vec<u8>) -> (String, Value) {
        let id = file_id();
        let ext = name.rsplit_once('.').map_or("bin", |(_, e)| e);
        let key = key_for(&id, ext);
        let size = bytes.len() as u64;
        self.store.put_bytes(&key, bytes);
        let ev = event(&id, name, size, BUCKET, &key);
        (id, ev)
    }

    pub(crate) async fn call(&self, event: &Value) -> &'static str {
        self.call_within(event, Duration::from_secs(10)).await
    }

    pub(crate) async fn call_within(&self, event: &Value, budget: Duration) -> &'static str {
        let deps =
            Deps { store: &self.store, moderator: &self.moderator, config: &self.config, metrics: &self.metrics };
        let answer = handle(event, &deps, Instant::now() + budget).await;
        let v = serde_json::to_value(answer).unwrap();
        match v["Status"].as_str() {
            Some("APPROVED") => "APPROVED",
            Some("REJECTED") => "REJECTED",
            other => panic!("not Connect's answer: {other:?}"),
        }
    }
}

/// The reasons of a file line.
pub(crate) fn reasons(line: &Value) -> String {
    line["reasons"].as_str().unwrap_or("<absent>").to_owned()
}

/// No file name and no content marker anywhere in the captured logs.
pub(crate) fn assert_no_leak(extra: &[&str]) {
    let logs = logs();
    for secret in [SECRET_NAME, CONTENT_MARKER].iter().chain(extra) {
        assert!(!logs.contains(secret), "{secret:?} reached the logs");
    }
}
