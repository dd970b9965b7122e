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
use stackwarden_incidents::{
    signals_from_events, Change, Incident, IncidentTracker, PastEvent, Signal,
};
use stackwarden_model::clock::now_ms;
use stackwarden_model::{redact, ContainerState, EngineStatus, StackSnapshot};
use stackwarden_probes::StackHealth;
use stackwarden_stack::LoadedStack;
use stackwarden_store::{ActionRecord, ActionSource, Evidence, Gap, Store};
use tokio::sync::watch;

use crate::recorder::WriteTo;

/// How often the watch notes that it is running.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);
/// Away longer than this (three heartbeats) is a gap on the timeline.
const GAP_AFTER_MS: i64 = 90_000;
/// How long catching up waits for a stack, and reads the engine's events.
const CATCH_UP_WITHIN: Duration = Duration::from_secs(30);
/// Past events arrive together: a pause this long means they are all in.
const EVENTS_PAUSE: Duration = Duration::from_secs(3);
/// How far ahead of the request the past events' `until` lies. Podman
/// reads its whole event log (up to 1 MB by default) before the recent
/// events and stops reading at `until`: one that has passed, or comes
/// within milliseconds, ends the stream with none. The stream ends at
/// `until` at the latest.
const EVENTS_READ_AHEAD_S: i64 = 5;
/// The most past events read (a month of a busy engine is far fewer).
const MAX_CATCH_UP_EVENTS: usize = 200_000;

/// Incidents found in past events stored per transaction.
const SAVE_CHUNK: usize = 200;

/// How long evidence waits for a container caught mid-change.
const SETTLE_TRIES: u32 = 10;
const SETTLE_STEP: Duration = Duration::from_millis(300);

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
    /// The containers Stackwarden itself started lately.
    pub own_starts: OwnStarts,
}

/// A container starting this soon after Stackwarden started or restarted it
/// is that action (recorded as the person's), not the engine's own.
const OWN_START_WITHIN_MS: i64 = 15_000;

/// The containers Stackwarden was asked to start or restart, and when:
/// noted before the engine is called, so the start seen right after is not
/// taken for the engine's own.
#[derive(Clone, Default)]
pub struct OwnStarts(std::sync::Arc<std::sync::Mutex<HashMap<String, i64>>>);

impl OwnStarts {
    pub fn note(&self, container: &str, at_ms: i64) {
        let mut map = crate::locked(&self.0);
        map.retain(|_, at| at_ms - *at < OWN_START_WITHIN_MS);
        map.insert(container.to_string(), at_ms);
    }

