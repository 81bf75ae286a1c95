//! The handler over the real `aws-sdk-s3` against moto's S3 (path style, 127.0.0.1) and the
//! Rekognition wire fake: objects and GuardDuty tags as S3 stores them, `Content-Length` as S3
//! sends it. Skips (counted) without `SECURE_IVR_MOTO_ENDPOINT`.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use attachment_scanner::aws::{ClientLimits, RekognitionModerator, S3Store, rekognition_client, s3_client};
use attachment_scanner::config::{Config, vars};
use attachment_scanner::handler::{Deps, handle};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};
use common::rekognition_fake::{Answer, RekognitionFake, label};
use common::*;
use serde_json::Value;

macro_rules! moto {
    ($name:literal) => {
        match test_support::moto::endpoint($name) {
            Some(ep) => ep,
            None => return,
        }
    };
}

fn limits() -> ClientLimits {
    ClientLimits { initial_backoff: Duration::from_millis(10), ..ClientLimits::default() }
}

fn s3(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let builder = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "scanner-tests"))
        .endpoint_url(endpoint);
    s3_client(builder, true, &limits())
}

fn rekognition(endpoint: &str) -> RekognitionModerator {
    use aws_sdk_rekognition::config::{BehaviorVersion, Credentials, Region};
    let builder = aws_sdk_rekognition::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "scanner-tests"))
        .endpoint_url(endpoint);
    RekognitionModerator::new(rekognition_client(builder, &limits()))
}

/// A bucket of this test's own, its client, the fake, and the configuration over them.
struct Moto {
    client: aws_sdk_s3::Client,
    bucket: String,
    fake: RekognitionFake,
    config: Config,
    metrics: CaptureMetrics,
}

impl Moto {
    async fn new(endpoint: &str, extra: &[(&str, &str)]) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        capture_logs();
        let bucket = format!("scanner-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        let client = s3(endpoint);
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        let mut pairs: Vec<(&str, &str)> = vec![(vars::BUCKET, &bucket), (vars::KEY_PREFIX, PREFIX)];
        pairs.extend_from_slice(extra);
        let config =
            Config::from_lookup(&|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())).unwrap();
        Self {
            client,
            bucket: bucket.clone(),
            fake: RekognitionFake::start().await,
            config,
            metrics: CaptureMetrics::default(),
        }
    }

    /// Stores `bytes` (with `tags`) and returns the file ID and the event, declaring `declared`
    /// bytes (the real size when `None`).
    async fn put(&self, name: &str, bytes: Vec<u8>, tags: &[(&str, &str)], declared: Option<u64>) -> (String, Value) {
        let id = file_id();
        let key = key_for(&id, name.rsplit_once('.').map_or("bin", |(_, e)| e));
        let size = declared.unwrap_or(bytes.len() as u64);
        self.client.put_object().bucket(&self.bucket).key(&key).body(ByteStream::from(bytes)).send().await.unwrap();
        if !tags.is_empty() {
            let set: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap()).collect();
            let tagging = Tagging::builder().set_tag_set(Some(set)).build().unwrap();
            self.client.put_object_tagging().bucket(&self.bucket).key(&key).tagging(tagging).send().await.unwrap();
        }
        (id.clone(), event(&id, name, size, &self.bucket, &key))
    }

    async fn call(&self, ev: &Value) -> &'static str {
        let store = S3Store::new(self.client.clone());
        let moderator = rekognition(&self.fake.endpoint);
        let deps = Deps { store: &store, moderator: &moderator, config: &self.config, metrics: &self.metrics };
        let answer = handle(ev, &deps, Instant::now() + Duration::from_secs(10)).await;
        if answer.status.as_str() == "APPROVED" { "APPROVED" } else { "REJECTED" }
    }
}

#[tokio::test]
async fn approves_a_png_read_from_s3_after_one_rekognition_call() {
    let ep = moto!("approves_a_png_read_from_s3_after_one_rekognition_call");
    let m = Moto::new(&ep, &[]).await;
    let image = png(16, 12);
    let (id, ev) = m.put(&format!("{SECRET_NAME}.png"), image.clone(), &[], None).await;
    assert_eq!(m.call(&ev).await, "APPROVED");
    assert_eq!(m.fake.count(), 1);
    assert_eq!(m.fake.seen()[0].image, image, "the bytes S3 returned went to Rekognition");
    assert_eq!(file_line(&id)["detected"], "png");
    assert_no_leak(&[]);
}

#[tokio::test]
async fn rejects_a_png_rekognition_labels_explicit() {
    let ep = moto!("rejects_a_png_rekognition_labels_explicit");
    let m = Moto::new(&ep, &[]).await;
    m.fake.script([Answer::Labels(vec![label("Explicit", "", 99.1, 1)])]);
    let (id, ev) = m.put("photo.png", png(3, 3), &[], None).await;
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "moderation");
}

