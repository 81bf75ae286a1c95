//! Whether a CloudTrail trail delivers what the key-access alerts need: management read events
//! (`ssm:GetParameter` and the `kms:Decrypt` behind it) in this Region. The template's EventBridge
//! rule only sees what a logging trail records.

use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector, ReadWriteType};

use crate::error::{self, Result};

/// What the Region's trails record, for the alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TrailCoverage {
    /// No trail applies to this Region.
    NoTrail,
    /// Trails exist but none is logging.
    NotLogging(Vec<String>),
    /// A logging trail, but its event selectors leave out management read events (or KMS's).
    NoReadEvents(Vec<String>),
    /// A logging trail records management read events (`selectors_known`: its selectors were read).
    Logging {
        /// The trail.
        trail: String,
        /// Whether its event selectors could be read (false: assumed to record reads).
        selectors_known: bool,
    },
}

/// Looks at every trail that applies to the Region (its own and multi-Region ones from elsewhere).
pub(crate) async fn coverage(ct: &aws_sdk_cloudtrail::Client) -> Result<TrailCoverage> {
    let trails = ct
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| error::aws("listing CloudTrail trails (cloudtrail:DescribeTrails)", e))?;
    let mut stopped = Vec::new();
    let mut no_reads = Vec::new();
    let mut unknown_selectors = None;
    for t in trails.trail_list() {
        let Some(id) = t.trail_arn().or(t.name()) else { continue };
        let status = ct
            .get_trail_status()
            .name(id)
            .send()
            .await
            .map_err(|e| error::aws(&format!("reading the status of trail {id} (cloudtrail:GetTrailStatus)"), e))?;
        if status.is_logging() != Some(true) {
            stopped.push(id.to_owned());
            continue;
        }
        match ct.get_event_selectors().trail_name(id).send().await {
            Ok(sel) => {
                if records_reads(sel.event_selectors(), sel.advanced_event_selectors()) {
                    return Ok(TrailCoverage::Logging { trail: id.to_owned(), selectors_known: true });
                }
                no_reads.push(id.to_owned());
            }
            Err(_) => unknown_selectors = unknown_selectors.or(Some(id.to_owned())),
        }
    }
    Ok(match (unknown_selectors, no_reads.is_empty(), stopped.is_empty()) {
        (Some(trail), _, _) => TrailCoverage::Logging { trail, selectors_known: false },
        (None, false, _) => TrailCoverage::NoReadEvents(no_reads),
        (None, true, false) => TrailCoverage::NotLogging(stopped),
        (None, true, true) => TrailCoverage::NoTrail,
    })
}

/// Whether selectors record management read events including KMS's. A trail with neither kind of
/// selector logs all management events (CloudTrail's default).
fn records_reads(basic: &[EventSelector], advanced: &[AdvancedEventSelector]) -> bool {
    if basic.is_empty() && advanced.is_empty() {
        return true;
    }
    let basic_ok = basic.iter().any(|s| {
        s.include_management_events() != Some(false)
            && !matches!(s.read_write_type(), Some(ReadWriteType::WriteOnly))
            && !s.exclude_management_event_sources().iter().any(|x| x == "kms.amazonaws.com")
    });
    let advanced_ok = advanced.iter().any(|s| {
        let f = s.field_selectors();
        let management = f.iter().any(|x| x.field() == "eventCategory" && x.equals().iter().any(|v| v == "Management"));
        let writes_only = f.iter().any(|x| x.field() == "readOnly" && x.equals().iter().all(|v| v == "false"));
        let no_kms =
            f.iter().any(|x| x.field() == "eventSource" && x.not_equals().iter().any(|v| v == "kms.amazonaws.com"));
        management && !writes_only && !no_kms
    });
    basic_ok || advanced_ok
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudtrail::types::AdvancedFieldSelector;

    use super::*;

    fn basic(rw: ReadWriteType, mgmt: bool, exclude_kms: bool) -> EventSelector {
        let mut b = EventSelector::builder().read_write_type(rw).include_management_events(mgmt);
        if exclude_kms {
            b = b.exclude_management_event_sources("kms.amazonaws.com");
        }
        b.build()
    }

    #[test]
    fn default_and_read_selectors_record_reads() {
        assert!(records_reads(&[], &[]));
        assert!(records_reads(&[basic(ReadWriteType::All, true, false)], &[]));
        assert!(records_reads(&[basic(ReadWriteType::ReadOnly, true, false)], &[]));
    }

    #[test]
    fn write_only_no_management_or_no_kms_do_not() {
        assert!(!records_reads(&[basic(ReadWriteType::WriteOnly, true, false)], &[]));
        assert!(!records_reads(&[basic(ReadWriteType::All, false, false)], &[]));
        assert!(!records_reads(&[basic(ReadWriteType::All, true, true)], &[]));
    }

    #[test]
    fn advanced_selectors_are_read() {
        let field = |f: &str, v: &str| AdvancedFieldSelector::builder().field(f).equals(v).build().expect("field");
        let mgmt = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", "Management"))
            .build()
            .expect("sel");
        assert!(records_reads(&[], &[mgmt]));
        let writes = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", "Management"))
            .field_selectors(field("readOnly", "false"))
            .build()
            .expect("sel");
        assert!(!records_reads(&[], &[writes]));
    }
}
