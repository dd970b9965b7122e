//! The live view of the stack: one task that finds the engine, lists its
//! containers once, then keeps the rows current from engine events (no list
//! per refresh) and samples CPU and memory on an interval only while someone
//! is looking. Everything it knows is published as a `StackSnapshot` on a
//! `watch` channel; the window, tray and store only read it.
//!
//! The engine is pinged every [`PING_EVERY`] whether or not anyone samples,
//! and every call has a deadline, so an engine that stops answering (a
//! frozen process, not only a closed socket) is reported unreachable within
//! seconds; the monitor then reconnects with backoff. Only a transport
//! failure ends a session: a container whose inspect cannot be read is
//! shown in state `unknown`, failed stats leave that round's usage empty,
//! and an unreadable event is skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use stackwarden_model::{ContainerId, CpuSample, EngineStatus, ServiceRow, StackSnapshot};
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::MissedTickBehavior;

use crate::convert::{unreadable_row, PROJECT_LABEL, SERVICE_LABEL};
use crate::endpoint::{connect, Candidate, START_HINT};
use crate::engine::{Engine, StatsSample};
use crate::error::EngineError;
use stackwarden_model::clock::now_ms;

const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How often a connected engine is pinged, sampling or not.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// Pause before following events again after the engine ended the stream.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What the monitor needs to run.
pub struct StackMonitor {
    pub candidates: Vec<Candidate>,
    pub interval: Duration,
    pub config_error: Option<String>,
    /// Receives every batch of resource samples (for the history store).
    pub samples: Option<mpsc::Sender<Vec<StatsSample>>>,
}

/// The read side of a running monitor, cheap to clone.
#[derive(Clone)]
pub struct MonitorHandle {
    snapshot: watch::Receiver<StackSnapshot>,
    engine: watch::Receiver<Option<Engine>>,
    sampling: Arc<watch::Sender<bool>>,
    wake: Arc<Notify>,
}

impl MonitorHandle {
    pub fn snapshot(&self) -> StackSnapshot {
        self.snapshot.borrow().clone()
    }

    /// A receiver that changes whenever the snapshot does.
    pub fn subscribe(&self) -> watch::Receiver<StackSnapshot> {
        self.snapshot.clone()
    }

    /// The connected engine, for actions; `None` while unreachable.
    pub fn engine(&self) -> Option<Engine> {
        self.engine.borrow().clone()
    }

    /// Turns resource sampling on (someone is looking) or off.
    pub fn set_sampling(&self, on: bool) {
        self.sampling.send_if_modified(|v| {
            let changed = *v != on;
            *v = on;
            changed
        });
    }

    pub fn is_sampling(&self) -> bool {
        *self.sampling.borrow()
    }

    /// Skips the current backoff wait and tries the engine now.
    pub fn retry_now(&self) {
        self.wake.notify_one();
    }
}

