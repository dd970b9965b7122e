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

/// Adds `stats` for `service`'s events in `path` at `minute`, as the
/// follower does when an alert names the service.
fn put(minutes: &mut AlertMinutes, path: &str, service: &str, minute: i64, stats: MinuteStats) {
    let key = MinuteKey {
        minute_ms: minute * MINUTE_MS,
        service: service.into(),
        event: "call".into(),
    };
    add_minute(minutes, &BTreeSet::from([service]), path, &key, &stats);
}

fn paths(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

#[test]
fn an_alert_holds_only_when_every_minute_of_its_span_does() {
    let now = 100 * MINUTE_MS + 30_000;
    let all = paths(&["/t/a.jsonl", "/t/b.jsonl"]);
    let mut minutes = AlertMinutes::new();
    for m in [95, 96, 98, 99] {
        put(&mut minutes, "/t/a.jsonl", "aidb", m, stats(300, 100));
    }
    // The current minute does not count yet.
    put(&mut minutes, "/t/a.jsonl", "aidb", 100, stats(100, 0));
    let five = alert("[ERROR_RATE] > 5% for 5m", None);
    // A minute without events ends it.
    let state = evaluate(&five, &all, &minutes, now);
    assert!(
        !state.holding && state.observed.contains("no events"),
        "{state:?}"
    );
    // A calm minute ends it.
    put(&mut minutes, "/t/b.jsonl", "aidb", 97, stats(100, 1));
    assert!(!evaluate(&five, &all, &minutes, now).holding);
    // Errors in every minute, summed over the files: it holds.
    put(&mut minutes, "/t/a.jsonl", "aidb", 97, stats(100, 99));
    let state = evaluate(&five, &all, &minutes, now);
    assert!(state.holding, "{state:?}");
    assert!(
        state
            .observed
            .contains("each of the last 5 minutes: 33.33%, 33.33%, 50%, 33.33%, 33.33%"),
        "{}",
        state.observed
    );
    // Another file's errors do not count for an alert on one file.
    let one = alert("[ERROR_RATE] > 5%", Some("b.jsonl"));
    put(&mut minutes, "/t/b.jsonl", "aidb", 99, stats(100, 0));
    assert!(!evaluate(&one, &paths(&["/t/b.jsonl"]), &minutes, now).holding);
    assert!(evaluate(&one, &paths(&["/t/a.jsonl"]), &minutes, now).holding);
}

#[test]
fn an_alert_without_a_file_counts_only_its_services_events() {
    let now = 100 * MINUTE_MS + 30_000;
    let all = paths(&["/t/a.jsonl"]);
    let mut minutes = AlertMinutes::new();
    put(&mut minutes, "/t/a.jsonl", "hybrid", 99, stats(100, 90));
    put(&mut minutes, "/t/a.jsonl", "aidb", 99, stats(100, 0));
    let rate = alert("[ERROR_RATE] > 5%", None);
    let state = evaluate(&rate, &all, &minutes, now);
    assert!(!state.holding, "{state:?}");
    assert!(state.observed.ends_with(": 0%"), "{}", state.observed);
    // Files the stack no longer lists do not count.
    put(&mut minutes, "/old/a.jsonl", "aidb", 99, stats(100, 100));
    assert!(!evaluate(&rate, &all, &minutes, now).holding);
}

#[test]
fn silence_is_zero_events_and_rates_are_compared_unrounded() {
    let now = 100 * MINUTE_MS + 30_000;
    let all = paths(&["/t/a.jsonl"]);
    let mut minutes = AlertMinutes::new();
    let quiet = alert("[EVENTS] < 1 for 3m", None);
    let state = evaluate(&quiet, &all, &minutes, now);
    assert!(state.holding, "{state:?}");
    assert!(state.observed.ends_with(": 0, 0, 0"), "{}", state.observed);
    put(&mut minutes, "/t/a.jsonl", "aidb", 98, stats(1, 0));
    assert!(!evaluate(&quiet, &all, &minutes, now).holding);
    // 50001 of 1000000 is above 5 %, though it shows as 5 % to two places.
    put(
        &mut minutes,
        "/t/a.jsonl",
        "aidb",
        99,
        stats(1_000_000, 50_001),
    );
    let state = evaluate(&alert("[ERROR_RATE] > 5%", None), &all, &minutes, now);
    assert!(state.holding, "{state:?}");
    assert!(state.observed.ends_with(": 5%"), "{}", state.observed);
}

#[test]
fn bursts_merge_consecutive_minutes_per_file() {
    let mut minutes = BTreeMap::new();
    minutes.insert(("/t/a".to_string(), MINUTE_MS), stats(100, 20));
    minutes.insert(("/t/a".to_string(), 2 * MINUTE_MS), stats(100, 50));
    minutes.insert(("/t/a".to_string(), 3 * MINUTE_MS), stats(100, 1));
    minutes.insert(("/t/a".to_string(), 4 * MINUTE_MS), stats(10, 2));
    minutes.insert(("/u/b".to_string(), 2 * MINUTE_MS), stats(4, 4));
    let names = HashMap::from([("/t/a".to_string(), "a".to_string())]);
    let found = bursts(&minutes, &names);
    let spans: Vec<(&str, &str, i64, i64, f64)> = found
        .iter()
        .map(|b| {
            (
                b.file.as_str(),
                b.path.as_str(),
                b.from_ms / MINUTE_MS,
                b.to_ms / MINUTE_MS,
                b.peak_rate,
            )
        })
        .collect();
    assert_eq!(
        spans,
        [("a", "/t/a", 1, 3, 0.5), ("/u/b", "/u/b", 2, 3, 1.0)]
    );
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
