//! Logging: the tracing set-up (JSON at the level Lambda's logging controls ask for, every
//! dependency held at `warn`) and the one structured line per scanned file.
//!
//! The file line holds the file ID, the type detected from the bytes, the sizes, Rekognition's
//! labels and confidences, the reasons and a SHA-256 of the file name. Never the file's content,
//! and never the name itself: callers choose names, and they may hold personal data.

use crate::moderation::{LabelMatch, ModerationLabel};
use crate::verdict::Verdict;

/// The crates that log at the configured level; everything else logs at `warn` at most (the AWS
/// SDK's and hyper's debug output can include request and response bodies: the file's bytes).
pub const OWN_TARGETS: &[&str] = &["attachment_scanner"];

/// The level from `AWS_LAMBDA_LOG_LEVEL` (`TRACE` … `FATAL`); `info` when unset or unknown.
pub fn level_from(lambda_level: Option<&str>) -> tracing::level_filters::LevelFilter {
    use tracing::level_filters::LevelFilter;
    match lambda_level.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR" | "FATAL") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    }
}

/// The production filter: [`OWN_TARGETS`] at `level`, everything else at `warn` (or `error`).
#[cfg(feature = "runtime")]
pub fn filter(level: tracing::level_filters::LevelFilter) -> tracing_subscriber::filter::Targets {
    use tracing::level_filters::LevelFilter;
    let base = if level == LevelFilter::ERROR { LevelFilter::ERROR } else { LevelFilter::WARN };
    OWN_TARGETS
        .iter()
        .fold(tracing_subscriber::filter::Targets::new().with_default(base), |t, target| t.with_target(*target, level))
}

/// Installs the global subscriber: JSON unless `AWS_LAMBDA_LOG_FORMAT=Text`.
#[cfg(feature = "runtime")]
pub fn init() {
    use tracing_subscriber::prelude::*;
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

/// Everything the file line reports.
#[derive(Debug, Clone, Default)]
pub struct FileRecord<'a> {
    /// Connect's file ID (checked to be `A-Z a-z 0-9 - _ .`), or empty for an unusable event.
    pub file_id: &'a str,
    /// `FileSizeInBytes` of the event.
    pub declared_size: Option<u64>,
    /// The verdict (no content, the name only as its hash).
    pub verdict: Option<&'a Verdict>,
    /// Every label Rekognition returned (the verdict keeps only those that rejected).
    pub labels: &'a [ModerationLabel],
    /// `GuardDutyMalwareScanStatus` as read, `not-checked` when GuardDuty is off or was not asked.
    pub guardduty: &'a str,
    /// What failed, for errors: an S3 or Rekognition error code, a timeout's step, an event error.
    pub detail: &'a str,
    /// Whole scan, ms.
    pub total_ms: f64,
    /// S3 read, ms.
    pub read_ms: f64,
    /// Rekognition, ms.
    pub moderation_ms: f64,
    /// GuardDuty tag reads and waits, ms.
    pub guardduty_ms: f64,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// `[{"Name", "ParentName", "Confidence"}]` of every returned label, rounded to 0.1 %.
fn labels_field(labels: &[ModerationLabel]) -> String {
    let list: Vec<serde_json::Value> = labels
        .iter()
        .map(|l| {
            serde_json::json!({
                "Name": l.name,
                "ParentName": l.parent_name,
                "Confidence": (f64::from(l.confidence) * 10.0).round() / 10.0,
            })
        })
        .collect();
    json(&list)
}

fn matches_field(matches: &[LabelMatch]) -> String {
    json(&matches)
}

/// Writes the one line for a scanned file (`message`: "file scanned").
pub fn file_scanned(r: &FileRecord<'_>) {
    let v = r.verdict;
    let status = v.map_or("REJECTED", |v| v.status.as_str());
    let reasons: Vec<&str> = v.map(|v| v.reasons.iter().map(|r| r.code()).collect()).unwrap_or_default();
    let image = v.and_then(|v| v.image.as_ref());
    tracing::info!(
        file_id = r.file_id,
        status,
        reasons = reasons.join(","),
        detected = v.and_then(|v| v.detected).map_or("", |k| k.code()),
        size = v.map_or(0, |v| v.size),
        declared_size = r.declared_size.unwrap_or(0),
        name_sha256 = v.map_or("", |v| v.name_sha256.as_str()),
        image_width = image.map_or(0, |i| i.width),
        image_height = image.map_or(0, |i| i.height),
        labels = labels_field(r.labels),
        rejecting_labels = v.map(|v| matches_field(&v.labels)).unwrap_or_default(),
        moderation_model_version = v.and_then(|v| v.moderation_model_version.as_deref()).unwrap_or(""),
        guardduty = r.guardduty,
        detail = r.detail,
        total_ms = r.total_ms,
        read_ms = r.read_ms,
        moderation_ms = r.moderation_ms,
        guardduty_ms = r.guardduty_ms,
        "file scanned"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lambda_levels() {
        use tracing::level_filters::LevelFilter;
        assert_eq!(level_from(Some("TRACE")), LevelFilter::TRACE);
        assert_eq!(level_from(Some("fatal")), LevelFilter::ERROR);
        assert_eq!(level_from(Some("nonsense")), LevelFilter::INFO);
        assert_eq!(level_from(None), LevelFilter::INFO);
    }

    #[cfg(feature = "runtime")]
    #[test]
    fn dependencies_are_capped_even_at_trace() {
        use tracing::Level;
        let f = filter(tracing::level_filters::LevelFilter::TRACE);
        assert!(f.would_enable("attachment_scanner::handler", &Level::TRACE));
        assert!(!f.would_enable("hyper::proto", &Level::INFO) && !f.would_enable("aws_smithy_runtime", &Level::DEBUG));
        assert!(f.would_enable("aws_sdk_s3", &Level::WARN));
    }

    #[test]
    fn labels_are_rounded_and_carry_their_parent() {
        let labels = [ModerationLabel {
            name: "Explicit Nudity".into(),
            parent_name: "Explicit".into(),
            confidence: 98.765,
            taxonomy_level: Some(2),
        }];
        let v: serde_json::Value = serde_json::from_str(&labels_field(&labels)).unwrap_or_default();
        assert_eq!(v[0]["Name"], "Explicit Nudity");
        assert_eq!(v[0]["ParentName"], "Explicit");
        assert_eq!(v[0]["Confidence"], 98.8);
    }
}