impl StackMonitor {
    /// Starts the monitor task on the current tokio runtime.
    pub fn spawn(self) -> MonitorHandle {
        let initial = StackSnapshot::new(
            EngineStatus::Connecting,
            Vec::new(),
            self.config_error.clone(),
            now_ms(),
        );
        let (snapshot_tx, snapshot_rx) = watch::channel(initial);
        let (engine_tx, engine_rx) = watch::channel(None);
        let (sampling_tx, sampling_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let handle = MonitorHandle {
            snapshot: snapshot_rx,
            engine: engine_rx,
            sampling: Arc::new(sampling_tx),
            wake: wake.clone(),
        };
        let task = Task {
            config: self,
            snapshot: snapshot_tx,
            engine: engine_tx,
            sampling: sampling_rx,
            wake,
        };
        tokio::spawn(task.run());
        handle
    }
}

struct Task {
    config: StackMonitor,
    snapshot: watch::Sender<StackSnapshot>,
    engine: watch::Sender<Option<Engine>>,
    sampling: watch::Receiver<bool>,
    wake: Arc<Notify>,
}

/// Why a connected session ended.
enum Ended {
    Lost(String),
    Closed,
}

impl Task {
    async fn run(mut self) {
        let mut retry = FIRST_RETRY;
        loop {
            // Nobody listening any more (the runtime stopped): end now, not
            // after the connection attempts' time-outs.
            let attempt = tokio::select! {
                attempt = connect(&self.config.candidates) => attempt,
                _ = self.snapshot.closed() => return,
            };
            match attempt {
                Ok(connection) => {
                    retry = FIRST_RETRY;
                    let engine = Engine::new(connection).await;
                    tracing::info!(
                        endpoint = %stackwarden_model::redact::text(engine.endpoint()),
                        "engine connected"
                    );
                    self.engine.send_replace(Some(engine.clone()));
                    let ended = self.run_connected(&engine).await;
                    self.engine.send_replace(None);
                    match ended {
                        Ended::Closed => return,
                        Ended::Lost(why) => {
                            tracing::warn!(%why, "engine lost");
                            self.publish_unreachable(
                                vec![stackwarden_model::EndpointAttempt {
                                    endpoint: engine.endpoint().to_string(),
                                    source: engine.source().to_string(),
                                    error: why,
                                }],
                                FIRST_RETRY,
                            );
                        }
                    }
                }
                Err(attempts) => {
                    self.publish_unreachable(attempts, retry);
                }
            }
            if self.snapshot.is_closed() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(retry) => {}
                _ = self.wake.notified() => {}
                _ = self.snapshot.closed() => return,
            }
            retry = (retry * 2).min(MAX_RETRY);
        }
    }

    fn publish_unreachable(
        &self,
        attempts: Vec<stackwarden_model::EndpointAttempt>,
        retry: Duration,
    ) {
        let engine = EngineStatus::Unreachable {
            attempts,
            hint: START_HINT.to_string(),
            retry_in_ms: u64::try_from(retry.as_millis()).unwrap_or(u64::MAX),
        };
        self.snapshot.send_replace(StackSnapshot::new(
            engine,
            Vec::new(),
            self.config.config_error.clone(),
            now_ms(),
        ));
    }

    fn publish(&self, engine: &Engine, rows: &BTreeMap<ContainerId, ServiceRow>) {
        let mut services: Vec<ServiceRow> = rows.values().cloned().collect();
        services.sort_by(|a, b| (&a.project, &a.name).cmp(&(&b.project, &b.name)));
        let status = EngineStatus::Connected {
            endpoint: engine.endpoint().to_string(),
            source: engine.source().to_string(),
        };
        self.snapshot.send_replace(StackSnapshot::new(
            status,
            services,
            self.config.config_error.clone(),
            now_ms(),
        ));
    }

