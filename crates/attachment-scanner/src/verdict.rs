//! The answer about one file: Connect's status, the reasons in stable codes, and what was found.
//! It never holds file content, and the file name only as its SHA-256.

use serde::{Deserialize, Serialize};

use crate::detect::{FileKind, ImageFormat};
use crate::image_check::{ImageError, ImageInfo, shrink_for_moderation, to_png};
use crate::moderation::{LabelMatch, ModerationLabel, ModerationPolicy, judge_labels};
use crate::name_hash::name_sha256;
use crate::policy::{ImageLimits, Policy, UnmoderatedImages};

/// Connect's answer (`{"Status": "APPROVED" | "REJECTED"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Keep the file.
    Approved,
    /// Connect deletes the file.
    Rejected,
}

impl Status {
    /// `APPROVED` or `REJECTED`, as Connect expects them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a file was rejected: a stable code for logs, metrics and alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    /// The file has no bytes.
    Empty,
    /// Larger than the configured maximum.
    TooLarge,
    /// The bytes read differ from the size Connect declared (`FileSizeInBytes`).
    SizeMismatch,
    /// The name's extension, or the content's type, is not in the allowed set.
    TypeNotAllowed,
    /// The content is of another type than the name's extension says.
    NameContentMismatch,
    /// An executable or a script.
    Executable,
    /// An archive, and archives are not allowed.
    Archive,
    /// An Office document with VBA macros.
    Macro,
    /// One file that is also another (see the polyglot rules in the README).
    Polyglot,
    /// The image does not decode: truncated or corrupt.
    ImageCorrupt,
    /// The image exceeds the decoding limits, or Rekognition's size limit.
    ImageTooLarge,
    /// An image that cannot be decoded or moderated here (HEIC; GIF and WebP unless converted).
    ImageUnsupported,
    /// Text that is not valid UTF-8 or holds control characters.
    TextInvalid,
    /// Rekognition returned a moderation label in a rejected category.
    Moderation,
    /// A malware scan found threats.
    Malware,
    /// The malware scan had no result in time, and the policy rejects then.
    MalwareScanIncomplete,
    /// The event names a bucket or key outside the configured attachments location.
    LocationNotAllowed,
    /// The event is not a well-formed FILE_SCANNER event.
    InvalidEvent,
    /// The time budget ran out.
    Timeout,
    /// Reading the object failed (S3 `GetObject` or `GetObjectTagging`).
    ReadFailed,
    /// Rekognition answered with an error or could not be reached.
    ModerationFailed,
    /// Anything else that failed (S3, Rekognition, ...): fail closed.
    Error,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 22] = [
        Self::Empty,
        Self::TooLarge,
        Self::SizeMismatch,
        Self::TypeNotAllowed,
        Self::NameContentMismatch,
        Self::Executable,
        Self::Archive,
        Self::Macro,
        Self::Polyglot,
        Self::ImageCorrupt,
        Self::ImageTooLarge,
        Self::ImageUnsupported,
        Self::TextInvalid,
        Self::Moderation,
        Self::Malware,
        Self::MalwareScanIncomplete,
        Self::LocationNotAllowed,
        Self::InvalidEvent,
        Self::Timeout,
        Self::ReadFailed,
        Self::ModerationFailed,
        Self::Error,
    ];

    /// The stable kebab-case code, as serialised.
    pub fn code(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLarge => "too-large",
            Self::SizeMismatch => "size-mismatch",
            Self::TypeNotAllowed => "type-not-allowed",
            Self::NameContentMismatch => "name-content-mismatch",
            Self::Executable => "executable",
            Self::Archive => "archive",
            Self::Macro => "macro",
            Self::Polyglot => "polyglot",
            Self::ImageCorrupt => "image-corrupt",
            Self::ImageTooLarge => "image-too-large",
            Self::ImageUnsupported => "image-unsupported",
            Self::TextInvalid => "text-invalid",
            Self::Moderation => "moderation",
            Self::Malware => "malware",
            Self::MalwareScanIncomplete => "malware-scan-incomplete",
            Self::LocationNotAllowed => "location-not-allowed",
            Self::InvalidEvent => "invalid-event",
            Self::Timeout => "timeout",
            Self::ReadFailed => "read-failed",
            Self::ModerationFailed => "moderation-failed",
            Self::Error => "error",
        }
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Empty => "the file is empty",
            Self::TooLarge => "the file is larger than the configured maximum",
            Self::SizeMismatch => "the file's size differs from the size Connect declared",
            Self::TypeNotAllowed => "the file type is not in the allowed set",
            Self::NameContentMismatch => "the content is not what the file name's extension says",
            Self::Executable => "the file is an executable or a script",
            Self::Archive => "the file is an archive and archives are not allowed",
            Self::Macro => "the Office document contains VBA macros",
            Self::Polyglot => "the file is also readable as another type (polyglot)",
            Self::ImageCorrupt => "the image does not decode: truncated or corrupt",
            Self::ImageTooLarge => "the image is larger than the decoding or moderation limits",
            Self::ImageUnsupported => "the image format cannot be decoded or moderated here",
            Self::TextInvalid => "the text is not valid UTF-8 or contains control characters",
            Self::Moderation => "image moderation found a label in a rejected category",
            Self::Malware => "the malware scan found threats",
            Self::MalwareScanIncomplete => "the malware scan had no result in time",
            Self::LocationNotAllowed => "the file is outside the configured attachments bucket and prefix",
            Self::InvalidEvent => "the scan request is not a well-formed FILE_SCANNER event",
            Self::Timeout => "the scan ran out of time",
            Self::ReadFailed => "reading the file from S3 failed",
            Self::ModerationFailed => "Rekognition failed to moderate the image",
            Self::Error => "the scan failed (an error while reading or moderating the file)",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Rekognition's `DetectModerationLabels` limit for image bytes passed in the request (API
