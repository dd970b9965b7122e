//! The main window's life. Closing it with a tray present destroys it, web
//! view and all, so that the app in the tray costs only its own process;
//! the runtime keeps watching. Open (tray, launcher, second launch)
//! re-creates it from the config, and the page comes back at its view.

use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindowBuilder, Window, WindowEvent};

use crate::state::AppState;

pub const MAIN: &str = "main";

/// Shows the main window, creating it when it was closed to the tray.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    show_main_at(app, None);
}

/// Shows the main window at `view` when it has to be created (an open
/// window is told through the `show-view` event instead).
pub fn show_main_at<R: Runtime>(app: &AppHandle<R>, view: Option<&str>) {
    let window = match app.get_webview_window(MAIN) {
        Some(w) => Some(w),
        None => create(app, view),
    };
    if let Some(w) = window {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        if let Some(state) = app.try_state::<AppState>() {
            state.runtime().set_sampling(true);
        }
    }
}

fn create<R: Runtime>(app: &AppHandle<R>, view: Option<&str>) -> Option<tauri::WebviewWindow<R>> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)?
        .clone();
    let builder = match WebviewWindowBuilder::from_config(app, &config) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("cannot re-create the window: {e}");
            return None;
        }
    };
    let builder = match view {
        // The page starts at the view it stored last (ui/src/persist.ts).
        Some(view) if !view.is_empty() && view.chars().all(|c| c.is_ascii_lowercase()) => builder
            .initialization_script(format!(
                "try {{ localStorage.setItem(\"stackwarden.view\", JSON.stringify(\"{view}\")); }} catch (e) {{}}"
            )),
        _ => builder,
    };
    match builder.build() {
        Ok(w) => {
            crate::rendering::apply(&w);
            Some(w)
        }
        Err(e) => {
            tracing::error!("cannot re-create the window: {e}");
            None
        }
    }
}

/// Asks an open window to show `view`.
pub fn show_view<R: Runtime>(app: &AppHandle<R>, view: &str) {
    let _ = app.emit(crate::verification::SHOW_VIEW_EVENT, view);
}

pub fn on_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if window.label() != MAIN {
        return;
    }
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            use tauri_plugin_window_state::{AppHandleExt, StateFlags};
            if let Err(e) = window.app_handle().save_window_state(StateFlags::all()) {
                tracing::warn!("cannot keep the window's size and position: {e}");
            }
            // Without a tray there would be no way back to a closed window.
            let has_tray = window
                .app_handle()
                .tray_by_id(crate::tray::TRAY_ID)
                .is_some();
            if !has_tray {
                api.prevent_close();
                window.app_handle().exit(0);
            }
        }
        WindowEvent::Destroyed => {
            if let Some(state) = window.app_handle().try_state::<AppState>() {
                state.runtime().set_sampling(false);
                state.runtime().close_logs();
            }
            let app = window.app_handle().clone();
            crate::tray_footprint::release_after_close(move || {
                app.get_webview_window(MAIN).is_some()
            });
        }
        _ => {}
    }
}
