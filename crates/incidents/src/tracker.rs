//! The incident rules (see the crate doc) as a state machine fed one
//! signal at a time.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use stackwarden_health::ServiceStatus;
use ts_rs::TS;

/// Failures this close together are one incident even without a
/// dependency between them: services failing together usually share a
/// cause (the host, the engine, a network).
pub const FOLD_WITHIN_MS: i64 = 60_000;

/// Something that happened, in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// A service's status changed.
    Status {
        at_ms: i64,
        service: String,
        to: ServiceStatus,
        reason: String,
        /// Whether its group is required (only those open incidents).
        required: bool,
    },
    /// The engine stopped or started answering.
    Engine {
        at_ms: i64,
        reachable: bool,
        detail: String,
    },
}

/// A service an incident affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Affected {
    pub service: String,
    /// When it left healthy.
    #[ts(type = "number")]
    pub failed_at_ms: i64,
    /// Its worst status during the incident.
    pub worst: ServiceStatus,
    /// Its status now, and why.
    pub status: ServiceStatus,
    pub reason: String,
    /// When it was healthy again; `None` while it is not.
    #[ts(type = "number | null")]
    pub recovered_at_ms: Option<i64>,
    /// "3 s after postgres went down", when a dependency failed first.
    pub after: Option<String>,
}

/// The likely cause of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Cause {
    /// The service that failed first (`None`: the engine was lost first).
    pub service: Option<String>,
    /// One line: "postgres down: container exited (137)".
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Incident {
    /// Local to one tracker; the store gives the lasting id.
    #[ts(type = "number")]
    pub key: u64,
    #[ts(type = "number")]
    pub opened_at_ms: i64,
    #[ts(type = "number | null")]
    pub closed_at_ms: Option<i64>,
    pub affected: Vec<Affected>,
    pub cause: Cause,
    /// When the engine stopped answering during it, and when it came back.
    #[ts(type = "number | null")]
    pub engine_lost_at_ms: Option<i64>,
    #[ts(type = "number | null")]
    pub engine_back_at_ms: Option<i64>,
    /// Seen afterwards in the engine's events (it happened while
    /// Stackwarden was not running), not by probes.
    #[serde(default)]
    pub from_engine_events: bool,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.closed_at_ms.is_none()
    }

    /// How long it lasted (or has lasted by `now_ms`).
    pub fn duration_ms(&self, now_ms: i64) -> i64 {
        self.closed_at_ms.unwrap_or(now_ms) - self.opened_at_ms
    }

    fn last_failure_ms(&self) -> i64 {
        self.affected
            .iter()
            .map(|a| a.failed_at_ms)
            .chain(self.engine_lost_at_ms)
            .max()
            .unwrap_or(self.opened_at_ms)
    }

    fn engine_down(&self) -> bool {
        self.engine_lost_at_ms.is_some() && self.engine_back_at_ms.is_none()
    }

    fn all_recovered(&self) -> bool {
        !self.engine_down() && self.affected.iter().all(|a| a.recovered_at_ms.is_some())
    }
}

/// What a signal did to the incidents.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Opened(Incident),
    Updated(Incident),
    Closed(Incident),
}

/// Feeds signals into the rules; holds the open incidents.
#[derive(Debug, Default)]
pub struct IncidentTracker {
    /// Service -> the services it depends on (`depends_on`).
    depends_on: BTreeMap<String, Vec<String>>,
    open: Vec<Incident>,
    next_key: u64,
}

fn is_bad(status: ServiceStatus) -> bool {
    matches!(
        status,
        ServiceStatus::Degraded | ServiceStatus::Unhealthy | ServiceStatus::Down
    )
}

fn severity(status: ServiceStatus) -> u8 {
    match status {
        ServiceStatus::Down => 3,
        ServiceStatus::Unhealthy => 2,
        ServiceStatus::Degraded => 1,
        _ => 0,
    }
}

fn seconds(ms: i64) -> String {
    let s = ms.max(0) as f64 / 1000.0;
    if s < 10.0 {
        format!("{s:.1} s").replace(".0 s", " s")
    } else {
        format!("{s:.0} s")
    }
}

impl IncidentTracker {
    /// A tracker for a stack whose services depend on others as given.
    pub fn new(depends_on: BTreeMap<String, Vec<String>>) -> Self {
        Self {
            depends_on,
            open: Vec::new(),
            next_key: 1,
        }
    }

