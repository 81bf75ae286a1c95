//! One invocation: check the event and the object's location, read the object (streamed, bounded),
//! run the core's checks, ask Rekognition about images, honour GuardDuty's tag, log and count,
//! answer. Takes its dependencies as arguments (traits), so tests call it directly.
//!
//! In order, stopping at the first rejection:
//! 1. the event parses ([`ScanEvent::parse`]; its `Arn`, when present, names `Bucket`/`Key`);
//! 2. the bucket is `SECURE_IVR_SCAN_BUCKET` and the key is under `SECURE_IVR_SCAN_KEY_PREFIX`
//!    ([`Config::allows_location`]) — nothing is read otherwise;
//! 3. `FileSizeInBytes` is at most `SECURE_IVR_SCAN_MAX_BYTES` — nothing is read otherwise;
//! 4. `GetObject`, read by [`read_bounded`]: refused on `Content-Length` before the body, and
//!    as soon as the body passes `FileSizeInBytes`;
//! 5. the core's [`scan`] (type from the bytes, name against content, text, image decode);
//! 6. for an image the policy moderates: `DetectModerationLabels` on the bytes (a GIF or WebP
//!    converted to PNG first when `SECURE_IVR_SCAN_UNMODERATED_IMAGES=convert`), at most
//!    Rekognition's 5 MB for image bytes, labels judged by the core against the categories;
//! 7. with `SECURE_IVR_SCAN_GUARDDUTY=true`: the `GuardDutyMalwareScanStatus` tag, waited for
//!    within `SECURE_IVR_SCAN_GUARDDUTY_WAIT_MS` and the invocation's time
//!    ([`crate::guardduty::wait_for_scan`]); `THREATS_FOUND` rejects, no result follows
//!    `SECURE_IVR_SCAN_GUARDDUTY_UNSCANNED` (default `reject`).
//!
//! Fail closed: every error (event, S3, Rekognition, GuardDuty, time) answers `REJECTED` with its
//! reason (`invalid-event`, `read-failed`, `moderation-failed`, `timeout`, …) and a `detail` (an
//! error code, never a message that could quote the request). Every file gets one log line
//! ([`crate::log::file_scanned`]) and one EMF document ([`crate::metrics::emf_line`]). The
//! settings, their defaults and ranges are in [`crate::config`].

use std::future::Future;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::config::Config;
use crate::event::{ScanAnswer, ScanEvent};
use crate::guardduty::{self, MalwareStatus, WaitError};
use crate::log::{FileRecord, file_scanned};
use crate::metrics::{FileMetrics, MetricSink, emf_line};
use crate::moderation::ModerationLabel;
use crate::verdict::{Reason, Verdict};
use crate::{FileFacts, scan};

/// An S3 failure, as a code that is safe to log (an S3 error code such as `NoSuchKey`, or the
/// kind of transport failure); never a message that could quote a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "S3: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// The attachments bucket: `GetObject` and `GetObjectTagging` of exactly the named object.
pub trait ObjectStore: Sync {
    /// The streamed body of an object.
    type Body: ObjectBody;
    /// Starts `GetObject`; the body is read by [`read_bounded`].
    fn get_object(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Self::Body, StoreError>> + Send;
    /// `GetObjectTagging`: the object's tags as `(key, value)`.
    fn get_object_tagging(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, StoreError>> + Send;
}

/// A `GetObject` body, read chunk by chunk.
pub trait ObjectBody: Send {
    /// The response's `Content-Length`, if it had one.
    fn content_length(&self) -> Option<u64>;
    /// The next chunk; `None` at the end.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + Send;
}

/// A Rekognition failure: its error code (`InvalidImageFormatException`, `ThrottlingException`,
/// …) or the kind of transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationError(pub String);

impl core::fmt::Display for ModerationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Rekognition: {}", self.0)
    }
}

impl std::error::Error for ModerationError {}

/// What `DetectModerationLabels` answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moderation {
    /// `ModerationLabels`.
    pub labels: Vec<ModerationLabel>,
    /// `ModerationModelVersion`.
    pub model_version: Option<String>,
}

/// Rekognition `DetectModerationLabels` on image bytes (PNG or JPEG, at most 5 MB).
pub trait Moderator: Sync {
    /// Asks about `image`; Rekognition returns no label below `min_confidence` (percent).
    fn detect_moderation_labels(
        &self,
        image: Vec<u8>,
        min_confidence: f32,
    ) -> impl Future<Output = Result<Moderation, ModerationError>> + Send;
}

