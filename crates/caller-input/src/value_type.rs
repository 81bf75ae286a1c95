//! What a parameter holds, as the contact flow declares it.

use core::fmt;

use serde::{Deserialize, Serialize};

/// What a parameter holds, as declared by the flow (`<Name>Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// Every type.
    pub const ALL: [Self; 4] = [Self::Card, Self::Expiry, Self::Cvv, Self::Digits];

    /// The name used in responses and logs (the same as its serde name).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_declarations() {
        assert_eq!(ValueType::parse(" CVV "), Some(ValueType::Cvv));
        assert_eq!(ValueType::parse("Expiry"), Some(ValueType::Expiry));
        assert_eq!(ValueType::parse("ssn"), None);
    }

    #[test]
    fn names_round_trip() {
        for t in ValueType::ALL {
            assert_eq!(ValueType::parse(t.as_str()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
    }
}
