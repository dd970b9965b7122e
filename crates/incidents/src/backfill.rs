//! What happened while Stackwarden was not watching, from the engine's own
//! events since it last watched: a container that died, was killed or
//! removed, and started again. They become the same status signals the
//! incident rules take from probes, marked as seen from engine events.

use std::collections::BTreeSet;

use stackwarden_health::ServiceStatus;

use crate::Signal;

/// One engine event of a stack service's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastEvent {
    pub at_ms: i64,
    pub service: String,
    /// The engine's action: `die`, `oom`, `kill`, `stop`, `remove`,
    /// `start`, `restart`, `health_status: unhealthy`...
    pub action: String,
    pub exit_code: Option<i64>,
}

/// The status signals `events` stand for, in time order; only required
/// services can open incidents, the others still close them.
pub fn signals_from_events(events: &[PastEvent], required: &BTreeSet<String>) -> Vec<Signal> {
    let mut sorted: Vec<&PastEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at_ms);
    sorted
        .into_iter()
        .filter_map(|e| {
            let (to, what) = match e.action.as_str() {
                "die" => (
                    ServiceStatus::Down,
                    match e.exit_code {
                        Some(code) => format!("died (exit code {code})"),
                        None => "died".to_string(),
                    },
                ),
                "oom" => (ServiceStatus::Down, "killed: out of memory".to_string()),
                "remove" | "destroy" => (ServiceStatus::Down, "container removed".to_string()),
                "start" | "restart" => (ServiceStatus::Healthy, "started".to_string()),
                action if action.starts_with("health_status") => {
                    if action.ends_with("unhealthy") {
                        (
                            ServiceStatus::Unhealthy,
                            "HEALTHCHECK unhealthy".to_string(),
                        )
                    } else if action.ends_with("healthy") {
                        (ServiceStatus::Healthy, "HEALTHCHECK healthy".to_string())
                    } else {
                        return None;
                    }
                }
                _ => return None,
            };
            Some(Signal::Status {
                at_ms: e.at_ms,
                service: e.service.clone(),
                to,
                reason: format!("seen from engine events: {what}"),
                required: required.contains(&e.service),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Change, IncidentTracker};

    fn event(at_ms: i64, service: &str, action: &str, exit_code: Option<i64>) -> PastEvent {
        PastEvent {
            at_ms,
            service: service.into(),
            action: action.into(),
            exit_code,
        }
    }

    #[test]
    fn a_crash_and_restart_while_away_is_one_closed_incident() {
        let required: BTreeSet<String> = ["db".to_string()].into();
        let events = vec![
            event(5_000, "db", "start", None),
            event(1_000, "db", "die", Some(137)),
            event(1_200, "web", "exec_create", None),
        ];
        let signals = signals_from_events(&events, &required);
        assert_eq!(signals.len(), 2, "{signals:?}");
        let mut tracker = IncidentTracker::new(Default::default());
        let changes: Vec<Change> = signals.into_iter().flat_map(|s| tracker.apply(s)).collect();
        let Some(Change::Closed(i)) = changes.last() else {
            panic!("{changes:?}");
        };
        assert_eq!((i.opened_at_ms, i.closed_at_ms), (1_000, Some(5_000)));
        assert_eq!(
            i.cause.summary,
            "db down: seen from engine events: died (exit code 137)"
        );
    }

    #[test]
    fn optional_services_and_unknown_actions_open_nothing() {
        let events = vec![
            event(1, "agent", "die", Some(1)),
            event(2, "db", "attach", None),
        ];
        let signals = signals_from_events(&events, &["db".to_string()].into());
        let mut tracker = IncidentTracker::new(Default::default());
        let changes: Vec<Change> = signals.into_iter().flat_map(|s| tracker.apply(s)).collect();
        assert!(changes.is_empty(), "{changes:?}");
    }
}
