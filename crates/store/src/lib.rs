//! Stackwarden's own SQLite database under the XDG data directory. Migrations
//! run at open (timestamped files in `migrations/`, embedded at build time),
//! the journal is WAL so the window can read while the monitor writes, and
//! resource samples are pruned by age and by count per container. Probe runs,
//! status transitions and the last good stack definition live in
//! `health_history`.

mod actions;
mod drills;
mod health_history;
mod incidents;
mod recoveries;
mod telemetry;
mod verification;

pub use actions::{ActionRecord, ActionSource, StoredAction};
pub use drills::{DrillRecord, StoredDrill};
pub use health_history::StoredStack;
pub use incidents::{Evidence, Gap, StoredIncident};
pub use recoveries::{StoredRecovery, KEEP_FINGERPRINTS};
pub use telemetry::{StoredMinute, TelemetryFile, KEEP_BAD_LINES};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use stackwarden_model::{HistoryPoint, ResourceUsage};

pub const DATABASE_FILE: &str = "stackwarden.sqlite3";
/// Verification runs kept for the history and the report (the newest).
pub const KEEP_VERIFICATION_RUNS: u32 = 500;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot upgrade the database {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// How much history to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_age: Duration,
    pub max_per_container: u32,
}

/// One sample to record.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRecord {
    pub container_name: String,
    pub container_id: String,
    pub at_ms: i64,
    pub cpu_percent: f64,
    pub memory_used_bytes: u64,
    pub memory_limit_bytes: u64,
}

