//! The running watch, with no GUI toolkit in it: the engine monitor, the
//! stack source, the probe scheduler, the recorder and retention, the
//! one-at-a-time verification and log following. The desktop app (window
//! and tray) and `stackwarden watch` (headless) are hosts: they start a
//! [`Runtime`], read its one state stream ([`Runtime::state`]) and call its
//! methods; nothing that watches or records lives in a host.
//!
//! Every long-lived task runs under a [`Supervisor`]. Components that spawn
//! their own task (monitor, stack watcher, scheduler) publish into channels
//! this crate owns, so a component that dies is started again behind the
//! same channels and readers never notice more than a gap.

mod actions;
mod drill;
mod error;
mod healer;
mod incidents;
pub mod instance;
pub mod notices;
mod recorder;
mod recovery;
pub mod supervisor;
pub mod telemetry;
mod verification;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use stackwarden_engine::{Candidate, Engine, MonitorHandle, StackMonitor, StatsSample};
use stackwarden_incidents::Incident;
use stackwarden_model::{Config, EngineStatus, StackSnapshot};
use stackwarden_probes::{HealthRecord, HealthScheduler, ProbeRunner, Secrets, StackHealth};
use stackwarden_stack::{
    GoodText, LoadEnv, LoadedStack, SavedText, StackSource, StackWatcher, POLL_INTERVAL,
};
use stackwarden_store::{Retention, Store};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use ts_rs::TS;

pub use actions::{
    ActionEntry, EvidenceEntry, IncidentDetail, IncidentEntry, ReportFormat, ServiceFigures,
    TimelineData, TIMELINE_MAX_MS,
};
pub use drill::{DrillPlan, DrillStep, DRILL_TIMEOUT};
pub use error::RuntimeError;
pub use healer::{HealingStatus, REMEMBER_MS as HEAL_MEMORY_MS};
pub use incidents::{replay_engine_events, CaughtUp};
pub use instance::{Holder, LockError};
pub use recovery::RecoveryPreview;
pub use stackwarden_heal::HealState;
pub use stackwarden_store::ActionSource;
pub use stackwarden_store::{DrillRecord, StoredDrill};
pub use supervisor::{Supervisor, TaskProblem};
pub use verification::{verification_action, VerifyStarted};

/// How often retention runs when nobody asks.
pub const RETENTION_EVERY: Duration = Duration::from_secs(600);
/// How long stopping waits for queued records to be written.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// What a host asks for when it starts a runtime.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    pub config: Config,
    /// Problems in the config file, shown with the engine state.
    pub config_error: Option<String>,
    pub candidates: Vec<Candidate>,
    pub stack: StackSource,
    /// Where the database and the lock live; `None` runs without history.
    pub data_dir: Option<PathBuf>,
    /// Who this is, for the lock ("desktop app", "stackwarden watch").
    pub host: &'static str,
    /// When another runtime already records into the data folder: refuse to
    /// start (`true`, the CLI) or watch without recording (the window).
    pub refuse_when_held: bool,
    pub retention_every: Duration,
    /// How often the telemetry files are looked at.
    pub telemetry_every: Duration,
    /// Sample CPU and memory from the start (a host that shows no window
    /// still wants resource history).
    pub sampling: bool,
    /// Where database probes find a password their variable does not give
    /// (the desktop's keyring); `None`: the environment only.
    pub secrets: Option<Secrets>,
}

impl RuntimeOptions {
    /// The options for `config`: its engine, stack file, data folder.
    pub fn from_config(config: Config, candidates: Vec<Candidate>, host: &'static str) -> Self {
        let paths = config.stack.paths();
        let stack = if paths.is_empty() {
            StackSource::BuiltIn
        } else {
            StackSource::Files(paths)
        };
        Self {
            config,
            config_error: None,
            candidates,
            stack,
            data_dir: Config::data_dir(),
            host,
            refuse_when_held: false,
            retention_every: RETENTION_EVERY,
            telemetry_every: telemetry::TELEMETRY_EVERY,
            sampling: false,
            secrets: None,
        }
    }
}

/// Whether this runtime writes history, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum Recording {
    On {
        database: String,
    },
    /// Another process records into the same data folder.
    HeldBy {
        holder: Holder,
    },
    Off {
        reason: String,
    },
}

