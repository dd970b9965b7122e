//! Follows the stack's telemetry files while the runtime records: reads
//! what each service appended, writes the per-minute aggregates and the
//! file's cursor to the store in one transaction, keeps the last events for
//! the live list, and evaluates the stack file's telemetry alerts, marking
//! a service degraded (a failing [`TELEMETRY_ALERT_PROBE`] run) while one
//! holds. [`report`] reads it all back for the window and the CLI.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use stackwarden_health::TELEMETRY_ALERT_PROBE;
use stackwarden_health::{ConditionResult, Observation, ProbeOutcome, ProbeRun};
use stackwarden_model::clock::now_ms;
use stackwarden_probes::LogMarks;
use stackwarden_stack::{LoadedStack, TelemetryAlert, TelemetrySpec};
use stackwarden_store::{Store, StoreError, TelemetryFile};
use stackwarden_telemetry::{
    BadLine, Batch, FieldMapping, FileState, Follower, MinuteKey, MinuteStats, RecentEvent, Totals,
    MINUTE_MS, OTHER, RECENT_KEPT,
};
use tokio::sync::watch;
use ts_rs::TS;

use crate::recorder::WriteTo;
use crate::RuntimeError;

/// How often the files are looked at.
pub const TELEMETRY_EVERY: Duration = Duration::from_secs(1);
/// Bytes read from one file per transaction.
const BATCH_BYTES: u64 = 8 << 20;
/// A minute with at least this error rate and [`BURST_MIN_ERRORS`] errors
/// is part of an error burst on the timeline.
pub const BURST_RATE: f64 = 0.05;
pub const BURST_MIN_ERRORS: u64 = 3;

/// One followed file, as the live state shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct LiveFile {
    /// The name in the stack file.
    pub file: String,
    pub path: String,
    /// "following", "folder missing", "file missing", or why it cannot be read.
    pub state: String,
}

/// A telemetry alert of the stack file, now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct AlertState {
    pub service: String,
    pub rule: String,
    pub holding: bool,
    /// What the last minutes showed.
    pub observed: String,
}

/// The follower's state, on its own stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct TelemetryLive {
    pub files: Vec<LiveFile>,
    /// The newest events of every file, newest last.
    pub recent: Vec<RecentEvent>,
    pub alerts: Vec<AlertState>,
    /// Why nothing is followed ("another process records"), if so.
    pub paused: Option<String>,
}

pub(crate) struct TelemetryInputs {
    pub stacks: watch::Receiver<LoadedStack>,
    pub to: WriteTo,
    pub live: Arc<watch::Sender<TelemetryLive>>,
    pub marks: Arc<watch::Sender<LogMarks>>,
    pub every: Duration,
}

/// The files of `spec`: its name for each and where it is (an absolute
/// path, which keys its records).
pub fn files_of(spec: &TelemetrySpec, home: Option<&Path>) -> Vec<(String, PathBuf)> {
    let dir = stackwarden_verify::expand_home(&spec.dir, home);
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    spec.files
        .iter()
        .map(|f| (f.clone(), dir.join(f)))
        .collect()
}

