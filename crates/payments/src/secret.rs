//! The connector's secret and the wipe-on-drop buffer request bodies are written into.

use std::fmt;

use bytes::Bytes;
use zeroize::Zeroizing;

use crate::error::ConfigError;

/// The longest secret accepted (Secrets Manager's `SecretString` can be 64 KiB; an HMAC key or an
/// API key is far shorter, and a bound keeps a pasted file out).
pub const MAX_SECRET_LEN: usize = 4096;

/// The connector's secret: the HMAC key (`http`) or the API key (`stripe`). Wiped on drop, never printed.
#[derive(Clone)]
pub struct ConnectorSecret(Zeroizing<Vec<u8>>);

impl ConnectorSecret {
    /// Copies `secret` (a Secrets Manager `SecretString`'s bytes) into a zeroizing buffer; refuses
    /// an empty or over-long one. Surrounding whitespace is not trimmed: the key is what was stored.
    pub fn new(secret: &[u8]) -> Result<Self, ConfigError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Err(ConfigError::Secret);
        }
        let mut buf = Zeroizing::new(Vec::with_capacity(secret.len()));
        buf.extend_from_slice(secret);
        Ok(Self(buf))
    }

    /// The secret's bytes. Never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// True when every byte is visible ASCII (what an `Authorization` header can carry unchanged).
    pub(crate) fn is_visible_ascii(&self) -> bool {
        self.0.iter().all(|b| b.is_ascii_graphic())
    }
}

impl fmt::Debug for ConnectorSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConnectorSecret([REDACTED])")
    }
}

/// A buffer for secret bytes that never reallocates (a `Vec` that grows frees its old block
/// unwiped) and is wiped on drop. Writes past the fixed capacity fail instead of growing.
pub(crate) struct SecretBuf(Zeroizing<Vec<u8>>);

/// A write would have grown a [`SecretBuf`] past its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

impl SecretBuf {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<(), Overflow> {
        if self.0.capacity() - self.0.len() < bytes.len() {
            return Err(Overflow);
        }
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn push_str(&mut self, s: &str) -> Result<(), Overflow> {
        self.push(s.as_bytes())
    }

    /// Decimal digits of `n`, written without a `String` in between.
    pub(crate) fn push_u64(&mut self, n: u64) -> Result<(), Overflow> {
        let mut digits = Zeroizing::new([0u8; 20]);
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            let d = u8::try_from(rest % 10).unwrap_or(0);
            if let Some(slot) = digits.get_mut(start) {
                *slot = b'0' + d;
            }
            rest /= 10;
            if rest == 0 || start == 0 {
                break;
            }
        }
        self.push(digits.get(start..).unwrap_or_default())
    }

    #[cfg(test)]
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Hands the buffer to `Bytes` without copying: the bytes are wiped when the last `Bytes`
    /// clone (hyper's, or the retry loop's) is dropped.
    pub(crate) fn into_bytes(self) -> Bytes {
        Bytes::from_owner(WipeOnDrop(self.0))
    }
}

/// The owner behind a body's `Bytes`: wiped when the last reference goes.
struct WipeOnDrop(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for WipeOnDrop {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_buf_refuses_to_grow() {
        let mut buf = SecretBuf::with_capacity(4);
        buf.push(b"abc").unwrap();
        assert_eq!(buf.push(b"de"), Err(Overflow));
        buf.push(b"d").unwrap();
        assert_eq!(buf.as_slice(), b"abcd");
        assert_eq!(buf.push(b"e"), Err(Overflow));
    }

    #[test]
    fn push_u64_writes_decimal() {
        for n in [0u64, 7, 10, 1250, u64::MAX] {
            let mut buf = SecretBuf::with_capacity(32);
            buf.push_u64(n).unwrap();
            assert_eq!(buf.as_slice(), n.to_string().as_bytes());
        }
    }

    #[test]
    fn secret_bounds() {
        assert_eq!(ConnectorSecret::new(b"").unwrap_err(), ConfigError::Secret);
        assert_eq!(ConnectorSecret::new(&[b'a'; MAX_SECRET_LEN + 1]).unwrap_err(), ConfigError::Secret);
        let s = ConnectorSecret::new(b"whsec_abc").unwrap();
        assert_eq!(format!("{s:?}"), "ConnectorSecret([REDACTED])");
        assert!(s.is_visible_ascii());
        assert!(!ConnectorSecret::new(b"a b").unwrap().is_visible_ascii());
    }
}
