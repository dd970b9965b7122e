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

/// Writes `text` over the file `path` names (through a symlink to its
/// target, as dotfile managers link it), by way of a file beside it created
/// with the old file's permissions, synced, then renamed: a crash leaves the
/// old file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let target = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mode = std::fs::metadata(&target).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    let tmp = target.with_extension("toml.saving");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, &target)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The file's text now, the edited text and the settings it holds; or why
/// nothing may be written. Blocking: file reads and YAML parsing.
fn prepare(
    old: &Config,
    settings: &Settings,
) -> Result<(PathBuf, String, String, Config), UiError> {
    settings::validate(settings).map_err(refused)?;
    if settings.stack_files != Settings::of(old).stack_files {
        check_stack_files(&settings.stack_files)?;
    }
    let path = config_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(unsaved(format!("cannot read {}: {e}", path.display()))),
    };
    let written = settings::edit(&text, &path, &Settings::of(old), settings).map_err(unsaved)?;
    let (new, _problems) = Config::parse_lenient(&written, &path);
    Ok((path, text, written, new))
}

#[tauri::command]
pub async fn settings_save(app: AppHandle, settings: Settings) -> Result<SettingsView, UiError> {
    let state = app.state::<AppState>();
    let _one = state.applying.lock().await;
    let old = state.config();
    let (path, text, written, new) = {
        let old = old.clone();
        tokio::task::spawn_blocking(move || prepare(&old, &settings))
            .await
            .map_err(unsaved)??
    };
    // Restarting the watch would cut short what it is doing.
    if crate::host::runtime_changes(&old, &new) {
        if let Some(work) = state.runtime().busy() {
            return Err(refused(format!(
                "not saved: {work} is running and applying these settings restarts the watch; save again when it is done"
            )));
        }
    }
    if written != text {
        let (at, body) = (path.clone(), written.clone());
        tokio::task::spawn_blocking(move || write_atomically(&at, &body))
            .await
            .map_err(unsaved)?
            .map_err(|e| unsaved(format!("cannot write {}: {e}", path.display())))?;
    }
    let applied = apply(&app, &old, &new).await;
    let shown = view(&state);
    let _ = app.emit(SETTINGS_EVENT, &shown);
    applied.map(|()| shown)
}

/// Puts `new` in force: host-side settings here, the rest by restarting
/// the runtime when they changed. Everything that can be applied is, before
/// a failure is reported; a watch that cannot start with `new` is started
/// again with `old`.
async fn apply(app: &AppHandle, old: &Config, new: &Config) -> Result<(), UiError> {
    let state = app.state::<AppState>();
    let mut problems = Vec::new();
    if old.desktop.autostart != new.desktop.autostart {
        if let Err(e) = crate::autostart::set(new.desktop.autostart) {
            problems.push(format!("the autostart entry could not be changed: {e}"));
        }
    }
    let mut in_force = new.clone();
    if crate::host::runtime_changes(old, new) {
        if let Err(e) = crate::host::restart(app, new).await {
            problems.push(format!(
                "the watch could not restart with them ({e}); it runs with the settings before"
            ));
            in_force = Config {
                notifications: new.notifications.clone(),
                desktop: new.desktop.clone(),
                ..old.clone()
            };
            if let Err(e) = crate::host::restart(app, old).await {
                problems.push(format!("nor with the settings before: {e}"));
            }
        }
    }
    state.set_config(in_force);
    crate::tray::refresh(app);
    match problems.is_empty() {
        true => Ok(()),
        false => Err(unsaved(format!("Saved, but {}.", problems.join("; ")))),
    }
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
