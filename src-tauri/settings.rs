//! The Settings view's commands: read the settings, save them into
//! `config.toml` (the user's comments and layout kept, every value checked
//! first) and apply them at once: notifications and the theme in this app,
//! autostart as an XDG autostart entry, the rest by restarting the runtime
//! (`host::restart`). Also a connection test for an engine endpoint, and
//! keeping a probe's database password in the desktop's keyring.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use stackwarden_engine::endpoint::{connect, pinned_from_env, Candidate};
use stackwarden_model::settings::{self, Settings};
use stackwarden_model::Config;
use stackwarden_probes::secret_key;
use stackwarden_stack::ProbeKind;
use tauri::{AppHandle, Emitter, Manager, State};
use ts_rs::TS;

use crate::error::{UiError, UiErrorCode};
use crate::state::AppState;

/// Tells the window the settings in force changed (from any source).
pub const SETTINGS_EVENT: &str = "settings-changed";
const TEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The Settings view's content.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct SettingsView {
    pub settings: Settings,
    pub config_path: Option<String>,
    /// Problems the file still has (a section that did not parse).
    pub problems: Vec<String>,
    /// Whether the autostart entry exists now.
    pub autostart_active: bool,
    /// `STACKWARDEN_HOST`, when set: it wins over the endpoint setting.
    pub pinned_endpoint: Option<String>,
}

fn refused(e: impl std::fmt::Display) -> UiError {
    UiError::new(UiErrorCode::InvalidSetting, e.to_string())
}

fn unsaved(e: impl std::fmt::Display) -> UiError {
    UiError::new(UiErrorCode::SettingsUnsaved, e.to_string())
}

fn config_path() -> Result<PathBuf, UiError> {
    Config::default_path().ok_or_else(|| {
        unsaved("no place for config.toml: set HOME, XDG_CONFIG_HOME or STACKWARDEN_CONFIG")
    })
}

fn view(state: &AppState) -> SettingsView {
    let path = Config::default_path();
    let problems = path
        .as_deref()
        .map(|p| Config::load_lenient_from(p).1)
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    SettingsView {
        settings: Settings::of(&state.config()),
        config_path: path.map(|p| p.display().to_string()),
        problems,
        autostart_active: crate::autostart::is_enabled(),
        pinned_endpoint: pinned_from_env().map(|c| c.endpoint),
    }
}

#[tauri::command]
pub fn settings_get(state: State<'_, AppState>) -> SettingsView {
    view(&state)
}

/// Each stack file must load as a stack; the first that does not is named.
fn check_stack_files(files: &[String]) -> Result<(), UiError> {
    if files.is_empty() {
        return Ok(());
    }
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    stackwarden_stack::load_files(&paths, &stackwarden_stack::LoadEnv::from_process())
        .map(|_| ())
        .map_err(|e| refused(format!("Stack file: {e}")))
}

/// Writes `text` to `path` through a file beside it, so a crash never
/// leaves half a config; keeps the old file's permissions.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("toml.saving");
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())?;
    }
    std::fs::rename(&tmp, path)
}

#[tauri::command]
pub async fn settings_save(app: AppHandle, settings: Settings) -> Result<SettingsView, UiError> {
    let state = app.state::<AppState>();
    let _one = state.applying.lock().await;
    settings::validate(&settings).map_err(refused)?;
    check_stack_files(&settings.stack_files)?;
    let path = config_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(unsaved(format!("cannot read {}: {e}", path.display()))),
    };
    let old = state.config();
    let written = settings::edit(&text, &path, &Settings::of(&old), &settings).map_err(unsaved)?;
    if written != text {
        write_atomically(&path, &written)
            .map_err(|e| unsaved(format!("cannot write {}: {e}", path.display())))?;
    }
    let (new, _problems) = Config::parse_lenient(&written, &path);
    apply(&app, &old, &new).await?;
    let shown = view(&state);
    let _ = app.emit(SETTINGS_EVENT, &shown);
    Ok(shown)
}

/// Puts `new` in force: host-side settings here, the rest by restarting
/// the runtime when they changed.
async fn apply(app: &AppHandle, old: &Config, new: &Config) -> Result<(), UiError> {
    let state = app.state::<AppState>();
    if old.desktop.autostart != new.desktop.autostart {
        crate::autostart::set(new.desktop.autostart).map_err(|e| {
            unsaved(format!(
                "saved, but the autostart entry could not be changed: {e}"
            ))
        })?;
    }
    state.set_config(new.clone());
    if crate::host::runtime_changes(old, new) {
        crate::host::restart(app, new).await.map_err(|e| {
            unsaved(format!(
                "saved, but the watch could not restart with it: {e}"
            ))
        })?;
    }
    crate::tray::refresh(app);
    Ok(())
}

/// Connects to `endpoint` as the runtime would and says what answered.
#[tauri::command]
pub async fn test_connection(endpoint: String) -> Result<String, UiError> {
    settings::endpoint_form(&endpoint).map_err(|why| refused(format!("Engine endpoint: {why}")))?;
    let candidate = Candidate {
        endpoint: endpoint.clone(),
        source: "settings".into(),
    };
    let tried = tokio::time::timeout(TEST_TIMEOUT, async {
        let conn = connect(std::slice::from_ref(&candidate))
            .await
            .map_err(|attempts| {
                attempts
                    .into_iter()
                    .map(|a| a.error)
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
        let version = conn.docker.version().await.map_err(|e| e.to_string())?;
        let product = version
            .components
            .as_ref()
            .and_then(|c| c.first())
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "Container engine".into());
        Ok::<String, String>(format!(
            "Connected: {product} {}, API {}",
            version.version.unwrap_or_default(),
            version.api_version.unwrap_or_default()
        ))
    })
    .await;
    match tried {
        Ok(Ok(said)) => Ok(stackwarden_model::redact::text(&said)),
        Ok(Err(why)) => Err(UiError::new(
            UiErrorCode::EngineUnreachable,
            stackwarden_model::redact::text(&format!("{endpoint} does not answer: {why}")),
        )),
        Err(_) => Err(UiError::new(
            UiErrorCode::EngineUnreachable,
            format!(
                "{endpoint} gave no answer within {} s",
                TEST_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Keeps the password for `service`'s database probe `probe` in the
/// desktop's keyring. Only a probe of the stack in use can be named.
#[tauri::command]
pub async fn set_probe_password(
    state: State<'_, AppState>,
    service: String,
    probe: String,
    password: String,
) -> Result<(), UiError> {
    if password.is_empty() {
        return Err(refused("Password: empty"));
    }
    let stack = state
        .runtime()
        .stack()
        .ok_or_else(|| refused("no stack is loaded"))?;
    let url = stack
        .services
        .iter()
        .filter(|s| s.name == service)
        .flat_map(|s| &s.probes)
        .find(|p| p.name == probe)
        .and_then(|p| match &p.kind {
            ProbeKind::Postgres { url, .. } => Some(url.clone()),
            _ => None,
        })
        .ok_or_else(|| refused("the stack has no database probe of that name"))?;
    let key = secret_key(&url).ok_or_else(|| refused("the probe's URL cannot be used as a key"))?;
    crate::secrets::set(&key, password).await.map_err(unsaved)
}
