//! The pure checks in order: size, content type, the name against it, then the content itself.

use crate::detect::{FileKind, Polyglot, inspect, polyglot};
use crate::image_check::{ImageError, check_image};
use crate::policy::{Extension, Policy, UnmoderatedImages};
use crate::text::check_text;
use crate::verdict::{Reason, Verdict};

/// What the caller says about the file, besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts<'a> {
    /// The file name the uploader gave (Connect's `FileName`). Only its extension and its
    /// SHA-256 are used.
    pub name: &'a str,
    /// The size Connect declared (`FileSizeInBytes`), when there is one.
    pub declared_size: Option<u64>,
}

/// Scans a file held in memory: no I/O, no clock, the same answer for the same input.
///
/// In order, stopping at the first group that rejects:
/// 1. empty, larger than `policy.max_size`, or not the declared size;
/// 2. the content: an executable or script, an archive (unless allowed), an Office document
///    with macros, a polyglot; and the name: an extension outside the allowed set, or content of
///    another type than the extension says (both groups are reported together);
/// 3. the content in depth: text must pass [`check_text`], an image must decode within
///    `policy.image_limits`; HEIC, GIF and WebP follow `policy.unmoderated_images`.
///
/// An approved verdict may still need moderation: see [`Verdict::moderation_request`] and
/// [`crate::ModerationRequest::image_bytes`].
pub fn scan(bytes: &[u8], file: &FileFacts<'_>, policy: &Policy) -> Verdict {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    let mut v = Verdict::new(file.name, size);
    if bytes.is_empty() {
        v.reject(Reason::Empty);
        return v;
    }
    if size > policy.max_size {
        v.reject_with(Reason::TooLarge, format_args!("{size} bytes, the maximum is {}", policy.max_size));
        return v;
    }
    if let Some(declared) = file.declared_size
        && declared != size
    {
        v.reject_with(Reason::SizeMismatch, format_args!("{size} bytes read, {declared} declared"));
        return v;
    }

    let found = inspect(bytes);
    let kind = found.kind;
    v.detected = Some(kind);
    if kind.is_executable() {
        v.reject(Reason::Executable);
    } else if kind.is_archive() && !policy.allow_archives {
        v.reject(Reason::Archive);
    } else if found.macros {
        v.reject(Reason::Macro);
    } else if let Some(rule) = polyglot(bytes, kind) {
        v.reject_with(
            Reason::Polyglot,
            match rule {
                Polyglot::TrailingZip => "ends with a ZIP archive",
                Polyglot::EmbeddedPdfHeader => "has a PDF header within its first 1024 bytes",
            },
        );
    }
    let Some(ext) = Extension::of_name(file.name).filter(|e| policy.allowed.contains(e)) else {
        v.reject_with(Reason::TypeNotAllowed, "the file name's extension is not in the allowed set");
        return v;
    };
    let expected = ext.kind();
    if kind != expected {
        // Text with a bad byte has no other type: say what is wrong with it.
        match (expected, check_text(bytes)) {
            (FileKind::Text, Err(e)) if kind == FileKind::Unknown => v.reject_with(Reason::TextInvalid, e),
            _ => v.reject_with(Reason::NameContentMismatch, format_args!("named .{ext}, content is {kind}")),
        }
    }
    if !v.is_approved() {
        return v;
    }

    match kind {
        FileKind::Png | FileKind::Jpeg | FileKind::Gif | FileKind::Webp => image(&mut v, bytes, kind, policy),
        FileKind::Heic if policy.unmoderated_images != UnmoderatedImages::Allow => {
            v.reject_with(Reason::ImageUnsupported, "HEIC cannot be decoded or moderated here");
        }
        _ => {}
    }
    v
}

