//! Client-side pacing for `LookupEvents`: CloudTrail allows 2 requests per second per account and
//! Region, and answers `ThrottlingException` above that.
//!
//! The limit is counted where CloudTrail receives the requests, and a request can arrive late
//! (a new connection, a busy machine) while the next ones arrive on time: spacing the starts
//! `1/rate` apart is not enough. So the pacer also keeps, for `n = rate` requests in a row, the
//! next start one second after the response to the request `n` back: that request had arrived by
//! then, so no second of arrivals holds more than `n`. Requests are also spaced `1/rate` apart so
//! they never burst. A throttle (another client of the account shares the limit) doubles both
//! gaps, up to 32 times; each run of successes halves them back. The caller retries the same page:
//! nothing already read is discarded.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// CloudTrail's documented limit.
pub(crate) const CLOUDTRAIL_RATE: f64 = 2.0;

/// Successes in a row before the gaps are halved again.
const CALM: u32 = 8;
/// The gaps never grow beyond this many times the base.
const MAX_SLOWDOWN: u32 = 32;
/// Slack after the window, for the clock's granularity.
const MARGIN: Duration = Duration::from_millis(15);

/// Spaces requests and slows down on throttles.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// Requests allowed per window.
    n: usize,
    /// The window holding `n` requests (one second for integer rates).
    window: Duration,
    slow: u32,
    finished: VecDeque<Instant>,
    last_start: Option<Instant>,
    calm: u32,
}

impl Pacer {
    /// At most `rate` requests per second (`rate` > 0; anything else means CloudTrail's 2).
    pub(crate) fn new(rate: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 { rate.min(1000.0) } else { CLOUDTRAIL_RATE };
        let n = rate.floor().max(1.0);
        let window = Duration::from_secs_f64(n / rate);
        // 1 <= n <= 1000 and integral: the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = n as usize;
        Self { n, window, slow: 1, finished: VecDeque::new(), last_start: None, calm: 0 }
    }

    /// How much slower than the base rate the pacer runs now.
    #[cfg(test)]
    pub(crate) fn slowdown(&self) -> u32 {
        self.slow
    }

    /// Waits until the next request may start, and books it.
    pub(crate) async fn wait(&mut self) {
        let gap = self.window * self.slow;
        let spaced = self.last_start.map(|s| s + gap / u32::try_from(self.n).unwrap_or(u32::MAX).max(1));
        let windowed =
            self.finished.len().checked_sub(self.n).and_then(|i| self.finished.get(i)).map(|t| *t + gap + MARGIN);
        if let Some(at) = spaced.into_iter().chain(windowed).max() {
            tokio::time::sleep_until(at).await;
        }
        self.last_start = Some(Instant::now());
    }

    /// After every response (success, throttle or error).
    pub(crate) fn finished(&mut self) {
        self.finished.push_back(Instant::now());
        while self.finished.len() > self.n {
            self.finished.pop_front();
        }
    }

    /// After a successful request.
    pub(crate) fn succeeded(&mut self) {
        self.calm += 1;
        if self.calm >= CALM && self.slow > 1 {
            self.slow /= 2;
            self.calm = 0;
        }
    }

    /// After a throttle: slow down.
    pub(crate) fn throttled(&mut self) {
        self.calm = 0;
        self.slow = (self.slow * 2).min(MAX_SLOWDOWN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_slow_down_and_successes_recover() {
        let mut p = Pacer::new(2.0);
        p.throttled();
        p.throttled();
        assert_eq!(p.slowdown(), 4);
        for _ in 0..100 {
            p.throttled();
        }
        assert_eq!(p.slowdown(), MAX_SLOWDOWN);
        for _ in 0..(CALM * 10) {
            p.succeeded();
        }
        assert_eq!(p.slowdown(), 1);
    }

    #[tokio::test]
    async fn no_window_holds_more_than_rate_requests() {
        // 100/s: windows of one second would make the test slow; 0.2/s windows of 5 s likewise.
        // At 100/s, n = 100 and the window is 1 s: check the spacing and that request k+100
        // starts a second after request k finished.
        let mut p = Pacer::new(100.0);
        let mut starts = Vec::new();
        for _ in 0..120 {
            p.wait().await;
            starts.push(Instant::now());
            p.finished();
        }
        for pair in starts.windows(2) {
            if let [a, b] = pair {
                assert!(b.duration_since(*a) >= Duration::from_millis(10), "{:?}", b.duration_since(*a));
            }
        }
        for (i, s) in starts.iter().enumerate().skip(100) {
            let back = starts.get(i - 100).copied().unwrap_or(*s);
            assert!(s.duration_since(back) >= Duration::from_secs(1), "request {i}");
        }
    }

    #[test]
    fn fractional_rates_widen_the_window() {
        let p = Pacer::new(0.5);
        assert_eq!((p.n, p.window), (1, Duration::from_secs(2)));
        let p = Pacer::new(0.0);
        assert_eq!((p.n, p.window), (2, Duration::from_secs(1)), "a nonsense rate falls back to CloudTrail's");
    }
}
