//! The main window's life: closing hides it to the tray (and stops resource
//! sampling); Open from the tray shows it again.

use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};

use crate::state::AppState;

pub const MAIN: &str = "main";

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        if let Some(state) = app.try_state::<AppState>() {
            state.monitor.set_sampling(true);
        }
    }
}

pub fn on_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        // Without a tray there would be no way back to a hidden window.
        let has_tray = window
            .app_handle()
            .tray_by_id(crate::tray::TRAY_ID)
            .is_some();
        if window.label() == MAIN && !has_tray {
            window.app_handle().exit(0);
        } else if window.label() == MAIN {
            api.prevent_close();
            let _ = window.hide();
            if let Some(state) = window.app_handle().try_state::<AppState>() {
                state.monitor.set_sampling(false);
                state.set_log_follower(None);
            }
        }
    }
}
