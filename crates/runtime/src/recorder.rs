//! Writes what the running watch produces into the store: probe runs and
//! status transitions from the scheduler, resource samples from the monitor,
//! the last good stack text from the stack source; and applies retention on
//! its own timer, whether or not anyone looks. Queues are shared behind a
//! lock so a restarted recorder carries on from the same queue, and they
//! drain completely when the runtime stops. The store to write to is read
//! per batch from [`WriteTo`]: a runtime that does not hold the data folder
//! (another process records) drops what it produces until it takes over.

use std::sync::Arc;
use std::time::Duration;

use stackwarden_engine::StatsSample;
use stackwarden_model::clock::now_ms;
use stackwarden_probes::HealthRecord;
use stackwarden_stack::GoodText;
use stackwarden_store::{SampleRecord, Store};
use tokio::sync::{mpsc, watch, Mutex};

/// The store this runtime writes to now; `None` while another process
/// records into the data folder.
pub type WriteTo = watch::Receiver<Option<Store>>;

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
pub async fn record_health(to: WriteTo, queue: SharedQueue<HealthRecord>) {
    let mut rx = queue.lock().await;
    while let Some(batch) = next_batch(&mut rx).await {
        let Some(store) = to.borrow().clone() else {
            continue;
        };
        let mut runs = Vec::new();
        for record in batch {
            match record {
                HealthRecord::Run(run) => runs.push(run),
                HealthRecord::Transitions { at_ms, list } => {
                    if let Err(e) = store.record_transitions(at_ms, &list).await {
                        tracing::warn!("cannot record status transitions: {e}");
                    }
                }
                HealthRecord::Deployed {
                    project,
                    service,
                    at_ms,
                } => {
                    if let Err(e) = store.record_deployed(&project, &service, at_ms).await {
                        tracing::warn!("cannot record that {service} was deployed: {e}");
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

pub async fn record_samples(to: WriteTo, queue: SharedQueue<Vec<StatsSample>>) {
    let mut rx = queue.lock().await;
    while let Some(batches) = next_batch(&mut rx).await {
        let Some(store) = to.borrow().clone() else {
            continue;
        };
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

pub async fn save_good_stacks(to: WriteTo, queue: SharedQueue<GoodText>) {
    let mut rx = queue.lock().await;
    while let Some(good) = rx.recv().await {
        let Some(store) = to.borrow().clone() else {
            continue;
        };
        if let Err(e) = store.save_stack(&good.source, &good.text, now_ms()).await {
            tracing::warn!("cannot save the stack definition: {e}");
        }
    }
}

/// Applies retention now and then every `every`, to every table.
pub async fn retain(to: WriteTo, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(store) = to.borrow().clone() else {
            continue;
        };
        match store.prune(now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("retention removed {n} old rows"),
            Err(e) => tracing::warn!("cannot apply retention: {e}"),
        }
    }
}
