//! Tracing set-up: JSON (or text) logs at the level Lambda's logging controls ask for. Only this
//! project's crates log at that level; every dependency (AWS SDK, SigV4, hyper, rustls, the
//! runtime) is held at `warn`, because their debug and trace output can include HTTP bodies and
//! signing details — and the SSM response body is the private key.

use tracing_subscriber::EnvFilter;

/// The crates that log at the configured level; everything else logs at `warn` at most.
pub const OWN_TARGETS: &[&str] = &["bootstrap", "secure_ivr_lambda", "keystore", "esdk_message"];

/// The level from `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `FATAL`); `info` when unset or unknown.
pub fn level_from(lambda_level: Option<&str>) -> &'static str {
    match lambda_level.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => "trace",
        Some("DEBUG") => "debug",
        Some("WARN") => "warn",
        Some("ERROR" | "FATAL") => "error",
        _ => "info",
    }
}

/// The production filter: [`OWN_TARGETS`] at `level`, everything else at `warn` (or `error` when
/// `level` is `error`).
pub fn filter(level: &str) -> EnvFilter {
    let base = if level == "error" { "error" } else { "warn" };
    let mut directives = base.to_owned();
    for target in OWN_TARGETS {
        directives.push_str(&format!(",{target}={level}"));
    }
    EnvFilter::builder().parse_lossy(directives)
}

/// Installs the global subscriber: JSON unless `AWS_LAMBDA_LOG_FORMAT=Text`.
pub fn init() {
    let level = level_from(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref());
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter(level)).with_target(false).with_ansi(false);
    if text {
        builder.init();
    } else {
        builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn maps_lambda_levels() {
        assert_eq!(level_from(Some("TRACE")), "trace");
        assert_eq!(level_from(Some("fatal")), "error");
        assert_eq!(level_from(None), "info");
    }

    #[test]
    fn dependencies_are_capped_even_at_trace() {
        let f = filter("trace").to_string();
        assert!(f.contains("keystore=trace") && f.split(',').any(|d| d == "warn"), "{f}");
    }
}
