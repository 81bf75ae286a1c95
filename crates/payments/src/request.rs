//! What a connector is asked to do: every value checked at construction, the card in zeroizing types.

use std::fmt;

use zeroize::Zeroizing;

use crate::currency::Currency;
use crate::error::RequestError;

/// The longest Connect contact ID accepted (Connect's API documents 1..=256 characters).
pub const MAX_CONTACT_ID_LEN: usize = 256;
/// The largest amount, in minor units: 2^53 - 1, the largest integer a JSON number carries exactly
/// (a merchant service in JavaScript reads anything larger wrong).
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;
/// Card number lengths accepted (ISO/IEC 7812 PANs are 12 to 19 digits).
pub const CARD_NUMBER_LEN: std::ops::RangeInclusive<usize> = 12..=19;

fn is_opaque_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// True when `s` is 1..=`max` characters of `[A-Za-z0-9_-]`.
pub(crate) fn is_opaque(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(is_opaque_char)
}

/// The Amazon Connect contact the payment belongs to: `[A-Za-z0-9_-]`, 1..=256 characters.
///
/// The alphabet keeps it safe in a header, a form body and JSON without escaping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactId(String);

impl ContactId {
    /// Checks the alphabet and length.
    pub fn new(id: &str) -> Result<Self, RequestError> {
        if is_opaque(id, MAX_CONTACT_ID_LEN) { Ok(Self(id.to_owned())) } else { Err(RequestError::ContactId) }
    }

    /// The contact ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A card number: 12 to 19 ASCII digits, wiped on drop, never printed.
///
/// Luhn and brand are the caller's rule (`caller-input`); this type only guarantees what the wire
/// formats need (digits, bounded length).
#[derive(Clone)]
pub struct CardNumber(Zeroizing<Vec<u8>>);

impl CardNumber {
    /// Copies `digits` into a zeroizing buffer of exactly their size.
    pub fn new(digits: &[u8]) -> Result<Self, RequestError> {
        if !CARD_NUMBER_LEN.contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return Err(RequestError::CardNumber);
        }
        let mut buf = Zeroizing::new(Vec::with_capacity(digits.len()));
        buf.extend_from_slice(digits);
        Ok(Self(buf))
    }

    /// The digits, for a connector writing its body. Never log them.
    pub fn expose_digits(&self) -> &[u8] {
        &self.0
    }

    /// How many digits.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false (a card number has at least 12 digits); here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber([REDACTED; {} digits])", self.0.len())
    }
}

/// A card's expiry: month 1..=12 and a four-digit year (2000..=2099). Not secret on its own, but
/// printed only as `Expiry(..)` so a debug dump of a request says nothing about the card.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    month: u8,
    year: u16,
}

impl Expiry {
    /// Checks the month and that the year has four digits in this century.
    pub fn new(month: u8, year: u16) -> Result<Self, RequestError> {
        if !(1..=12).contains(&month) || !(2000..=2099).contains(&year) {
            return Err(RequestError::Expiry);
        }
        Ok(Self { month, year })
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The four-digit year.
    pub fn year(self) -> u16 {
        self.year
    }
}

impl fmt::Debug for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Expiry([REDACTED])")
    }
}

/// A card security code: 3 or 4 ASCII digits, wiped on drop, never printed.
#[derive(Clone)]
pub struct Cvc(Zeroizing<Vec<u8>>);

impl Cvc {
    /// Copies `digits` into a zeroizing buffer.
    pub fn new(digits: &[u8]) -> Result<Self, RequestError> {
        if !(3..=4).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
            return Err(RequestError::Cvc);
        }
        let mut buf = Zeroizing::new(Vec::with_capacity(digits.len()));
        buf.extend_from_slice(digits);
        Ok(Self(buf))
    }

    /// The digits, for a connector writing its body. Never log them.
    pub fn expose_digits(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Cvc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvc([REDACTED])")
    }
}

/// The card as captured: the number, and the expiry and security code when the flow asked for them.
#[derive(Clone, Debug)]
pub struct CardData {
    number: CardNumber,
    expiry: Option<Expiry>,
    cvc: Option<Cvc>,
}

impl CardData {
    /// Groups already-checked parts.
    pub fn new(number: CardNumber, expiry: Option<Expiry>, cvc: Option<Cvc>) -> Self {
        Self { number, expiry, cvc }
    }

    /// The card number.
    pub fn number(&self) -> &CardNumber {
        &self.number
    }

    /// The expiry, when captured.
    pub fn expiry(&self) -> Option<Expiry> {
        self.expiry
    }