/// The key of a file's records: its path as text.
pub fn path_key(path: &Path) -> String {
    path.display().to_string()
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn state_text(state: &FileState) -> String {
    match state {
        FileState::Following => "following".to_string(),
        FileState::MissingFolder => "folder missing".to_string(),
        FileState::MissingFile => "file missing".to_string(),
        FileState::Unreadable(why) => format!("cannot be read: {why}"),
    }
}

/// What [`catch_up`] did.
pub struct CaughtUp {
    pub follower: Follower,
    /// The last poll's state.
    pub state: FileState,
    /// The last events seen and the counts (no minutes: those went to the
    /// store and to `each_minute`).
    pub seen: Batch,
    /// Stopped at `max_rounds` with more to read.
    pub behind: bool,
}

/// Reads `follower`'s file (`name` in the stack file) to its end (or
/// `max_rounds` batches), writing each batch with the cursor, and hands
/// each batch's minutes to `each_minute`.
pub async fn catch_up(
    store: &Store,
    name: &str,
    mut follower: Follower,
    max_rounds: usize,
    mut each_minute: impl FnMut(&MinuteKey, &MinuteStats),
) -> Result<CaughtUp, RuntimeError> {
    let file = path_key(follower.path());
    let mut seen = Batch::default();
    let mut state = FileState::Following;
    let mut behind = false;
    for _ in 0..max_rounds {
        let (back, batch, polled) = tokio::task::spawn_blocking(move || {
            let mut batch = Batch::default();
            let polled = follower.poll(BATCH_BYTES, &mut batch);
            (follower, batch, polled)
        })
        .await
        .map_err(|e| RuntimeError::TelemetryFollower(e.to_string()))?;
        follower = back;
        state = polled.state.clone();
        if let Some(cursor) = follower.cursor() {
            if polled.bytes > 0 || polled.restarted {
                store
                    .record_telemetry(&file, name, &cursor, &batch, now_ms())
                    .await?;
            }
        }
        seen.events += batch.events;
        seen.malformed += batch.malformed;
        for e in batch.recent {
            if seen.recent.len() == RECENT_KEPT {
                seen.recent.pop_front();
            }
            seen.recent.push_back(e);
        }
        for (k, v) in &batch.minutes {
            each_minute(k, v);
        }
        behind = polled.more;
        if !polled.more {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(CaughtUp {
        follower,
        state,
        seen,
        behind,
    })
}

/// The in-memory minutes the alerts read: by file path, then `None` for
/// every event of the file or `Some(service)` for a service an alert
/// names, then minute. Bounded by the files, the alerts' services and the
/// longest alert's span, whatever the files hold.
pub type AlertMinutes = BTreeMap<(String, Option<String>, i64), MinuteStats>;

/// Adds one stored or read minute to the alerts' minutes.
fn add_minute(
    minutes: &mut AlertMinutes,
    services: &BTreeSet<&str>,
    path: &str,
    key: &MinuteKey,
    stats: &MinuteStats,
) {
    minutes
        .entry((path.to_string(), None, key.minute_ms))
        .or_default()
        .merge(stats);
    if services.contains(key.service.as_str()) {
        minutes
            .entry((path.to_string(), Some(key.service.clone()), key.minute_ms))
            .or_default()
            .merge(stats);
    }
}

/// The follower task: runs until the runtime stops.
pub(crate) async fn follow(mut inputs: TelemetryInputs) {
    let mut followers: HashMap<PathBuf, (FieldMapping, Follower)> = HashMap::new();
    let mut minutes: AlertMinutes = BTreeMap::new();
    let mut recent: VecDeque<RecentEvent> = VecDeque::new();
    // What the minutes in memory were read for (files, the alerts'
    // services, the longest span); another set reads them again.
    let mut seeded_for: Option<(Vec<String>, BTreeSet<String>, i64)> = None;
    let mut alerts_before: Vec<AlertState> = Vec::new();
    let mut ticker = tokio::time::interval(inputs.every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(stack) = inputs.stacks.borrow_and_update().stack.clone() else {
            continue;
        };
        let spec = &stack.verify.telemetry;
        let Some(store) = inputs.to.borrow_and_update().clone() else {
            followers.clear();
            seeded_for = None;
            publish(&inputs, TelemetryLive {
                paused: Some("not recording here: the process that records into the data folder follows the telemetry".to_string()),
                ..TelemetryLive::default()
            });
            continue;
        };
        let window = alert_window(&spec.alerts);
        let keep_since = now_ms() - (window + 1) * MINUTE_MS;
        let wanted = files_of(spec, home().as_deref());
        let paths: Vec<String> = wanted.iter().map(|(_, p)| path_key(p)).collect();
        let services: BTreeSet<&str> = spec
            .alerts
            .iter()
            .filter(|a| a.file.is_none())
            .map(|a| a.service.as_str())
            .collect();
        let wanted_now = (
            paths.clone(),
            services.iter().map(ToString::to_string).collect(),
            window,
        );
        if seeded_for.as_ref() != Some(&wanted_now) {
            let mut stored: AlertMinutes = BTreeMap::new();
            let read = store
                .each_telemetry_minute(keep_since, now_ms(), |m| {
                    if paths.contains(&m.path) {
                        add_minute(&mut stored, &services, &m.path, &m.key, &m.stats);
                    }
                })
                .await;
            match read {
                Ok(()) => {
                    minutes = stored;
                    seeded_for = Some(wanted_now);
                }
                Err(e) => {
                    // No alert is judged on minutes it could not read.
                    tracing::warn!("cannot read telemetry minutes: {e}");
                    set_marks(&inputs.marks, &[]);
                    continue;
                }
            }
        }
        let mut live = TelemetryLive::default();
        // Files with a backlog still to read, and files that failed.
        let mut behind: BTreeSet<String> = BTreeSet::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        followers.retain(|path, (mapping, _)| {
            wanted.iter().any(|(_, p)| p == path) && *mapping == spec.mapping
        });
        for (name, path) in &wanted {
            let key = path_key(path);
            let follower = match followers.remove(path) {
                Some((_, f)) => f,
                None => {
                    let cursor = match store.telemetry_cursor(&key).await {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!("cannot read where {name} was left: {e}");
                            failed.insert(key, e.to_string());
                            continue;
                        }
                    };
                    Follower::new(path.clone(), spec.mapping.clone(), cursor)
                }
            };
            let read = catch_up(&store, name, follower, 64, |k, v| {
                if k.minute_ms >= keep_since {
                    add_minute(&mut minutes, &services, &key, k, v);
                }
            })
            .await;
            match read {
                Ok(done) => {
                    if done.behind {
                        behind.insert(key.clone());
                    }
                    recent.extend(done.seen.recent);
                    live.files.push(LiveFile {
                        file: name.clone(),
                        path: key,
                        state: state_text(&done.state),
                    });
                    followers.insert(path.clone(), (spec.mapping.clone(), done.follower));
                }
                Err(e) => {
                    tracing::warn!("telemetry of {name} not recorded: {e}");
                    failed.insert(key.clone(), e.to_string());
                    live.files.push(LiveFile {
                        file: name.clone(),
                        path: key,
                        state: format!("not recorded: {e}"),
                    });
                }
            }
        }
        recent.make_contiguous().sort_by_key(|e| e.at_ms);
        while recent.len() > RECENT_KEPT {
            recent.pop_front();
        }
        let now = now_ms();
        let oldest = (now - (window + 1) * MINUTE_MS).div_euclid(MINUTE_MS) * MINUTE_MS;
        minutes.retain(|(path, _, m), _| *m >= oldest && paths.contains(path));
        live.recent = recent.iter().cloned().collect();
        live.alerts = spec
            .alerts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let of: Vec<String> = match &a.file {
                    Some(f) => wanted
                        .iter()
                        .filter(|(name, _)| name == f)
                        .map(|(_, p)| path_key(p))
                        .collect(),
                    None => paths.clone(),
                };
                if let Some((path, e)) = of.iter().find_map(|p| failed.get_key_value(p)) {
                    // Never a mark on minutes that could not be read.
                    return AlertState {
                        service: a.service.clone(),
                        rule: a.text.clone(),
                        holding: false,
                        observed: format!("{}: not judged, {path} could not be read: {e}", a.text),
                    };
                }
                if of.iter().any(|p| behind.contains(p)) {
                    // Minutes not read yet are not silence: judge them once
                    // read (each tick reads 512 MiB of a backlog).
                    return alerts_before
                        .get(i)
                        .filter(|b| b.service == a.service && b.rule == a.text)
                        .cloned()
                        .unwrap_or_else(|| AlertState {
                            service: a.service.clone(),
                            rule: a.text.clone(),
                            holding: false,
                            observed: format!("{}: reading what was written before", a.text),
                        });
                }
                evaluate(a, &of, &minutes, now)
            })
            .collect();
        alerts_before.clone_from(&live.alerts);
        set_marks(&inputs.marks, &live.alerts);
        publish(&inputs, live);
    }
}