fn image(v: &mut Verdict, bytes: &[u8], kind: FileKind, policy: &Policy) {
    match check_image(bytes, kind, &policy.image_limits) {
        Ok(info) => v.image = Some(info),
        Err(e) => {
            let reason = match e {
                ImageError::DimensionsTooLarge { .. } | ImageError::AllocationTooLarge => Reason::ImageTooLarge,
                ImageError::TrailingData => Reason::Polyglot,
                ImageError::Unsupported(_) => Reason::ImageUnsupported,
                _ => Reason::ImageCorrupt,
            };
            return v.reject_with(reason, e);
        }
    }
    let convertible = matches!(kind, FileKind::Gif | FileKind::Webp);
    if convertible && policy.unmoderated_images == UnmoderatedImages::Reject && policy.moderation.enabled {
        v.reject_with(Reason::ImageUnsupported, format_args!("{kind} is not moderated unless converted"));
    }
}

#[cfg(test)]
mod tests {
    use image::ImageFormat as Codec;

    use super::*;
    use crate::image_check::check_image;
    use crate::image_check::fixture::{bomb, encoded};
    use crate::zip::fixture::{docx, zip};
    use crate::{ImageFormat, ModerationPolicy, Status};

    fn run(bytes: &[u8], name: &str) -> Verdict {
        run_with(bytes, name, &Policy::default())
    }

    fn run_with(bytes: &[u8], name: &str, policy: &Policy) -> Verdict {
        let declared = Some(u64::try_from(bytes.len()).expect("fits"));
        scan(bytes, &FileFacts { name, declared_size: declared }, policy)
    }

    fn elf() -> Vec<u8> {
        let mut b = b"\x7fELF\x02\x01\x01\x00".to_vec();
        b.resize(16, 0);
        b.extend_from_slice(&[2, 0, 183, 0, 1, 0, 0, 0]); // ET_EXEC, EM_AARCH64, EV_CURRENT
        b.resize(256, 0);
        b
    }

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

    #[test]
    fn approves_a_png_and_asks_for_its_moderation() {
        let png = encoded(40, 30, Codec::Png);
        let v = run(&png, "photo.PNG");
        assert_eq!((v.status, v.detected), (Status::Approved, Some(FileKind::Png)), "{v}");
        assert_eq!(v.image.map(|i| (i.width, i.height)), Some((40, 30)));
        let req = v.moderation_request(&Policy::default()).expect("moderate");
        assert_eq!((req.format, req.convert_to_png, req.fits_in_bytes()), (ImageFormat::Png, false, true));
    }

    #[test]
    fn approves_a_jpeg_under_each_of_its_extensions() {
        let jpeg = encoded(17, 9, Codec::Jpeg);
        for name in ["a.jpg", "b.jpeg", "c.JFIF"] {
            let v = run(&jpeg, name);
            assert!(v.is_approved(), "{name}: {v}");
            assert_eq!(v.moderation_request(&Policy::default()).map(|r| r.format), Some(ImageFormat::Jpeg));
        }
    }

    #[test]
    fn approves_pdf_text_csv_and_docx_without_moderation() {
        for (bytes, name, kind) in [
            (PDF.to_vec(), "invoice.pdf", FileKind::Pdf),
            (b"Order 1234 arrived damaged.\r\nPlease call.\n".to_vec(), "notes.txt", FileKind::Text),
            ("name,amount\nJosé,12.50\n".as_bytes().to_vec(), "refund.csv", FileKind::Text),
            (docx(), "letter.docx", FileKind::Docx),
        ] {
            let v = run(&bytes, name);
            assert!(v.is_approved(), "{name}: {v}");
            assert_eq!(v.detected, Some(kind));
            assert_eq!(v.moderation_request(&Policy::default()), None, "{name}");
        }
    }

    #[test]
    fn rejects_an_elf_named_png_as_executable_and_mismatched() {
        let v = run(&elf(), "holiday.png");
        assert_eq!(v.status, Status::Rejected);
        assert_eq!(v.reasons, [Reason::Executable, Reason::NameContentMismatch]);
        assert_eq!(v.detected, Some(FileKind::Executable));
        assert_eq!(v.image, None, "never decoded");
    }

