//! One module per command; shared key-creation steps live here.

pub mod activate;
pub mod audit;
pub mod check;
pub mod decrypt;
pub mod encrypt;
pub mod flow;
pub mod inspect;
pub mod keygen;
pub mod list;
pub mod retire;
pub mod rotate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use time::OffsetDateTime;

use crate::aws::Aws;
use crate::error::{CliError, Result};
use crate::keymat::{self, Generated};
use crate::output::{progress, rfc3339};
use crate::{files, store};

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 9: the command ran but found problems.
    Findings,
}

/// Key and certificate options shared by `keygen` and `rotate`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyOptions {
    /// RSA modulus size.
    #[arg(long, default_value_t = 4096, value_parser = parse_bits)]
    pub bits: u32,
    /// Certificate subject, as CN=...,O=...,OU=...,C=...
    #[arg(long, default_value = "CN=Amazon Connect customer input")]
    pub subject: String,
    /// Certificate validity in days.
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub validity_days: u32,
    /// Certificate start date (YYYY-MM-DD, UTC); default now.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub valid_from: Option<OffsetDateTime>,
    /// KMS key (ID, ARN or alias) encrypting the SecureString; default the stack's
    /// KeyParametersKmsKeyArn (see --stack). alias/aws/ssm only when named here, with a warning.
    #[arg(long, value_name = "KEY")]
    pub kms_key_id: Option<String>,
    #[command(flatten)]
    pub stack: crate::stack::StackArgs,
    /// Description on the SSM parameter.
    #[arg(long, default_value = "Amazon Connect customer input private key (secure-ivr)")]
    pub description: String,
    /// Extra tag on the SSM parameter (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Write the certificate and public key (public material only) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Also write the private key to this new file (mode 0600). Otherwise it never touches disk.
    #[arg(long, value_name = "FILE")]
    pub private_key_out: Option<PathBuf>,
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

/// Where a new key ended up.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedKey {
    /// `active` (stored under its key ID), `pending` (under its fingerprint) or `not-stored`.
    pub status: &'static str,
    /// Connect key ID, when associated.
    pub key_id: Option<String>,
    /// Connect instance, when associated.
    pub instance_id: Option<String>,
    /// SHA-256 of the public key.
    pub fingerprint: String,
    /// RSA modulus size.
    pub bits: u32,
    /// SSM parameter holding the private key.
    pub parameter: Option<String>,
    /// Its version.
    pub parameter_version: Option<i64>,
    /// KMS key requested for the SecureString.
    pub kms_key_id: Option<String>,
    /// Certificate validity start.
    pub certificate_not_before: String,
    /// Certificate validity end.
    pub certificate_not_after: String,
    /// Certificate PEM: paste into the Store customer input block.
    pub certificate_pem: String,
    /// Public key PEM: what Connect's Security keys page takes.
    pub public_key_pem: String,
    /// Files written.
    pub files: Vec<String>,
}

impl CreatedKey {
    /// The block telling the user what to paste where.
    pub fn paste_instructions(&self) -> String {
        let mut s = String::new();
        match &self.key_id {
            Some(id) => {
                s.push_str("In the Store customer input block, under \"Encrypt entry\":\n");
                s.push_str(&format!("  Specify encryption key ID: {id}\n"));
                s.push_str("  Specify encryption certificate:\n");
                s.push_str(&self.certificate_pem);
            }
            None if self.status == "pending" => {
                s.push_str("Connect > instance > Security keys > Add key: paste this public key:\n");
                s.push_str(&self.public_key_pem);
                s.push_str("Then run, with the key ID Connect shows:\n");
                s.push_str(&format!("  secure-ivr activate --fingerprint {} --key-id KEY_ID\n", self.fingerprint));
            }
            None => {
                s.push_str("Certificate:\n");
                s.push_str(&self.certificate_pem);
            }
        }
        s
    }
}

