//! A borrowed, bounds-checked reader over the message bytes.
//!
//! Every read is fallible and names the field it was reading, so a truncated message reports
//! exactly where it ended. Nothing here indexes, copies or allocates.

use crate::Error;

/// A read position over a borrowed byte slice.
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The bytes not yet read.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Takes exactly `n` bytes, or fails naming `field`.
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        if n > self.rest.len() {
            return Err(Error::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let bytes = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian `u16` length, then that many bytes.
    pub(crate) fn vec16(&mut self, field: &'static str) -> Result<&'a [u8], Error> {
        let len = self.u16(field)?;
        self.take(usize::from(len), field)
    }

    /// Peeks at the next four bytes as a big-endian `u32`, without consuming them.
    pub(crate) fn peek_u32(&self) -> Option<u32> {
        let bytes = self.rest.get(..4)?;
        let mut out = [0u8; 4];
        out.copy_from_slice(bytes);
        Some(u32::from_be_bytes(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_the_field_it_ran_out_in() {
        let mut c = Cursor::new(&[0, 3, b'a', b'b']);
        assert_eq!(c.vec16("key"), Err(Error::Truncated("key")));
    }

    #[test]
    fn reads_big_endian_integers_in_order() {
        let mut c = Cursor::new(&[1, 0, 2, 0, 0, 0, 3, 9]);
        assert_eq!(c.u8("a"), Ok(1));
        assert_eq!(c.u16("b"), Ok(2));
        assert_eq!(c.u32("c"), Ok(3));
        assert_eq!(c.remaining(), 1);
        assert_eq!(c.u16("d"), Err(Error::Truncated("d")));
    }
}