    #[test]
    fn rejects_scripts_and_html_named_as_text() {
        assert_eq!(
            run(b"#!/bin/sh\ncurl x | sh\n", "notes.txt").reasons,
            [Reason::Executable, Reason::NameContentMismatch]
        );
        assert_eq!(run(b"<html><body onload=x()>", "page.txt").reasons, [Reason::NameContentMismatch]);
        assert_eq!(run(PDF, "not-really.txt").reasons, [Reason::NameContentMismatch]);
    }

    #[test]
    fn rejects_a_png_zip_polyglot() {
        let mut bytes = encoded(8, 8, Codec::Png);
        bytes.extend_from_slice(&zip(&[("run.exe", b"MZ\x90\x00")]));
        let v = run(&bytes, "cat.png");
        assert_eq!(v.reasons, [Reason::Polyglot]);
        assert_eq!(v.detected, Some(FileKind::Png));
    }

    #[test]
    fn rejects_other_polyglots() {
        // Bytes after IEND (without a ZIP).
        let mut trailing = encoded(8, 8, Codec::Png);
        trailing.extend_from_slice(b"<script>alert(1)</script>");
        assert_eq!(run(&trailing, "cat.png").reasons, [Reason::Polyglot]);
        // A JPEG whose comment segment holds a PDF header.
        let jpeg = encoded(8, 8, Codec::Jpeg);
        let comment = b"\xff\xfe\x00\x0c%PDF-1.4 \n";
        let mut pdf_jpeg = jpeg.get(..2).expect("SOI").to_vec();
        pdf_jpeg.extend_from_slice(comment);
        pdf_jpeg.extend_from_slice(jpeg.get(2..).expect("rest"));
        assert_eq!(run(&pdf_jpeg, "x.jpg").reasons, [Reason::Polyglot]);
        // Text that ZIP readers would open.
        let mut text_zip = b"just notes\n".to_vec();
        text_zip.extend_from_slice(&zip(&[("a", b"b")]));
        assert!(run(&text_zip, "notes.txt").reasons.contains(&Reason::Polyglot));
    }

    #[test]
    fn rejects_truncated_and_corrupt_images() {
        let png = encoded(64, 48, Codec::Png);
        let v = run(png.get(..png.len() * 2 / 3).expect("cut"), "cut.png");
        assert_eq!(v.reasons, [Reason::ImageCorrupt]);
        let jpeg = encoded(64, 48, Codec::Jpeg);
        assert_eq!(run(jpeg.get(..jpeg.len() - 40).expect("cut"), "cut.jpg").reasons, [Reason::ImageCorrupt]);
        let mut flipped = png.clone();
        if let Some(b) = flipped.get_mut(40) {
            *b ^= 0xff;
        }
        assert_eq!(run(&flipped, "flip.png").reasons, [Reason::ImageCorrupt]);
    }

    #[test]
    fn rejects_a_decompression_bomb() {
        let v = run(&bomb(60_000, 60_000), "bomb.png");
        assert_eq!(v.reasons, [Reason::ImageTooLarge]);
        assert_eq!(v.detail.as_deref(), Some("image declares 60000 x 60000 pixels, more than the limit"));
    }

    #[test]
    fn rejects_empty_too_large_and_mis_sized_files() {
        assert_eq!(run(b"", "empty.txt").reasons, [Reason::Empty]);
        let small = Policy { max_size: 10, ..Policy::default() };
        assert_eq!(run_with(b"eleven bytes", "a.txt", &small).reasons, [Reason::TooLarge]);
        let v = scan(b"hello", &FileFacts { name: "a.txt", declared_size: Some(4) }, &Policy::default());
        assert_eq!(v.reasons, [Reason::SizeMismatch]);
        assert_eq!(v.detail.as_deref(), Some("5 bytes read, 4 declared"));
        assert!(scan(b"hello", &FileFacts { name: "a.txt", declared_size: None }, &Policy::default()).is_approved());
    }

