//! `--since 7d` style durations.

use time::Duration;

/// Parses `90m`, `24h`, `7d` or `2w`.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| format!("{text:?} is not a duration; write 90m, 24h, 7d or 2w"))?;
    let d = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" | "" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => return Err(format!("{text:?} has an unknown unit; use m, h, d or w")),
    };
    if d.is_zero() || d > Duration::days(3650) {
        return Err(format!("{text:?} is out of range (1m to 3650d)"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse("24h"), Ok(Duration::hours(24)));
        assert_eq!(parse("7d"), Ok(Duration::days(7)));
        assert_eq!(parse("2w"), Ok(Duration::weeks(2)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "d", "7x", "-1d", "0d", "99999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