fn publish(inputs: &TelemetryInputs, live: TelemetryLive) {
    inputs.live.send_if_modified(|old| {
        let changed = *old != live;
        if changed {
            *old = live;
        }
        changed
    });
}

/// Minutes kept in memory: the longest alert's span.
fn alert_window(alerts: &[TelemetryAlert]) -> i64 {
    alerts
        .iter()
        .map(|a| i64::from(a.minutes))
        .max()
        .unwrap_or(1)
        .max(5)
}

/// The values an alert reads from one minute (or any span) of events; a
/// minute without events has no error rate or latencies (null), and
/// EVENTS and ERRORS of 0.
pub fn values_of(stats: &MinuteStats) -> serde_json::Value {
    let rate = (stats.count > 0).then(|| stats.errors as f64 / stats.count as f64);
    serde_json::json!({
        "EVENTS": stats.count,
        "ERRORS": stats.errors,
        "ERROR_RATE": rate,
        "LATENCY_P50": stats.latency.quantile(0.50),
        "LATENCY_P95": stats.latency.quantile(0.95),
        "LATENCY_P99": stats.latency.quantile(0.99),
    })
}

/// One value as a reader wants it: rates in per cent, latencies in ms.
fn shown_value(name: &str, value: &serde_json::Value) -> String {
    let Some(n) = value.as_f64() else {
        return "none".to_string();
    };
    let trimmed = |x: f64, decimals: usize| {
        let text = format!("{x:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    };
    match name {
        "ERROR_RATE" => format!("{}%", trimmed(n * 100.0, 2)),
        "EVENTS" | "ERRORS" => trimmed(n, 0),
        _ => format!("{} ms", trimmed(n, 1)),
    }
}

/// Whether `alert` held for each of its last complete minutes, over the
/// files at `paths`: every event of them when the alert names a file (its
/// one path), or else the events whose service field is the alert's
/// service. A minute without such events is one of EVENTS 0 (so
/// `[EVENTS] < 1 for 10m` can hold).
pub fn evaluate(
    alert: &TelemetryAlert,
    paths: &[String],
    minutes: &AlertMinutes,
    now_ms: i64,
) -> AlertState {
    let current = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let names = alert.condition.value_names();
    let service = alert.file.is_none().then(|| alert.service.clone());
    let mut observed = Vec::new();
    let mut holding = true;
    for back in (1..=i64::from(alert.minutes)).rev() {
        let minute = current - back * MINUTE_MS;
        let mut stats = MinuteStats::default();
        for path in paths {
            if let Some(s) = minutes.get(&(path.clone(), service.clone(), minute)) {
                stats.merge(s);
            }
        }
        let values = values_of(&stats);
        let result = alert.condition.evaluate(&Observation {
            values: Some(&values),
            ..Default::default()
        });
        holding &= result.success;
        let shown: Vec<String> = names
            .iter()
            .map(|name| {
                let value = shown_value(name, &values[*name]);
                if names.len() == 1 {
                    value
                } else {
                    format!("{name} {value}")
                }
            })
            .collect();
        observed.push(if stats.count == 0 && !names.contains(&"EVENTS") {
            "no events".to_string()
        } else {
            shown.join(" ")
        });
    }
    let span = if alert.minutes == 1 {
        "the last minute".to_string()
    } else {
        format!("each of the last {} minutes", alert.minutes)
    };
    AlertState {
        service: alert.service.clone(),
        rule: alert.text.clone(),
        holding,
        observed: format!("{} in {span}: {}", alert.text, observed.join(", ")),
    }
}

/// One failing run per service with an alert holding; the rest cleared.
fn set_marks(marks: &watch::Sender<LogMarks>, alerts: &[AlertState]) {
    let mut wanted: BTreeMap<String, Vec<ConditionResult>> = BTreeMap::new();
    for a in alerts.iter().filter(|a| a.holding) {
        wanted
            .entry(a.service.clone())
            .or_default()
            .push(ConditionResult {
                condition: format!("telemetry alert `{}` holds", a.rule),
                success: false,
                observed: a.observed.clone(),
            });
    }
    marks.send_if_modified(|m| {
        let before = m.clone();
        m.retain(|(service, probe), _| {
            probe != TELEMETRY_ALERT_PROBE || wanted.contains_key(service)
        });
        for (service, conditions) in &wanted {
            let key = (service.clone(), TELEMETRY_ALERT_PROBE.to_string());
            let same = m
                .get(&key)
                .is_some_and(|run| run.outcome.conditions == *conditions);
            if !same {
                m.insert(
                    key,
                    ProbeRun {
                        service: service.clone(),
                        at_ms: now_ms(),
                        duration_ms: 0.0,
                        outcome: ProbeOutcome {
                            probe: TELEMETRY_ALERT_PROBE.to_string(),
                            success: false,
                            conditions: conditions.clone(),
                            error: None,
                        },
                    },
                );
            }
        }
        *m != before
    });
}

/// A span of minutes in which a file's errors burst.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Burst {
    /// The file's name in the stack file.
    pub file: String,
    pub path: String,
    #[ts(type = "number")]
    pub from_ms: i64,
    #[ts(type = "number")]
    pub to_ms: i64,
    /// The highest minute's error rate, 0..=1.
    pub peak_rate: f64,
    #[ts(type = "number")]
    pub events: u64,
    #[ts(type = "number")]
    pub errors: u64,
}

/// One minute of every file summed, for the charts.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct MinutePoint {
    #[ts(type = "number")]
    pub minute_ms: i64,
    #[ts(type = "number")]
    pub events: u64,
    #[ts(type = "number")]
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// A followed file over the span.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct FileReport {
    /// Its name in the stack file.
    pub file: String,
    pub path: String,
    /// Since it was first read.
    #[ts(type = "number")]
    pub events_total: u64,
    #[ts(type = "number")]
    pub malformed_total: u64,
    #[ts(type = "number")]
    pub updated_ms: i64,
    /// The newest bad lines, newest first.
    pub bad_lines: Vec<BadLine>,
    /// Events in the span.
    #[ts(type = "number")]
    pub events: u64,
    #[ts(type = "number")]
    pub errors: u64,
}

