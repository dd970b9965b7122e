//! The window's commands: each is one call into the runtime (where the
//! bodies are tested without a window) and maps its error to `UiError`.

use stackwarden_health::{RecordedTransition, ResponsePoint, VerificationRun, VerificationSummary};
use stackwarden_model::{ContainerAction, ContainerId, HistoryPoint, StackSnapshot};
use stackwarden_probes::StackHealth;
use stackwarden_runtime::{
    ActionSource, DrillPlan, ReportFormat, RuntimeStatus, StoredDrill, DRILL_TIMEOUT,
};
use tauri::{AppHandle, Emitter, State};

use crate::error::UiError;
use crate::state::{AppInfo, AppState};

pub const LOG_EVENT: &str = "logs";

#[tauri::command]
pub fn get_snapshot(state: State<'_, AppState>) -> StackSnapshot {
    state.runtime().snapshot()
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.info()
}

/// Whether this app records, and tasks that had to be restarted.
#[tauri::command]
pub fn runtime_status(state: State<'_, AppState>) -> RuntimeStatus {
    (*state.runtime().state().borrow().status).clone()
}

/// Only a container of the current list, by its id or name.
#[tauri::command]
pub async fn container_action(
    state: State<'_, AppState>,
    id: ContainerId,
    action: ContainerAction,
) -> Result<(), UiError> {
    Ok(state
        .runtime()
        .container_action(&id.0, action, ActionSource::Window)
        .await?)
}

/// Follows a container's log: the last 200 lines, then new ones, pushed as
/// `logs` events in batches. Replaces any log already followed.
#[tauri::command]
pub fn open_logs(
    app: AppHandle,
    state: State<'_, AppState>,
    id: ContainerId,
) -> Result<(), UiError> {
    Ok(state
        .runtime()
        .follow_logs(&id.0, move |batch| app.emit(LOG_EVENT, batch).is_ok())?)
}

#[tauri::command]
pub fn close_logs(state: State<'_, AppState>) {
    state.runtime().close_logs();
}

/// CPU and memory of a container over the last 30 minutes.
#[tauri::command]
pub async fn service_history(
    state: State<'_, AppState>,
    name: String,
) -> Result<Vec<HistoryPoint>, UiError> {
    Ok(state.runtime().service_history(&name).await?)
}

/// The window reports whether it is on screen; resources are sampled only then.
#[tauri::command]
pub fn set_view_visible(state: State<'_, AppState>, visible: bool) {
    state.runtime().set_sampling(visible);
}

#[tauri::command]
pub fn retry_engine(state: State<'_, AppState>) {
    state.runtime().retry_engine();
}

#[tauri::command]
pub fn get_health(state: State<'_, AppState>) -> StackHealth {
    state.runtime().health()
}

/// A stack service's probe response times over the last 30 minutes.
#[tauri::command]
pub async fn probe_history(
    state: State<'_, AppState>,
    service: String,
) -> Result<Vec<ResponsePoint>, UiError> {
    Ok(state.runtime().probe_history(&service).await?)
}

/// Starts one-click verification; results arrive as `verify-progress`
/// events, the whole run as `verify-done`.
#[tauri::command]
pub fn verify_now(app: AppHandle) -> Result<(), UiError> {
    crate::verification::start(&app)
}

#[tauri::command]
pub async fn verification_history(
    state: State<'_, AppState>,
) -> Result<Vec<VerificationSummary>, UiError> {
    Ok(state.runtime().verification_history().await?)
}

#[tauri::command]
pub async fn verification_run(
    state: State<'_, AppState>,
    id: i64,
) -> Result<Option<VerificationRun>, UiError> {
    Ok(state.runtime().verification_run(id).await?)
}

/// Writes the status report (from stored measurements) into the data
/// folder's `reports/` and returns its path.
#[tauri::command]
pub async fn export_report(
    state: State<'_, AppState>,
    format: ReportFormat,
) -> Result<String, UiError> {
    Ok(state
        .runtime()
        .export_report(format)
        .await?
        .display()
        .to_string())
}

/// Incident `id`'s evidence, for its detail in the timeline.
#[tauri::command]
pub async fn incident_detail(
    state: State<'_, AppState>,
    id: f64,
) -> Result<stackwarden_runtime::IncidentDetail, UiError> {
    Ok(state.runtime().incident_detail(whole_id(id)).await?)
}

/// A number from the page as an id: anything but a whole number names none.
fn whole_id(id: f64) -> i64 {
    if id.is_finite() && id.fract() == 0.0 {
        id as i64
    } else {
        -1
    }
}

/// Writes incident `id`'s recovery report into the data folder's
/// `reports/` and returns its path.
#[tauri::command]
pub async fn export_incident_report(
    state: State<'_, AppState>,
    id: f64,
    format: ReportFormat,
) -> Result<String, UiError> {
    Ok(state
        .runtime()
        .export_incident_report(whole_id(id), format)
        .await?
        .display()
        .to_string())
}

/// The timeline of the last `span_ms` (clamped to 1 minute .. 30 days):
/// lanes, gaps and incidents with their evidence.
#[tauri::command]
pub async fn timeline(
    state: State<'_, AppState>,
    span_ms: f64,
) -> Result<stackwarden_runtime::TimelineData, UiError> {
    // A number from the page: not finite or out of range is clamped.
    let span = if span_ms.is_finite() {
        span_ms as i64
    } else {
        0
    };
    Ok(state.runtime().timeline(span).await?)
}

/// The Telemetry view of the last `span_ms` (clamped to 1 minute .. 30
/// days): files, aggregates, bursts, bad lines, the last events and alerts.
#[tauri::command]
pub async fn telemetry(
    state: State<'_, AppState>,
    span_ms: f64,
) -> Result<stackwarden_runtime::telemetry::TelemetryView, UiError> {
    let span = if span_ms.is_finite() {
        span_ms as i64
    } else {
        0
    };
    Ok(state.runtime().telemetry_view(span).await)
}

/// Status changes of the last 24 hours, newest first.
#[tauri::command]
pub async fn recent_transitions(
    state: State<'_, AppState>,
) -> Result<Vec<RecordedTransition>, UiError> {
    Ok(state.runtime().recent_transitions().await?)
}

/// Lets the healer act on a quarantined service again.
#[tauri::command]
pub async fn release_heal(state: State<'_, AppState>, service: String) -> Result<(), UiError> {
    Ok(state
        .runtime()
        .release_heal(&service, ActionSource::Window)
        .await?)
}

/// What a drill of `service` would do (shown before asking), or why it is
/// refused.
#[tauri::command]
pub async fn drill_plan(state: State<'_, AppState>, service: String) -> Result<DrillPlan, UiError> {
    Ok(state.runtime().drill_plan(&service).await?)
}

/// Kills `service`'s container and measures how the healer brings it back.
#[tauri::command]
pub async fn run_drill(
    state: State<'_, AppState>,
    service: String,
) -> Result<StoredDrill, UiError> {
    Ok(state
        .runtime()
        .drill(&service, ActionSource::Window, DRILL_TIMEOUT, |_| {})
        .await?)
}

/// The newest drills of every service.
#[tauri::command]
pub async fn drills(state: State<'_, AppState>) -> Result<Vec<StoredDrill>, UiError> {
    Ok(state.runtime().drills(None).await?)
}