/// reference, Image: "up to 5 MBs"), read as decimal megabytes: the smaller reading, so a file
/// this side of it is never refused as too large.
pub const REKOGNITION_MAX_IMAGE_BYTES: u64 = 5_000_000;
/// Rekognition's limit for an image it reads from S3 (developer guide, image specifications:
/// 15 MB), read the same way.
pub const REKOGNITION_MAX_S3_IMAGE_BYTES: u64 = 15_000_000;

/// What the moderation step should send to Rekognition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModerationRequest {
    /// The format Rekognition will see.
    pub format: ImageFormat,
    /// The file's size in bytes (of the original: a converted PNG has its own).
    pub size: u64,
    /// The image is a GIF or WebP to re-encode as PNG first ([`crate::to_png`]).
    pub convert_to_png: bool,
    /// The file's own format (PNG, JPEG, GIF, WebP).
    pub kind: FileKind,
}

impl ModerationRequest {
    /// Whether the bytes fit in the request itself (`Image.Bytes`); otherwise Rekognition must
    /// read the S3 object (`Image.S3Object`), up to [`REKOGNITION_MAX_S3_IMAGE_BYTES`].
    pub fn fits_in_bytes(&self) -> bool {
        self.size <= REKOGNITION_MAX_IMAGE_BYTES
    }

    /// The bytes to send as `DetectModerationLabels`' `Image.Bytes`, the one rule the Lambda and
    /// `secure-ivr scan --rekognition` share: the file itself when it is a PNG or JPEG of at most
    /// [`REKOGNITION_MAX_IMAGE_BYTES`]; a GIF or WebP re-encoded as PNG ([`crate::to_png`]); and
    /// anything still over the limit re-encoded as a JPEG of at most
    /// [`crate::image_check::MODERATION_MAX_SIDE`] pixels a side. `bytes` are the file's, as
    /// scanned. Errors are the rejection reason: `image-corrupt` when a re-encoding fails,
    /// `image-too-large` when even the JPEG is over the limit.
    pub fn image_bytes<'a>(&self, bytes: &'a [u8], limits: &ImageLimits) -> Result<std::borrow::Cow<'a, [u8]>, Reason> {
        use std::borrow::Cow;
        let fits = |b: &[u8]| u64::try_from(b.len()).is_ok_and(|n| n <= REKOGNITION_MAX_IMAGE_BYTES);
        let image: Cow<'a, [u8]> = if self.convert_to_png {
            Cow::Owned(to_png(bytes, self.kind, limits).map_err(|_| Reason::ImageCorrupt)?)
        } else {
            Cow::Borrowed(bytes)
        };
        if fits(&image) {
            return Ok(image);
        }
        match shrink_for_moderation(bytes, self.kind, limits, REKOGNITION_MAX_IMAGE_BYTES) {
            Ok(jpeg) => Ok(Cow::Owned(jpeg)),
            Err(ImageError::AllocationTooLarge | ImageError::DimensionsTooLarge { .. }) => Err(Reason::ImageTooLarge),
            Err(_) => Err(Reason::ImageCorrupt),
        }
    }
}

