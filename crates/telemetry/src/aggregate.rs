//! Per-minute aggregates of telemetry events: counts and errors per service
//! and event type, and latencies as a mergeable histogram, so minutes can
//! be summed over any span and percentiles read from the sum. This, not
//! every line, is what is kept.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;
use ts_rs::TS;

use crate::follow::Sink;
use crate::line::{Event, Malformed};

pub const MINUTE_MS: i64 = 60_000;

/// Latencies in buckets growing by [`GROWTH`] from [`SMALLEST_MS`]: any
/// percentile is within about 4 % of the true value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: BTreeMap<u16, u64>,
}

const SMALLEST_MS: f64 = 0.01;
const GROWTH: f64 = 1.08;
const TOP_BUCKET: u16 = 400;

impl Histogram {
    pub fn add(&mut self, ms: f64) {
        *self.buckets.entry(bucket(ms)).or_insert(0) += 1;
    }

    pub fn merge(&mut self, other: &Self) {
        for (b, n) in &other.buckets {
            *self.buckets.entry(*b).or_insert(0) += n;
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.values().sum()
    }

    /// The `q`-quantile (0..=1) in milliseconds; `None` without latencies.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(value(*b));
            }
        }
        self.buckets.keys().next_back().map(|b| value(*b))
    }

    /// `bucket:count,…`, as stored.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.buckets.len() * 6);
        for (i, (b, n)) in self.buckets.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{b}:{n}"));
        }
        out
    }

    /// Reads [`Histogram::encode`]'s text; pairs that do not read are
    /// dropped (the database is ours, but never trusted to panic).
    pub fn decode(text: &str) -> Self {
        let buckets = text
            .split(',')
            .filter_map(|pair| {
                let (b, n) = pair.split_once(':')?;
                Some((
                    b.parse::<u16>().ok()?.min(TOP_BUCKET),
                    n.parse::<u64>().ok()?,
                ))
            })
            .fold(BTreeMap::new(), |mut m, (b, n)| {
                *m.entry(b).or_insert(0u64) += n;
                m
            });
        Self { buckets }
    }
}

fn bucket(ms: f64) -> u16 {
    if !ms.is_finite() || ms <= SMALLEST_MS {
        return 0;
    }
    let b = ((ms / SMALLEST_MS).ln() / GROWTH.ln()).ceil();
    (b.min(f64::from(TOP_BUCKET))) as u16
}

/// The bucket's upper bound.
fn value(b: u16) -> f64 {
    SMALLEST_MS * GROWTH.powi(i32::from(b))
}

/// One minute of one service's one event type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MinuteKey {
    /// The minute's start, ms since the epoch.
    pub minute_ms: i64,
    /// Empty when the line named none.
    pub service: String,
    pub event: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MinuteStats {
    pub count: u64,
    pub errors: u64,
    pub latency: Histogram,
}

impl MinuteStats {
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
    }
}

/// A bad line as kept: where, why, and its start made safe to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct BadLine {
    #[ts(type = "number")]
    pub line_no: u64,
    pub reason: String,
    /// The line's start with control characters and invalid UTF-8 replaced.
    pub excerpt: String,
}

/// The last events, for the live list.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct RecentEvent {
    #[ts(type = "number")]
    pub line_no: u64,
    #[ts(type = "number")]
    pub at_ms: i64,
    pub service: Option<String>,
    pub event: Option<String>,
    pub latency_ms: Option<f64>,
    pub failed: bool,
}

/// Distinct service/event pairs kept per minute (of one file); the rest of
/// that minute's events are summed per service under the event
/// [`OTHER`], for at most [`MAX_FOLDED_SERVICES`] services, and beyond that
/// under service and event [`OTHER`]. A writer that puts ids in its names
/// cannot grow the aggregates without bound, and an alert on a service
/// still sees that service's events while a minute holds a few services.
pub const MAX_KEYS_PER_MINUTE: usize = 64;
/// Services whose overflowing events a minute keeps apart.
pub const MAX_FOLDED_SERVICES: usize = 16;
/// The event (and, past [`MAX_FOLDED_SERVICES`], the service) name of what
/// [`MAX_KEYS_PER_MINUTE`] folded.
pub const OTHER: &str = "(other)";