    /// Keeps the open incidents (re-read from the store at start).
    pub fn resume(&mut self, open: Vec<Incident>) {
        self.next_key = open
            .iter()
            .map(|i| i.key + 1)
            .max()
            .unwrap_or(1)
            .max(self.next_key);
        self.open = open;
    }

    /// A new stack definition: new dependencies, same incidents.
    pub fn set_dependencies(&mut self, depends_on: BTreeMap<String, Vec<String>>) {
        self.depends_on = depends_on;
    }

    pub fn open_incidents(&self) -> &[Incident] {
        &self.open
    }

    /// Every service `service` depends on, directly or through others.
    fn dependencies_of(&self, service: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = vec![service];
        while let Some(next) = todo.pop() {
            for dep in self.depends_on.get(next).into_iter().flatten() {
                if seen.insert(dep.clone()) {
                    todo.push(dep);
                }
            }
        }
        seen
    }

    fn related(&self, a: &str, b: &str) -> bool {
        self.dependencies_of(a).contains(b) || self.dependencies_of(b).contains(a)
    }

    pub fn apply(&mut self, signal: Signal) -> Vec<Change> {
        match signal {
            Signal::Status {
                at_ms,
                service,
                to,
                reason,
                required,
            } => self.status(at_ms, service, to, reason, required),
            Signal::Engine {
                at_ms,
                reachable,
                detail,
            } => self.engine(at_ms, reachable, detail),
        }
    }

    fn status(
        &mut self,
        at_ms: i64,
        service: String,
        to: ServiceStatus,
        reason: String,
        required: bool,
    ) -> Vec<Change> {
        // Already part of an open incident: follow it there.
        if let Some(index) = self
            .open
            .iter()
            .position(|i| i.affected.iter().any(|a| a.service == service))
        {
            let incident = &mut self.open[index];
            if let Some(a) = incident.affected.iter_mut().find(|a| a.service == service) {
                a.status = to;
                a.reason = reason;
                if to == ServiceStatus::Healthy {
                    a.recovered_at_ms.get_or_insert(at_ms);
                } else if is_bad(to) {
                    a.recovered_at_ms = None;
                    if severity(to) > severity(a.worst) {
                        a.worst = to;
                    }
                }
            }
            return self.settle(index, at_ms);
        }
        if !required || !is_bad(to) {
            return Vec::new();
        }
        let joins = self.open.iter().position(|i| {
            at_ms - i.last_failure_ms() <= FOLD_WITHIN_MS
                || i.affected
                    .iter()
                    .any(|a| self.related(&service, &a.service))
        });
        match joins {
            Some(index) => {
                // The affected dependency that failed last before it: the
                // nearest link of the chain that brought it down.
                let deps = self.dependencies_of(&service);
                let incident = &mut self.open[index];
                let after = incident
                    .affected
                    .iter()
                    .filter(|a| deps.contains(&a.service) && a.failed_at_ms <= at_ms)
                    .max_by_key(|a| a.failed_at_ms)
                    .map(|a| {
                        format!(
                            "{} after {} went {}",
                            seconds(at_ms - a.failed_at_ms),
                            a.service,
                            a.worst_word()
                        )
                    });
                incident.affected.push(Affected {
                    service,
                    failed_at_ms: at_ms,
                    worst: to,
                    status: to,
                    reason,
                    recovered_at_ms: None,
                    after,
                });
                vec![Change::Updated(incident.clone())]
            }
            None => {
                let key = self.next_key;
                self.next_key += 1;
                let summary = format!("{service} {}: {reason}", to.word());
                let incident = Incident {
                    key,
                    opened_at_ms: at_ms,
                    closed_at_ms: None,
                    affected: vec![Affected {
                        service: service.clone(),
                        failed_at_ms: at_ms,
                        worst: to,
                        status: to,
                        reason,
                        recovered_at_ms: None,
                        after: None,
                    }],
                    cause: Cause {
                        service: Some(service),
                        summary,
                    },
                    engine_lost_at_ms: None,
                    engine_back_at_ms: None,
                    from_engine_events: false,
                };
                self.open.push(incident.clone());
                vec![Change::Opened(incident)]
            }
        }
    }