    async fn run_connected(&mut self, engine: &Engine) -> Ended {
        // Events from just before the list, so nothing between the two is missed.
        let mut since = now_ms() / 1000 - 1;
        let mut events = Box::pin(engine.container_events(since));
        let mut rows: BTreeMap<ContainerId, ServiceRow> = BTreeMap::new();
        let mut prev_cpu: HashMap<ContainerId, CpuSample> = HashMap::new();
        let listed = match engine.list_named().await {
            Ok(list) => engine.inspect_listed(&list).await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(list) => rows.extend(list.into_iter().map(|r| (r.id.clone(), r))),
            // Without a list there is nothing to show, whatever the reason.
            Err(e) => return Ended::Lost(e.to_string()),
        }
        self.publish(engine, &rows);

        let mut ticker = tokio::time::interval(self.config.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let sampling = *self.sampling.borrow();
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        if let Some(t) = event.time {
                            since = since.max(t);
                        }
                        if let Err(e) = self.apply_event(engine, &mut rows, &mut prev_cpu, event).await {
                            return Ended::Lost(e.to_string());
                        }
                        self.publish(engine, &rows);
                    }
                    Some(Err(e)) if e.is_lost() => return Ended::Lost(e.to_string()),
                    Some(Err(e)) => tracing::warn!(error = %e, "skipped an unreadable event"),
                    None => {
                        // The engine ended the stream (after an unreadable
                        // event, say): follow again from the last event's
                        // second, so none is missed. A lost engine shows on
                        // the new stream or the next ping.
                        tracing::info!("event stream ended; following again");
                        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                        events = Box::pin(engine.container_events(since));
                    }
                },
                _ = ping.tick() => {
                    if let Err(e) = engine.ping().await {
                        if e.is_lost() {
                            return Ended::Lost(e.to_string());
                        }
                        tracing::warn!(error = %e, "the engine answered a ping with an error");
                    }
                }
                _ = ticker.tick(), if sampling => {
                    if let Err(e) = self.sample(engine, &mut rows, &mut prev_cpu).await {
                        if e.is_lost() {
                            return Ended::Lost(e.to_string());
                        }
                        tracing::warn!(error = %e, "no usage this round");
                    }
                    self.publish(engine, &rows);
                }
                changed = self.sampling.changed() => {
                    if changed.is_err() {
                        return Ended::Closed;
                    }
                    if *self.sampling.borrow() {
                        ticker.reset_immediately();
                    }
                }
                _ = self.snapshot.closed() => return Ended::Closed,
            }
        }
    }

    async fn apply_event(
        &self,
        engine: &Engine,
        rows: &mut BTreeMap<ContainerId, ServiceRow>,
        prev_cpu: &mut HashMap<ContainerId, CpuSample>,
        event: bollard::models::EventMessage,
    ) -> Result<(), EngineError> {
        let Some(actor) = event.actor else {
            return Ok(());
        };
        let Some(id) = actor.id else {
            return Ok(());
        };
        let action = event.action.unwrap_or_default();
        let key = ContainerId(id.clone());
        if matches!(action.as_str(), "remove" | "destroy") {
            rows.remove(&key);
            prev_cpu.remove(&key);
            return Ok(());
        }
        if action.starts_with("exec_")
            || matches!(action.as_str(), "attach" | "resize" | "top" | "sync")
        {
            return Ok(());
        }
        match engine.inspect_row(&id).await {
            Ok(mut row) => {
                if row.is_running() {
                    row.usage = rows.get(&key).and_then(|r| r.usage.clone());
                } else {
                    prev_cpu.remove(&key);
                }
                rows.insert(key, row);
                Ok(())
            }
            Err(EngineError::ContainerGone(_)) => {
                rows.remove(&key);
                prev_cpu.remove(&key);
                Ok(())
            }
            Err(e) if e.is_lost() => Err(e),
            Err(e) => {
                // It exists, but what it is now is unknown: keep what was
                // known of it (or what the event says) in state `unknown`.
                tracing::warn!(container = %id, error = %e, "shown as unknown");
                let attribute = |k: &str| actor.attributes.as_ref().and_then(|a| a.get(k)).cloned();
                let row = match rows.get(&key) {
                    Some(known) => unreadable_row(
                        &id,
                        &known.name,
                        known.project.clone(),
                        known.compose_service.clone(),
                    ),
                    None => unreadable_row(
                        &id,
                        &attribute("name").unwrap_or_else(|| id.clone()),
                        attribute(PROJECT_LABEL),
                        attribute(SERVICE_LABEL),
                    ),
                };
                prev_cpu.remove(&key);
                rows.insert(key, row);
                Ok(())
            }
        }
    }

    async fn sample(
        &self,
        engine: &Engine,
        rows: &mut BTreeMap<ContainerId, ServiceRow>,
        prev_cpu: &mut HashMap<ContainerId, CpuSample>,
    ) -> Result<(), EngineError> {
        let mut list: Vec<ServiceRow> = rows.values().cloned().collect();
        let samples = engine.sample(&mut list, prev_cpu).await?;
        for row in list {
            if let Some(existing) = rows.get_mut(&row.id) {
                existing.usage = row.usage;
            }
        }
        if let Some(tx) = &self.config.samples {
            if !samples.is_empty() && tx.try_send(samples).is_err() {
                tracing::debug!("history store is behind; dropped one batch of samples");
            }
        }
        Ok(())
    }
}
