//! Connect's FILE_SCANNER event and the answer it expects (Connect admin guide, "Set up
//! attachment scanning"):
//!
//! > `{"Version": "1.0", "InstanceId": "…", "File": {"FileId": "…", "FileCreationTime":
//! > 1689291663582, "FileName": "example.txt", "FileSizeInBytes": 10, "FileLocation":
//! > {"S3Location": {"Key": "…", "Bucket": "…", "Arn": "…"}}}}` — answer `{"Status": "APPROVED" |
//! > "REJECTED"}`.
//!
//! The function takes the event as raw JSON and parses it here, so a malformed event is a
//! `REJECTED` answer with a reason, not a runtime error that Connect retries three times.

use serde::{Deserialize, Serialize};

use crate::verdict::Status;

/// The event Connect sends for every uploaded attachment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanEvent {
    /// `Version` (`1.0`).
    #[serde(default)]
    pub version: Option<String>,
    /// `InstanceId`: the Connect instance.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// `File`.
    pub file: FileRef,
}

/// `File`: what was uploaded and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileRef {
    /// `FileId`: Connect's ID of the attachment (logged).
    pub file_id: String,
    /// `FileCreationTime`, ms since the Unix epoch.
    #[serde(default)]
    pub file_creation_time: Option<u64>,
    /// `FileName`: chosen by the uploader, may hold personal data; only its hash is logged.
    pub file_name: String,
    /// `FileSizeInBytes`: must agree with the object.
    pub file_size_in_bytes: u64,
    /// `FileLocation`.
    pub file_location: FileLocation,
}

/// `File.FileLocation`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FileLocation {
    /// `S3Location`.
    pub s3_location: S3Location,
}

/// `File.FileLocation.S3Location`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Location {
    /// `Key`.
    pub key: String,
    /// `Bucket`.
    pub bucket: String,
    /// `Arn` (`arn:aws:s3:::BUCKET/KEY`); when present it must name the same object.
    #[serde(default)]
    pub arn: Option<String>,
}

/// Why an event cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Not the FILE_SCANNER event shape; serde's message names the field (never a value).
    Shape(String),
    /// `File.FileId` is empty or holds characters other than `A-Z a-z 0-9 - _ .`.
    FileId,
    /// `S3Location.Arn` names another bucket or key than `Bucket` and `Key`.
    ArnMismatch,
}

impl core::fmt::Display for EventError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Shape(e) => write!(f, "not a FILE_SCANNER event: {e}"),
            Self::FileId => f.write_str("File.FileId is empty, too long, or not A-Z a-z 0-9 - _ ."),
            Self::ArnMismatch => f.write_str("File.FileLocation.S3Location.Arn names another object than Bucket/Key"),
        }
    }
}

impl std::error::Error for EventError {}

/// Longest file ID accepted (Connect's are UUIDs).
pub const MAX_FILE_ID_LEN: usize = 256;

impl ScanEvent {
    /// Parses and checks the event. serde's errors name the missing or mistyped field; they
    /// quote no value of the event for the fields' types used here (strings and numbers report
    /// "invalid type" with the kind of value, and strings never reach an error message).
    pub fn parse(value: &serde_json::Value) -> Result<Self, EventError> {
        let event = Self::deserialize(value).map_err(|e| EventError::Shape(redact(&e.to_string())))?;
        let id = &event.file.file_id;
        let id_ok = !id.is_empty()
            && id.len() <= MAX_FILE_ID_LEN
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !id_ok {
            return Err(EventError::FileId);
        }
        let loc = &event.file.file_location.s3_location;
        if let Some(arn) = loc.arn.as_deref().filter(|a| !a.is_empty())
            && !arn_names(arn, &loc.bucket, &loc.key)
        {
            return Err(EventError::ArnMismatch);
        }
        Ok(event)
    }

    /// The file ID, safe for logs (checked by [`ScanEvent::parse`]).
    pub fn file_id(&self) -> &str {
        &self.file.file_id
    }
}

/// `arn:PARTITION:s3:::BUCKET/KEY` names exactly `bucket`/`key`.
fn arn_names(arn: &str, bucket: &str, key: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("s3"), Some(""), Some(""), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    partition.starts_with("aws") && resource.split_once('/') == Some((bucket, key))
}

/// serde quotes a mistyped string value in double quotes (`invalid type: string "…"`, escaped as
/// Rust's `Debug` does): replace every double-quoted part with `"…"`, so no value of the event
/// reaches a log. Field names (in backticks) stay: they are the schema's, not the caller's.
fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            // Skip to the closing quote, past escapes.
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            out.push_str("…\"");
        }
    }
    out
}

