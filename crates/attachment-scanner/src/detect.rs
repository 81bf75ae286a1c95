//! What a file is, from its bytes alone. The name is checked against this afterwards (in
//! [`crate::scan`]), never used to decide it.
//!
//! Magic numbers come from the `infer` crate; on top of it this module does three things of its
//! own: executables and scripts are recognised first, whatever `infer`'s table order says; an
//! Office Open XML document is told from a plain ZIP by its central directory (see [`crate::zip`]),
//! not by the first local headers; and a file no magic number matches is text only if
//! [`crate::text::check_text`] accepts it.

use serde::{Deserialize, Serialize};

use crate::text::check_text;
use crate::zip::{self, Container};

/// A file's type as its content shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FileKind {
    /// PNG image.
    Png,
    /// JPEG image (JFIF or Exif).
    Jpeg,
    /// HEIF image with the HEIC brand.
    Heic,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// Another image format (TIFF, BMP, AVIF, ...).
    OtherImage,
    /// PDF document.
    Pdf,
    /// Rich Text Format.
    Rtf,
    /// Word 97-2003 (OLE compound file).
    Doc,
    /// Excel 97-2003 (OLE compound file).
    Xls,
    /// PowerPoint 97-2003 (OLE compound file).
    Ppt,
    /// Word Office Open XML (a ZIP package).
    Docx,
    /// Excel Office Open XML (a ZIP package).
    Xlsx,
    /// PowerPoint Office Open XML (a ZIP package).
    Pptx,
    /// WAVE audio.
    Wav,
    /// QuickTime movie.
    Mov,
    /// MPEG-4 video.
    Mp4,
    /// Other audio or video.
    OtherMedia,
    /// UTF-8 text without control characters other than whitespace (`.txt`, `.csv`).
    Text,
    /// HTML (markup a browser would run scripts in).
    Html,
    /// XML.
    Xml,
    /// A ZIP archive that is not an Office Open XML document.
    Zip,
    /// Another archive or compressed format (tar, gzip, 7z, RAR, ...).
    OtherArchive,
    /// Native or byte code: ELF, PE (MZ), Mach-O, WebAssembly, Java class, DEX, MSI.
    Executable,
    /// A script with an interpreter line (`#!`).
    Script,
    /// Recognised, but none of the above (fonts, databases, ...).
    Other,
    /// Binary data no magic number matches.
    Unknown,
}

impl FileKind {
    /// The stable code, as serialised: `png`, `docx`, `other-archive`, ...
    pub fn code(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Heic => "heic",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::OtherImage => "other-image",
            Self::Pdf => "pdf",
            Self::Rtf => "rtf",
            Self::Doc => "doc",
            Self::Xls => "xls",
            Self::Ppt => "ppt",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Pptx => "pptx",
            Self::Wav => "wav",
            Self::Mov => "mov",
            Self::Mp4 => "mp4",
            Self::OtherMedia => "other-media",
            Self::Text => "text",
            Self::Html => "html",
            Self::Xml => "xml",
            Self::Zip => "zip",
            Self::OtherArchive => "other-archive",
            Self::Executable => "executable",
            Self::Script => "script",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }

    /// An archive: ZIP (not OOXML) or another archive or compressed format.
    pub fn is_archive(self) -> bool {
        matches!(self, Self::Zip | Self::OtherArchive)
    }

    /// Runs as code: an executable or a script.
    pub fn is_executable(self) -> bool {
        matches!(self, Self::Executable | Self::Script)
    }

    /// An image format.
    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Heic | Self::Gif | Self::Webp | Self::OtherImage)
    }

    /// A ZIP container: what may legitimately end with a ZIP end of central directory record.
    fn is_zip_container(self) -> bool {
        matches!(self, Self::Zip | Self::Docx | Self::Xlsx | Self::Pptx)
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The image formats Rekognition's `DetectModerationLabels` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
}

/// What [`inspect`] found: the type, and facts the policy needs beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detection {
    pub(crate) kind: FileKind,
    /// An Office Open XML package with a `vbaProject.bin` part.
    pub(crate) macros: bool,
}

