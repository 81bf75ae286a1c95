//! Counted skips: a check that cannot run says so, and `scripts/test.sh` counts it as skipped.

use std::io::Write as _;

/// The variable naming the file each skip appends one line to.
pub const SKIP_LOG_VAR: &str = "SECURE_IVR_SKIP_LOG";
/// The variable that, set to `1`, turns a missing service into a failure.
pub const REQUIRE_SERVICES_VAR: &str = "SECURE_IVR_REQUIRE_SERVICES";

/// The one line a skip writes: `SKIP <test>: <reason>`.
pub fn line(test: &str, reason: &str) -> String {
    format!("SKIP {test}: {reason}")
}

/// Records a skipped check: on stderr, and as one line appended to `$SECURE_IVR_SKIP_LOG` when set.
///
/// # Panics
/// When the skip log is set but cannot be written: a skip that is not counted would pass silently.
pub fn skip(test: &str, reason: &str) {
    let line = line(test, reason);
    eprintln!("{line}");
    if let Some(path) = std::env::var_os(SKIP_LOG_VAR) {
        let written =
            std::fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            panic!("{test}: cannot append to the skip log {}: {e}", path.to_string_lossy());
        }
    }
}

/// True when the test script promised the services (moto, oracles): `$SECURE_IVR_REQUIRE_SERVICES` is `1`.
pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES_VAR).is_ok_and(|v| v == "1")
}

/// A service `test` needs is missing: fails when [`services_required`], else a counted [`skip`].
///
/// # Panics
/// When the services were required.
pub fn missing_service(test: &str, reason: &str) {
    assert!(!services_required(), "{test}: {REQUIRE_SERVICES_VAR}=1 but {reason}");
    skip(test, reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_the_format_the_script_counts() {
        assert_eq!(line("t", "no moto endpoint"), "SKIP t: no moto endpoint");
    }
}
