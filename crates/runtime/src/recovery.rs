//! The recovery wizard in the runtime, for the window: a preview (the
//! diagnosis, the plan, the data now) that the person reads first, then
//! the run of exactly that plan, with progress as it goes, verified,
//! compared and recorded on the incident and the timeline. One recovery at
//! a time; a plan older than the newest preview is refused.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use stackwarden_model::clock::now_ms;
use stackwarden_model::EngineStatus;
use stackwarden_recover::session::{self, Memory, Prepared};
use stackwarden_recover::{
    tools, Commands, Diagnosis, Execution, Fingerprint, Plan, Progress, Recovery,
};
use stackwarden_stack::{Blueprints, Stack, StackSource};
use stackwarden_store::ActionSource;
use tokio::sync::mpsc;
use ts_rs::TS;

use crate::{Runtime, RuntimeError};

/// How often a healthy stack's data is fingerprinted while this runtime
/// records: the baseline a recovery compares with after a wipe, when the
/// databases cannot be read.
pub const BASELINE_EVERY: Duration = Duration::from_secs(3600);
/// The first baseline after the start: the probes have run by then.
const FIRST_BASELINE_AFTER: Duration = Duration::from_secs(120);

/// How long a wait step of the window's recovery waits for its service.
pub const WAIT_LIMIT: Duration = Duration::from_secs(180);

/// What the window shows before anything runs.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct RecoveryPreview {
    /// Run this plan by its id; a newer preview replaces it.
    #[ts(type = "number")]
    pub id: u64,
    pub diagnosis: Diagnosis,
    pub plan: Plan,
    pub before: Fingerprint,
    /// The stack files the plan was made from.
    pub stack: String,
}

struct Pending {
    id: u64,
    prepared: Prepared,
    stack: Stack,
    prints: Blueprints,
    memory: Memory,
}

/// The runtime's part: the newest preview and whether a recovery runs.
#[derive(Default)]
pub(crate) struct RecoveryState {
    next_id: AtomicU64,
    pending: Mutex<Option<Pending>>,
    running: Arc<AtomicBool>,
}

impl RecoveryState {
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

/// Marks a recovery as running until dropped.
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

pub(crate) fn files(source: &StackSource) -> Vec<PathBuf> {
    match source {
        StackSource::BuiltIn => Vec::new(),
        StackSource::Files(files) => files.clone(),
    }
}

impl Runtime {
    /// Diagnoses the stack and plans its recovery (nothing runs). The
    /// stack files are read again: the plan is made from them as they are.
    pub async fn recovery_preview(&self) -> Result<RecoveryPreview, RuntimeError> {
        let source = &self.inner.stack_source;
        let memory = match self.store() {
            Some(store) => Memory::read(store).await,
            None => Memory::default(),
        };
        let tools = tools::detect(&tools::chosen_endpoints(&self.inner.candidates));
        let (stack, prints, problems) = match session::load(&files(source), &self.inner.stack_env) {
            Ok((stack, prints)) => (stack, prints, Vec::new()),
            Err(e) => {
                // The last good definition names the services; nothing is
                // planned from a file that does not load.
                let last = self.inner.stacks.borrow().stack.clone();
                let Some(last) = last else {
                    return Err(RuntimeError::NoStack);
                };
                let problems: Vec<String> =
                    e.to_string().lines().map(ToString::to_string).collect();
                ((*last).clone(), Blueprints::default(), problems)
            }
        };
        let ctx = memory.context(&stack, &prints, &problems, &tools);
        let prepared = match self.engine() {
            Some(engine) => session::prepare(&ctx, &engine, &tools, &memory.fingerprints).await?,
            None => {
                let attempts = match &self.snapshot().engine {
                    EngineStatus::Unreachable { attempts, .. } => attempts.clone(),
                    _ => Vec::new(),
                };
                session::prepare_unreachable(&ctx, &attempts, &tools).await
            }
        };
        let id = self.inner.recovery.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let preview = RecoveryPreview {
            id,
            diagnosis: prepared.diagnosis.clone(),
            plan: prepared.plan.clone(),
            before: prepared.before.clone(),
            stack: source.label(),
        };
        if let Ok(mut slot) = self.inner.recovery.pending.lock() {
            *slot = Some(Pending {
                id,
                prepared,
                stack,
                prints,
                memory,
            });
        }
        Ok(preview)
    }

