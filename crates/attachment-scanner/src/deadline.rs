//! When an invocation must have answered: the runtime's deadline less a margin, or the
//! configured budget when the runtime gives no usable deadline (`cargo lambda watch` sends
//! 600000, a moment in 1970). Pure arithmetic on clocks the caller reads.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept back from the deadline to write the log and EMF lines and post the answer: a step
/// still running this close to the deadline is abandoned and the file is `REJECTED` (`timeout`),
/// which is an answer, where a Lambda timeout would be a failed invocation Connect retries.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(300);

/// The instant by which the handler answers. `deadline_ms` is the invocation's deadline in ms
/// since the Unix epoch, `now_ms` the wall clock and `now` the monotonic clock, both read once
/// by the caller; `configured` is used when the deadline is missing or not in the future.
pub fn answer_by(deadline_ms: Option<u64>, now_ms: u64, now: Instant, configured: Duration) -> Instant {
    let time_left = match deadline_ms {
        Some(deadline) if deadline > now_ms => Duration::from_millis(deadline - now_ms),
        _ => configured,
    };
    now + time_left.saturating_sub(ANSWER_MARGIN)
}

/// Milliseconds since the Unix epoch (0 for a clock before 1970).
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUDGET: Duration = Duration::from_secs(15);
    const NOW_MS: u64 = 1_800_000_000_000;

    #[test]
    fn a_future_deadline_sets_the_time_less_the_margin() {
        let now = Instant::now();
        assert_eq!(answer_by(Some(NOW_MS + 2000), NOW_MS, now, BUDGET), now + Duration::from_millis(1700));
    }

    #[test]
    fn a_missing_or_past_deadline_uses_the_budget() {
        let now = Instant::now();
        assert_eq!(answer_by(None, NOW_MS, now, BUDGET), now + BUDGET - ANSWER_MARGIN);
        assert_eq!(answer_by(Some(600_000), NOW_MS, now, BUDGET), now + BUDGET - ANSWER_MARGIN);
    }

    #[test]
    fn a_deadline_inside_the_margin_answers_at_once() {
        let now = Instant::now();
        assert_eq!(answer_by(Some(NOW_MS + 100), NOW_MS, now, BUDGET), now);
    }
}