    #[test]
    fn rejects_invalid_text_saying_where_not_what() {
        let v = run(b"SECRET-MARKER \xff\xfe", "notes.txt");
        assert_eq!(v.reasons, [Reason::TextInvalid]);
        assert_eq!(v.detail.as_deref(), Some("not valid UTF-8 at byte 14"));
        let v = run(b"a,b\nSECRET\x1b[31m,c\n", "data.csv");
        assert_eq!(v.reasons, [Reason::TextInvalid]);
        let json = serde_json::to_string(&v).expect("json");
        assert!(!json.contains("SECRET") && !json.contains("data.csv"), "{json}");
    }

    #[test]
    fn names_decide_the_allowed_set() {
        let text = b"plain words\n";
        assert_eq!(run(text, "README").reasons, [Reason::TypeNotAllowed]);
        assert_eq!(run(text, "notes.txt.exe").reasons, [Reason::TypeNotAllowed]);
        assert_eq!(run(text, "notes.md").reasons, [Reason::TypeNotAllowed]);
        let only_pdf = Policy { allowed: Policy::parse_allowed("pdf").expect("list"), ..Policy::default() };
        assert_eq!(run_with(text, "notes.txt", &only_pdf).reasons, [Reason::TypeNotAllowed]);
        assert!(run_with(PDF, "a.pdf", &only_pdf).is_approved());
    }

    #[test]
    fn office_documents_are_not_archives_but_zips_are() {
        assert_eq!(run(&docx(), "letter.xlsx").reasons, [Reason::NameContentMismatch]);
        let plain = zip(&[("photo.png", b"\x89PNG")]);
        assert_eq!(run(&plain, "letter.docx").reasons, [Reason::Archive, Reason::NameContentMismatch]);
        assert_eq!(run(&docx(), "letter.zip").reasons, [Reason::TypeNotAllowed]);
        let mut allowed = Policy { allow_archives: true, ..Policy::default() };
        assert_eq!(run_with(&plain, "photos.zip", &allowed).reasons, [Reason::TypeNotAllowed], "zip not in the set");
        allowed.allowed.insert(Extension::Zip);
        assert!(run_with(&plain, "photos.zip", &allowed).is_approved());
        assert_eq!(
            run_with(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "a.zip", &allowed).reasons,
            [Reason::NameContentMismatch]
        );
    }

    #[test]
    fn rejects_office_documents_with_macros() {
        let docm =
            zip(&[("[Content_Types].xml", b"<T/>"), ("word/document.xml", b"<w/>"), ("word/vbaProject.bin", b"x")]);
        assert_eq!(run(&docm, "letter.docx").reasons, [Reason::Macro]);
    }

    #[test]
    fn heic_follows_the_unmoderated_images_policy() {
        let heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic\x00\x00\x00\x08free";
        assert_eq!(run(heic, "IMG_0001.HEIC").reasons, [Reason::ImageUnsupported]);
        let convert = Policy { unmoderated_images: UnmoderatedImages::Convert, ..Policy::default() };
        assert_eq!(run_with(heic, "IMG_0001.HEIC", &convert).reasons, [Reason::ImageUnsupported]);
        let allow = Policy { unmoderated_images: UnmoderatedImages::Allow, ..Policy::default() };
        let v = run_with(heic, "IMG_0001.HEIC", &allow);
        assert!(v.is_approved(), "{v}");
        assert_eq!(v.moderation_request(&allow), None);
    }

    #[test]
    fn gif_and_webp_are_rejected_converted_or_let_through_by_policy() {
        let gif = encoded(12, 12, Codec::Gif);
        let mut policy = Policy::default();
        policy.allowed.insert(Extension::Gif);
        assert_eq!(run_with(&gif, "a.gif", &policy).reasons, [Reason::ImageUnsupported]);
        policy.unmoderated_images = UnmoderatedImages::Convert;
        let v = run_with(&gif, "a.gif", &policy);
        assert!(v.is_approved(), "{v}");
        assert_eq!(v.moderation_request(&policy).map(|r| r.convert_to_png), Some(true));
        policy.unmoderated_images = UnmoderatedImages::Allow;
        let v = run_with(&gif, "a.gif", &policy);
        assert!(v.is_approved() && v.moderation_request(&policy).is_none());
        // Moderation off: nothing is moderated, so a GIF is no different from a PNG.
        policy.unmoderated_images = UnmoderatedImages::Reject;
        policy.moderation = ModerationPolicy { enabled: false, ..ModerationPolicy::default() };
        assert!(run_with(&gif, "a.gif", &policy).is_approved());
        // Not allowed by default at all.
        assert_eq!(run(&gif, "a.gif").reasons, [Reason::TypeNotAllowed]);
    }

