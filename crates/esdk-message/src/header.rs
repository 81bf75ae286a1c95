//! The message header and its authentication section.
//!
//! Spec, data-format/message-header.md. Version 1: version, type (0x80), suite ID, 16-byte
//! message ID, AAD (encryption context), encrypted data keys, content type, 4 reserved zero
//! bytes, IV length, frame length; then the authentication IV and tag. Version 2: version, suite
//! ID, 32-byte message ID, AAD, encrypted data keys, content type, frame length, 32-byte
//! commitment ("algorithm suite data"); then the authentication tag (its IV is all zeros).

use crate::Error;
use crate::context::{PUBLIC_KEY_FIELD, WireContext};
use crate::cursor::Cursor;
use crate::suite::{COMMITMENT_LEN, IV_LEN, Suite, SuiteId, TAG_LEN};

/// How the body is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentType(pub u8);

impl ContentType {
    /// One IV, one ciphertext, one tag.
    pub const NON_FRAMED: Self = Self(0x01);
    /// A sequence of frames, the last one marked final.
    pub const FRAMED: Self = Self(0x02);
}

/// One encrypted data key as it appears in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedDataKey<'a> {
    /// Key provider ID (for raw keyrings, the key namespace; Connect uses `AmazonConnect`).
    pub provider_id: &'a [u8],
    /// Key provider info (for raw RSA, the key name; Connect puts its key ID here).
    pub provider_info: &'a [u8],
    /// The wrapped data key.
    pub ciphertext: &'a [u8],
}

/// A parsed header, borrowing from the message bytes.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// Message format version (1 or 2).
    pub version: u8,
    /// The algorithm suite.
    pub suite: &'static Suite,
    /// The message ID (16 bytes in version 1, 32 in version 2).
    pub message_id: &'a [u8],
    /// The encryption context stored in the header (validated, borrowed from the message).
    pub encryption_context: WireContext<'a>,
    /// The encrypted data keys, in header order.
    pub encrypted_data_keys: Vec<EncryptedDataKey<'a>>,
    /// Framed or non-framed.
    pub content_type: ContentType,
    /// Frame length (0 for non-framed).
    pub frame_length: u32,
    /// The key commitment (version 2 only).
    pub commitment: Option<&'a [u8]>,
    /// The header bytes the authentication tag covers, exactly as received.
    pub(crate) authenticated_bytes: &'a [u8],
    /// The authentication IV (version 1 carries it; version 2 uses zeros).
    pub(crate) auth_iv: [u8; IV_LEN],
    /// The authentication tag.
    pub(crate) auth_tag: &'a [u8],
}

