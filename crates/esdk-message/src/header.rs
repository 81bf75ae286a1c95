//! The message header and its authentication section: decode ([`Header::parse`]) and encode
//! ([`HeaderFields::encode`], [`Header::encode`]) side by side, from one set of constants.
//!
//! Spec, data-format/message-header.md. Version 1: version, type (0x80), suite ID, 16-byte
//! message ID, AAD (encryption context), encrypted data keys, content type, 4 reserved zero
//! bytes, IV length, frame length; then the authentication IV and tag. Version 2: version, suite
//! ID, 32-byte message ID, AAD, encrypted data keys, content type, frame length, 32-byte
//! commitment ("algorithm suite data"); then the authentication tag (its IV is all zeros).

use crate::Error;
use crate::context::{PUBLIC_KEY_FIELD, WireContext, put_vec16};
use crate::cursor::Cursor;
use crate::suite::{COMMITMENT_LEN, IV_LEN, Suite, SuiteId, TAG_LEN};

/// Message format version 1 (suites 0x0014 to 0x0378).
pub(crate) const VERSION_1: u8 = 1;
/// Message format version 2 (the committing suites 0x0478 and 0x0578).
pub(crate) const VERSION_2: u8 = 2;
/// The version 1 message type: "customer authenticated encrypted data".
pub(crate) const MESSAGE_TYPE_CUSTOMER_AED: u8 = 0x80;
/// The 4 reserved bytes of a version 1 header.
const RESERVED_V1: [u8; 4] = [0; 4];
/// The version 1 header's IV length byte (every suite uses 12-byte IVs).
const IV_LEN_BYTE: u8 = 12;
/// The header IV of version 2, which the header does not carry.
const V2_HEADER_IV: [u8; IV_LEN] = [0; IV_LEN];

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
///
/// Only [`crate::Message::parse`] makes one, and its fields are private, so what decryption
/// authenticates is what was parsed: a caller cannot drop the commitment or swap the signing key.
/// Read it through the accessors.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    /// Message format version (1 or 2).
    pub(crate) version: u8,
    /// The algorithm suite.
    pub(crate) suite: &'static Suite,
    /// The message ID (16 bytes in version 1, 32 in version 2).
    pub(crate) message_id: &'a [u8],
    /// The encryption context stored in the header (validated, borrowed from the message).
    pub(crate) encryption_context: WireContext<'a>,
    /// The encrypted data keys, in header order.
    pub(crate) encrypted_data_keys: Vec<EncryptedDataKey<'a>>,
    /// Framed or non-framed.
    pub(crate) content_type: ContentType,
    /// Frame length (0 for non-framed).
    pub(crate) frame_length: u32,
    /// The key commitment (version 2 only).
    pub(crate) commitment: Option<&'a [u8]>,
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
        if version != VERSION_1 && version != VERSION_2 {
            return Err(Error::UnsupportedVersion(version));
        }
        if version == VERSION_1 {
            let kind = c.u8("message type")?;
            if kind != MESSAGE_TYPE_CUSTOMER_AED {
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
        if version == VERSION_1 {
            if c.array::<4>("reserved")? != RESERVED_V1 {
                return Err(Error::ReservedBytesNotZero);
            }
            let iv_len = c.u8("IV length")?;
            if iv_len != IV_LEN_BYTE {
                return Err(Error::WrongIvLength { expected: IV_LEN_BYTE, found: iv_len });
            }
        }
        let frame_length = c.u32("frame length")?;
        let framed = content_type == ContentType::FRAMED;
        if framed == (frame_length == 0) {
            return Err(Error::InvalidFrameLength(frame_length));
        }
        let commitment = if version == VERSION_2 { Some(c.take(COMMITMENT_LEN, "key commitment")?) } else { None };

        let consumed = start.len() - c.remaining();
        let authenticated_bytes = start.get(..consumed).ok_or(Error::Truncated("header"))?;
        let auth_iv = if version == VERSION_1 { c.array::<IV_LEN>("header authentication IV")? } else { V2_HEADER_IV };
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

    /// The fields the authentication tag covers, borrowed, ready to encode.
    #[cfg(test)]
    pub(crate) fn fields(&self) -> HeaderFields<'_> {
        HeaderFields {
            suite: self.suite,
            message_id: self.message_id,
            encryption_context: self.encryption_context.as_bytes(),
            encrypted_data_keys: &self.encrypted_data_keys,
            frame_length: self.frame_length,
            commitment: self.commitment,
        }
    }

    /// The header with its authentication section, encoded from the fields. For a parsed header
    /// this is exactly the bytes it was parsed from (the round-trip test holds it to that), but
    /// authentication always uses the received bytes, never this.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = self.fields().encode()?;
        write_auth_section(&mut out, self.version, &self.auth_iv, self.auth_tag);
        Ok(out)
    }

    /// The header IV: carried by version 1, all zeros in version 2.
    pub(crate) fn auth_iv(&self) -> &[u8; IV_LEN] {
        &self.auth_iv
    }

    /// The header authentication tag.
    pub(crate) fn auth_tag(&self) -> &'a [u8] {
        self.auth_tag
    }

    /// The header bytes the authentication tag covers, exactly as received.
    pub(crate) fn authenticated_bytes(&self) -> &'a [u8] {
        self.authenticated_bytes
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

