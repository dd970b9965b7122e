//! Verification runs: stored whole (totals, results with evidence, the
//! service table and breakdown measured during the run) so the window can
//! show their history and the report can be built from them alone. The
//! probe runs and resource samples a run measured go to their own tables.

use sqlx::Row;
use stackwarden_health::{CheckResult, CheckStatus, VerificationRun, VerificationSummary};
use stackwarden_model::redact;

use crate::{SampleRecord, Store, StoreError};

fn status_from(text: &str) -> CheckStatus {
    match text {
        "pass" => CheckStatus::Pass,
        "fail" => CheckStatus::Fail,
        _ => CheckStatus::Skipped,
    }
}

fn count(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

impl Store {
    /// Stores `run` with its results, probe runs and the resource samples it
    /// took; returns the run's id.
    pub async fn record_verification(&self, run: &VerificationRun) -> Result<i64, StoreError> {
        let services = serde_json::to_string(&run.services).unwrap_or_else(|_| "[]".into());
        let breakdown = run
            .breakdown
            .as_ref()
            .and_then(|b| serde_json::to_string(b).ok());
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query(
            "INSERT INTO verification_runs (stack, started_at_ms, duration_ms, passed, failed, skipped, required_failed, services_json, breakdown_json)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.stack)
        .bind(run.started_at_ms)
        .bind(run.duration_ms)
        .bind(i64::from(run.passed))
        .bind(i64::from(run.failed))
        .bind(i64::from(run.skipped))
        .bind(i64::from(run.required_failed))
        .bind(services)
        .bind(breakdown)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for (position, r) in run.results.iter().enumerate() {
            sqlx::query(
                "INSERT INTO verification_results (run_id, position, check_id, name, service, required, status, duration_ms, evidence, hint)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(&r.id)
            .bind(&r.name)
            .bind(&r.service)
            .bind(r.required)
            .bind(r.status.word())
            .bind(r.duration_ms)
            .bind(&r.evidence)
            .bind(&r.hint)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.record_probe_runs(&run.probe_runs).await?;
        let samples: Vec<SampleRecord> = run
            .services
            .iter()
            .filter_map(|row| {
                row.usage
                    .as_ref()
                    .map(|u| SampleRecord::of(&row.name, &row.id.0, u))
            })
            .collect();
        self.record(&samples).await?;
        Ok(id)
    }

    /// The newest runs first, at most `limit`.
    pub async fn verification_history(
        &self,
        limit: u32,
    ) -> Result<Vec<VerificationSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, stack, started_at_ms, duration_ms, passed, failed, skipped, required_failed
             FROM verification_runs ORDER BY started_at_ms DESC, id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(VerificationSummary {
                    id: r.try_get(0)?,
                    stack: r.try_get(1)?,
                    started_at_ms: r.try_get(2)?,
                    duration_ms: r.try_get(3)?,
                    passed: count(r.try_get(4)?),
                    failed: count(r.try_get(5)?),
                    skipped: count(r.try_get(6)?),
                    required_failed: count(r.try_get(7)?),
                })
            })
            .collect()
    }

    /// A stored run in full (its probe runs are not kept with it).
    pub async fn verification_run(&self, id: i64) -> Result<Option<VerificationRun>, StoreError> {
        let Some(r) = sqlx::query(
            "SELECT stack, started_at_ms, duration_ms, passed, failed, skipped, required_failed, services_json, breakdown_json
             FROM verification_runs WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let results = sqlx::query(
            "SELECT check_id, name, service, required, status, duration_ms, evidence, hint
             FROM verification_results WHERE run_id = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|c| {
            Ok(CheckResult {
                id: c.try_get(0)?,
                // Runs stored by earlier builds may still quote secrets.
                name: redact::text(&c.try_get::<String, _>(1)?),
                service: c.try_get(2)?,
                required: c.try_get(3)?,
                status: status_from(&c.try_get::<String, _>(4)?),
                duration_ms: c.try_get(5)?,
                evidence: redact::text(&c.try_get::<String, _>(6)?),
                hint: redact::text(&c.try_get::<String, _>(7)?),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let services: String = r.try_get(7)?;
        let breakdown: Option<String> = r.try_get(8)?;
        Ok(Some(VerificationRun {
            stack: r.try_get(0)?,
            started_at_ms: r.try_get(1)?,
            duration_ms: r.try_get(2)?,
            passed: count(r.try_get(3)?),
            failed: count(r.try_get(4)?),
            skipped: count(r.try_get(5)?),
            required_failed: count(r.try_get(6)?),
            results,
            services: serde_json::from_str(&services).unwrap_or_default(),
            breakdown: breakdown.and_then(|b| serde_json::from_str(&b).ok()),
            probe_runs: Vec::new(),
        }))
    }

    /// Keeps the newest `keep` runs (their results go with them).
    pub async fn prune_verifications(&self, keep: u32) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM verification_results WHERE run_id IN (
                 SELECT id FROM verification_runs ORDER BY started_at_ms DESC, id DESC LIMIT -1 OFFSET ?
             )",
        )
        .bind(i64::from(keep))
        .execute(&mut *tx)
        .await?;
        let removed = sqlx::query(
            "DELETE FROM verification_runs WHERE id IN (
                 SELECT id FROM verification_runs ORDER BY started_at_ms DESC, id DESC LIMIT -1 OFFSET ?
             )",
        )
        .bind(i64::from(keep))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }

    /// The first run started at or after `at_ms`, if any.
    pub async fn verification_after(
        &self,
        at_ms: i64,
    ) -> Result<Option<VerificationRun>, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM verification_runs WHERE started_at_ms >= ? ORDER BY started_at_ms, id LIMIT 1",
        )
        .bind(at_ms)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => self.verification_run(id).await,
            None => Ok(None),
        }
    }

    /// The newest stored run, if any.
    pub async fn last_verification(&self) -> Result<Option<VerificationRun>, StoreError> {
        match self.verification_history(1).await?.first() {
            Some(s) => self.verification_run(s.id).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use stackwarden_model::testing::row;
    use stackwarden_model::{ContainerState, HealthState, ResourceUsage};

    use super::*;
    use crate::Retention;

    fn result(id: &str, status: CheckStatus, required: bool) -> CheckResult {
        CheckResult {
            id: id.into(),
            name: format!("check {id}"),
            service: Some("postgres".into()),
            required,
            status,
            duration_ms: 1.5,
            evidence: format!("saw {id}"),
            hint: "fix it".into(),
        }
    }

    #[tokio::test]
    async fn runs_round_trip_with_results_services_and_samples() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::DataDir {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let store = Store::open(
            dir.path(),
            Retention {
                max_age: Duration::from_secs(3600),
                max_per_container: 100,
            },
        )
        .await?;
        assert_eq!(store.last_verification().await?, None);
        let mut pg = row(
            "local-ai-postgres",
            ContainerState::Running,
            HealthState::None,
        );
        pg.usage = Some(ResourceUsage {
            cpu_percent: 0.4,
            memory_used_bytes: 23_600_000,
            memory_limit_bytes: 1_000_000_000,
            sampled_at_ms: 5_000,
        });
        let run = |at: i64| VerificationRun {
            stack: "local-ai".into(),
            started_at_ms: at,
            duration_ms: 12.0,
            results: vec![
                result("engine", CheckStatus::Pass, true),
                result("probe:postgres:schema", CheckStatus::Fail, true),
                result("telemetry", CheckStatus::Skipped, false),
            ],
            passed: 1,
            failed: 1,
            skipped: 1,
            required_failed: 1,
            services: vec![pg.clone()],
            breakdown: None,
            probe_runs: Vec::new(),
        };
        store.record_verification(&run(1_000)).await?;
        let second = store.record_verification(&run(2_000)).await?;
        let history = store.verification_history(10).await?;
        assert_eq!(history.len(), 2);
        assert_eq!(store.prune_verifications(5).await?, 0);
        assert_eq!(history[0].id, second, "newest first");
        assert_eq!(history[0].required_failed, 1);
        let last = store.last_verification().await?.unwrap();
        assert_eq!(last, run(2_000));
        let samples = store.history("local-ai-postgres", 0, 10).await?;
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[0].memory_used_bytes, 23_600_000);

        assert_eq!(store.prune_verifications(1).await?, 1, "the older run goes");
        assert_eq!(store.verification_history(10).await?[0].id, second);
        assert_eq!(store.last_verification().await?.unwrap().results.len(), 3);
        Ok(())
    }
}
