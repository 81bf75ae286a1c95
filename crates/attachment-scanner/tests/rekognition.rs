//! `RekognitionModerator` (the real `aws-sdk-rekognition` over HTTP) against the wire fake on
//! 127.0.0.1: the request as sent, the labels as parsed, the errors of botocore's model and which
//! of them the SDK retries; then the handler over it.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use attachment_scanner::aws::{ClientLimits, RekognitionModerator, rekognition_client};
use attachment_scanner::handler::Moderator;
use common::rekognition_fake::{Answer, RekognitionFake, label};
use common::*;

fn limits() -> ClientLimits {
    ClientLimits { initial_backoff: Duration::from_millis(10), ..ClientLimits::default() }
}

fn moderator(endpoint: &str) -> RekognitionModerator {
    use aws_sdk_rekognition::config::{BehaviorVersion, Credentials, Region};
    let builder = aws_sdk_rekognition::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "scanner-tests"))
        .endpoint_url(endpoint);
    RekognitionModerator::new(rekognition_client(builder, &limits()))
}

#[tokio::test]
async fn sends_the_image_bytes_and_parses_the_labels() {
    let fake = RekognitionFake::start().await;
    fake.script([Answer::Labels(vec![
        label("Explicit", "", 99.1, 1),
        label("Explicit Nudity", "Explicit", 98.7, 2),
        label("Alcohol", "", 55.0, 1),
    ])]);
    let image = png(16, 12);
    let m = moderator(&fake.endpoint).detect_moderation_labels(image.clone(), 60.0).await.unwrap();
    assert_eq!(m.model_version.as_deref(), Some("7.0"));
    let names: Vec<(&str, &str)> = m.labels.iter().map(|l| (l.name.as_str(), l.parent_name.as_str())).collect();
    assert_eq!(names, [("Explicit", ""), ("Explicit Nudity", "Explicit")], "below MinConfidence is not returned");
    assert!((m.labels[1].confidence - 98.7).abs() < 0.01);
    assert_eq!(m.labels[1].taxonomy_level, Some(2));
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "RekognitionService.DetectModerationLabels");
    assert_eq!(seen[0].content_type, "application/x-amz-json-1.1");
    assert!(seen[0].signed, "SigV4 Authorization header");
    assert_eq!(seen[0].image, image, "Image.Bytes, base64 on the wire, is the file");
    assert_eq!(seen[0].min_confidence, Some(60.0));
}

#[tokio::test]
async fn no_labels_is_an_empty_list() {
    let fake = RekognitionFake::start().await;
    let m = moderator(&fake.endpoint).detect_moderation_labels(jpeg(8, 8), 50.0).await.unwrap();
    assert!(m.labels.is_empty());
}

#[tokio::test]
async fn invalid_image_format_is_an_error_and_not_retried() {
    let fake = RekognitionFake::start().await;
    let err =
        moderator(&fake.endpoint).detect_moderation_labels(b"GIF89a not an image".to_vec(), 50.0).await.unwrap_err();
    assert!(err.0.contains("InvalidImageFormatException"), "{err}");
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn image_too_large_is_an_error_and_not_retried() {
    let fake = RekognitionFake::start().await;
    fake.script([Answer::client("ImageTooLargeException")]);
    let err = moderator(&fake.endpoint).detect_moderation_labels(png(4, 4), 50.0).await.unwrap_err();
    assert!(err.0.contains("ImageTooLargeException"), "{err}");
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn access_denied_and_invalid_parameter_are_not_retried() {
    for name in ["AccessDeniedException", "InvalidParameterException"] {
        let fake = RekognitionFake::start().await;
        fake.script([Answer::client(name)]);
        let err = moderator(&fake.endpoint).detect_moderation_labels(png(4, 4), 50.0).await.unwrap_err();
        assert!(err.0.contains(name), "{err}");
        assert_eq!(fake.count(), 1, "{name}");
    }
}

#[tokio::test]
async fn throttling_is_retried_then_answers() {
    let fake = RekognitionFake::start().await;
    fake.script([Answer::fault("ThrottlingException")]);
    let m = moderator(&fake.endpoint).detect_moderation_labels(png(4, 4), 50.0).await.unwrap();
    assert!(m.labels.is_empty());
    assert_eq!(fake.count(), 2);
}

#[tokio::test]
async fn persistent_throttling_gives_up_after_the_configured_attempts() {
    for answer in [
        Answer::fault("ThrottlingException"),
        Answer::client("ProvisionedThroughputExceededException"),
        Answer::fault("InternalServerError"),
    ] {
        let fake = RekognitionFake::start().await;
        let name = match &answer {
            Answer::Error(_, name) => *name,
            _ => unreachable!(),
        };
        fake.script([answer.clone(), answer.clone(), answer.clone(), answer]);
        let err = moderator(&fake.endpoint).detect_moderation_labels(png(4, 4), 50.0).await.unwrap_err();
        assert!(err.0.contains(name), "{err}");
        assert_eq!(fake.count(), limits().max_attempts as usize, "{name}");
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_an_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err =
        moderator(&format!("http://127.0.0.1:{port}")).detect_moderation_labels(png(4, 4), 50.0).await.unwrap_err();
    assert!(err.0.contains("connection failed") || err.0.contains("request not sent"), "{err}");
}

// ---------------------------------------------------------------- the handler over the wire

async fn handler_with(fake: &RekognitionFake, name: &str, bytes: Vec<u8>) -> (&'static str, serde_json::Value) {
    let h = Harness::new(&[]);
    let real = moderator(&fake.endpoint);
    let (id, ev) = h.file(name, bytes);
    let deps =
        attachment_scanner::handler::Deps { store: &h.store, moderator: &real, config: &h.config, metrics: &h.metrics };
    let answer =
        attachment_scanner::handler::handle(&ev, &deps, std::time::Instant::now() + Duration::from_secs(10)).await;
    let status = if answer.status.as_str() == "APPROVED" { "APPROVED" } else { "REJECTED" };
    (status, file_line(&id))
}

#[tokio::test]
async fn the_handler_rejects_what_the_wire_labels_explicit() {
    let fake = RekognitionFake::start().await;
    fake.script([Answer::Labels(vec![label("Explicit Nudity", "Explicit", 98.7, 2)])]);
    let (status, line) = handler_with(&fake, "photo.png", png(3, 3)).await;
    assert_eq!(status, "REJECTED");
    assert_eq!(reasons(&line), "moderation");
    assert!(line["labels"].as_str().unwrap().contains("Explicit Nudity"));
}

#[tokio::test]
async fn the_handler_approves_a_clean_jpeg_over_the_wire() {
    let fake = RekognitionFake::start().await;
    let (status, line) = handler_with(&fake, "photo.jpeg", jpeg(32, 24)).await;
    assert_eq!(status, "APPROVED", "{line}");
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn the_handler_rejects_on_a_rekognition_error_with_its_code() {
    let fake = RekognitionFake::start().await;
    fake.script([Answer::client("InvalidImageFormatException")]);
    let (status, line) = handler_with(&fake, "photo.png", png(4, 4)).await;
    assert_eq!(status, "REJECTED");
    assert_eq!(reasons(&line), "moderation-failed");
    assert!(line["detail"].as_str().unwrap().contains("InvalidImageFormatException"), "{line}");
}
