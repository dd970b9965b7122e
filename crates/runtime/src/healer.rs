//! The healer at work: feeds the heal rules (`stackwarden-heal`) from the
//! engine's events, the health stream and the stack, carries out what they
//! decide and records every decision, with its reason, on the incident of
//! its service. It reacts to events as they come (no polling loop): the
//! engine's `die` of a container reaches it directly, and a rule that asks
//! to wait (backoff, settle) sets the one timer.
//!
//! Only the runtime that records into the data folder heals, so two
//! Stackwarden processes never act on one stack. Log patterns are followed
//! here too: a match marks the service unhealthy (through the probe
//! scheduler, as a failing [`LOG_PATTERN_PROBE`] run) or triggers its action.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{stream, Stream, StreamExt};
use serde::Serialize;
use stackwarden_engine::{Engine, MonitorHandle};
use stackwarden_heal::{
    ContainerFacts, Decision, HealAction, HealState, Healer, PatternEffect, ServiceInput,
    StopVerdict, StopWatch, Verdict, STOP_SETTLE_MS,
};
use stackwarden_health::{ConditionResult, ProbeOutcome, ProbeRun, LOG_PATTERN_PROBE};
use stackwarden_incidents::Incident;
use stackwarden_model::clock::now_ms;
use stackwarden_model::{redact, ContainerAction, ContainerState, ServiceRow, StackSnapshot};
use stackwarden_probes::{find_containers, LogMarks, StackHealth};
use stackwarden_stack::{LoadedStack, Stack};
use stackwarden_store::{ActionRecord, ActionSource, Store};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use ts_rs::TS;

use crate::incidents::OwnStarts;
use crate::recorder::{SharedQueue, WriteTo};

/// How long a decision's record waits for the incident of its service to
/// open (the incident task reads the same health change).
const INCIDENT_WAIT: Duration = Duration::from_secs(3);
/// The longest part of a log line kept as evidence.
const LINE_KEPT: usize = 300;
/// Wait before following a log again after its stream ended.
const FOLLOW_AGAIN: Duration = Duration::from_secs(1);

/// What the window shows of healing.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct HealingStatus {
    /// Whether this runtime heals (it records into the data folder).
    pub active: bool,
    /// Why not, when it does not.
    pub paused: Option<String>,
    pub services: Vec<HealState>,
}

impl Default for HealingStatus {
    fn default() -> Self {
        Self {
            active: false,
            paused: Some("starting".into()),
            services: Vec::new(),
        }
    }
}

/// Asked of the healer by the runtime's hosts.
#[derive(Debug)]
pub enum HealCommand {
    /// A person releases a quarantined service.
    Release(String),
    /// Stackwarden is stopping this container at a person's request.
    OwnStop(String),
}

/// What the healer task reads and writes.
#[derive(Clone)]
pub struct HealerInputs {
    pub health: watch::Receiver<StackHealth>,
    pub snapshots: watch::Receiver<StackSnapshot>,
    pub stacks: watch::Receiver<LoadedStack>,
    pub monitor: watch::Receiver<Option<MonitorHandle>>,
    pub open: watch::Receiver<Vec<Incident>>,
    pub to: WriteTo,
    /// The data folder's history, also while another process records (and
    /// heals): its quarantines are shown here and can be released.
    pub history: Option<Store>,
    pub commands: SharedQueue<HealCommand>,
    pub status: Arc<watch::Sender<HealingStatus>>,
    pub marks: Arc<watch::Sender<LogMarks>>,
    pub own_starts: OwnStarts,
    /// `[healing] enabled` in the settings.
    pub enabled: bool,
}

/// An action carried out, back from its task.
struct Done {
    service: String,
    action: &'static str,
    reason: String,
    at_ms: i64,
    result: Result<(), String>,
}

/// A log line that matched.
struct Matched {
    service: String,
    pattern: String,
    effect: PatternEffect,
    line: String,
    /// The run of the container it came from.
    started_at_ms: Option<i64>,
}

/// A container event: its container's name and the action.
struct Event {
    name: String,
    action: String,
}

type Events = std::pin::Pin<Box<dyn Stream<Item = Result<Event, String>> + Send>>;

fn events_of(engine: Option<Engine>, stops: &mut StopWatch) -> Events {
    events_since(engine, stops, now_ms() / 1000)
}

