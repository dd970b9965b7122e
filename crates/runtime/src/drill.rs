//! Self-healing drills: the report's "trigger self-healing test (simulate
//! container failure)", measured. A drill kills a healthy service's
//! container (SIGKILL, as a crash looks to the healer) and measures how
//! long the watch took to see it, the healer to act, the container to run
//! again and the service to be healthy again. It works whether this process
//! heals or another one does (the desktop app while `stackwarden drill`
//! runs): the failure and the recovery are read from this runtime's own
//! health stream, the healer's action from the shared history.

use std::time::Duration;

use serde::Serialize;
use stackwarden_health::ServiceStatus;
use stackwarden_model::clock::now_ms;
use stackwarden_model::redact;
use stackwarden_stack::{ProbeKind, StackService};
use stackwarden_store::{ActionRecord, ActionSource, DrillRecord, StoredDrill};
use ts_rs::TS;

use crate::{Recording, Runtime, RuntimeError, RuntimeState};

/// How long a drill waits for the service to be healthy again, unless told.
pub const DRILL_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a drill looks.
const DRILL_STEP: Duration = Duration::from_millis(100);
/// How long after healthy a drill still looks for the healer's record.
const ACTION_RECORD_WAIT_MS: i64 = 5_000;

/// What a drill of a service would do, shown before it is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct DrillPlan {
    pub service: String,
    pub container: String,
    /// Where its data lives (volumes and bind mounts), which the kill does
    /// not touch.
    pub data_on: Vec<String>,
    /// Who will bring it back: this process, or the one that records.
    pub healer: String,
    /// One paragraph: what happens.
    pub summary: String,
}

/// A step of a running drill, for progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillStep {
    Killed,
    Detected(i64),
    Acted(i64),
    Running(i64),
    Healthy(i64),
}

fn status_of(state: &RuntimeState, service: &str) -> Option<(ServiceStatus, String)> {
    state
        .health
        .breakdown
        .as_ref()?
        .services
        .iter()
        .find(|s| s.service == service)
        .map(|s| (s.status, s.container.clone()))
}

/// Whether the service keeps data that must survive a kill.
fn keeps_data(service: &StackService) -> bool {
    let db_probe = service.probes.iter().any(|p| {
        matches!(
            p.kind,
            ProbeKind::Postgres { .. } | ProbeKind::Redis { .. } | ProbeKind::Qdrant { .. }
        )
    });
    let image = service
        .image
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let db_image = [
        "postgres", "pgvector", "redis", "qdrant", "mysql", "mariadb", "mongo",
    ]
    .iter()
    .any(|word| image.contains(word));
    db_probe || db_image || !service.volumes.is_empty()
}

impl Runtime {
    /// What a drill of `service` would do, or why it is refused.
    pub async fn drill_plan(&self, service: &str) -> Result<DrillPlan, RuntimeError> {
        let plan = self.drill_plan_now(service)?;
        // Another process may heal: its quarantine is in the history.
        if let Some(store) = self.store() {
            let held = store
                .unreleased_quarantine(service, now_ms(), crate::healer::REMEMBER_MS)
                .await?;
            if let Some(why) = held {
                return Err(RuntimeError::DrillRefused(redact::text(&format!(
                    "`{service}` is quarantined ({why}); release it first"
                ))));
            }
        }
        Ok(plan)
    }

    fn drill_plan_now(&self, service: &str) -> Result<DrillPlan, RuntimeError> {
        let refuse = |why: String| Err(RuntimeError::DrillRefused(redact::text(&why)));
        let stack = self.inner.stacks.borrow().stack.clone();
        let Some(stack) = stack else {
            return Err(RuntimeError::NoStack);
        };
        let Some(spec) = stack.services.iter().find(|s| s.name == service) else {
            return refuse(format!("the stack has no service `{service}`"));
        };
        if !spec.heal.as_ref().is_some_and(|p| p.enabled) {
            return refuse(format!(
                "`{service}` has no heal policy, so nothing would bring it back; turn healing on for it (x-stackwarden heal:) first"
            ));
        }
        let state = self.inner.state.borrow().clone();
        let healer = match &state.status.recording {
            Recording::On { .. } => "this process".to_string(),
            Recording::HeldBy { holder } => format!("the watching process ({holder})"),
            Recording::Off { reason } => {
                return refuse(format!("no healer runs here ({reason})"));
            }
        };
        if let Some(h) = state
            .status
            .healing
            .services
            .iter()
            .find(|h| h.service == service && h.state == "quarantined")
        {
            return refuse(format!(
                "`{}` is quarantined ({}); release it first",
                h.service, h.detail
            ));
        }
        let Some((status, container)) = status_of(&state, service) else {
            return refuse("the engine is not connected".into());
        };
        if status != ServiceStatus::Healthy {
            return refuse(format!(
                "`{service}` is {} now; a drill starts from a healthy service",
                status.word()
            ));
        }
        let Some(row) = state
            .snapshot
            .services
            .iter()
            .find(|r| r.name == container && r.is_running())
        else {
            return refuse(format!("`{service}` has no running container"));
        };
        let data_on: Vec<String> = row
            .mounts
            .iter()
            .filter(|m| m.kind == "volume" || m.kind == "bind")
            .map(|m| format!("{} {} → {}", m.kind, m.source, m.destination))
            .collect();
        if keeps_data(spec) && data_on.is_empty() {
            return refuse(format!(
                "`{service}` keeps data, and its container {container} has no volume or bind mount: the data lives in the container, and a kill in the middle of a write could corrupt it with no copy outside; put its data on a volume first"
            ));
        }
        let summary = format!(
            "Kills container {container} of `{service}` with SIGKILL, as a crash would, then measures how long the watch takes to see it fail, the healer to act, the container to run again and `{service}` to be healthy again. {} The healer is {healer}.",
            if data_on.is_empty() {
                "It keeps no data.".to_string()
            } else {
                format!("Its data stays where it is: {}.", data_on.join("; "))
            }
        );
        Ok(DrillPlan {
            service: service.to_string(),
            container,
            data_on,
            healer,
            summary,
        })
    }

