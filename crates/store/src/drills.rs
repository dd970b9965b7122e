//! Self-healing drills and their measurements, newest first.

use serde::Serialize;
use sqlx::Row;
use ts_rs::TS;

use crate::{Store, StoreError};

/// One drill: when the container was killed, and after how many
/// milliseconds each step came (`None`: it never did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct DrillRecord {
    /// When the container was killed.
    #[ts(type = "number")]
    pub at_ms: i64,
    pub service: String,
    pub container: String,
    /// Until the watch saw the service fail.
    #[ts(type = "number | null")]
    pub detected_ms: Option<i64>,
    /// Until the healer acted.
    #[ts(type = "number | null")]
    pub acted_ms: Option<i64>,
    /// Until the container ran again.
    #[ts(type = "number | null")]
    pub running_ms: Option<i64>,
    /// Until the service was healthy again.
    #[ts(type = "number | null")]
    pub healthy_ms: Option<i64>,
    pub recovered: bool,
    /// What happened, one line.
    pub note: String,
}

/// A drill as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StoredDrill {
    #[ts(type = "number")]
    pub id: i64,
    pub drill: DrillRecord,
}

impl Store {
    pub async fn record_drill(&self, drill: &DrillRecord) -> Result<StoredDrill, StoreError> {
        let done = sqlx::query(
            "INSERT INTO drills (at_ms, service, container, detected_ms, acted_ms, running_ms, healthy_ms, recovered, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(drill.at_ms)
        .bind(&drill.service)
        .bind(&drill.container)
        .bind(drill.detected_ms)
        .bind(drill.acted_ms)
        .bind(drill.running_ms)
        .bind(drill.healthy_ms)
        .bind(i64::from(drill.recovered))
        .bind(&drill.note)
        .execute(&self.pool)
        .await?;
        Ok(StoredDrill {
            id: done.last_insert_rowid(),
            drill: drill.clone(),
        })
    }

    /// The newest `limit` drills, of `service` or of all.
    pub async fn drills(
        &self,
        service: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredDrill>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, service, container, detected_ms, acted_ms, running_ms, healthy_ms, recovered, note
             FROM drills WHERE ?1 IS NULL OR service = ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2",
        )
        .bind(service)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let read = |r: &sqlx::sqlite::SqliteRow| -> Result<StoredDrill, sqlx::Error> {
            Ok(StoredDrill {
                id: r.try_get(0)?,
                drill: DrillRecord {
                    at_ms: r.try_get(1)?,
                    service: r.try_get(2)?,
                    container: r.try_get(3)?,
                    detected_ms: r.try_get(4)?,
                    acted_ms: r.try_get(5)?,
                    running_ms: r.try_get(6)?,
                    healthy_ms: r.try_get(7)?,
                    recovered: r.try_get::<i64, _>(8)? != 0,
                    note: r.try_get(9)?,
                },
            })
        };
        Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Retention;

    #[tokio::test]
    async fn drills_come_back_newest_first_per_service() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: "tmp".into(),
            source,
        })?;
        let retention = Retention {
            max_age: std::time::Duration::from_secs(3600),
            max_per_container: 10,
        };
        let store = Store::open(dir.path(), retention).await?;
        for (at, service) in [(1, "db"), (2, "web"), (3, "db")] {
            store
                .record_drill(&DrillRecord {
                    at_ms: at,
                    service: service.into(),
                    container: format!("c-{service}"),
                    detected_ms: Some(400),
                    acted_ms: Some(900),
                    running_ms: Some(1200),
                    healthy_ms: None,
                    recovered: false,
                    note: "not healthy within 2 min".into(),
                })
                .await?;
        }
        let db = store.drills(Some("db"), 10).await?;
        assert_eq!(db.iter().map(|d| d.drill.at_ms).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(store.drills(None, 2).await?.len(), 2);
        Ok(())
    }
}