    /// A valid PNG padded past `size` with an ancillary chunk (decoders skip it).
    fn padded_png(width: u32, height: u32, size: usize) -> Vec<u8> {
        let png = encoded(width, height, Codec::Png);
        let (head, tail) = png.split_at(33); // signature + IHDR
        let filler = vec![0u8; size];
        let mut big = head.to_vec();
        big.extend_from_slice(&u32::try_from(filler.len()).expect("fits").to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(b"zzZz");
        crc.update(&filler);
        big.extend_from_slice(b"zzZz");
        big.extend_from_slice(&filler);
        big.extend_from_slice(&crc.sum().to_be_bytes());
        big.extend_from_slice(tail);
        big
    }

    fn rekognition_bytes(bytes: &[u8], name: &str, policy: &Policy) -> Result<Vec<u8>, Reason> {
        let v = run_with(bytes, name, policy);
        assert!(v.is_approved(), "{v}");
        let req = v.moderation_request(policy).expect("an image to moderate");
        req.image_bytes(bytes, &policy.image_limits).map(|b| b.into_owned())
    }

    #[test]
    fn a_small_png_or_jpeg_goes_to_rekognition_as_it_is() {
        for (bytes, name) in [(encoded(30, 20, Codec::Png), "a.png"), (encoded(30, 20, Codec::Jpeg), "a.jpg")] {
            assert_eq!(rekognition_bytes(&bytes, name, &Policy::default()), Ok(bytes));
        }
    }

    #[test]
    fn a_gif_goes_to_rekognition_as_png_under_convert() {
        let mut policy = Policy { unmoderated_images: UnmoderatedImages::Convert, ..Policy::default() };
        policy.allowed.insert(Extension::Gif);
        let sent = rekognition_bytes(&encoded(20, 10, Codec::Gif), "a.gif", &policy).expect("converted");
        assert_eq!(crate::detect(&sent), FileKind::Png);
        assert_eq!(check_image(&sent, FileKind::Png, &policy.image_limits).map(|i| (i.width, i.height)), Ok((20, 10)));
    }

    #[test]
    fn an_image_over_rekognitions_5_mb_is_sent_as_a_smaller_jpeg() {
        let policy = Policy::default();
        let big = padded_png(4, 4, 15_000_001);
        let sent = rekognition_bytes(&big, "big.png", &policy).expect("shrunk");
        assert!(sent.len() < 5_000_000 && crate::detect(&sent) == FileKind::Jpeg);
        assert_eq!(check_image(&sent, FileKind::Jpeg, &policy.image_limits).map(|i| (i.width, i.height)), Ok((4, 4)));
        // Wider than MODERATION_MAX_SIDE: scaled to fit, proportions kept.
        let wide = padded_png(5000, 10, 5_000_001);
        let sent = rekognition_bytes(&wide, "wide.png", &policy).expect("shrunk");
        assert_eq!(
            check_image(&sent, FileKind::Jpeg, &policy.image_limits).map(|i| (i.width, i.height)),
            Ok((4096, 8))
        );
    }

    #[test]
    fn the_verdict_holds_the_name_only_as_its_hash() {
        let v = run(b"hello\n", "jane-doe-passport-7731.txt");
        assert_eq!(v.name_sha256, crate::name_sha256("jane-doe-passport-7731.txt"));
        let json = serde_json::to_string(&v).expect("json");
        assert!(!json.contains("jane") && !json.contains("hello"), "{json}");
        assert!(!v.to_string().contains("jane"));
    }
}