impl SampleRecord {
    /// The record of one container's measured usage.
    pub fn of(container_name: &str, container_id: &str, usage: &ResourceUsage) -> Self {
        Self {
            container_name: container_name.to_string(),
            container_id: container_id.to_string(),
            at_ms: usage.sampled_at_ms,
            cpu_percent: usage.cpu_percent,
            memory_used_bytes: usage.memory_used_bytes,
            memory_limit_bytes: usage.memory_limit_bytes,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    retention: Retention,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `dir/stackwarden.sqlite3` and migrates it.
    pub async fn open(dir: &Path, retention: Retention) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(DATABASE_FILE);
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(open_err)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Deleted rows (old stack text, pruned history) are overwritten,
            // not left readable in free pages.
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                path: path.clone(),
                source,
            })?;
        Ok(Self {
            pool,
            retention,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn journal_mode(&self) -> Result<String, StoreError> {
        let row = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<String, _>(0)?)
    }

    /// Records a batch of samples in one transaction.
    pub async fn record(&self, samples: &[SampleRecord]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for s in samples {
            sqlx::query(
                "INSERT INTO resource_samples (container_name, container_id, at_ms, cpu_percent, memory_used_bytes, memory_limit_bytes) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&s.container_name)
            .bind(&s.container_id)
            .bind(s.at_ms)
            .bind(s.cpu_percent)
            .bind(i64::try_from(s.memory_used_bytes).unwrap_or(i64::MAX))
            .bind(i64::try_from(s.memory_limit_bytes).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A container's samples since `since_ms`, oldest first, at most `limit`
    /// (the newest ones when there are more).
    pub async fn history(
        &self,
        container_name: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<HistoryPoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, cpu_percent, memory_used_bytes FROM (
                 SELECT at_ms, cpu_percent, memory_used_bytes FROM resource_samples
                 WHERE container_name = ? AND at_ms >= ? ORDER BY at_ms DESC LIMIT ?
             ) ORDER BY at_ms ASC",
        )
        .bind(container_name)
        .bind(since_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryPoint {
                    at_ms: r.try_get(0)?,
                    cpu_percent: r.try_get(1)?,
                    memory_used_bytes: u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Deletes samples past the retention limits; returns how many went.
    pub async fn prune(&self, now_ms: i64) -> Result<u64, StoreError> {
        let max_age_ms = i64::try_from(self.retention.max_age.as_millis()).unwrap_or(i64::MAX);
        let by_age = sqlx::query("DELETE FROM resource_samples WHERE at_ms < ?")
            .bind(now_ms.saturating_sub(max_age_ms))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let by_count = sqlx::query(
            "DELETE FROM resource_samples WHERE rowid IN (
                 SELECT rowid FROM (
                     SELECT rowid, ROW_NUMBER() OVER (PARTITION BY container_name ORDER BY at_ms DESC) AS n
                     FROM resource_samples
                 ) WHERE n > ?
             )",
        )
        .bind(i64::from(self.retention.max_per_container))
        .execute(&self.pool)
        .await?
        .rows_affected();
        let health = self
            .prune_health(now_ms, now_ms.saturating_sub(max_age_ms))
            .await?;
        let runs = self.prune_verifications(KEEP_VERIFICATION_RUNS).await?;
        let telemetry = self
            .prune_telemetry(now_ms.saturating_sub(max_age_ms))
            .await?;
        Ok(by_age + by_count + health + runs + telemetry)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, at_ms: i64, cpu: f64) -> SampleRecord {
        SampleRecord {
            container_name: name.into(),
            container_id: format!("{name}-id"),
            at_ms,
            cpu_percent: cpu,
            memory_used_bytes: 1000 + at_ms as u64,
            memory_limit_bytes: 1_000_000,
        }
    }

    fn retention() -> Retention {
        Retention {
            max_age: Duration::from_secs(3600),
            max_per_container: 3,
        }
    }

    #[tokio::test]
    async fn opens_in_wal_mode_records_and_reads_back() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let store = Store::open(&dir.path().join("nested"), retention()).await?;
        assert_eq!(store.journal_mode().await?, "wal");
        store
            .record(&[
                sample("redis", 10, 1.5),
                sample("redis", 20, 2.5),
                sample("pg", 15, 9.0),
            ])
            .await?;
        let h = store.history("redis", 0, 100).await?;
        assert_eq!(h.iter().map(|p| p.at_ms).collect::<Vec<_>>(), [10, 20]);
        assert_eq!(h[1].cpu_percent, 2.5);
        assert_eq!(h[1].memory_used_bytes, 1020);
        let newest = store.history("redis", 0, 1).await?;
        assert_eq!(newest.iter().map(|p| p.at_ms).collect::<Vec<_>>(), [20]);
        store.close().await;

        // Reopening runs migrations again without harm and keeps the data.
        let again = Store::open(&dir.path().join("nested"), retention()).await?;
        assert_eq!(again.history("pg", 0, 10).await?.len(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn prune_applies_age_and_count_limits() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let store = Store::open(dir.path(), retention()).await?;
        let hour = 3_600_000;
        let now = 10 * hour;
        let mut batch: Vec<SampleRecord> = (0..5)
            .map(|i| sample("llama", now - i * 1000, 1.0))
            .collect();
        batch.push(sample("llama", now - 2 * hour, 1.0));
        batch.push(sample("qdrant", now - 2 * hour, 1.0));
        batch.push(sample("qdrant", now, 1.0));
        store.record(&batch).await?;
        let removed = store.prune(now).await?;
        assert_eq!(removed, 4, "2 too old, 2 over the per-container count");
        let llama = store.history("llama", 0, 100).await?;
        assert_eq!(
            llama.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
            [now - 2000, now - 1000, now]
        );
        assert_eq!(store.history("qdrant", 0, 100).await?.len(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn unwritable_data_dir_is_a_clear_error() {
        let err = Store::open(Path::new("/proc/stackwarden-cannot-live-here"), retention()).await;
        match err {
            Err(e @ StoreError::DataDir { .. }) => {
                assert!(e.to_string().contains("/proc/stackwarden-cannot-live-here"))
            }
            other => panic!("expected DataDir error, got {other:?}"),
        }
    }
}
