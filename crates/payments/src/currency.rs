//! ISO 4217 alphabetic currency codes.

use std::fmt;

use crate::error::RequestError;

/// ISO 4217 List One, the circulating currencies (as published in 2025, after ANG gave way to XCG,
/// HRK to EUR, ZWL to ZWG, SLL to SLE, CUC withdrawn), sorted for binary search.
///
/// Left out on purpose: fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW), precious metals,
/// XDR, XSU, XUA, the test code XTS and XXX ("no currency"): none is what a caller pays with, and a
/// gateway would refuse them after the card data had already left this process.
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD", "BIF", "BMD", "BND",
    "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
    "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD",
    "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND",
    "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 alphabetic code from the circulating list (List One less funds, metals and test codes), upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(&'static str);

impl Currency {
    /// Accepts exactly a listed upper-case code (`GBP`, not `gbp` or ` GBP`): the flow's value is
    /// configuration, and a typo should fail where it is written.
    pub fn parse(code: &str) -> Result<Self, RequestError> {
        CODES.binary_search(&code).ok().and_then(|i| CODES.get(i)).map(|c| Self(c)).ok_or(RequestError::Currency)
    }

    /// The upper-case code.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_three_upper_case_letters() {
        assert!(CODES.windows(2).all(|w| w.first() < w.get(1)), "CODES must be sorted and unique");
        assert!(CODES.iter().all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn accepts_circulating_codes() {
        for code in ["GBP", "EUR", "USD", "JPY", "AED", "ZWG", "XCG"] {
            assert_eq!(Currency::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn refuses_funds_metals_tests_withdrawn_and_malformed() {
        for code in ["XXX", "XTS", "XAU", "XDR", "USN", "CLF", "HRK", "ANG", "ZWL", "gbp", "GB", "GBPX", " GBP", ""] {
            assert_eq!(Currency::parse(code), Err(RequestError::Currency), "{code}");
        }
    }
}
