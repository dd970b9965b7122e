//! What hosts ask of the runtime on a user's behalf: act on a container,
//! follow its log, read history, export the report. A container named by
//! the caller is only ever looked up in the engine's own current list, and
//! the engine is then called with the id the engine gave: caller text never
//! reaches an engine URL path (`../volumes/prune?x=` names nothing).

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use stackwarden_health::{RecordedTransition, ResponsePoint, VerificationRun, VerificationSummary};
use stackwarden_model::clock::now_ms;
use stackwarden_model::redact;
use stackwarden_model::{ContainerAction, ContainerId, HistoryPoint, LogBatch};
use stackwarden_report::{
    write_incident_report, write_status_report, IncidentReportData, ReportData,
};
use stackwarden_store::{ActionRecord, ActionSource, Store, StoredAction};

use crate::{Runtime, RuntimeError};

const LOG_TAIL: u32 = 200;
const LOG_FLUSH: Duration = Duration::from_millis(100);
const LOG_BATCH_LINES: usize = 500;
const HISTORY_WINDOW_MS: i64 = 30 * 60 * 1000;
const HISTORY_POINTS: u32 = 900;
const HISTORY_RUNS: u32 = 50;
const TRANSITIONS_WINDOW_MS: i64 = 24 * 3600 * 1000;
const TRANSITIONS_SHOWN: usize = 50;

/// The report formats the window can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ReportFormat {
    Md,
    Html,
}

impl Runtime {
    /// The engine's id of the container the caller names by id or name,
    /// if the current list has it.
    pub fn known_container(&self, id_or_name: &str) -> Result<ContainerId, RuntimeError> {
        self.inner
            .snapshots
            .borrow()
            .services
            .iter()
            .find(|r| r.id.0 == id_or_name || r.name == id_or_name)
            .map(|r| r.id.clone())
            .ok_or_else(|| RuntimeError::UnknownContainer(shorten(id_or_name)))
    }

