//! `secure-ivr flow`.

use std::path::PathBuf;

use serde::Serialize;

use crate::commands::Outcome;
use crate::error::{CliError, Result};
use crate::output::{emit, progress};
use crate::{Ctx, files, keymat, store};

/// Placeholders a flow template may use.
pub(crate) const PLACEHOLDERS: [&str; 3] = ["{{KEY_ID}}", "{{CERTIFICATE}}", "{{LAMBDA_ARN}}"];

/// Render a contact flow template with the key ID, certificate and Lambda ARN filled in.
///
/// The template is a flow exported from Connect (JSON) in which {{KEY_ID}}, {{CERTIFICATE}} and
/// {{LAMBDA_ARN}} stand inside JSON strings. Values are JSON-escaped (the certificate's newlines
/// become \n) and the result must parse as JSON. Any other {{NAME}} is an error.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Flow template file (JSON with placeholders).
    #[arg(long, value_name = "FILE")]
    pub(crate) template: PathBuf,
    /// Connect key ID for the Store customer input block.
    #[arg(long, value_name = "ID")]
    pub(crate) key_id: String,
    /// Certificate PEM for that key (must be valid now).
    #[arg(long, value_name = "FILE")]
    pub(crate) certificate: PathBuf,
    /// ARN of the decrypting Lambda function.
    #[arg(long, value_name = "ARN")]
    pub(crate) lambda_arn: String,
    /// Write the flow to this new file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// The rendered flow (stdout) or where it went.
#[derive(Debug, Serialize)]
pub(crate) struct Rendered {
    /// The flow JSON, unless written to a file.
    pub(crate) flow: Option<serde_json::Value>,
    /// File written.
    pub(crate) file: Option<String>,
    /// Placeholders replaced, with counts.
    pub(crate) replaced: Vec<(String, usize)>,
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.flow, &self.file) {
            (Some(v), _) => write!(f, "{}", serde_json::to_string_pretty(v).map_err(|_| std::fmt::Error)?),
            (None, Some(file)) => write!(f, "wrote {file}"),
            (None, None) => Ok(()),
        }
    }
}

/// Replaces the placeholders; values are JSON-string-escaped.
pub(crate) fn render(
    template: &str,
    key_id: &str,
    certificate: &str,
    lambda_arn: &str,
) -> Result<(String, Vec<(String, usize)>)> {
    let escape = |s: &str| {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
    };
    let values = [escape(key_id), escape(certificate), escape(lambda_arn)];
    let mut out = template.to_owned();
    let mut replaced = Vec::new();
    for (p, v) in PLACEHOLDERS.iter().zip(values.iter()) {
        let n = out.matches(p).count();
        out = out.replace(p, v);
        replaced.push(((*p).to_owned(), n));
    }
    if let Some(start) = out.find("{{") {
        let name: String =
            out.get(start..).unwrap_or_default().chars().take_while(|c| *c != '}').chain("}}".chars()).collect();
        return Err(CliError::input(
            format!("the template uses an unknown placeholder {name}"),
            "only {{KEY_ID}}, {{CERTIFICATE}} and {{LAMBDA_ARN}} are filled in",
        ));
    }
    Ok((out, replaced))
}

fn check_lambda_arn(arn: &str) -> Result<()> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() >= 7
        && parts.first() == Some(&"arn")
        && parts.get(2) == Some(&"lambda")
        && parts.get(5) == Some(&"function")
    {
        Ok(())
    } else {
        Err(CliError::input(
            format!("{arn:?} is not a Lambda function ARN"),
            "give arn:aws:lambda:REGION:ACCOUNT:function:NAME (from the stack outputs)",
        ))
    }
}

/// Runs the command.
pub(crate) fn run(ctx: &Ctx, args: Args) -> Result<Outcome> {
    store::check_key_id(&args.key_id)?;
    check_lambda_arn(&args.lambda_arn)?;
    let cert = files::read_pem(&args.certificate)?;
    keymat::certificate_validity(&cert, time::OffsetDateTime::now_utc())?;
    let template = files::read_pem(&args.template)?;
    let (text, replaced) = render(&template, &args.key_id, &cert, &args.lambda_arn)?;
    for (p, n) in &replaced {
        if *n == 0 {
            progress(format!("warning: the template has no {p}"));
        }
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::input(
            format!("the rendered flow is not valid JSON: {e}"),
            "placeholders must sit inside JSON strings, e.g. \"EncryptionKeyId\": \"{{KEY_ID}}\"",
        )
    })?;
    let result = match &args.out {
        Some(out) => {
            let pretty = serde_json::to_string_pretty(&value).unwrap_or(text);
            files::write_public(out, pretty.as_bytes())?;
            Rendered { flow: None, file: Some(out.display().to_string()), replaced }
        }
        None => Rendered { flow: Some(value), file: None, replaced },
    };
    emit(ctx.output, &result)?;
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_certificate_newlines_into_json_string() -> Result<()> {
        let t = r#"{"k":"{{KEY_ID}}","c":"{{CERTIFICATE}}","l":"{{LAMBDA_ARN}}"}"#;
        let (out, replaced) = render(t, "id-1", "-----BEGIN CERTIFICATE-----\nAAA\n", "arn:aws:lambda:r:1:function:f")?;
        let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| CliError::input(e.to_string(), ""))?;
        assert_eq!(v["c"], "-----BEGIN CERTIFICATE-----\nAAA\n");
        assert!(replaced.iter().all(|(_, n)| *n == 1));
        Ok(())
    }

    #[test]
    fn rejects_unknown_placeholder() {
        assert!(render("{{OTHER}}", "a", "b", "c").is_err());
    }

    #[test]
    fn checks_lambda_arn_shape() {
        assert!(check_lambda_arn("arn:aws:lambda:eu-west-2:123456789012:function:decrypt").is_ok());
        assert!(check_lambda_arn("arn:aws:iam::123:role/x").is_err());
    }
}
