//! What a decrypted value is worth to the flow: card brand and Luhn, expiry, security code
//! length. Works on the borrowed plaintext and keeps nothing of it but a card's last four digits.

use core::fmt;

/// What a parameter holds, as declared by the flow (`<Name>Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// A payment card number (PAN): brand, Luhn, length; last four digits and a mask.
    Card,
    /// An expiry date, `MMYY` (or `MMYYYY`): month validity and whether it has passed.
    Expiry,
    /// A card security code (CVV/CVC/CID): 3 or 4 digits.
    Cvv,
    /// Any digit string (account number, PIN, ...): length and digits only.
    Digits,
}

impl ValueType {
    /// Parses a declaration, case-insensitively (`card`, `expiry`, `cvv`, `digits`, plus the
    /// aliases `pan`, `creditcard`, `exp`, `expiration`, `cvc`, `securitycode`, `number`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "card" | "pan" | "creditcard" => Some(Self::Card),
            "expiry" | "exp" | "expiration" => Some(Self::Expiry),
            "cvv" | "cvc" | "securitycode" => Some(Self::Cvv),
            "digits" | "number" => Some(Self::Digits),
            _ => None,
        }
    }

    /// The name used in responses and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Expiry => "expiry",
            Self::Cvv => "cvv",
            Self::Digits => "digits",
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar month, for expiry checks ("now" is a parameter so tests can pin it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    /// Four-digit year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
}

impl YearMonth {
    /// The current UTC month from the system clock.
    pub fn now_utc() -> Self {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self::from_unix_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// The month containing the given day since 1970-01-01 (Howard Hinnant's civil_from_days).
    pub fn from_unix_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year: u16::try_from(year).unwrap_or(u16::MAX), month: u8::try_from(month).unwrap_or(1) }
    }
}

/// Card networks recognised by their IIN ranges (ISO/IEC 7812 prefixes as published by the
/// networks; the usual ranges, not a BIN database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brand {
    /// 4, 13/16/19 digits.
    Visa,
    /// 51–55 and 2221–2720, 16 digits.
    Mastercard,
    /// 34, 37, 15 digits.
    Amex,
    /// 6011, 644–649, 65, 622126–622925, 16–19 digits.
    Discover,
    /// 3528–3589, 16–19 digits.
    Jcb,
    /// 300–305, 36, 38, 39, 14–19 digits.
    DinersClub,
    /// 62 (outside Discover's co-branded range), 16–19 digits.
    UnionPay,
    /// 50, 56–58, 6 (remaining), 12–19 digits.
    Maestro,
    /// Anything else.
    Unknown,
}

impl Brand {
    /// The name used in responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "Visa",
            Self::Mastercard => "Mastercard",
            Self::Amex => "Amex",
            Self::Discover => "Discover",
            Self::Jcb => "JCB",
            Self::DinersClub => "DinersClub",
            Self::UnionPay => "UnionPay",
            Self::Maestro => "Maestro",
            Self::Unknown => "Unknown",
        }
    }

    fn lengths(self) -> core::ops::RangeInclusive<usize> {
        match self {
            Self::Visa => 13..=19,
            Self::Mastercard => 16..=16,
            Self::Amex => 15..=15,
            Self::Discover | Self::Jcb | Self::UnionPay => 16..=19,
            Self::DinersClub => 14..=19,
            Self::Maestro | Self::Unknown => 12..=19,
        }
    }

    fn length_ok(self, len: usize) -> bool {
        match self {
            Self::Visa => matches!(len, 13 | 16 | 19),
            _ => self.lengths().contains(&len),
        }
    }

    /// Detects the brand from the leading digits (`digits` must be ASCII digits).
    pub fn detect(digits: &[u8]) -> Self {
        let prefix =
            |n: usize| -> u32 { digits.iter().take(n).fold(0, |acc, d| acc * 10 + u32::from(d.wrapping_sub(b'0'))) };
        if digits.len() < 6 {
            return Self::Unknown;
        }
        let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
        match () {
            _ if p2 == 34 || p2 == 37 => Self::Amex,
            _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => Self::Mastercard,
            _ if p1 == 4 => Self::Visa,
            _ if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622_126..=622_925).contains(&p6) => {
                Self::Discover
            }
            _ if (3528..=3589).contains(&p4) => Self::Jcb,
            _ if (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 => Self::DinersClub,
            _ if p2 == 62 => Self::UnionPay,
            _ if p2 == 50 || (56..=58).contains(&p2) || p1 == 6 => Self::Maestro,
            _ => Self::Unknown,
        }
    }
}

