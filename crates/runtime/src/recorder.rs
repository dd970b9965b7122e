//! Writes what the running watch produces into the store: probe runs and
//! status transitions from the scheduler, resource samples from the monitor,
//! the last good stack text from the stack source; and applies retention on
//! its own timer, whether or not anyone looks. Queues are shared behind a
//! lock so a restarted recorder carries on from the same queue, and they
//! drain completely when the runtime stops.

use std::sync::Arc;
use std::time::Duration;

use stackwarden_engine::StatsSample;
use stackwarden_model::clock::now_ms;
use stackwarden_probes::HealthRecord;
use stackwarden_stack::GoodText;
use stackwarden_store::{SampleRecord, Store};
use tokio::sync::{mpsc, Mutex};

/// Records written in one go at most.
const RECORD_BATCH: usize = 64;

/// A queue whose receiving end survives the restart of its reader.
pub type SharedQueue<T> = Arc<Mutex<mpsc::Receiver<T>>>;

pub fn queue<T>(capacity: usize) -> (mpsc::Sender<T>, SharedQueue<T>) {
    let (tx, rx) = mpsc::channel(capacity);
    (tx, Arc::new(Mutex::new(rx)))
}

/// Takes the first item and whatever else is already queued.
async fn next_batch<T>(rx: &mut mpsc::Receiver<T>) -> Option<Vec<T>> {
    let first = rx.recv().await?;
    let mut batch = vec![first];
    while batch.len() < RECORD_BATCH {
        match rx.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// Probe runs in a batch, then transitions; returns when the queue closes.
pub async fn record_health(store: Store, queue: SharedQueue<HealthRecord>) {
    let mut rx = queue.lock().await;
    while let Some(batch) = next_batch(&mut rx).await {
        let mut runs = Vec::new();
        for record in batch {
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

pub async fn record_samples(store: Store, queue: SharedQueue<Vec<StatsSample>>) {
    let mut rx = queue.lock().await;
    while let Some(batches) = next_batch(&mut rx).await {
        let records: Vec<SampleRecord> = batches
            .into_iter()
            .flatten()
            .map(|s| SampleRecord::of(&s.name, &s.id.0, &s.usage))
            .collect();
        if let Err(e) = store.record(&records).await {
            tracing::warn!("cannot record samples: {e}");
        }
    }
}

pub async fn save_good_stacks(store: Store, queue: SharedQueue<GoodText>) {
    let mut rx = queue.lock().await;
    while let Some(good) = rx.recv().await {
        if let Err(e) = store.save_stack(&good.source, &good.text, now_ms()).await {
            tracing::warn!("cannot save the stack definition: {e}");
        }
    }
}

/// Applies retention now and then every `every`, to every table.
pub async fn retain(store: Store, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match store.prune(now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("retention removed {n} old rows"),
            Err(e) => tracing::warn!("cannot apply retention: {e}"),
        }
    }
}