/// The runtime's own condition, beside the stack's.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct RuntimeStatus {
    pub recording: Recording,
    /// Tasks that died and were restarted.
    pub problems: Vec<TaskProblem>,
    /// Incidents open now, oldest first.
    pub incidents: Vec<Incident>,
    /// The healer and each service's heal policy and state.
    pub healing: HealingStatus,
}

/// Everything the hosts show, on one stream.
#[derive(Debug, Clone)]
pub struct RuntimeState {
    pub snapshot: Arc<StackSnapshot>,
    pub health: Arc<StackHealth>,
    pub status: Arc<RuntimeStatus>,
}

impl RuntimeState {
    /// `service`'s status in the health breakdown (`None` without an
    /// engine or a stack, or for a service the stack does not name).
    pub fn service_status(&self, service: &str) -> Option<stackwarden_health::ServiceStatus> {
        self.health
            .breakdown
            .as_ref()?
            .services
            .iter()
            .find(|s| s.service == service)
            .map(|s| s.status)
    }
}

/// A started runtime; cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    producers: Supervisor,
    recorders: Supervisor,
    monitor: Arc<watch::Sender<Option<MonitorHandle>>>,
    sampling: Arc<AtomicBool>,
    snapshots: watch::Receiver<StackSnapshot>,
    health: watch::Receiver<StackHealth>,
    stacks: watch::Receiver<LoadedStack>,
    state: watch::Receiver<RuntimeState>,
    telemetry: watch::Receiver<telemetry::TelemetryLive>,
    store: Option<Store>,
    store_error: Option<String>,
    /// The store recorders write to; `None` while another process records.
    write_to: watch::Receiver<Option<Store>>,
    verifying: Arc<AtomicBool>,
    /// Where the stack comes from, and the environment it is read in: the
    /// recovery wizard reads the files again for their blueprints.
    stack_source: StackSource,
    stack_env: LoadEnv,
    /// The engine endpoints this runtime tries: the engine the wizard starts.
    candidates: Vec<Candidate>,
    recovery: recovery::RecoveryState,
    secrets: Option<Secrets>,
    /// Containers this runtime was asked to start or restart, for the
    /// incident task.
    own_starts: incidents::OwnStarts,
    log_follower: Mutex<Option<AbortHandle>>,
    /// The verification running (or last run), ended by `stop`.
    verification: Mutex<Option<AbortHandle>>,
    /// The runtime's own ends of the record queues; dropped on stop so the
    /// recorders drain and finish.
    queues: Mutex<Option<Queues>>,
    /// The data folder's lock, once this runtime holds it.
    lock: Arc<Mutex<Option<instance::InstanceLock>>>,
    /// Requests to the healer (release a quarantine, a person's stop).
    heal_commands: mpsc::Sender<healer::HealCommand>,
    /// The Tokio runtime the runtime was started on: work started from a
    /// host's own thread (a desktop command) runs there.
    tokio: tokio::runtime::Handle,
}

#[derive(Clone)]
struct Queues {
    health: mpsc::Sender<HealthRecord>,
    samples: mpsc::Sender<Vec<StatsSample>>,
    good: mpsc::Sender<GoodText>,
}