/// The Luhn (mod 10) check over ASCII digits.
pub fn luhn_ok(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// What the response may say about one value. Holds no plaintext except, for card numbers of at
/// least 12 digits, the last four.
#[derive(Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The declared type.
    pub kind: ValueType,
    /// Length in bytes.
    pub length: usize,
    /// Whether the value passed the type's checks.
    pub valid: bool,
    /// Last four digits (cards only).
    pub last4: Option<String>,
    /// `X` for every character except a card's last four digits.
    pub masked: String,
    /// Type-specific response fields (name, value), values in `[A-Za-z0-9_-]`.
    pub fields: Vec<(&'static str, String)>,
}

impl fmt::Debug for Analysis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Analysis")
            .field("kind", &self.kind)
            .field("length", &self.length)
            .field("valid", &self.valid)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
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
    let mut fields = vec![("Digits", flag(digits))];
    let mut last4 = None;
    let mut masked = "X".repeat(length.min(MAX_VALUE_LEN));
    let valid = match kind {
        ValueType::Card => {
            let brand = if digits { Brand::detect(value) } else { Brand::Unknown };
            let luhn = digits && luhn_ok(value);
            fields.push(("Brand", brand.as_str().to_owned()));
            fields.push(("Luhn", flag(luhn)));
            if digits && (12..=19).contains(&length) {
                let tail = value.get(length - 4..).unwrap_or_default();
                let tail: String = tail.iter().map(|&b| char::from(b)).collect();
                masked = format!("{}{}", "X".repeat(length - 4), tail);
                last4 = Some(tail);
            }
            luhn && (12..=19).contains(&length) && brand.length_ok(length)
        }
        ValueType::Expiry => {
            let parsed = if digits && (length == 4 || length == 6) { parse_expiry(value) } else { None };
            let month_ok = parsed.is_some_and(|e| (1..=12).contains(&e.month));
            fields.push(("MonthValid", flag(month_ok)));
            match parsed {
                Some(e) if month_ok => {
                    let expired = e < today;
                    // Cards are issued for at most about 20 years ahead.
                    let too_far = e.year > today.year.saturating_add(20);
                    fields.push(("Expired", flag(expired)));
                    fields.push(("YearValid", flag(!too_far)));
                    !expired && !too_far
                }
                _ => false,
            }
        }
        ValueType::Cvv => {
            let ok = digits && (length == 3 || length == 4);
            fields.push(("LengthValid", flag(ok)));
            ok
        }
        ValueType::Digits => digits,
    };
    Analysis { kind, length, valid, last4, masked, fields }
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

    fn field<'a>(a: &'a Analysis, name: &str) -> Option<&'a str> {
        a.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
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
            assert_eq!(field(&a, "Brand"), Some(brand.as_str()), "{pan}");
            assert_eq!(field(&a, "Luhn"), Some("true"), "{pan}");
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
        assert_eq!((a.valid, field(&a, "Luhn")), (false, Some("false")));
        // Luhn-valid 16 digits with an Amex prefix: Amex numbers are 15 digits.
        let a = analyze(ValueType::Card, b"3782822463100000", NOV_2026);
        assert!(luhn_ok(b"3782822463100000") == (field(&a, "Luhn") == Some("true")));
        assert!(!a.valid);
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
        assert_eq!((a.valid, field(&a, "Expired")), (true, Some("false")), "this month is not expired");
        let a = case("1026");
        assert_eq!((a.valid, field(&a, "Expired")), (false, Some("true")));
        let a = case("0130");
        assert_eq!((a.valid, field(&a, "Expired")), (true, Some("false")));
        let a = case("122030");
        assert!(a.valid);
        let a = case("1326");
        assert_eq!((a.valid, field(&a, "MonthValid")), (false, Some("false")));
        let a = case("0026");
        assert!(!a.valid);
        let a = case("126");
        assert!(!a.valid);
        let a = case("0199");
        assert_eq!((a.valid, field(&a, "YearValid")), (false, Some("false")));
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
    fn civil_from_days() {
        assert_eq!(YearMonth::from_unix_days(0), YearMonth { year: 1970, month: 1 });
        assert_eq!(YearMonth::from_unix_days(20_454), YearMonth { year: 2026, month: 1 });
        assert_eq!(YearMonth::from_unix_days(11_016), YearMonth { year: 2000, month: 2 });
    }

    #[test]
    fn debug_shows_no_digits() {
        let a = analyze(ValueType::Card, b"5555555555554444", NOV_2026);
        assert!(!format!("{a:?}").contains("4444"));
    }

    #[test]
    fn parses_type_declarations() {
        assert_eq!(ValueType::parse(" CVV "), Some(ValueType::Cvv));
        assert_eq!(ValueType::parse("Expiry"), Some(ValueType::Expiry));
        assert_eq!(ValueType::parse("ssn"), None);
    }
}
