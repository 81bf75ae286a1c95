//! What a decrypted value is worth to the flow, and the fields that say so. Works on the borrowed
//! plaintext and keeps nothing of it but a card's last four digits.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::card::{Brand, luhn_ok};
use crate::month::YearMonth;
use crate::value_type::ValueType;

/// A response's `Status`: whether the value passed its type's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// The value is valid for its declared type.
    Success,
    /// It is not.
    Invalid,
}

impl Status {
    /// The name used in responses (`Success`, `Invalid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Invalid => "Invalid",
        }
    }
}

/// What an expiry reveals once its month is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryDate {
    /// Before the current month (a card is good through the end of its month).
    pub expired: bool,
    /// At most 20 years ahead.
    pub year_valid: bool,
}

/// The facts of one type, beyond length, validity and `digits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Facts {
    /// A card number: its brand by IIN range and the Luhn check.
    Card {
        /// `Unknown` unless the value is all digits.
        brand: Brand,
        /// Whether the Luhn check passes (false for anything but digits).
        luhn: bool,
    },
    /// An expiry date.
    Expiry {
        /// `MMYY` or `MMYYYY` with a month 01 to 12.
        month_valid: bool,
        /// Present only when the month is valid.
        date: Option<ExpiryDate>,
    },
    /// A security code.
    Cvv {
        /// 3 or 4 digits.
        length_valid: bool,
    },
    /// A digit string: nothing beyond `digits`.
    Digits,
}

/// What a response may say about one value. Holds no plaintext except, for card numbers of 12 to
/// 19 digits, the last four.
#[derive(Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The declared type.
    pub kind: ValueType,
    /// Length in bytes.
    pub length: usize,
    /// Whether the value passed the type's checks.
    pub valid: bool,
    /// All ASCII digits, 1 to [`MAX_VALUE_LEN`] bytes.
    pub digits: bool,
    /// Last four digits (cards of 12 to 19 digits only).
    pub last4: Option<String>,
    /// `X` for every character except a card's last four digits.
    pub masked: String,
    /// The type's own facts.
    pub facts: Facts,
}

impl fmt::Debug for Analysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analysis")
            .field("kind", &self.kind)
            .field("length", &self.length)
            .field("valid", &self.valid)
            .field("digits", &self.digits)
            .field("facts", &self.facts)
            .finish_non_exhaustive()
    }
}

impl Analysis {
    /// `Success` for a valid value, `Invalid` otherwise: the response's `Status`.
    pub fn status(&self) -> Status {
        if self.valid { Status::Success } else { Status::Invalid }
    }

    /// Every response field for this value, in order: `Status`, `Type`, `Length`, `Valid`,
    /// `Masked`, `Last4` (cards of 12 to 19 digits only), `Digits`, then the type's own fields.
    /// The only place the facts become strings.
    ///
    /// Names and values use only `A-Z a-z 0-9 _ -`.
    pub fn response_fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("Status", self.status().as_str().to_owned()),
            ("Type", self.kind.as_str().to_owned()),
            ("Length", self.length.to_string()),
            ("Valid", flag(self.valid)),
            ("Masked", self.masked.clone()),
        ];
        if let Some(last4) = &self.last4 {
            out.push(("Last4", last4.clone()));
        }
        out.push(("Digits", flag(self.digits)));
        match self.facts {
            Facts::Card { brand, luhn } => {
                out.push(("Brand", brand.as_str().to_owned()));
                out.push(("Luhn", flag(luhn)));
            }
            Facts::Expiry { month_valid, date } => {
                out.push(("MonthValid", flag(month_valid)));
                if let Some(d) = date {
                    out.push(("Expired", flag(d.expired)));
                    out.push(("YearValid", flag(d.year_valid)));
                }
            }
            Facts::Cvv { length_valid } => out.push(("LengthValid", flag(length_valid))),
            Facts::Digits => {}
        }
        out
    }
}