/// Where a minute's key goes when it is new: its own row while the minute
/// has room, else its service's fold, else the fold of everything.
/// `fold_exists`: whether the minute has [`fold_of`] the key already.
pub fn place_new_key(
    key: MinuteKey,
    pairs: usize,
    folded: usize,
    fold_exists: bool,
) -> (MinuteKey, Placed) {
    if key.event != OTHER && pairs < MAX_KEYS_PER_MINUTE {
        return (key, Placed::Pair);
    }
    let fold = fold_of(&key);
    if key.service == OTHER {
        // Already the fold of everything: it takes no service's place.
        return (fold, Placed::Overflow);
    }
    if fold_exists {
        (fold, Placed::Existing)
    } else if folded < MAX_FOLDED_SERVICES {
        (fold, Placed::Fold)
    } else {
        (
            MinuteKey {
                minute_ms: fold.minute_ms,
                service: OTHER.to_string(),
                event: OTHER.to_string(),
            },
            Placed::Overflow,
        )
    }
}

/// The row a key's service folds into.
pub fn fold_of(key: &MinuteKey) -> MinuteKey {
    MinuteKey {
        minute_ms: key.minute_ms,
        service: key.service.clone(),
        event: OTHER.to_string(),
    }
}

/// What [`place_new_key`] chose, for the caller's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// A new pair of its own.
    Pair,
    /// A fold row that already exists.
    Existing,
    /// A new fold row of its service.
    Fold,
    /// The fold of everything.
    Overflow,
}

/// Examples of bad lines kept per poll.
pub const EXAMPLES_KEPT: usize = 5;
/// Recent events kept per poll.
pub const RECENT_KEPT: usize = 20;

/// What one or more polls of a file found: the sink a [`crate::Follower`]
/// writes into, drained into the database.
#[derive(Debug, Default)]
pub struct Batch {
    pub minutes: HashMap<MinuteKey, MinuteStats>,
    pub events: u64,
    pub malformed: u64,
    /// The last [`EXAMPLES_KEPT`] bad lines.
    pub examples: VecDeque<BadLine>,
    pub recent: VecDeque<RecentEvent>,
    /// Pairs and folded services of each minute in `minutes`.
    keys_per_minute: HashMap<i64, (usize, usize)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.events == 0 && self.malformed == 0
    }
}

impl Sink for Batch {
    fn event(&mut self, line_no: u64, event: Event) {
        self.events += 1;
        let key = MinuteKey {
            minute_ms: event.at_ms.div_euclid(MINUTE_MS) * MINUTE_MS,
            service: event.service.clone().unwrap_or_default(),
            event: event.event.clone().unwrap_or_default(),
        };
        let key = if self.minutes.contains_key(&key) {
            key
        } else {
            let counts = self.keys_per_minute.entry(key.minute_ms).or_insert((0, 0));
            let fold_exists = self.minutes.contains_key(&fold_of(&key));
            let (key, placed) = place_new_key(key, counts.0, counts.1, fold_exists);
            match placed {
                Placed::Pair => counts.0 += 1,
                Placed::Fold => counts.1 += 1,
                Placed::Existing | Placed::Overflow => {}
            }
            key
        };
        let stats = self.minutes.entry(key).or_default();
        stats.count += 1;
        stats.errors += u64::from(event.failed);
        if let Some(ms) = event.latency_ms {
            stats.latency.add(ms);
        }
        if self.recent.len() == RECENT_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(RecentEvent {
            line_no,
            at_ms: event.at_ms,
            service: event.service,
            event: event.event,
            latency_ms: event.latency_ms,
            failed: event.failed,
        });
    }

    fn malformed(&mut self, line_no: u64, reason: Malformed, excerpt: &[u8]) {
        self.malformed += 1;
        if self.examples.len() == EXAMPLES_KEPT {
            self.examples.pop_front();
        }
        self.examples.push_back(BadLine {
            line_no,
            reason: safe_text(reason.to_string().as_bytes()),
            // A line that failed to read may still hold a password.
            excerpt: stackwarden_model::redact::pairs(&safe_text(excerpt)),
        });
    }
}