/// What one invocation needs, built once at cold start.
pub struct Deps<'a, S, M> {
    /// The attachments bucket.
    pub store: &'a S,
    /// Rekognition.
    pub moderator: &'a M,
    /// The validated configuration.
    pub config: &'a Config,
    /// Where EMF lines go.
    pub metrics: &'a dyn MetricSink,
}

/// Why reading the object stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The object is larger than the configured maximum.
    TooLarge,
    /// The object's size is not `FileSizeInBytes`.
    SizeMismatch,
    /// S3 failed.
    Store(StoreError),
}

/// Reads a body of exactly `declared` bytes, at most `max`: refuses on `Content-Length` before
/// reading anything, and stops as soon as the bytes go past `declared` (a body longer than its
/// header said is never read to the end). `declared <= max` is the caller's check.
pub async fn read_bounded<B: ObjectBody>(body: &mut B, declared: u64, max: u64) -> Result<Vec<u8>, ReadError> {
    if let Some(len) = body.content_length() {
        if len > max {
            return Err(ReadError::TooLarge);
        }
        if len != declared {
            return Err(ReadError::SizeMismatch);
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared.min(max)).unwrap_or(0));
    while let Some(chunk) = body.next_chunk().await.map_err(ReadError::Store)? {
        let total = (bytes.len() as u64).saturating_add(chunk.len() as u64);
        if total > max {
            return Err(ReadError::TooLarge);
        }
        if total > declared {
            return Err(ReadError::SizeMismatch);
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() as u64 != declared {
        return Err(ReadError::SizeMismatch);
    }
    Ok(bytes)
}

/// The outcome of one file, before it is logged and counted.
struct Scanned {
    verdict: Verdict,
    labels: Vec<ModerationLabel>,
    guardduty: &'static str,
    detail: String,
    read_ms: f64,
    moderation_ms: f64,
    guardduty_ms: f64,
}

impl Scanned {
    fn new(verdict: Verdict) -> Self {
        Self {
            verdict,
            labels: Vec::new(),
            guardduty: "not-checked",
            detail: String::new(),
            read_ms: 0.0,
            moderation_ms: 0.0,
            guardduty_ms: 0.0,
        }
    }

    fn failed(mut self, reason: Reason, detail: impl Into<String>) -> Self {
        self.verdict.reject(reason);
        self.detail = detail.into();
        self
    }
}

/// Handles one FILE_SCANNER event (raw JSON, so a malformed one is answered, not retried).
/// `answer_by` is when the answer must be ready; a step still running then is abandoned and the
/// file is `REJECTED` (`timeout`). In Lambda it is the invocation's deadline less a margin.
pub async fn handle<S: ObjectStore, M: Moderator>(
    event: &serde_json::Value,
    deps: &Deps<'_, S, M>,
    answer_by: Instant,
) -> ScanAnswer {
    let started = Instant::now();
    let (file_id, declared, scanned) = match ScanEvent::parse(event) {
        Ok(event) => {
            let scanned = scan_file(&event, deps, answer_by).await;
            (event.file.file_id.clone(), Some(event.file.file_size_in_bytes), scanned)
        }
        Err(e) => {
            let verdict = Verdict::rejected(Reason::InvalidEvent, "", 0);
            (String::new(), None, Scanned::new(verdict).failed(Reason::InvalidEvent, e.to_string()))
        }
    };
    let total_ms = ms(started);
    file_scanned(&FileRecord {
        file_id: &file_id,
        declared_size: declared,
        verdict: Some(&scanned.verdict),
        labels: &scanned.labels,
        guardduty: scanned.guardduty,
        detail: if scanned.detail.is_empty() {
            scanned.verdict.detail.as_deref().unwrap_or("")
        } else {
            &scanned.detail
        },
        total_ms,
        read_ms: scanned.read_ms,
        moderation_ms: scanned.moderation_ms,
        guardduty_ms: scanned.guardduty_ms,
    });
    let v = &scanned.verdict;
    deps.metrics.emit(&emf_line(
        &deps.config.metrics_namespace,
        now_ms(),
        &FileMetrics {
            status: v.status,
            reason: v.reasons.first().copied(),
            bytes: v.size,
            scan_ms: total_ms,
            moderation_ms: scanned.moderation_ms,
        },
    ));
    ScanAnswer { status: v.status }
}

async fn scan_file<S: ObjectStore, M: Moderator>(
    event: &ScanEvent,
    deps: &Deps<'_, S, M>,
    answer_by: Instant,
) -> Scanned {
    let config = deps.config;
    let policy = &config.policy;
    let file = &event.file;
    let name = file.file_name.as_str();
    let declared = file.file_size_in_bytes;
    let loc = &file.file_location.s3_location;

    if !config.allows_location(&loc.bucket, &loc.key) {
        let verdict = Verdict::rejected(Reason::LocationNotAllowed, name, 0);
        return Scanned::new(verdict).failed(Reason::LocationNotAllowed, "bucket or key outside the configured ones");
    }
    // Nothing is read that could not be accepted.
    if declared > policy.max_size {
        let detail = format!("FileSizeInBytes {declared}, the maximum is {}", policy.max_size);
        return Scanned::new(Verdict::rejected(Reason::TooLarge, name, 0)).failed(Reason::TooLarge, detail);
    }

    let read_started = Instant::now();
    let read = tokio::time::timeout_at(answer_by.into(), async {
        if declared == 0 {
            // Empty is rejected by the core's checks; no need to ask S3 about it.
            return Ok(Vec::new());
        }
        let mut body = deps.store.get_object(&loc.bucket, &loc.key).await.map_err(ReadError::Store)?;
        read_bounded(&mut body, declared, policy.max_size).await
    })
    .await;
    let read_ms = ms(read_started);
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let (reason, detail) = match e {
                ReadError::TooLarge => {
                    (Reason::TooLarge, format!("object larger than the maximum {}", policy.max_size))
                }
                ReadError::SizeMismatch => (Reason::SizeMismatch, "object size differs from FileSizeInBytes".into()),
                ReadError::Store(e) => (Reason::ReadFailed, e.to_string()),
            };
            let mut s = Scanned::new(Verdict::rejected(reason, name, 0)).failed(reason, detail);
            s.read_ms = read_ms;
            return s;
        }
        Err(_) => {
            let mut s = Scanned::new(Verdict::rejected(Reason::Timeout, name, 0)).failed(Reason::Timeout, "S3 read");
            s.read_ms = read_ms;
            return s;
        }
    };

    let mut s = Scanned::new(scan(&bytes, &FileFacts { name, declared_size: Some(declared) }, policy));
    s.read_ms = read_ms;

    if let Some(request) = s.verdict.moderation_request(policy) {
        // The one rule `secure-ivr scan --rekognition` uses too: the file as it is, a GIF/WebP as
        // PNG, anything over Rekognition's 5 MB re-encoded smaller (the scanner sends bytes: its
        // role lets Rekognition read nothing of S3).
        let converted = match request.image_bytes(&bytes, &policy.image_limits) {
            Ok(std::borrow::Cow::Owned(image)) => Some(image),
            Ok(std::borrow::Cow::Borrowed(_)) => None,
            Err(reason) => {
                return s.failed(reason, "the image could not be made into bytes Rekognition takes (at most 5 MB)");
            }
        };
        let image = converted.unwrap_or(bytes);
        let started = Instant::now();
        let asked = tokio::time::timeout_at(
            answer_by.into(),
            deps.moderator.detect_moderation_labels(image, policy.moderation.min_confidence),
        )
        .await;
        s.moderation_ms = ms(started);
        match asked {
            Ok(Ok(m)) => {
                s.verdict.apply_moderation(&m.labels, m.model_version.as_deref(), &policy.moderation);
                s.labels = m.labels;
            }
            Ok(Err(e)) => return s.failed(Reason::ModerationFailed, e.to_string()),
            Err(_) => return s.failed(Reason::Timeout, "Rekognition DetectModerationLabels"),
        }
    }

    if let (Some(settings), true) = (&config.guardduty, s.verdict.is_approved()) {
        let started = Instant::now();
        let waited = guardduty::wait_for_scan(deps.store, &loc.bucket, &loc.key, settings, answer_by).await;
        s.guardduty_ms = ms(started);
        match waited {
            Ok(status) => {
                s.guardduty = status.as_str();
                if let Some(reason) = status.rejection(settings.unscanned) {
                    let detail = if status == MalwareStatus::NotScanned { "no GuardDuty result in time" } else { "" };
                    return s.failed(reason, detail);
                }
            }
            Err(WaitError::Store(e)) => return s.failed(Reason::ReadFailed, format!("GuardDuty tag: {e}")),
            Err(WaitError::Timeout) => return s.failed(Reason::Timeout, "GuardDuty tag"),
        }
    }
    s
}

/// Milliseconds since `t`, to 0.001 ms.
fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}