    /// Starts, stops or restarts a container of the current list, and
    /// records it (on the open incident of its service, if any).
    pub async fn container_action(
        &self,
        id_or_name: &str,
        action: ContainerAction,
        by: ActionSource,
    ) -> Result<(), RuntimeError> {
        let id = self.known_container(id_or_name)?;
        let engine = self.engine().ok_or(RuntimeError::EngineUnreachable)?;
        let name = self
            .inner
            .snapshots
            .borrow()
            .services
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| shorten(id_or_name));
        if action == ContainerAction::Stop {
            // A person's stop: the healer must leave it stopped.
            let _ = self
                .inner
                .heal_commands
                .send(crate::healer::HealCommand::OwnStop(name.clone()))
                .await;
        } else {
            self.inner.own_starts.note(&name, now_ms());
        }
        let done = engine.act(&id.0, action).await;
        let result = match &done {
            Ok(()) => format!("{} {name}: done", action.as_str()),
            Err(e) => format!(
                "{} {name} failed: {}",
                action.as_str(),
                redact::text(&e.to_string())
            ),
        };
        self.record_action(ActionRecord {
            at_ms: now_ms(),
            source: by.as_str().to_string(),
            action: action.as_str().to_string(),
            service: Some(self.service_of_container(&name).unwrap_or(name)),
            ok: done.is_ok(),
            result,
        })
        .await;
        done?;
        Ok(())
    }

    /// Lets the healer act on a quarantined service again: this process's
    /// healer at once, or (when another process heals) through the history,
    /// which that healer reads within seconds. Fails for a service nobody
    /// holds in quarantine.
    pub async fn release_heal(&self, service: &str, by: ActionSource) -> Result<(), RuntimeError> {
        let healing = self.inner.state.borrow().status.healing.clone();
        if healing.active {
            let held = healing
                .services
                .iter()
                .any(|s| s.service == service && s.state == "quarantined");
            if !held {
                return Err(RuntimeError::NotQuarantined(shorten(service)));
            }
            return self
                .inner
                .heal_commands
                .send(crate::healer::HealCommand::Release(service.to_string()))
                .await
                .map_err(|_| RuntimeError::NotQuarantined(shorten(service)));
        }
        let store = self
            .store()
            .ok_or_else(|| RuntimeError::StoreUnavailable("history is off".into()))?;
        let held = store
            .unreleased_quarantine(service, now_ms(), crate::healer::REMEMBER_MS)
            .await?;
        if held.is_none() {
            return Err(RuntimeError::NotQuarantined(shorten(service)));
        }
        store
            .record_action(&ActionRecord {
                at_ms: now_ms(),
                source: by.as_str().to_string(),
                action: "released".into(),
                service: Some(service.to_string()),
                ok: true,
                result: "released from quarantine by a person; the healer may act again".into(),
            })
            .await?;
        Ok(())
    }

    /// The stack service whose container (or replica) is `name`.
    pub(crate) fn service_of_container(&self, name: &str) -> Option<String> {
        self.inner
            .state
            .borrow()
            .health
            .services
            .iter()
            .find(|s| s.container == name || s.containers.iter().any(|c| c == name))
            .map(|s| s.service.clone())
    }

    /// Records an action in the history; a failure to is logged, not
    /// returned: the action itself happened.
    pub(crate) async fn record_action(&self, action: ActionRecord) {
        let Some(store) = self.store() else {
            return;
        };
        if let Err(e) = store.record_action(&action).await {
            tracing::warn!("cannot record the action {}: {e}", action.action);
        }
    }

    /// Follows a container's log: the last lines, then new ones, handed to
    /// `sink` in batches until it returns false, the log ends, or another
    /// log is followed. Replaces any log already followed.
    pub fn follow_logs<S>(&self, id_or_name: &str, sink: S) -> Result<(), RuntimeError>
    where
        S: Fn(LogBatch) -> bool + Send + 'static,
    {
        let id = self.known_container(id_or_name)?;
        let engine = self.engine().ok_or(RuntimeError::EngineUnreachable)?;
        let stream = engine.logs(&id.0, LOG_TAIL, true);
        let task = self.inner.tokio.spawn(async move {
            let mut stream = Box::pin(stream);
            let mut pending = Vec::new();
            let ended = loop {
                let next = if pending.is_empty() {
                    stream.next().await.map(Some)
                } else {
                    match tokio::time::timeout(LOG_FLUSH, stream.next()).await {
                        Ok(item) => item.map(Some),
                        Err(_) => Some(None),
                    }
                };
                match next {
                    Some(Some(Ok(line))) => {
                        pending.push(line);
                        if pending.len() < LOG_BATCH_LINES {
                            continue;
                        }
                    }
                    Some(Some(Err(e))) => break Some(e.to_string()),
                    Some(None) => {}
                    None => break Some("the log ended (container stopped)".to_string()),
                }
                let batch = LogBatch {
                    container_id: id.clone(),
                    lines: std::mem::take(&mut pending),
                    ended: None,
                };
                if !sink(batch) {
                    break None;
                }
            };
            sink(LogBatch {
                container_id: id,
                lines: pending,
                ended,
            });
        });
        self.set_log_follower(Some(task.abort_handle()));
        Ok(())
    }

    /// Stops following the log, if one is followed.
    pub fn close_logs(&self) {
        self.set_log_follower(None);
    }

    fn history_store(&self) -> Result<&Store, RuntimeError> {
        self.store().ok_or_else(|| {
            RuntimeError::StoreUnavailable(
                self.store_error()
                    .unwrap_or("history is unavailable")
                    .to_string(),
            )
        })
    }

    /// CPU and memory of a container over the last 30 minutes.
    pub async fn service_history(&self, name: &str) -> Result<Vec<HistoryPoint>, RuntimeError> {
        let since = now_ms() - HISTORY_WINDOW_MS;
        Ok(self
            .history_store()?
            .history(name, since, HISTORY_POINTS)
            .await?)
    }

    /// A stack service's probe response times over the last 30 minutes.
    pub async fn probe_history(&self, service: &str) -> Result<Vec<ResponsePoint>, RuntimeError> {
        let Some(store) = self.store() else {
            return Ok(Vec::new());
        };
        Ok(store
            .response_times(service, now_ms() - HISTORY_WINDOW_MS, HISTORY_POINTS)
            .await?)
    }

    pub async fn verification_history(&self) -> Result<Vec<VerificationSummary>, RuntimeError> {
        let Some(store) = self.store() else {
            return Ok(Vec::new());
        };
        Ok(store.verification_history(HISTORY_RUNS).await?)
    }

    pub async fn verification_run(&self, id: i64) -> Result<Option<VerificationRun>, RuntimeError> {
        let Some(store) = self.store() else {
            return Ok(None);
        };
        Ok(store.verification_run(id).await?)
    }

    /// Status changes of the last 24 hours, newest first.
    pub async fn recent_transitions(&self) -> Result<Vec<RecordedTransition>, RuntimeError> {
        let Some(store) = self.store() else {
            return Ok(Vec::new());
        };
        let mut list = store
            .transitions_since(now_ms() - TRANSITIONS_WINDOW_MS)
            .await?;
        list.reverse();
        list.truncate(TRANSITIONS_SHOWN);
        Ok(list)
    }

    /// Writes the status report (from stored measurements) into the data
    /// folder's `reports/` and returns its path.
    pub async fn export_report(&self, format: ReportFormat) -> Result<PathBuf, RuntimeError> {
        let store = self.history_store()?;
        let data = ReportData::load(store, now_ms()).await?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let path =
            reports_dir(store)?.join(format!("stackwarden-report-{stamp}.{}", format.extension()));
        write_status_report(&data, &path, format == ReportFormat::Html)?;
        Ok(path)
    }

    /// Writes incident `id`'s recovery report into the data folder's
    /// `reports/` and returns its path.
    pub async fn export_incident_report(
        &self,
        id: i64,
        format: ReportFormat,
    ) -> Result<PathBuf, RuntimeError> {
        let store = self.history_store()?;
        let data = IncidentReportData::load(store, id, now_ms()).await?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let path =
            reports_dir(store)?.join(format!("incident-{id}-{stamp}.{}", format.extension()));
        write_incident_report(&data, &path, format == ReportFormat::Html)?;
        Ok(path)
    }
}