impl std::fmt::Display for CreatedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "status:          {}", self.status)?;
        if let Some(id) = &self.key_id {
            writeln!(f, "key ID:          {id}")?;
        }
        if let Some(i) = &self.instance_id {
            writeln!(f, "instance:        {i}")?;
        }
        writeln!(f, "fingerprint:     {}", self.fingerprint)?;
        writeln!(f, "bits:            {}", self.bits)?;
        if let (Some(p), Some(v)) = (&self.parameter, self.parameter_version) {
            writeln!(f, "parameter:       {p} (version {v})")?;
        }
        writeln!(f, "certificate:     valid {} to {}", self.certificate_not_before, self.certificate_not_after)?;
        for file in &self.files {
            writeln!(f, "wrote:           {file}")?;
        }
        writeln!(f)?;
        f.write_str(&self.paste_instructions())
    }
}

/// Where to store a new key.
pub enum Destination<'a> {
    /// Associate with this instance and store under the assigned key ID.
    Connect(&'a str),
    /// Store under the fingerprint until `activate`.
    Pending,
    /// Do not store (requires `--private-key-out`).
    Nowhere,
}

/// Checks output paths and the tag count before anything is generated or stored.
pub fn preflight_outputs(opts: &KeyOptions) -> Result<()> {
    if opts.tags.len() + store::OWN_TAGS > store::MAX_TAGS {
        return Err(CliError::input(
            format!(
                "{} --tag options plus the tool's {} tags exceed SSM's {} tags per parameter",
                opts.tags.len(),
                store::OWN_TAGS,
                store::MAX_TAGS
            ),
            format!("give at most {} --tag options", store::MAX_TAGS - store::OWN_TAGS),
        ));
    }
    if let Some(p) = &opts.private_key_out {
        files::ensure_absent(p)?;
    }
    if let Some(d) = &opts.out_dir {
        std::fs::create_dir_all(d).map_err(|e| crate::error::io("could not create", d, e))?;
    }
    Ok(())
}

/// Checks, before anything is generated, that SSM will take the name the key is stored under:
/// the pending name (its fingerprint is 64 hex digits) or the name for a Connect key ID (a UUID).
pub fn preflight_names(aws: &Aws, dest: &Destination<'_>) -> Result<()> {
    const LONGEST_FINGERPRINT: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    const CONNECT_KEY_ID: &str = "00000000-0000-4000-8000-000000000000";
    let name = match dest {
        Destination::Nowhere => return Ok(()),
        Destination::Pending => store::name_for_pending(&aws.prefix, LONGEST_FINGERPRINT)?,
        Destination::Connect(_) => store::name_for_key(&aws.prefix, CONNECT_KEY_ID)?,
    };
    store::check_name(&name, &aws.region())
}

