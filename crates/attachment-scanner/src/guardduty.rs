//! GuardDuty Malware Protection for S3: its object tag, and waiting for it within the time
//! budget.
//!
//! GuardDuty tags each object it scans with `GuardDutyMalwareScanStatus` = `NO_THREATS_FOUND`,
//! `THREATS_FOUND`, `UNSUPPORTED`, `ACCESS_DENIED` or `FAILED` (GuardDuty user guide, "S3 object
//! tagging"). The scan runs after the upload, so the tag may not be there yet when Connect calls.

use std::time::Instant;

use crate::config::{GuardDutySettings, Unscanned};
use crate::handler::{ObjectStore, StoreError};
use crate::verdict::Reason;

/// The tag GuardDuty writes.
pub const TAG_KEY: &str = "GuardDutyMalwareScanStatus";

/// What the tag says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalwareStatus {
    /// `NO_THREATS_FOUND`.
    NoThreatsFound,
    /// `THREATS_FOUND`.
    ThreatsFound,
    /// `UNSUPPORTED`: GuardDuty could not scan this object (e.g. too large, encrypted archive).
    Unsupported,
    /// `ACCESS_DENIED`: GuardDuty could not read it.
    AccessDenied,
    /// `FAILED`.
    Failed,
    /// A value this build does not know (refused as not scanned).
    Unknown,
    /// No tag (yet).
    NotScanned,
}

impl MalwareStatus {
    /// From the object's tags.
    pub fn from_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let Some((_, value)) = tags.into_iter().find(|(k, _)| *k == TAG_KEY) else { return Self::NotScanned };
        match value {
            "NO_THREATS_FOUND" => Self::NoThreatsFound,
            "THREATS_FOUND" => Self::ThreatsFound,
            "UNSUPPORTED" => Self::Unsupported,
            "ACCESS_DENIED" => Self::AccessDenied,
            "FAILED" => Self::Failed,
            _ => Self::Unknown,
        }
    }

    /// The name in logs (the tag's value, or `not-scanned` / `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoThreatsFound => "NO_THREATS_FOUND",
            Self::ThreatsFound => "THREATS_FOUND",
            Self::Unsupported => "UNSUPPORTED",
            Self::AccessDenied => "ACCESS_DENIED",
            Self::Failed => "FAILED",
            Self::Unknown => "unknown",
            Self::NotScanned => "not-scanned",
        }
    }

    /// The reason this status rejects for, under the `unscanned` policy; `None` lets the file
    /// through to (or past) the scanner's own checks. `THREATS_FOUND` always rejects.
    pub fn rejection(self, unscanned: Unscanned) -> Option<Reason> {
        match (self, unscanned) {
            (Self::NoThreatsFound, _) => None,
            (Self::ThreatsFound, _) => Some(Reason::Malware),
            (_, Unscanned::Reject) => Some(Reason::MalwareScanIncomplete),
            (_, Unscanned::Allow) => None,
        }
    }
}

/// Why waiting for the tag stopped without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    /// `GetObjectTagging` failed.
    Store(StoreError),
    /// The invocation's time ran out during a tag read.
    Timeout,
}

/// Reads the tag until GuardDuty has written it, for at most `settings.wait` and never past
/// `answer_by`: a read every `poll_interval` and a last one when the wait is up. Returns
/// [`MalwareStatus::NotScanned`] when the time is up without a tag (also when a later read is cut
/// off by `answer_by`); only a first read that cannot finish in time is [`WaitError::Timeout`].
pub async fn wait_for_scan<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    settings: &GuardDutySettings,
    answer_by: Instant,
) -> Result<MalwareStatus, WaitError> {
    let until = answer_by.min(Instant::now() + settings.wait);
    let mut reads = 0_u32;
    loop {
        let tags = match tokio::time::timeout_at(answer_by.into(), store.get_object_tagging(bucket, key)).await {
            Ok(tags) => tags.map_err(WaitError::Store)?,
            Err(_) if reads > 0 => return Ok(MalwareStatus::NotScanned),
            Err(_) => return Err(WaitError::Timeout),
        };
        reads += 1;
        let status = MalwareStatus::from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if status != MalwareStatus::NotScanned {
            return Ok(status);
        }
        let now = Instant::now();
        if now >= until {
            return Ok(MalwareStatus::NotScanned);
        }
        tokio::time::sleep_until((now + settings.poll_interval).min(until).into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_tag_among_others() {
        let tags = [("Other", "x"), (TAG_KEY, "THREATS_FOUND")];
        assert_eq!(MalwareStatus::from_tags(tags), MalwareStatus::ThreatsFound);
        assert_eq!(MalwareStatus::from_tags([("Other", "NO_THREATS_FOUND")]), MalwareStatus::NotScanned);
        assert_eq!(MalwareStatus::from_tags([(TAG_KEY, "no_threats_found")]), MalwareStatus::Unknown);
        assert_eq!(MalwareStatus::from_tags([(TAG_KEY, "NO_THREATS_FOUND")]), MalwareStatus::NoThreatsFound);
    }

    #[test]
    fn threats_always_reject_and_unscanned_follows_the_policy() {
        use MalwareStatus::*;
        assert_eq!(ThreatsFound.rejection(Unscanned::Allow), Some(Reason::Malware));
        assert_eq!(NoThreatsFound.rejection(Unscanned::Reject), None);
        for s in [Unsupported, AccessDenied, Failed, Unknown, NotScanned] {
            assert_eq!(s.rejection(Unscanned::Reject), Some(Reason::MalwareScanIncomplete), "{s:?}");
            assert_eq!(s.rejection(Unscanned::Allow), None, "{s:?}");
        }
    }
}
