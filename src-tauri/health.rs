//! Wires the stack definition and the probe scheduler into the app: the
//! watcher loads the configured stack (or the built-in one) and keeps the
//! last good text in the store; the scheduler's health goes to the window
//! (`health` event) and the tray; probe runs and transitions go to the store.

use stackwarden_engine::MonitorHandle;
use stackwarden_model::clock::now_ms;
use stackwarden_model::Config;
use stackwarden_probes::{HealthRecord, HealthScheduler, ProbeRunner, StackHealth};
use stackwarden_stack::{
    GoodText, LoadedStack, SavedText, StackSource, StackWatcher, POLL_INTERVAL,
};
use stackwarden_store::Store;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::{mpsc, watch};

use crate::window;

pub const HEALTH_EVENT: &str = "health";
/// Records written in one go at most.
const RECORD_BATCH: usize = 64;

/// Starts the stack watcher and the probe scheduler; must run inside the
/// async runtime.
pub async fn start(
    config: &Config,
    store: Option<&Store>,
    monitor: &MonitorHandle,
) -> (watch::Receiver<StackHealth>, watch::Receiver<LoadedStack>) {
    let source = match &config.stack.file {
        Some(path) => StackSource::File(path.clone()),
        None => StackSource::BuiltIn,
    };
    let saved = match store {
        Some(store) => match store.last_good_stack(&source.label()).await {
            Ok(saved) => saved.map(|s| SavedText {
                text: s.text,
                saved_at: local_time(s.loaded_at_ms),
            }),
            Err(e) => {
                tracing::warn!("cannot read the last good stack: {e}");
                None
            }
        },
        None => None,
    };
    let (good_tx, good_rx) = mpsc::channel::<GoodText>(4);
    let stacks = StackWatcher {
        source,
        saved,
        good: Some(good_tx),
        poll: POLL_INTERVAL,
    }
    .spawn();
    let (records_tx, records_rx) = mpsc::channel::<HealthRecord>(1024);
    let health = HealthScheduler {
        runner: ProbeRunner::new(),
        stacks: stacks.clone(),
        snapshots: monitor.subscribe(),
        records: Some(records_tx),
    }
    .spawn();
    if let Some(store) = store {
        tokio::spawn(save_good_stacks(store.clone(), good_rx));
        tokio::spawn(record(store.clone(), records_rx));
    }
    (health, stacks)
}

fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "an earlier run".to_string())
}

async fn save_good_stacks(store: Store, mut rx: mpsc::Receiver<GoodText>) {
    while let Some(good) = rx.recv().await {
        if let Err(e) = store.save_stack(&good.source, &good.text, now_ms()).await {
            tracing::warn!("cannot save the stack definition: {e}");
        }
    }
}

/// Writes what is queued in one go: probe runs in a batch, then transitions.
async fn record(store: Store, mut rx: mpsc::Receiver<HealthRecord>) {
    while let Some(first) = rx.recv().await {
        let mut queued = vec![first];
        while queued.len() < RECORD_BATCH {
            match rx.try_recv() {
                Ok(next) => queued.push(next),
                Err(_) => break,
            }
        }
        let mut runs = Vec::new();
        for record in queued {
            match record {
                HealthRecord::Run(run) => runs.push(run),
                HealthRecord::Transitions { at_ms, list } => {
                    if let Err(e) = store.record_transitions(at_ms, &list).await {
                        tracing::warn!("cannot record status transitions: {e}");
                    }
                }
            }
        }
        if !runs.is_empty() {
            if let Err(e) = store.record_probe_runs(&runs).await {
                tracing::warn!("cannot record probe runs: {e}");
            }
        }
    }
}

/// Every health change goes to the window (when shown) and the tray.
pub fn spawn_forwarder(app: AppHandle, mut rx: watch::Receiver<StackHealth>) {
    tauri::async_runtime::spawn(async move {
        while rx.changed().await.is_ok() {
            let health = rx.borrow_and_update().clone();
            crate::tray::refresh(&app);
            if let Some(w) = app.get_webview_window(window::MAIN) {
                if w.is_visible().unwrap_or(false) {
                    let _ = w.emit(HEALTH_EVENT, &health);
                }
            }
        }
    });
}