/// What the Telemetry view and `stackwarden telemetry` show.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct TelemetryReport {
    #[ts(type = "number")]
    pub since_ms: i64,
    #[ts(type = "number")]
    pub now_ms: i64,
    pub files: Vec<FileReport>,
    /// Per service and event type over the span, busiest first.
    pub totals: Vec<Totals>,
    pub series: Vec<MinutePoint>,
    pub bursts: Vec<Burst>,
}

/// Rows of totals a report lists; the rest are summed in one `(other)` row.
pub const TOTALS_SHOWN: usize = 100;

/// The span's aggregates from the store, read a row at a time.
pub async fn report(
    store: &Store,
    since_ms: i64,
    now_ms: i64,
) -> Result<TelemetryReport, StoreError> {
    let files: Vec<TelemetryFile> = store.telemetry_files().await?;
    let top: HashSet<(String, String)> = store
        .telemetry_top_keys(since_ms, now_ms, TOTALS_SHOWN)
        .await?
        .into_iter()
        .collect();
    let mut by_key: HashMap<(String, String), MinuteStats> = HashMap::new();
    let mut rest = MinuteStats::default();
    let mut by_minute: BTreeMap<i64, MinuteStats> = BTreeMap::new();
    let mut by_file_minute: BTreeMap<(String, i64), MinuteStats> = BTreeMap::new();
    let mut by_file: HashMap<String, MinuteStats> = HashMap::new();
    store
        .each_telemetry_minute(since_ms, now_ms, |m| {
            let key = (m.key.service, m.key.event);
            if top.contains(&key) {
                by_key.entry(key).or_default().merge(&m.stats);
            } else {
                rest.merge(&m.stats);
            }
            by_minute
                .entry(m.key.minute_ms)
                .or_default()
                .merge(&m.stats);
            by_file_minute
                .entry((m.path.clone(), m.key.minute_ms))
                .or_default()
                .merge(&m.stats);
            by_file.entry(m.path).or_default().merge(&m.stats);
        })
        .await?;
    if rest.count > 0 {
        by_key
            .entry((OTHER.to_string(), OTHER.to_string()))
            .or_default()
            .merge(&rest);
    }
    let mut keyed: Vec<((String, String), MinuteStats)> = by_key.into_iter().collect();
    keyed.sort_by(|(a_key, a), (b_key, b)| b.count.cmp(&a.count).then(a_key.cmp(b_key)));
    let totals: Vec<Totals> = keyed
        .iter()
        .map(|((service, event), s)| Totals::of(service, event, s))
        .collect();
    let series = by_minute
        .iter()
        .map(|(minute_ms, s)| MinutePoint {
            minute_ms: *minute_ms,
            events: s.count,
            errors: s.errors,
            p50_ms: s.latency.quantile(0.50),
            p95_ms: s.latency.quantile(0.95),
        })
        .collect();
    let names = names_by_path(&files);
    Ok(TelemetryReport {
        since_ms,
        now_ms,
        bursts: bursts(&by_file_minute, &names),
        files: files
            .into_iter()
            .map(|f| {
                let span = by_file.get(&f.path).cloned().unwrap_or_default();
                FileReport {
                    file: f.name,
                    path: f.path,
                    events_total: f.events_total,
                    malformed_total: f.malformed_total,
                    updated_ms: f.updated_ms,
                    bad_lines: f.bad_lines,
                    events: span.count,
                    errors: span.errors,
                }
            })
            .collect(),
        totals,
        series,
    })
}

