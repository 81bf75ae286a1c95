//! CloudWatch embedded metric format: one JSON line per value outcome, so alarms need no log
//! parsing.

use std::io::Write;

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

/// One value's outcome as an EMF document: metric `Values` (count) and the key fetch and
/// decrypt durations, dimensioned by `Outcome`, and by `ErrorCode` for errors.
pub fn emf_line(
    namespace: &str,
    timestamp_ms: u128,
    outcome: &str,
    error_code: Option<&str>,
    key_fetch_ms: f64,
    decrypt_ms: f64,
) -> String {
    emf_document(
        namespace,
        timestamp_ms,
        ("Outcome", outcome),
        error_code,
        &[
            ("Values", "Count", 1.into()),
            ("KeyFetchMs", "Milliseconds", key_fetch_ms.into()),
            ("DecryptMs", "Milliseconds", decrypt_ms.into()),
        ],
    )
}

/// One payment as an EMF document: metric `Payments` (count) and `PaymentMs`, dimensioned by
/// `PaymentStatus`, and by `ErrorCode` when the Lambda decided the error (the template alarms on
/// `PaymentStatus` `Unknown` and `Error`).
pub fn payment_emf_line(
    namespace: &str,
    timestamp_ms: u128,
    status: &str,
    error_code: Option<&str>,
    payment_ms: f64,
) -> String {
    emf_document(
        namespace,
        timestamp_ms,
        ("PaymentStatus", status),
        error_code,
        &[("Payments", "Count", 1.into()), ("PaymentMs", "Milliseconds", payment_ms.into())],
    )
}

/// The EMF document: dimension `(name, value)`, plus `[name, ErrorCode]` when there is a code;
/// each metric `(name, unit, value)`.
fn emf_document(
    namespace: &str,
    timestamp_ms: u128,
    (dimension, value): (&str, &str),
    error_code: Option<&str>,
    metrics: &[(&str, &str, serde_json::Value)],
) -> String {
    let dimensions = match error_code {
        Some(_) => serde_json::json!([[dimension], [dimension, "ErrorCode"]]),
        None => serde_json::json!([[dimension]]),
    };
    let definitions: Vec<serde_json::Value> =
        metrics.iter().map(|(name, unit, _)| serde_json::json!({"Name": name, "Unit": unit})).collect();
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": u64::try_from(timestamp_ms).unwrap_or(u64::MAX),
            "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": dimensions, "Metrics": definitions}]
        },
    });
    if let Some(obj) = doc.as_object_mut() {
        obj.insert(dimension.into(), value.into());
        for (name, _, v) in metrics {
            obj.insert((*name).into(), v.clone());
        }
        if let Some(code) = error_code {
            obj.insert("ErrorCode".into(), code.into());
        }
    }
    doc.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_shape() {
        let line = emf_line("SecureIvr", 1, "Error", Some("KeyNotFound"), 1.5, 0.0);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SecureIvr");
        assert_eq!(v["ErrorCode"], "KeyNotFound");
        assert_eq!(v["Values"], 1);
        assert!(!line.contains('\n'));
    }
}
