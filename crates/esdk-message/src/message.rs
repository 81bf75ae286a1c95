//! A whole message: header, body and footer, parsed and structurally checked without any key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::body::{self, Frame, Frames};
use crate::cursor::Cursor;
use crate::header::{ContentType, Header};

/// The default bound on encrypted data keys when parsing: our hardening (the ESDK spec sets no
/// default limit), generous beside Connect's one data key.
pub const DEFAULT_MAX_ENCRYPTED_DATA_KEYS: u16 = 16;

/// A structurally valid message, borrowing from the bytes it was parsed from.
///
/// Parsing checks every length, count, sequence number and the final frame; it verifies no tag
/// and no signature (that needs keys, see [`crate::decrypt`]).
///
/// The header is read-only ([`Message::header`]), so [`crate::decrypt_message`] authenticates
/// exactly what was parsed. This does not compile:
///
/// ```compile_fail,E0616
/// fn drop_commitment(m: &mut esdk_message::Message<'_>) {
///     m.header.commitment = None;
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub(crate) header: Header<'a>,
    body: &'a [u8],
    frame_count: u32,
    /// Everything the footer signature covers: header, header authentication and body.
    pub(crate) signed_bytes: &'a [u8],
    /// The DER signature from the footer, for signed suites.
    pub(crate) signature: Option<&'a [u8]>,
}

impl<'a> Message<'a> {
    /// Parses raw message bytes, allowing at most `max_edks` encrypted data keys.
    pub fn parse(bytes: &'a [u8], max_edks: u16) -> Result<Self, Error> {
        let mut c = Cursor::new(bytes);
        let header = Header::parse(&mut c, max_edks)?;
        let body_start = c;
        let frame_count = if header.content_type == ContentType::FRAMED {
            let mut frames = Frames::new(c.rest(), header.frame_length);
            let mut count = 0u32;
            for frame in frames.by_ref() {
                frame?;
                count = count.checked_add(1).ok_or(Error::TooManyFrames)?;
            }
            c = frames.rest();
            count
        } else {
            body::parse_non_framed(&mut c)?;
            1
        };
        let body_len = body_start.remaining() - c.remaining();
        let body = body_start.rest().get(..body_len).ok_or(Error::Truncated("body"))?;
        let signed_len = bytes.len() - c.remaining();
        let signed_bytes = bytes.get(..signed_len).ok_or(Error::Truncated("body"))?;
        let signature = match header.suite.signature {
            Some(_) => Some(c.vec16("footer signature")?),
            None => None,
        };
        if !c.is_empty() {
            return Err(Error::TrailingBytes(c.remaining()));
        }
        Ok(Self { header, body, frame_count, signed_bytes, signature })
    }

    /// The header (read-only).
    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    /// Length of the header including its authentication section: where the body starts.
    pub fn header_len(&self) -> usize {
        self.signed_bytes.len() - self.body.len()
    }

    /// Number of frames (1 for a non-framed body).
    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// Total ciphertext content length (the plaintext length after decryption).
    pub fn content_len(&self) -> usize {
        self.frames().filter_map(Result::ok).map(|f| f.ciphertext.len()).sum()
    }

    /// The footer signature (DER), if the suite is signed.
    pub fn signature(&self) -> Option<&'a [u8]> {
        self.signature
    }

    pub(crate) fn frames(&self) -> Box<dyn Iterator<Item = Result<Frame<'a>, Error>> + 'a> {
        if self.header.content_type == ContentType::FRAMED {
            Box::new(Frames::new(self.body, self.header.frame_length))
        } else {
            let mut c = Cursor::new(self.body);
            Box::new(core::iter::once(body::parse_non_framed(&mut c)))
        }
    }
}

/// Accepts a message as raw bytes or as base64 text (what Connect hands a Lambda).
///
/// Raw messages start with the version byte 0x01 or 0x02; base64 text never does, so the two
/// cannot be confused. Surrounding ASCII white space in base64 text is ignored.
pub fn decode_input(input: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
    match input.first() {
        Some(1 | 2) => Ok(std::borrow::Cow::Borrowed(input)),
        Some(_) => {
            let text = input.trim_ascii();
            let decoded = STANDARD.decode(text).map_err(|_| Error::NotAMessage)?;
            match decoded.first() {
                Some(1 | 2) => Ok(std::borrow::Cow::Owned(decoded)),
                _ => Err(Error::NotAMessage),
            }
        }
        None => Err(Error::Truncated("version")),
    }
}