/// Detects the type of `bytes` from their content. An empty slice is [`FileKind::Unknown`].
pub fn detect(bytes: &[u8]) -> FileKind {
    inspect(bytes).kind
}

/// ELF, PE/MZ, Mach-O (thin and fat, both byte orders), WebAssembly, DEX, or a `#!` line. Checked
/// before `infer`, so no table order can make an executable something else.
fn native_or_script(bytes: &[u8]) -> Option<FileKind> {
    const EXECUTABLE: [&[u8]; 9] = [
        b"\x7fELF",
        b"MZ",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe", // Mach-O fat binary or Java class: code either way
        b"\0asm",
        b"dex\n",
    ];
    if EXECUTABLE.iter().any(|m| bytes.starts_with(m)) {
        return Some(FileKind::Executable);
    }
    // The kernel needs `#!` at byte 0, but an interpreter handed the file may skip a UTF-8
    // byte-order mark first: a script either way.
    let body = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    body.starts_with(b"#!").then_some(FileKind::Script)
}

pub(crate) fn inspect(bytes: &[u8]) -> Detection {
    let plain = |kind| Detection { kind, macros: false };
    if bytes.is_empty() {
        return plain(FileKind::Unknown);
    }
    if let Some(kind) = native_or_script(bytes) {
        return plain(kind);
    }
    if bytes.starts_with(&zip::LOCAL_SIGNATURE) {
        return match zip::classify(bytes) {
            Some(c) => Detection {
                kind: match c.container {
                    Container::Docx => FileKind::Docx,
                    Container::Xlsx => FileKind::Xlsx,
                    Container::Pptx => FileKind::Pptx,
                    Container::Zip => FileKind::Zip,
                },
                macros: c.macros,
            },
            // Starts like a ZIP but is not a well-formed one: still an archive to many readers.
            None => plain(FileKind::Zip),
        };
    }
    let Some(found) = infer::get(bytes) else {
        return plain(if check_text(bytes).is_ok() { FileKind::Text } else { FileKind::Unknown });
    };
    plain(from_infer(found.extension(), found.matcher_type(), bytes))
}

/// Maps `infer`'s answer (by its extension name, which is stable across its releases) to a kind.
fn from_infer(extension: &str, matcher: infer::MatcherType, bytes: &[u8]) -> FileKind {
    use infer::MatcherType as M;
    match extension {
        "png" => FileKind::Png,
        "jpg" => FileKind::Jpeg,
        "heif" => FileKind::Heic,
        "gif" => FileKind::Gif,
        "webp" => FileKind::Webp,
        "pdf" => FileKind::Pdf,
        "rtf" => FileKind::Rtf,
        "doc" => FileKind::Doc,
        "xls" => FileKind::Xls,
        "ppt" => FileKind::Ppt,
        "wav" => FileKind::Wav,
        "mov" => FileKind::Mov,
        "mp4" => FileKind::Mp4,
        "html" => FileKind::Html,
        "xml" => FileKind::Xml,
        "sh" => FileKind::Script,
        // An OLE compound file infer cannot place (MSI installers among them).
        "msi" => FileKind::Executable,
        // A PEM block is text (a certificate someone shares).
        "pem" if check_text(bytes).is_ok() => FileKind::Text,
        "epub" | "zip" => FileKind::Zip,
        _ => match matcher {
            M::App => FileKind::Executable,
            M::Image => FileKind::OtherImage,
            M::Video | M::Audio => FileKind::OtherMedia,
            M::Archive => FileKind::OtherArchive,
            M::Text => FileKind::Text,
            _ => FileKind::Other,
        },
    }
}

/// The polyglot rules: ways a file of one type is also read as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polyglot {
    /// Ends with a ZIP end of central directory record but is not a ZIP container: ZIP readers
    /// open it from the end.
    TrailingZip,
    /// Not a PDF, but `%PDF-` within the first 1024 bytes, where PDF readers look for the header.
    EmbeddedPdfHeader,
}

/// How far into a file PDF readers search for `%PDF-` (the PDF 1.7 reference's implementation
/// note 13 allows the header anywhere in the first 1024 bytes).
const PDF_HEADER_WINDOW: usize = 1024;

