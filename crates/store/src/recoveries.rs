//! Data fingerprints and recoveries, stored as the recovery crate's JSON:
//! the store keeps them and finds them by time, their shape is the
//! wizard's.

use sqlx::Row;

use crate::{Store, StoreError};

/// Fingerprints kept: enough to look back over a few days of
/// verifications, small enough never to matter.
pub const KEEP_FINGERPRINTS: i64 = 50;

/// A recovery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecovery {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub started_ms: i64,
    pub finished_ms: i64,
    pub ok: bool,
    /// The recovery, as JSON.
    pub body: String,
}

impl Store {
    /// Keeps a fingerprint (JSON) and forgets all but the newest
    /// [`KEEP_FINGERPRINTS`].
    pub async fn save_fingerprint(&self, taken_at_ms: i64, body: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO fingerprints (taken_at_ms, body) VALUES (?, ?)")
            .bind(taken_at_ms)
            .bind(body)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "DELETE FROM fingerprints WHERE id NOT IN (SELECT id FROM fingerprints ORDER BY taken_at_ms DESC, id DESC LIMIT ?)",
        )
        .bind(KEEP_FINGERPRINTS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest fingerprints (JSON), newest first.
    pub async fn fingerprints(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT body FROM fingerprints ORDER BY taken_at_ms DESC, id DESC LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Every container name the history has samples of: the names a
    /// recovery gives containers it recreates, as the user's compose tool
    /// named them.
    pub async fn container_names(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT container_name FROM resource_samples")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The newest incident still open, if any.
    pub async fn newest_open_incident(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query(
            "SELECT id FROM incidents WHERE closed_at_ms IS NULL ORDER BY opened_at_ms DESC, id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
    }

    /// Records a recovery on incident `on`, else on the newest open one.
    pub async fn record_recovery(
        &self,
        on: Option<i64>,
        started_ms: i64,
        finished_ms: i64,
        ok: bool,
        body: &str,
    ) -> Result<StoredRecovery, StoreError> {
        let incident_id = match on {
            Some(id) => Some(id),
            None => self.newest_open_incident().await?,
        };
        let done = sqlx::query(
            "INSERT INTO recoveries (incident_id, started_ms, finished_ms, ok, body) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(incident_id)
        .bind(started_ms)
        .bind(finished_ms)
        .bind(i64::from(ok))
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(StoredRecovery {
            id: done.last_insert_rowid(),
            incident_id,
            started_ms,
            finished_ms,
            ok,
            body: body.to_string(),
        })
    }

    /// Recoveries that started at or after `since_ms`, oldest first.
    pub async fn recoveries_since(&self, since_ms: i64) -> Result<Vec<StoredRecovery>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, incident_id, started_ms, finished_ms, ok, body FROM recoveries WHERE started_ms >= ? ORDER BY started_ms, id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        read_recoveries(&rows)
    }

    /// The recoveries recorded on incident `id`, oldest first.
    pub async fn incident_recoveries(&self, id: i64) -> Result<Vec<StoredRecovery>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, incident_id, started_ms, finished_ms, ok, body FROM recoveries WHERE incident_id = ? ORDER BY started_ms, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        read_recoveries(&rows)
    }
}

fn read_recoveries(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<StoredRecovery>, StoreError> {
    rows.iter()
        .map(|r| {
            Ok(StoredRecovery {
                id: r.try_get(0)?,
                incident_id: r.try_get(1)?,
                started_ms: r.try_get(2)?,
                finished_ms: r.try_get(3)?,
                ok: r.try_get::<i64, _>(4)? != 0,
                body: r.try_get(5)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::{Retention, Store, StoreError};

    #[tokio::test]
    async fn fingerprints_keep_the_newest_and_recoveries_are_found_by_time(
    ) -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: "tmp".into(),
            source,
        })?;
        let retention = Retention {
            max_age: std::time::Duration::from_secs(3600),
            max_per_container: 10,
        };
        let store = Store::open(dir.path(), retention).await?;
        for i in 0..(super::KEEP_FINGERPRINTS + 5) {
            store.save_fingerprint(i, &format!("{{\"n\":{i}}}")).await?;
        }
        let newest = store.fingerprints(100).await?;
        assert_eq!(newest.len() as i64, super::KEEP_FINGERPRINTS);
        assert_eq!(
            newest[0],
            format!("{{\"n\":{}}}", super::KEEP_FINGERPRINTS + 4)
        );
        let r = store.record_recovery(None, 10, 20, true, "{}").await?;
        assert_eq!(r.incident_id, None);
        assert_eq!(store.recoveries_since(0).await?, vec![r]);
        Ok(())
    }
}