fn events_since(engine: Option<Engine>, stops: &mut StopWatch, since: i64) -> Events {
    let Some(engine) = engine else {
        return Box::pin(stream::pending());
    };
    stops.set_podman(engine.is_podman());
    Box::pin(engine.container_events(since).map(|e| {
        let e = e.map_err(|e| e.to_string())?;
        Ok(Event {
            action: e.action.clone().unwrap_or_default(),
            name: e
                .actor
                .as_ref()
                .and_then(|a| a.attributes.as_ref())
                .and_then(|a| a.get("name"))
                .cloned()
                .unwrap_or_default(),
        })
    }))
}

/// Runs the healer until the runtime stops.
pub async fn heal(mut inputs: HealerInputs) {
    if !inputs.enabled {
        publish(
            &inputs.status,
            HealingStatus {
                active: false,
                paused: Some("self-healing is switched off in Settings".into()),
                services: Vec::new(),
            },
        );
        return std::future::pending().await;
    }
    let mut healer = Healer::default();
    let mut stops = StopWatch::default();
    let mut engine = inputs.monitor.borrow().as_ref().and_then(|m| m.engine());
    let mut events = events_of(engine.clone(), &mut stops);
    let (done_tx, mut done_rx) = mpsc::channel::<Done>(16);
    let (match_tx, mut match_rx) = mpsc::channel::<Matched>(64);
    let mut followers = LogFollowers::default();
    let mut log_triggers: HashMap<String, String> = HashMap::new();
    let mut mark_runs: HashMap<String, Option<i64>> = HashMap::new();
    let mut wake: Option<tokio::time::Instant> = None;
    let commands = Arc::clone(&inputs.commands);
    let mut commands = commands.lock().await;
    let mut remembered = false;
    let mut last_event_secs = now_ms() / 1000;
    let mut releases = tokio::time::interval(RELEASES_EVERY);
    releases.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut releases_since = now_ms();
    // Quarantines held by the process that heals, when it is another one.
    let mut held_elsewhere: Vec<HealState> = Vec::new();
    loop {
        // Recording from now (at start, or after taking the folder over):
        // take up what the healer did before.
        let recorded = inputs.to.borrow().clone();
        if let (false, Some(store)) = (remembered, recorded) {
            remember(&mut healer, &store).await;
            remembered = true;
        }
        followers.update(
            engine.as_ref(),
            &inputs.stacks.borrow(),
            &inputs.snapshots.borrow(),
            &match_tx,
        );
        let recording = inputs.to.borrow().clone();
        if recording.is_some() {
            let step = {
                let stack = inputs.stacks.borrow().stack.clone();
                let health = inputs.health.borrow();
                let snapshot = inputs.snapshots.borrow();
                let now = now_ms();
                for row in &snapshot.services {
                    if row.state != ContainerState::Unknown {
                        stops.observe(&row.name, row.is_running(), now);
                    }
                }
                // Without an engine or a stack nothing is known: no step,
                // and the healer forgets nothing.
                let list = match (&stack, &health.breakdown) {
                    (Some(stack), Some(_)) => {
                        service_inputs(stack, &health, &snapshot, &stops, &log_triggers, now)
                    }
                    _ => Vec::new(),
                };
                let step = healer.step(now, &list);
                if !list.is_empty() {
                    let order: Vec<&str> = list.iter().map(|s| s.service.as_str()).collect();
                    let next = HealingStatus {
                        active: true,
                        paused: None,
                        services: healer.states(order),
                    };
                    publish(&inputs.status, next);
                }
                step
            };
            // A log line's trigger is used up by the action it caused.
            for d in &step.decisions {
                if matches!(d.verdict, Verdict::Act { .. }) {
                    log_triggers.remove(&d.service);
                }
            }
            wake = step.wake_at_ms.map(|at| {
                let ms = u64::try_from(at - now_ms()).unwrap_or(0);
                tokio::time::Instant::now() + Duration::from_millis(ms)
            });
            for decision in step.decisions {
                tracing::debug!("healer: decided {decision:?}");
                carry_out(decision, &inputs, engine.clone(), &done_tx);
            }
        } else {
            let next = HealingStatus {
                active: false,
                paused: Some(
                    "another Stackwarden process watches this data folder and heals the stack"
                        .into(),
                ),
                services: held_elsewhere.clone(),
            };
            publish(&inputs.status, next);
        }
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = events.next() => match event {
                // Stamped on arrival: the time to wait for what follows a
                // `die` runs from when it is known here.
                Some(Ok(e)) => {
                    tracing::debug!("healer: event {} {}", e.name, e.action);
                    last_event_secs = now_ms() / 1000;
                    stops.on_event(&e.name, &e.action, now_ms());
                }
                Some(Err(e)) => tracing::debug!("healer: engine events: {e}"),
                None => {
                    // The stream can end with the engine still there (the
                    // monitor sees the same): follow again from the last
                    // event's second, after a pause, so nothing is missed
                    // and a lost engine does not spin this loop.
                    tokio::time::sleep(FOLLOW_AGAIN).await;
                    engine = inputs.monitor.borrow().as_ref().and_then(|m| m.engine());
                    events = events_since(engine.clone(), &mut stops, last_event_secs);
                }
            },
            Ok(()) = inputs.monitor.changed() => {
                engine = inputs.monitor.borrow_and_update().as_ref().and_then(|m| m.engine());
                events = events_of(engine.clone(), &mut stops);
            }
            Ok(()) = inputs.health.changed() => {
                // The engine behind the monitor may have changed with it.
                let now = inputs.monitor.borrow().as_ref().and_then(|m| m.engine());
                if now.as_ref().map(Engine::endpoint) != engine.as_ref().map(Engine::endpoint) {
                    engine = now;
                    events = events_of(engine.clone(), &mut stops);
                }
            }
            Ok(()) = inputs.snapshots.changed() => {
                clear_marks(&inputs, &mut mark_runs);
            }
            Ok(()) = inputs.stacks.changed() => {}
            Ok(()) = inputs.to.changed() => {}
            _ = releases.tick() => {
                let store = inputs.to.borrow().clone();
                if let (None, Some(history)) = (&store, &inputs.history) {
                    let stack = inputs.stacks.borrow().stack.clone();
                    held_elsewhere = quarantined_elsewhere(history, stack.as_deref()).await;
                }
                if let Some(store) = store {
                    match store.releases_since(releases_since).await {
                        Ok(list) => {
                            for (at, service) in list {
                                releases_since = releases_since.max(at + 1);
                                if healer.release(&service) {
                                    tracing::info!("healer: {service} released from quarantine by a person");
                                }
                            }
                        }
                        Err(e) => tracing::debug!("healer: cannot read releases: {e}"),
                    }
                }
            }
            Some(command) = commands.recv() => match command {
                HealCommand::Release(service) => {
                    if healer.release(&service) {
                        record_later(&inputs, ActionRecord {
                            at_ms: now_ms(),
                            source: ActionSource::Healer.as_str().into(),
                            action: "released".into(),
                            service: Some(service),
                            ok: true,
                            result: "released from quarantine by a person; the healer may act again".into(),
                        });
                    }
                }
                HealCommand::OwnStop(container) => {
                    stops.note_own_stop(&container, "stopped from Stackwarden");
                }
            },
            Some(done) = done_rx.recv() => {
                healer.finished(&done.service);
                let ok = done.result.is_ok();
                let result = match &done.result {
                    Ok(()) => format!("{}: done", done.reason),
                    Err(e) => format!("{}: failed: {e}", done.reason),
                };
                record_later(&inputs, ActionRecord {
                    at_ms: done.at_ms,
                    source: ActionSource::Healer.as_str().into(),
                    action: done.action.into(),
                    service: Some(done.service),
                    ok,
                    result,
                });
            }
            Some(m) = match_rx.recv() => {
                let line = format!("/{}/ matched: {}", m.pattern, m.line);
                match m.effect {
                    PatternEffect::Act => {
                        log_triggers.insert(m.service, line);
                    }
                    PatternEffect::Unhealthy => {
                        mark_runs.insert(m.service.clone(), m.started_at_ms);
                        let run = mark_run(&m.service, &m.pattern, &m.line);
                        inputs.marks.send_modify(|marks| {
                            marks.insert((m.service, LOG_PATTERN_PROBE.to_string()), run);
                        });
                    }
                }
            }
            () = sleep => {}
            else => return,
        }
    }
}

