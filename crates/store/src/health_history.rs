//! Probe runs, status transitions and the last good stack definition: the
//! health side of the store. Retention for runs and transitions follows the
//! same age limit as resource samples, and runs are capped per probe.

use sqlx::Row;
use stackwarden_health::{
    ConditionResult, ProbeRun, RecordedTransition, ResponsePoint, ServiceStatus, StatusTransition,
};

use crate::{Store, StoreError};

/// The last stack definition that loaded cleanly from a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStack {
    pub text: String,
    pub loaded_at_ms: i64,
}

fn status_text(s: ServiceStatus) -> &'static str {
    s.word()
}

fn status_from(text: &str) -> Option<ServiceStatus> {
    [
        ServiceStatus::Healthy,
        ServiceStatus::Degraded,
        ServiceStatus::Unhealthy,
        ServiceStatus::Down,
        ServiceStatus::Unknown,
        ServiceStatus::NotDeployed,
    ]
    .into_iter()
    .find(|s| s.word() == text)
}

/// How long status transitions are kept at least: the timeline's longest
/// range, and a day more.
pub const TRANSITIONS_KEPT_MS: i64 = 31 * 24 * 3600 * 1000;

impl Store {
    /// Records probe runs in one transaction.
    pub async fn record_probe_runs(&self, runs: &[ProbeRun]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for run in runs {
            let conditions =
                serde_json::to_string(&run.outcome.conditions).unwrap_or_else(|_| "[]".to_string());
            sqlx::query(
                "INSERT INTO probe_runs (service, probe, at_ms, success, duration_ms, error, conditions_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&run.service)
            .bind(&run.outcome.probe)
            .bind(run.at_ms)
            .bind(run.outcome.success)
            .bind(run.duration_ms)
            .bind(&run.outcome.error)
            .bind(conditions)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A service's probe response times since `since_ms`, oldest first, at
    /// most `limit` (the newest when there are more).
    pub async fn response_times(
        &self,
        service: &str,
        since_ms: i64,
        limit: u32,
    ) -> Result<Vec<ResponsePoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT probe, at_ms, duration_ms, success FROM (
                 SELECT probe, at_ms, duration_ms, success FROM probe_runs
                 WHERE service = ? AND at_ms >= ? ORDER BY at_ms DESC LIMIT ?
             ) ORDER BY at_ms ASC",
        )
        .bind(service)
        .bind(since_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResponsePoint {
                    probe: r.try_get(0)?,
                    at_ms: r.try_get(1)?,
                    duration_ms: r.try_get(2)?,
                    success: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The newest stored run of each probe of `service`, with its conditions.
    pub async fn last_runs(&self, service: &str) -> Result<Vec<ProbeRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT probe, at_ms, success, duration_ms, error, conditions_json FROM probe_runs p
             WHERE service = ? AND at_ms = (
                 SELECT MAX(at_ms) FROM probe_runs q WHERE q.service = p.service AND q.probe = p.probe
             ) ORDER BY probe",
        )
        .bind(service)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let conditions: Vec<ConditionResult> =
                    serde_json::from_str(&r.try_get::<String, _>(5)?).unwrap_or_default();
                Ok(ProbeRun {
                    service: service.to_string(),
                    at_ms: r.try_get(1)?,
                    duration_ms: r.try_get(3)?,
                    outcome: stackwarden_health::ProbeOutcome {
                        probe: r.try_get(0)?,
                        success: r.try_get(2)?,
                        conditions,
                        error: r.try_get(4)?,
                    },
                })
            })
            .collect()
    }

