//! Card numbers: the network by IIN range, the lengths it issues, and the Luhn check.

use serde::{Deserialize, Serialize};

/// Card networks recognised by their IIN ranges (ISO/IEC 7812 prefixes as published by the
/// networks; the usual ranges, not a BIN database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(rename = "JCB")]
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
    /// Every brand, `Unknown` last.
    pub const ALL: [Self; 9] = [
        Self::Visa,
        Self::Mastercard,
        Self::Amex,
        Self::Discover,
        Self::Jcb,
        Self::DinersClub,
        Self::UnionPay,
        Self::Maestro,
        Self::Unknown,
    ];

    /// The name used in responses (the same as its serde name).
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

    /// Whether the network issues numbers of `len` digits.
    pub(crate) fn length_ok(self, len: usize) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_check_digit_and_refuses_others_and_empty() {
        assert!(luhn_ok(b"79927398713"));
        assert!(!luhn_ok(b"79927398710"));
        assert!(!luhn_ok(b""));
    }

    #[test]
    fn short_numbers_have_no_brand() {
        assert_eq!(Brand::detect(b"41111"), Brand::Unknown);
        assert_eq!(Brand::detect(b"999999"), Brand::Unknown);
    }
}
