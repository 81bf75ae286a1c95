//! What the scanner accepts: one home for the allowed types, the size limit, the image limits and
//! the moderation settings, which the Lambda's configuration and `secure-ivr scan` both build.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::detect::FileKind;
use crate::moderation::ModerationPolicy;

/// Connect's largest attachment (admin guide, "Amazon Connect feature specifications": maximum
/// file size for an attachment to an email, case, or a chat, 20MB).
pub const DEFAULT_MAX_SIZE: u64 = 20 * 1024 * 1024;

/// The file types Connect supports for attachments to emails, cases and chats (admin guide,
/// "Amazon Connect feature specifications", December 2026): the default allowed set.
pub const CONNECT_ATTACHMENT_EXTENSIONS: &[&str] = &[
    "csv", "doc", "docx", "heic", "jfif", "jpeg", "jpg", "mov", "mp4", "pdf", "png", "ppt", "pptx", "rtf", "txt",
    "wav", "xls", "xlsx",
];

/// A file-name extension the scanner knows how to check: lower case, without the dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
#[allow(missing_docs, reason = "each variant is the extension it names")]
pub enum Extension {
    Csv,
    Doc,
    Docx,
    Gif,
    Heic,
    Jfif,
    Jpeg,
    Jpg,
    Mov,
    Mp4,
    Pdf,
    Png,
    Ppt,
    Pptx,
    Rtf,
    Txt,
    Wav,
    Webp,
    Xls,
    Xlsx,
    Zip,
}

impl Extension {
    /// Every extension the scanner knows.
    pub const ALL: [Extension; 21] = [
        Self::Csv,
        Self::Doc,
        Self::Docx,
        Self::Gif,
        Self::Heic,
        Self::Jfif,
        Self::Jpeg,
        Self::Jpg,
        Self::Mov,
        Self::Mp4,
        Self::Pdf,
        Self::Png,
        Self::Ppt,
        Self::Pptx,
        Self::Rtf,
        Self::Txt,
        Self::Wav,
        Self::Webp,
        Self::Xls,
        Self::Xlsx,
        Self::Zip,
    ];

    /// The extension, lower case, without the dot.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Doc => "doc",
            Self::Docx => "docx",
            Self::Gif => "gif",
            Self::Heic => "heic",
            Self::Jfif => "jfif",
            Self::Jpeg => "jpeg",
            Self::Jpg => "jpg",
            Self::Mov => "mov",
            Self::Mp4 => "mp4",
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Ppt => "ppt",
            Self::Pptx => "pptx",
            Self::Rtf => "rtf",
            Self::Txt => "txt",
            Self::Wav => "wav",
            Self::Webp => "webp",
            Self::Xls => "xls",
            Self::Xlsx => "xlsx",
            Self::Zip => "zip",
        }
    }

    /// Parses `png`, `.PNG`, ` Jpg ` (case-insensitive, one optional leading dot, surrounding
    /// spaces ignored).
    pub fn parse(s: &str) -> Result<Extension, PolicyError> {
        let t = s.trim();
        let t = t.strip_prefix('.').unwrap_or(t);
        Self::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| PolicyError::UnknownExtension(s.trim().to_owned()))
    }

    /// The extension of a file name: what follows its last dot, if the scanner knows it. A name
    /// without a dot, or with one only at the start (`.bashrc`), has none.
    pub fn of_name(name: &str) -> Option<Extension> {
        let (stem, ext) = name.rsplit_once('.')?;
        if stem.is_empty() || stem.ends_with(['/', '\\']) {
            return None;
        }
        Self::parse(ext).ok().filter(|_| !ext.contains(char::is_whitespace))
    }

    /// The content type a file with this extension must have.
    pub fn kind(self) -> FileKind {
        match self {
            Self::Csv | Self::Txt => FileKind::Text,
            Self::Doc => FileKind::Doc,
            Self::Docx => FileKind::Docx,
            Self::Gif => FileKind::Gif,
            Self::Heic => FileKind::Heic,
            Self::Jfif | Self::Jpeg | Self::Jpg => FileKind::Jpeg,
            Self::Mov => FileKind::Mov,
            Self::Mp4 => FileKind::Mp4,
            Self::Pdf => FileKind::Pdf,
            Self::Png => FileKind::Png,
            Self::Ppt => FileKind::Ppt,
            Self::Pptx => FileKind::Pptx,
            Self::Rtf => FileKind::Rtf,
            Self::Wav => FileKind::Wav,
            Self::Webp => FileKind::Webp,
            Self::Xls => FileKind::Xls,
            Self::Xlsx => FileKind::Xlsx,
            Self::Zip => FileKind::Zip,
        }
    }
}

impl std::fmt::Display for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on decoding an image, checked before the decoder allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageLimits {
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most memory the decoder may allocate, in bytes.
    pub max_alloc: u64,
}

impl Default for ImageLimits {
    /// 10,000 x 10,000 pixels and 256 MiB of decoder memory: a 64-megapixel RGBA or 89-megapixel
    /// RGB image at 8 bits per channel, which leaves the scanner's default 1 GB Lambda room for the
    /// 20 MB file itself and a PNG re-encoding.
    fn default() -> Self {
        Self { max_width: 10_000, max_height: 10_000, max_alloc: 256 * 1024 * 1024 }
    }
}

/// What to do with an allowed image that Rekognition cannot moderate as it is (HEIC, GIF, WebP:
/// `DetectModerationLabels` takes PNG and JPEG only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnmoderatedImages {
    /// Reject it (`image-unsupported`): nothing unmoderated gets through. The default.
    #[default]
    Reject,
    /// Decode GIF and WebP and moderate a PNG re-encoding of the first frame; HEIC (no decoder
    /// here) is still rejected.
    Convert,
    /// Let it through after the decode check (where there is a decoder) but without moderation.
    Allow,
}