impl ReportFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Md => "md",
            Self::Html => "html",
        }
    }
}

/// The data folder's `reports/`, created if needed.
fn reports_dir(store: &Store) -> Result<PathBuf, RuntimeError> {
    let dir = store
        .path()
        .parent()
        .map(|d| d.join("reports"))
        .unwrap_or_else(|| PathBuf::from("reports"));
    std::fs::create_dir_all(&dir).map_err(|source| RuntimeError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(dir)
}

/// Caller text quoted in an error, cut to a sane length.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The longest span the timeline shows: 30 days.
pub const TIMELINE_MAX_MS: i64 = 30 * 24 * 3600 * 1000;

/// An incident as the timeline lists it, with its stored id (its evidence
/// and actions come with `incident_detail`; the actions are also among the
/// timeline's markers, by `incident_id`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
#[ts(export, export_to = "bindings/")]
pub struct IncidentEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub incident: stackwarden_incidents::Incident,
}

/// What an incident's detail shows beside the incident itself: the
/// evidence kept at the moment (log lines among it), loaded when opened.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
#[ts(export, export_to = "bindings/")]
pub struct IncidentDetail {
    #[ts(type = "number")]
    pub id: i64,
    pub evidence: Vec<EvidenceEntry>,
    /// What was done during it, with the results.
    pub actions: Vec<ActionEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export, export_to = "bindings/")]
pub struct EvidenceEntry {
    #[ts(type = "number")]
    pub at_ms: i64,
    pub kind: String,
    pub service: Option<String>,
    pub text: String,
}

/// An action as the timeline marks it and an incident lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[ts(export, export_to = "bindings/")]
pub struct ActionEntry {
    #[ts(type = "number")]
    pub at_ms: i64,
    /// The marker drawn: `restart` (the engine started it again),
    /// `verification`, `heal`, or `action` (a person's, or the wizard's).
    pub kind: String,
    /// `window`, `cli`, `engine`, `healer`, `wizard`.
    pub source: String,
    pub action: String,
    pub service: Option<String>,
    pub ok: bool,
    pub result: String,
    #[ts(type = "number | null")]
    pub incident_id: Option<i64>,
}

impl From<StoredAction> for ActionEntry {
    fn from(stored: StoredAction) -> Self {
        let a = stored.action;
        let kind = match (a.source.as_str(), a.action.as_str()) {
            ("engine", _) => "restart",
            (_, "verify") => "verification",
            ("healer", _) => "heal",
            _ => "action",
        };
        Self {
            at_ms: a.at_ms,
            kind: kind.to_string(),
            source: a.source,
            action: a.action,
            service: a.service,
            ok: a.ok,
            result: a.result,
            incident_id: stored.incident_id,
        }
    }
}