/// Checks the polyglot rules for a file detected as `kind`.
pub(crate) fn polyglot(bytes: &[u8], kind: FileKind) -> Option<Polyglot> {
    if !kind.is_zip_container() && zip::ends_with_zip(bytes) {
        return Some(Polyglot::TrailingZip);
    }
    let head = bytes.get(..PDF_HEADER_WINDOW).unwrap_or(bytes);
    if kind != FileKind::Pdf && head.windows(5).any(|w| w == b"%PDF-") {
        return Some(Polyglot::EmbeddedPdfHeader);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zip::fixture;

    #[test]
    fn detects_executables_whatever_follows() {
        let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
        elf.resize(120, 0);
        assert_eq!(detect(&elf), FileKind::Executable);
        // Shorter than infer's own ELF check needs: still an executable.
        assert_eq!(detect(b"\x7fELF\x02"), FileKind::Executable);
        assert_eq!(detect(b"MZ\x90\x00\x03\x00\x00\x00"), FileKind::Executable);
        assert_eq!(detect(b"\xcf\xfa\xed\xfe\x07\x00\x00\x01"), FileKind::Executable);
        assert_eq!(detect(b"\0asm\x01\0\0\0"), FileKind::Executable);
        assert_eq!(detect(b"#!/bin/sh\nrm -rf /\n"), FileKind::Script);
        assert_eq!(detect(b"\xef\xbb\xbf#!/usr/bin/env python3\n"), FileKind::Script);
    }

    #[test]
    fn detects_documents_and_media() {
        assert_eq!(detect(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), FileKind::Pdf);
        assert_eq!(detect(br"{\rtf1\ansi hello}"), FileKind::Rtf);
        assert_eq!(detect(&fixture::docx()), FileKind::Docx);
        let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        wav.resize(44, 0);
        assert_eq!(detect(&wav), FileKind::Wav);
        assert_eq!(detect(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), FileKind::Heic);
        assert_eq!(detect(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), FileKind::Mp4);
    }

    #[test]
    fn a_plain_zip_and_other_archives_are_archives() {
        assert_eq!(detect(&fixture::zip(&[("a.txt", b"x")])), FileKind::Zip);
        assert_eq!(detect(b"\x1f\x8b\x08\x00\x00\x00\x00\x00"), FileKind::OtherArchive);
        assert_eq!(detect(b"7z\xbc\xaf\x27\x1c\x00\x04"), FileKind::OtherArchive);
        // A broken ZIP is still a ZIP, not a document.
        assert_eq!(detect(b"PK\x03\x04garbage"), FileKind::Zip);
    }

    #[test]
    fn text_is_what_no_magic_number_matches_and_check_text_accepts() {
        assert_eq!(detect(b"name,amount\nJane,12.50\n"), FileKind::Text);
        assert_eq!(detect(b"bad \xff utf-8"), FileKind::Unknown);
        assert_eq!(detect(b"bell\x07"), FileKind::Unknown);
        assert_eq!(detect(b"<html><script>alert(1)</script>"), FileKind::Html);
        assert_eq!(detect(b""), FileKind::Unknown);
    }

    #[test]
    fn polyglot_rules() {
        let mut png_zip = b"\x89PNG\r\n\x1a\n".to_vec();
        png_zip.extend_from_slice(&fixture::zip(&[("x.exe", b"MZ")]));
        assert_eq!(polyglot(&png_zip, FileKind::Png), Some(Polyglot::TrailingZip));
        assert_eq!(polyglot(&fixture::docx(), FileKind::Docx), None);
        let mut jpeg_pdf = b"\xff\xd8\xff\xe0 comment %PDF-1.4 obj".to_vec();
        jpeg_pdf.resize(2000, 0);
        assert_eq!(polyglot(&jpeg_pdf, FileKind::Jpeg), Some(Polyglot::EmbeddedPdfHeader));
        assert_eq!(polyglot(b"%PDF-1.7 real pdf", FileKind::Pdf), None);
        // Past the window PDF readers search, the marker is just bytes.
        let mut late = vec![b'a'; PDF_HEADER_WINDOW];
        late.extend_from_slice(b"%PDF-1.4");
        assert_eq!(polyglot(&late, FileKind::Text), None);
    }
}