/// The header fields before the authentication section, for writing. The version, the message
/// type and the content type follow from the suite and the frame length (0: non-framed), as the
/// parser requires them to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderFields<'h> {
    pub(crate) suite: &'static Suite,
    pub(crate) message_id: &'h [u8],
    /// The serialised encryption context (empty: no pairs).
    pub(crate) encryption_context: &'h [u8],
    pub(crate) encrypted_data_keys: &'h [EncryptedDataKey<'h>],
    pub(crate) frame_length: u32,
    /// The key commitment, for version 2.
    pub(crate) commitment: Option<&'h [u8]>,
}

impl HeaderFields<'_> {
    /// The bytes the header authentication tag covers. Refuses what [`Header::parse`] would
    /// refuse about lengths, so an encoder bug cannot write a header we could not read.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, Error> {
        let suite = self.suite;
        if self.message_id.len() != suite.message_id_len() {
            return Err(Error::InvalidArgument("message ID length does not match the suite"));
        }
        if self.commitment.map(<[u8]>::len) != (suite.message_version == VERSION_2).then_some(COMMITMENT_LEN) {
            return Err(Error::InvalidArgument("key commitment does not match the suite"));
        }
        if self.encrypted_data_keys.is_empty() {
            return Err(Error::InvalidArgument("at least one keyring is required"));
        }
        let mut h = Vec::with_capacity(256);
        h.push(suite.message_version);
        if suite.message_version == VERSION_1 {
            h.push(MESSAGE_TYPE_CUSTOMER_AED);
        }
        h.extend_from_slice(&suite.id.0.to_be_bytes());
        h.extend_from_slice(self.message_id);
        put_vec16(&mut h, self.encryption_context)?;
        let count =
            u16::try_from(self.encrypted_data_keys.len()).map_err(|_| Error::InvalidArgument("too many keyrings"))?;
        h.extend_from_slice(&count.to_be_bytes());
        for edk in self.encrypted_data_keys {
            put_vec16(&mut h, edk.provider_id)?;
            put_vec16(&mut h, edk.provider_info)?;
            put_vec16(&mut h, edk.ciphertext)?;
        }
        let content_type = if self.frame_length == 0 { ContentType::NON_FRAMED } else { ContentType::FRAMED };
        h.push(content_type.0);
        if suite.message_version == VERSION_1 {
            h.extend_from_slice(&RESERVED_V1);
            h.push(IV_LEN_BYTE);
        }
        h.extend_from_slice(&self.frame_length.to_be_bytes());
        if let Some(c) = self.commitment {
            h.extend_from_slice(c);
        }
        Ok(h)
    }
}

/// Appends the authentication section: the IV (version 1 only) and the tag.
pub(crate) fn write_auth_section(out: &mut Vec<u8>, version: u8, iv: &[u8; IV_LEN], tag: &[u8]) {
    if version == VERSION_1 {
        out.extend_from_slice(iv);
    }
    out.extend_from_slice(tag);
}