fn names_by_path(files: &[TelemetryFile]) -> HashMap<String, String> {
    files
        .iter()
        .map(|f| (f.path.clone(), f.name.clone()))
        .collect()
}

/// The error bursts from `since_ms` on, from the store.
pub async fn bursts_since(store: &Store, since_ms: i64) -> Result<Vec<Burst>, StoreError> {
    let names = names_by_path(&store.telemetry_files().await?);
    let mut by_file_minute: BTreeMap<(String, i64), MinuteStats> = BTreeMap::new();
    store
        .each_telemetry_minute(since_ms, now_ms(), |m| {
            by_file_minute
                .entry((m.path, m.key.minute_ms))
                .or_default()
                .merge(&m.stats);
        })
        .await?;
    Ok(bursts(&by_file_minute, &names))
}

/// What the Telemetry view shows: the live state and the span's report.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct TelemetryView {
    pub live: TelemetryLive,
    pub report: Option<TelemetryReport>,
    /// Why there is no report (no history here).
    pub report_error: Option<String>,
}

/// Consecutive burst minutes of each file (by path), merged; `names` gives
/// each path's name in the stack file.
pub fn bursts(
    minutes: &BTreeMap<(String, i64), MinuteStats>,
    names: &HashMap<String, String>,
) -> Vec<Burst> {
    let mut out: Vec<Burst> = Vec::new();
    for ((path, minute), s) in minutes {
        let rate = if s.count == 0 {
            0.0
        } else {
            s.errors as f64 / s.count as f64
        };
        if rate < BURST_RATE || s.errors < BURST_MIN_ERRORS {
            continue;
        }
        match out.last_mut() {
            Some(b) if b.path == *path && b.to_ms == *minute => {
                b.to_ms = minute + MINUTE_MS;
                b.peak_rate = b.peak_rate.max(rate);
                b.events += s.count;
                b.errors += s.errors;
            }
            _ => out.push(Burst {
                file: names.get(path).cloned().unwrap_or_else(|| path.clone()),
                path: path.clone(),
                from_ms: *minute,
                to_ms: minute + MINUTE_MS,
                peak_rate: rate,
                events: s.count,
                errors: s.errors,
            }),
        }
    }
    out.sort_by_key(|b| b.from_ms);
    out
}

#[cfg(test)]
mod tests;