/// How far back the history is read when the healer starts: the longest
/// cap window a stack file may set (`limit.within`, 7 days).
pub const REMEMBER_MS: i64 = 7 * 24 * 3_600_000;
/// How often the healer looks for releases asked for by another process
/// (`stackwarden release`, a window that does not heal).
const RELEASES_EVERY: Duration = Duration::from_secs(3);

/// Seeds the healer with what it did before this process (or this task)
/// started: actions count towards backoff and cap, a quarantine nobody
/// released stays. A release may have come from any process.
async fn remember(healer: &mut Healer, store: &Store) {
    let now = now_ms();
    let list = match store.actions_since(now - REMEMBER_MS).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!("healer: cannot read its past actions: {e}");
            return;
        }
    };
    let mut by_service: BTreeMap<String, (Vec<i64>, Option<String>)> = BTreeMap::new();
    for a in &list {
        let Some(service) = &a.action.service else {
            continue;
        };
        let by_healer = a.action.source == ActionSource::Healer.as_str();
        match a.action.action.as_str() {
            "start" | "restart" if by_healer => {
                by_service
                    .entry(service.clone())
                    .or_default()
                    .0
                    .push(a.action.at_ms);
            }
            "quarantined" if by_healer => {
                by_service.entry(service.clone()).or_default().1 = Some(a.action.result.clone());
            }
            "released" => {
                let entry = by_service.entry(service.clone()).or_default();
                entry.0.clear();
                entry.1 = None;
            }
            _ => {}
        }
    }
    for (service, (acted, quarantined)) in by_service {
        healer.remember(&service, &acted, quarantined, now);
    }
}