impl Runtime {
    /// Takes the data folder, opens the store and starts every task on the
    /// current tokio runtime. Fails only when `refuse_when_held` and another
    /// process records into the folder.
    pub async fn start(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let (lock, held) = match &options.data_dir {
            Some(dir) => match instance::acquire(dir, options.host) {
                Ok(lock) => (Some(lock), None),
                Err(e) if options.refuse_when_held => return Err(e.into()),
                Err(LockError::Held { holder, .. }) => (None, Some(Ok(holder))),
                Err(e) => (None, Some(Err(e.to_string()))),
            },
            None => (None, None),
        };
        let retention = Retention {
            max_age: Duration::from_secs(u64::from(options.config.history.retention_hours) * 3600),
            max_per_container: options.config.history.max_samples_per_container,
        };
        let (store, store_error) = match &options.data_dir {
            Some(dir) => match Store::open(dir, retention).await {
                Ok(store) => (Some(store), None),
                Err(e) => {
                    tracing::warn!("history unavailable: {e}");
                    (None, Some(e.to_string()))
                }
            },
            None => (
                None,
                Some("no data folder (set HOME or STACKWARDEN_DATA_DIR)".to_string()),
            ),
        };
        // Without a store nothing records here: let another process try.
        let lock = lock.filter(|_| store.is_some());
        let recording_store = store.clone().filter(|_| lock.is_some());
        let recording = match (&recording_store, held, &store_error) {
            (Some(s), _, _) => Recording::On {
                database: s.path().display().to_string(),
            },
            (None, Some(Ok(holder)), _) => Recording::HeldBy { holder },
            (None, Some(Err(why)), _) => Recording::Off { reason: why },
            (None, None, Some(why)) => Recording::Off {
                reason: why.clone(),
            },
            (None, None, None) => Recording::Off {
                reason: "history is off".into(),
            },
        };
        if let Recording::HeldBy { holder } = &recording {
            tracing::warn!("not recording: the data folder is already watched by {holder}");
        }

        let producers = Supervisor::new();
        let recorders = Supervisor::new();
        let (health_q_tx, health_q) = recorder::queue::<HealthRecord>(1024);
        let (samples_q_tx, samples_q) = recorder::queue::<Vec<StatsSample>>(64);
        let (good_q_tx, good_q) = recorder::queue::<GoodText>(4);
        // Recorders always drain the queues; they write while this runtime
        // holds the data folder (from the start, or after taking it over).
        let write_to = Arc::new(watch::channel(recording_store.clone()).0);
        {
            let to = write_to.subscribe();
            recorders.spawn("health recorder", move || {
                recorder::record_health(to.clone(), Arc::clone(&health_q))
            });
            let to = write_to.subscribe();
            recorders.spawn("sample recorder", move || {
                recorder::record_samples(to.clone(), Arc::clone(&samples_q))
            });
            let to = write_to.subscribe();
            recorders.spawn("stack saver", move || {
                recorder::save_good_stacks(to.clone(), Arc::clone(&good_q))
            });
            let to = write_to.subscribe();
            let every = options.retention_every;
            producers.spawn("retention", move || recorder::retain(to.clone(), every));
        }
        let queues = Some(Queues {
            health: health_q_tx,
            samples: samples_q_tx,
            good: good_q_tx,
        });
        let recording_out = Arc::new(watch::channel(recording.clone()).0);
        let lock = Arc::new(Mutex::new(lock));
        // Held by another process: take over when it lets go.
        if let (Recording::HeldBy { .. }, Some(dir), Some(store)) =
            (&recording, &options.data_dir, &store)
        {
            let (dir, host, store) = (dir.clone(), options.host, store.clone());
            let (lock, write_to, out) = (
                Arc::clone(&lock),
                Arc::clone(&write_to),
                Arc::clone(&recording_out),
            );
            producers.spawn("data folder take-over", move || {
                take_over(
                    dir.clone(),
                    host,
                    store.clone(),
                    Arc::clone(&lock),
                    Arc::clone(&write_to),
                    Arc::clone(&out),
                )
            });
        }

        // The engine monitor, republished on a channel that outlives it.
        let initial = StackSnapshot::new(
            EngineStatus::Connecting,
            Vec::new(),
            options.config_error.clone(),
            stackwarden_model::clock::now_ms(),
        );
        let snapshots_out = Arc::new(watch::channel(initial).0);
        let monitor_out = Arc::new(watch::channel::<Option<MonitorHandle>>(None).0);
        let sampling = Arc::new(AtomicBool::new(options.sampling));
        {
            let candidates = options.candidates.clone();
            let interval = options.config.refresh.interval();
            let config_error = options.config_error.clone();
            let samples = queues.as_ref().map(|q| q.samples.clone());
            let out = Arc::clone(&snapshots_out);
            let current = Arc::clone(&monitor_out);
            let sampling = Arc::clone(&sampling);
            producers.spawn("engine monitor", move || {
                let handle = StackMonitor {
                    candidates: candidates.clone(),
                    interval,
                    config_error: config_error.clone(),
                    samples: samples.clone(),
                }
                .spawn();
                // Published first: a `set_sampling` from now on reaches
                // this handle, and one from before is in the flag.
                current.send_replace(Some(handle.clone()));
                handle.set_sampling(sampling.load(Ordering::SeqCst));
                republish(handle.subscribe(), Arc::clone(&out), handle)
            });
        }

        // The stack definition, with the last good text from the store.
        let stacks_out = Arc::new(watch::channel(LoadedStack::default()).0);
        {
            let source = options.stack.clone();
            let env = LoadEnv::from_process().with_profiles(options.config.stack.profiles.clone());
            let store = store.clone();
            let good = queues.as_ref().map(|q| q.good.clone());
            let out = Arc::clone(&stacks_out);
            producers.spawn("stack source", move || {
                let source = source.clone();
                let env = env.clone();
                let store = store.clone();
                let good = good.clone();
                let out = Arc::clone(&out);
                async move {
                    let saved = saved_text(store.as_ref(), &source).await;
                    let rx = StackWatcher {
                        source,
                        saved,
                        good,
                        poll: POLL_INTERVAL,
                        env,
                    }
                    .spawn();
                    republish(rx, out, ()).await;
                }
            });
        }

        // The probe scheduler, over the republished stack and snapshots.
        let health_out = {
            let first = stackwarden_probes::view(
                &stacks_out.borrow(),
                &snapshots_out.borrow(),
                &Default::default(),
                &Default::default(),
            );
            Arc::new(watch::channel(first).0)
        };
        let log_marks = Arc::new(watch::channel(stackwarden_probes::LogMarks::new()).0);
        {
            let stacks = stacks_out.subscribe();
            let snapshots = snapshots_out.subscribe();
            let records = queues.as_ref().map(|q| q.health.clone());
            let out = Arc::clone(&health_out);
            let store = store.clone();
            let marks = log_marks.subscribe();
            let secrets = options.secrets.clone();
            producers.spawn("probe scheduler", move || {
                let secrets = secrets.clone();
                let (stacks, snapshots, records) =
                    (stacks.clone(), snapshots.clone(), records.clone());
                let marks = marks.clone();
                let (out, store) = (Arc::clone(&out), store.clone());
                async move {
                    let ever_deployed = match &store {
                        Some(store) => store.ever_deployed().await.unwrap_or_else(|e| {
                            tracing::warn!("cannot read which services were deployed before: {e}");
                            Default::default()
                        }),
                        None => Default::default(),
                    };
                    let rx = HealthScheduler {
                        runner: ProbeRunner::with_secrets(secrets.clone()),
                        stacks,
                        snapshots,
                        records,
                        ever_deployed,
                        log_marks: Some(marks),
                    }
                    .spawn();
                    republish(rx, out, ()).await;
                }
            });
        }

        // Incidents, from the health stream and the engine's state.
        let incidents_out = Arc::new(watch::channel(Vec::<Incident>::new()).0);
        let own_starts = incidents::OwnStarts::default();
        {
            let own_starts = own_starts.clone();
            let out = Arc::clone(&incidents_out);
            let (health, snapshots) = (health_out.subscribe(), snapshots_out.subscribe());
            let (stacks, monitor) = (stacks_out.subscribe(), monitor_out.subscribe());
            let to = write_to.subscribe();
            producers.spawn("incident tracker", move || {
                incidents::track(incidents::IncidentInputs {
                    health: health.clone(),
                    snapshots: snapshots.clone(),
                    stacks: stacks.clone(),
                    monitor: monitor.clone(),
                    to: to.clone(),
                    open: Arc::clone(&out),
                    own_starts: own_starts.clone(),
                })
            });
        }

        // The healer, and the log patterns it follows.
        let healing_out = Arc::new(watch::channel(HealingStatus::default()).0);
        let (heal_commands, commands) = recorder::queue::<healer::HealCommand>(16);
        {
            let inputs = healer::HealerInputs {
                health: health_out.subscribe(),
                snapshots: snapshots_out.subscribe(),
                stacks: stacks_out.subscribe(),
                monitor: monitor_out.subscribe(),
                open: incidents_out.subscribe(),
                to: write_to.subscribe(),
                history: store.clone(),
                commands,
                status: Arc::clone(&healing_out),
                marks: Arc::clone(&log_marks),
                own_starts: own_starts.clone(),
                enabled: options.config.healing.enabled,
            };
            producers.spawn("healer", move || healer::heal(inputs.clone()));
        }

        // The telemetry files, followed while this runtime records.
        let telemetry_out = Arc::new(watch::channel(telemetry::TelemetryLive::default()).0);
        {
            let stacks = stacks_out.subscribe();
            let to = write_to.subscribe();
            let (live, marks) = (Arc::clone(&telemetry_out), Arc::clone(&log_marks));
            let every = options.telemetry_every;
            producers.spawn("telemetry follower", move || {
                telemetry::follow(telemetry::TelemetryInputs {
                    stacks: stacks.clone(),
                    to: to.clone(),
                    live: Arc::clone(&live),
                    marks: Arc::clone(&marks),
                    every,
                })
            });
        }

        // The one state stream.
        let status = RuntimeStatus {
            recording,
            problems: Vec::new(),
            incidents: Vec::new(),
            healing: HealingStatus::default(),
        };
        let state_out = Arc::new(
            watch::channel(RuntimeState {
                snapshot: Arc::new(snapshots_out.borrow().clone()),
                health: Arc::new(health_out.borrow().clone()),
                status: Arc::new(status.clone()),
            })
            .0,
        );
        {
            let snapshots = snapshots_out.subscribe();
            let health = health_out.subscribe();
            let problems = (producers.problems(), recorders.problems());
            let recording = recording_out.subscribe();
            let incidents = incidents_out.subscribe();
            let healing = healing_out.subscribe();
            let out = Arc::clone(&state_out);
            producers.spawn("state publisher", move || {
                publish_state(
                    snapshots.clone(),
                    health.clone(),
                    problems.clone(),
                    (recording.clone(), incidents.clone(), healing.clone()),
                    Arc::clone(&out),
                )
            });
        }

        let runtime = Self {
            inner: Arc::new(Inner {
                producers,
                recorders,
                monitor: monitor_out,
                sampling,
                snapshots: snapshots_out.subscribe(),
                health: health_out.subscribe(),
                stacks: stacks_out.subscribe(),
                state: state_out.subscribe(),
                telemetry: telemetry_out.subscribe(),
                store,
                store_error,
                write_to: write_to.subscribe(),
                verifying: Arc::new(AtomicBool::new(false)),
                stack_source: options.stack.clone(),
                candidates: options.candidates.clone(),
                stack_env: LoadEnv::from_process()
                    .with_profiles(options.config.stack.profiles.clone()),
                recovery: recovery::RecoveryState::default(),
                secrets: options.secrets.clone(),
                own_starts,
                log_follower: Mutex::new(None),
                verification: Mutex::new(None),
                queues: Mutex::new(queues),
                lock,
                heal_commands,
                tokio: tokio::runtime::Handle::current(),
            }),
        };
        runtime.spawn_baselines();
        Ok(runtime)
    }

