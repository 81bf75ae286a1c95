//! Decrypted bytes that never print and are wiped on drop.

use zeroize::Zeroizing;

/// A decrypted plaintext. Its `Debug` shows nothing of the content, not even its length.
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    pub(crate) fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The plaintext bytes. Handle with care: do not log, format or copy them around.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Moves the bytes out, still zeroizing on drop.
    pub fn into_zeroizing(self) -> Zeroizing<Vec<u8>> {
        self.0
    }
}

impl core::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Plaintext(<redacted>)")
    }
}
