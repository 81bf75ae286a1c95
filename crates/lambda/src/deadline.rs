//! When an invocation must have answered: the runtime's deadline minus a margin, or the
//! configured budget when the runtime gives no usable deadline. Pure arithmetic on clocks the
//! caller reads, so the handler never reads a clock to decide its budget.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back from the deadline to finish the other values (cached keys, about 2 ms each),
/// write the log and EMF lines, and post the response to the Runtime API. A fetch still running
/// this close to the deadline is abandoned and the value answers `KeyStoreUnavailable`.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(300);

/// Where the time of an invocation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetSource {
    /// `Lambda-Runtime-Deadline-Ms` of this invocation.
    Deadline,
    /// `SECURE_IVR_INVOCATION_BUDGET_MS`: the deadline was missing or already past (as
    /// `cargo lambda watch` sends: 600000, a moment in 1970).
    Configured,
}

impl BudgetSource {
    /// A short stable name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Configured => "configured",
        }
    }
}

/// The instant by which the handler answers, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerBy {
    /// Answer by then (the deadline less [`ANSWER_MARGIN`]).
    pub at: Instant,
    /// The time the invocation had before the margin was taken off.
    pub time_left: Duration,
    /// Where that time came from.
    pub source: BudgetSource,
}

/// `deadline_ms` is the invocation's deadline in ms since the Unix epoch (`context.deadline`),
/// `now_ms` the wall clock and `now` the monotonic clock, both read once by the caller.
/// `configured` is used when the deadline is missing or not in the future.
pub fn answer_by(deadline_ms: Option<u64>, now_ms: u64, now: Instant, configured: Duration) -> AnswerBy {
    let (time_left, source) = match deadline_ms {
        Some(deadline) if deadline > now_ms => (Duration::from_millis(deadline - now_ms), BudgetSource::Deadline),
        _ => (configured, BudgetSource::Configured),
    };
    AnswerBy { at: now + time_left.saturating_sub(ANSWER_MARGIN), time_left, source }
}

/// The configured budget from `now` (for callers without a runtime deadline: tests, tools).
pub fn from_budget(now: Instant, configured: Duration) -> Instant {
    answer_by(None, 0, now, configured).at
}

/// Milliseconds since the Unix epoch (0 for a clock before 1970).
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_millis(6000);
    const NOW_MS: u64 = 1_800_000_000_000;

    #[test]
    fn a_future_deadline_sets_the_budget_less_the_margin() {
        let now = Instant::now();
        let by = answer_by(Some(NOW_MS + 1500), NOW_MS, now, BUDGET);
        assert_eq!(by.source, BudgetSource::Deadline);
        assert_eq!(by.time_left, Duration::from_millis(1500));
        assert_eq!(by.at, now + Duration::from_millis(1500) - ANSWER_MARGIN);
    }

    #[test]
    fn a_deadline_beyond_the_configured_budget_is_still_followed() {
        let now = Instant::now();
        let by = answer_by(Some(NOW_MS + 20_000), NOW_MS, now, BUDGET);
        assert_eq!((by.source, by.at), (BudgetSource::Deadline, now + Duration::from_millis(20_000) - ANSWER_MARGIN));
    }

    #[test]
    fn missing_past_and_cargo_lambda_watch_deadlines_fall_back_to_the_budget() {
        let now = Instant::now();
        for deadline in [None, Some(600_000), Some(0), Some(NOW_MS), Some(NOW_MS - 1)] {
            let by = answer_by(deadline, NOW_MS, now, BUDGET);
            assert_eq!(by.source, BudgetSource::Configured, "{deadline:?}");
            assert_eq!(by.at, now + BUDGET - ANSWER_MARGIN);
        }
    }

    #[test]
    fn a_deadline_closer_than_the_margin_answers_at_once() {
        let now = Instant::now();
        let by = answer_by(Some(NOW_MS + 100), NOW_MS, now, BUDGET);
        assert_eq!((by.source, by.at), (BudgetSource::Deadline, now));
    }

    #[test]
    fn epoch_ms_of_the_epoch_is_zero() {
        assert_eq!(epoch_ms(UNIX_EPOCH), 0);
        assert_eq!(epoch_ms(UNIX_EPOCH + Duration::from_millis(42)), 42);
    }
}
