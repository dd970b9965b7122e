//! One telemetry line into an event.

use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Longer lines are malformed (a runaway writer, binary junk).
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Service and event names are cut to this many characters: a writer that
/// puts ids or text there must not make every line its own row.
pub const MAX_NAME_CHARS: usize = 128;

/// Events before 2000 are not telemetry of a service running now.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// How far ahead of this machine's clock a timestamp may be (another
/// machine's clock, a time zone written wrong) before it is malformed.
pub const LATEST_AHEAD_MS: i64 = 24 * 3600 * 1000;

/// Field names that override the common ones (`x-stackwarden.verify.telemetry`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMapping {
    pub timestamp: Option<String>,
    pub event: Option<String>,
    pub service: Option<String>,
    pub latency_ms: Option<String>,
    pub status: Option<String>,
}

const TIMESTAMP: &[&str] = &[
    "timestamp",
    "ts",
    "time",
    "@timestamp",
    "datetime",
    "created_at",
    "at",
];
const EVENT: &[&str] = &["event", "event_type", "type", "kind", "name", "action"];
const SERVICE: &[&str] = &["service", "source", "server", "component", "app"];
const LATENCY: &[&str] = &[
    "latency_ms",
    "duration_ms",
    "elapsed_ms",
    "response_time_ms",
    "latency",
    "duration",
];
const STATUS: &[&str] = &["status", "outcome", "result", "level"];

/// One event as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at_ms: i64,
    pub event: Option<String>,
    pub service: Option<String>,
    pub latency_ms: Option<f64>,
    /// The line says it failed (`error`, a failing status, `ok: false`).
    pub failed: bool,
}

/// Why a line is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("longer than {max} bytes ({len})")]
    TooLong { len: usize, max: usize },
    #[error("not text (invalid UTF-8 at byte {at})")]
    NotText { at: usize },
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON object")]
    NotObject,
    #[error("no timestamp (looked for {0})")]
    NoTimestamp(String),
    #[error("timestamp {0} is not ISO 8601 or epoch seconds/milliseconds")]
    BadTimestamp(String),
    #[error("timestamp {0} is before 2000 or more than a day ahead of this machine's clock")]
    TimeOutOfRange(String),
}

/// Reads one line (without its newline); `now_ms` bounds how far ahead its
/// timestamp may be ([`LATEST_AHEAD_MS`]).
pub fn parse_line(line: &[u8], mapping: &FieldMapping, now_ms: i64) -> Result<Event, Malformed> {
    if line.len() > MAX_LINE_BYTES {
        return Err(Malformed::TooLong {
            len: line.len(),
            max: MAX_LINE_BYTES,
        });
    }
    let text = std::str::from_utf8(line).map_err(|e| Malformed::NotText {
        at: e.valid_up_to(),
    })?;
    let value: Value = serde_json::from_str(text.trim_end_matches('\r'))
        .map_err(|e| Malformed::NotJson(e.to_string()))?;
    let Value::Object(obj) = value else {
        return Err(Malformed::NotObject);
    };
    let names = |given: &Option<String>, common: &[&str]| -> Vec<String> {
        match given {
            Some(name) => vec![name.clone()],
            None => common.iter().map(|s| (*s).to_string()).collect(),
        }
    };
    let ts_names = names(&mapping.timestamp, TIMESTAMP);
    let ts = find(&obj, &ts_names).ok_or_else(|| Malformed::NoTimestamp(ts_names.join(", ")))?;
    let at_ms = timestamp_ms(ts).ok_or_else(|| Malformed::BadTimestamp(shown(ts)))?;
    if !(EARLIEST_MS..=now_ms.saturating_add(LATEST_AHEAD_MS)).contains(&at_ms) {
        return Err(Malformed::TimeOutOfRange(shown(ts)));
    }
    let text_of = |v: &Value| match v {
        Value::String(s) => Some(name_text(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let status_names = names(&mapping.status, STATUS);
    let failed = find(&obj, &status_names).is_some_and(status_failed)
        || obj
            .get("error")
            .is_some_and(|e| !matches!(e, Value::Null | Value::Bool(false)) && e != "")
        || obj.get("ok") == Some(&Value::Bool(false))
        || obj.get("success") == Some(&Value::Bool(false));
    Ok(Event {
        at_ms,
        event: find(&obj, &names(&mapping.event, EVENT)).and_then(text_of),
        service: find(&obj, &names(&mapping.service, SERVICE)).and_then(text_of),
        latency_ms: find(&obj, &names(&mapping.latency_ms, LATENCY))
            .and_then(Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 0.0),
        failed,
    })
}

/// A service or event name fit to keep and show: at most
/// [`MAX_NAME_CHARS`], no control characters, and no secret in a name that
/// quotes a request (`GET /x?api_key=…`).
fn name_text(s: &str) -> String {
    let cut = match s.char_indices().nth(MAX_NAME_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    };
    let suspicious = cut
        .chars()
        .any(|c| c.is_control() || matches!(c, '=' | ':' | '@' | '?'));
    if suspicious {
        stackwarden_model::redact::pairs(&crate::aggregate::safe_text(cut.as_bytes()))
    } else {
        cut
    }
}

fn find<'a>(obj: &'a Map<String, Value>, names: &[String]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| obj.get(n))
        .filter(|v| !v.is_null())
}

/// A short, safe rendering of a value for an error.
fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// ISO 8601 / RFC 3339 text (without an offset, as Python's `isoformat()`
/// writes it, read as UTC), or a number of seconds (below 10^11) or
/// milliseconds since the epoch (numbers as text too).
fn timestamp_ms(v: &Value) -> Option<i64> {
    let number = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.timestamp_millis());
            }
            for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                    return Some(t.and_utc().timestamp_millis());
                }
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    if !number.is_finite() || number <= 0.0 {
        return None;
    }
    let ms = if number < 1e11 {
        number * 1000.0
    } else {
        number
    };
    (ms < 1e15).then_some(ms as i64)
}

