//! The handler with injected dependencies (in-memory bucket, scripted moderator): what Connect
//! gets back, what is read and asked, the log line and the EMF line of every file.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use attachment_scanner::config::vars;
use attachment_scanner::handler::{Moderation, ModerationError};
use attachment_scanner::name_sha256;
use common::*;
use serde_json::json;

#[tokio::test]
async fn approves_a_png_after_one_moderation_call() {
    let h = Harness::new(&[(vars::MIN_CONFIDENCE, "60")]);
    h.moderator.labels(&[]);
    let image = png(16, 12);
    let (id, ev) = h.file(&format!("{SECRET_NAME}.png"), image.clone());
    assert_eq!(h.call(&ev).await, "APPROVED");
    let calls = h.moderator.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, image, "the object's bytes, as read");
    assert!((calls[0].1 - 60.0).abs() < f32::EPSILON, "the configured MinConfidence");
    let line = file_line(&id);
    assert_eq!(line["status"], "APPROVED");
    assert_eq!(line["reasons"], "");
    assert_eq!(line["detected"], "png");
    assert_eq!(line["size"], image.len());
    assert_eq!(line["declared_size"], image.len());
    assert_eq!(line["image_width"], 16);
    assert_eq!(line["name_sha256"], name_sha256(&format!("{SECRET_NAME}.png")));
    assert_eq!(line["moderation_model_version"], "7.0");
    let emf = h.metrics.docs();
    assert_eq!(emf.len(), 1);
    assert_eq!(emf[0]["Outcome"], "APPROVED");
    assert!(emf[0].get("Reason").is_none());
    assert_no_leak(&[]);
}

#[tokio::test]
async fn approves_a_jpeg() {
    let h = Harness::new(&[]);
    let (_, ev) = h.file("photo.jpg", jpeg(20, 20));
    assert_eq!(h.call(&ev).await, "APPROVED");
    assert_eq!(h.moderator.count(), 1);
}

#[tokio::test]
async fn approves_a_text_file_without_moderation() {
    let h = Harness::new(&[]);
    let (id, ev) = h.file("notes.txt", text());
    assert_eq!(h.call(&ev).await, "APPROVED");
    assert_eq!(h.moderator.count(), 0);
    assert_eq!(file_line(&id)["detected"], "text");
    assert_no_leak(&[]);
}

#[tokio::test]
async fn rejects_an_image_by_its_label() {
    let h = Harness::new(&[]);
    h.moderator.labels(&[("Explicit", "", 99.1)]);
    let (id, ev) = h.file("photo.png", png(3, 3));
    assert_eq!(h.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "moderation");
    let labels: serde_json::Value = serde_json::from_str(line["labels"].as_str().unwrap()).unwrap();
    assert_eq!(labels, json!([{"Name": "Explicit", "ParentName": "", "Confidence": 99.1}]));
    assert!(line["rejecting_labels"].as_str().unwrap().contains("Explicit"));
    let emf = h.metrics.docs();
    assert_eq!((emf[0]["Outcome"].as_str(), emf[0]["Reason"].as_str()), (Some("REJECTED"), Some("moderation")));
}

#[tokio::test]
async fn rejects_an_image_by_a_parent_category() {
    let h = Harness::new(&[]);
    // Only the level-3 and level-2 labels; the category is their top-level ancestor.
    h.moderator.labels(&[("Exposed Male Genitalia", "Explicit Nudity", 97.0), ("Explicit Nudity", "Explicit", 97.0)]);
    let (id, ev) = h.file("photo.png", png(4, 4));
    assert_eq!(h.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "moderation");
    assert!(line["rejecting_labels"].as_str().unwrap().contains(r#""category":"Explicit""#), "{line}");
}

#[tokio::test]
async fn approves_labels_outside_the_categories_or_below_the_confidence() {
    let h = Harness::new(&[(vars::MIN_CONFIDENCE, "80")]);
    h.moderator.labels(&[("Alcohol", "", 99.0), ("Explicit", "", 79.9)]);
    let (_, ev) = h.file("photo.png", png(4, 4));
    assert_eq!(h.call(&ev).await, "APPROVED");
}

#[tokio::test]
async fn configured_categories_replace_the_default() {
    let h = Harness::new(&[(vars::REJECT_CATEGORIES, "Alcohol")]);
    h.moderator.labels(&[("Beer", "Alcoholic Beverages", 95.0), ("Alcoholic Beverages", "Alcohol", 95.0)]);
    let (_, ev) = h.file("photo.png", png(4, 4));
    assert_eq!(h.call(&ev).await, "REJECTED");
}

#[tokio::test]
async fn rejects_an_executable_named_png_without_moderation() {
    let h = Harness::new(&[]);
    let (id, ev) = h.file("holiday.png", elf());
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.moderator.count(), 0);
    let line = file_line(&id);
    assert!(reasons(&line).contains("executable"), "{line}");
    assert_eq!(line["detected"], "executable");
}

#[tokio::test]
async fn rejects_another_bucket_without_reading() {
    let h = Harness::new(&[]);
    let id = file_id();
    let key = key_for(&id, "png");
    h.store.put_bytes(&key, png(4, 4));
    let ev = event(&id, "a.png", 10, "someone-elses-bucket", &key);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.store.gets.load(Ordering::SeqCst), 0, "nothing read");
    assert_eq!(reasons(&file_line(&id)), "location-not-allowed");
    assert_eq!(h.metrics.docs()[0]["Reason"], "location-not-allowed");
}

