//! The key and certificate options `keygen` and `rotate` share, and their parsers.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::store;

/// Key and certificate options shared by `keygen` and `rotate`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct KeyOptions {
    /// RSA modulus size.
    #[arg(long, default_value_t = 4096, value_parser = parse_bits)]
    pub(crate) bits: u32,
    /// Certificate subject, as CN=...,O=...,OU=...,C=...
    #[arg(long, default_value = "CN=Amazon Connect customer input")]
    pub(crate) subject: String,
    /// Certificate validity in days.
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub(crate) validity_days: u32,
    /// Certificate start date (YYYY-MM-DD, UTC); default now.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub(crate) valid_from: Option<OffsetDateTime>,
    /// KMS key (ID, ARN or alias) encrypting the SecureString; default the stack's
    /// KeyParametersKmsKeyArn (see --stack). alias/aws/ssm only when named here, with a warning.
    #[arg(long, value_name = "KEY")]
    pub(crate) kms_key_id: Option<String>,
    #[command(flatten)]
    pub(crate) stack: crate::stack::StackArgs,
    /// Description on the SSM parameter.
    #[arg(long, default_value = "Amazon Connect customer input private key (secure-ivr)")]
    pub(crate) description: String,
    /// Extra tag on the SSM parameter (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub(crate) tags: Vec<(String, String)>,
    /// Write the certificate and public key (public material only) into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,
    /// Also write the private key to this new file (mode 0600). Otherwise it never touches disk.
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key_out: Option<PathBuf>,
}

fn parse_bits(s: &str) -> std::result::Result<u32, String> {
    match s {
        "2048" | "3072" | "4096" => s.parse().map_err(|_| String::new()),
        _ => Err(format!("{s} is not offered; use 2048, 3072 or 4096")),
    }
}

fn parse_date(s: &str) -> std::result::Result<OffsetDateTime, String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt)
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| format!("{s:?} is not a date; write YYYY-MM-DD"))
}

fn parse_tag(s: &str) -> std::result::Result<(String, String), String> {
    let Some((k, v)) = s.split_once('=') else { return Err(format!("{s:?} is not KEY=VALUE")) };
    store::check_tag(k, v)?;
    Ok((k.to_owned(), v.to_owned()))
}
