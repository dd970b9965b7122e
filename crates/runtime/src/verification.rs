//! One-click verification, one run at a time: whoever asks (the window, the
//! tray, later the wizard) gets the checklist at once, each result as it
//! finishes and the whole run at the end. The run is stored (and the store
//! keeps the newest runs only). The "running" mark is a guard owned by the
//! run's task, so it is released however the run ends: done, failed,
//! panicked or aborted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use stackwarden_health::{CheckResult, PlannedCheck, VerificationRun};
use stackwarden_model::EngineStatus;
use stackwarden_probes::ProbeRunner;
use stackwarden_recover::session::keep_baseline;
use stackwarden_store::{ActionRecord, ActionSource, KEEP_VERIFICATION_RUNS};
use stackwarden_verify::{checklist, verify, NoEngine, VerifyInput};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use ts_rs::TS;

use crate::{Runtime, RuntimeError};

/// The checklist about to run.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct VerifyStarted {
    pub stack: String,
    pub checks: Vec<PlannedCheck>,
}

/// Marks a verification as running until dropped.
struct Running(Arc<AtomicBool>);

impl Running {
    fn take(flag: &Arc<AtomicBool>) -> Option<Self> {
        (!flag.swap(true, Ordering::SeqCst)).then(|| Self(Arc::clone(flag)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Runtime {
    /// Starts a verification of the stack in use. Results go to `progress`
    /// as they finish; the returned task yields the whole run (stored when
    /// this runtime records). Refused while one runs or no stack is loaded.
    pub fn verify(
        &self,
        progress: Option<mpsc::Sender<CheckResult>>,
        by: ActionSource,
    ) -> Result<(VerifyStarted, JoinHandle<VerificationRun>), RuntimeError> {
        let Some(stack) = self.inner.stacks.borrow().stack.clone() else {
            return Err(RuntimeError::NoStack);
        };
        let running =
            Running::take(&self.inner.verifying).ok_or(RuntimeError::VerificationRunning)?;
        let snapshot = self.snapshot();
        let engine = self.engine().ok_or_else(|| match &snapshot.engine {
            EngineStatus::Unreachable { attempts, .. } => NoEngine::Unreachable {
                attempts: attempts.clone(),
            },
            _ => NoEngine::Searching,
        });
        let started = VerifyStarted {
            stack: stack.name.clone(),
            checks: checklist(&stack)
                .into_iter()
                .map(|c| PlannedCheck {
                    id: c.id,
                    name: c.name,
                    required: c.required,
                })
                .collect(),
        };
        let store = self.recording_store();
        let reader = self.store().cloned();
        let host = self.clone();
        let fingerprint_engine = engine.as_ref().ok().cloned();
        let files = crate::recovery::files(&self.inner.stack_source);
        let env = self.inner.stack_env.clone();
        let secrets = self.inner.secrets.clone();
        let task = self.inner.tokio.spawn(async move {
            let _running = running;
            let runner = ProbeRunner::with_secrets(secrets);
            let ever_deployed = match &reader {
                Some(store) => store.ever_deployed().await.unwrap_or_default(),
                None => Default::default(),
            };
            let run = verify(VerifyInput {
                stack: &stack,
                engine,
                rows: snapshot.services,
                runner: &runner,
                home: None,
                progress,
                ever_deployed,
                cpu_window: stackwarden_verify::CPU_WINDOW,
            })
            .await;
            if let Some(store) = &store {
                let engine = fingerprint_engine.as_ref();
                let baseline = keep_baseline(store, &stack, &files, &env, engine).await;
                if let Err(e) = baseline {
                    tracing::warn!("cannot store the data fingerprint: {e}");
                }
                if let Err(e) = store.record_verification(&run).await {
                    tracing::warn!("cannot store the verification run: {e}");
                } else if let Err(e) = store.prune_verifications(KEEP_VERIFICATION_RUNS).await {
                    tracing::warn!("cannot prune old verification runs: {e}");
                }
            }
            tracing::info!(
                "verification: {} passed, {} failed ({} required) in {:.0} ms",
                run.passed,
                run.failed,
                run.required_failed,
                run.duration_ms
            );
            host.record_action(verification_action(&run, by)).await;
            run
        });
        // Stopping the runtime ends a run still going (before the store closes).
        crate::replace_task(&self.inner.verification, Some(task.abort_handle()));
        Ok((started, task))
    }
}

/// A verification run as an action on the timeline (and on an open
/// incident): passed when no required check failed.
pub fn verification_action(run: &VerificationRun, by: ActionSource) -> ActionRecord {
    ActionRecord {
        // When it finished: what it found is known then.
        at_ms: run.started_at_ms + run.duration_ms.round() as i64,
        source: by.as_str().to_string(),
        action: "verify".into(),
        service: None,
        ok: run.required_failed == 0,
        result: format!(
            "verification: {} passed, {} failed ({} required), {} skipped",
            run.passed, run.failed, run.required_failed, run.skipped
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_released_however_the_holder_ends() {
        let flag = Arc::new(AtomicBool::new(false));
        let first = Running::take(&flag);
        assert!(first.is_some());
        assert!(Running::take(&flag).is_none(), "one at a time");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = first;
            panic!("a check blew up");
        }));
        assert!(caught.is_err());
        assert!(Running::take(&flag).is_some(), "released by the panic");
    }
}