    /// The security code, when captured.
    pub fn cvc(&self) -> Option<&Cvc> {
        self.cvc.as_ref()
    }
}

/// An amount in minor units of an ISO 4217 currency: 1..=[`MAX_AMOUNT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amount {
    value: u64,
    currency: Currency,
}

impl Amount {
    /// Checks `value` is in 1..=[`MAX_AMOUNT`].
    pub fn new(value: u64, currency: Currency) -> Result<Self, RequestError> {
        if value == 0 || value > MAX_AMOUNT {
            return Err(RequestError::Amount);
        }
        Ok(Self { value, currency })
    }

    /// Minor units (pence, cents; yen for JPY).
    pub fn value(self) -> u64 {
        self.value
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }
}

/// What the gateway is asked to do. An authorization carries its amount; a tokenization has none,
/// so neither can be built in the wrong shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Authorize (or charge, as the gateway is configured) this amount.
    Authorize(Amount),
    /// Store the card and return a token; no money moves.
    Tokenize,
}

/// The flow parameter names [`Operation::from_parameters`] reads, as the errors name them.
pub mod parameter {
    /// Integer, minor units, > 0.
    pub const AMOUNT: &str = "PaymentAmount";
    /// ISO 4217 alphabetic code.
    pub const CURRENCY: &str = "PaymentCurrency";
    /// `authorize` | `tokenize`.
    pub const OPERATION: &str = "PaymentOperation";
}

impl Operation {
    /// The wire name: `authorize` or `tokenize`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authorize(_) => "authorize",
            Self::Tokenize => "tokenize",
        }
    }

    /// The amount, for an authorization.
    pub fn amount(self) -> Option<Amount> {
        match self {
            Self::Authorize(a) => Some(a),
            Self::Tokenize => None,
        }
    }

    /// Reads the flow parameters `PaymentOperation`, `PaymentAmount` and `PaymentCurrency`
    /// (absent or empty = not given).
    ///
    /// The operation defaults to `authorize` when an amount is given, else `tokenize`. An
    /// authorization needs both amount and currency; a tokenization takes neither. An amount is
    /// plain decimal digits (no sign, no exponent, no leading `+`), so `"12.50"` is refused rather
    /// than read as 12 or 1250.
    pub fn from_parameters(
        operation: Option<&str>,
        amount: Option<&str>,
        currency: Option<&str>,
    ) -> Result<Self, RequestError> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.filter(|s| !s.is_empty())
        }
        let (operation, amount, currency) = (given(operation), given(amount), given(currency));
        let authorize = match operation {
            Some("authorize") => true,
            Some("tokenize") => false,
            Some(_) => return Err(RequestError::Parameter(parameter::OPERATION)),
            None => amount.is_some(),
        };
        if !authorize {
            if amount.is_some() {
                return Err(RequestError::Parameter(parameter::AMOUNT));
            }
            if currency.is_some() {
                return Err(RequestError::Parameter(parameter::CURRENCY));
            }
            return Ok(Self::Tokenize);
        }
        let amount = amount.ok_or(RequestError::Parameter(parameter::AMOUNT))?;
        let currency = currency.ok_or(RequestError::Parameter(parameter::CURRENCY))?;
        if amount.len() > 16 || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RequestError::Parameter(parameter::AMOUNT));
        }
        let value: u64 = amount.parse().map_err(|_| RequestError::Parameter(parameter::AMOUNT))?;
        let currency = Currency::parse(currency).map_err(|_| RequestError::Parameter(parameter::CURRENCY))?;
        let amount = Amount::new(value, currency).map_err(|_| RequestError::Parameter(parameter::AMOUNT))?;
        Ok(Self::Authorize(amount))
    }
}

/// One payment request: who, what, which card.
#[derive(Clone, Debug)]
pub struct PaymentRequest {
    contact_id: ContactId,
    operation: Operation,
    card: CardData,
}

impl PaymentRequest {
    /// Groups already-checked parts.
    pub fn new(contact_id: ContactId, operation: Operation, card: CardData) -> Self {
        Self { contact_id, operation, card }
    }

    /// The contact.
    pub fn contact_id(&self) -> &ContactId {
        &self.contact_id
    }