    /// The one stream the window, the tray and `watch` read.
    pub fn state(&self) -> watch::Receiver<RuntimeState> {
        self.inner.state.clone()
    }

    /// The telemetry follower's files, last events and alerts.
    pub fn telemetry_live(&self) -> telemetry::TelemetryLive {
        self.inner.telemetry.borrow().clone()
    }

    /// The Telemetry view of the last `span_ms` (clamped to 1 minute .. 30
    /// days).
    pub async fn telemetry_view(&self, span_ms: i64) -> telemetry::TelemetryView {
        let span = span_ms.clamp(60_000, TIMELINE_MAX_MS);
        let since = stackwarden_model::clock::now_ms() - span;
        let (report, report_error) = match self.telemetry_report(since).await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.to_string())),
        };
        telemetry::TelemetryView {
            live: self.telemetry_live(),
            report,
            report_error,
        }
    }

    /// The telemetry aggregates from `since_ms` on, from the store.
    pub async fn telemetry_report(
        &self,
        since_ms: i64,
    ) -> Result<telemetry::TelemetryReport, RuntimeError> {
        let store = self.inner.store.as_ref().ok_or_else(|| {
            RuntimeError::StoreUnavailable(
                self.inner
                    .store_error
                    .clone()
                    .unwrap_or_else(|| "no data folder".to_string()),
            )
        })?;
        Ok(telemetry::report(store, since_ms, stackwarden_model::clock::now_ms()).await?)
    }

    /// What this runtime is in the middle of that stopping it would cut
    /// short: "a verification" or "a recovery"; `None` when idle.
    pub fn busy(&self) -> Option<&'static str> {
        if self.inner.verifying.load(Ordering::SeqCst) {
            Some("a verification")
        } else if self.inner.recovery.is_running() {
            Some("a recovery")
        } else {
            None
        }
    }

    /// The stack definition in use (the last good one), if any.
    pub fn stack(&self) -> Option<Arc<stackwarden_stack::Stack>> {
        self.inner.stacks.borrow().stack.clone()
    }

    pub fn snapshot(&self) -> StackSnapshot {
        self.inner.snapshots.borrow().clone()
    }

    pub fn health(&self) -> StackHealth {
        self.inner.health.borrow().clone()
    }

    pub fn store(&self) -> Option<&Store> {
        self.inner.store.as_ref()
    }

    /// Why there is no store, if there is none.
    pub fn store_error(&self) -> Option<&str> {
        self.inner.store_error.as_deref()
    }

    /// True when this runtime holds the data folder and writes history.
    pub fn is_recording(&self) -> bool {
        self.inner.write_to.borrow().is_some()
    }

    /// The store, while this runtime records into it.
    pub(crate) fn recording_store(&self) -> Option<Store> {
        self.inner.write_to.borrow().clone()
    }

    /// The connected engine, for actions; `None` while unreachable.
    pub fn engine(&self) -> Option<Engine> {
        self.inner
            .monitor
            .borrow()
            .as_ref()
            .and_then(|m| m.engine())
    }

    /// Samples CPU and memory while `on` (someone is looking, or a host
    /// that keeps resource history).
    pub fn set_sampling(&self, on: bool) {
        self.inner.sampling.store(on, Ordering::SeqCst);
        if let Some(m) = self.inner.monitor.borrow().as_ref() {
            m.set_sampling(on);
        }
    }

    /// Skips the engine reconnect's current wait.
    pub fn retry_engine(&self) {
        if let Some(m) = self.inner.monitor.borrow().as_ref() {
            m.retry_now();
        }
    }

    /// Runs `make()` under the runtime's supervisor (for hosts' own
    /// long-lived tasks, and tests).
    pub fn supervise<F, Fut>(&self, name: &'static str, make: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.producers.spawn(name, make);
    }

    /// Stops every task, writes what is still queued, closes the store and
    /// releases the data folder (when the last clone is dropped).
    pub async fn stop(&self) {
        self.set_log_follower(None);
        if let Some(running) = replace_task(&self.inner.verification, None) {
            running.abort();
        }
        self.inner.producers.stop();
        // The monitor's handle keeps it alive; without it the monitor ends
        // and lets go of the sample queue.
        self.inner.monitor.send_replace(None);
        // Recorders end when their queues close: that is their end, not a
        // death to report and restart from.
        self.inner.recorders.wind_down();
        let queues = locked(&self.inner.queues).take();
        drop(queues);
        if !self.inner.recorders.finish(FLUSH_TIMEOUT).await {
            tracing::warn!("some records could not be written before stopping");
        }
        if let Some(store) = &self.inner.store {
            store.close().await;
        }
        // The data folder is free for another runtime.
        *locked(&self.inner.lock) = None;
    }

    fn set_log_follower(&self, next: Option<AbortHandle>) {
        if let Some(old) = replace_task(&self.inner.log_follower, next) {
            old.abort();
        }
    }
}

