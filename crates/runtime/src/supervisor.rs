//! Every long-lived task of the runtime runs under this supervisor, so that a
//! task that panics or ends when it should not is logged, shown as a problem
//! in the runtime's state and started again with backoff: health never
//! silently freezes because one loop died.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use stackwarden_model::clock::now_ms;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use ts_rs::TS;

/// First wait before a restart; doubles per restart up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A task that ran this long before dying starts again from the first wait.
const STABLE_AFTER: Duration = Duration::from_secs(120);

/// A task that died, as the window and `watch` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct TaskProblem {
    /// The task's name ("engine monitor", "probe scheduler", ...).
    pub task: String,
    /// The panic message, or that it ended unexpectedly.
    pub reason: String,
    /// How many times it has been restarted so far.
    pub restarts: u32,
    #[ts(type = "number")]
    pub at_ms: i64,
}

/// The supervised tasks by name, each with the handle of its loop.
type Tasks = Arc<Mutex<Vec<(&'static str, JoinHandle<()>)>>>;

/// Starts tasks and restarts them when they die.
#[derive(Clone)]
pub struct Supervisor {
    problems: Arc<watch::Sender<Vec<TaskProblem>>>,
    /// Set by [`Supervisor::finish`]: a task that returns now is done.
    finishing: Arc<AtomicBool>,
    tasks: Tasks,
    /// Where tasks run, so that they can be started from any thread (the
    /// desktop's synchronous commands run on the GUI thread).
    tokio: tokio::runtime::Handle,
}

impl Supervisor {
    /// A supervisor whose tasks run on the current Tokio runtime.
    ///
    /// # Panics
    /// Outside a Tokio runtime (hence no `Default`).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            tokio: tokio::runtime::Handle::current(),
            problems: Arc::new(watch::channel(Vec::new()).0),
            finishing: Arc::new(AtomicBool::new(false)),
            tasks: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Changes whenever a task dies or is restarted.
    pub fn problems(&self) -> watch::Receiver<Vec<TaskProblem>> {
        self.problems.subscribe()
    }

    /// Runs `make()` as a task; whenever that task panics or returns, it is
    /// reported and `make()` is called again after a growing wait. Tasks end
    /// only through [`Supervisor::stop`].
    pub fn spawn<F, Fut>(&self, name: &'static str, mut make: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let problems = Arc::clone(&self.problems);
        let finishing = Arc::clone(&self.finishing);
        let handle = self.tokio.spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            let mut restarts = 0u32;
            loop {
                let started = Instant::now();
                let mut running = tokio::spawn(make());
                // Stopping the supervisor drops this loop, and with it the task.
                let _abort = AbortOnDrop(running.abort_handle());
                let reason = match (&mut running).await {
                    Ok(()) if finishing.load(Ordering::SeqCst) => return,
                    Ok(()) => "ended unexpectedly".to_string(),
                    Err(e) if e.is_panic() => format!("panicked: {}", panic_text(e.into_panic())),
                    Err(_) => return,
                };
                if started.elapsed() >= STABLE_AFTER {
                    backoff = FIRST_BACKOFF;
                }
                restarts = restarts.saturating_add(1);
                tracing::error!(
                    task = name,
                    "{reason}; restarting in {} ms (restart {restarts})",
                    backoff.as_millis()
                );
                let problem = TaskProblem {
                    task: name.to_string(),
                    reason,
                    restarts,
                    at_ms: now_ms(),
                };
                problems.send_modify(|list| {
                    list.retain(|p| p.task != name);
                    list.push(problem);
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
        let mut tasks = crate::locked(&self.tasks);
        tasks.retain(|(_, h)| !h.is_finished());
        tasks.push((name, handle));
    }

    fn take_tasks(&self) -> Vec<(&'static str, JoinHandle<()>)> {
        std::mem::take(&mut *crate::locked(&self.tasks))
    }

    /// Stops every supervised task at once (and the task it is running).
    pub fn stop(&self) {
        // A task that returns while the others are being stopped (its
        // input closed with them) is done, not dead.
        self.finishing.store(true, Ordering::SeqCst);
        for (_, handle) in self.take_tasks() {
            handle.abort();
        }
    }

    /// From now on a task that returns is done, not dead: call before
    /// closing what the tasks read, then [`Supervisor::finish`].
    pub fn wind_down(&self) {
        self.finishing.store(true, Ordering::SeqCst);
    }

    /// Lets every task run to its natural end (a recorder whose queue has
    /// closed), without restarting it; after `timeout` the rest are stopped.
    /// True when all ended in time.
    pub async fn finish(&self, timeout: Duration) -> bool {
        self.wind_down();
        let tasks = self.take_tasks();
        let aborts: Vec<_> = tasks.iter().map(|(_, h)| h.abort_handle()).collect();
        let all = futures_util::future::join_all(tasks.into_iter().map(|(_, h)| h));
        let in_time = tokio::time::timeout(timeout, all).await.is_ok();
        for a in aborts {
            a.abort();
        }
        in_time
    }
}

/// Aborts a task when dropped.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_reported_and_restarted_with_growing_waits() {
        let supervisor = Supervisor::new();
        let mut problems = supervisor.problems();
        let starts = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&starts);
        supervisor.spawn("flaky", move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 3 {
                    panic!("boom {n}");
                }
                std::future::pending::<()>().await;
            }
        });
        let mut seen = Vec::new();
        while seen.len() < 3 {
            problems.changed().await.unwrap();
            let list = problems.borrow_and_update().clone();
            seen.push(list[0].clone());
        }
        assert_eq!(seen[0].reason, "panicked: boom 0");
        assert_eq!(seen[2].restarts, 3);
        assert_eq!(seen[2].reason, "panicked: boom 2");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            starts.load(Ordering::SeqCst),
            4,
            "running again after 3 panics"
        );
        supervisor.stop();
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_returns_is_restarted_and_stop_ends_it() {
        let supervisor = Supervisor::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&starts);
        supervisor.spawn("quitter", move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(starts.load(Ordering::SeqCst) >= 2);
        assert_eq!(
            supervisor.problems().borrow()[0].reason,
            "ended unexpectedly"
        );
        supervisor.stop();
        let after = starts.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(starts.load(Ordering::SeqCst), after);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_ends_the_running_task_itself() {
        struct Dropped(Arc<AtomicU32>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let supervisor = Supervisor::new();
        let dropped = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&dropped);
        supervisor.spawn("sleeper", move || {
            let held = Dropped(Arc::clone(&counter));
            async move {
                let _held = held;
                std::future::pending::<()>().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
        supervisor.stop();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "what the task held (a queue's sender) is let go"
        );
    }
}
