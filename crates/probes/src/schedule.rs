//! The app's probe scheduler: every probe of the loaded stack runs on its own
//! interval (with its own timeout), and the health breakdown is recomputed
//! whenever a probe finishes or the engine reports a container change, so a
//! stopped container shows at once and a failing endpoint within one of its
//! intervals. The result is published on a `watch` channel; probe runs and
//! status transitions go to the recorder (the store) on an `mpsc` channel.
//! A new stack definition restarts the probes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use stackwarden_health::{
    transitions, HealthBreakdown, HealthLevel, ProbeOutcome, ProbeRun, StatusTransition,
    LOG_PATTERN_PROBE, TELEMETRY_ALERT_PROBE,
};
use stackwarden_model::clock::now_ms;
use stackwarden_model::{ContainerState, EngineStatus, HealthState, ServiceRow, StackSnapshot};
use stackwarden_stack::{LoadedStack, ProbeKind, Stack};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use ts_rs::TS;

use crate::{
    deployed_services, find_container, find_containers, stack_health, EverDeployed, ProbeRunner,
    ProbeValues,
};

/// A probe of a stack service, as the window lists it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ProbeView {
    pub name: String,
    pub kind: String,
    pub target: String,
    #[ts(type = "number")]
    pub interval_ms: u64,
    #[ts(type = "number")]
    pub timeout_ms: u64,
    /// What a typed probe (llama, qdrant, postgres, redis, mcp) read at
    /// its last run; absent when that run read nothing (it could not
    /// connect: its error says why), before the first run, and for the
    /// other kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub values: Option<ProbeValues>,
}

/// The last values of each typed probe, by (service, probe).
type Readings = HashMap<(String, String), ProbeValues>;

/// Puts the last readings into the probes of `health`.
fn with_readings(mut health: StackHealth, readings: &Readings) -> StackHealth {
    for s in &mut health.services {
        for p in &mut s.probes {
            p.values = readings.get(&(s.service.clone(), p.name.clone())).cloned();
        }
    }
    health
}

/// A service of the stack and the container it runs as.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StackServiceView {
    pub service: String,
    pub group: String,
    pub required: bool,
    /// The container found for it, or the name it would have.
    pub container: String,
    /// False when the engine has no such container at all.
    pub has_container: bool,
    /// Every container found for it (its replicas), in order.
    pub containers: Vec<String>,
    pub image: Option<String>,
    pub probes: Vec<ProbeView>,
}

/// Everything the window, the tray and the recorder know about the stack's
/// health right now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StackHealth {
    /// The stack file's path, or the built-in stack's name.
    pub source: String,
    pub stack_name: Option<String>,
    /// The compose project its containers carry.
    pub stack_project: Option<String>,
    /// Why the stack file cannot be used, shown as a banner until fixed.
    pub stack_error: Option<String>,
    pub services: Vec<StackServiceView>,
    /// `None` while the engine is not connected or no stack is loaded.
    pub breakdown: Option<HealthBreakdown>,
    pub level: Option<HealthLevel>,
    /// One line for the tray and the header.
    pub headline: String,
    /// The newest run of each probe.
    pub last_runs: Vec<ProbeRun>,
    #[ts(type = "number")]
    pub updated_at_ms: i64,
}

/// What the recorder stores.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthRecord {
    Run(ProbeRun),
    Transitions {
        at_ms: i64,
        list: Vec<StatusTransition>,
    },
    /// A service seen with a container for the first time.
    Deployed {
        project: String,
        service: String,
        at_ms: i64,
    },
}

pub struct HealthScheduler {
    pub runner: ProbeRunner,
    pub stacks: watch::Receiver<LoadedStack>,
    pub snapshots: watch::Receiver<StackSnapshot>,
    pub records: Option<mpsc::Sender<HealthRecord>>,
    /// The services that had a container before this run (from the store).
    pub ever_deployed: EverDeployed,
    /// Matched log patterns per service (from the runtime's log watch):
    /// each shows as a failing run of [`LOG_PATTERN_PROBE`].
    pub log_marks: Option<watch::Receiver<LogMarks>>,
}

