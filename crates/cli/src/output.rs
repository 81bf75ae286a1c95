//! Results go to stdout as text or JSON; everything else goes to stderr.

use std::fmt::Display;
use std::io::Write as _;

use clap::ValueEnum;
use serde::Serialize;

use crate::error::{CliError, Exit, Result};

/// `--output` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document, for scripts and archives.
    Json,
}

/// Writes a result to stdout in the chosen format.
pub(crate) fn emit<T: Display + Serialize>(format: Format, value: &T) -> Result<()> {
    let text = match format {
        Format::Text => value.to_string(),
        Format::Json => serde_json::to_string_pretty(value)
            .map_err(|e| CliError::bare(Exit::Internal, format!("could not serialise the result: {e}")))?,
    };
    let mut out = std::io::stdout().lock();
    let written = if text.ends_with('\n') { write!(out, "{text}") } else { writeln!(out, "{text}") };
    written
        .and_then(|()| out.flush())
        .map_err(|e| CliError::bare(Exit::Internal, format!("could not write to stdout: {e}")))
}

/// Progress for humans, on stderr.
pub(crate) fn progress(msg: impl Display) {
    eprintln!("{msg}");
}

/// Formats a time as RFC 3339 (UTC, seconds).
pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}
