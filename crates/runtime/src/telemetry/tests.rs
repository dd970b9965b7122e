use super::*;

fn stats(count: u64, errors: u64) -> MinuteStats {
    MinuteStats {
        count,
        errors,
        ..MinuteStats::default()
    }
}

fn alert(text: &str, file: Option<&str>) -> TelemetryAlert {
    let (condition, minutes) = stackwarden_stack::parse_alert(text).unwrap();
    TelemetryAlert {
        service: "aidb".into(),
        file: file.map(Into::into),
        condition,
        minutes,
        text: text.into(),
    }
}

#[test]
fn an_alert_holds_only_when_every_minute_of_its_span_does() {
    let now = 100 * MINUTE_MS + 30_000;
    let mut minutes = BTreeMap::new();
    for m in 95..=99 {
        minutes.insert(("a.jsonl".to_string(), m * MINUTE_MS), stats(100, 10));
    }
    // The current minute does not count yet.
    minutes.insert(("a.jsonl".to_string(), 100 * MINUTE_MS), stats(100, 0));
    let five = alert("[ERROR_RATE] > 5% for 5m", None);
    let state = evaluate(&five, &minutes, now);
    assert!(state.holding, "{state:?}");
    assert!(
        state
            .observed
            .contains("each of the last 5 minutes: 0.1, 0.1"),
        "{}",
        state.observed
    );
    // One calm minute inside the span, or one without events, ends it.
    minutes.insert(("a.jsonl".to_string(), 97 * MINUTE_MS), stats(100, 1));
    assert!(!evaluate(&five, &minutes, now).holding);
    minutes.remove(&("a.jsonl".to_string(), 97 * MINUTE_MS));
    let state = evaluate(&five, &minutes, now);
    assert!(!state.holding && state.observed.contains("no events"));
    // Another file's errors do not count for an alert on one file.
    let one = alert("[ERROR_RATE] > 5%", Some("b.jsonl"));
    assert!(!evaluate(&one, &minutes, now).holding);
}

#[test]
fn bursts_merge_consecutive_minutes_per_file() {
    let mut minutes = BTreeMap::new();
    minutes.insert(("a".to_string(), MINUTE_MS), stats(100, 20));
    minutes.insert(("a".to_string(), 2 * MINUTE_MS), stats(100, 50));
    minutes.insert(("a".to_string(), 3 * MINUTE_MS), stats(100, 1));
    minutes.insert(("a".to_string(), 4 * MINUTE_MS), stats(10, 2));
    minutes.insert(("b".to_string(), 2 * MINUTE_MS), stats(4, 4));
    let found = bursts(&minutes);
    let spans: Vec<(&str, i64, i64, f64)> = found
        .iter()
        .map(|b| {
            (
                b.file.as_str(),
                b.from_ms / MINUTE_MS,
                b.to_ms / MINUTE_MS,
                b.peak_rate,
            )
        })
        .collect();
    assert_eq!(spans, [("a", 1, 3, 0.5), ("b", 2, 3, 1.0)]);
}

#[test]
fn marks_follow_the_alerts() {
    let (tx, rx) = watch::channel(LogMarks::new());
    let holding = AlertState {
        service: "aidb".into(),
        rule: "[ERROR_RATE] > 5%".into(),
        holding: true,
        observed: "x".into(),
    };
    set_marks(&tx, std::slice::from_ref(&holding));
    let key = ("aidb".to_string(), TELEMETRY_ALERT_PROBE.to_string());
    assert!(!rx.borrow()[&key].outcome.success);
    set_marks(
        &tx,
        &[AlertState {
            holding: false,
            ..holding
        }],
    );
    assert!(rx.borrow().is_empty());
}