/// `m`'s guard, also after a panic while it was held (what it guards stays
/// consistent: every holder only swaps a value).
pub(crate) fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Puts `next` in `slot` and returns the task it held.
pub(crate) fn replace_task(
    slot: &Mutex<Option<AbortHandle>>,
    next: Option<AbortHandle>,
) -> Option<AbortHandle> {
    std::mem::replace(&mut *locked(slot), next)
}

/// Copies every value of `rx` into `out` until `rx`'s sender is gone;
/// `keep` lives as long as the copying (the component's handle).
async fn republish<T: Clone, K>(mut rx: watch::Receiver<T>, out: Arc<watch::Sender<T>>, keep: K) {
    loop {
        out.send_replace(rx.borrow_and_update().clone());
        if rx.changed().await.is_err() {
            break;
        }
    }
    drop(keep);
}

async fn saved_text(store: Option<&Store>, source: &StackSource) -> Option<SavedText> {
    let saved = match store?.last_good_stack(&source.label()).await {
        Ok(saved) => saved?,
        Err(e) => {
            tracing::warn!("cannot read the last good stack: {e}");
            return None;
        }
    };
    let saved_at = chrono::DateTime::from_timestamp_millis(saved.loaded_at_ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "an earlier run".to_string());
    Some(SavedText {
        text: saved.text,
        saved_at,
    })
}

