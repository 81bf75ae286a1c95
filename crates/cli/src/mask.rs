//! Masked, validated view of a decrypted value, safe to print.
// TODO(issue 3): share with the Lambda's validation module once it lands, so the CLI and the
// Lambda classify input identically.

use serde::Serialize;

/// What a decrypted value looks like, without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Masked {
    /// `card-number` (13-19 digits, Luhn valid), `digits`, `text`, `empty` or `binary`.
    pub kind: &'static str,
    /// Length in characters (bytes for binary).
    pub length: usize,
    /// The value with all but the last four digits of a card number replaced by `*`; everything for
    /// other kinds.
    pub masked: String,
    /// Luhn check result for all-digit values of card length.
    pub luhn_valid: Option<bool>,
}

/// Classifies and masks a value.
pub fn mask(value: &[u8]) -> Masked {
    let Ok(text) = std::str::from_utf8(value) else {
        return Masked { kind: "binary", length: value.len(), masked: "<binary>".into(), luhn_valid: None };
    };
    if text.is_empty() {
        return Masked { kind: "empty", length: 0, masked: String::new(), luhn_valid: None };
    }
    let length = text.chars().count();
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Masked { kind: "text", length, masked: "*".repeat(length), luhn_valid: None };
    }
    let card_length = (13..=19).contains(&length);
    let luhn_valid = card_length.then(|| luhn(text.as_bytes()));
    let kind = if luhn_valid == Some(true) { "card-number" } else { "digits" };
    let shown = if kind == "card-number" { 4 } else { 0 };
    let masked: String = text.chars().enumerate().map(|(i, c)| if i + shown >= length { c } else { '*' }).collect();
    Masked { kind, length, masked, luhn_valid }
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_last_four_of_luhn_valid_card() {
        let m = mask(b"4111111111111111");
        assert_eq!(m.kind, "card-number");
        assert_eq!(m.masked, "************1111");
        assert_eq!(m.luhn_valid, Some(true));
    }

    #[test]
    fn hides_all_digits_of_luhn_invalid_number() {
        let m = mask(b"4111111111111112");
        assert_eq!(m.kind, "digits");
        assert_eq!(m.masked, "****************");
        assert_eq!(m.luhn_valid, Some(false));
    }

    #[test]
    fn hides_short_pins_and_text_entirely() {
        assert_eq!(mask(b"1234").masked, "****");
        assert_eq!(mask(b"1234").luhn_valid, None);
        assert_eq!(mask(b"abc").kind, "text");
        assert_eq!(mask(b"abc").masked, "***");
        assert_eq!(mask(&[0xff, 0xfe]).kind, "binary");
        assert_eq!(mask(b"").kind, "empty");
    }
}
