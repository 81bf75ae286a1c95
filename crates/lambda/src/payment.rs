//! The payment settings (issue 13), read and validated at cold start with the rest of the
//! configuration. `none` (the default) is today's behaviour: no connector, no new setting needed.

use std::time::Duration;

use payments::EndpointUrl;

use crate::config::{ConfigError, number};

#[cfg(feature = "runtime")]
pub mod aws;
mod service;
mod stores;

pub(crate) use service::{CardPart, PayInput};
pub use service::{PAYMENT_ANSWER_BY, PAYMENT_ERROR_KIND, PAYMENT_PARAMETER, PaymentService, RECORD_RESERVE};
pub use stores::{Claim, Claimed, MemoryReplay, MemorySecret, ReplayStore, SecretSource, StoreError};

/// Environment variable names of the payment settings.
pub mod vars {
    /// `none` (default) | `http` | `stripe`.
    pub const CONNECTOR: &str = "SECURE_IVR_PAYMENT_CONNECTOR";
    /// The merchant endpoint (`http`, required) or Stripe's base URL (`stripe`, optional).
    pub const URL: &str = "SECURE_IVR_PAYMENT_URL";
    /// Secrets Manager secret whose `SecretString` is the HMAC key (`http`) or API key (`stripe`).
    pub const SECRET_ARN: &str = "SECURE_IVR_PAYMENT_SECRET_ARN";
    /// DynamoDB table recording each card message ID once (required when a connector is on).
    pub const REPLAY_TABLE: &str = "SECURE_IVR_REPLAY_TABLE";
    /// How long a read secret is used before it is read again, seconds.
    pub const SECRET_TTL: &str = "SECURE_IVR_PAYMENT_SECRET_TTL_SECONDS";
    /// How long a card message's replay record is kept, days.
    pub const REPLAY_TTL_DAYS: &str = "SECURE_IVR_REPLAY_TTL_DAYS";
}

/// Default of [`vars::SECRET_TTL`]: a rotated secret is picked up within five minutes.
pub const DEFAULT_SECRET_TTL_SECONDS: u64 = 300;
/// Default of [`vars::REPLAY_TTL_DAYS`]. A ciphertext stays decryptable as long as its Connect key
/// is stored (until `retire`), and nothing in it says when it was made, so the record must outlive
/// the key: a year and a month covers a yearly rotation with its overlap.
pub const DEFAULT_REPLAY_TTL_DAYS: u64 = 400;

/// Which gateway, where, and the names of its secret and replay table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PaymentSettings {
    /// No connector: values are validated and masked, nothing is sent anywhere.
    #[default]
    None,
    /// A connector is on.
    On(Connected),
}

/// The settings of a configured connector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// `http` or `stripe`.
    pub kind: ConnectorKind,
    /// The endpoint (`http`) or the Stripe base URL (None: `https://api.stripe.com`).
    pub url: Option<EndpointUrl>,
    /// The secret's ARN.
    pub secret_arn: String,
    /// The replay table's name.
    pub replay_table: String,
    /// How long a read secret is used.
    pub secret_ttl: Duration,
    /// How long a replay record is kept (the table's TTL attribute).
    pub replay_ttl: Duration,
}

/// The configured gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorKind {
    /// The generic signed-HTTPS contract (`crates/payments/README.md`).
    Http,
    /// Stripe.
    Stripe,
}

impl PaymentSettings {
    /// Reads and checks the four variables; a bad value names its variable.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use vars::*;
        let value = |var: &str| get(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let kind = match value(CONNECTOR).as_deref() {
            None | Some("none") => return Ok(Self::None),
            Some("http") => ConnectorKind::Http,
            Some("stripe") => ConnectorKind::Stripe,
            Some(other) => return Err(ConfigError(format!("{CONNECTOR}={other:?}: expected none, http or stripe"))),
        };
        let url = match value(URL) {
            None if kind == ConnectorKind::Http => {
                return Err(ConfigError(format!("{URL} is required with {CONNECTOR}=http")));
            }
            None => None,
            Some(raw) => {
                let url = EndpointUrl::parse(&raw).map_err(|e| ConfigError(format!("{URL}={raw:?}: {e}")))?;
                Some(url)
            }
        };
        let secret_arn = value(SECRET_ARN)
            .ok_or_else(|| ConfigError(format!("{SECRET_ARN} is required when {CONNECTOR} is not none")))?;
        if !is_secret_arn(&secret_arn) {
            return Err(ConfigError(format!(
                "{SECRET_ARN}={secret_arn:?}: expected arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME"
            )));
        }
        let replay_table = value(REPLAY_TABLE)
            .ok_or_else(|| ConfigError(format!("{REPLAY_TABLE} is required when {CONNECTOR} is not none")))?;
        if !is_table_name(&replay_table) {
            return Err(ConfigError(format!(
                "{REPLAY_TABLE}={replay_table:?}: a DynamoDB table name is 3 to 255 of A-Z a-z 0-9 _ . -"
            )));
        }
        let secret_ttl = Duration::from_secs(number(get, SECRET_TTL, DEFAULT_SECRET_TTL_SECONDS, 0, 3600)?);
        let replay_ttl = Duration::from_secs(86_400 * number(get, REPLAY_TTL_DAYS, DEFAULT_REPLAY_TTL_DAYS, 1, 3650)?);
        Ok(Self::On(Connected { kind, url, secret_arn, replay_table, secret_ttl, replay_ttl }))
    }
}