impl<'a> Header<'a> {
    /// Parses a header (with its authentication section) from the start of `c`.
    ///
    /// `max_edks` bounds the encrypted data key count before any of them is read.
    pub(crate) fn parse(c: &mut Cursor<'a>, max_edks: u16) -> Result<Self, Error> {
        let start = c.rest();
        let version = c.u8("version")?;
        if version != 1 && version != 2 {
            return Err(Error::UnsupportedVersion(version));
        }
        if version == 1 {
            let kind = c.u8("message type")?;
            if kind != 0x80 {
                return Err(Error::UnsupportedMessageType(kind));
            }
        }
        let suite_id = SuiteId(c.u16("algorithm suite ID")?);
        let suite = suite_id.suite()?;
        if suite.message_version != version {
            return Err(Error::SuiteVersionMismatch { suite: suite_id.0, version });
        }
        let message_id = c.take(suite.message_id_len(), "message ID")?;
        let encryption_context = WireContext::parse(c.vec16("encryption context")?)?;
        check_signing_key_field(suite, &encryption_context)?;

        let edk_count = c.u16("encrypted data key count")?;
        if edk_count == 0 {
            return Err(Error::NoEncryptedDataKeys);
        }
        if edk_count > max_edks {
            return Err(Error::TooManyEncryptedDataKeys { max: max_edks, found: edk_count });
        }
        let mut encrypted_data_keys = Vec::with_capacity(usize::from(edk_count).min(c.remaining() / 6));
        for _ in 0..edk_count {
            encrypted_data_keys.push(EncryptedDataKey {
                provider_id: c.vec16("encrypted data key provider ID")?,
                provider_info: c.vec16("encrypted data key provider info")?,
                ciphertext: c.vec16("encrypted data key ciphertext")?,
            });
        }

        let content_type = ContentType(c.u8("content type")?);
        if content_type != ContentType::FRAMED && content_type != ContentType::NON_FRAMED {
            return Err(Error::UnsupportedContentType(content_type.0));
        }
        if version == 1 {
            if c.array::<4>("reserved")? != [0; 4] {
                return Err(Error::ReservedBytesNotZero);
            }
            let iv_len = c.u8("IV length")?;
            if usize::from(iv_len) != IV_LEN {
                return Err(Error::WrongIvLength { expected: 12, found: iv_len });
            }
        }
        let frame_length = c.u32("frame length")?;
        let framed = content_type == ContentType::FRAMED;
        if framed == (frame_length == 0) {
            return Err(Error::InvalidFrameLength(frame_length));
        }
        let commitment = if version == 2 { Some(c.take(COMMITMENT_LEN, "key commitment")?) } else { None };

        let consumed = start.len() - c.remaining();
        let authenticated_bytes = start.get(..consumed).ok_or(Error::Truncated("header"))?;
        let auth_iv = if version == 1 { c.array::<IV_LEN>("header authentication IV")? } else { [0; IV_LEN] };
        let auth_tag = c.take(TAG_LEN, "header authentication tag")?;

        Ok(Self {
            version,
            suite,
            message_id,
            encryption_context,
            encrypted_data_keys,
            content_type,
            frame_length,
            commitment,
            authenticated_bytes,
            auth_iv,
            auth_tag,
        })
    }

    /// Message format version (1 or 2).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The algorithm suite.
    pub fn suite(&self) -> &'static Suite {
        self.suite
    }

    /// The algorithm suite ID.
    pub fn suite_id(&self) -> SuiteId {
        self.suite.id
    }

    /// The message ID (16 bytes in version 1, 32 in version 2).
    pub fn message_id(&self) -> &'a [u8] {
        self.message_id
    }

    /// The encryption context stored in the header.
    pub fn encryption_context(&self) -> &WireContext<'a> {
        &self.encryption_context
    }

    /// The encrypted data keys, in header order (at least one).
    pub fn encrypted_data_keys(&self) -> &[EncryptedDataKey<'a>] {
        &self.encrypted_data_keys
    }

    /// Framed or non-framed.
    pub fn content_type(&self) -> ContentType {
        self.content_type
    }

    /// Frame length (0 for non-framed).
    pub fn frame_length(&self) -> u32 {
        self.frame_length
    }

    /// The key commitment (version 2 only).
    pub fn commitment(&self) -> Option<&'a [u8]> {
        self.commitment
    }

    /// The encryption context section exactly as received.
    pub fn encryption_context_bytes(&self) -> &'a [u8] {
        self.encryption_context.as_bytes()
    }

    /// The public key of a signed suite, as the base64 text stored in the context.
    pub fn signing_public_key(&self) -> Option<&'a str> {
        self.encryption_context.get(PUBLIC_KEY_FIELD)
    }
}

/// Spec, framework/default-cmm.md: a signed suite carries its verification key in the context;
/// an unsigned suite must not.
fn check_signing_key_field(suite: &Suite, ctx: &WireContext<'_>) -> Result<(), Error> {
    match (suite.signature.is_some(), ctx.contains_key(PUBLIC_KEY_FIELD)) {
        (true, false) => Err(Error::MissingSignaturePublicKey),
        (false, true) => Err(Error::UnexpectedSignaturePublicKey(suite.id.0)),
        _ => Ok(()),
    }
}