    fn engine(&mut self, at_ms: i64, reachable: bool, detail: String) -> Vec<Change> {
        if reachable {
            let mut changes = Vec::new();
            let mut index = 0;
            while index < self.open.len() {
                if self.open[index].engine_down() {
                    self.open[index].engine_back_at_ms = Some(at_ms);
                    let settled = self.settle(index, at_ms);
                    let closed = settled.iter().any(|c| matches!(c, Change::Closed(_)));
                    changes.extend(settled);
                    if closed {
                        continue;
                    }
                }
                index += 1;
            }
            return changes;
        }
        if self.open.iter().any(Incident::engine_down) {
            return Vec::new();
        }
        // The engine going away is part of whatever is open, else its own.
        if let Some(incident) = self.open.last_mut() {
            incident.engine_lost_at_ms = Some(at_ms);
            incident.engine_back_at_ms = None;
            return vec![Change::Updated(incident.clone())];
        }
        let key = self.next_key;
        self.next_key += 1;
        let incident = Incident {
            key,
            opened_at_ms: at_ms,
            closed_at_ms: None,
            affected: Vec::new(),
            cause: Cause {
                service: None,
                summary: format!("the container engine stopped answering: {detail}"),
            },
            engine_lost_at_ms: Some(at_ms),
            engine_back_at_ms: None,
            from_engine_events: false,
        };
        self.open.push(incident.clone());
        vec![Change::Opened(incident)]
    }

    /// Closes the incident at `index` when everything in it recovered.
    fn settle(&mut self, index: usize, at_ms: i64) -> Vec<Change> {
        if self.open[index].all_recovered() {
            let mut incident = self.open.remove(index);
            incident.closed_at_ms = Some(at_ms);
            vec![Change::Closed(incident)]
        } else {
            vec![Change::Updated(self.open[index].clone())]
        }
    }
}

impl Affected {
    fn worst_word(&self) -> &'static str {
        self.worst.word()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceStatus::{Degraded, Down, Healthy, Unhealthy, Unknown};

    fn status(at_ms: i64, service: &str, to: ServiceStatus) -> Signal {
        Signal::Status {
            at_ms,
            service: service.into(),
            to,
            reason: format!("{service} is {}", to.word()),
            required: true,
        }
    }

    fn tracker() -> IncidentTracker {
        IncidentTracker::new(
            [
                ("aidb".to_string(), vec!["postgres".to_string()]),
                ("hybrid".to_string(), vec!["aidb".to_string()]),
                ("postgres".to_string(), vec![]),
                ("llama".to_string(), vec![]),
            ]
            .into(),
        )
    }

    fn run(t: &mut IncidentTracker, signals: Vec<Signal>) -> Vec<Change> {
        signals.into_iter().flat_map(|s| t.apply(s)).collect()
    }

    #[test]
    fn a_required_service_leaving_healthy_opens_one_and_its_recovery_closes_it() {
        let mut t = tracker();
        let changes = run(&mut t, vec![status(1_000, "postgres", Down)]);
        let Change::Opened(i) = &changes[0] else {
            panic!("{changes:?}")
        };
        assert_eq!(i.cause.summary, "postgres down: postgres is down");
        let changes = run(&mut t, vec![status(9_000, "postgres", Healthy)]);
        let Change::Closed(i) = &changes[0] else {
            panic!("{changes:?}")
        };
        assert_eq!(i.duration_ms(0), 8_000);
        assert!(t.open_incidents().is_empty());
    }

    #[test]
    fn optional_unknown_and_not_deployed_open_nothing() {
        let mut t = tracker();
        let optional = Signal::Status {
            at_ms: 1,
            service: "aider".into(),
            to: Down,
            reason: String::new(),
            required: false,
        };
        assert!(run(
            &mut t,
            vec![
                optional,
                status(2, "llama", Unknown),
                status(3, "llama", ServiceStatus::NotDeployed)
            ]
        )
        .is_empty());
    }