#[tokio::test]
async fn approves_a_text_file_and_a_streamed_large_one() {
    let ep = moto!("approves_a_text_file_and_a_streamed_large_one");
    let m = Moto::new(&ep, &[]).await;
    let (_, ev) = m.put("notes.txt", text(), &[], None).await;
    assert_eq!(m.call(&ev).await, "APPROVED");
    let big: Vec<u8> = "0123456789,abcdef,ghij\n".repeat(150_000).into_bytes(); // about 3.4 MB
    let (id, ev) = m.put("export.csv", big.clone(), &[], None).await;
    assert_eq!(m.call(&ev).await, "APPROVED");
    assert_eq!(file_line(&id)["size"], big.len());
    assert_eq!(m.fake.count(), 0, "text is not sent to Rekognition");
    assert_no_leak(&[]);
}

#[tokio::test]
async fn rejects_an_elf_named_png_without_rekognition() {
    let ep = moto!("rejects_an_elf_named_png_without_rekognition");
    let m = Moto::new(&ep, &[]).await;
    let (id, ev) = m.put("holiday.png", elf(), &[], None).await;
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert_eq!(m.fake.count(), 0);
    assert!(reasons(&file_line(&id)).contains("executable"));
}

#[tokio::test]
async fn rejects_a_declared_size_s3_disagrees_with() {
    let ep = moto!("rejects_a_declared_size_s3_disagrees_with");
    let m = Moto::new(&ep, &[]).await;
    let (id, ev) = m.put("notes.txt", text(), &[], Some(text().len() as u64 - 3)).await;
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "size-mismatch");
}

#[tokio::test]
async fn rejects_an_object_larger_than_the_limit() {
    let ep = moto!("rejects_an_object_larger_than_the_limit");
    let m = Moto::new(&ep, &[(vars::MAX_BYTES, "1000")]).await;
    // Declared within the limit, stored larger: S3's Content-Length refuses it before the body.
    let (id, ev) = m.put("notes.txt", vec![b'a'; 5000], &[], Some(900)).await;
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "too-large");
    // Declared larger: nothing read.
    let (id, ev) = m.put("notes.txt", vec![b'a'; 5000], &[], None).await;
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&id)), "too-large");
}

#[tokio::test]
async fn a_missing_object_is_rejected_with_s3s_code() {
    let ep = moto!("a_missing_object_is_rejected_with_s3s_code");
    let m = Moto::new(&ep, &[]).await;
    let id = file_id();
    let ev = event(&id, "notes.txt", 10, &m.bucket, &key_for(&id, "txt"));
    assert_eq!(m.call(&ev).await, "REJECTED");
    let line = file_line(&id);
    assert_eq!(reasons(&line), "read-failed");
    assert!(line["detail"].as_str().unwrap().contains("NoSuchKey"), "{line}");
}

#[tokio::test]
async fn guardduty_tags_as_s3_stores_them() {
    let ep = moto!("guardduty_tags_as_s3_stores_them");
    let m = Moto::new(&ep, &[(vars::GUARDDUTY, "true"), (vars::GUARDDUTY_WAIT, "300"), (vars::GUARDDUTY_POLL, "100")])
        .await;
    let tag = "GuardDutyMalwareScanStatus";
    let (threats, ev) = m.put("notes.txt", text(), &[(tag, "THREATS_FOUND")], None).await;
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert_eq!(reasons(&file_line(&threats)), "malware");
    let (clean, ev) = m.put("notes.txt", text(), &[("other", "x"), (tag, "NO_THREATS_FOUND")], None).await;
    assert_eq!(m.call(&ev).await, "APPROVED");
    assert_eq!(file_line(&clean)["guardduty"], "NO_THREATS_FOUND");
    let (missing, ev) = m.put("notes.txt", text(), &[], None).await;
    let started = Instant::now();
    assert_eq!(m.call(&ev).await, "REJECTED");
    assert!(started.elapsed() >= Duration::from_millis(250), "waited for the tag");
    let line = file_line(&missing);
    assert_eq!(reasons(&line), "malware-scan-incomplete");
    assert_eq!(line["guardduty"], "not-scanned");
}

#[tokio::test]
async fn a_tag_written_while_waiting_is_seen() {
    let ep = moto!("a_tag_written_while_waiting_is_seen");
    let m = Moto::new(&ep, &[(vars::GUARDDUTY, "true"), (vars::GUARDDUTY_WAIT, "5000"), (vars::GUARDDUTY_POLL, "100")])
        .await;
    let (id, ev) = m.put("notes.txt", text(), &[], None).await;
    let key = ev["File"]["FileLocation"]["S3Location"]["Key"].as_str().unwrap().to_owned();
    let (client, bucket) = (m.client.clone(), m.bucket.clone());
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let tag = Tag::builder().key("GuardDutyMalwareScanStatus").value("NO_THREATS_FOUND").build().unwrap();
        let tagging = Tagging::builder().tag_set(tag).build().unwrap();
        client.put_object_tagging().bucket(bucket).key(key).tagging(tagging).send().await.unwrap();
    });
    assert_eq!(m.call(&ev).await, "APPROVED");
    writer.await.unwrap();
    assert_eq!(file_line(&id)["guardduty"], "NO_THREATS_FOUND");
}