/// Failing runs that do not come from a probe of the stack file, keyed by
/// service and probe name: [`LOG_PATTERN_PROBE`] while a matched log line
/// stands, [`TELEMETRY_ALERT_PROBE`] while a telemetry alert holds.
pub type LogMarks = std::collections::BTreeMap<(String, String), ProbeRun>;

/// The probe names marks use.
pub const MARK_PROBES: [&str; 2] = [LOG_PATTERN_PROBE, TELEMETRY_ALERT_PROBE];

/// A row's name, state, HEALTHCHECK status and exit code.
type RowKey = (String, ContainerState, HealthState, Option<i64>);

/// The rows' fields health depends on; usage samples change nothing here.
fn health_inputs(s: &StackSnapshot) -> (bool, Vec<RowKey>) {
    (
        matches!(s.engine, EngineStatus::Connected { .. }),
        s.services
            .iter()
            .map(|r| (r.name.clone(), r.state, r.health, r.exit_code))
            .collect(),
    )
}

impl HealthScheduler {
    pub fn spawn(self) -> watch::Receiver<StackHealth> {
        let first = {
            let loaded = self.stacks.borrow().clone();
            view(
                &loaded,
                &self.snapshots.borrow(),
                &HashMap::new(),
                &self.ever_deployed,
            )
        };
        let (tx, rx) = watch::channel(first);
        tokio::spawn(self.run(tx));
        rx
    }

    async fn run(mut self, tx: watch::Sender<StackHealth>) {
        let mut previous: Option<HealthBreakdown> = None;
        loop {
            let mut loaded = self.stacks.borrow().clone();
            let (runs_tx, mut runs_rx) = mpsc::channel::<(ProbeRun, Option<ProbeValues>)>(64);
            let mut tasks = JoinSet::new();
            if let Some(stack) = &loaded.stack {
                for (si, service) in stack.services.iter().enumerate() {
                    for pi in 0..service.probes.len() {
                        tasks.spawn(probe_loop(
                            self.runner.clone(),
                            Arc::clone(stack),
                            si,
                            pi,
                            self.snapshots.clone(),
                            runs_tx.clone(),
                        ));
                    }
                }
            }
            drop(runs_tx);
            let mut last: HashMap<(String, String), ProbeRun> = HashMap::new();
            let mut readings = Readings::new();
            self.take_marks(&mut last);
            let mut inputs = health_inputs(&self.snapshots.borrow_and_update());
            self.publish(&tx, &loaded, &last, &readings, &mut previous);
            loop {
                tokio::select! {
                    changed = self.stacks.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let next = self.stacks.borrow_and_update().clone();
                        let same_stack = match (&next.stack, &loaded.stack) {
                            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                            (None, None) => true,
                            _ => false,
                        };
                        if !same_stack {
                            break;
                        }
                        // Only the file's problems changed (a broken edit):
                        // the probes and their results carry on.
                        loaded = next;
                        self.publish(&tx, &loaded, &last, &readings, &mut previous);
                    }
                    changed = self.snapshots.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let now = health_inputs(&self.snapshots.borrow_and_update());
                        if now != inputs {
                            inputs = now;
                            self.publish(&tx, &loaded, &last, &readings, &mut previous);
                        }
                    }
                    // Probe loops run until the stack changes. One that
                    // panicked or ended would leave its last result shown for
                    // good: end the scheduler the same way, so that whoever
                    // supervises it sees it and starts it again.
                    Some(ended) = tasks.join_next() => {
                        match ended {
                            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                            _ => return,
                        }
                    }
                    Ok(()) = marks_changed(self.log_marks.as_mut()) => {
                        self.take_marks(&mut last);
                        self.publish(&tx, &loaded, &last, &readings, &mut previous);
                    }
                    Some((run, values)) = runs_rx.recv() => {
                        self.record(HealthRecord::Run(run.clone()));
                        let key = (run.service.clone(), run.outcome.probe.clone());
                        // Only what the last run read is shown: a run that
                        // read nothing (its error says why) shows nothing.
                        match values {
                            Some(v) => readings.insert(key.clone(), v),
                            None => readings.remove(&key),
                        };
                        last.insert(key, run);
                        self.publish(&tx, &loaded, &last, &readings, &mut previous);
                    }
                    () = tx.closed() => return,
                }
            }
            tasks.abort_all();
        }
    }

    /// Remembers (and records) the services seen with a container for the
    /// first time, so that losing it later reads as down.
    fn note_deployed(&mut self, loaded: &LoadedStack) {
        let Some(stack) = loaded.stack.as_deref() else {
            return;
        };
        let seen = {
            let snapshot = self.snapshots.borrow();
            if !matches!(snapshot.engine, EngineStatus::Connected { .. }) {
                return;
            }
            deployed_services(stack, &snapshot.services)
        };
        for key in seen {
            if self.ever_deployed.contains(&key) {
                continue;
            }
            let record = HealthRecord::Deployed {
                project: key.0.clone(),
                service: key.1.clone(),
                at_ms: now_ms(),
            };
            // Remembered once the store will hear of it; if the recorder is
            // behind, the next publish tries again.
            let sent = match &self.records {
                Some(records) => records.try_send(record).is_ok(),
                None => true,
            };
            if sent {
                self.ever_deployed.insert(key);
            }
        }
    }

    /// Replaces the log pattern runs in `last` with the current marks,
    /// recording the new ones.
    fn take_marks(&mut self, last: &mut HashMap<(String, String), ProbeRun>) {
        let Some(rx) = self.log_marks.as_mut() else {
            return;
        };
        let marks = rx.borrow_and_update().clone();
        last.retain(|key, _| !MARK_PROBES.contains(&key.1.as_str()) || marks.contains_key(key));
        for (key, run) in marks {
            if last.get(&key) != Some(&run) {
                self.record(HealthRecord::Run(run.clone()));
                last.insert(key, run);
            }
        }
    }

    fn record(&self, record: HealthRecord) {
        if let Some(records) = &self.records {
            if records.try_send(record).is_err() {
                tracing::warn!("health recorder is behind; a record was dropped");
            }
        }
    }

    fn publish(
        &mut self,
        tx: &watch::Sender<StackHealth>,
        loaded: &LoadedStack,
        last: &HashMap<(String, String), ProbeRun>,
        readings: &Readings,
        previous: &mut Option<HealthBreakdown>,
    ) {
        self.note_deployed(loaded);
        let next = with_readings(
            view(loaded, &self.snapshots.borrow(), last, &self.ever_deployed),
            readings,
        );
        if let Some(b) = &next.breakdown {
            let changed = transitions(previous.as_ref(), b);
            if !changed.is_empty() {
                self.record(HealthRecord::Transitions {
                    at_ms: next.updated_at_ms,
                    list: changed,
                });
            }
            *previous = Some(b.clone());
        }
        tx.send_if_modified(|current| {
            let same = current.breakdown == next.breakdown
                && current.last_runs == next.last_runs
                && current.services == next.services
                && current.stack_error == next.stack_error
                && current.headline == next.headline;
            if !same {
                *current = next;
            }
            !same
        });
    }
}