/// What the timeline view draws for a span ending now.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
#[ts(export, export_to = "bindings/")]
pub struct TimelineData {
    #[ts(type = "number")]
    pub from_ms: i64,
    #[ts(type = "number")]
    pub to_ms: i64,
    pub lanes: Vec<stackwarden_incidents::Lane>,
    pub gaps: Vec<stackwarden_incidents::GapSpan>,
    /// Open first, then the newest.
    pub incidents: Vec<IncidentEntry>,
    /// Per lane, in the same order: its figures over the span.
    pub figures: Vec<ServiceFigures>,
    /// Restarts, actions, heals and verifications in the span (and those of
    /// its incidents that began before it), oldest first.
    pub markers: Vec<ActionEntry>,
    /// Minutes in which a telemetry file's errors burst, merged, oldest first.
    pub bursts: Vec<crate::telemetry::Burst>,
}

/// A service's figures over the timeline's span.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
#[ts(export, export_to = "bindings/")]
pub struct ServiceFigures {
    pub service: String,
    /// Healthy share of the watched time, 0..=1; `None` if nothing was watched.
    pub availability: Option<f64>,
    /// Mean time from failing to healthy again over the span's incidents.
    #[ts(type = "number | null")]
    pub mean_time_to_recovery_ms: Option<i64>,
}

impl Runtime {
    /// The timeline of the last `span_ms` (at most 30 days): a lane per
    /// service of the stack (and of any service with changes in the span),
    /// the gaps, the incidents and the actions.
    pub async fn timeline(&self, span_ms: i64) -> Result<TimelineData, RuntimeError> {
        let to_ms = now_ms();
        let from_ms = to_ms - span_ms.clamp(60_000, TIMELINE_MAX_MS);
        let Some(store) = self.store() else {
            return Ok(TimelineData {
                from_ms,
                to_ms,
                lanes: Vec::new(),
                gaps: Vec::new(),
                incidents: Vec::new(),
                figures: Vec::new(),
                markers: Vec::new(),
                bursts: Vec::new(),
            });
        };
        let services: Vec<(String, String)> = self
            .state()
            .borrow()
            .health
            .services
            .iter()
            .map(|s| (s.service.clone(), s.group.clone()))
            .collect();
        let (lanes, gaps) = store.lanes(&services, from_ms, to_ms).await?;
        let stored = store.incidents_since(from_ms).await?;
        // The span's actions, and those of its incidents from before it.
        let earliest = stored
            .iter()
            .map(|i| i.incident.opened_at_ms)
            .fold(from_ms, i64::min);
        let markers = store
            .actions_since(earliest)
            .await?
            .into_iter()
            .map(ActionEntry::from)
            .collect();
        let mut incidents: Vec<IncidentEntry> = stored
            .into_iter()
            .map(|stored| IncidentEntry {
                id: stored.id,
                incident: stored.incident,
            })
            .collect();
        incidents.sort_by_key(|i| {
            (
                !i.incident.is_open(),
                std::cmp::Reverse(i.incident.opened_at_ms),
            )
        });
        let all: Vec<stackwarden_incidents::Incident> =
            incidents.iter().map(|i| i.incident.clone()).collect();
        let figures = lanes
            .iter()
            .map(|lane| ServiceFigures {
                service: lane.service.clone(),
                availability: stackwarden_incidents::availability(lane),
                mean_time_to_recovery_ms: stackwarden_incidents::mean_time_to_recovery_ms(
                    &lane.service,
                    &all,
                ),
            })
            .collect();
        let bursts = crate::telemetry::bursts_since(store, from_ms).await?;
        Ok(TimelineData {
            from_ms,
            to_ms,
            lanes,
            gaps,
            incidents,
            figures,
            markers,
            bursts,
        })
    }

    /// Incident `id`'s evidence and actions, in time order (empty for no
    /// such incident).
    pub async fn incident_detail(&self, id: i64) -> Result<IncidentDetail, RuntimeError> {
        let store = self.history_store()?;
        let evidence = store
            .evidence(id)
            .await?
            .into_iter()
            .map(|e| EvidenceEntry {
                at_ms: e.at_ms,
                kind: e.kind,
                service: e.service,
                text: e.text,
            })
            .collect();
        let actions = store
            .incident_actions(id)
            .await?
            .into_iter()
            .map(ActionEntry::from)
            .collect();
        Ok(IncidentDetail {
            id,
            evidence,
            actions,
        })
    }
}
