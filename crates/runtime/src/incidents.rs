//! Feeds the incident rules (`stackwarden-incidents`) from the health
//! stream and the engine's state, and records what they decide with the
//! evidence of the moment: why each affected service failed, its exit code
//! and restart count, and the last lines of its log. Runs while this
//! runtime records into the data folder; open incidents are taken up again
//! after a restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use futures_util::StreamExt;
use stackwarden_engine::MonitorHandle;
use stackwarden_health::{transitions, HealthBreakdown};
use stackwarden_incidents::{Change, Incident, IncidentTracker, Signal};
use stackwarden_model::clock::now_ms;
use stackwarden_model::{redact, EngineStatus, StackSnapshot};
use stackwarden_probes::StackHealth;
use stackwarden_stack::LoadedStack;
use stackwarden_store::{Evidence, Store};
use tokio::sync::watch;

use crate::recorder::WriteTo;

/// Log lines kept with each affected service.
pub const LOG_LINES: u32 = 50;
/// How long reading those lines may take.
const LOG_TIMEOUT: Duration = Duration::from_secs(5);

/// What the incident task reads.
pub struct IncidentInputs {
    pub health: watch::Receiver<StackHealth>,
    pub snapshots: watch::Receiver<StackSnapshot>,
    pub stacks: watch::Receiver<LoadedStack>,
    pub monitor: watch::Receiver<Option<MonitorHandle>>,
    pub to: WriteTo,
    /// Receives the open incidents whenever they change.
    pub open: std::sync::Arc<watch::Sender<Vec<Incident>>>,
}