/// The stack's services another process's healer holds in quarantine,
/// from the history, for the window to show and release.
async fn quarantined_elsewhere(
    history: &Store,
    stack: Option<&stackwarden_stack::Stack>,
) -> Vec<HealState> {
    let Some(stack) = stack else {
        return Vec::new();
    };
    let now = now_ms();
    let mut out = Vec::new();
    for s in stack.services.iter().filter(|s| s.heal.is_some()) {
        if let Ok(Some(why)) = history
            .unreleased_quarantine(&s.name, now, REMEMBER_MS)
            .await
        {
            out.push(HealState {
                service: s.name.clone(),
                policy: s.heal.clone(),
                state: "quarantined".into(),
                detail: why,
                recent_actions: 0,
                next_at_ms: None,
            });
        }
    }
    out
}

/// Publishes `next` to the window only when it differs from what is shown.
fn publish(status: &watch::Sender<HealingStatus>, next: HealingStatus) {
    status.send_if_modified(|cur| {
        let changed = *cur != next;
        if changed {
            *cur = next;
        }
        changed
    });
}

/// A log mark lasts while the container run it came from does.
fn clear_marks(inputs: &HealerInputs, runs: &mut HashMap<String, Option<i64>>) {
    if runs.is_empty() {
        return;
    }
    let gone: Vec<String> = {
        let health = inputs.health.borrow();
        let snapshot = inputs.snapshots.borrow();
        runs.iter()
            .filter(|(service, started)| {
                let now = health
                    .services
                    .iter()
                    .find(|s| &&s.service == service)
                    .and_then(|s| snapshot.services.iter().find(|r| r.name == s.container))
                    .and_then(|r| r.started_at_ms);
                now.is_some() && now != **started
            })
            .map(|(s, _)| s.clone())
            .collect()
    };
    for service in gone {
        runs.remove(&service);
        inputs.marks.send_modify(|m| {
            m.remove(&(service.clone(), LOG_PATTERN_PROBE.to_string()));
        });
    }
}

fn mark_run(service: &str, pattern: &str, line: &str) -> ProbeRun {
    ProbeRun {
        service: service.to_string(),
        at_ms: now_ms(),
        duration_ms: 0.0,
        outcome: ProbeOutcome {
            probe: LOG_PATTERN_PROBE.to_string(),
            success: false,
            conditions: vec![ConditionResult {
                condition: format!("log !~ /{pattern}/"),
                success: false,
                observed: line.to_string(),
            }],
            error: None,
        },
    }
}

/// One line of a log as evidence: secrets masked (before the cut, so a
/// URL cut in half cannot keep its password), control characters dropped,
/// cut to [`LINE_KEPT`].
fn kept_line(text: &str) -> String {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect();
    redact::text(clean.trim_end())
        .chars()
        .take(LINE_KEPT)
        .collect()
}

