//! The Stackwarden desktop app: wires the domain crates to a Tauri window and
//! tray. The monitor publishes snapshots and the probe scheduler the stack's
//! health; this crate forwards both to the window (`snapshot` and `health`
//! events) and the tray, records samples, probe runs and transitions in the
//! store, and exposes a few thin commands. No domain logic lives here.

mod commands;
mod error;
mod health;
mod state;
mod tray;
mod verification;
mod window;

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use stackwarden_engine::endpoint::{pinned_from_env, resolve, Environment};
use stackwarden_engine::{StackMonitor, StatsSample};
use stackwarden_model::clock::now_ms;
use stackwarden_model::Config;
use stackwarden_store::{Retention, SampleRecord, Store};
use tauri::{AppHandle, Emitter, Manager, RunEvent};
use tokio::sync::mpsc;

use crate::state::{display_path, AppInfo, AppState};

pub const SNAPSHOT_EVENT: &str = "snapshot";
const PRUNE_EVERY: Duration = Duration::from_secs(600);

pub fn run() -> ExitCode {
    let _ = tracing_subscriber::fmt()
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

    let app = tauri::Builder::default()
        // First plugin, so a second launch only brings this window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::show_main(app);
        }))
        .plugin(tauri_plugin_shell::init())
        .invoke_handler(tauri::generate_handler![
            commands::get_snapshot,
            commands::app_info,
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
        ])
        .setup(move |app| {
            setup(app.handle(), config, config_error)?;
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
    app.run(|_, event| {
        // Closing the window keeps the app in the tray; only Quit exits.
        if let RunEvent::ExitRequested {
            api, code: None, ..
        } = event
        {
            api.prevent_exit();
        }
    });
    ExitCode::SUCCESS
}

fn setup(app: &AppHandle, config: Config, config_error: Option<String>) -> tauri::Result<()> {
    let (samples_tx, samples_rx) = mpsc::channel::<Vec<StatsSample>>(64);
    let monitor = tauri::async_runtime::block_on(async {
        StackMonitor {
            candidates: resolve(
                pinned_from_env(),
                config.engine.endpoint.as_deref(),
                &Environment::current(),
            ),
            interval: config.refresh.interval(),
            config_error,
            samples: Some(samples_tx),
        }
        .spawn()
    });

    let retention = Retention {
        max_age: Duration::from_secs(u64::from(config.history.retention_hours) * 3600),
        max_per_container: config.history.max_samples_per_container,
    };
    let data_dir = Config::data_dir();
    let opened = match &data_dir {
        Some(dir) => {
            tauri::async_runtime::block_on(Store::open(dir, retention)).map_err(|e| e.to_string())
        }
        None => Err("no data directory (set HOME or STACKWARDEN_DATA_DIR)".to_string()),
    };
    let (store, store_error) = match opened {
        Ok(store) => (Some(store), None),
        Err(e) => {
            tracing::warn!("history unavailable: {e}");
            (None, Some(e))
        }
    };
    let info = AppInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        config_path: display_path(Config::default_path()),
        database_path: store.as_ref().map(|s| s.path().display().to_string()),
        store_error,
        refresh_interval_ms: u64::try_from(config.refresh.interval().as_millis()).unwrap_or(2000),
    };

    let (health, stacks) =
        tauri::async_runtime::block_on(health::start(&config, store.as_ref(), &monitor));
    let snapshots = monitor.subscribe();
    spawn_history_writer(store.clone(), samples_rx);
    app.manage(AppState {
        monitor,
        health: health.clone(),
        stacks,
        store,
        info,
        log_follower: Mutex::new(None),
        tray_refresh: std::sync::Arc::new(tokio::sync::Notify::new()),
    });
    tray::spawn_updater(app.clone());
    tray::spawn_creator(app.clone());
    spawn_snapshot_forwarder(app.clone(), snapshots);
    health::spawn_forwarder(app.clone(), health);
    Ok(())
}

/// Every new snapshot goes to the window and the tray.
fn spawn_snapshot_forwarder(
    app: AppHandle,
    mut rx: tokio::sync::watch::Receiver<stackwarden_model::StackSnapshot>,
) {
    tauri::async_runtime::spawn(async move {
        while rx.changed().await.is_ok() {
            let snapshot = rx.borrow_and_update().clone();
            tray::refresh(&app);
            if let Some(w) = app.get_webview_window(window::MAIN) {
                if w.is_visible().unwrap_or(false) {
                    let _ = w.emit(SNAPSHOT_EVENT, &snapshot);
                }
            }
        }
    });
}

/// Records resource samples and applies retention now and then.
fn spawn_history_writer(store: Option<Store>, mut rx: mpsc::Receiver<Vec<StatsSample>>) {
    tauri::async_runtime::spawn(async move {
        let mut last_prune: Option<std::time::Instant> = None;
        while let Some(batch) = rx.recv().await {
            let Some(store) = &store else { continue };
            let records: Vec<SampleRecord> = batch
                .into_iter()
                .map(|s| SampleRecord::of(&s.name, &s.id.0, &s.usage))
                .collect();
            if let Err(e) = store.record(&records).await {
                tracing::warn!("cannot record samples: {e}");
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                match store.prune(now_ms()).await {
                    Ok(n) if n > 0 => tracing::debug!("pruned {n} old samples"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("cannot prune history: {e}"),
                }
                last_prune = Some(std::time::Instant::now());
            }
        }
    });
}
