//! The telemetry section's own settings beside its files: which fields hold
//! the timestamp, event, service, latency and status when a service names
//! them unusually (`fields:`), and the alerts that mark a service degraded
//! while its telemetry says so (`alerts:`), such as
//! `{ service: aidb, when: "[ERROR_RATE] > 5% for 5m" }`: a condition in the
//! probes' grammar over one minute's events, held for a span.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;
use stackwarden_health::Condition;

use crate::duration::parse_duration;
use crate::validate::Problems;

/// The values an alert's condition can read, per minute of events.
pub const TELEMETRY_VALUES: [&str; 6] = [
    "EVENTS",
    "ERRORS",
    "ERROR_RATE",
    "LATENCY_P50",
    "LATENCY_P95",
    "LATENCY_P99",
];

/// The longest span an alert can wait for.
const MAX_FOR: Duration = Duration::from_secs(24 * 3600);

/// `alerts:` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertEntry {
    pub service: Spanned<String>,
    pub when: Spanned<String>,
    /// One of the section's files; all of them when absent.
    pub file: Option<Spanned<String>>,
}

/// An alert: while `condition` holds for every complete minute of the last
/// `minutes` (a minute without events has EVENTS 0), `service` is degraded
/// with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryAlert {
    pub service: String,
    /// `Some`: every event of that file. `None`: the events of every file
    /// of the section whose service field names `service`.
    pub file: Option<String>,
    pub condition: Condition,
    pub minutes: u32,
    /// As written, for the reason shown.
    pub text: String,
}

/// Reads `alerts:`; problems are reported and the bad entries left out.
pub(crate) fn alerts(
    entries: &[Spanned<AlertEntry>],
    files: &[String],
    services: &BTreeSet<&str>,
    problems: &mut Problems<'_>,
) -> Vec<TelemetryAlert> {
    entries
        .iter()
        .filter_map(|entry| {
            let e = &entry.value;
            if !services.contains(e.service.value.as_str()) {
                problems.at(
                    &e.service.referenced,
                    format!(
                        "telemetry alert names `{}`, which is not a service in this file",
                        e.service.value
                    ),
                );
                return None;
            }
            if let Some(file) = &e.file {
                if !files.contains(&file.value) {
                    problems.at(
                        &file.referenced,
                        format!(
                            "telemetry alert names the file `{}`, which `files` does not list",
                            file.value
                        ),
                    );
                    return None;
                }
            }
            let (condition, minutes) = match parse_alert(&e.when.value) {
                Ok(parsed) => parsed,
                Err(reason) => {
                    problems.at(&e.when.referenced, format!("telemetry alert: {reason}"));
                    return None;
                }
            };
            Some(TelemetryAlert {
                service: e.service.value.clone(),
                file: e.file.as_ref().map(|f| f.value.clone()),
                condition,
                minutes,
                text: e.when.value.trim().to_string(),
            })
        })
        .collect()
}

