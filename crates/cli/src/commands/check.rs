//! `secure-ivr check`.

mod function;

use std::path::PathBuf;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::commands::Outcome;
use crate::commands::list::{self, parse_time};
use crate::error::Result;
use crate::key_status::KeyStatus;
use crate::output::emit;
use crate::{Ctx, files, keymat, store};

/// Preflight before go-live or after a change: credentials and region, every active private key
/// readable and well-formed, certificates valid, and (with --instance-id) Connect's keys each
/// backed by a matching private key. Then what the function sees: IAM's policy simulator says
/// whether the function's role (from --stack, or --function-role) may ssm:GetParameter each active
/// key and kms:Decrypt it through SSM, each key's KMS key is compared with the function's, and the
/// key-access alerts are checked for a logging CloudTrail trail. Exit 9 when any check fails.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Connect instance whose associations to verify.
    #[arg(long, value_name = "ID")]
    pub(crate) instance_id: Option<String>,
    /// Certificate the flow uses (repeatable): must be valid and match an active key.
    #[arg(long = "certificate", value_name = "FILE")]
    pub(crate) certificates: Vec<PathBuf>,
    /// Warn about certificates expiring within this many days.
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    pub(crate) warn_days: u32,
    #[command(flatten)]
    pub(crate) stack: crate::stack::StackArgs,
    /// The function's execution role, instead of reading it from the stack.
    #[arg(long, value_name = "ARN")]
    pub(crate) function_role: Option<String>,
    /// With --function-role: the function (its ARN is the lambda:SourceFunctionArn of its calls).
    #[arg(long, value_name = "ARN", requires = "function_role")]
    pub(crate) function_arn: Option<String>,
    /// With --function-role: the KMS key the function may decrypt with (ID, ARN or alias).
    #[arg(long, value_name = "KEY", requires = "function_role")]
    pub(crate) kms_key_id: Option<String>,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CheckStatus {
    /// Fine.
    Ok,
    /// Needs attention; does not change the exit code.
    Warn,
    /// A finding: exit 9.
    Fail,
}

/// The text report's column: `OK`, `WARN`, `FAIL` (JSON has the lowercase serde names).
impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Self::Ok => "OK",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        })
    }
}

/// One check.
#[derive(Debug, Serialize)]
pub(crate) struct Item {
    /// What was checked.
    pub(crate) check: String,
    /// `ok`, `warn` or `fail`.
    pub(crate) status: CheckStatus,
    /// Detail or next step.
    pub(crate) detail: String,
}

/// All checks.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Checks in order.
    pub(crate) checks: Vec<Item>,
    /// Number failed.
    pub(crate) failed: usize,
    /// Number of warnings.
    pub(crate) warnings: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.checks {
            writeln!(f, "{:<4}  {}: {}", c.status, c.check, c.detail)?;
        }
        writeln!(f, "{} failed, {} warnings, {} checks", self.failed, self.warnings, self.checks.len())
    }
}

