//! CloudWatch embedded metric format: one JSON document per scanned file, so alarms on
//! rejections (by reason) need no log parsing.

use std::io::Write;

use crate::verdict::{Reason, Status};

/// Where EMF lines go (stdout in Lambda; a buffer in tests).
pub trait MetricSink: Send + Sync {
    /// Writes one complete EMF JSON document.
    fn emit(&self, line: &str);
}

/// Writes EMF lines to stdout, where the Lambda log agent picks them up.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdoutMetrics;

impl MetricSink for StdoutMetrics {
    fn emit(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // A lost metric line must not fail the call.
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Discards metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMetrics;

impl MetricSink for NoMetrics {
    fn emit(&self, _line: &str) {}
}

/// What one file's EMF document reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileMetrics {
    /// `APPROVED` or `REJECTED`.
    pub status: Status,
    /// The first reason of a rejection (a file rejected for several is counted once, under its
    /// first; the log line lists them all).
    pub reason: Option<Reason>,
    /// Bytes read from S3.
    pub bytes: u64,
    /// The whole scan, ms.
    pub scan_ms: f64,
    /// Of which Rekognition, ms (0 when not asked).
    pub moderation_ms: f64,
}

/// The EMF document: metrics `Files` (count), `Bytes`, `ScanMs` and `ModerationMs`, dimensioned
/// by `Outcome` and, for rejections, by `Outcome` and `Reason`.
pub fn emf_line(namespace: &str, timestamp_ms: u128, m: &FileMetrics) -> String {
    let dimensions = match m.reason {
        Some(_) => serde_json::json!([["Outcome"], ["Outcome", "Reason"]]),
        None => serde_json::json!([["Outcome"]]),
    };
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": u64::try_from(timestamp_ms).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": [
                    {"Name": "Files", "Unit": "Count"},
                    {"Name": "Bytes", "Unit": "Bytes"},
                    {"Name": "ScanMs", "Unit": "Milliseconds"},
                    {"Name": "ModerationMs", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Outcome": m.status.as_str(),
        "Files": 1,
        "Bytes": m.bytes,
        "ScanMs": m.scan_ms,
        "ModerationMs": m.moderation_ms,
    });
    if let (Some(reason), Some(obj)) = (m.reason, doc.as_object_mut()) {
        obj.insert("Reason".into(), reason.code().into());
    }
    doc.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_is_dimensioned_by_its_reason() {
        let m = FileMetrics {
            status: Status::Rejected,
            reason: Some(Reason::Moderation),
            bytes: 10,
            scan_ms: 1.5,
            moderation_ms: 1.0,
        };
        let line = emf_line("SecureIvr", 1, &m);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SecureIvr");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][1], serde_json::json!(["Outcome", "Reason"]));
        assert_eq!(v["Outcome"], "REJECTED");
        assert_eq!(v["Reason"], Reason::Moderation.code());
        assert_eq!((v["Files"].as_u64(), v["Bytes"].as_u64()), (Some(1), Some(10)));
        assert!(!line.contains('\n'));
    }

    #[test]
    fn an_approval_has_no_reason_dimension() {
        let m = FileMetrics { status: Status::Approved, reason: None, bytes: 1, scan_ms: 0.0, moderation_ms: 0.0 };
        let v: serde_json::Value = serde_json::from_str(&emf_line("N", 1, &m)).unwrap();
        assert_eq!(v["Outcome"], "APPROVED");
        assert!(v.get("Reason").is_none());
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Outcome"]]));
    }
}