/// Waits for the marks to change; never, without marks.
async fn marks_changed(
    rx: Option<&mut watch::Receiver<LogMarks>>,
) -> Result<(), watch::error::RecvError> {
    match rx {
        Some(rx) => rx.changed().await,
        None => std::future::pending().await,
    }
}

/// Runs one probe forever on its interval, measured from each start. A
/// container probe also re-checks on every engine change between runs and
/// reports when its result changes, so it never lags the engine.
async fn probe_loop(
    runner: ProbeRunner,
    stack: Arc<Stack>,
    service_index: usize,
    probe_index: usize,
    mut snapshots: watch::Receiver<StackSnapshot>,
    out: mpsc::Sender<(ProbeRun, Option<ProbeValues>)>,
) {
    let Some(service) = stack.services.get(service_index) else {
        return;
    };
    let Some(probe) = service.probes.get(probe_index) else {
        return;
    };
    let follows_engine = matches!(probe.kind, ProbeKind::Container);
    loop {
        let started = Instant::now();
        let due = tokio::time::Instant::from(started + probe.interval);
        let row: Option<ServiceRow> = {
            let snapshot = snapshots.borrow_and_update();
            find_container(&stack, service, &snapshot.services).cloned()
        };
        let probed = runner.run_with_values(probe, row.as_ref()).await;
        let mut last = probed.outcome;
        let run = ProbeRun {
            service: service.name.clone(),
            at_ms: now_ms(),
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            outcome: last.clone(),
        };
        if out.send((run, probed.values)).await.is_err() {
            return;
        }
        if !follows_engine {
            tokio::time::sleep_until(due).await;
            continue;
        }
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due) => break,
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let checked = Instant::now();
                    let row = {
                        let snapshot = snapshots.borrow_and_update();
                        find_container(&stack, service, &snapshot.services).cloned()
                    };
                    let outcome = runner.run(probe, row.as_ref()).await;
                    if outcome != last {
                        last = outcome.clone();
                        let run = ProbeRun {
                            service: service.name.clone(),
                            at_ms: now_ms(),
                            duration_ms: checked.elapsed().as_secs_f64() * 1000.0,
                            outcome,
                        };
                        if out.send((run, None)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// The published state for a stack, the engine's rows and the last runs.
pub fn view(
    loaded: &LoadedStack,
    snapshot: &StackSnapshot,
    last: &HashMap<(String, String), ProbeRun>,
    ever: &EverDeployed,
) -> StackHealth {
    let connected = matches!(snapshot.engine, EngineStatus::Connected { .. });
    let rows = &snapshot.services;
    let Some(stack) = loaded.stack.as_deref() else {
        return StackHealth {
            source: loaded.source.clone(),
            stack_name: None,
            stack_project: None,
            stack_error: loaded.error.clone(),
            services: Vec::new(),
            breakdown: None,
            level: None,
            headline: "No stack loaded".to_string(),
            last_runs: Vec::new(),
            updated_at_ms: now_ms(),
        };
    };
    let required = |group: &str| stack.groups.iter().any(|g| g.name == group && g.required);
    let services: Vec<StackServiceView> = stack
        .services
        .iter()
        .map(|s| {
            let found = find_container(stack, s, rows);
            StackServiceView {
                service: s.name.clone(),
                group: s.group.clone(),
                required: required(&s.group),
                container: found
                    .map(|r| r.name.clone())
                    .unwrap_or_else(|| s.default_container_name(&stack.project)),
                has_container: found.is_some(),
                containers: find_containers(stack, s, rows)
                    .into_iter()
                    .map(|r| r.name.clone())
                    .collect(),
                image: s.image.clone(),
                probes: s
                    .probes
                    .iter()
                    .map(|p| ProbeView {
                        name: p.name.clone(),
                        kind: p.kind.word().to_string(),
                        target: p.kind.target(),
                        interval_ms: u64::try_from(p.interval.as_millis()).unwrap_or(u64::MAX),
                        timeout_ms: u64::try_from(p.timeout.as_millis()).unwrap_or(u64::MAX),
                        values: None,
                    })
                    .collect(),
            }
        })
        .collect();
    // Runs in stack-file order, so the breakdown and the window agree.
    let mut last_runs = Vec::new();
    let mut outcomes: HashMap<String, Vec<ProbeOutcome>> = HashMap::new();
    for s in &stack.services {
        let marked: Vec<&ProbeRun> = MARK_PROBES
            .iter()
            .filter_map(|probe| last.get(&(s.name.clone(), (*probe).to_string())))
            .filter(|r| !r.outcome.success)
            .collect();
        if s.probes.is_empty() && marked.is_empty() {
            continue;
        }
        let list = outcomes.entry(s.name.clone()).or_default();
        for p in &s.probes {
            if let Some(run) = last.get(&(s.name.clone(), p.name.clone())) {
                list.push(run.outcome.clone());
                last_runs.push(run.clone());
            }
        }
        for run in marked {
            list.push(run.outcome.clone());
            last_runs.push(run.clone());
        }
    }
    let breakdown = connected.then(|| stack_health(stack, rows, &outcomes, ever));
    let headline = match &breakdown {
        Some(b) => format!("{}: {}", stack.name, b.headline()),
        None => format!("{}: waiting for the container engine", stack.name),
    };
    StackHealth {
        source: loaded.source.clone(),
        stack_name: Some(stack.name.clone()),
        stack_project: Some(stack.project.clone()),
        stack_error: loaded.error.clone(),
        services,
        level: breakdown.as_ref().map(HealthBreakdown::level),
        breakdown,
        headline,
        last_runs,
        updated_at_ms: now_ms(),
    }
}
