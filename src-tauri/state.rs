//! What the commands and the tray share: the monitor's handle, the stack's
//! health, the history store and the single log follower the window may
//! have open.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use stackwarden_engine::MonitorHandle;
use stackwarden_probes::StackHealth;
use stackwarden_stack::LoadedStack;
use stackwarden_store::Store;
use tokio::sync::{watch, Notify};
use tokio::task::AbortHandle;
use ts_rs::TS;

pub struct AppState {
    pub monitor: MonitorHandle,
    pub health: watch::Receiver<StackHealth>,
    /// The stack definition in use (verification runs its checklist).
    pub stacks: watch::Receiver<LoadedStack>,
    pub store: Option<Store>,
    pub info: AppInfo,
    pub log_follower: Mutex<Option<AbortHandle>>,
    /// Wakes the tray task (see `tray::spawn_updater`).
    pub tray_refresh: Arc<Notify>,
}

/// Facts about this installation the window shows in its footer and banners.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct AppInfo {
    pub version: String,
    pub config_path: Option<String>,
    pub database_path: Option<String>,
    /// Why history is unavailable, if it is.
    pub store_error: Option<String>,
    #[ts(type = "number")]
    pub refresh_interval_ms: u64,
}

impl AppState {
    /// Replaces the running log follower, stopping the old one.
    pub fn set_log_follower(&self, next: Option<AbortHandle>) {
        let mut slot = match self.log_follower.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(old) = slot.take() {
            old.abort();
        }
        *slot = next;
    }
}

pub fn display_path(p: Option<PathBuf>) -> Option<String> {
    p.map(|p| p.display().to_string())
}
