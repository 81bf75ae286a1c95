//! Per-file latency of the whole handler excluding Rekognition: event parsing, the location and
//! size checks, the bounded read of a body served in 64 KiB chunks (as S3's is), the core's
//! checks, the JSON log line and the EMF line. Rekognition answers at once with no labels; the
//! bucket is in memory. For 10 KB, 1 MB and 20 MB text, PNG and JPEG files.
//!
//! `cargo run --release -p secure-ivr-attachment-scanner --example handler-latency [-- --quick]`
//!
//! Figures are printed, never asserted. The status column says what the shipped policy answered
//! (a 20 MB image is refused for Rekognition's size limits, so it is not decoded in full).
#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss, reason = "figures for people")]

use std::collections::HashMap;
use std::io::Cursor;
use std::time::{Duration, Instant};

use attachment_scanner::config::{Config, vars};
use attachment_scanner::handler::{
    Deps, Moderation, ModerationError, Moderator, ObjectBody, ObjectStore, StoreError, handle,
};
use attachment_scanner::metrics::MetricSink;
use bytes::Bytes;
use image::{ImageFormat, Rgb, RgbImage};
use tracing_subscriber::prelude::*;

const BUCKET: &str = "attachments-bench";
const PREFIX: &str = "connect/bench/Attachments/";
const CHUNK: usize = 64 * 1024;

struct Memory(HashMap<String, Bytes>);

struct Body(Bytes, usize);

impl ObjectBody for Body {
    fn content_length(&self) -> Option<u64> {
        Some(self.0.len() as u64)
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, StoreError> {
        if self.1 >= self.0.len() {
            return Ok(None);
        }
        let end = (self.1 + CHUNK).min(self.0.len());
        let chunk = self.0.slice(self.1..end);
        self.1 = end;
        Ok(Some(chunk))
    }
}

impl ObjectStore for Memory {
    type Body = Body;

    async fn get_object(&self, _bucket: &str, key: &str) -> Result<Body, StoreError> {
        self.0.get(key).map(|b| Body(b.clone(), 0)).ok_or_else(|| StoreError("NoSuchKey".into()))
    }

    async fn get_object_tagging(&self, _bucket: &str, _key: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(Vec::new())
    }
}

/// Rekognition that answers at once: what it would cost is left out.
struct NoRekognition;

impl Moderator for NoRekognition {
    async fn detect_moderation_labels(&self, _image: Vec<u8>, _min: f32) -> Result<Moderation, ModerationError> {
        Ok(Moderation { labels: Vec::new(), model_version: Some("7.0".into()) })
    }
}

struct Discard;

impl MetricSink for Discard {
    fn emit(&self, line: &str) {
        std::hint::black_box(line);
    }
}

/// Bytes that compress badly (xorshift).
fn noise(state: &mut u64) -> u8 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 24) as u8
}

/// An image of about `target` bytes (never more than 5 % over) in `format`: the side is
/// corrected from each attempt's bytes per pixel.
fn image(target: usize, format: ImageFormat) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut per_pixel = if format == ImageFormat::Png { 3.05 } else { 1.6 };
    let mut best = Vec::new();
    for _ in 0..4 {
        let side = ((target as f64 / per_pixel).sqrt() as u32).max(8);
        let img = RgbImage::from_fn(side, side, |_, _| Rgb([noise(&mut state), noise(&mut state), 90]));
        let mut out = Cursor::new(Vec::new());
        if img.write_to(&mut out, format).is_err() {
            break;
        }
        let bytes = out.into_inner();
        per_pixel = bytes.len() as f64 / f64::from(side * side);
        if bytes.len() <= target + target / 20 && bytes.len() > best.len() {
            best = bytes;
        }
        if best.len() >= target - target / 20 {
            break;
        }
        per_pixel *= 1.02;
    }
    best
}

/// CSV-like text of `target` bytes.
fn text(target: usize) -> Vec<u8> {
    let line = b"2026-12-02,order 1234,arrived damaged,please call back\n";
    line.iter().copied().cycle().take(target).collect()
}

fn event(id: usize, name: &str, size: usize, key: &str) -> serde_json::Value {
    serde_json::json!({"Version": "1.0", "InstanceId": "bench",
        "File": {"FileId": format!("bench-{id}"), "FileName": name, "FileSizeInBytes": size,
            "FileLocation": {"S3Location": {"Bucket": BUCKET, "Key": key}}}})
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The log line is part of the cost: format it, write it nowhere.
    let layer = tracing_subscriber::fmt::layer().json().flatten_event(true).with_writer(std::io::sink);
    tracing_subscriber::registry().with(layer).init();
    let quick = std::env::args().any(|a| a == "--quick");

    let env: HashMap<&str, &str> = [(vars::BUCKET, BUCKET), (vars::KEY_PREFIX, PREFIX)].into();
    let Ok(config) = Config::from_lookup(&|k| env.get(k).map(|v| (*v).to_owned())) else {
        eprintln!("bench configuration refused");
        return;
    };
    let sizes: [(&str, usize, usize); 3] = [
        ("10 KB", 10_000, if quick { 20 } else { 200 }),
        ("1 MB", 1_000_000, if quick { 3 } else { 20 }),
        ("20 MB", 20_000_000, if quick { 1 } else { 3 }),
    ];
    let mut files = HashMap::new();
    let mut cases = Vec::new();
    for (label, size, runs) in sizes {
        for (kind, ext, bytes) in [
            ("text", "csv", text(size)),
            ("png", "png", image(size, ImageFormat::Png)),
            ("jpeg", "jpg", image(size, ImageFormat::Jpeg)),
        ] {
            let key = format!("{PREFIX}{kind}-{size}.{ext}");
            cases.push((label, kind, ext, key.clone(), bytes.len(), runs));
            files.insert(key, Bytes::from(bytes));
        }
    }
    let store = Memory(files);
    let deps = Deps { store: &store, moderator: &NoRekognition, config: &config, metrics: &Discard };

    println!(
        "handler latency per file, excluding Rekognition (in-memory bucket, 64 KiB chunks), {} build",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!(
        "{:<6} {:<5} {:>11} {:>5} {:>9} {:>9} {:>9} {:>9}  status",
        "size", "type", "bytes", "runs", "p50 ms", "p95 ms", "max ms", "MB/s"
    );
    for (n, (label, kind, ext, key, len, runs)) in cases.into_iter().enumerate() {
        let ev = event(n, &format!("file.{ext}"), len, &key);
        let mut times = Vec::with_capacity(runs);
        let mut status = "";
        for _ in 0..runs {
            let started = Instant::now();
            let answer = handle(&ev, &deps, Instant::now() + Duration::from_secs(60)).await;
            times.push(started.elapsed());
            status = answer.status.as_str();
        }
        times.sort();
        let p50 = percentile(&times, 0.5);
        let mbps = if p50.is_zero() { 0.0 } else { len as f64 / 1e6 / p50.as_secs_f64() };
        println!(
            "{label:<6} {kind:<5} {len:>11} {runs:>5} {:>9.3} {:>9.3} {:>9.3} {mbps:>9.1}  {status}",
            p50.as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
}
