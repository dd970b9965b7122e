//! What the commands and the tray share: the runtime the app hosts, facts
//! about this installation, and the tray task's wake-up.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use stackwarden_runtime::Runtime;
use tokio::sync::Notify;
use ts_rs::TS;

pub struct AppState {
    pub runtime: Runtime,
    pub info: AppInfo,
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
    /// Why history is unavailable or not being recorded, if so.
    pub store_error: Option<String>,
    #[ts(type = "number")]
    pub refresh_interval_ms: u64,
}

pub fn display_path(p: Option<PathBuf>) -> Option<String> {
    p.map(|p| p.display().to_string())
}
