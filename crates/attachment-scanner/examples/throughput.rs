//! Throughput of the core's checks: `detect` alone and the whole `scan` (type detection, the
//! polyglot rules, the text check, the full image decode), for 10 KB, 1 MB and 20 MB files.
//! Per-file latency excluding Rekognition (and S3) is the `scan` column's time per file.
//!
//! `cargo run --release -p secure-ivr-attachment-scanner --no-default-features --example throughput`
//!
//! Moderation is off in the policy used here, so a large PNG is decoded rather than refused for
//! Rekognition's 15 MB limit (which happens after the decode anyway). Figures are printed, never
//! asserted.
#![allow(clippy::cast_possible_truncation, reason = "image sides from a size estimate; figures for people")]

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use attachment_scanner::{FileFacts, ModerationPolicy, Policy, detect, scan};
use image::{ImageFormat, Rgb, RgbImage};

/// A small xorshift: noise that compresses badly, so an encoded image is about the size asked.
struct Noise(u64);

impl Noise {
    fn byte(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0.to_le_bytes().first().copied().unwrap_or(0)
    }
}

/// An image of noise with a smooth part, encoded as `format`, grown until it is about `target`
/// bytes.
fn image_of(target: usize, format: ImageFormat) -> Vec<u8> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    // Bytes per pixel, first guess; corrected from each attempt.
    let mut per_pixel = if format == ImageFormat::Png { 3.0 } else { 1.2 };
    let mut best = Vec::new();
    for _ in 0..4 {
        let side = ((target as f64 / per_pixel).sqrt().max(8.0)) as u32;
        let img = RgbImage::from_fn(side, side, |_, _| Rgb([noise.byte(), noise.byte(), noise.byte()]));
        let mut out = Cursor::new(Vec::new());
        if img.write_to(&mut out, format).is_err() {
            break;
        }
        best = out.into_inner();
        per_pixel = best.len() as f64 / f64::from(side * side);
        if (best.len() as f64 - target as f64).abs() / (target as f64) < 0.05 {
            break;
        }
    }
    // Stay under Connect's 20 MiB limit.
    if best.len() > 20 * 1024 * 1024 {
        return image_of(target * 95 / 100, format);
    }
    best
}

fn text_of(target: usize) -> Vec<u8> {
    let line = "2026-12-02,Order 1234,arrived damaged,Jane Example,+1 555 0100,refund requested\n";
    line.repeat(target / line.len() + 1).into_bytes().into_iter().take(target).collect()
}

fn pdf_of(target: usize) -> Vec<u8> {
    let mut noise = Noise(42);
    let mut b = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    while b.len() < target.saturating_sub(6) {
        b.push(noise.byte());
    }
    b.extend_from_slice(b"%%EOF\n");
    b
}

/// Median of repeated runs, at least 3 and for at least 0.5 s.
fn time<F: FnMut()>(mut f: F) -> Duration {
    let mut runs = Vec::new();
    let start = Instant::now();
    while runs.len() < 3 || (start.elapsed() < Duration::from_millis(500) && runs.len() < 1000) {
        let t = Instant::now();
        f();
        runs.push(t.elapsed());
    }
    runs.sort_unstable();
    runs.get(runs.len() / 2).copied().unwrap_or_default()
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9)
}

fn main() {
    let policy =
        Policy { moderation: ModerationPolicy { enabled: false, ..ModerationPolicy::default() }, ..Policy::default() };
    println!(
        "{:<6} {:>7} {:>12} {:>14} {:>12} {:>14}  verdict",
        "kind", "target", "bytes", "detect MB/s", "scan ms", "scan MB/s"
    );
    for (label, target) in [("10 KB", 10_000), ("1 MB", 1_000_000), ("20 MB", 20_000_000)] {
        let files = [
            ("txt", text_of(target), "notes.txt"),
            ("pdf", pdf_of(target), "invoice.pdf"),
            ("png", image_of(target, ImageFormat::Png), "photo.png"),
            ("jpeg", image_of(target, ImageFormat::Jpeg), "photo.jpg"),
        ];
        for (kind, bytes, name) in files {
            let facts = FileFacts { name, declared_size: None };
            let d = time(|| {
                black_box(detect(black_box(&bytes)));
            });
            let s = time(|| {
                black_box(scan(black_box(&bytes), &facts, &policy));
            });
            let v = scan(&bytes, &facts, &policy);
            let verdict = if v.is_approved() {
                "APPROVED".to_owned()
            } else {
                v.reasons.iter().map(|r| r.code()).collect::<Vec<_>>().join(",")
            };
            println!(
                "{kind:<6} {label:>7} {:>12} {:>14.1} {:>12.3} {:>14.1}  {verdict}",
                bytes.len(),
                mb_per_s(bytes.len(), d),
                s.as_secs_f64() * 1e3,
                mb_per_s(bytes.len(), s)
            );
        }
    }
}
