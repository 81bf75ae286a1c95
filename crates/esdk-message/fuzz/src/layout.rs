//! Where the length, count and sequence fields of a well-formed message sit, so that tests and
//! the seed generator can rewrite them (structure-aware mutation).
//!
//! Spec, data-format/message-header.md and message-body.md. This walks a message that is known
//! to be valid (one `encrypt` made); on anything else it stops early and returns what it found.

/// One integer field of the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Byte offset in the message.
    pub offset: usize,
    /// Width in bytes (1, 2, 4 or 8), big-endian.
    pub width: usize,
    /// Which field it is.
    pub name: &'static str,
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    fields: Vec<Field>,
}

impl Walk<'_> {
    fn uint(&mut self, width: usize, name: &'static str) -> Option<u64> {
        let raw = self.bytes.get(self.at..self.at.checked_add(width)?)?;
        self.fields.push(Field { offset: self.at, width, name });
        self.at += width; // cannot overflow: checked above
        Some(raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        let end = self.at.checked_add(usize::try_from(n).ok()?)?;
        (end <= self.bytes.len()).then(|| self.at = end)
    }

    fn vec16(&mut self, name: &'static str) -> Option<()> {
        let len = self.uint(2, name)?;
        self.skip(len)
    }
}

/// The integer fields of `message`, in wire order.
pub fn fields(message: &[u8]) -> Vec<Field> {
    let mut w = Walk { bytes: message, at: 0, fields: Vec::new() };
    let _ = walk(&mut w);
    w.fields
}

fn walk(w: &mut Walk<'_>) -> Option<()> {
    let version = w.uint(1, "version")?;
    if version == 1 {
        w.uint(1, "message type")?;
    }
    let suite = w.uint(2, "algorithm suite ID")?;
    w.skip(if version == 2 { 32 } else { 16 })?;
    let aad_len = w.uint(2, "encryption context length")?;
    let aad_end = w.at.checked_add(usize::try_from(aad_len).ok()?)?;
    if aad_len > 0 {
        let pairs = w.uint(2, "encryption context pair count")?;
        for _ in 0..pairs {
            w.vec16("encryption context key length")?;
            w.vec16("encryption context value length")?;
        }
    }
    w.at = aad_end;
    let edks = w.uint(2, "encrypted data key count")?;
    for _ in 0..edks {
        w.vec16("provider ID length")?;
        w.vec16("provider info length")?;
        w.vec16("encrypted data key length")?;
    }
    let content_type = w.uint(1, "content type")?;
    if version == 1 {
        w.skip(4)?;
        w.uint(1, "IV length")?;
    }
    let frame_length = w.uint(4, "frame length")?;
    w.skip(if version == 2 { 32 } else { 0 })?;
    w.skip(if version == 1 { 12 + 16 } else { 16 })?;
    if content_type == 1 {
        w.skip(12)?;
        let len = w.uint(8, "non-framed content length")?;
        w.skip(len.checked_add(16)?)?;
    } else {
        loop {
            let seq = w.uint(4, "frame sequence number")?;
            if seq == 0xFFFF_FFFF {
                w.uint(4, "final frame sequence number")?;
                w.skip(12)?;
                let len = w.uint(4, "final frame content length")?;
                w.skip(len.checked_add(16)?)?;
                break;
            }
            w.skip(frame_length.checked_add(28)?)?;
        }
    }
    // Suites 0x02xx, 0x03xx and 0x0578 are signed.
    if matches!(suite >> 8, 2 | 3) || suite == 0x0578 {
        w.uint(2, "footer signature length")?;
    }
    Some(())
}
