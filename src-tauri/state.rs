//! What the commands and the tray share: the runtime the app hosts (swapped
//! for a new one when the settings change what it watches), the state
//! stream relayed from whichever runtime is current, facts about this
//! installation, and the tray task's wake-up.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use stackwarden_model::config::{NotificationsConfig, Theme};
use stackwarden_model::Config;
use stackwarden_runtime::{Runtime, RuntimeState};
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;
use ts_rs::TS;

pub struct AppState {
    runtime: RwLock<Runtime>,
    info: RwLock<AppInfo>,
    /// The settings in force.
    pub config: RwLock<Config>,
    /// The current runtime's state; outlives a swap, so the tray, the
    /// notifier and the window keep one subscription.
    pub states: Arc<watch::Sender<RuntimeState>>,
    relay: Mutex<Option<AbortHandle>>,
    /// Wakes the tray task (see `tray::spawn_updater`).
    pub tray_refresh: Arc<Notify>,
    /// One settings change at a time.
    pub applying: tokio::sync::Mutex<()>,
}

impl AppState {
    pub fn new(runtime: Runtime, info: AppInfo, config: Config) -> Self {
        let states = Arc::new(watch::channel(runtime.state().borrow().clone()).0);
        let this = Self {
            runtime: RwLock::new(runtime.clone()),
            info: RwLock::new(info),
            config: RwLock::new(config),
            states,
            relay: Mutex::new(None),
            tray_refresh: Arc::new(Notify::new()),
            applying: tokio::sync::Mutex::new(()),
        };
        this.relay_from(&runtime);
        this
    }

    /// The runtime in use now (cheap: a handle).
    pub fn runtime(&self) -> Runtime {
        self.runtime
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn info(&self) -> AppInfo {
        self.info
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `runtime` the current one; the caller stops the old one first.
    pub fn replace(&self, runtime: Runtime, info: AppInfo) {
        *self.runtime.write().unwrap_or_else(PoisonError::into_inner) = runtime.clone();
        *self.info.write().unwrap_or_else(PoisonError::into_inner) = info;
        self.relay_from(&runtime);
    }

    /// The notification switches alone (read on every state change).
    pub fn notifications(&self) -> NotificationsConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .notifications
            .clone()
    }

    pub fn set_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    fn relay_from(&self, runtime: &Runtime) {
        let mut rx = runtime.state();
        let out = Arc::clone(&self.states);
        out.send_replace(rx.borrow_and_update().clone());
        let task = tauri::async_runtime::spawn(async move {
            while rx.changed().await.is_ok() {
                out.send_replace(rx.borrow_and_update().clone());
            }
        });
        let old = self
            .relay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(task.inner().abort_handle());
        if let Some(old) = old {
            old.abort();
        }
    }
}

/// Facts about this installation the window shows in its footer and banners.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct AppInfo {
    pub version: String,
    pub config_path: Option<String>,
    pub database_path: Option<String>,
    /// Why history is unavailable or not being recorded, if so.
    pub store_error: Option<String>,
    #[ts(type = "number")]
    pub refresh_interval_ms: u64,
    /// The window's colours (`[desktop] theme`).
    pub theme: Theme,
}

pub fn display_path(p: Option<PathBuf>) -> Option<String> {
    p.map(|p| p.display().to_string())
}