/// Text safe for a terminal, a log and the page: invalid UTF-8 and control
/// characters become `�`.
pub fn safe_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Minutes summed over a span, per service and event, with what a reader
/// shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Totals {
    pub service: String,
    pub event: String,
    #[ts(type = "number")]
    pub count: u64,
    #[ts(type = "number")]
    pub errors: u64,
    /// errors / count.
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Totals {
    pub fn of(service: &str, event: &str, stats: &MinuteStats) -> Self {
        Self {
            service: service.to_string(),
            event: event.to_string(),
            count: stats.count,
            errors: stats.errors,
            error_rate: if stats.count == 0 {
                0.0
            } else {
                stats.errors as f64 / stats.count as f64
            },
            p50_ms: stats.latency.quantile(0.50),
            p95_ms: stats.latency.quantile(0.95),
            p99_ms: stats.latency.quantile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_the_bucket_width() {
        let mut h = Histogram::default();
        for ms in 1..=1000 {
            h.add(f64::from(ms));
        }
        for (q, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = h.quantile(q).unwrap_or_default();
            assert!((got - want).abs() / want < 0.09, "p{q}: {got} vs {want}");
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn histograms_survive_their_text_and_merge() {
        let mut a = Histogram::default();
        for ms in [0.0, 0.5, 3.0, 3.1, 1e12, f64::NAN] {
            a.add(ms);
        }
        assert_eq!(Histogram::decode(&a.encode()), a);
        let mut b = a.clone();
        b.merge(&a);
        assert_eq!(b.count(), 12);
        assert_eq!(Histogram::decode("x:1,2:y,,3:4:5,7:2").count(), 2);
    }

    #[test]
    fn a_minute_keeps_a_bounded_number_of_names_and_folds_the_rest() {
        let mut batch = Batch::default();
        for i in 0..1000 {
            batch.event(
                i,
                Event {
                    at_ms: 1_796_032_800_000 + i as i64,
                    event: Some(format!("request-{i}")),
                    service: Some("aidb".into()),
                    latency_ms: None,
                    failed: false,
                },
            );
        }
        assert_eq!(batch.minutes.len(), MAX_KEYS_PER_MINUTE + 1);
        let fold = |service: &str| MinuteKey {
            minute_ms: 1_796_032_800_000,
            service: service.into(),
            event: OTHER.into(),
        };
        // The service is kept: an alert on it still sees its events.
        assert_eq!(
            batch.minutes.get(&fold("aidb")).map(|s| s.count),
            Some(1000 - MAX_KEYS_PER_MINUTE as u64)
        );
        assert_eq!(batch.minutes.values().map(|s| s.count).sum::<u64>(), 1000);
        // Unique services on every line: bounded too.
        for i in 0..1000 {
            batch.event(
                i,
                Event {
                    at_ms: 1_796_032_800_000,
                    event: Some("x".into()),
                    service: Some(format!("svc-{i}")),
                    latency_ms: None,
                    failed: false,
                },
            );
        }
        assert_eq!(
            batch.minutes.len(),
            MAX_KEYS_PER_MINUTE + MAX_FOLDED_SERVICES + 1
        );
        assert!(batch.minutes.contains_key(&MinuteKey {
            service: OTHER.into(),
            ..fold("")
        }));
        assert_eq!(batch.minutes.values().map(|s| s.count).sum::<u64>(), 2000);
    }

    #[test]
    fn bad_lines_keep_no_secret() {
        let mut batch = Batch::default();
        batch.malformed(
            3,
            Malformed::NotObject,
            br#"{"ts":1,"password":"hunter2","url":"postgres://u:pw@h/db"#,
        );
        let excerpt = &batch.examples[0].excerpt;
        assert!(
            !excerpt.contains("hunter2") && !excerpt.contains(":pw@"),
            "{excerpt}"
        );
    }

    #[test]
    fn bad_line_text_is_safe_to_show() {
        assert_eq!(
            safe_text(b"a\x1b[31mb\xff\n"),
            "a\u{FFFD}[31mb\u{FFFD}\u{FFFD}"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_stored_text_decodes(text in "\\PC{0,80}") {
            let _ = Histogram::decode(&text).quantile(0.9);
        }
    }
}