    /// Runs the plan of preview `id`: its destructive steps only when in
    /// `confirmed`. Progress goes to `progress` as it happens; the
    /// recovery is recorded when this runtime records.
    pub async fn run_recovery(
        &self,
        id: u64,
        confirmed: BTreeSet<u32>,
        commands: &dyn Commands,
        progress: mpsc::UnboundedSender<Progress>,
    ) -> Result<Recovery, RuntimeError> {
        // A refused run keeps the preview the person is looking at.
        let flag = &self.inner.recovery.running;
        if flag.swap(true, Ordering::SeqCst) {
            return Err(RuntimeError::RecoveryRunning);
        }
        let _running = Running(Arc::clone(flag));
        let pending = {
            let mut slot = self
                .inner
                .recovery
                .pending
                .lock()
                .map_err(|_| RuntimeError::StalePlan)?;
            match slot.take() {
                Some(p) if p.id == id => p,
                other => {
                    *slot = other;
                    return Err(RuntimeError::StalePlan);
                }
            }
        };
        let engine = self.engine().ok_or(RuntimeError::EngineUnreachable)?;
        let started_ms = now_ms();
        let Pending {
            prepared,
            stack,
            prints,
            memory,
            ..
        } = pending;
        let outcomes = {
            let execution = Execution {
                engine: &engine,
                stack: &stack,
                blueprints: &prints,
                diagnosis: &prepared.diagnosis,
                backup_dir: session::backup_dir(),
                confirmed,
                commands,
                progress,
                wait_limit: WAIT_LIMIT,
                probes: stackwarden_probes::ProbeRunner::with_secrets(self.inner.secrets.clone()),
            };
            stackwarden_recover::execute(&prepared.plan, &execution).await
        };
        let store = self.recording_store();
        let into = session::RecordIn {
            store: store.as_ref(),
            by: ActionSource::Window,
        };
        let (recovery, problems) = session::finish(
            &stack,
            &prints,
            &engine,
            &memory.ever_deployed,
            started_ms,
            prepared,
            outcomes,
            into,
        )
        .await;
        for problem in problems {
            tracing::warn!("{problem}");
        }
        tracing::info!("recovery: {}", session::summary_line(&recovery));
        Ok(recovery)
    }

    /// Starts the task that keeps a baseline fingerprint of a healthy stack.
    pub(crate) fn spawn_baselines(&self) {
        let write_to = self.inner.write_to.clone();
        let state = self.inner.state.clone();
        let monitor = Arc::clone(&self.inner.monitor);
        let stacks = self.inner.stacks.clone();
        let files = files(&self.inner.stack_source);
        let env = self.inner.stack_env.clone();
        self.supervise("data baseline", move || {
            let (write_to, state, monitor, stacks) = (
                write_to.clone(),
                state.clone(),
                Arc::clone(&monitor),
                stacks.clone(),
            );
            let (files, env) = (files.clone(), env.clone());
            async move {
                tokio::time::sleep(FIRST_BASELINE_AFTER).await;
                loop {
                    let store = write_to.borrow().clone();
                    let healthy = state.borrow().health.breakdown.as_ref().is_some_and(|b| {
                        b.groups
                            .iter()
                            .filter(|g| g.required)
                            .all(|g| g.total > 0 && g.healthy == g.total)
                    });
                    let engine = monitor.borrow().as_ref().and_then(|h| h.engine());
                    let stack = stacks.borrow().stack.clone();
                    if let (Some(store), true, Some(engine), Some(stack)) =
                        (store, healthy, engine, stack)
                    {
                        let baseline =
                            session::keep_baseline(&store, &stack, &files, &env, Some(&engine));
                        if let Err(e) = baseline.await {
                            tracing::warn!("cannot store the data baseline: {e}");
                        }
                    }
                    tokio::time::sleep(BASELINE_EVERY).await;
                }
            }
        });
    }

    /// The recoveries since `since_ms`, newest first.
    pub async fn recoveries(&self, since_ms: i64) -> Result<Vec<Recovery>, RuntimeError> {
        let store = self
            .store()
            .ok_or_else(|| RuntimeError::StoreUnavailable("no history".into()))?;
        let mut list: Vec<Recovery> = store
            .recoveries_since(since_ms)
            .await?
            .iter()
            .filter_map(|r| {
                let mut recovery: Recovery = serde_json::from_str(&r.body).ok()?;
                recovery.incident_id = r.incident_id;
                Some(recovery)
            })
            .collect();
        list.reverse();
        Ok(list)
    }
}
