//! The one error type of the crate.

use core::fmt;

/// Everything that can go wrong parsing, decrypting or encrypting a message.
///
/// Structural errors name the field or rule that failed. Cryptographic failures collapse into
/// opaque variants that reveal nothing about keys or plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside the named field.
    Truncated(&'static str),
    /// Bytes remain after the end of a complete message.
    TrailingBytes(usize),
    /// The input is neither an ESDK message nor base64 text of one.
    NotAMessage,
    /// The message format version is neither 1 nor 2.
    UnsupportedVersion(u8),
    /// A version 1 header whose type byte is not 0x80 (customer authenticated encrypted data).
    UnsupportedMessageType(u8),
    /// The algorithm suite ID is not one of the eleven the ESDK defines.
    UnsupportedSuite(u16),
    /// The suite belongs to the other message format version.
    SuiteVersionMismatch {
        /// The suite ID in the header.
        suite: u16,
        /// The message format version in the header.
        version: u8,
    },
    /// The commitment policy forbids this suite (for example a non-committing suite under
    /// `RequireEncryptRequireDecrypt`).
    SuiteForbiddenByCommitmentPolicy(u16),
    /// The caller's allow-list of suites does not include this one.
    SuiteNotAllowed(u16),
    /// The encryption context section is malformed; the string names the rule.
    MalformedEncryptionContext(&'static str),
    /// A key or value of the encryption context is not UTF-8.
    EncryptionContextNotUtf8,
    /// The encryption context repeats a key.
    DuplicateEncryptionContextKey(String),
    /// The header lists no encrypted data keys; at least one is required.
    NoEncryptedDataKeys,
    /// The header lists more encrypted data keys than the policy allows.
    TooManyEncryptedDataKeys {
        /// The configured maximum.
        max: u16,
        /// How many the header declares.
        found: u16,
    },
    /// The content type is neither 0x01 (non-framed) nor 0x02 (framed).
    UnsupportedContentType(u8),
    /// The 4 reserved header bytes of a version 1 message are not zero.
    ReservedBytesNotZero,
    /// The header IV length differs from the suite's.
    WrongIvLength {
        /// The suite's IV length.
        expected: u8,
        /// The length in the header.
        found: u8,
    },
    /// A framed message declares a frame length of 0, or a non-framed one a non-zero length.
    InvalidFrameLength(u32),
    /// A frame's sequence number is not the previous one plus one (the first is 1).
    SequenceNumber {
        /// The number the rule requires.
        expected: u32,
        /// The number in the message.
        found: u32,
    },
    /// The final frame's content is longer than the frame length.
    FinalFrameTooLong {
        /// The header's frame length.
        frame_length: u32,
        /// The final frame's declared content length.
        found: u32,
    },
    /// The body ended at a frame boundary without a final frame.
    MissingFinalFrame,
    /// A second final frame follows the final frame.
    RepeatedFinalFrame,
    /// The body would need more than 2^32 - 1 frames.
    TooManyFrames,
    /// A non-framed body is longer than the spec's limit of 2^36 - 32 bytes.
    ContentTooLong(u64),
    /// A signed suite without `aws-crypto-public-key` in the encryption context.
    MissingSignaturePublicKey,
    /// An unsigned suite whose encryption context carries `aws-crypto-public-key`.
    UnexpectedSignaturePublicKey(u16),
    /// The `aws-crypto-public-key` value is not a valid point for the suite's curve.
    InvalidSignaturePublicKey,
    /// The caller's encryption context contains a reserved `aws-crypto-` key.
    ReservedEncryptionContextKey(String),
    /// A reproduced encryption context value differs from the one in the message.
    EncryptionContextMismatch(String),
    /// A key the caller requires in the encryption context was not supplied.
    MissingRequiredEncryptionContextKey(String),
    /// The data key's provider ID is not the one the policy requires (Connect: `AmazonConnect`).
    WrongKeyProvider,
    /// The data key's provider info, which names the key (Connect: the key ID), is not UTF-8.
    KeyIdNotUtf8,
    /// No keyring could decrypt any of the message's encrypted data keys.
    NoMatchingKey,
    /// The key commitment in a version 2 header does not match the data key.
    CommitmentMismatch,
    /// The header authentication tag did not verify.
    HeaderAuthFailed,
    /// The authentication tag of the frame with this sequence number did not verify.
    FrameAuthFailed(u32),
    /// The footer signature did not verify.
    SignatureInvalid,
    /// A key could not be used; the string says why (never any key material).
    InvalidKey(&'static str),
    /// A configuration or argument error from the caller; the string names it.
    InvalidArgument(&'static str),
    /// The crypto backend failed in a way that says nothing about the input (for example the
    /// random number generator).
    Backend(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(field) => write!(f, "message truncated in {field}"),
            Self::TrailingBytes(n) => write!(f, "{n} trailing bytes after the end of the message"),
            Self::NotAMessage => f.write_str("input is not an ESDK message (raw or base64)"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported message format version {v}"),
            Self::UnsupportedMessageType(t) => write!(f, "unsupported message type 0x{t:02x}"),
            Self::UnsupportedSuite(s) => write!(f, "unknown algorithm suite 0x{s:04x}"),
            Self::SuiteVersionMismatch { suite, version } => {
                write!(f, "algorithm suite 0x{suite:04x} is not valid in a version {version} message")
            }
            Self::SuiteForbiddenByCommitmentPolicy(s) => {
                write!(f, "the commitment policy forbids algorithm suite 0x{s:04x}")
            }
            Self::SuiteNotAllowed(s) => write!(f, "algorithm suite 0x{s:04x} is not allowed here"),
            Self::MalformedEncryptionContext(rule) => write!(f, "malformed encryption context: {rule}"),
            Self::EncryptionContextNotUtf8 => f.write_str("encryption context is not UTF-8"),
            Self::DuplicateEncryptionContextKey(k) => write!(f, "encryption context repeats key {k:?}"),
            Self::NoEncryptedDataKeys => f.write_str("message has no encrypted data keys"),
            Self::TooManyEncryptedDataKeys { max, found } => {
                write!(f, "message has {found} encrypted data keys; at most {max} allowed")
            }
            Self::UnsupportedContentType(t) => write!(f, "unsupported content type 0x{t:02x}"),
            Self::ReservedBytesNotZero => f.write_str("reserved header bytes are not zero"),
            Self::WrongIvLength { expected, found } => {
                write!(f, "header IV length is {found}; the suite needs {expected}")
            }
            Self::InvalidFrameLength(n) => write!(f, "invalid frame length {n} for the content type"),
            Self::SequenceNumber { expected, found } => {
                write!(f, "frame sequence number {found}; expected {expected}")
            }
            Self::FinalFrameTooLong { frame_length, found } => {
                write!(f, "final frame holds {found} bytes; the frame length is {frame_length}")
            }
            Self::MissingFinalFrame => f.write_str("message body has no final frame"),
            Self::RepeatedFinalFrame => f.write_str("message body has more than one final frame"),
            Self::TooManyFrames => f.write_str("message body has too many frames"),
            Self::ContentTooLong(n) => write!(f, "non-framed content of {n} bytes exceeds the limit"),
            Self::MissingSignaturePublicKey => {
                f.write_str("signed algorithm suite but no aws-crypto-public-key in the encryption context")
            }
            Self::UnexpectedSignaturePublicKey(s) => {
                write!(f, "unsigned algorithm suite 0x{s:04x} carries aws-crypto-public-key")
            }
            Self::InvalidSignaturePublicKey => f.write_str("aws-crypto-public-key is not a valid public key"),
            Self::ReservedEncryptionContextKey(k) => {
                write!(f, "encryption context key {k:?} is reserved for the SDK")
            }
            Self::EncryptionContextMismatch(k) => {
                write!(f, "encryption context value for {k:?} differs from the expected one")
            }
            Self::MissingRequiredEncryptionContextKey(k) => {
                write!(f, "required encryption context key {k:?} was not supplied")
            }
            Self::WrongKeyProvider => f.write_str("the data key's provider ID is not the one the policy requires"),
            Self::KeyIdNotUtf8 => f.write_str("the data key's key ID is not UTF-8"),
            Self::NoMatchingKey => f.write_str("no key could decrypt any encrypted data key of the message"),
            Self::CommitmentMismatch => f.write_str("key commitment does not match"),
            Self::HeaderAuthFailed => f.write_str("header authentication failed"),
            Self::FrameAuthFailed(seq) => write!(f, "authentication of frame {seq} failed"),
            Self::SignatureInvalid => f.write_str("footer signature is invalid"),
            Self::InvalidKey(why) => write!(f, "invalid key: {why}"),
            Self::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Self::Backend(why) => write!(f, "crypto backend failure: {why}"),
        }
    }
}

impl std::error::Error for Error {}