fn dependencies(loaded: &LoadedStack) -> BTreeMap<String, Vec<String>> {
    loaded
        .stack
        .iter()
        .flat_map(|s| s.services.iter())
        .map(|s| {
            (
                s.name.clone(),
                s.dependency_names().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

/// Runs until the health stream ends.
pub async fn track(mut inputs: IncidentInputs) {
    let mut tracker = IncidentTracker::new(dependencies(&inputs.stacks.borrow_and_update()));
    // Incident key (the tracker's) -> id (the store's).
    let mut ids: HashMap<u64, i64> = HashMap::new();
    let mut evidenced: BTreeSet<(u64, String)> = BTreeSet::new();
    let store = inputs.to.borrow().clone();
    if let Some(store) = store {
        if let Ok(open) = store.open_incidents().await {
            let resumed: Vec<Incident> = open
                .into_iter()
                .map(|stored| {
                    let mut incident = stored.incident;
                    incident.key = u64::try_from(stored.id).unwrap_or_default();
                    ids.insert(incident.key, stored.id);
                    for a in &incident.affected {
                        evidenced.insert((incident.key, a.service.clone()));
                    }
                    incident
                })
                .collect();
            tracker.resume(resumed);
        }
    }
    inputs.open.send_replace(tracker.open_incidents().to_vec());
    let mut previous: Option<HealthBreakdown> = None;
    let mut reachable: Option<bool> = None;
    loop {
        let mut signals = Vec::new();
        tokio::select! {
            changed = inputs.health.changed() => {
                if changed.is_err() {
                    return;
                }
                let health = inputs.health.borrow_and_update().clone();
                if let Some(next) = health.breakdown {
                    let required: BTreeMap<&str, bool> =
                        next.groups.iter().map(|g| (g.group.as_str(), g.required)).collect();
                    for change in transitions(previous.as_ref(), &next) {
                        let group = next
                            .services
                            .iter()
                            .find(|s| s.service == change.service)
                            .map(|s| s.group.as_str())
                            .unwrap_or_default();
                        signals.push(Signal::Status {
                            at_ms: health.updated_at_ms,
                            required: required.get(group).copied().unwrap_or(false),
                            service: change.service,
                            to: change.to,
                            reason: change.reason,
                        });
                    }
                    previous = Some(next);
                }
            }
            changed = inputs.snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
                let engine = inputs.snapshots.borrow_and_update().engine.clone();
                let now = match &engine {
                    EngineStatus::Connected { .. } => Some(true),
                    EngineStatus::Unreachable { .. } => Some(false),
                    EngineStatus::Connecting => None,
                };
                if let Some(now) = now {
                    if reachable.is_some_and(|was| was != now) || (reachable.is_none() && !now) {
                        let detail = match &engine {
                            EngineStatus::Unreachable { hint, .. } => redact::text(hint),
                            _ => String::new(),
                        };
                        signals.push(Signal::Engine { at_ms: now_ms(), reachable: now, detail });
                    }
                    reachable = Some(now);
                }
            }
            changed = inputs.stacks.changed() => {
                if changed.is_err() {
                    return;
                }
                tracker.set_dependencies(dependencies(&inputs.stacks.borrow_and_update()));
            }
        }
        let changes: Vec<Change> = signals.into_iter().flat_map(|s| tracker.apply(s)).collect();
        if !changes.is_empty() {
            inputs.open.send_replace(tracker.open_incidents().to_vec());
        }
        let store = inputs.to.borrow().clone();
        let Some(store) = store else {
            continue;
        };
        for change in changes {
            let (incident, what) = match change {
                Change::Opened(i) => (i, "opened"),
                Change::Updated(i) => (i, "updated"),
                Change::Closed(i) => (i, "closed"),
            };
            let id = match store
                .save_incident(ids.get(&incident.key).copied(), &incident)
                .await
            {
                Ok(id) => id,
                Err(e) => {
                    tracing::warn!("cannot record an incident: {e}");
                    continue;
                }
            };
            ids.insert(incident.key, id);
            if what != "updated" {
                tracing::info!(
                    "incident {id} {what}: {}",
                    redact::text(&incident.cause.summary)
                );
            }
            for a in &incident.affected {
                if evidenced.insert((incident.key, a.service.clone())) {
                    keep_evidence(&store, id, &a.service, &a.reason, &inputs).await;
                }
            }
            if what == "closed" {
                ids.remove(&incident.key);
                evidenced.retain(|(key, _)| *key != incident.key);
            }
        }
    }
}

/// Stores what is known now about `service` failing: why, its container's
/// state, exit code and restart count, and the last lines of its log.
async fn keep_evidence(
    store: &Store,
    id: i64,
    service: &str,
    reason: &str,
    inputs: &IncidentInputs,
) {
    let at_ms = now_ms();
    let mut list = vec![Evidence {
        at_ms,
        kind: "status".into(),
        service: Some(service.to_string()),
        text: redact::text(reason),
    }];
    let container = inputs
        .health
        .borrow()
        .services
        .iter()
        .find(|s| s.service == service)
        .filter(|s| s.has_container)
        .map(|s| s.container.clone());
    let row = container.as_ref().and_then(|name| {
        inputs
            .snapshots
            .borrow()
            .services
            .iter()
            .find(|r| &r.name == name)
            .cloned()
    });
    if let Some(row) = &row {
        let exit = row
            .exit_code
            .map(|c| format!(", exit code {c}"))
            .unwrap_or_default();
        list.push(Evidence {
            at_ms,
            kind: "container".into(),
            service: Some(service.to_string()),
            text: format!(
                "{} {}{exit}, restarted {} times",
                row.name,
                row.state.as_str(),
                row.restart_count
            ),
        });
        let engine = {
            let monitor = inputs.monitor.borrow();
            monitor.as_ref().and_then(MonitorHandle::engine)
        };
        if let Some(engine) = engine {
            let lines = engine.logs(&row.id.0, LOG_LINES, false).collect::<Vec<_>>();
            if let Ok(lines) = tokio::time::timeout(LOG_TIMEOUT, lines).await {
                let text: Vec<String> = lines
                    .into_iter()
                    .filter_map(Result::ok)
                    .map(|l| redact::text(&l.text))
                    .collect();
                if !text.is_empty() {
                    list.push(Evidence {
                        at_ms,
                        kind: "logs".into(),
                        service: Some(service.to_string()),
                        text: text.join("\n"),
                    });
                }
            }
        }
    }
    for evidence in list {
        if let Err(e) = store.add_evidence(id, &evidence).await {
            tracing::warn!("cannot keep evidence of incident {id}: {e}");
        }
    }
}