/// Runs the command.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    let aws = ctx.aws.load().await?;
    let mut items = Vec::new();
    let mut add = |check: String, status: CheckStatus, detail: String| items.push(Item { check, status, detail });

    match aws.sts().get_caller_identity().send().await {
        Ok(id) => add(
            "credentials".into(),
            CheckStatus::Ok,
            format!("{} in {}", id.arn().unwrap_or("unknown principal"), aws.region()),
        ),
        Err(e) => {
            let e = crate::error::aws("sts:GetCallerIdentity", e);
            add("credentials".into(), CheckStatus::Fail, format!("{} ({})", e.message, e.hint.unwrap_or_default()));
        }
    }

    let (_, stored, associated) = list::build(&aws, args.instance_id.as_deref(), args.warn_days).await?;
    let ssm = aws.ssm();
    let now = OffsetDateTime::now_utc();
    let mut active_fingerprints = Vec::new();
    let mut active = Vec::new();
    for s in &stored {
        let status = KeyStatus::of_stored(s.tag(store::TAG_STATUS), s.key_id.is_some());
        let label = s.key_id.clone().unwrap_or_else(|| s.name.clone());
        match status {
            KeyStatus::Pending => {
                add(
                    format!("key {label}"),
                    CheckStatus::Warn,
                    "pending: add its public key in Connect, then `secure-ivr activate`".into(),
                );
                continue;
            }
            KeyStatus::Retired => {
                let over = s.tag(store::TAG_RETIRE_AFTER).and_then(parse_time).is_some_and(|t| t < now);
                if over {
                    add(
                        format!("key {label}"),
                        CheckStatus::Warn,
                        "retired and past its grace period: `secure-ivr retire --delete`".into(),
                    );
                }
                continue;
            }
            _ => {}
        }
        active.push(function::ActiveKey { label: label.clone(), parameter: s.name.clone() });
        match store::read_private(&ssm, &s.name).await {
            // The stack's key policy lets only the function decrypt active keys, so an operator
            // being refused is the expected case there; the function's view below says more.
            Err(keystore::KeyStoreError::AccessDenied { .. }) => {
                add(
                    format!("key {label} readable"),
                    CheckStatus::Warn,
                    "not by you (AccessDenied; expected under the stack's key, which only the function may decrypt): \
                     size and fingerprint unverified, the fingerprint tag stands in for --certificate"
                        .into(),
                );
                if let Some(fp) = s.tag(store::TAG_FINGERPRINT) {
                    active_fingerprints.push(fp.to_owned());
                }
            }
            Err(e) => add(
                format!("key {label} readable"),
                CheckStatus::Fail,
                store::read_error(&e, &s.name, &aws.region()).message,
            ),
            Ok(fetched) => match keystore::StoredKey::from_pem(&fetched.pem) {
                Err(keystore::KeyError::TooSmall(small)) => {
                    add(format!("key {label} size"), CheckStatus::Fail, small.to_string());
                }
                Err(e) => {
                    let e = keymat::key_error(e);
                    add(
                        format!("key {label} well-formed"),
                        CheckStatus::Fail,
                        format!("{} ({})", e.message, e.hint.unwrap_or_default()),
                    );
                }
                Ok(key) => {
                    let fingerprint = key.fingerprint().to_string();
                    if s.tag(store::TAG_FINGERPRINT).is_some_and(|t| t != fingerprint) {
                        add(
                            format!("key {label} fingerprint"),
                            CheckStatus::Fail,
                            "the stored key does not match its fingerprint tag".into(),
                        );
                    } else {
                        add(
                            format!("key {label} readable"),
                            CheckStatus::Ok,
                            format!("RSA-{} {}", key.bits(), short(&fingerprint)),
                        );
                    }
                    active_fingerprints.push(fingerprint);
                }
            },
        }
        match s.tag(store::TAG_CERT_NOT_AFTER).and_then(parse_time) {
            Some(t) if t < now => add(
                format!("key {label} certificate"),
                CheckStatus::Fail,
                format!("expired {}", crate::output::rfc3339(t)),
            ),
            Some(t) if t < now + Duration::days(i64::from(args.warn_days)) => add(
                format!("key {label} certificate"),
                CheckStatus::Warn,
                format!("expires {}: rotate soon", crate::output::rfc3339(t)),
            ),
            Some(t) => add(
                format!("key {label} certificate"),
                CheckStatus::Ok,
                format!("valid until {}", crate::output::rfc3339(t)),
            ),
            None => add(
                format!("key {label} certificate"),
                CheckStatus::Warn,
                "no expiry tag; check the certificate with --certificate".into(),
            ),
        }
    }

    if let (Some(instance), Some(assoc)) = (&args.instance_id, &associated) {
        if assoc.is_empty() {
            add(
                "connect keys".into(),
                CheckStatus::Fail,
                format!("instance {instance} has no security key; encrypted input cannot work"),
            );
        }
        for k in assoc {
            let backing = stored.iter().find(|s| s.key_id.as_deref() == Some(k.key_id.as_str()));
            match backing {
                None => add(
                    format!("connect key {}", k.key_id),
                    CheckStatus::Fail,
                    "no private key in SSM: every call with this key fails".into(),
                ),
                Some(s) if k.fingerprint.is_some() && s.tag(store::TAG_FINGERPRINT) != k.fingerprint.as_deref() => add(
                    format!("connect key {}", k.key_id),
                    CheckStatus::Fail,
                    "Connect's public key does not match the stored private key".into(),
                ),
                Some(_) => {
                    add(format!("connect key {}", k.key_id), CheckStatus::Ok, "backed by a matching private key".into())
                }
            }
        }
        for s in &stored {
            let active = s.tag(store::TAG_STATUS).map_or(KeyStatus::Active, KeyStatus::from_tag) == KeyStatus::Active;
            if let (Some(id), true) = (&s.key_id, active)
                && !assoc.iter().any(|k| &k.key_id == id)
            {
                add(format!("key {id}"), CheckStatus::Warn, format!("not associated with instance {instance}"));
            }
        }
    }

    for path in &args.certificates {
        let check = format!("certificate {}", path.display());
        let pem = match files::read_pem(path) {
            Ok(p) => p,
            Err(e) => {
                add(check, CheckStatus::Fail, e.message);
                continue;
            }
        };
        match keymat::certificate_validity(&pem, now) {
            Err(e) => add(check.clone(), CheckStatus::Fail, e.message),
            Ok((_, na)) if na < now + Duration::days(i64::from(args.warn_days)) => {
                add(check.clone(), CheckStatus::Warn, format!("expires {}", crate::output::rfc3339(na)))
            }
            Ok(_) => {}
        }
        match keymat::fingerprint_public_pem(&pem) {
            Ok(fp) if active_fingerprints.contains(&fp) => {
                add(check, CheckStatus::Ok, format!("matches active key {}", short(&fp)))
            }
            Ok(fp) => add(check, CheckStatus::Fail, format!("public key {} matches no active private key", short(&fp))),
            Err(e) => add(check, CheckStatus::Fail, e.message),
        }
    }

    items.extend(function::check(&aws, &args, &active).await);

    let failed = items.iter().filter(|i| i.status == CheckStatus::Fail).count();
    let warnings = items.iter().filter(|i| i.status == CheckStatus::Warn).count();
    emit(ctx.output, &Report { checks: items, failed, warnings })?;
    if failed > 0 { Ok(Outcome::Findings) } else { Ok(Outcome::Done) }
}

fn short(fp: &str) -> String {
    fp.chars().take(16).collect()
}