impl UnmoderatedImages {
    /// Parses `reject`, `convert` or `allow`.
    pub fn parse(s: &str) -> Result<UnmoderatedImages, PolicyError> {
        match s.trim() {
            "reject" => Ok(Self::Reject),
            "convert" => Ok(Self::Convert),
            "allow" => Ok(Self::Allow),
            other => Err(PolicyError::UnknownUnmoderatedImages(other.to_owned())),
        }
    }
}

/// Everything the pure checks decide by.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The extensions a file name may have (and so the content types a file may be).
    pub allowed: BTreeSet<Extension>,
    /// Largest file accepted, in bytes.
    pub max_size: u64,
    /// Whether archives (`.zip`) may pass at all; they must also be in `allowed`.
    pub allow_archives: bool,
    /// Image decoding limits.
    pub image_limits: ImageLimits,
    /// HEIC, GIF and WebP: images Rekognition does not take as they are.
    pub unmoderated_images: UnmoderatedImages,
    /// Rekognition's part.
    pub moderation: ModerationPolicy,
}

impl Default for Policy {
    /// Connect's attachment types, 20 MiB, no archives, the default image limits, other images
    /// rejected, moderation on with [`ModerationPolicy::default`].
    fn default() -> Self {
        Self {
            allowed: CONNECT_ATTACHMENT_EXTENSIONS.iter().filter_map(|e| Extension::parse(e).ok()).collect(),
            max_size: DEFAULT_MAX_SIZE,
            allow_archives: false,
            image_limits: ImageLimits::default(),
            unmoderated_images: UnmoderatedImages::Reject,
            moderation: ModerationPolicy::default(),
        }
    }
}

impl Policy {
    /// Parses a comma-separated list of extensions (`png, .JPG,pdf`); empty items are ignored but
    /// an empty list is refused (it would reject everything, which is surely a mistake).
    pub fn parse_allowed(list: &str) -> Result<BTreeSet<Extension>, PolicyError> {
        let set = list
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Extension::parse)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if set.is_empty() {
            return Err(PolicyError::EmptyAllowedList);
        }
        Ok(set)
    }
}

/// A policy setting that does not parse or is out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// An extension the scanner has no check for.
    UnknownExtension(String),
    /// The allowed list has no extension in it.
    EmptyAllowedList,
    /// Not `reject`, `convert` or `allow`.
    UnknownUnmoderatedImages(String),
    /// A minimum confidence outside 0..=100 (or not a number).
    ConfidenceOutOfRange(String),
    /// The reject-categories list has no category in it.
    EmptyCategoryList,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownExtension(e) => write!(
                f,
                "unknown file extension {e:?}: the scanner checks only {}",
                Extension::ALL.map(Extension::as_str).join(", ")
            ),
            Self::EmptyAllowedList => f.write_str("the allowed file types list is empty: it would reject every file"),
            Self::UnknownUnmoderatedImages(v) => {
                write!(f, "unknown policy for other images {v:?}: use reject, convert or allow")
            }
            Self::ConfidenceOutOfRange(v) => write!(f, "minimum confidence {v:?} is not a number from 0 to 100"),
            Self::EmptyCategoryList => {
                f.write_str("the moderation categories list is empty: say which categories reject an image")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_allows_exactly_connects_list() {
        let p = Policy::default();
        let names: Vec<&str> = p.allowed.iter().map(|e| e.as_str()).collect();
        let mut want = CONNECT_ATTACHMENT_EXTENSIONS.to_vec();
        want.sort_unstable();
        assert_eq!(names, want);
        assert!(!p.allowed.contains(&Extension::Zip));
        assert!(!p.allow_archives);
        assert_eq!(p.max_size, 20_971_520);
    }

    #[test]
    fn parses_extension_lists() {
        let set = Policy::parse_allowed(" png, .JPG,,pdf ").expect("parses");
        assert_eq!(set.into_iter().collect::<Vec<_>>(), vec![Extension::Jpg, Extension::Pdf, Extension::Png]);
        assert_eq!(Policy::parse_allowed("png,exe"), Err(PolicyError::UnknownExtension("exe".into())));
        assert_eq!(Policy::parse_allowed(" , "), Err(PolicyError::EmptyAllowedList));
    }

    #[test]
    fn finds_the_extension_of_a_name() {
        assert_eq!(Extension::of_name("Scan 2026.PDF"), Some(Extension::Pdf));
        assert_eq!(Extension::of_name("archive.tar.zip"), Some(Extension::Zip));
        assert_eq!(Extension::of_name("photo.png.exe"), None);
        assert_eq!(Extension::of_name("README"), None);
        assert_eq!(Extension::of_name(".png"), None);
        assert_eq!(Extension::of_name("dir/.png"), None);
        assert_eq!(Extension::of_name("photo. png"), None);
        assert_eq!(Extension::of_name("photo.png "), None);
    }

    #[test]
    fn every_extension_round_trips() {
        for e in Extension::ALL {
            assert_eq!(Extension::parse(e.as_str()), Ok(e));
            assert_eq!(serde_json::to_string(&e).expect("json"), format!("\"{e}\""));
        }
    }

    #[test]
    fn parses_unmoderated_images() {
        assert_eq!(UnmoderatedImages::parse("convert"), Ok(UnmoderatedImages::Convert));
        assert_eq!(UnmoderatedImages::parse("allow"), Ok(UnmoderatedImages::Allow));
        assert_eq!(UnmoderatedImages::parse("yes"), Err(PolicyError::UnknownUnmoderatedImages("yes".into())));
        assert_eq!(UnmoderatedImages::default(), UnmoderatedImages::Reject);
    }
}
