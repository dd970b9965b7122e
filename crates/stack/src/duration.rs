//! Durations as compose writes them: `150ms`, `30s`, `2m`, `1h`, `1m30s`.

use std::time::Duration;

/// The longest duration this parser accepts: a year. Anything longer is a
/// typo in a stack file, and would overflow the clock arithmetic of those
/// who wait for it (`Instant + Duration` panics on overflow).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// A duration such as `30s`, `150ms`, `1m30s` or `1.5h`; never panics: a
/// number too large for a [`Duration`] (or above [`MAX_DURATION`]) is an
/// error that says so.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse(text, false)
}

/// A span of history as the command line takes it (`--since 7d`): what
/// [`parse_duration`] accepts, and days (`d`).
pub fn parse_span(text: &str) -> Result<Duration, String> {
    parse(text, true)
}

fn parse(text: &str, days: bool) -> Result<Duration, String> {
    let units = if days {
        "ms, s, m, h or d"
    } else {
        "ms, s, m or h"
    };
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".to_string());
    }
    let too_long = || {
        format!(
            "`{s}` is too long; at most {}h",
            MAX_DURATION.as_secs() / 3600
        )
    };
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        // ASCII digits and dots only, so every index below is a char boundary.
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{s}` needs a unit: {units}"))?;
        if digits == 0 {
            return Err(format!("`{s}` is not a duration such as 30s or 150ms"));
        }
        let (number, after) = rest.split_at(digits);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("`{number}` is not a number"))?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let secs = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            "d" if days => value * 86_400.0,
            other => return Err(format!("unknown unit `{other}` in `{s}`; use {units}")),
        };
        let part = Duration::try_from_secs_f64(secs).map_err(|_| too_long())?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        if total > MAX_DURATION {
            return Err(too_long());
        }
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_take_days_and_durations_do_not() {
        assert_eq!(parse_span("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_span("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_span("90m"), Ok(Duration::from_secs(5400)));
        assert!(parse_span("400d").unwrap_err().contains("too long"));
        assert!(parse_span("7x").unwrap_err().contains("ms, s, m, h or d"));
        assert!(parse_duration("7d")
            .unwrap_err()
            .contains("use ms, s, m or h"));
    }

    #[test]
    fn durations() {
        let ok = [
            ("150ms", 150),
            ("30s", 30_000),
            ("2m", 120_000),
            ("1m30s", 90_000),
            ("1.5s", 1500),
            ("1h", 3_600_000),
            ("0s", 0),
        ];
        for (text, ms) in ok {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
        for bad in ["", "30", "s", "5 minutes", "10d", "1..5s", "3ü", "ü3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn huge_durations_are_errors_not_panics() {
        for huge in [
            "99999999999999999999h",
            "1e400s",
            "9999999999h",
            "8785h",
            &format!("{}s", "9".repeat(400)),
            &"9999999999h".repeat(40),
        ] {
            let e = parse_duration(huge).unwrap_err();
            assert!(
                e.contains("too long") || e.contains("unknown unit"),
                "{huge}: {e}"
            );
        }
        assert_eq!(parse_duration("8784h"), Ok(MAX_DURATION));
    }
}