    pub async fn record_transitions(
        &self,
        at_ms: i64,
        transitions: &[StatusTransition],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for t in transitions {
            sqlx::query(
                "INSERT INTO status_transitions (service, at_ms, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&t.service)
            .bind(at_ms)
            .bind(t.from.map(status_text))
            .bind(status_text(t.to))
            .bind(&t.reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Each service's status (and why) as its last transition before
    /// `at_ms` left it.
    pub async fn statuses_before(
        &self,
        at_ms: i64,
    ) -> Result<std::collections::BTreeMap<String, (ServiceStatus, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.service, t.to_status, t.reason FROM status_transitions t
             JOIN (SELECT service, MAX(at_ms) AS last FROM status_transitions WHERE at_ms < ?1 GROUP BY service) l
               ON t.service = l.service AND t.at_ms = l.last
             ORDER BY t.rowid",
        )
        .bind(at_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut out = std::collections::BTreeMap::new();
        for r in &rows {
            let to: String = r.try_get(1)?;
            if let Some(status) = status_from(&to) {
                out.insert(r.try_get(0)?, (status, r.try_get(2)?));
            }
        }
        Ok(out)
    }

    /// Transitions since `since_ms`, oldest first.
    pub async fn transitions_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<RecordedTransition>, StoreError> {
        let rows = sqlx::query(
            "SELECT service, at_ms, from_status, to_status, reason FROM status_transitions
             WHERE at_ms >= ? ORDER BY at_ms ASC, rowid ASC",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let to: String = r.try_get(3)?;
            let Some(to) = status_from(&to) else {
                tracing::warn!("skipping a transition with unknown status {to:?}");
                continue;
            };
            let from: Option<String> = r.try_get(2)?;
            out.push(RecordedTransition {
                at_ms: r.try_get(1)?,
                change: StatusTransition {
                    service: r.try_get(0)?,
                    from: from.as_deref().and_then(status_from),
                    to,
                    reason: r.try_get(4)?,
                },
            });
        }
        Ok(out)
    }

    /// Remembers that `service` of compose project `project` has had a
    /// container (kept regardless of retention: it decides whether the
    /// service missing later is down or was never deployed).
    pub async fn record_deployed(
        &self,
        project: &str,
        service: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deployed_services (project, service, first_seen_ms) VALUES (?, ?, ?)
             ON CONFLICT(project, service) DO NOTHING",
        )
        .bind(project)
        .bind(service)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every `(project, service)` that has had a container.
    pub async fn ever_deployed(
        &self,
    ) -> Result<std::collections::BTreeSet<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT project, service FROM deployed_services")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Remembers `text` as the last good definition from `source`.
    pub async fn save_stack(&self, source: &str, text: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stack_definitions (source, text, loaded_at_ms) VALUES (?, ?, ?)
             ON CONFLICT(source) DO UPDATE SET text = excluded.text, loaded_at_ms = excluded.loaded_at_ms",
        )
        .bind(source)
        .bind(text)
        .bind(at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn last_good_stack(&self, source: &str) -> Result<Option<StoredStack>, StoreError> {
        let row = sqlx::query("SELECT text, loaded_at_ms FROM stack_definitions WHERE source = ?")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredStack {
                text: r.try_get(0)?,
                loaded_at_ms: r.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Deletes probe runs past the retention limits, and transitions (but
    /// each service's newest) and actions on no incident older than both
    /// those limits and `TRANSITIONS_KEPT_MS` (few and small, they carry the
    /// timeline's 7- and 30-day availability and its markers).
    pub(crate) async fn prune_health(
        &self,
        now_ms: i64,
        oldest_ms: i64,
    ) -> Result<u64, StoreError> {
        let oldest_transition = oldest_ms.min(now_ms.saturating_sub(TRANSITIONS_KEPT_MS));
        let mut removed = 0;
        for (delete, oldest) in [
            ("DELETE FROM probe_runs WHERE at_ms < ?1", oldest_ms),
            // Each service's newest change before the cutoff stays: it is the
            // status the service still has, which every lane starts from.
            (
                "DELETE FROM status_transitions WHERE at_ms < ?1 AND rowid NOT IN (
                     SELECT t.rowid FROM status_transitions t
                     JOIN (SELECT service, MAX(at_ms) AS last FROM status_transitions WHERE at_ms < ?1 GROUP BY service) l
                       ON t.service = l.service AND t.at_ms = l.last
                 )",
                oldest_transition,
            ),
            (
                "DELETE FROM actions WHERE incident_id IS NULL AND at_ms < ?1",
                oldest_transition,
            ),
        ] {
            removed += sqlx::query(delete)
                .bind(oldest)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        removed += sqlx::query(
            "DELETE FROM probe_runs WHERE rowid IN (
                 SELECT rowid FROM (
                     SELECT rowid, ROW_NUMBER() OVER (PARTITION BY service, probe ORDER BY at_ms DESC) AS n
                     FROM probe_runs
                 ) WHERE n > ?
             )",
        )
        .bind(i64::from(self.retention.max_per_container))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use stackwarden_health::ProbeOutcome;

    use super::*;
    use crate::Retention;

    async fn store(dir: &tempfile::TempDir) -> Result<Store, StoreError> {
        Store::open(
            dir.path(),
            Retention {
                max_age: Duration::from_secs(3600),
                max_per_container: 3,
            },
        )
        .await
    }

    fn tmp() -> Result<tempfile::TempDir, StoreError> {
        tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: PathBuf::from("tmp"),
            source,
        })
    }

    fn run(probe: &str, at_ms: i64, ms: f64, success: bool) -> ProbeRun {
        ProbeRun {
            service: "aidb".into(),
            at_ms,
            duration_ms: ms,
            outcome: ProbeOutcome {
                probe: probe.into(),
                success,
                conditions: vec![ConditionResult {
                    condition: "[BODY].status == ok".into(),
                    success,
                    observed: if success { "ok" } else { "degraded" }.into(),
                }],
                error: (!success).then(|| "1 condition failed".to_string()),
            },
        }
    }

    #[tokio::test]
    async fn probe_runs_round_trip_with_conditions() -> Result<(), StoreError> {
        let dir = tmp()?;
        let store = store(&dir).await?;
        store
            .record_probe_runs(&[
                run("health", 1000, 12.5, true),
                run("health", 2000, 40.0, false),
                run("tables", 1500, 7.0, true),
            ])
            .await?;
        let points = store.response_times("aidb", 0, 10).await?;
        assert_eq!(
            points
                .iter()
                .map(|p| (p.probe.as_str(), p.at_ms))
                .collect::<Vec<_>>(),
            [("health", 1000), ("tables", 1500), ("health", 2000)]
        );
        assert_eq!(points[2].duration_ms, 40.0);
        assert!(!points[2].success);
        let last = store.last_runs("aidb").await?;
        assert_eq!(last.len(), 2);
        assert_eq!(last[0], run("health", 2000, 40.0, false));
        assert!(store.response_times("other", 0, 10).await?.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn transitions_round_trip_in_order() -> Result<(), StoreError> {
        let dir = tmp()?;
        let store = store(&dir).await?;
        let t = |service: &str, from, to| StatusTransition {
            service: service.into(),
            from,
            to,
            reason: "r".into(),
        };
        store
            .record_transitions(10, &[t("db", None, ServiceStatus::Unknown)])
            .await?;
        store
            .record_transitions(
                20,
                &[t("db", Some(ServiceStatus::Unknown), ServiceStatus::Down)],
            )
            .await?;
        let all = store.transitions_since(0).await?;
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].at_ms, 20);
        assert_eq!(all[1].change.from, Some(ServiceStatus::Unknown));
        assert_eq!(all[1].change.to, ServiceStatus::Down);
        assert_eq!(store.transitions_since(15).await?.len(), 1);
        Ok(())
    }

    #[tokio::test]
    async fn prune_drops_old_runs_and_caps_each_probe() -> Result<(), StoreError> {
        let dir = tmp()?;
        let store = store(&dir).await?;
        let hour = 3_600_000;
        let now = 10 * hour;
        let mut runs: Vec<ProbeRun> = (0..5).map(|i| run("health", now - i, 1.0, true)).collect();
        runs.push(run("tables", now - 2 * hour, 1.0, true));
        store.record_probe_runs(&runs).await?;
        let change = |service: &str, to| StatusTransition {
            service: service.into(),
            from: None,
            to,
            reason: "r".into(),
        };
        let day = 24 * hour;
        for (at, service, to) in [
            (now - 2 * hour, "aidb", ServiceStatus::Healthy),
            (now - 33 * day, "aidb", ServiceStatus::Down),
            (now - 32 * day, "aidb", ServiceStatus::Healthy),
            // Healthy for 40 days: its one change is all that says so.
            (now - 40 * day, "qdrant", ServiceStatus::Healthy),
        ] {
            store.record_transitions(at, &[change(service, to)]).await?;
        }
        let removed = store.prune(now).await?;
        assert_eq!(
            removed, 4,
            "1 old run, aidb's change 33 days ago, 2 over the cap"
        );
        assert_eq!(store.response_times("aidb", 0, 100).await?.len(), 3);
        let kept: Vec<(String, i64)> = store
            .transitions_since(i64::MIN)
            .await?
            .into_iter()
            .map(|t| (t.change.service, t.at_ms))
            .collect();
        assert_eq!(
            kept,
            vec![
                ("qdrant".to_string(), now - 40 * day),
                ("aidb".to_string(), now - 32 * day),
                ("aidb".to_string(), now - 2 * hour),
            ],
            "kept for 7 and 30 days past the probe runs' retention, and each service's newest change before the cutoff always"
        );
        let before = store.statuses_before(now - hour).await?;
        assert_eq!(
            before.get("qdrant").map(|s| s.0),
            Some(ServiceStatus::Healthy),
            "a service stable for 40 days still has its status"
        );
        Ok(())
    }

    #[tokio::test]
    async fn last_good_stack_is_kept_per_source() -> Result<(), StoreError> {
        let dir = tmp()?;
        let store = store(&dir).await?;
        assert_eq!(store.last_good_stack("/a.yaml").await?, None);
        store.save_stack("/a.yaml", "one", 1).await?;
        store.save_stack("/a.yaml", "two", 2).await?;
        store.save_stack("/b.yaml", "other", 3).await?;
        assert_eq!(
            store.last_good_stack("/a.yaml").await?,
            Some(StoredStack {
                text: "two".into(),
                loaded_at_ms: 2
            })
        );
        Ok(())
    }

    #[tokio::test]
    async fn services_that_had_a_container_are_remembered_past_retention_and_reopening(
    ) -> Result<(), StoreError> {
        let dir = tmp()?;
        let s = store(&dir).await?;
        s.record_deployed("ai", "aider", 1_000).await?;
        s.record_deployed("ai", "aider", 2_000).await?;
        s.record_deployed("other", "aider", 3_000).await?;
        s.prune(i64::MAX / 2).await?;
        s.close().await;
        let s = store(&dir).await?;
        let ever: Vec<(String, String)> = s.ever_deployed().await?.into_iter().collect();
        assert_eq!(
            ever,
            [
                ("ai".to_string(), "aider".to_string()),
                ("other".to_string(), "aider".to_string())
            ]
        );
        Ok(())
    }
}
