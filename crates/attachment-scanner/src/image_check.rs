//! Images are decoded in full, within limits, so a truncated or corrupt image and a
//! decompression bomb are refused before anything else (Rekognition included) sees them.

use std::io::Cursor;

use image::{ImageFormat as Codec, ImageReader, Limits};
use serde::{Deserialize, Serialize};

use crate::detect::FileKind;
use crate::policy::ImageLimits;

/// What the decode established about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The format it decoded as.
    pub format: FileKind,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why an image was refused. Carries no pixel data and no decoder message (which could quote
/// file bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// Its declared dimensions exceed the limits (a decompression bomb declares huge ones).
    DimensionsTooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// Decoding would allocate more than the limit.
    AllocationTooLarge,
    /// The decoder failed, or a JPEG does not end with its end-of-image marker: truncated,
    /// corrupt, or not what its magic number says.
    Corrupt,
    /// Bytes after the PNG's `IEND` chunk (see the polyglot rules).
    TrailingData,
    /// No decoder for this format here (HEIC), or not an image kind.
    Unsupported(FileKind),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DimensionsTooLarge { width, height } => {
                write!(f, "image declares {width} x {height} pixels, more than the limit")
            }
            Self::AllocationTooLarge => f.write_str("decoding the image would take more memory than the limit"),
            Self::Corrupt => f.write_str("the image does not decode: truncated or corrupt"),
            Self::TrailingData => f.write_str("data follows the end of the PNG image"),
            Self::Unsupported(k) => write!(f, "no decoder for {k} images"),
        }
    }
}

impl std::error::Error for ImageError {}

fn codec(kind: FileKind) -> Result<Codec, ImageError> {
    match kind {
        FileKind::Png => Ok(Codec::Png),
        FileKind::Jpeg => Ok(Codec::Jpeg),
        FileKind::Gif => Ok(Codec::Gif),
        FileKind::Webp => Ok(Codec::WebP),
        other => Err(ImageError::Unsupported(other)),
    }
}

fn map_error(e: &image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(_) => ImageError::AllocationTooLarge,
        _ => ImageError::Corrupt,
    }
}

/// Decodes `bytes` as `kind` (PNG, JPEG, GIF or WebP; the first frame of an animation) within
/// `limits`. The dimensions are read from the header and checked first, so a bomb is refused
/// before its pixels are inflated; then the whole image is decoded, so truncation anywhere shows.
pub fn check_image(bytes: &[u8], kind: FileKind, limits: &ImageLimits) -> Result<ImageInfo, ImageError> {
    decode(bytes, kind, limits).map(|(info, _)| info)
}

/// Decodes like [`check_image`] and re-encodes the image as PNG: how a GIF or WebP is moderated
/// (Rekognition takes PNG and JPEG only) under [`crate::UnmoderatedImages::Convert`].
pub fn to_png(bytes: &[u8], kind: FileKind, limits: &ImageLimits) -> Result<Vec<u8>, ImageError> {
    let (_, image) = decode(bytes, kind, limits)?;
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, Codec::Png).map_err(|e| map_error(&e))?;
    Ok(out.into_inner())
}

/// The longest side of an image re-encoded for Rekognition because it is over the size limit.
/// Rekognition's moderation works on far smaller images; this keeps detail and fits in 5 MB.
pub const MODERATION_MAX_SIDE: u32 = 4096;

