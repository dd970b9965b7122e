//! Starting the runtime from the settings, and replacing it with a new one
//! when saved settings change what it watches (stack files, engine,
//! sampling, retention, self-healing): the app keeps running, the window
//! and tray keep their subscription (see `state::AppState`), and records
//! are flushed by the old runtime before the new one takes the data folder.

use stackwarden_engine::endpoint::{pinned_from_env, resolve, Environment};
use stackwarden_model::Config;
use stackwarden_runtime::{Recording, Runtime, RuntimeError, RuntimeOptions};
use tauri::{AppHandle, Manager, Runtime as TauriRuntime};

use crate::state::{display_path, AppInfo, AppState};

const HOST_NAME: &str = "desktop app";

/// Starts a runtime for `config`; `config_error` is shown with the engine.
pub async fn start<R: TauriRuntime>(
    app: &AppHandle<R>,
    config: &Config,
    config_error: Option<String>,
) -> Result<(Runtime, AppInfo), RuntimeError> {
    let candidates = resolve(
        pinned_from_env(),
        config.engine.endpoint.as_deref(),
        &Environment::current(),
    );
    crate::opener_scope::allow_engine_hosts(app, &candidates);
    let refresh_interval_ms = u64::try_from(config.refresh.interval().as_millis()).unwrap_or(2000);
    let mut options = RuntimeOptions::from_config(config.clone(), candidates, HOST_NAME);
    options.config_error = config_error;
    options.secrets = Some(crate::secrets::shared());
    let runtime = Runtime::start(options).await?;
    let store_error = match &runtime.state().borrow().status.recording {
        Recording::On { .. } => None,
        Recording::HeldBy { holder } => Some(format!(
            "not recording: this data folder is already watched by {holder}, which records for both"
        )),
        Recording::Off { reason } => Some(reason.clone()),
    };
    let info = AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        config_path: display_path(Config::default_path()),
        database_path: runtime.store().map(|s| s.path().display().to_string()),
        store_error,
        refresh_interval_ms,
        theme: config.desktop.theme,
    };
    Ok((runtime, info))
}

/// The part of `config` the runtime reads: all but what this app applies
/// itself (notifications, desktop), so a new section restarts it by default.
fn runtime_part(config: &Config) -> Config {
    Config {
        notifications: Default::default(),
        desktop: Default::default(),
        ..config.clone()
    }
}

/// True when going from `old` to `new` changes what the runtime does.
pub fn runtime_changes(old: &Config, new: &Config) -> bool {
    runtime_part(old) != runtime_part(new)
}

/// Replaces the running runtime with one for `config`.
pub async fn restart<R: TauriRuntime>(
    app: &AppHandle<R>,
    config: &Config,
) -> Result<(), RuntimeError> {
    let state = app.state::<AppState>();
    let window_open = app.get_webview_window(crate::window::MAIN).is_some();
    state.runtime().stop().await;
    if let Some(notifier) = app.try_state::<crate::notify::Notifier>() {
        notifier.restarted();
    }
    let (runtime, info) = start(app, config, None).await?;
    runtime.set_sampling(window_open);
    state.replace(runtime, info);
    tracing::info!("settings applied: the runtime was restarted with them");
    Ok(())
}