    fn recent(&self, now_ms: i64) -> Vec<String> {
        crate::locked(&self.0)
            .iter()
            .filter(|(_, at)| now_ms - **at < OWN_START_WITHIN_MS)
            .map(|(name, _)| name.clone())
            .collect()
    }
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
    // Ends with this task.
    let mut _catching_up = None;
    let store = inputs.to.borrow().clone();
    if let Some(store) = store {
        // What happened while nobody watched, beside the live watch (the
        // engine may take a while to answer for the past).
        let past = CatchUp {
            store: store.clone(),
            monitor: inputs.monitor.clone(),
            stacks: inputs.stacks.clone(),
        };
        _catching_up = Some(crate::supervisor::AbortOnDrop(
            tokio::spawn(past.run()).abort_handle(),
        ));
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
    let mut engine_lost_at: Option<i64> = None;
    let mut starts = Starts::default();
    // Catching up noted the first one.
    let mut heartbeat = tokio::time::interval_at(
        tokio::time::Instant::now() + HEARTBEAT_EVERY,
        HEARTBEAT_EVERY,
    );
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let mut signals = Vec::new();
        tokio::select! {
            _ = heartbeat.tick() => {
                let store = inputs.to.borrow().clone();
                if let Some(store) = store {
                    if let Err(e) = store.heartbeat(now_ms()).await {
                        tracing::warn!("cannot note the watch's heartbeat: {e}");
                    }
                }
            }
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
                let (engine, restarts) = {
                    let snapshot = inputs.snapshots.borrow_and_update();
                    let health = inputs.health.borrow();
                    let own = inputs.own_starts.recent(now_ms());
                    (snapshot.engine.clone(), starts.seen(&snapshot, &health, &own, now_ms()))
                };
                let store = inputs.to.borrow().clone();
                if let Some(store) = store {
                    for action in restarts {
                        if let Err(e) = store.record_action(&action).await {
                            tracing::warn!("cannot note a container start: {e}");
                        }
                    }
                }
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
                        let at_ms = now_ms();
                        signals.push(Signal::Engine { at_ms, reachable: now, detail });
                        // While the engine is away nothing is seen: a gap.
                        match (now, engine_lost_at.take()) {
                            (false, _) => engine_lost_at = Some(at_ms),
                            (true, Some(from_ms)) => {
                                let store = inputs.to.borrow().clone();
                                if let Some(store) = store {
                                    let gap = Gap { from_ms, to_ms: at_ms, reason: "the container engine did not answer".into() };
                                    if let Err(e) = store.record_gap(&gap).await {
                                        tracing::warn!("cannot record a gap: {e}");
                                    }
                                }
                            }
                            (true, None) => {}
                        }
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

/// The failing probes of `service` in its newest runs, each condition that
/// failed with the value observed ("health: status == \"ok\" (observed
/// \"degraded\")"), or why the probe could not run; `None` when none fails.
fn failing_conditions(runs: &[stackwarden_health::ProbeRun], service: &str) -> Option<String> {
    let lines: Vec<String> = runs
        .iter()
        .filter(|r| r.service == service && !r.outcome.success)
        .map(|r| {
            let failed: Vec<String> = r
                .outcome
                .conditions
                .iter()
                .filter(|c| !c.success)
                .map(|c| format!("{} (observed {})", c.condition, c.observed))
                .collect();
            match (&r.outcome.error, failed.is_empty()) {
                (Some(error), _) => format!("{}: {error}", r.outcome.probe),
                (None, false) => format!("{}: {}", r.outcome.probe, failed.join("; ")),
                (None, true) => format!("{}: failed", r.outcome.probe),
            }
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// When each of the stack's containers last started, to notice it
/// starting again (its restart policy, a person, the healer) for the
/// timeline's restart markers.
#[derive(Default)]
struct Starts(HashMap<String, (i64, u32)>);

impl Starts {
    /// The restarts since the last snapshot, as engine actions; those of
    /// the containers in `own` (Stackwarden started them, and noted it) are
    /// left out.
    fn seen(
        &mut self,
        snapshot: &StackSnapshot,
        health: &StackHealth,
        own: &[String],
        at_ms: i64,
    ) -> Vec<ActionRecord> {
        let mut out = Vec::new();
        for s in &health.services {
            for name in s.containers.iter().chain(std::iter::once(&s.container)) {
                let Some(row) = snapshot.services.iter().find(|r| &r.name == name) else {
                    continue;
                };
                let Some(started) = row.started_at_ms.filter(|_| row.is_running()) else {
                    continue;
                };
                let before = self.0.insert(name.clone(), (started, row.restart_count));
                if let Some((was, restarts)) = before {
                    if started > was && !own.contains(name) {
                        let by_policy = row.restart_count > restarts;
                        out.push(ActionRecord {
                            at_ms: started.min(at_ms),
                            source: ActionSource::Engine.as_str().to_string(),
                            action: if by_policy { "restarted" } else { "started" }.to_string(),
                            service: Some(s.service.clone()),
                            ok: true,
                            result: if by_policy {
                                format!(
                                    "{name} restarted by its restart policy (restart {})",
                                    row.restart_count
                                )
                            } else {
                                format!("{name} started again")
                            },
                        });
                    }
                }
            }
        }
        out
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
    let conditions = failing_conditions(&inputs.health.borrow().last_runs, service);
    if let Some(text) = conditions {
        list.push(Evidence {
            at_ms,
            kind: "conditions".into(),
            service: Some(service.to_string()),
            text: redact::text(&text),
        });
    }
    let container = inputs
        .health
        .borrow()
        .services
        .iter()
        .find(|s| s.service == service)
        .filter(|s| s.has_container)
        .map(|s| s.container.clone());
    // A container caught mid-change (its inspect failing while it dies)
    // shows as `unknown` for a moment: wait a little for what it became.
    let mut snapshots = inputs.snapshots.clone();
    let mut row = None;
    for _ in 0..SETTLE_TRIES {
        row = container.as_ref().and_then(|name| {
            snapshots
                .borrow_and_update()
                .services
                .iter()
                .find(|r| &r.name == name)
                .cloned()
        });
        if row
            .as_ref()
            .is_none_or(|r| r.state != ContainerState::Unknown)
        {
            break;
        }
        let _ = tokio::time::timeout(SETTLE_STEP, snapshots.changed()).await;
    }
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

/// What catching up reads.
struct CatchUp {
    store: Store,
    monitor: watch::Receiver<Option<MonitorHandle>>,
    stacks: watch::Receiver<LoadedStack>,
}

impl CatchUp {
    async fn run(self) {
        catch_up(&self.store, &self.monitor, &self.stacks).await;
    }
}

/// Catches up on what happened since the watch last ran: the time away is a
/// gap, and the engine's events of the stack's containers from then on
/// become incidents marked as seen from engine events.
async fn catch_up(
    store: &Store,
    monitor: &watch::Receiver<Option<MonitorHandle>>,
    stacks: &watch::Receiver<LoadedStack>,
) {
    let started = now_ms();
    let last = store.last_heartbeat().await.ok().flatten();
    if let Err(e) = store.heartbeat(started).await {
        tracing::warn!("cannot note the watch's heartbeat: {e}");
    }
    let Some(last) = last.filter(|l| started - l > GAP_AFTER_MS) else {
        return;
    };
    let gap = Gap {
        from_ms: last,
        to_ms: started,
        reason: "Stackwarden was not watching".into(),
    };
    if let Err(e) = store.record_gap(&gap).await {
        tracing::warn!("cannot record a gap: {e}");
    }
    // The monitor's handle is published once; it connects later, which
    // its watch channel does not announce: ask until it has an engine.
    // However long the engine takes to answer (started after the desktop
    // session, say): the past stays in its event log until then. This task
    // ends with the runtime.
    let engine = loop {
        let engine = monitor.borrow().as_ref().and_then(MonitorHandle::engine);
        if let Some(engine) = engine {
            break Some(engine);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The live watch sees events from when the engine answered; what came
    // between the start and then (a container's `died`, logged by its
    // cleanup a moment after a kill) is the catch-up's to replay.
    let live_from = now_ms().max(started);
    let mut stacks = stacks.clone();
    let stack = tokio::time::timeout(CATCH_UP_WITHIN, async {
        loop {
            let stack = stacks.borrow_and_update().stack.clone();
            if stack.is_some() {
                return stack;
            }
            if stacks.changed().await.is_err() {
                return None;
            }
        }
    })
    .await
    .ok()
    .flatten();
    let (Some(engine), Some(stack)) = (engine, stack) else {
        tracing::warn!(
            "could not catch up on what happened while nobody watched: no engine or no stack"
        );
        return;
    };
    let deps = dependencies(&stacks.borrow());
    let done = replay_engine_events(store, &engine, &stack, deps, last, live_from).await;
    tracing::info!(
        "caught up on {} engine events since the watch last ran: {} incidents (events read in {:.0} ms, recorded in {:.0} ms)",
        done.events,
        done.incidents,
        done.read_ms,
        done.record_ms
    );
}

/// The `until` (Unix seconds) of a request for past events made at `now_ms`:
/// at least EVENTS_READ_AHEAD_S later, whatever the fraction of the second.
fn events_until_secs(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000) + 1 + EVENTS_READ_AHEAD_S
}

/// When an engine event happened, in ms, from its nanoseconds or seconds.
fn event_ms(time_nano: Option<i64>, time: Option<i64>) -> Option<i64> {
    time_nano
        .map(|n| n / 1_000_000)
        .or(time.map(|t| t.saturating_mul(1000)))
}

/// What catching up found and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct CaughtUp {
    /// Events of the stack's containers read.
    pub events: usize,
    pub incidents: usize,
    /// From asking until the last event arrived (not the pause after it).
    pub read_ms: f64,
    /// Turning them into incidents with their evidence, stored.
    pub record_ms: f64,
}

/// Reads the engine's events between `last` and `started` (ms) and records
/// the incidents of `stack`'s containers they show, marked as seen from
/// engine events, each with the events of its span as evidence. The watch
/// runs it when it starts; public for the benchmark.
pub async fn replay_engine_events(
    store: &Store,
    engine: &stackwarden_engine::Engine,
    stack: &stackwarden_stack::Stack,
    dependencies: BTreeMap<String, Vec<String>>,
    last: i64,
    started: i64,
) -> CaughtUp {
    let asked = std::time::Instant::now();
    let mut last_arrived = asked;
    // Past events come at once; the stream is not relied on to end at
    // `until` (Podman ends it only when a later event arrives), so reading
    // stops after a pause once they started coming, or at the deadline.
    // `until` follows the request, not the watch's start (waiting for the
    // engine to connect takes a while): see EVENTS_READ_AHEAD_S. Events
    // after `started` are the live watch's and are left out below.
    let between =
        || Box::pin(engine.container_events_between(last / 1000, events_until_secs(now_ms())));
    let mut stream = between();
    let deadline = tokio::time::Instant::now() + CATCH_UP_WITHIN;
    let mut events = Vec::new();
    let mut retried = false;
    while events.len() < MAX_CATCH_UP_EVENTS && tokio::time::Instant::now() < deadline {
        // The engine may take a while to find the first one (Podman reads
        // its whole event log); after that a pause means they are all in.
        let wait = if events.is_empty() {
            deadline.saturating_duration_since(tokio::time::Instant::now())
        } else {
            EVENTS_PAUSE
        };
        match tokio::time::timeout(wait, stream.next()).await {
            Ok(Some(Ok(event))) => {
                let at_ms = event_ms(event.time_nano, event.time);
                // After this watch started: the live watch's, not ours. Not a
                // reason to stop either: a stray timestamp must not hide the
                // events that follow it.
                if at_ms.is_none_or(|t| t <= started) {
                    last_arrived = std::time::Instant::now();
                    events.push(event);
                }
            }
            // An engine busy with other work may fail the first call: once
            // more, after a moment.
            Ok(Some(Err(e))) if events.is_empty() && !retried => {
                tracing::warn!("reading the engine's past events failed, trying again: {e}");
                retried = true;
                tokio::time::sleep(Duration::from_secs(1)).await;
                stream = between();
            }
            Ok(Some(Err(e))) => {
                tracing::warn!("reading the engine's past events stopped: {e}");
                break;
            }
            Ok(None) | Err(_) => break,
        }
    }
    let read_ms = last_arrived.duration_since(asked).as_secs_f64() * 1000.0;
    let recording = std::time::Instant::now();
    let mut past = Vec::new();
    for event in events {
        let attributes = event.actor.as_ref().and_then(|a| a.attributes.as_ref());
        let attribute = |key: &str| attributes.and_then(|a| a.get(key)).cloned();
        let name = attribute("name").unwrap_or_default();
        let project = attribute("com.docker.compose.project");
        let service = attribute("com.docker.compose.service");
        let Some(owner) = stack
            .services
            .iter()
            .find(|s| s.is_container(stack, &name, project.as_deref(), service.as_deref()))
        else {
            continue;
        };
        let at_ms = event_ms(event.time_nano, event.time).unwrap_or(last);
        past.push(PastEvent {
            at_ms,
            service: owner.name.clone(),
            action: event.action.clone().unwrap_or_default(),
            exit_code: attribute("exitCode").and_then(|c| c.parse().ok()),
        });
    }
    past.sort_by_key(|e| e.at_ms);
    let required = stack
        .services
        .iter()
        .filter(|s| stack.groups.iter().any(|g| g.name == s.group && g.required))
        .map(|s| s.name.clone())
        .collect();
    let mut tracker = IncidentTracker::new(dependencies);
    let mut found: BTreeMap<u64, Incident> = BTreeMap::new();
    for signal in signals_from_events(&past, &required) {
        for change in tracker.apply(signal) {
            let (Change::Opened(i) | Change::Updated(i) | Change::Closed(i)) = change;
            found.insert(i.key, i);
        }
    }
    let mut recorded = Vec::with_capacity(found.len());
    for (_, mut incident) in found {
        incident.from_engine_events = true;
        // What is still wrong now, the live watch takes up as its own
        // incident; this one is what was seen while away.
        incident.closed_at_ms.get_or_insert(started);
        // Its evidence: the events of its services within its span.
        let (from, to) = (
            incident.opened_at_ms,
            incident.closed_at_ms.unwrap_or(started),
        );
        let first = past.partition_point(|e| e.at_ms < from);
        let evidence: Vec<Evidence> = past[first..]
            .iter()
            .take_while(|e| e.at_ms <= to)
            .filter(|e| incident.affected.iter().any(|a| a.service == e.service))
            .map(|e| Evidence {
                at_ms: e.at_ms,
                kind: "event".into(),
                service: Some(e.service.clone()),
                text: match e.exit_code {
                    Some(code) => format!("{} (exit code {code})", e.action),
                    None => e.action.clone(),
                },
            })
            .collect();
        recorded.push((incident, evidence));
    }
    let incidents = recorded.len();
    let mut logged = 0;
    // In chunks: one long transaction would hold off the live watch's
    // writes past SQLite's busy timeout.
    for chunk in recorded.chunks(SAVE_CHUNK) {
        match store.save_incidents_with_evidence(chunk).await {
            Ok(ids) => {
                for ((incident, _), id) in chunk.iter().zip(ids) {
                    if logged < 20 {
                        logged += 1;
                        tracing::info!(
                            "incident {id} while nobody watched, from engine events: {}",
                            redact::text(&incident.cause.summary)
                        );
                    }
                }
            }
            Err(e) => tracing::warn!("cannot record incidents seen in engine events: {e}"),
        }
    }
    CaughtUp {
        events: past.len(),
        incidents,
        read_ms,
        record_ms: recording.elapsed().as_secs_f64() * 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use stackwarden_health::{ConditionResult, ProbeOutcome, ProbeRun};

    use super::*;

    /// A request late in a second once got `until` 10 ms away: Podman ended
    /// the stream before reaching the recent events, and a crash while
    /// nobody watched was lost.
    #[test]
    fn past_events_are_asked_until_well_after_the_request() {
        for now_ms in [
            1_796_122_007_000,
            1_796_122_007_001,
            1_796_122_007_500,
            1_796_122_007_988,
            1_796_122_007_999,
        ] {
            let ahead_ms = events_until_secs(now_ms) * 1000 - now_ms;
            assert!(
                ahead_ms >= EVENTS_READ_AHEAD_S * 1000,
                "{now_ms}: {ahead_ms} ms"
            );
            assert!(
                ahead_ms <= (EVENTS_READ_AHEAD_S + 1) * 1000,
                "{now_ms}: {ahead_ms} ms"
            );
        }
    }

    fn run(service: &str, probe: &str, success: bool, error: Option<&str>) -> ProbeRun {
        ProbeRun {
            service: service.into(),
            at_ms: 1,
            duration_ms: 1.0,
            outcome: ProbeOutcome {
                probe: probe.into(),
                success,
                conditions: vec![
                    ConditionResult {
                        condition: "status == 200".into(),
                        success: true,
                        observed: "200".into(),
                    },
                    ConditionResult {
                        condition: "body.status == \"ok\"".into(),
                        success: false,
                        observed: "\"degraded\"".into(),
                    },
                ],
                error: error.map(str::to_string),
            },
        }
    }

    #[test]
    fn failing_conditions_name_each_failed_one_with_its_observed_value() {
        let runs = [
            run("aidb", "health", false, None),
            run("aidb", "tables", false, Some("connection refused")),
            run("aidb", "ok", true, None),
            run("other", "health", false, None),
        ];
        assert_eq!(
            failing_conditions(&runs, "aidb").as_deref(),
            Some(
                "health: body.status == \"ok\" (observed \"degraded\")\ntables: connection refused"
            )
        );
        assert_eq!(failing_conditions(&runs, "qdrant"), None);
    }
}
