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
pub(crate) const RESERVED_PREFIX: &str = "aws-crypto-";

/// An encryption context. `String` orders by UTF-8 bytes, which is the spec's sort order.
pub type EncryptionContext = BTreeMap<String, String>;

/// A validated encryption context as it stands in the header, borrowed from the message.
///
/// Parsing keeps the wire bytes rather than building a map, so a hostile header packed with
/// thousands of tiny pairs costs no more memory than its own size: the only allocation is a
/// 2-byte offset per pair while checking for duplicates. Build a map with [`to_map`](Self::to_map).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct WireContext<'a> {
    bytes: &'a [u8],
    len: u16,
    canonical: bool,
}

impl core::fmt::Debug for WireContext<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> WireContext<'a> {
    /// Validates a serialised context: exact length, UTF-8, no repeated key.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.is_empty() {
            return Ok(Self { bytes, len: 0, canonical: true });
        }
        let mut c = Cursor::new(bytes);
        let count = c.u16("encryption context pair count")?;
        if count == 0 {
            return Err(Error::MalformedEncryptionContext("pair count is 0 but the section is not empty"));
        }
        // Each pair is at least 4 bytes, so `count` is checked against the input before the
        // offsets vector is sized by it.
        if usize::from(count) > c.remaining() / 4 {
            return Err(Error::Truncated("encryption context key"));
        }
        let mut offsets: Vec<u16> = Vec::with_capacity(usize::from(count));
        let mut canonical = true;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            let offset = bytes.len() - c.remaining();
            offsets.push(u16::try_from(offset).map_err(|_| Error::MalformedEncryptionContext("too long"))?);
            let key = c.vec16("encryption context key")?;
            utf8(key)?;
            utf8(c.vec16("encryption context value")?)?;
            canonical &= previous.is_none_or(|p| p < key);
            previous = Some(key);
        }
        if !c.is_empty() {
            return Err(Error::MalformedEncryptionContext("bytes left after the declared pairs"));
        }
        if !canonical {
            offsets.sort_unstable_by(|a, b| key_at(bytes, *a).cmp(key_at(bytes, *b)));
            let keys = offsets.iter().map(|o| key_at(bytes, *o));
            if let Some((dup, _)) = keys.clone().zip(keys.skip(1)).find(|(a, b)| a == b) {
                return Err(Error::DuplicateEncryptionContextKey(String::from_utf8_lossy(dup).into_owned()));
            }
        }
        Ok(Self { bytes, len: count, canonical })
    }

    /// The serialised bytes, as they stand in the header.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the context has no pairs.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let mut c = Cursor::new(self.bytes);
        let count = if self.bytes.is_empty() { 0 } else { c.u16("count").unwrap_or(0) };
        (0..count).map_while(move |_| {
            let k = core::str::from_utf8(c.vec16("key").ok()?).ok()?;
            let v = core::str::from_utf8(c.vec16("value").ok()?).ok()?;
            Some((k, v))
        })
    }

    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The pairs as an owned, sorted map.
    pub fn to_map(&self) -> EncryptionContext {
        self.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    /// The canonical serialisation of this context plus `extra` pairs (whose keys it must not
    /// already hold): borrowed from the wire when that is already canonical and nothing is added.
    /// Otherwise re-sorted through 2-byte offsets, so memory stays within the context's size.
    pub(crate) fn canonical_with(&self, extra: &EncryptionContext) -> Result<std::borrow::Cow<'a, [u8]>, Error> {
        if extra.is_empty() && self.canonical {
            return Ok(std::borrow::Cow::Borrowed(self.bytes));
        }
        let bytes = self.bytes;
        let mut offsets = self.pair_offsets();
        offsets.sort_unstable_by(|a, b| key_at(bytes, *a).cmp(key_at(bytes, *b)));
        let total = offsets.len() + extra.len();
        let count = u16::try_from(total).map_err(|_| Error::InvalidArgument("too many encryption context pairs"))?;
        let extra_len: usize = extra.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
        let mut out = Vec::with_capacity(bytes.len().max(2) + extra_len);
        out.extend_from_slice(&count.to_be_bytes());
        let mut extras = extra.iter().peekable();
        for offset in offsets {
            let key = key_at(bytes, offset);
            while let Some((k, v)) = extras.next_if(|(k, _)| k.as_bytes() < key) {
                put_vec16(&mut out, k.as_bytes())?;
                put_vec16(&mut out, v.as_bytes())?;
            }
            // The pair as it stands on the wire: key and value with their length prefixes.
            let pair_len = 4 + key.len() + value_at(bytes, offset).len();
            out.extend_from_slice(bytes.get(usize::from(offset)..usize::from(offset) + pair_len).unwrap_or(&[]));
        }
        for (k, v) in extras {
            put_vec16(&mut out, k.as_bytes())?;
            put_vec16(&mut out, v.as_bytes())?;
        }
        Ok(std::borrow::Cow::Owned(out))
    }

    fn pair_offsets(&self) -> Vec<u16> {
        let mut offsets = Vec::with_capacity(self.len());
        let mut c = Cursor::new(self.bytes);
        if c.u16("count").is_err() {
            return offsets;
        }
        for _ in 0..self.len {
            offsets.push(u16::try_from(self.bytes.len() - c.remaining()).unwrap_or(u16::MAX));
            if c.vec16("key").and_then(|_| c.vec16("value")).is_err() {
                break;
            }
        }
        offsets
    }
}

fn value_at(bytes: &[u8], offset: u16) -> &[u8] {
    let mut c = Cursor::new(bytes.get(usize::from(offset)..).unwrap_or(&[]));
    c.vec16("key").and_then(|_| c.vec16("value")).unwrap_or(&[])
}

fn key_at(bytes: &[u8], offset: u16) -> &[u8] {
    let mut c = Cursor::new(bytes.get(usize::from(offset)..).unwrap_or(&[]));
    c.vec16("key").unwrap_or(&[])
}

/// Parses a serialised context into an owned map (tests and small, trusted inputs).
#[cfg(test)]
pub(crate) fn parse(bytes: &[u8]) -> Result<EncryptionContext, Error> {
    WireContext::parse(bytes).map(|w| w.to_map())
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
    fn duplicate_found_even_when_pairs_are_out_of_order() {
        let bytes = [0, 3, 0, 1, b'b', 0, 0, 0, 1, b'a', 0, 0, 0, 1, b'b', 0, 0];
        assert_eq!(parse(&bytes), Err(Error::DuplicateEncryptionContextKey("b".into())));
    }

    #[test]
    fn non_canonical_order_is_accepted_and_reserialised_sorted() {
        let bytes = [0, 2, 0, 1, b'b', 0, 1, b'2', 0, 1, b'a', 0, 1, b'1'];
        let w = WireContext::parse(&bytes).expect("valid");
        assert_eq!(w.get("a"), Some("1"));
        let canonical = w.canonical_with(&EncryptionContext::new()).expect("small");
        assert_eq!(&*canonical, &[0, 2, 0, 1, b'a', 0, 1, b'1', 0, 1, b'b', 0, 1, b'2']);
    }

    #[test]
    fn rejects_a_pair_count_larger_than_the_bytes_could_hold() {
        assert_eq!(
            WireContext::parse(&[0xff, 0xff, 0, 0]).map(|_| ()),
            Err(Error::Truncated("encryption context key"))
        );
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(parse(&[0, 1, 0, 1, 0xff, 0, 0]), Err(Error::EncryptionContextNotUtf8));
    }
}