/// `arn:<partition>:secretsmanager:<region>:<12-digit account>:secret:<name>`.
fn is_secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [prefix, partition, service, region, account, resource, name] = parts.as_slice() else { return false };
    *prefix == "arn"
        && partition.starts_with("aws")
        && *service == "secretsmanager"
        && !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && *resource == "secret"
        && !name.is_empty()
        && name.len() <= 512
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

/// DynamoDB's table name rule: 3..=255 of `[A-Za-z0-9_.-]`.
fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-2:111122223333:secret:secure-ivr/payment-AbCdEf";

    fn with(pairs: &[(&str, &str)]) -> Result<PaymentSettings, ConfigError> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        PaymentSettings::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn none_by_default_needs_nothing_else() {
        assert_eq!(with(&[]), Ok(PaymentSettings::None));
        assert_eq!(with(&[(vars::CONNECTOR, "none"), (vars::URL, "garbage")]), Ok(PaymentSettings::None));
    }

    #[test]
    fn http_and_stripe_read_their_settings() {
        let http = with(&[
            (vars::CONNECTOR, "http"),
            (vars::URL, "https://pay.example.com/ivr"),
            (vars::SECRET_ARN, ARN),
            (vars::REPLAY_TABLE, "secure-ivr-replay"),
        ])
        .unwrap();
        let PaymentSettings::On(c) = http else { panic!("on") };
        assert_eq!(c.kind, ConnectorKind::Http);
        assert_eq!(c.url.unwrap().to_string(), "https://pay.example.com/ivr");
        assert_eq!(c.secret_arn, ARN);
        assert_eq!(c.replay_table, "secure-ivr-replay");
        let stripe =
            with(&[(vars::CONNECTOR, "stripe"), (vars::SECRET_ARN, ARN), (vars::REPLAY_TABLE, "t_1")]).unwrap();
        let PaymentSettings::On(c) = stripe else { panic!("on") };
        assert_eq!((c.kind, c.url), (ConnectorKind::Stripe, None));
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let on = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![
                (vars::CONNECTOR, "http"),
                (vars::URL, "https://pay.example.com/ivr"),
                (vars::SECRET_ARN, ARN),
                (vars::REPLAY_TABLE, "secure-ivr-replay"),
            ];
            for (k, val) in extra {
                v.retain(|(name, _)| name != k);
                if !val.is_empty() {
                    v.push((k, val));
                }
            }
            with(&v).unwrap_err().0
        };
        for (var, value) in [
            (vars::CONNECTOR, "paypal"),
            (vars::URL, ""),
            (vars::URL, "http://pay.example.com/ivr"),
            (vars::URL, "ftp://x/"),
            (vars::SECRET_ARN, ""),
            (vars::SECRET_ARN, "arn:aws:ssm:eu-west-2:111122223333:parameter/x"),
            (vars::SECRET_ARN, "arn:aws:secretsmanager:eu-west-2:1111:secret:x"),
            (vars::REPLAY_TABLE, ""),
            (vars::REPLAY_TABLE, "ab"),
            (vars::REPLAY_TABLE, "bad table"),
            (vars::SECRET_TTL, "3601"),
            (vars::SECRET_TTL, "five"),
            (vars::REPLAY_TTL_DAYS, "0"),
        ] {
            let message = on(&[(var, value)]);
            assert!(message.contains(var), "{var}={value:?}: {message}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let loopback = with(&[
            (vars::CONNECTOR, "http"),
            (vars::URL, "http://127.0.0.1:8080/pay"),
            (vars::SECRET_ARN, ARN),
            (vars::REPLAY_TABLE, "secure-ivr-replay"),
        ]);
        assert!(matches!(loopback, Ok(PaymentSettings::On(_))));
    }
}