#[tokio::test]
async fn rejects_a_key_outside_the_prefix_without_reading() {
    let h = Harness::new(&[]);
    for key in ["elsewhere/a.png", "connect/other-instance/Attachments/a.png", &format!("{PREFIX}../../x.png")] {
        let id = file_id();
        let ev = event(&id, "a.png", 10, BUCKET, key);
        assert_eq!(h.call(&ev).await, "REJECTED", "{key}");
        assert_eq!(reasons(&file_line(&id)), "location-not-allowed");
    }
    assert_eq!(h.store.gets.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn rejects_an_arn_that_names_another_object() {
    let h = Harness::new(&[]);
    let (id, mut ev) = h.file("a.png", png(4, 4));
    ev["File"]["FileLocation"]["S3Location"]["Arn"] = json!("arn:aws:s3:::attachments-test/connect/other.png");
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.store.gets.load(Ordering::SeqCst), 0);
    // The event is refused before its file ID is trusted.
    let _ = id;
    assert_eq!(h.metrics.docs()[0]["Reason"], "invalid-event");
}

#[tokio::test]
async fn rejects_a_declared_size_that_differs_from_the_object() {
    let h = Harness::new(&[]);
    for delta in [-1_i64, 1] {
        let (id, mut ev) = h.file("notes.txt", text());
        let declared = text().len() as i64 + delta;
        ev["File"]["FileSizeInBytes"] = json!(declared);
        assert_eq!(h.call(&ev).await, "REJECTED");
        assert_eq!(reasons(&file_line(&id)), "size-mismatch", "declared {declared}");
    }
}

#[tokio::test]
async fn a_body_longer_than_its_length_is_not_read_to_the_end() {
    let h = Harness::new(&[]);
    let id = file_id();
    let key = key_for(&id, "txt");
    let body = vec![b'a'; 10 * CHUNK];
    // The response claims the declared size; the body goes on.
    h.store.put(&key, MemObject { bytes: body, content_length: Some(None), ..MemObject::default() });
    let ev = event(&id, "notes.txt", CHUNK as u64, BUCKET, &key);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "size-mismatch");
    assert!(h.store.chunks.load(Ordering::SeqCst) <= 2, "stopped after the declared size");
}

#[tokio::test]
async fn rejects_a_file_declared_larger_than_the_limit_without_reading() {
    let h = Harness::new(&[(vars::MAX_BYTES, "1000")]);
    let (id, ev) = h.file("notes.txt", vec![b'a'; 1001]);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.store.gets.load(Ordering::SeqCst), 0);
    let line = file_line(&id);
    assert_eq!(reasons(&line), "too-large");
    assert_eq!(line["detail"], "FileSizeInBytes 1001, the maximum is 1000");
}

#[tokio::test]
async fn rejects_an_object_larger_than_the_limit_by_its_length() {
    let h = Harness::new(&[(vars::MAX_BYTES, "1000")]);
    let id = file_id();
    let key = key_for(&id, "txt");
    h.store.put(&key, MemObject { bytes: vec![b'a'; 5000], ..MemObject::default() });
    let ev = event(&id, "notes.txt", 900, BUCKET, &key);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "too-large");
    assert_eq!(h.store.chunks.load(Ordering::SeqCst), 0, "refused on Content-Length, before the body");
}

#[tokio::test]
async fn an_empty_file_is_rejected() {
    let h = Harness::new(&[]);
    let (id, ev) = h.file("notes.txt", Vec::new());
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "empty");
}

#[tokio::test]
async fn an_s3_error_rejects_with_its_code() {
    let h = Harness::new(&[]);
    let id = file_id();
    let ev = event(&id, "notes.txt", 10, BUCKET, &key_for(&id, "txt"));
    assert_eq!(h.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "read-failed");
    assert!(line["detail"].as_str().unwrap().contains("NoSuchKey"), "{line}");
}