/// The verdict about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Connect's answer.
    pub status: Status,
    /// Why it was rejected, in the order found; empty exactly when approved.
    pub reasons: Vec<Reason>,
    /// The content's type, once looked at.
    pub detected: Option<FileKind>,
    /// Bytes read.
    pub size: u64,
    /// SHA-256 of the file name ([`crate::name_sha256`]).
    pub name_sha256: String,
    /// Dimensions, for a decoded image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    /// The moderation labels that rejected the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelMatch>,
    /// Rekognition's `ModerationModelVersion`, once asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation_model_version: Option<String>,
    /// One sentence more about the first reason (offsets, dimensions); never file content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Verdict {
    /// An approved verdict, before any check.
    pub(crate) fn new(name: &str, size: u64) -> Verdict {
        Verdict {
            status: Status::Approved,
            reasons: Vec::new(),
            detected: None,
            size,
            name_sha256: name_sha256(name),
            image: None,
            labels: Vec::new(),
            moderation_model_version: None,
            detail: None,
        }
    }

    /// A rejection decided without looking at content (an event outside the allowed location, a
    /// read that failed): the handler's own failures.
    pub fn rejected(reason: Reason, name: &str, size: u64) -> Verdict {
        let mut v = Verdict::new(name, size);
        v.reject(reason);
        v
    }

    /// Whether Connect should keep the file.
    pub fn is_approved(&self) -> bool {
        self.status == Status::Approved
    }

    /// Adds `reason` (once) and makes the verdict a rejection. There is no way back to approved.
    pub fn reject(&mut self, reason: Reason) {
        self.status = Status::Rejected;
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// Rejects with a detail sentence (kept only for the first reason).
    pub(crate) fn reject_with(&mut self, reason: Reason, detail: impl std::fmt::Display) {
        if self.detail.is_none() && self.reasons.is_empty() {
            self.detail = Some(detail.to_string());
        }
        self.reject(reason);
    }

    /// What to ask Rekognition, if anything: `Some` only while the verdict is still approved,
    /// moderation is enabled, and the file decoded as an image Rekognition takes (PNG, JPEG) or,
    /// under [`UnmoderatedImages::Convert`], one to convert (GIF, WebP).
    pub fn moderation_request(&self, policy: &Policy) -> Option<ModerationRequest> {
        if !self.is_approved() || !policy.moderation.enabled {
            return None;
        }
        let kind = self.image?.format;
        let (format, convert_to_png) = match kind {
            FileKind::Png => (ImageFormat::Png, false),
            FileKind::Jpeg => (ImageFormat::Jpeg, false),
            FileKind::Gif | FileKind::Webp if policy.unmoderated_images == UnmoderatedImages::Convert => {
                (ImageFormat::Png, true)
            }
            _ => return None,
        };
        Some(ModerationRequest { format, size: self.size, convert_to_png, kind })
    }

    /// Applies Rekognition's answer: rejects with [`Reason::Moderation`] when [`judge_labels`]
    /// finds a label in a rejected category, and records the matching labels and model version.
    pub fn apply_moderation(
        &mut self,
        labels: &[ModerationLabel],
        model_version: Option<&str>,
        policy: &ModerationPolicy,
    ) {
        self.moderation_model_version = model_version.map(str::to_owned);
        let matched = judge_labels(labels, policy);
        if !matched.is_empty() {
            self.labels = matched;
            self.reject(Reason::Moderation);
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "status:    {}", self.status)?;
        for r in &self.reasons {
            writeln!(f, "reason:    {} ({})", r.code(), r.describe())?;
        }
        if let Some(d) = &self.detail {
            writeln!(f, "detail:    {d}")?;
        }
        writeln!(f, "detected:  {}", self.detected.map_or("-", FileKind::code))?;
        writeln!(f, "size:      {} bytes", self.size)?;
        if let Some(i) = &self.image {
            writeln!(f, "image:     {} x {} {}", i.width, i.height, i.format)?;
        }
        for l in &self.labels {
            writeln!(f, "label:     {} ({:.1}%, category {})", l.label, l.confidence, l.category)?;
        }
        if let Some(m) = &self.moderation_model_version {
            writeln!(f, "model:     {m}")?;
        }
        write!(f, "name hash: {}", self.name_sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_stable_and_match_serde() {
        let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "empty",
                "too-large",
                "size-mismatch",
                "type-not-allowed",
                "name-content-mismatch",
                "executable",
                "archive",
                "macro",
                "polyglot",
                "image-corrupt",
                "image-too-large",
                "image-unsupported",
                "text-invalid",
                "moderation",
                "malware",
                "malware-scan-incomplete",
                "location-not-allowed",
                "invalid-event",
                "timeout",
                "read-failed",
                "moderation-failed",
                "error"
            ]
        );
        for r in Reason::ALL {
            assert_eq!(serde_json::to_string(&r).expect("json"), format!("\"{}\"", r.code()));
            assert!(!r.describe().is_empty());
        }
    }

    #[test]
    fn reject_is_one_way_and_records_each_reason_once() {
        let mut v = Verdict::new("a.png", 3);
        assert!(v.is_approved());
        v.reject(Reason::Error);
        v.reject(Reason::Error);
        v.reject(Reason::Timeout);
        assert_eq!(v.status, Status::Rejected);
        assert_eq!(v.reasons, [Reason::Error, Reason::Timeout]);
    }

    #[test]
    fn serialises_without_the_name() {
        let v = Verdict::rejected(Reason::LocationNotAllowed, "jane-doe-passport.png", 0);
        let json = serde_json::to_string(&v).expect("json");
        assert!(!json.contains("jane"), "{json}");
        assert!(json.contains(r#""status":"REJECTED""#), "{json}");
        assert!(json.contains(r#""reasons":["location-not-allowed"]"#), "{json}");
        assert_eq!(serde_json::from_str::<Verdict>(&json).expect("back"), v);
        assert_eq!(Status::Approved.as_str(), "APPROVED");
    }

    #[test]
    fn moderation_applies_only_to_approved_decodable_images() {
        let policy = Policy::default();
        let mut v = Verdict::new("a.png", 10);
        assert_eq!(v.moderation_request(&policy), None, "not an image");
        v.image = Some(ImageInfo { format: FileKind::Png, width: 1, height: 1 });
        assert_eq!(
            v.moderation_request(&policy),
            Some(ModerationRequest { format: ImageFormat::Png, size: 10, convert_to_png: false, kind: FileKind::Png })
        );
        let off = Policy { moderation: ModerationPolicy { enabled: false, ..Default::default() }, ..Policy::default() };
        assert_eq!(v.moderation_request(&off), None);
        v.image = Some(ImageInfo { format: FileKind::Gif, width: 1, height: 1 });
        assert_eq!(v.moderation_request(&policy), None, "GIF without convert");
        let convert = Policy { unmoderated_images: UnmoderatedImages::Convert, ..Policy::default() };
        assert_eq!(v.moderation_request(&convert).map(|r| r.convert_to_png), Some(true));
        v.reject(Reason::Error);
        assert_eq!(v.moderation_request(&convert), None, "already rejected");
    }

    #[test]
    fn apply_moderation_rejects_on_a_matching_label_only() {
        let policy = ModerationPolicy::default();
        let mut clean = Verdict::new("a.jpg", 1);
        clean.apply_moderation(&[], Some("7.0"), &policy);
        assert!(clean.is_approved());
        assert_eq!(clean.moderation_model_version.as_deref(), Some("7.0"));
        let mut bad = Verdict::new("a.jpg", 1);
        let label = ModerationLabel {
            name: "Explicit".into(),
            parent_name: String::new(),
            confidence: 99.0,
            taxonomy_level: Some(1),
        };
        bad.apply_moderation(&[label], Some("7.0"), &policy);
        assert_eq!(bad.reasons, [Reason::Moderation]);
        assert_eq!(bad.labels.first().map(|l| l.category.as_str()), Some("Explicit"));
    }

    #[test]
    fn bytes_or_s3_object() {
        let r =
            |size| ModerationRequest { format: ImageFormat::Jpeg, size, convert_to_png: false, kind: FileKind::Jpeg };
        assert!(r(REKOGNITION_MAX_IMAGE_BYTES).fits_in_bytes());
        assert!(!r(REKOGNITION_MAX_IMAGE_BYTES + 1).fits_in_bytes());
    }
}