    /// The operation (and its amount).
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The card.
    pub fn card(&self) -> &CardData {
        &self.card
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp() -> Currency {
        Currency::parse("GBP").unwrap()
    }

    #[test]
    fn card_number_accepts_12_to_19_digits_only() {
        assert!(CardNumber::new(b"555555555555").is_ok());
        assert!(CardNumber::new(b"5555555555554444123").is_ok());
        assert_eq!(CardNumber::new(b"55555555555").unwrap_err(), RequestError::CardNumber);
        assert_eq!(CardNumber::new(b"55555555555544441234").unwrap_err(), RequestError::CardNumber);
        assert_eq!(CardNumber::new(b"5555 5555 5555 4444").unwrap_err(), RequestError::CardNumber);
        assert_eq!(CardNumber::new(b"").unwrap_err(), RequestError::CardNumber);
    }

    #[test]
    fn cvc_is_three_or_four_digits() {
        assert!(Cvc::new(b"123").is_ok());
        assert!(Cvc::new(b"1234").is_ok());
        assert_eq!(Cvc::new(b"12").unwrap_err(), RequestError::Cvc);
        assert_eq!(Cvc::new(b"12345").unwrap_err(), RequestError::Cvc);
        assert_eq!(Cvc::new(b"12a").unwrap_err(), RequestError::Cvc);
    }

    #[test]
    fn expiry_wants_a_real_month_and_a_four_digit_year() {
        assert!(Expiry::new(12, 2030).is_ok());
        assert_eq!(Expiry::new(0, 2030).unwrap_err(), RequestError::Expiry);
        assert_eq!(Expiry::new(13, 2030).unwrap_err(), RequestError::Expiry);
        assert_eq!(Expiry::new(12, 30).unwrap_err(), RequestError::Expiry);
        assert_eq!(Expiry::new(12, 2100).unwrap_err(), RequestError::Expiry);
    }

    #[test]
    fn amount_is_positive_and_json_safe() {
        assert!(Amount::new(1, gbp()).is_ok());
        assert!(Amount::new(MAX_AMOUNT, gbp()).is_ok());
        assert_eq!(Amount::new(0, gbp()).unwrap_err(), RequestError::Amount);
        assert_eq!(Amount::new(MAX_AMOUNT + 1, gbp()).unwrap_err(), RequestError::Amount);
    }

    #[test]
    fn contact_id_alphabet_is_opaque() {
        assert!(ContactId::new("6f1c2a3b-0000-4000-8000-000000000001").is_ok());
        assert_eq!(ContactId::new("").unwrap_err(), RequestError::ContactId);
        assert_eq!(ContactId::new("a\"b").unwrap_err(), RequestError::ContactId);
        assert_eq!(ContactId::new("a b").unwrap_err(), RequestError::ContactId);
        assert_eq!(ContactId::new(&"a".repeat(257)).unwrap_err(), RequestError::ContactId);
        assert!(ContactId::new(&"a".repeat(256)).is_ok());
    }

    #[test]
    fn operation_defaults_to_authorize_with_an_amount_else_tokenize() {
        assert_eq!(Operation::from_parameters(None, None, None), Ok(Operation::Tokenize));
        assert_eq!(Operation::from_parameters(Some(""), Some(""), Some("")), Ok(Operation::Tokenize));
        let auth = Operation::from_parameters(None, Some("1250"), Some("GBP")).unwrap();
        assert_eq!(auth, Operation::Authorize(Amount::new(1250, gbp()).unwrap()));
        assert_eq!(Operation::from_parameters(Some("authorize"), Some("1250"), Some("GBP")), Ok(auth));
    }

    #[test]
    fn operation_parameters_refused_name_the_parameter() {
        let err = |o, a, c| Operation::from_parameters(o, a, c).unwrap_err();
        assert_eq!(err(Some("charge"), None, None), RequestError::Parameter("PaymentOperation"));
        assert_eq!(err(Some("tokenize"), Some("5"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(Some("tokenize"), None, Some("GBP")), RequestError::Parameter("PaymentCurrency"));
        assert_eq!(err(Some("authorize"), None, Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("1250"), None), RequestError::Parameter("PaymentCurrency"));
        assert_eq!(err(None, Some("0"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("12.50"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("-5"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("+5"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("1e3"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("99999999999999999"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("9007199254740992"), Some("GBP")), RequestError::Parameter("PaymentAmount"));
        assert_eq!(err(None, Some("5"), Some("XXX")), RequestError::Parameter("PaymentCurrency"));
        assert_eq!(err(None, Some("5"), Some("gbp")), RequestError::Parameter("PaymentCurrency"));
    }

    #[test]
    fn debug_of_the_card_shows_no_digits() {
        let card = CardData::new(
            CardNumber::new(b"5555555555554444").unwrap(),
            Some(Expiry::new(12, 2030).unwrap()),
            Some(Cvc::new(b"987").unwrap()),
        );
        let shown = format!("{card:?} {card:#?}");
        for secret in ["5555555555554444", "4444", "987", "2030"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
}
