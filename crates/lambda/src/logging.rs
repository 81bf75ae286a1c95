//! Tracing set-up: JSON (or text) logs at the level Lambda's logging controls ask for. Only this
//! project's crates log at that level; every dependency (AWS SDK, SigV4, hyper, rustls, the
//! runtime) is held at `warn`, because their debug and trace output can include HTTP bodies and
//! signing details — and the SSM response body is the private key.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

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
/// `level` is `error`). A plain per-target filter: no directive parsing, and no regex engine in
/// the Lambda binary.
pub fn filter(level: &str) -> Targets {
    let own = match level {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    let base = if own == LevelFilter::ERROR { LevelFilter::ERROR } else { LevelFilter::WARN };
    OWN_TARGETS.iter().fold(Targets::new().with_default(base), |t, target| t.with_target(*target, own))
}

/// Installs the global subscriber: JSON unless `AWS_LAMBDA_LOG_FORMAT=Text`.
pub fn init() {
    let level = level_from(std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref());
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let layer = tracing_subscriber::fmt::layer().with_target(false).with_ansi(false);
    let registry = tracing_subscriber::registry();
    if text {
        registry.with(layer.with_filter(filter(level))).init();
    } else {
        let json = layer.json().flatten_event(true).with_current_span(false).with_span_list(false);
        registry.with(json.with_filter(filter(level))).init();
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
        use tracing::Level;
        let f = filter("trace");
        assert!(f.would_enable("keystore", &Level::TRACE) && f.would_enable("esdk_message::decrypt", &Level::TRACE));
        assert!(!f.would_enable("hyper::proto", &Level::INFO) && !f.would_enable("aws_sigv4", &Level::DEBUG));
        assert!(f.would_enable("aws_smithy_runtime", &Level::WARN));
        let e = filter("error");
        assert!(!e.would_enable("keystore", &Level::WARN) && !e.would_enable("hyper", &Level::WARN));
    }
}