/// Re-encodes `bytes` (decoded as `kind`) as a JPEG (quality 90) no larger than
/// [`MODERATION_MAX_SIDE`] on either side, for an image too large to send to Rekognition as it
/// is. Fails with [`ImageError::AllocationTooLarge`] if even that exceeds `max_bytes`.
pub(crate) fn shrink_for_moderation(
    bytes: &[u8],
    kind: FileKind,
    limits: &ImageLimits,
    max_bytes: u64,
) -> Result<Vec<u8>, ImageError> {
    let (_, image) = decode(bytes, kind, limits)?;
    let image = if image.width() > MODERATION_MAX_SIDE || image.height() > MODERATION_MAX_SIDE {
        image.resize(MODERATION_MAX_SIDE, MODERATION_MAX_SIDE, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let mut out = Cursor::new(Vec::new());
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    // JPEG has no alpha: moderate what is visible on a flat background.
    image.to_rgb8().write_with_encoder(encoder).map_err(|e| map_error(&e))?;
    let out = out.into_inner();
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > max_bytes {
        return Err(ImageError::AllocationTooLarge);
    }
    Ok(out)
}

fn decode(bytes: &[u8], kind: FileKind, limits: &ImageLimits) -> Result<(ImageInfo, image::DynamicImage), ImageError> {
    let format = codec(kind)?;
    if kind == FileKind::Png {
        png_structure(bytes)?;
    }
    // The JPEG decoder fills a truncated scan with grey rather than failing: the end-of-image
    // marker (ITU T.81, B.2.1: EOI, FF D9) must be the last two bytes.
    if kind == FileKind::Jpeg && !bytes.ends_with(&[0xff, 0xd9]) {
        return Err(ImageError::Corrupt);
    }
    let (width, height) =
        ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(|e| map_error(&e))?;
    if width > limits.max_width || height > limits.max_height || width == 0 || height == 0 {
        return Err(ImageError::DimensionsTooLarge { width, height });
    }
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_width);
    l.max_image_height = Some(limits.max_height);
    l.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(l);
    let image = reader.decode().map_err(|e| map_error(&e))?;
    if (image.width(), image.height()) != (width, height) {
        return Err(ImageError::Corrupt);
    }
    Ok((ImageInfo { format: kind, width, height }, image))
}

/// Walks the PNG chunk list (PNG specification, 5.3: length, type, data, CRC) to its `IEND` and
/// refuses anything after it: a PNG decoder stops at `IEND`, so bytes there are for some other
/// reader.
fn png_structure(bytes: &[u8]) -> Result<(), ImageError> {
    const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
    let mut rest = bytes.strip_prefix(SIGNATURE).ok_or(ImageError::Corrupt)?;
    loop {
        let (length, tail) = rest.split_first_chunk::<4>().ok_or(ImageError::Corrupt)?;
        let (kind, tail) = tail.split_first_chunk::<4>().ok_or(ImageError::Corrupt)?;
        let length = usize::try_from(u32::from_be_bytes(*length)).map_err(|_| ImageError::Corrupt)?;
        // Data and the 4-byte CRC.
        let skip = length.checked_add(4).ok_or(ImageError::Corrupt)?;
        rest = tail.get(skip..).ok_or(ImageError::Corrupt)?;
        if kind == b"IEND" {
            return if rest.is_empty() { Ok(()) } else { Err(ImageError::TrailingData) };
        }
    }
}

/// Test images made with the `image` crate's own encoders, and a PNG built chunk by chunk for the
/// malformed cases.
#[cfg(test)]
pub(crate) mod fixture {
    use std::io::Cursor;

    use image::{ImageFormat, Rgb, RgbImage};

    /// A `width` x `height` RGB gradient, encoded as `format`.
    pub(crate) fn encoded(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| {
            Rgb([u8::try_from(x * 7 % 256).unwrap_or(0), u8::try_from(y * 5 % 256).unwrap_or(0), 90])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    /// A PNG of `width` x `height` 8-bit greyscale whose IDAT is the zlib stream of
    /// `height` rows of zeros: tiny on disk, huge once inflated.
    pub(crate) fn bomb(width: u32, height: u32) -> Vec<u8> {
        use std::io::Write as _;
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        }
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        // Compress only the first rows: the decoder must give up on the header, not on the data.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let row = vec![0u8; usize::try_from(width).expect("fits") + 1];
        for _ in 0..height.min(64) {
            z.write_all(&row).expect("deflate");
        }
        chunk(&mut out, b"IDAT", &z.finish().expect("deflate"));
        chunk(&mut out, b"IEND", b"");
        out
    }
}

#[cfg(test)]
mod tests {
    use image::ImageFormat;

    use super::fixture::{bomb, encoded};
    use super::*;

    #[test]
    fn decodes_png_jpeg_gif_and_webp_with_their_dimensions() {
        let limits = ImageLimits::default();
        for (format, kind) in [
            (ImageFormat::Png, FileKind::Png),
            (ImageFormat::Jpeg, FileKind::Jpeg),
            (ImageFormat::Gif, FileKind::Gif),
            (ImageFormat::WebP, FileKind::Webp),
        ] {
            let bytes = encoded(33, 21, format);
            assert_eq!(check_image(&bytes, kind, &limits), Ok(ImageInfo { format: kind, width: 33, height: 21 }));
        }
    }

    #[test]
    fn refuses_truncated_images() {
        let limits = ImageLimits::default();
        for (format, kind) in [(ImageFormat::Png, FileKind::Png), (ImageFormat::Jpeg, FileKind::Jpeg)] {
            let bytes = encoded(64, 64, format);
            for cut in [bytes.len() / 2, bytes.len() - 13, 30] {
                let short = bytes.get(..cut).expect("cut");
                assert_eq!(check_image(short, kind, &limits), Err(ImageError::Corrupt), "{kind} cut at {cut}");
            }
        }
    }

    #[test]
    fn refuses_a_png_with_bytes_after_iend() {
        let mut bytes = encoded(8, 8, ImageFormat::Png);
        bytes.extend_from_slice(b"MZ\x90\x00 hidden");
        assert_eq!(check_image(&bytes, FileKind::Png, &ImageLimits::default()), Err(ImageError::TrailingData));
    }

    #[test]
    fn refuses_a_decompression_bomb_by_its_header() {
        let bytes = bomb(60_000, 60_000);
        assert!(bytes.len() < 8192, "the bomb is small: {} bytes", bytes.len());
        assert_eq!(
            check_image(&bytes, FileKind::Png, &ImageLimits::default()),
            Err(ImageError::DimensionsTooLarge { width: 60_000, height: 60_000 })
        );
    }

    #[test]
    fn refuses_an_image_within_the_dimensions_but_over_the_allocation_limit() {
        let limits = ImageLimits { max_width: 10_000, max_height: 10_000, max_alloc: 1024 * 1024 };
        // 2000 x 2000 greyscale is 4 MB decoded.
        assert_eq!(check_image(&bomb(2000, 2000), FileKind::Png, &limits), Err(ImageError::AllocationTooLarge));
    }

    #[test]
    fn a_bomb_that_lies_about_its_data_is_corrupt() {
        // Within the limits but the IDAT holds 64 rows of 3000: the decode fails, it does not hang.
        assert_eq!(check_image(&bomb(3000, 3000), FileKind::Png, &ImageLimits::default()), Err(ImageError::Corrupt));
    }

    #[test]
    fn heic_and_non_images_have_no_decoder() {
        let limits = ImageLimits::default();
        assert_eq!(check_image(b"x", FileKind::Heic, &limits), Err(ImageError::Unsupported(FileKind::Heic)));
        assert_eq!(check_image(b"x", FileKind::Pdf, &limits), Err(ImageError::Unsupported(FileKind::Pdf)));
    }

    #[test]
    fn converts_gif_to_a_png_that_checks() {
        let gif = encoded(20, 10, ImageFormat::Gif);
        let png = to_png(&gif, FileKind::Gif, &ImageLimits::default()).expect("converts");
        assert!(png.starts_with(b"\x89PNG"));
        assert_eq!(
            check_image(&png, FileKind::Png, &ImageLimits::default()).map(|i| (i.width, i.height)),
            Ok((20, 10))
        );
    }
}