fn status_failed(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64().is_some_and(|c| c >= 500.0),
        Value::String(s) => matches!(
            s.to_ascii_lowercase().as_str(),
            "error" | "err" | "failed" | "failure" | "fail" | "fatal" | "critical" | "timeout"
        ),
        Value::Bool(ok) => !ok,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01, the clock the tests read lines against.
    const NOW: i64 = 1_796_083_200_000;

    fn parse(line: &str) -> Result<Event, Malformed> {
        parse_line(line.as_bytes(), &FieldMapping::default(), NOW)
    }

    #[test]
    fn times_without_an_offset_are_utc_and_times_out_of_range_are_malformed() {
        assert_eq!(
            parse(r#"{"ts":"2026-11-30T10:00:00.250"}"#).map(|e| e.at_ms),
            Ok(1_796_032_800_250)
        );
        assert_eq!(
            parse(r#"{"ts":"2026-11-30 10:00:00"}"#).map(|e| e.at_ms),
            Ok(1_796_032_800_000)
        );
        for far in [
            r#"{"ts":"2099-01-01T00:00:00Z"}"#,
            r#"{"ts":"1999-12-31T23:59:59Z"}"#,
            r#"{"ts":5}"#,
        ] {
            assert!(
                matches!(parse(far), Err(Malformed::TimeOutOfRange(_))),
                "{far}: {:?}",
                parse(far)
            );
        }
        // Up to a day ahead is another clock, not junk.
        assert!(parse(r#"{"ts":"2026-12-01T23:00:00Z"}"#).is_ok());
    }

    #[test]
    fn names_keep_no_secret_and_no_control_character() {
        let e =
            parse(r#"{"ts":1796032800,"event":"GET /x?api_key=s3cret","service":"a\u001b[31mb"}"#)
                .unwrap();
        assert_eq!(e.event.as_deref(), Some("GET /x?api_key=***"));
        assert_eq!(e.service.as_deref(), Some("a\u{FFFD}[31mb"));
    }

    #[test]
    fn long_names_are_cut() {
        let name = "x".repeat(10_000);
        let e = parse(&format!(
            r#"{{"ts":1796032800,"service":"{name}","event":"{name}"}}"#
        ))
        .unwrap();
        assert_eq!(
            e.service.map(|s| s.chars().count()),
            Some(MAX_NAME_CHARS + 1)
        );
        assert_eq!(e.event.map(|s| s.chars().count()), Some(MAX_NAME_CHARS + 1));
    }

    #[test]
    fn common_names_and_timestamp_forms() {
        let e = parse(
            r#"{"timestamp":"2026-11-30T10:00:00Z","event":"tool_call","service":"aidb","latency_ms":12.5,"status":"ok"}"#,
        );
        assert_eq!(
            e,
            Ok(Event {
                at_ms: 1_796_032_800_000,
                event: Some("tool_call".into()),
                service: Some("aidb".into()),
                latency_ms: Some(12.5),
                failed: false,
            })
        );
        let secs = parse(r#"{"ts":1796032800,"type":"query","error":"boom"}"#);
        assert_eq!(
            secs.as_ref().map(|e| (e.at_ms, e.failed)),
            Ok((1_796_032_800_000, true))
        );
        let ms = parse(r#"{"time":1796032800123,"status":503}"#);
        assert_eq!(
            ms.as_ref().map(|e| (e.at_ms, e.failed)),
            Ok((1_796_032_800_123, true))
        );
        let text_secs = parse(r#"{"at":"1796032800.5","ok":false}"#);
        assert_eq!(
            text_secs.map(|e| (e.at_ms, e.failed)),
            Ok((1_796_032_800_500, true))
        );
    }

    #[test]
    fn a_mapping_names_the_fields() {
        let mapping = FieldMapping {
            timestamp: Some("when".into()),
            event: Some("what".into()),
            ..FieldMapping::default()
        };
        let e = parse_line(
            br#"{"when":"2026-11-30T10:00:00+01:00","what":"embed","timestamp":"x"}"#,
            &mapping,
            NOW,
        );
        assert_eq!(
            e.map(|e| (e.at_ms, e.event)),
            Ok((1_796_029_200_000, Some("embed".into())))
        );
    }

    #[test]
    fn each_kind_of_bad_line_has_its_reason() {
        let reason = |line: &[u8]| {
            parse_line(line, &FieldMapping::default(), NOW)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(reason(b"not json").starts_with("not JSON"));
        assert_eq!(reason(b"[1,2]"), "not a JSON object");
        assert!(reason(br#"{"event":"x"}"#).starts_with("no timestamp (looked for timestamp, ts"));
        assert!(reason(br#"{"ts":"yesterday"}"#).starts_with("timestamp \"yesterday\" is not"));
        assert_eq!(reason(b"\xff\xfe{}"), "not text (invalid UTF-8 at byte 0)");
        let long = vec![b'a'; MAX_LINE_BYTES + 1];
        assert!(reason(&long).starts_with("longer than 1048576 bytes"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn any_bytes_give_an_event_or_a_reason(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_line(&line, &FieldMapping::default(), NOW);
        }

        #[test]
        fn any_json_object_gives_an_event_or_a_reason(ts in proptest::prelude::any::<f64>(), s in "\\PC{0,30}") {
            let line = serde_json::json!({"ts": ts, "event": s.clone(), "status": s, "latency_ms": ts}).to_string();
            let _ = parse_line(line.as_bytes(), &FieldMapping::default(), NOW);
        }
    }
}