fn flag(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// Longest value analysed; anything longer is invalid whatever its type (and its length is still
/// reported).
pub const MAX_VALUE_LEN: usize = 64;

/// Analyses a decrypted value of type `kind`; `today` decides whether an expiry has passed.
pub fn analyze(kind: ValueType, value: &[u8], today: YearMonth) -> Analysis {
    let length = value.len();
    let digits = !value.is_empty() && length <= MAX_VALUE_LEN && value.iter().all(u8::is_ascii_digit);
    let mut last4 = None;
    let mut masked = "X".repeat(length.min(MAX_VALUE_LEN));
    let (valid, facts) = match kind {
        ValueType::Card => {
            let brand = if digits { Brand::detect(value) } else { Brand::Unknown };
            let luhn = digits && luhn_ok(value);
            if digits && (12..=19).contains(&length) {
                let tail = value.get(length - 4..).unwrap_or_default();
                let tail: String = tail.iter().map(|&b| char::from(b)).collect();
                masked = format!("{}{}", "X".repeat(length - 4), tail);
                last4 = Some(tail);
            }
            (luhn && (12..=19).contains(&length) && brand.length_ok(length), Facts::Card { brand, luhn })
        }
        ValueType::Expiry => {
            let parsed = if digits && (length == 4 || length == 6) { parse_expiry(value) } else { None };
            let date = parsed.filter(|e| (1..=12).contains(&e.month)).map(|e| ExpiryDate {
                expired: e < today,
                // Cards are issued for at most about 20 years ahead.
                year_valid: e.year <= today.year.saturating_add(20),
            });
            let valid = date.is_some_and(|d| !d.expired && d.year_valid);
            (valid, Facts::Expiry { month_valid: date.is_some(), date })
        }
        ValueType::Cvv => {
            let ok = digits && (length == 3 || length == 4);
            (ok, Facts::Cvv { length_valid: ok })
        }
        ValueType::Digits => (digits, Facts::Digits),
    };
    Analysis { kind, length, valid, digits, last4, masked, facts }
}

fn parse_expiry(value: &[u8]) -> Option<YearMonth> {
    let n = |s: &[u8]| s.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d.wrapping_sub(b'0')));
    let month = u8::try_from(n(value.get(..2)?)).ok()?;
    let year = match value.len() {
        4 => 2000 + n(value.get(2..4)?),
        6 => n(value.get(2..6)?),
        _ => return None,
    };
    Some(YearMonth { year, month })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOV_2026: YearMonth = YearMonth { year: 2026, month: 11 };

    fn card(a: &Analysis) -> (Brand, bool) {
        match a.facts {
            Facts::Card { brand, luhn } => (brand, luhn),
            other => panic!("not card facts: {other:?}"),
        }
    }

    fn expiry(a: &Analysis) -> (bool, Option<ExpiryDate>) {
        match a.facts {
            Facts::Expiry { month_valid, date } => (month_valid, date),
            other => panic!("not expiry facts: {other:?}"),
        }
    }

    // Test PANs: the networks' published test numbers (as listed by payment processors' docs).
    #[test]
    fn detects_each_brand_and_validates_luhn() {
        for (pan, brand) in [
            ("4111111111111111", Brand::Visa),
            ("4222222222222", Brand::Visa),
            ("5555555555554444", Brand::Mastercard),
            ("2223003122003222", Brand::Mastercard),
            ("378282246310005", Brand::Amex),
            ("6011111111111117", Brand::Discover),
            ("3530111333300000", Brand::Jcb),
            ("36227206271667", Brand::DinersClub),
            ("6200000000000005", Brand::UnionPay),
            ("6759649826438453", Brand::Maestro),
        ] {
            let a = analyze(ValueType::Card, pan.as_bytes(), NOV_2026);
            assert_eq!(card(&a), (brand, true), "{pan}");
            assert!(a.valid, "{pan}");
            assert_eq!(a.last4.as_deref(), pan.get(pan.len() - 4..));
            assert_eq!(a.masked.len(), pan.len());
        }
    }

    #[test]
    fn masks_all_but_last_four() {
        let a = analyze(ValueType::Card, b"5555555555554444", NOV_2026);
        assert_eq!(a.masked, "XXXXXXXXXXXX4444");
    }

    #[test]
    fn rejects_bad_luhn_and_wrong_brand_length() {
        let a = analyze(ValueType::Card, b"4111111111111112", NOV_2026);
        assert_eq!((a.valid, card(&a).1), (false, false));
        // Luhn-valid 16 digits with an Amex prefix: Amex numbers are 15 digits, so the brand's
        // length rule, and nothing else, is what fails.
        let a = analyze(ValueType::Card, b"3782822463100003", NOV_2026);
        assert_eq!((card(&a), a.digits), ((Brand::Amex, true), true));
        assert!(!Brand::Amex.length_ok(16));
        assert!(!a.valid, "a 16-digit Amex must be refused by its length");
        // Visa issues 13, 16 and 19 digits, not 14: Luhn-valid 14 digits starting with 4.
        let a = analyze(ValueType::Card, b"41111111111114", NOV_2026);
        assert_eq!(card(&a), (Brand::Visa, true));
        assert!(!a.valid, "a 14-digit Visa must be refused by its length");
    }

    #[test]
    fn non_digits_and_short_numbers_reveal_nothing() {
        for v in [&b"4111-1111-1111-1111"[..], b"411111", b"", b"41111111111111111111"] {
            let a = analyze(ValueType::Card, v, NOV_2026);
            assert!(!a.valid);
            assert_eq!(a.last4, None);
            assert!(a.masked.bytes().all(|b| b == b'X'));
        }
    }

    #[test]
    fn expiry_cases() {
        let case = |v: &str| analyze(ValueType::Expiry, v.as_bytes(), NOV_2026);
        let a = case("1126");
        assert_eq!((a.valid, expiry(&a).1.map(|d| d.expired)), (true, Some(false)), "this month is not expired");
        let a = case("1026");
        assert_eq!((a.valid, expiry(&a).1.map(|d| d.expired)), (false, Some(true)));
        let a = case("0130");
        assert_eq!((a.valid, expiry(&a).1.map(|d| d.expired)), (true, Some(false)));
        let a = case("122030");
        assert!(a.valid);
        let a = case("1326");
        assert_eq!((a.valid, expiry(&a)), (false, (false, None)));
        let a = case("0026");
        assert!(!a.valid);
        let a = case("126");
        assert!(!a.valid);
        let a = case("0199");
        assert_eq!((a.valid, expiry(&a).1.map(|d| d.year_valid)), (false, Some(false)));
        assert_eq!(a.last4, None);
    }

    #[test]
    fn cvv_lengths() {
        for (v, ok) in [("123", true), ("1234", true), ("12", false), ("12345", false), ("12a", false)] {
            assert_eq!(analyze(ValueType::Cvv, v.as_bytes(), NOV_2026).valid, ok, "{v}");
        }
        assert_eq!(analyze(ValueType::Cvv, b"123", NOV_2026).last4, None);
    }

    #[test]
    fn digits() {
        assert!(analyze(ValueType::Digits, b"0042", NOV_2026).valid);
        assert!(!analyze(ValueType::Digits, b"00 42", NOV_2026).valid);
        assert_eq!(analyze(ValueType::Digits, b"123456789012", NOV_2026).last4, None);
    }

    #[test]
    fn debug_shows_no_digits() {
        let a = analyze(ValueType::Card, b"5555555555554444", NOV_2026);
        assert!(!format!("{a:?}").contains("4444"));
    }

    #[test]
    fn response_fields_of_a_card_in_order() {
        let a = analyze(ValueType::Card, b"5555555555554444", NOV_2026);
        let names: Vec<&str> = a.response_fields().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["Status", "Type", "Length", "Valid", "Masked", "Last4", "Digits", "Brand", "Luhn"]);
        let fields = a.response_fields();
        let get = |n: &str| fields.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert_eq!(
            (get("Status"), get("Type"), get("Length"), get("Masked"), get("Last4")),
            (Some("Success"), Some("card"), Some("16"), Some("XXXXXXXXXXXX4444"), Some("4444"))
        );
    }

    #[test]
    fn response_fields_of_other_types_hold_no_digit() {
        for (kind, value) in [
            (ValueType::Expiry, &b"0130"[..]),
            (ValueType::Cvv, b"737"),
            (ValueType::Digits, b"123456789012"),
            (ValueType::Card, b"9"),
            (ValueType::Card, &[0xff, 0xfe, b'1']),
        ] {
            let a = analyze(kind, value, NOV_2026);
            for (name, v) in a.response_fields() {
                assert!(name != "Last4", "{kind}: Last4 outside a card");
                let is_count = name == "Length";
                assert!(is_count || !v.bytes().any(|b| b.is_ascii_digit()), "{kind} {name}={v}");
                assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{name}={v}");
            }
        }
        let a = analyze(ValueType::Cvv, b"12", NOV_2026);
        assert_eq!(a.response_fields().first().map(|(_, v)| v.as_str()), Some("Invalid"));
    }
}