fn service_inputs(
    stack: &Stack,
    health: &StackHealth,
    snapshot: &StackSnapshot,
    stops: &StopWatch,
    log_triggers: &HashMap<String, String>,
    now: i64,
) -> Vec<ServiceInput> {
    let Some(breakdown) = &health.breakdown else {
        return Vec::new();
    };
    stack
        .services
        .iter()
        .filter_map(|s| {
            let h = breakdown.services.iter().find(|h| h.service == s.name)?;
            let rows = find_containers(stack, s, &snapshot.services);
            let row: Option<&ServiceRow> = rows
                .iter()
                .find(|r| !r.is_running())
                .or(rows.first())
                .copied();
            let container = row.map(|r| ContainerFacts {
                name: r.name.clone(),
                running: r.is_running(),
                exit_code: r.exit_code,
                restart_policy: r.restart_policy.clone(),
                started_at_ms: r.started_at_ms,
                stop: match r.state {
                    ContainerState::Running => StopVerdict::Unknown,
                    ContainerState::Paused => StopVerdict::Person("paused".into()),
                    // Caught mid-change (Podman's brief `stopped`): look again.
                    ContainerState::Unknown | ContainerState::Removing => StopVerdict::Settling {
                        until_ms: now + STOP_SETTLE_MS,
                    },
                    _ => stops.verdict(&r.name, now),
                },
            });
            Some(ServiceInput {
                service: s.name.clone(),
                status: h.status,
                reason: h.reason.clone(),
                policy: s.heal.clone(),
                container,
                depends_on: s.dependency_names().map(str::to_string).collect(),
                log_trigger: log_triggers.get(&s.name).cloned(),
            })
        })
        .collect()
}

/// Records a wait, skip or quarantine; starts an action's task.
fn carry_out(
    decision: Decision,
    inputs: &HealerInputs,
    engine: Option<Engine>,
    done: &mpsc::Sender<Done>,
) {
    let Decision {
        service,
        container,
        at_ms,
        verdict,
    } = decision;
    let word = verdict.word();
    match verdict {
        Verdict::Act {
            action,
            start,
            reason,
        } => {
            let own_starts = inputs.own_starts.clone();
            let done = done.clone();
            let snapshot = inputs.snapshots.borrow().clone();
            tokio::spawn(async move {
                let name = container.unwrap_or_default();
                let id = snapshot
                    .services
                    .iter()
                    .find(|r| r.name == name)
                    .map(|r| r.id.0.clone());
                let what = if start || action == HealAction::Start {
                    ContainerAction::Start
                } else {
                    ContainerAction::Restart
                };
                let result = match (engine, id) {
                    (Some(engine), Some(id)) => {
                        own_starts.note(&name, now_ms());
                        engine
                            .act(&id, what)
                            .await
                            .map_err(|e| redact::text(&e.to_string()))
                    }
                    (None, _) => Err("no engine answers".to_string()),
                    (_, None) => Err(format!("container {name} is gone")),
                };
                if let Err(e) = &result {
                    tracing::warn!("healer: {} {name} failed: {e}", what.as_str());
                } else {
                    tracing::info!("healer: {} {name}: {reason}", what.as_str());
                }
                let _ = done
                    .send(Done {
                        service,
                        action: word,
                        reason,
                        at_ms,
                        result,
                    })
                    .await;
            });
        }
        Verdict::Wait { reason, .. }
        | Verdict::Skip { reason }
        | Verdict::Quarantine { reason } => {
            let quarantine = word == "quarantined";
            let result = if quarantine {
                tracing::warn!("healer: {service} quarantined: {reason}");
                format!("needs you: {reason}")
            } else {
                tracing::info!("healer: {service} {word}: {reason}");
                reason
            };
            record_later(
                inputs,
                ActionRecord {
                    at_ms,
                    source: ActionSource::Healer.as_str().into(),
                    action: word.into(),
                    service: Some(service),
                    ok: !quarantine,
                    result,
                },
            );
        }
    }
}

/// Records `action` once the incident of its service is open (or after
/// [`INCIDENT_WAIT`]), without holding up the healer.
fn record_later(inputs: &HealerInputs, action: ActionRecord) {
    let Some(store): Option<Store> = inputs.to.borrow().clone() else {
        return;
    };
    let mut open = inputs.open.clone();
    tokio::spawn(async move {
        let service = action.service.clone().unwrap_or_default();
        let affects = |list: &Vec<Incident>| {
            list.iter()
                .any(|i| i.affected.iter().any(|a| a.service == service))
        };
        let _ = tokio::time::timeout(INCIDENT_WAIT, open.wait_for(affects)).await;
        if let Err(e) = store.record_action(&action).await {
            tracing::warn!("cannot record the healer's {}: {e}", action.action);
        }
    });
}

