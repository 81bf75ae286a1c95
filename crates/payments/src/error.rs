//! The crate's errors: each names the value or setting that failed, never a value itself.

use std::fmt;

/// A request value refused before anything is sent. No variant carries the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// Not 12..=19 ASCII digits.
    CardNumber,
    /// Month not 1..=12 or year not 2000..=2099.
    Expiry,
    /// Not 3 or 4 ASCII digits.
    Cvc,
    /// Zero or above `MAX_AMOUNT`.
    Amount,
    /// Not a circulating ISO 4217 code.
    Currency,
    /// Not `[A-Za-z0-9_-]`, 1..=256 characters.
    ContactId,
    /// A flow parameter (named) is missing, malformed or not allowed with the others.
    Parameter(&'static str),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CardNumber => f.write_str("card number is not 12 to 19 digits"),
            Self::Expiry => f.write_str("expiry is not a month 1-12 and a four-digit year 2000-2099"),
            Self::Cvc => f.write_str("security code is not 3 or 4 digits"),
            Self::Amount => f.write_str("amount is not a whole number of minor units between 1 and 2^53-1"),
            Self::Currency => f.write_str("currency is not a circulating ISO 4217 code (upper case)"),
            Self::ContactId => f.write_str("contact ID is not 1 to 256 characters of [A-Za-z0-9_-]"),
            Self::Parameter(name) => write!(f, "flow parameter {name} is missing, malformed or not allowed here"),
        }
    }
}

impl std::error::Error for RequestError {}

/// A connector setting refused at construction (the Lambda's cold start).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The URL does not parse as an absolute `scheme://host[:port][/path]` URL.
    UrlSyntax,
    /// The scheme is neither `https` nor `http`.
    UrlScheme,
    /// `http` to a host that is not loopback (`127.0.0.1`, `::1`, `localhost`).
    PlainHttpNotLoopback,
    /// The URL carries user information (`user@host`) or a fragment.
    UrlCredentialsOrFragment,
    /// A base URL with a path, query or fragment where only scheme, host and port are allowed (Stripe).
    UrlHasPath,
    /// The secret (HMAC key or API key) is empty, longer than 4096 bytes, or not printable ASCII where a header needs it.
    Secret,
    /// No trusted root certificate: none in the system store, or the given roots empty or unparsable.
    TlsRoots,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UrlSyntax => "payment URL is not an absolute URL (scheme://host[:port][/path])",
            Self::UrlScheme => "payment URL scheme must be https (http only to a loopback address)",
            Self::PlainHttpNotLoopback => {
                "payment URL is plain http to a non-loopback host: use https (http is for 127.0.0.1, ::1, localhost)"
            }
            Self::UrlCredentialsOrFragment => "payment URL must not carry user information or a fragment",
            Self::UrlHasPath => "payment base URL must be scheme://host[:port] with no path or query",
            Self::Secret => "payment secret is empty, too long (> 4096 bytes) or not printable ASCII",
            Self::TlsRoots => {
                "no trusted root certificate (system store empty, or the configured roots empty or invalid)"
            }
        })
    }
}

impl std::error::Error for ConfigError {}
