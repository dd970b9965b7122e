//! One-click verification from the window's Verify now button or the tray
//! menu: the runtime runs it (one at a time); this forwards its checklist
//! (`verify-started`), each result (`verify-progress`) and the whole run
//! (`verify-done`) to the window.

use stackwarden_health::CheckResult;
use stackwarden_runtime::ActionSource;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;

use crate::error::{UiError, UiErrorCode};
use crate::state::AppState;

pub const STARTED_EVENT: &str = "verify-started";
pub const PROGRESS_EVENT: &str = "verify-progress";
pub const DONE_EVENT: &str = "verify-done";
/// Asks the window to show one of its views (`verify` from the tray).
pub const SHOW_VIEW_EVENT: &str = "show-view";

/// Starts a verification in the background; an error when one is running
/// or no stack is loaded.
pub fn start<R: Runtime>(app: &AppHandle<R>) -> Result<(), UiError> {
    let state = app.try_state::<AppState>().ok_or_else(|| {
        UiError::new(UiErrorCode::ActionRefused, "Stackwarden is still starting.")
    })?;
    let (tx, mut rx) = mpsc::channel::<CheckResult>(64);
    let (started, run) = state.runtime().verify(Some(tx), ActionSource::Window)?;
    let _ = app.emit(STARTED_EVENT, &started);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(result) = rx.recv().await {
            let _ = app.emit(PROGRESS_EVENT, &result);
        }
        match run.await {
            Ok(run) => {
                crate::notify::verification_done(&app, &run);
                let _ = app.emit(DONE_EVENT, &run);
            }
            Err(e) => tracing::error!("verification did not finish: {e}"),
        }
    });
    Ok(())
}

/// What the tray's "Verify now" does: show the Verify view and run.
pub fn from_tray<R: Runtime>(app: &AppHandle<R>) {
    crate::window::show_main_at(app, Some("verify"));
    let _ = app.emit(SHOW_VIEW_EVENT, "verify");
    if let Err(e) = start(app) {
        tracing::warn!("verify from the tray: {e}");
    }
}