/// The log followers of the services with log patterns, one per running
/// container.
#[derive(Default)]
struct LogFollowers {
    /// Service -> (container id, started at), and its task.
    running: BTreeMap<String, ((String, Option<i64>), tokio::task::AbortHandle)>,
    tasks: JoinSet<()>,
}

impl LogFollowers {
    fn update(
        &mut self,
        engine: Option<&Engine>,
        loaded: &LoadedStack,
        snapshot: &StackSnapshot,
        out: &mpsc::Sender<Matched>,
    ) {
        let mut wanted: BTreeMap<String, (String, Option<i64>, Vec<stackwarden_heal::LogPattern>)> =
            BTreeMap::new();
        if let (Some(_), Some(stack)) = (engine, loaded.stack.as_deref()) {
            for s in &stack.services {
                let Some(policy) = s.heal.as_ref().filter(|p| !p.log_patterns.is_empty()) else {
                    continue;
                };
                let rows = find_containers(stack, s, &snapshot.services);
                if let Some(row) = rows.iter().find(|r| r.is_running()) {
                    wanted.insert(
                        s.name.clone(),
                        (
                            row.id.0.clone(),
                            row.started_at_ms,
                            policy.log_patterns.clone(),
                        ),
                    );
                }
            }
        }
        self.running.retain(|service, (key, task)| {
            let keep = wanted
                .get(service)
                .is_some_and(|(id, started, _)| (id, started) == (&key.0, &key.1));
            if !keep {
                task.abort();
            }
            keep
        });
        let Some(engine) = engine else {
            return;
        };
        for (service, (id, started, patterns)) in wanted {
            if self.running.contains_key(&service) {
                continue;
            }
            let task = self.tasks.spawn(follow(
                engine.clone(),
                service.clone(),
                id.clone(),
                started,
                patterns,
                out.clone(),
            ));
            self.running.insert(service, ((id, started), task));
        }
        while self.tasks.try_join_next().is_some() {}
    }
}

impl Drop for LogFollowers {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Follows one container's new log lines, sending those that match.
async fn follow(
    engine: Engine,
    service: String,
    id: String,
    started_at_ms: Option<i64>,
    patterns: Vec<stackwarden_heal::LogPattern>,
    out: mpsc::Sender<Matched>,
) {
    let compiled: Vec<(regex::Regex, &stackwarden_heal::LogPattern)> = patterns
        .iter()
        .filter_map(|p| regex::Regex::new(&p.pattern).ok().map(|r| (r, p)))
        .collect();
    loop {
        let mut lines = Box::pin(engine.logs(&id, 0, true));
        while let Some(Ok(line)) = lines.next().await {
            for (re, p) in &compiled {
                if re.is_match(&line.text) {
                    let sent = out
                        .send(Matched {
                            service: service.clone(),
                            pattern: p.pattern.clone(),
                            effect: p.effect,
                            line: kept_line(&line.text),
                            started_at_ms,
                        })
                        .await;
                    if sent.is_err() {
                        return;
                    }
                    break;
                }
            }
        }
        tokio::time::sleep(FOLLOW_AGAIN).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_lines_lose_control_characters_secrets_and_length() {
        let line = format!(
            "\u{1b}[31mFATAL\u{7} postgres://u:hunter2@db/x {}",
            "x".repeat(1000)
        );
        let kept = kept_line(&line);
        assert!(!kept.contains('\u{1b}') && !kept.contains('\u{7}'));
        assert!(!kept.contains("hunter2"), "{kept}");
        assert!(kept.chars().count() <= LINE_KEPT + 16);
    }

    #[test]
    fn a_mark_is_a_failing_log_pattern_run_with_the_line() {
        let run = mark_run("db", "FATAL", "FATAL: disk full");
        assert_eq!(run.outcome.probe, LOG_PATTERN_PROBE);
        assert!(!run.outcome.success);
        assert_eq!(run.outcome.conditions[0].observed, "FATAL: disk full");
    }
}