    /// Runs a drill of `service` (checked by [`Runtime::drill_plan`]),
    /// telling `progress` each step, and stores its result.
    pub async fn drill(
        &self,
        service: &str,
        by: ActionSource,
        within: Duration,
        progress: impl Fn(&DrillStep),
    ) -> Result<StoredDrill, RuntimeError> {
        let plan = self.drill_plan(service).await?;
        let store = self
            .store()
            .cloned()
            .ok_or_else(|| RuntimeError::StoreUnavailable("history is off".into()))?;
        let engine = self.engine().ok_or(RuntimeError::EngineUnreachable)?;
        let id = self.known_container(&plan.container)?;
        let mut state = self.state();
        state.borrow_and_update();
        let killed = now_ms();
        engine.kill(&id.0).await?;
        progress(&DrillStep::Killed);
        let mut record = DrillRecord {
            at_ms: killed,
            service: service.to_string(),
            container: plan.container.clone(),
            detected_ms: None,
            acted_ms: None,
            running_ms: None,
            healthy_ms: None,
            recovered: false,
            note: String::new(),
        };
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            let now = now_ms();
            let current = state.borrow_and_update().clone();
            let status = status_of(&current, service).map(|(s, _)| s);
            if record.detected_ms.is_none() && status.is_some_and(|s| s != ServiceStatus::Healthy) {
                record.detected_ms = Some(now - killed);
                progress(&DrillStep::Detected(now - killed));
            }
            if record.acted_ms.is_none() {
                let acted = store.actions_since(killed).await?.into_iter().find(|a| {
                    a.action.source == ActionSource::Healer.as_str()
                        && a.action.service.as_deref() == Some(service)
                        && matches!(a.action.action.as_str(), "start" | "restart")
                });
                if let Some(a) = acted {
                    record.acted_ms = Some(a.action.at_ms - killed);
                    progress(&DrillStep::Acted(a.action.at_ms - killed));
                }
            }
            if record.running_ms.is_none() {
                let started = current
                    .snapshot
                    .services
                    .iter()
                    .find(|r| r.name == plan.container && r.is_running())
                    .and_then(|r| r.started_at_ms)
                    .filter(|at| *at >= killed);
                if let Some(at) = started {
                    record.running_ms = Some(at - killed);
                    progress(&DrillStep::Running(at - killed));
                }
            }
            if record.healthy_ms.is_none()
                && record.detected_ms.is_some()
                && status == Some(ServiceStatus::Healthy)
            {
                record.healthy_ms = Some(now - killed);
                progress(&DrillStep::Healthy(now - killed));
            }
            // The healer's record comes once its action has returned (and
            // its incident is open): wait a little for it after healthy.
            let waited_for_record = record
                .healthy_ms
                .is_some_and(|h| now - killed - h > ACTION_RECORD_WAIT_MS);
            if record.healthy_ms.is_some() && (record.acted_ms.is_some() || waited_for_record) {
                break;
            }
            tokio::time::sleep(DRILL_STEP).await;
        }
        record.recovered = record.healthy_ms.is_some() && record.running_ms.is_some();
        record.note = match (&record.healthy_ms, &record.acted_ms) {
            (Some(h), Some(_)) => format!(
                "healed: healthy again {:.1} s after the kill",
                *h as f64 / 1000.0
            ),
            (Some(h), None) => format!(
                "healthy again {:.1} s after the kill, without the healer",
                *h as f64 / 1000.0
            ),
            (None, Some(_)) => format!(
                "the healer acted, but it was not healthy within {} s",
                within.as_secs()
            ),
            (None, None) => format!(
                "not brought back within {} s; see the healer's decisions on the incident",
                within.as_secs()
            ),
        };
        let stored = store.record_drill(&record).await?;
        self.record_action(ActionRecord {
            at_ms: killed,
            source: by.as_str().to_string(),
            action: "drill".into(),
            service: Some(service.to_string()),
            ok: record.recovered,
            result: format!("drill: killed {}; {}", plan.container, record.note),
        })
        .await;
        Ok(stored)
    }

    /// The newest drills, of `service` or of all.
    pub async fn drills(&self, service: Option<&str>) -> Result<Vec<StoredDrill>, RuntimeError> {
        let store = self
            .store()
            .ok_or_else(|| RuntimeError::StoreUnavailable("history is off".into()))?;
        Ok(store.drills(service, 20).await?)
    }
}
