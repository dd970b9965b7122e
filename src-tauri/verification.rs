//! One-click verification in the app: from the window's Verify now button or
//! the tray menu. Runs the stack's checklist on the monitor's engine and
//! rows, reports each result as it finishes (`verify-progress`), stores the
//! run, then sends it whole (`verify-done`). One run at a time.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use stackwarden_health::{CheckResult, PlannedCheck};
use stackwarden_model::EngineStatus;
use stackwarden_probes::ProbeRunner;
use stackwarden_verify::{checklist, verify, VerifyInput};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;
use ts_rs::TS;

use crate::error::{UiError, UiErrorCode};
use crate::state::AppState;

pub const STARTED_EVENT: &str = "verify-started";
pub const PROGRESS_EVENT: &str = "verify-progress";
pub const DONE_EVENT: &str = "verify-done";
/// Asks the window to show one of its views (`verify` from the tray).
pub const SHOW_VIEW_EVENT: &str = "show-view";

static RUNNING: AtomicBool = AtomicBool::new(false);

/// The checklist about to run.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct VerifyStarted {
    pub stack: String,
    pub checks: Vec<PlannedCheck>,
}

/// Starts a verification in the background; an error when one is running
/// or no stack is loaded.
pub fn start<R: Runtime>(app: &AppHandle<R>) -> Result<(), UiError> {
    let state = app.try_state::<AppState>().ok_or_else(|| {
        UiError::new(UiErrorCode::ActionRefused, "Stackwarden is still starting.")
    })?;
    let Some(stack) = state.stacks.borrow().stack.clone() else {
        return Err(UiError::new(
            UiErrorCode::ActionRefused,
            "No stack is loaded: fix the stack file (see the banner) first.",
        ));
    };
    if RUNNING.swap(true, Ordering::SeqCst) {
        return Err(UiError::new(
            UiErrorCode::ActionRefused,
            "A verification is already running.",
        ));
    }
    let runner = ProbeRunner::new();
    let snapshot = state.monitor.snapshot();
    let engine = state
        .monitor
        .engine()
        .ok_or_else(|| match &snapshot.engine {
            EngineStatus::Unreachable { attempts, .. } => attempts
                .iter()
                .map(|a| format!("{} ({}): {}", a.endpoint, a.source, a.error))
                .collect::<Vec<_>>()
                .join("; "),
            _ => "still looking for the container engine".to_string(),
        });
    let store = state.store.clone();
    let planned = VerifyStarted {
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
    let _ = app.emit(STARTED_EVENT, &planned);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (tx, mut rx) = mpsc::channel::<CheckResult>(64);
        let forward = {
            let app = app.clone();
            async move {
                while let Some(result) = rx.recv().await {
                    let _ = app.emit(PROGRESS_EVENT, &result);
                }
            }
        };
        let input = VerifyInput {
            stack: &stack,
            engine,
            rows: snapshot.services,
            runner: &runner,
            home: None,
            progress: Some(tx),
        };
        let (run, ()) = tokio::join!(verify(input), forward);
        if let Some(store) = &store {
            if let Err(e) = store.record_verification(&run).await {
                tracing::warn!("cannot store the verification run: {e}");
            }
        }
        tracing::info!(
            "verification: {} passed, {} failed ({} required) in {:.0} ms",
            run.passed,
            run.failed,
            run.required_failed,
            run.duration_ms
        );
        let _ = app.emit(DONE_EVENT, &run);
        RUNNING.store(false, Ordering::SeqCst);
    });
    Ok(())
}

/// What the tray's "Verify now" does: show the Verify view and run.
pub fn from_tray<R: Runtime>(app: &AppHandle<R>) {
    crate::window::show_main(app);
    let _ = app.emit(SHOW_VIEW_EVENT, "verify");
    if let Err(e) = start(app) {
        tracing::warn!("verify from the tray: {e}");
    }
}
