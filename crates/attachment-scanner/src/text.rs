//! Plain text (`.txt`, `.csv`): no magic number, so recognised by what it is made of.

/// Why bytes are not acceptable plain text. Offsets are byte offsets into the file; the
/// offending bytes themselves are never carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextError {
    /// Not valid UTF-8 from this byte offset on.
    InvalidUtf8 {
        /// Offset of the first byte that is not part of a valid UTF-8 sequence.
        at: usize,
    },
    /// A control character (C0, DEL or C1) other than tab, line feed, carriage return or form feed.
    ControlCharacter {
        /// Offset of the character.
        at: usize,
    },
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUtf8 { at } => write!(f, "not valid UTF-8 at byte {at}"),
            Self::ControlCharacter { at } => write!(f, "control character at byte {at}"),
        }
    }
}

impl std::error::Error for TextError {}

/// The whitespace a text file may hold besides spaces: tab, line feed, carriage return, form feed.
const ALLOWED_CONTROLS: [char; 4] = ['\t', '\n', '\r', '\u{0c}'];

/// Checks that `bytes` are valid UTF-8 (a leading byte-order mark is allowed: it is not a control
/// character) and hold no control character other than tab, LF, CR and FF. NUL, ESC (terminal
/// escapes), DEL and the C1 range U+0080..U+009F are all refused.
pub fn check_text(bytes: &[u8]) -> Result<(), TextError> {
    let text = std::str::from_utf8(bytes).map_err(|e| TextError::InvalidUtf8 { at: e.valid_up_to() })?;
    match text.char_indices().find(|&(_, c)| c.is_control() && !ALLOWED_CONTROLS.contains(&c)) {
        Some((at, _)) => Err(TextError::ControlCharacter { at }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_text_with_whitespace_and_non_ascii() {
        assert_eq!(check_text(b"a,b\r\nc\td\x0c\n"), Ok(()));
        assert_eq!(check_text("\u{feff}Grüße, 日本\n".as_bytes()), Ok(()));
    }

    #[test]
    fn rejects_invalid_utf8_with_its_offset() {
        assert_eq!(check_text(b"abc\xff\xfe"), Err(TextError::InvalidUtf8 { at: 3 }));
        // A truncated multi-byte sequence at the end.
        assert_eq!(check_text(b"ok \xe2\x82"), Err(TextError::InvalidUtf8 { at: 3 }));
        // UTF-16 with a BOM is not UTF-8.
        assert_eq!(check_text(b"\xff\xfeh\x00i\x00"), Err(TextError::InvalidUtf8 { at: 0 }));
    }

    #[test]
    fn rejects_nul_escape_del_and_c1_controls() {
        assert_eq!(check_text(b"ab\0c"), Err(TextError::ControlCharacter { at: 2 }));
        assert_eq!(check_text(b"\x1b[2Jcleared"), Err(TextError::ControlCharacter { at: 0 }));
        assert_eq!(check_text(b"x\x7f"), Err(TextError::ControlCharacter { at: 1 }));
        assert_eq!(check_text("a\u{85}b".as_bytes()), Err(TextError::ControlCharacter { at: 1 }));
        assert_eq!(check_text(b"\x0b"), Err(TextError::ControlCharacter { at: 0 }));
    }
}
