//! A calendar month, the unit an expiry date is checked in.

/// A calendar month, for expiry checks ("now" is a parameter so tests can pin it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    /// Four-digit year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
}

impl YearMonth {
    /// The current UTC month from the system clock.
    pub fn now_utc() -> Self {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Self::from_unix_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    /// The month containing the given day since 1970-01-01 (Howard Hinnant's civil_from_days).
    pub fn from_unix_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year: u16::try_from(year).unwrap_or(u16::MAX), month: u8::try_from(month).unwrap_or(1) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_from_days() {
        assert_eq!(YearMonth::from_unix_days(0), YearMonth { year: 1970, month: 1 });
        assert_eq!(YearMonth::from_unix_days(20_454), YearMonth { year: 2026, month: 1 });
        assert_eq!(YearMonth::from_unix_days(11_016), YearMonth { year: 2000, month: 2 });
    }
}