/// Generates, associates and stores one key under `kms` (None only for [`Destination::Nowhere`]);
/// writes the requested files.
pub async fn create_key(
    aws: Option<&Aws>,
    dest: Destination<'_>,
    opts: &KeyOptions,
    kms: Option<&store::KmsChoice>,
) -> Result<CreatedKey> {
    let now = OffsetDateTime::now_utc();
    let cert_opts = keymat::CertOptions {
        subject: &opts.subject,
        not_before: opts.valid_from.unwrap_or(now),
        days: opts.validity_days,
    };
    progress(format!("generating an RSA-{} key pair and certificate ...", opts.bits));
    let g = keymat::generate(opts.bits, &cert_opts)?;

    let mut created = CreatedKey {
        status: "not-stored",
        key_id: None,
        instance_id: None,
        fingerprint: g.fingerprint.clone(),
        bits: g.bits,
        parameter: None,
        parameter_version: None,
        kms_key_id: kms.map(|k| k.key_id.clone()),
        certificate_not_before: rfc3339(g.not_before),
        certificate_not_after: rfc3339(g.not_after),
        certificate_pem: g.certificate_pem.clone(),
        public_key_pem: g.public_pem.clone(),
        files: Vec::new(),
    };

    match (dest, aws, kms) {
        (Destination::Nowhere, _, _) => {}
        (Destination::Pending, Some(aws), Some(kms)) => {
            let name = store::name_for_pending(&aws.prefix, &g.fingerprint)?;
            store::check_name(&name, &aws.region())?;
            let version = put(aws, &name, &g, opts, kms, "pending").await?;
            created.status = "pending";
            created.parameter = Some(name);
            created.parameter_version = Some(version);
        }
        (Destination::Connect(instance), Some(aws), Some(kms)) => {
            progress(format!("associating the public key with Connect instance {instance} ..."));
            let key_id = crate::connect::associate(&aws.connect(), instance, &g.public_pem).await?;
            let stored = match store::name_for_key(&aws.prefix, &key_id) {
                Ok(name) => store::check_name(&name, &aws.region()).map(|()| name),
                Err(e) => Err(e),
            };
            let stored = match stored {
                Ok(name) => put(aws, &name, &g, opts, kms, "active").await.map(|v| (name, v)),
                Err(e) => Err(e),
            };
            match stored {
                Ok((name, version)) => {
                    created.status = "active";
                    created.key_id = Some(key_id);
                    created.instance_id = Some(instance.to_owned());
                    created.parameter = Some(name);
                    created.parameter_version = Some(version);
                }
                Err(e) => {
                    // A Connect key without its private key makes every call fail: undo.
                    progress(format!("storing failed; removing key {key_id} from Connect again ..."));
                    let undo = crate::connect::disassociate(&aws.connect(), instance, &key_id).await;
                    let e = match undo {
                        Ok(()) => e,
                        Err(u) => e.with_hint(format!(
                            "Connect still holds key {key_id} with no private key ({}); remove it: secure-ivr retire --instance-id {instance} --key-id {key_id} --force",
                            u.message
                        )),
                    };
                    return Err(e);
                }
            }
        }
        (_, _, _) => return Err(CliError::bare(crate::error::Exit::Internal, "AWS configuration or KMS key missing")),
    }

    let stem = created.key_id.clone().unwrap_or_else(|| g.fingerprint.chars().take(16).collect());
    if let Some(dir) = &opts.out_dir {
        let cert = dir.join(format!("{stem}.cert.pem"));
        files::write_public(&cert, g.certificate_pem.as_bytes())?;
        let public = dir.join(format!("{stem}.public.pem"));
        files::write_public(&public, g.public_pem.as_bytes())?;
        created.files.push(cert.display().to_string());
        created.files.push(public.display().to_string());
    }
    if let Some(p) = &opts.private_key_out {
        files::write_secret(p, g.private_pem.as_bytes())?;
        created.files.push(format!("{} (private key, mode 0600)", p.display()));
    }
    Ok(created)
}

async fn put(
    aws: &Aws,
    name: &str,
    g: &Generated,
    opts: &KeyOptions,
    kms: &store::KmsChoice,
    status: &str,
) -> Result<i64> {
    let creator = store::fit_tag_value(&caller_arn(aws).await.unwrap_or_else(|| "unknown".into()));
    let mut tags: BTreeMap<String, String> = opts.tags.iter().cloned().collect();
    tags.insert(store::TAG_FINGERPRINT.into(), g.fingerprint.clone());
    tags.insert(store::TAG_CERT_NOT_AFTER.into(), rfc3339(g.not_after));
    tags.insert(store::TAG_CREATED_BY.into(), creator);
    tags.insert(store::TAG_STATUS.into(), status.into());
    tags.insert(store::TAG_BITS.into(), g.bits.to_string());
    progress(format!(
        "storing the private key as SecureString {name} under KMS key {} ({}) ...",
        kms.key_id, kms.source
    ));
    store::put_new(
        &aws.ssm(),
        &store::NewKey {
            name,
            pem: &g.private_pem,
            kms_key_id: &kms.key_id,
            description: &opts.description,
            tags: &tags,
        },
    )
    .await
}

/// The caller's ARN, for the created-by tag (best effort).
pub async fn caller_arn(aws: &Aws) -> Option<String> {
    aws.sts().get_caller_identity().send().await.ok().and_then(|o| o.arn)
}