/// How often a runtime that does not record tries the data folder's lock.
pub const TAKE_OVER_EVERY: Duration = Duration::from_secs(5);

/// Waits for the process that records into `dir` to let go, then records
/// here: takes the lock, points the recorders at `store`, says so.
async fn take_over(
    dir: PathBuf,
    host: &'static str,
    store: Store,
    lock: Arc<Mutex<Option<instance::InstanceLock>>>,
    write_to: Arc<watch::Sender<Option<Store>>>,
    recording: Arc<watch::Sender<Recording>>,
) {
    while locked(&lock).is_none() {
        tokio::time::sleep(TAKE_OVER_EVERY).await;
        if let Ok(taken) = instance::acquire(&dir, host) {
            *locked(&lock) = Some(taken);
            tracing::info!("the data folder is free again: recording into it from now on");
            write_to.send_replace(Some(store.clone()));
            recording.send_replace(Recording::On {
                database: store.path().display().to_string(),
            });
        }
    }
    // Done; the supervisor would take a return for a crash.
    std::future::pending::<()>().await;
}

async fn publish_state(
    mut snapshots: watch::Receiver<StackSnapshot>,
    mut health: watch::Receiver<StackHealth>,
    (mut producers, mut recorders): (
        watch::Receiver<Vec<TaskProblem>>,
        watch::Receiver<Vec<TaskProblem>>,
    ),
    (mut recording, mut incidents, mut healing): (
        watch::Receiver<Recording>,
        watch::Receiver<Vec<Incident>>,
        watch::Receiver<HealingStatus>,
    ),
    out: Arc<watch::Sender<RuntimeState>>,
) {
    let status = |p: &watch::Receiver<Vec<TaskProblem>>,
                  r: &watch::Receiver<Vec<TaskProblem>>,
                  rec: &mut watch::Receiver<Recording>,
                  (open, heal): (
        &mut watch::Receiver<Vec<Incident>>,
        &mut watch::Receiver<HealingStatus>,
    )| {
        let mut problems = p.borrow().clone();
        problems.extend(r.borrow().iter().cloned());
        Arc::new(RuntimeStatus {
            recording: rec.borrow_and_update().clone(),
            problems,
            incidents: open.borrow_and_update().clone(),
            healing: heal.borrow_and_update().clone(),
        })
    };
    out.send_modify(|s| {
        s.snapshot = Arc::new(snapshots.borrow_and_update().clone());
        s.health = Arc::new(health.borrow_and_update().clone());
        s.status = status(
            &producers,
            &recorders,
            &mut recording,
            (&mut incidents, &mut healing),
        );
    });
    loop {
        tokio::select! {
            Ok(()) = snapshots.changed() => {
                let next = Arc::new(snapshots.borrow_and_update().clone());
                out.send_modify(|s| s.snapshot = next);
            }
            Ok(()) = health.changed() => {
                let next = Arc::new(health.borrow_and_update().clone());
                out.send_modify(|s| s.health = next);
            }
            Ok(()) = producers.changed() => {
                let next = status(&producers, &recorders, &mut recording, (&mut incidents, &mut healing));
                out.send_modify(|s| s.status = next);
            }
            Ok(()) = recorders.changed() => {
                let next = status(&producers, &recorders, &mut recording, (&mut incidents, &mut healing));
                out.send_modify(|s| s.status = next);
            }
            Ok(()) = recording.changed() => {
                let next = status(&producers, &recorders, &mut recording, (&mut incidents, &mut healing));
                out.send_modify(|s| s.status = next);
            }
            Ok(()) = incidents.changed() => {
                let next = status(&producers, &recorders, &mut recording, (&mut incidents, &mut healing));
                out.send_modify(|s| s.status = next);
            }
            Ok(()) = healing.changed() => {
                let next = status(&producers, &recorders, &mut recording, (&mut incidents, &mut healing));
                out.send_modify(|s| s.status = next);
            }
            else => return,
        }
    }
}
