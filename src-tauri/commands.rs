//! The window's commands. Each is thin: it reads the shared state or calls the
//! engine adapter and maps errors to `UiError`.

use std::time::Duration;

use futures_util::StreamExt;
use stackwarden_health::{RecordedTransition, ResponsePoint, VerificationRun, VerificationSummary};
use stackwarden_model::clock::now_ms;
use stackwarden_model::{ContainerAction, ContainerId, HistoryPoint, LogBatch, StackSnapshot};
use stackwarden_probes::StackHealth;
use stackwarden_report::{render_html, render_markdown, ReportData, ReportError};
use tauri::{AppHandle, Emitter, State};
use ts_rs::TS;

use crate::error::{UiError, UiErrorCode};
use crate::state::{AppInfo, AppState};

pub const LOG_EVENT: &str = "logs";
const LOG_TAIL: u32 = 200;
const LOG_FLUSH: Duration = Duration::from_millis(100);
const HISTORY_WINDOW_MS: i64 = 30 * 60 * 1000;
const HISTORY_POINTS: u32 = 900;

#[tauri::command]
pub fn get_snapshot(state: State<'_, AppState>) -> StackSnapshot {
    state.monitor.snapshot()
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.info.clone()
}

#[tauri::command]
pub async fn container_action(
    state: State<'_, AppState>,
    id: ContainerId,
    action: ContainerAction,
) -> Result<(), UiError> {
    let engine = state
        .monitor
        .engine()
        .ok_or_else(UiError::engine_unreachable)?;
    engine.act(&id.0, action).await?;
    Ok(())
}

/// Starts following a container's log: the last 200 lines, then new ones,
/// pushed as `logs` events in batches. Replaces any log already followed.
#[tauri::command]
pub fn open_logs(
    app: AppHandle,
    state: State<'_, AppState>,
    id: ContainerId,
) -> Result<(), UiError> {
    let engine = state
        .monitor
        .engine()
        .ok_or_else(UiError::engine_unreachable)?;
    let stream = engine.logs(&id.0, LOG_TAIL, true);
    let task = tauri::async_runtime::spawn(async move {
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
                    if pending.len() < 500 {
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
            if app.emit(LOG_EVENT, batch).is_err() {
                break None;
            }
        };
        let _ = app.emit(
            LOG_EVENT,
            LogBatch {
                container_id: id,
                lines: pending,
                ended,
            },
        );
    });
    state.set_log_follower(Some(task.inner().abort_handle()));
    Ok(())
}

#[tauri::command]
pub fn close_logs(state: State<'_, AppState>) {
    state.set_log_follower(None);
}

/// CPU and memory of a container over the last 30 minutes.
#[tauri::command]
pub async fn service_history(
    state: State<'_, AppState>,
    name: String,
) -> Result<Vec<HistoryPoint>, UiError> {
    let store = state.store.as_ref().ok_or_else(|| {
        UiError::new(
            UiErrorCode::StoreUnavailable,
            state
                .info
                .store_error
                .clone()
                .unwrap_or_else(|| "history is unavailable".into()),
        )
    })?;
    let since = now_ms() - HISTORY_WINDOW_MS;
    Ok(store.history(&name, since, HISTORY_POINTS).await?)
}

/// The window reports whether it is on screen; resources are sampled only then.
#[tauri::command]
pub fn set_view_visible(state: State<'_, AppState>, visible: bool) {
    state.monitor.set_sampling(visible);
}

#[tauri::command]
pub fn retry_engine(state: State<'_, AppState>) {
    state.monitor.retry_now();
}

#[tauri::command]
pub fn get_health(state: State<'_, AppState>) -> StackHealth {
    state.health.borrow().clone()
}

/// A stack service's probe response times over the last 30 minutes.
#[tauri::command]
pub async fn probe_history(
    state: State<'_, AppState>,
    service: String,
) -> Result<Vec<ResponsePoint>, UiError> {
    let Some(store) = &state.store else {
        return Ok(Vec::new());
    };
    Ok(store
        .response_times(&service, now_ms() - HISTORY_WINDOW_MS, HISTORY_POINTS)
        .await?)
}

/// Starts one-click verification; results arrive as `verify-progress`
/// events, the whole run as `verify-done`.
#[tauri::command]
pub fn verify_now(app: AppHandle) -> Result<(), UiError> {
    crate::verification::start(&app)
}

const HISTORY_RUNS: u32 = 50;

#[tauri::command]
pub async fn verification_history(
    state: State<'_, AppState>,
) -> Result<Vec<VerificationSummary>, UiError> {
    let Some(store) = &state.store else {
        return Ok(Vec::new());
    };
    Ok(store.verification_history(HISTORY_RUNS).await?)
}

#[tauri::command]
pub async fn verification_run(
    state: State<'_, AppState>,
    id: i64,
) -> Result<Option<VerificationRun>, UiError> {
    let Some(store) = &state.store else {
        return Ok(None);
    };
    Ok(store.verification_run(id).await?)
}

/// Writes the status report (from stored measurements) into the data
/// folder's `reports/` and returns its path.
#[tauri::command]
pub async fn export_report(
    state: State<'_, AppState>,
    format: ReportFormat,
) -> Result<String, UiError> {
    let Some(store) = &state.store else {
        return Err(UiError::new(
            UiErrorCode::StoreUnavailable,
            "History is off, so there is nothing stored to report.",
        ));
    };
    let data = ReportData::load(store, now_ms())
        .await
        .map_err(report_error)?;
    let dir = store
        .path()
        .parent()
        .map(|d| d.join("reports"))
        .unwrap_or_else(|| std::path::PathBuf::from("reports"));
    std::fs::create_dir_all(&dir).map_err(|e| {
        UiError::new(
            UiErrorCode::StoreUnavailable,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let path = match format {
        ReportFormat::Md => {
            let path = dir.join(format!("stackwarden-report-{stamp}.md"));
            render_markdown(&data, &path).map_err(report_error)?;
            path
        }
        ReportFormat::Html => {
            let path = dir.join(format!("stackwarden-report-{stamp}.html"));
            let html = render_html(&data).map_err(report_error)?;
            std::fs::write(&path, html).map_err(|e| {
                UiError::new(
                    UiErrorCode::StoreUnavailable,
                    format!("cannot write {}: {e}", path.display()),
                )
            })?;
            path
        }
    };
    Ok(path.display().to_string())
}

#[derive(Debug, Clone, Copy, serde::Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ReportFormat {
    Md,
    Html,
}

fn report_error(e: ReportError) -> UiError {
    let code = match e {
        ReportError::NoRun => UiErrorCode::ActionRefused,
        _ => UiErrorCode::StoreUnavailable,
    };
    UiError::new(code, e.to_string())
}

const TRANSITIONS_WINDOW_MS: i64 = 24 * 3600 * 1000;
const TRANSITIONS_SHOWN: usize = 50;

/// Status changes of the last 24 hours, newest first.
#[tauri::command]
pub async fn recent_transitions(
    state: State<'_, AppState>,
) -> Result<Vec<RecordedTransition>, UiError> {
    let Some(store) = &state.store else {
        return Ok(Vec::new());
    };
    let mut list = store
        .transitions_since(now_ms() - TRANSITIONS_WINDOW_MS)
        .await?;
    list.reverse();
    list.truncate(TRANSITIONS_SHOWN);
    Ok(list)
}
