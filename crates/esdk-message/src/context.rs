//! The encryption context: UTF-8 key/value pairs authenticated with the message.
//!
//! Spec, data-format/message-header.md, "Key Value Pairs": a two-byte pair count followed by
//! length-prefixed keys and values, sorted by key; an empty context is serialised as zero bytes
//! (AAD length 0, no count).

use std::collections::BTreeMap;

use crate::Error;
use crate::cursor::Cursor;

/// The key under which signed suites carry the signer's public key.
pub const PUBLIC_KEY_FIELD: &str = "aws-crypto-public-key";
/// Keys with this prefix are reserved for the SDK.
pub const RESERVED_PREFIX: &str = "aws-crypto-";

/// An encryption context. `String` orders by UTF-8 bytes, which is the spec's sort order.
pub type EncryptionContext = BTreeMap<String, String>;

/// Parses the pairs of a non-empty serialised context, rejecting duplicates and non-UTF-8.
pub(crate) fn parse(bytes: &[u8]) -> Result<EncryptionContext, Error> {
    let mut ctx = EncryptionContext::new();
    if bytes.is_empty() {
        return Ok(ctx);
    }
    let mut c = Cursor::new(bytes);
    let count = c.u16("encryption context pair count")?;
    if count == 0 {
        return Err(Error::MalformedEncryptionContext("pair count is 0 but the section is not empty"));
    }
    for _ in 0..count {
        let key = utf8(c.vec16("encryption context key")?)?;
        let value = utf8(c.vec16("encryption context value")?)?;
        if ctx.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(Error::DuplicateEncryptionContextKey(key.to_owned()));
        }
    }
    if !c.is_empty() {
        return Err(Error::MalformedEncryptionContext("bytes left after the declared pairs"));
    }
    Ok(ctx)
}

fn utf8(bytes: &[u8]) -> Result<&str, Error> {
    core::str::from_utf8(bytes).map_err(|_| Error::EncryptionContextNotUtf8)
}

/// Serialises a context canonically (sorted pairs; empty context = no bytes).
pub fn serialize(ctx: &EncryptionContext) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    if ctx.is_empty() {
        return Ok(out);
    }
    let count = u16::try_from(ctx.len()).map_err(|_| Error::InvalidArgument("too many encryption context pairs"))?;
    out.extend_from_slice(&count.to_be_bytes());
    for (k, v) in ctx {
        put_vec16(&mut out, k.as_bytes())?;
        put_vec16(&mut out, v.as_bytes())?;
    }
    if out.len() > usize::from(u16::MAX) {
        return Err(Error::InvalidArgument("encryption context longer than 65535 bytes"));
    }
    Ok(out)
}

pub(crate) fn put_vec16(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(bytes.len()).map_err(|_| Error::InvalidArgument("field longer than 65535 bytes"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorted_and_empty_is_no_bytes() {
        assert_eq!(serialize(&EncryptionContext::new()), Ok(vec![]));
        let mut ctx = EncryptionContext::new();
        ctx.insert("b".into(), "2".into());
        ctx.insert("a".into(), "1".into());
        let bytes = serialize(&ctx).expect("small");
        assert_eq!(bytes, [0, 2, 0, 1, b'a', 0, 1, b'1', 0, 1, b'b', 0, 1, b'2']);
        assert_eq!(parse(&bytes), Ok(ctx));
    }

    #[test]
    fn rejects_duplicate_keys() {
        let bytes = [0, 2, 0, 1, b'a', 0, 0, 0, 1, b'a', 0, 0];
        assert_eq!(parse(&bytes), Err(Error::DuplicateEncryptionContextKey("a".into())));
    }

    #[test]
    fn rejects_zero_count_and_leftovers() {
        assert!(matches!(parse(&[0, 0]), Err(Error::MalformedEncryptionContext(_))));
        assert!(matches!(parse(&[0, 1, 0, 0, 0, 0, 7]), Err(Error::MalformedEncryptionContext(_))));
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(parse(&[0, 1, 0, 1, 0xff, 0, 0]), Err(Error::EncryptionContextNotUtf8));
    }
}
