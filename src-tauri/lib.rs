//! The Stackwarden desktop app: a host for the runtime (crates/runtime),
//! which does all the watching and recording. This crate starts it, forwards
//! its one state stream to the window (`snapshot`, `health` and
//! `runtime-status` events) and the tray, and exposes thin commands. No
//! domain logic lives here.

mod autostart;
mod commands;
mod error;
mod host;
mod launch;
mod notify;
mod opener_scope;
mod recovery;
mod rendering;
mod secrets;
mod settings;
mod state;
mod tray;
mod tray_footprint;
mod verification;
mod window;

use std::process::ExitCode;
use std::sync::Arc;

use stackwarden_model::Config;
use stackwarden_runtime::RuntimeState;
use tauri::{AppHandle, Emitter, Manager, RunEvent};

use crate::launch::Launch;
use crate::state::AppState;

pub const SNAPSHOT_EVENT: &str = "snapshot";
pub const HEALTH_EVENT: &str = "health";
pub const RUNTIME_STATUS_EVENT: &str = "runtime-status";
/// The argument the autostart entry starts the app with.
pub const HIDDEN_ARG: &str = "--hidden";

pub fn run() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .log_internal_errors(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    let (config, problems) = Config::load_lenient();
    let config_error = (!problems.is_empty()).then(|| {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        for p in &list {
            tracing::warn!("{p}");
        }
        format!(
            "{}. Stackwarden uses default settings for those parts until they are fixed; the rest of the file applies.",
            list.join("; ")
        )
    });

    let launch = Launch::from_args(std::env::args());
    let app = tauri::Builder::default()
        // First plugin, so a second launch (a desktop action) only reaches
        // this instance.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            launch::act(app, Launch::from_args(&args));
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_shell::init())
        .invoke_handler(tauri::generate_handler![
            commands::get_snapshot,
            commands::app_info,
            commands::runtime_status,
            commands::container_action,
            commands::open_logs,
            commands::close_logs,
            commands::service_history,
            commands::set_view_visible,
            commands::retry_engine,
            commands::get_health,
            commands::probe_history,
            commands::verify_now,
            commands::verification_history,
            commands::verification_run,
            commands::export_report,
            commands::recent_transitions,
            commands::timeline,
            commands::telemetry,
            commands::export_incident_report,
            commands::incident_detail,
            commands::release_heal,
            commands::drill_plan,
            commands::run_drill,
            commands::drills,
            recovery::recovery_plan,
            recovery::run_recovery,
            recovery::recoveries,
            settings::settings_get,
            settings::settings_save,
            settings::test_connection,
            settings::set_probe_password,
        ])
        .setup(move |app| {
            setup(app.handle(), config, config_error)?;
            if !launch.hidden {
                window::show_main(app.handle());
            }
            if launch.verify || launch.recover {
                launch::act(app.handle(), launch);
            }
            Ok(())
        })
        .on_window_event(window::on_event)
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("stackwarden-desktop: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    app.run(|app, event| match event {
        // Closing the window keeps the app in the tray; only Quit exits.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(state) = app.try_state::<AppState>() {
                tauri::async_runtime::block_on(state.runtime().stop());
            }
        }
        _ => {}
    });
    ExitCode::SUCCESS
}

fn setup(
    app: &AppHandle,
    config: Config,
    config_error: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (runtime, info) = tauri::async_runtime::block_on(host::start(app, &config, config_error))?;
    app.manage(AppState::new(runtime, info, config));
    let states = app.state::<AppState>().states.subscribe();
    tray::spawn_updater(app.clone());
    tray::spawn_creator(app.clone());
    notify::spawn(app.clone());
    spawn_state_forwarder(app.clone(), states);
    Ok(())
}

/// The runtime's state goes to the tray always and to the window while it
/// exists, each part only when it changed.
fn spawn_state_forwarder(app: AppHandle, mut rx: tokio::sync::watch::Receiver<RuntimeState>) {
    tauri::async_runtime::spawn(async move {
        let mut sent: Option<RuntimeState> = None;
        while rx.changed().await.is_ok() {
            let now = rx.borrow_and_update().clone();
            tray::refresh(&app);
            let window = app
                .get_webview_window(window::MAIN)
                .filter(|w| w.is_visible().unwrap_or(false));
            if let Some(w) = window {
                let prev = sent.as_ref();
                if prev.is_none_or(|p| !Arc::ptr_eq(&p.snapshot, &now.snapshot)) {
                    let _ = w.emit(SNAPSHOT_EVENT, &*now.snapshot);
                }
                if prev.is_none_or(|p| !Arc::ptr_eq(&p.health, &now.health)) {
                    let _ = w.emit(HEALTH_EVENT, &*now.health);
                }
                if prev.is_none_or(|p| !Arc::ptr_eq(&p.status, &now.status)) {
                    let _ = w.emit(RUNTIME_STATUS_EVENT, &*now.status);
                }
                sent = Some(now);
            } else {
                sent = None;
            }
        }
    });
}