    #[test]
    fn a_dependent_failing_later_folds_in_with_its_dependency_named() {
        let mut t = tracker();
        run(&mut t, vec![status(0, "postgres", Down)]);
        // 3 s later: aidb depends on postgres; 5 min later: hybrid, through aidb.
        let changes = run(
            &mut t,
            vec![
                status(3_000, "aidb", Unhealthy),
                status(300_000, "hybrid", Degraded),
            ],
        );
        let Some(Change::Updated(i)) = changes.last() else {
            panic!("{changes:?}")
        };
        assert_eq!(i.affected.len(), 3);
        assert_eq!(
            i.affected[1].after.as_deref(),
            Some("3 s after postgres went down")
        );
        assert_eq!(
            i.affected[2].after.as_deref(),
            Some("297 s after aidb went unhealthy")
        );
        assert_eq!(i.cause.service.as_deref(), Some("postgres"));
        // Closes only when all three are healthy again.
        let changes = run(
            &mut t,
            vec![
                status(301_000, "postgres", Healthy),
                status(302_000, "aidb", Healthy),
            ],
        );
        assert!(
            changes.iter().all(|c| matches!(c, Change::Updated(_))),
            "{changes:?}"
        );
        let changes = run(&mut t, vec![status(303_000, "hybrid", Healthy)]);
        assert!(matches!(changes[0], Change::Closed(_)));
    }

    #[test]
    fn unrelated_failures_far_apart_are_separate_and_close_together_are_one() {
        let mut t = tracker();
        let changes = run(
            &mut t,
            vec![status(0, "postgres", Down), status(20_000, "llama", Down)],
        );
        assert!(
            matches!(changes[1], Change::Updated(_)),
            "within a minute: one incident"
        );
        let mut t = tracker();
        let changes = run(
            &mut t,
            vec![status(0, "postgres", Down), status(120_000, "llama", Down)],
        );
        assert!(
            matches!(changes[1], Change::Opened(_)),
            "two minutes apart and unrelated: two"
        );
        assert_eq!(t.open_incidents().len(), 2);
    }

    #[test]
    fn a_service_failing_again_before_the_rest_recovered_stays_in_it() {
        let mut t = tracker();
        run(
            &mut t,
            vec![status(0, "postgres", Degraded), status(1_000, "aidb", Down)],
        );
        let changes = run(
            &mut t,
            vec![
                status(2_000, "postgres", Healthy),
                status(3_000, "postgres", Down),
            ],
        );
        assert!(changes.iter().all(|c| matches!(c, Change::Updated(_))));
        let i = &t.open_incidents()[0];
        assert_eq!(i.affected[0].worst, Down);
        assert_eq!(i.affected[0].recovered_at_ms, None);
    }

    #[test]
    fn the_engine_lost_opens_one_or_joins_the_open_one_and_must_come_back() {
        let mut t = tracker();
        let lost = Signal::Engine {
            at_ms: 0,
            reachable: false,
            detail: "no socket".into(),
        };
        let back = |at_ms| Signal::Engine {
            at_ms,
            reachable: true,
            detail: String::new(),
        };
        let changes = run(&mut t, vec![lost.clone()]);
        let Change::Opened(i) = &changes[0] else {
            panic!()
        };
        assert_eq!(i.cause.service, None);
        assert!(i.cause.summary.contains("no socket"));
        let changes = run(&mut t, vec![back(5_000)]);
        assert!(matches!(changes[0], Change::Closed(_)));

        let mut t = tracker();
        run(
            &mut t,
            vec![
                status(0, "postgres", Down),
                Signal::Engine {
                    at_ms: 1_000,
                    reachable: false,
                    detail: "gone".into(),
                },
            ],
        );
        let changes = run(&mut t, vec![status(2_000, "postgres", Healthy)]);
        assert!(
            matches!(changes[0], Change::Updated(_)),
            "the engine is still away"
        );
        let changes = run(&mut t, vec![back(3_000)]);
        assert!(matches!(changes[0], Change::Closed(_)));
    }

    proptest::proptest! {
        #[test]
        fn incidents_close_only_when_all_recovered(events in proptest::collection::vec((0usize..4, 0u8..5, 0i64..100_000), 0..60)) {
            let names = ["postgres", "aidb", "hybrid", "llama"];
            let mut t = tracker();
            let mut at = 0;
            for (who, what, step) in events {
                at += step;
                let to = [Healthy, Degraded, Unhealthy, Down, Unknown][usize::from(what)];
                for change in t.apply(status(at, names[who], to)) {
                    if let Change::Closed(i) = change {
                        proptest::prop_assert!(i.affected.iter().all(|a| a.recovered_at_ms.is_some()));
                        proptest::prop_assert!(i.closed_at_ms.unwrap_or(0) >= i.opened_at_ms);
                    }
                }
            }
            // No service is in two open incidents.
            let mut seen = BTreeSet::new();
            for i in t.open_incidents() {
                for a in &i.affected {
                    proptest::prop_assert!(seen.insert(a.service.clone()));
                }
            }
        }
    }
}