/// The header IV to authenticate with: version 2 fixes it at zero, so `v1_iv` is only asked for
/// version 1.
pub(crate) fn header_iv(
    version: u8,
    v1_iv: impl FnOnce() -> Result<[u8; IV_LEN], Error>,
) -> Result<[u8; IV_LEN], Error> {
    if version == VERSION_1 { v1_iv() } else { Ok(V2_HEADER_IV) }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    use super::*;
    use crate::context::{EncryptionContext, serialize};

    /// Everything a header can vary in, owned.
    #[derive(Debug, Clone)]
    struct Generated {
        suite: &'static Suite,
        message_id: Vec<u8>,
        context: Vec<u8>,
        edks: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>,
        frame_length: u32,
        commitment: Option<Vec<u8>>,
        iv: [u8; IV_LEN],
        tag: [u8; TAG_LEN],
    }

    impl Generated {
        fn edks(&self) -> Vec<EncryptedDataKey<'_>> {
            self.edks
                .iter()
                .map(|(id, info, ct)| EncryptedDataKey { provider_id: id, provider_info: info, ciphertext: ct })
                .collect()
        }

        fn encode(&self) -> Vec<u8> {
            let edks = self.edks();
            let fields = HeaderFields {
                suite: self.suite,
                message_id: &self.message_id,
                encryption_context: &self.context,
                encrypted_data_keys: &edks,
                frame_length: self.frame_length,
                commitment: self.commitment.as_deref(),
            };
            let mut out = fields.encode().unwrap();
            write_auth_section(&mut out, self.suite.message_version, &self.iv, &self.tag);
            out
        }
    }

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>(), 0..max)
    }

    fn generated() -> impl Strategy<Value = Generated> {
        let context = btree_map("[a-z]{0,6}", "\\PC{0,6}", 0..4);
        let edks = vec((bytes(16), bytes(24), bytes(40)), 1..4);
        let frame_length = prop_oneof![Just(0u32), 1u32..=u32::MAX];
        (
            proptest::sample::select(SuiteId::ALL.to_vec()),
            context,
            edks,
            frame_length,
            any::<[u8; IV_LEN]>(),
            any::<[u8; TAG_LEN]>(),
            any::<[u8; 32]>(),
            any::<[u8; COMMITMENT_LEN]>(),
        )
            .prop_map(|(id, context, edks, frame_length, iv, tag, message_id, commitment)| {
                let suite = id.suite().unwrap();
                let mut context: EncryptionContext = context;
                if suite.signature.is_some() {
                    context.insert(PUBLIC_KEY_FIELD.into(), "A0FBQ0RFRkdI".into());
                }
                Generated {
                    suite,
                    message_id: message_id[..suite.message_id_len()].to_vec(),
                    context: serialize(&context).unwrap(),
                    edks,
                    frame_length,
                    commitment: (suite.message_version == VERSION_2).then(|| commitment.to_vec()),
                    iv,
                    tag,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Encode, parse: every field comes back, nothing is left over, and encoding the parsed
        /// header gives the identical bytes.
        #[test]
        fn generated_headers_round_trip_to_equal_fields_and_identical_bytes(g in generated()) {
            let bytes = g.encode();
            let mut c = Cursor::new(&bytes);
            let h = Header::parse(&mut c, 16).unwrap();
            prop_assert!(c.is_empty());
            prop_assert_eq!(h.version(), g.suite.message_version);
            prop_assert_eq!(h.suite_id(), g.suite.id);
            prop_assert_eq!(h.message_id(), g.message_id.as_slice());
            prop_assert_eq!(h.encryption_context_bytes(), g.context.as_slice());
            let edks = g.edks();
            prop_assert_eq!(h.encrypted_data_keys(), edks.as_slice());
            let framed = g.frame_length != 0;
            prop_assert_eq!(h.content_type(), if framed { ContentType::FRAMED } else { ContentType::NON_FRAMED });
            prop_assert_eq!(h.frame_length(), g.frame_length);
            prop_assert_eq!(h.commitment(), g.commitment.as_deref());
            let v1 = g.suite.message_version == VERSION_1;
            prop_assert_eq!(h.auth_iv(), if v1 { &g.iv } else { &V2_HEADER_IV });
            prop_assert_eq!(h.auth_tag(), g.tag.as_slice());
            let auth_len = TAG_LEN + if v1 { IV_LEN } else { 0 };
            prop_assert_eq!(h.authenticated_bytes(), &bytes[..bytes.len() - auth_len]);
            prop_assert_eq!(h.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn a_real_connect_header_re_encodes_to_its_own_bytes() {
        let provider = crate::provider::default_provider();
        let public = crate::test_keys::public();
        let m = crate::encrypt_connect_der(provider, "codec-test", &public, b"4111111111111111").unwrap();
        let parsed = crate::Message::parse(&m, 1).unwrap();
        assert_eq!(parsed.header().encode().unwrap(), &m[..parsed.header_len()]);
    }

    #[test]
    fn the_encoder_refuses_what_the_parser_would() {
        let suite = SuiteId::AES_256_GCM_HKDF_SHA512_COMMIT_KEY.suite().unwrap();
        let edk = [EncryptedDataKey { provider_id: b"p", provider_info: b"i", ciphertext: b"c" }];
        let fields = HeaderFields {
            suite,
            message_id: &[0; 32],
            encryption_context: &[],
            encrypted_data_keys: &edk,
            frame_length: 4096,
            commitment: Some(&[0; COMMITMENT_LEN]),
        };
        assert!(fields.encode().is_ok());
        let short_id = HeaderFields { message_id: &[0; 16], ..fields };
        assert_eq!(short_id.encode(), Err(Error::InvalidArgument("message ID length does not match the suite")));
        let no_commitment = HeaderFields { commitment: None, ..fields };
        assert_eq!(no_commitment.encode(), Err(Error::InvalidArgument("key commitment does not match the suite")));
        let no_edks = HeaderFields { encrypted_data_keys: &[], ..fields };
        assert_eq!(no_edks.encode(), Err(Error::InvalidArgument("at least one keyring is required")));
    }
}