/// `CONDITION [for DURATION]` into the condition and whole minutes (at
/// least one). A value may be written bare and in any case on the left
/// (`error_rate > 5% for 5m` reads as `[ERROR_RATE] > 5% for 5m`).
pub fn parse_alert(text: &str) -> Result<(Condition, u32), String> {
    let (condition_text, span) = match text.rfind(" for ") {
        Some(at) => (&text[..at], Some(text[at + 5..].trim())),
        None => (text, None),
    };
    let trimmed = condition_text.trim_start();
    let first = trimmed
        .split(|c: char| c.is_whitespace() || "<>=!".contains(c))
        .next()
        .unwrap_or_default();
    let bare = first.to_ascii_uppercase();
    let condition_text = if TELEMETRY_VALUES.contains(&bare.as_str()) {
        format!("[{bare}]{}", &trimmed[first.len()..])
    } else {
        condition_text.to_string()
    };
    let condition: Condition = condition_text.parse().map_err(|e| format!("{e}"))?;
    if let Some(name) = condition
        .value_names()
        .into_iter()
        .find(|n| !TELEMETRY_VALUES.contains(n))
    {
        let known: Vec<String> = TELEMETRY_VALUES.iter().map(|n| format!("[{n}]")).collect();
        return Err(format!(
            "`[{name}]` is not a telemetry value; alerts read {}",
            known.join(", ")
        ));
    }
    if condition.value_names().is_empty() {
        return Err(format!(
            "`{condition}` reads no telemetry value such as [ERROR_RATE]"
        ));
    }
    let minutes = match span {
        None => 1,
        Some(span) => {
            let d = parse_duration(span).map_err(|reason| format!("for {span}: {reason}"))?;
            if d > MAX_FOR {
                return Err(format!("for {span}: longer than 24h"));
            }
            u32::try_from(d.as_secs().div_ceil(60))
                .unwrap_or(u32::MAX)
                .max(1)
        }
    };
    Ok((condition, minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_read_a_condition_and_a_span() {
        let (c, m) = parse_alert("[ERROR_RATE] > 5% for 5m").unwrap();
        assert_eq!((c.to_string().as_str(), m), ("[ERROR_RATE] > 5%", 5));
        assert_eq!(parse_alert("[LATENCY_P95] > 800ms").unwrap().1, 1);
        assert_eq!(parse_alert("[EVENTS] < 1 for 90s").unwrap().1, 2);
        // As the issue and most people write it: the value bare.
        let (c, m) = parse_alert("error_rate > 5% for 5m").unwrap();
        assert_eq!((c.to_string().as_str(), m), ("[ERROR_RATE] > 5%", 5));
        assert_eq!(
            parse_alert("LATENCY_P95>800").unwrap().0.to_string(),
            "[LATENCY_P95]>800"
        );
        for (bad, why) in [
            ("[TOOLS] > 1 for 5m", "not a telemetry value"),
            ("[STATUS] == 200", "reads no telemetry value"),
            ("[ERROR_RATE] > 5% for soon", "for soon"),
            ("[ERROR_RATE] > 5% for 48h", "longer than 24h"),
            ("errors_rate > 5%", "left side must be a placeholder"),
        ] {
            let got = parse_alert(bad).err().unwrap_or_default();
            assert!(got.contains(why), "{bad}: {got}");
        }
    }

    #[test]
    fn the_section_reads_fields_and_alerts_and_names_bad_ones() {
        let base = "services:\n  aidb:\n    image: a\nx-stackwarden:\n  verify:\n    telemetry:\n      dir: /t\n      files: [a.jsonl, b.jsonl]\n";
        let good = format!("{base}      fields: {{ timestamp: when, latency_ms: took }}\n      alerts:\n        - {{ service: aidb, when: \"[ERROR_RATE] > 5% for 5m\", file: a.jsonl }}\n");
        let stack = crate::parse(&good, "compose.yaml").unwrap();
        let t = &stack.verify.telemetry;
        assert_eq!(t.mapping.timestamp.as_deref(), Some("when"));
        assert_eq!(t.mapping.latency_ms.as_deref(), Some("took"));
        assert_eq!(t.alerts.len(), 1);
        assert_eq!(
            (t.alerts[0].minutes, t.alerts[0].file.as_deref()),
            (5, Some("a.jsonl"))
        );
        let bad = format!("{base}      alerts:\n        - {{ service: nope, when: \"[ERROR_RATE] > 5%\" }}\n        - {{ service: aidb, when: \"[ERROR_RATE] > 5%\", file: c.jsonl }}\n        - {{ service: aidb, when: \"[TOOLS] > 5\" }}\n");
        let problems = crate::parse(&bad, "compose.yaml").unwrap_err();
        let lines: Vec<(u64, bool)> = problems
            .problems()
            .iter()
            .map(|p| (p.line, p.reason.contains("telemetry alert")))
            .collect();
        assert_eq!(lines, [(10, true), (11, true), (12, true)], "{problems}");
        let unknown = format!("{base}      fields: {{ when: x }}\n");
        assert!(crate::parse(&unknown, "compose.yaml").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_alert_text_is_an_alert_or_a_reason(text in "\\PC{0,60}") {
            let _ = parse_alert(&text);
        }
    }
}
