//! Incidents and their evidence: the incident rules decide, the runtime
//! records here, the timeline, the CLI and the recovery report read.

use sqlx::Row;
use stackwarden_incidents::{GapSpan, Incident, Lane};

use crate::{Store, StoreError};

/// An incident with the id the store gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredIncident {
    pub id: i64,
    pub incident: Incident,
}

/// One piece of evidence kept with an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub at_ms: i64,
    /// `event`, `conditions`, `logs`, `restarts`, `action`.
    pub kind: String,
    pub service: Option<String>,
    pub text: String,
}

const OPEN: &str = "SELECT id, incident_json FROM incidents WHERE closed_at_ms IS NULL AND ?1 = ?1 ORDER BY opened_at_ms, id";
const SINCE: &str = "SELECT id, incident_json FROM incidents WHERE closed_at_ms IS NULL OR closed_at_ms >= ?1 ORDER BY opened_at_ms, id";
const BY_ID: &str =
    "SELECT id, incident_json FROM incidents WHERE id = ?1 ORDER BY opened_at_ms, id";

/// A span nobody watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub from_ms: i64,
    pub to_ms: i64,
    pub reason: String,
}

impl Store {
    /// Notes that the watch is running now.
    pub async fn heartbeat(&self, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO watch_heartbeat (id, at_ms) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET at_ms = excluded.at_ms",
        )
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When the watch last noted it was running, if ever.
    pub async fn last_heartbeat(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT at_ms FROM watch_heartbeat WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    pub async fn record_gap(&self, gap: &Gap) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO watch_gaps (from_ms, to_ms, reason) VALUES (?, ?, ?)")
            .bind(gap.from_ms)
            .bind(gap.to_ms)
            .bind(&gap.reason)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gaps ending at or after `since_ms`, oldest first.
    pub async fn gaps_since(&self, since_ms: i64) -> Result<Vec<Gap>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_ms, to_ms, reason FROM watch_gaps WHERE to_ms >= ? ORDER BY from_ms",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Gap {
                    from_ms: r.try_get(0)?,
                    to_ms: r.try_get(1)?,
                    reason: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Inserts a new incident (`id` `None`) or updates a stored one;
    /// returns its id.
    pub async fn save_incident(
        &self,
        id: Option<i64>,
        incident: &Incident,
    ) -> Result<i64, StoreError> {
        let json = serde_json::to_string(incident).unwrap_or_else(|_| "{}".to_string());
        match id {
            Some(id) => {
                sqlx::query(
                    "UPDATE incidents SET closed_at_ms = ?, cause_service = ?, cause_summary = ?, incident_json = ? WHERE id = ?",
                )
                .bind(incident.closed_at_ms)
                .bind(&incident.cause.service)
                .bind(&incident.cause.summary)
                .bind(json)
                .bind(id)
                .execute(&self.pool)
                .await?;
                Ok(id)
            }
            None => {
                let ids = self
                    .save_incidents_with_evidence(&[(incident.clone(), Vec::new())])
                    .await?;
                Ok(ids.first().copied().unwrap_or_default())
            }
        }
    }

    /// Inserts `incidents`, each with its evidence, in one transaction;
    /// returns their ids in the same order.
    pub async fn save_incidents_with_evidence(
        &self,
        incidents: &[(Incident, Vec<Evidence>)],
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(incidents.len());
        for (incident, evidence) in incidents {
            let json = serde_json::to_string(incident).unwrap_or_else(|_| "{}".to_string());
            let id = sqlx::query(
                "INSERT INTO incidents (opened_at_ms, closed_at_ms, cause_service, cause_summary, incident_json) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(incident.opened_at_ms)
            .bind(incident.closed_at_ms)
            .bind(&incident.cause.service)
            .bind(&incident.cause.summary)
            .bind(json)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            for e in evidence {
                sqlx::query(
                    "INSERT INTO incident_evidence (incident_id, at_ms, kind, service, text) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(e.at_ms)
                .bind(&e.kind)
                .bind(&e.service)
                .bind(&e.text)
                .execute(&mut *tx)
                .await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn add_evidence(
        &self,
        incident_id: i64,
        evidence: &Evidence,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO incident_evidence (incident_id, at_ms, kind, service, text) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(incident_id)
        .bind(evidence.at_ms)
        .bind(&evidence.kind)
        .bind(&evidence.service)
        .bind(&evidence.text)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Incidents still open (to resume after a restart), oldest first.
    pub async fn open_incidents(&self) -> Result<Vec<StoredIncident>, StoreError> {
        self.incidents_where(OPEN, i64::MIN).await
    }

    /// Incidents open at or after `since_ms` (and those still open), newest
    /// first.
    pub async fn incidents_since(&self, since_ms: i64) -> Result<Vec<StoredIncident>, StoreError> {
        let mut list = self.incidents_where(SINCE, since_ms).await?;
        list.reverse();
        Ok(list)
    }

    pub async fn incident(&self, id: i64) -> Result<Option<StoredIncident>, StoreError> {
        Ok(self.incidents_where(BY_ID, id).await?.into_iter().next())
    }

    async fn incidents_where(
        &self,
        query: &'static str,
        value: i64,
    ) -> Result<Vec<StoredIncident>, StoreError> {
        let rows = sqlx::query(query).bind(value).fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let json: String = row.try_get(1)?;
            match serde_json::from_str::<Incident>(&json) {
                Ok(incident) => out.push(StoredIncident { id, incident }),
                Err(e) => tracing::warn!("incident {id} cannot be read back: {e}"),
            }
        }
        Ok(out)
    }

    /// The timeline's lanes of `services` (name, group) over
    /// `[from_ms, to_ms)`, and the gaps within it.
    pub async fn lanes(
        &self,
        services: &[(String, String)],
        from_ms: i64,
        to_ms: i64,
    ) -> Result<(Vec<Lane>, Vec<GapSpan>), StoreError> {
        let before = self.statuses_before(from_ms).await?;
        let changes = self.transitions_since(from_ms).await?;
        let gaps: Vec<GapSpan> = self
            .gaps_since(from_ms)
            .await?
            .into_iter()
            .filter(|g| g.from_ms < to_ms)
            .map(|g| GapSpan {
                from_ms: g.from_ms,
                to_ms: g.to_ms,
                reason: g.reason,
            })
            .collect();
        let mut services = services.to_vec();
        for c in &changes {
            if c.at_ms < to_ms && !services.iter().any(|(s, _)| *s == c.change.service) {
                services.push((c.change.service.clone(), "no longer in the stack".into()));
            }
        }
        let lanes =
            stackwarden_incidents::lanes(&services, &before, &changes, &gaps, from_ms, to_ms);
        Ok((lanes, gaps))
    }

    /// An incident's evidence, in time order.
    pub async fn evidence(&self, incident_id: i64) -> Result<Vec<Evidence>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, kind, service, text FROM incident_evidence WHERE incident_id = ? ORDER BY at_ms, rowid",
        )
        .bind(incident_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Evidence {
                    at_ms: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    service: r.try_get(2)?,
                    text: r.try_get(3)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use stackwarden_health::ServiceStatus;
    use stackwarden_incidents::{Change, IncidentTracker, Signal};

    use super::*;
    use crate::Retention;

    #[tokio::test]
    async fn incidents_and_evidence_round_trip_and_survive_retention() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: "tmp".into(),
            source,
        })?;
        let retention = Retention {
            max_age: Duration::from_secs(60),
            max_per_container: 10,
        };
        let store = Store::open(dir.path(), retention).await?;
        let mut tracker = IncidentTracker::new(BTreeMap::new());
        let opened = tracker.apply(Signal::Status {
            at_ms: 1_000,
            service: "postgres".into(),
            to: ServiceStatus::Down,
            reason: "container exited (137)".into(),
            required: true,
        });
        let Some(Change::Opened(incident)) = opened.first() else {
            panic!("{opened:?}");
        };
        let id = store.save_incident(None, incident).await?;
        store
            .add_evidence(
                id,
                &Evidence {
                    at_ms: 1_000,
                    kind: "logs".into(),
                    service: Some("postgres".into()),
                    text: "FATAL: terminating".into(),
                },
            )
            .await?;
        assert_eq!(store.open_incidents().await?.len(), 1);
        let closed = tracker.apply(Signal::Status {
            at_ms: 9_000,
            service: "postgres".into(),
            to: ServiceStatus::Healthy,
            reason: "all probes pass".into(),
            required: true,
        });
        let Some(Change::Closed(incident)) = closed.first() else {
            panic!("{closed:?}");
        };
        assert_eq!(store.save_incident(Some(id), incident).await?, id);
        store.prune(i64::MAX / 2).await?;
        assert!(store.open_incidents().await?.is_empty());
        let all = store.incidents_since(0).await?;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].incident.closed_at_ms, Some(9_000));
        assert_eq!(store.evidence(id).await?[0].text, "FATAL: terminating");
        assert!(store.incidents_since(10_000).await?.is_empty());
        Ok(())
    }
}
