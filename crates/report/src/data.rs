//! What a report is built from, read from the store.

use std::collections::BTreeMap;

use stackwarden_health::{ResponsePoint, VerificationRun};
use stackwarden_model::HistoryPoint;
use stackwarden_store::{Store, StoreError};

/// How far back the charts look.
pub const CHART_WINDOW_MS: i64 = 24 * 3600 * 1000;
const CHART_POINTS: u32 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no verification run is stored yet: run `stackwarden verify` (or Verify now in the window) first, then build the report")]
    NoRun,
    #[error("there is no incident #{0}: `stackwarden timeline` lists them with their numbers")]
    NoIncident(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot draw a chart: {0}")]
    Chart(#[from] crate::chart::ChartError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct ReportData {
    pub generated_at_ms: i64,
    /// Where the measurements come from, named in the report.
    pub database: String,
    pub run: VerificationRun,
    /// Per container name, oldest first.
    pub resources: BTreeMap<String, Vec<HistoryPoint>>,
    /// Per stack service, oldest first.
    pub response_times: BTreeMap<String, Vec<ResponsePoint>>,
}

impl ReportData {
    /// The newest verification run and the history around it.
    pub async fn load(store: &Store, now_ms: i64) -> Result<Self, ReportError> {
        let run = store.last_verification().await?.ok_or(ReportError::NoRun)?;
        let since = run.started_at_ms - CHART_WINDOW_MS;
        // The stack's containers when the run knows them, else all measured.
        let containers: Vec<String> = match &run.breakdown {
            Some(b) => b.services.iter().map(|s| s.container.clone()).collect(),
            None => run.services.iter().map(|r| r.name.clone()).collect(),
        };
        let mut resources = BTreeMap::new();
        for name in containers {
            let points = store.history(&name, since, CHART_POINTS).await?;
            if !points.is_empty() {
                resources.insert(name, points);
            }
        }
        let mut response_times = BTreeMap::new();
        if let Some(b) = &run.breakdown {
            for s in &b.services {
                let points = store
                    .response_times(&s.service, since, CHART_POINTS)
                    .await?;
                if !points.is_empty() {
                    response_times.insert(s.service.clone(), points);
                }
            }
        }
        Ok(Self {
            generated_at_ms: now_ms,
            database: store.path().display().to_string(),
            run,
            resources,
            response_times,
        })
    }
}