#[tokio::test]
async fn a_slow_s3_rejects_by_timeout_within_the_budget() {
    let h = Harness::new(&[]);
    *h.store.get_delay.lock().unwrap() = Some(Duration::from_secs(30));
    let (id, ev) = h.file("notes.txt", text());
    let started = std::time::Instant::now();
    assert_eq!(h.call_within(&ev, Duration::from_millis(300)).await, "REJECTED");
    assert!(started.elapsed() < Duration::from_secs(5), "answered at the deadline, not after S3");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "timeout");
    assert_eq!(line["detail"], "S3 read");
    assert_eq!(h.metrics.docs()[0]["Reason"], "timeout");
}

#[tokio::test]
async fn a_rekognition_error_rejects_with_its_code() {
    let h = Harness::new(&[]);
    h.moderator.answer(Err(ModerationError("DetectModerationLabels InvalidImageFormatException".into())));
    let (id, ev) = h.file("photo.png", png(4, 4));
    assert_eq!(h.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "moderation-failed");
    assert!(line["detail"].as_str().unwrap().contains("InvalidImageFormatException"));
    assert_eq!(h.metrics.docs()[0]["Reason"], "moderation-failed");
}

#[tokio::test]
async fn a_slow_rekognition_rejects_by_timeout_within_the_budget() {
    let h = Harness::new(&[]);
    *h.moderator.delay.lock().unwrap() = Some(Duration::from_secs(30));
    let (id, ev) = h.file("photo.png", png(4, 4));
    let started = std::time::Instant::now();
    assert_eq!(h.call_within(&ev, Duration::from_millis(300)).await, "REJECTED");
    assert!(started.elapsed() < Duration::from_secs(5), "answered at the deadline, not after Rekognition");
    assert_eq!(reasons(&file_line(&id)), "timeout");
}

#[tokio::test]
async fn a_malformed_event_is_rejected_not_retried() {
    let h = Harness::new(&[]);
    for ev in [json!({}), json!({"File": {"FileId": "x"}}), json!("text"), json!(null)] {
        assert_eq!(h.call(&ev).await, "REJECTED", "{ev}");
    }
    let emf = h.metrics.docs();
    assert_eq!(emf.len(), 4);
    assert!(emf.iter().all(|d| d["Reason"] == "invalid-event"));
}

#[tokio::test]
async fn a_corrupt_png_is_rejected_without_moderation() {
    let h = Harness::new(&[]);
    let mut image = png(64, 64);
    image.truncate(image.len() / 2);
    let (id, ev) = h.file("photo.png", image);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.moderator.count(), 0);
    assert!(reasons(&file_line(&id)).contains("image-corrupt"));
}

// ---------------------------------------------------------------- GuardDuty

fn guardduty(extra: &[(&'static str, &'static str)]) -> Harness {
    let mut pairs = vec![(vars::GUARDDUTY, "true"), (vars::GUARDDUTY_WAIT, "400"), (vars::GUARDDUTY_POLL, "50")];
    pairs.extend_from_slice(extra);
    Harness::new(&pairs)
}

fn tagged(h: &Harness, name: &str, bytes: Vec<u8>, tags: Vec<Vec<(String, String)>>) -> (String, serde_json::Value) {
    let (id, ev) = h.file(name, bytes.clone());
    let key = ev["File"]["FileLocation"]["S3Location"]["Key"].as_str().unwrap().to_owned();
    h.store.put(&key, MemObject { bytes, tags, ..MemObject::default() });
    (id, ev)
}

#[tokio::test]
async fn guardduty_threats_found_rejects() {
    let h = guardduty(&[(vars::GUARDDUTY_UNSCANNED, "allow")]);
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![guardduty_tag("THREATS_FOUND")]);
    assert_eq!(h.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "malware");
    assert_eq!(line["guardduty"], "THREATS_FOUND");
    assert_eq!(h.metrics.docs()[0]["Reason"], "malware");
}

#[tokio::test]
async fn guardduty_no_threats_found_approves() {
    let h = guardduty(&[]);
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![guardduty_tag("NO_THREATS_FOUND")]);
    assert_eq!(h.call(&ev).await, "APPROVED");
    assert_eq!(file_line(&id)["guardduty"], "NO_THREATS_FOUND");
    assert_eq!(h.store.tag_reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn guardduty_missing_tag_waits_then_rejects_by_default() {
    let h = guardduty(&[]);
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![vec![("Other".into(), "x".into())]]);
    let started = std::time::Instant::now();
    assert_eq!(h.call(&ev).await, "REJECTED");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(350) && waited < Duration::from_secs(3), "{waited:?}");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "malware-scan-incomplete");
    assert_eq!(line["guardduty"], "not-scanned");
    assert!(h.store.tag_reads.load(Ordering::SeqCst) >= 3, "polled");
}