/// What the function answers Connect: `{"Status": "APPROVED" | "REJECTED"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScanAnswer {
    /// `Status`.
    #[serde(rename = "Status")]
    pub status: Status,
}

impl ScanAnswer {
    /// `{"Status": "REJECTED"}`.
    pub const REJECTED: Self = Self { status: Status::Rejected };
    /// `{"Status": "APPROVED"}`.
    pub const APPROVED: Self = Self { status: Status::Approved };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event() -> serde_json::Value {
        json!({"Version": "1.0", "InstanceId": "0c4a1f6e-2b7d-4e59-9a31-5d8e7f60b2c4",
            "File": {"FileId": "7d1e3c2a-0000-4000-8000-000000000001", "FileCreationTime": 1_689_291_663_582_u64,
                "FileName": "example.txt", "FileSizeInBytes": 10,
                "FileLocation": {"S3Location": {"Key": "connect/i/Attachments/a.txt", "Bucket": "b-1",
                    "Arn": "arn:aws:s3:::b-1/connect/i/Attachments/a.txt"}}}})
    }

    #[test]
    fn parses_the_documented_event() {
        let e = ScanEvent::parse(&event()).unwrap();
        assert_eq!(e.file.file_size_in_bytes, 10);
        assert_eq!(e.file.file_name, "example.txt");
        assert_eq!(e.file.file_location.s3_location.bucket, "b-1");
        assert_eq!(e.file_id(), "7d1e3c2a-0000-4000-8000-000000000001");
    }

    #[test]
    fn the_answer_is_connects_shape() {
        assert_eq!(serde_json::to_value(ScanAnswer::APPROVED).unwrap(), json!({"Status": "APPROVED"}));
        assert_eq!(serde_json::to_value(ScanAnswer::REJECTED).unwrap(), json!({"Status": "REJECTED"}));
    }

    #[test]
    fn rejects_an_event_without_a_file_naming_the_field() {
        let err = ScanEvent::parse(&json!({"Version": "1.0"})).unwrap_err();
        assert!(matches!(&err, EventError::Shape(m) if m.contains("File")), "{err}");
    }

    #[test]
    fn rejects_a_size_that_is_not_a_number() {
        let mut e = event();
        e["File"]["FileSizeInBytes"] = json!("10");
        assert!(matches!(ScanEvent::parse(&e), Err(EventError::Shape(_))));
        e["File"]["FileSizeInBytes"] = json!(-1);
        assert!(matches!(ScanEvent::parse(&e), Err(EventError::Shape(_))));
    }

    #[test]
    fn rejects_unsafe_file_ids() {
        for id in ["", "a b", "x\ny", "ä", &"a".repeat(MAX_FILE_ID_LEN + 1)] {
            let mut e = event();
            e["File"]["FileId"] = json!(id);
            assert_eq!(ScanEvent::parse(&e), Err(EventError::FileId), "{id:?}");
        }
    }

    #[test]
    fn an_arn_must_name_the_same_object() {
        for arn in [
            "arn:aws:s3:::other/connect/i/Attachments/a.txt",
            "arn:aws:s3:::b-1/connect/i/Attachments/b.txt",
            "arn:aws:s3:eu-west-1::b-1/connect/i/Attachments/a.txt",
            "b-1/connect/i/Attachments/a.txt",
        ] {
            let mut e = event();
            e["File"]["FileLocation"]["S3Location"]["Arn"] = json!(arn);
            assert_eq!(ScanEvent::parse(&e), Err(EventError::ArnMismatch), "{arn}");
        }
        let mut e = event();
        e["File"]["FileLocation"]["S3Location"]["Arn"] = json!("arn:aws-us-gov:s3:::b-1/connect/i/Attachments/a.txt");
        assert!(ScanEvent::parse(&e).is_ok());
        e["File"]["FileLocation"]["S3Location"].as_object_mut().unwrap().remove("Arn");
        assert!(ScanEvent::parse(&e).is_ok(), "the ARN is optional");
    }

    #[test]
    fn shape_errors_quote_no_value() {
        let mut e = event();
        e["File"]["FileId"] = json!(12);
        e["File"]["Secret-Field-7731"] = json!("x");
        assert!(ScanEvent::parse(&e).is_err());
        let mut e = event();
        e["File"]["FileSizeInBytes"] = json!("jane \"doe\" 7731");
        let err = ScanEvent::parse(&e).unwrap_err().to_string();
        assert!(!err.contains("jane") && !err.contains("7731"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        assert_eq!(redact(r#"a "x\"y" b "z" c"#), r#"a "…" b "…" c"#);
    }
}