#[tokio::test]
async fn guardduty_missing_tag_follows_an_allow_policy() {
    let h = guardduty(&[(vars::GUARDDUTY_UNSCANNED, "allow")]);
    let (_, ev) = tagged(&h, "notes.txt", text(), vec![]);
    assert_eq!(h.call(&ev).await, "APPROVED");
}

#[tokio::test]
async fn guardduty_tag_that_appears_while_waiting_is_honoured() {
    let h = guardduty(&[]);
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![vec![], vec![], guardduty_tag("NO_THREATS_FOUND")]);
    assert_eq!(h.call(&ev).await, "APPROVED");
    assert_eq!(h.store.tag_reads.load(Ordering::SeqCst), 3);
    assert_eq!(file_line(&id)["guardduty"], "NO_THREATS_FOUND");
}

#[tokio::test]
async fn guardduty_wait_never_passes_the_invocation_budget() {
    let h = Harness::new(&[(vars::GUARDDUTY, "true"), (vars::GUARDDUTY_WAIT, "10000"), (vars::GUARDDUTY_POLL, "50")]);
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![]);
    let started = std::time::Instant::now();
    assert_eq!(h.call_within(&ev, Duration::from_millis(400)).await, "REJECTED");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(reasons(&file_line(&id)), "malware-scan-incomplete");
}

#[tokio::test]
async fn guardduty_unsupported_follows_the_unscanned_policy() {
    let h = guardduty(&[]);
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![guardduty_tag("UNSUPPORTED")]);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "malware-scan-incomplete");
}

#[tokio::test]
async fn guardduty_tag_read_error_rejects() {
    let h = guardduty(&[(vars::GUARDDUTY_UNSCANNED, "allow")]);
    *h.store.fail_tags.lock().unwrap() = Some("AccessDenied".into());
    let (id, ev) = tagged(&h, "notes.txt", text(), vec![guardduty_tag("NO_THREATS_FOUND")]);
    assert_eq!(h.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "read-failed");
    assert!(line["detail"].as_str().unwrap().contains("AccessDenied"));
}

#[tokio::test]
async fn guardduty_off_reads_no_tags() {
    let h = Harness::new(&[]);
    let (_, ev) = tagged(&h, "notes.txt", text(), vec![guardduty_tag("THREATS_FOUND")]);
    assert_eq!(h.call(&ev).await, "APPROVED", "the tag is not consulted when GuardDuty is off");
    assert_eq!(h.store.tag_reads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_file_rejected_by_content_does_not_wait_for_guardduty() {
    let h = guardduty(&[]);
    let (_, ev) = tagged(&h, "holiday.png", elf(), vec![]);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.store.tag_reads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn moderation_then_guardduty_both_apply() {
    let h = guardduty(&[]);
    h.moderator.answer(Ok(Moderation::default()));
    let (id, ev) = tagged(&h, "photo.png", png(8, 8), vec![guardduty_tag("THREATS_FOUND")]);
    assert_eq!(h.call(&ev).await, "REJECTED");
    assert_eq!(h.moderator.count(), 1);
    assert_eq!(reasons(&file_line(&id)), "malware");
}

/// An image over Rekognition's 5 MB for image bytes (a phone photo) is moderated as a smaller
/// JPEG, by the same rule `secure-ivr scan --rekognition` uses (`ModerationRequest::image_bytes`).
#[tokio::test]
async fn an_image_over_5_mb_is_moderated_as_a_smaller_jpeg() {
    let h = Harness::new(&[]);
    h.moderator.labels(&[]);
    // Noise does not compress: 1400 x 1400 RGB is about 5.9 MB as PNG.
    let mut seed = 0x2545_f491_u32;
    let img = image::RgbImage::from_fn(1400, 1400, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    let big = out.into_inner();
    assert!(big.len() > 5_000_000, "{} bytes", big.len());
    let (_, ev) = h.file("photo.png", big);
    assert_eq!(h.call(&ev).await, "APPROVED");
    let calls = h.moderator.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let sent = &calls[0].0;
    assert!(sent.len() <= 5_000_000, "sent {} bytes", sent.len());
    assert_eq!(&sent[..3], b"\xff\xd8\xff", "a JPEG");
}
