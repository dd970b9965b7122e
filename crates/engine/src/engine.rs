//! `Engine`: the calls Stackwarden makes on a connected engine. Cheap to clone
//! (bollard's client is shared), so actions and the monitor use the same one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerStatsResponse, EventMessage};
use bollard::query_parameters::{
    EventsOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RestartContainerOptionsBuilder, StartContainerOptions, StatsOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use stackwarden_model::clock::now_ms;
use stackwarden_model::{
    ContainerAction, ContainerId, CpuSample, LogLine, ResourceUsage, ServiceRow,
};

use crate::convert::{row_from_inspect, usage_from_libpod, usage_from_stats};
use crate::endpoint::{describe, Connection};
use crate::error::EngineError;
use crate::libpod::{LibpodClient, LibpodStats};

/// Containers sampled at once; the engine answers each in a few ms.
const STATS_CONCURRENCY: usize = 64;
/// Grace period for stop and restart before the engine kills.
const STOP_TIMEOUT_SECS: i32 = 10;

/// A container as the engine's list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedContainer {
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    source: String,
    /// Podman's native API on the same socket, for batch stats.
    libpod: Option<LibpodClient>,
}

/// One container's resource sample, for the table and the history store.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsSample {
    pub id: ContainerId,
    pub name: String,
    pub usage: ResourceUsage,
}

/// Where a full refresh spent its time. On Podman the list and the batch
/// stats run at the same time, so `list` and `stats` overlap.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RefreshTiming {
    pub list: Duration,
    pub inspect: Duration,
    pub stats: Duration,
    /// Whether stats came from Podman's one-call endpoint.
    pub batch_stats: bool,
}

impl Engine {
    /// Wraps a connection, noting whether Podman's native API is there too.
    pub async fn new(connection: Connection) -> Self {
        let libpod = LibpodClient::detect(&connection.endpoint).await;
        Self {
            docker: connection.docker,
            endpoint: connection.endpoint,
            source: connection.source,
            libpod,
        }
    }

    /// Uses the Docker-compatible per-container stats even on Podman (as on
    /// Docker); for comparison and tests.
    pub fn without_batch_stats(mut self) -> Self {
        self.libpod = None;
        self
    }

    /// True when stats come from Podman's one-call endpoint.
    pub fn has_batch_stats(&self) -> bool {
        self.libpod.is_some()
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub async fn ping(&self) -> Result<(), EngineError> {
        self.docker
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| EngineError::Lost(describe(&e)))
    }

    /// Ids of every container, running or not.
    pub async fn list_ids(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.list_named().await?.into_iter().map(|c| c.id).collect())
    }

    /// Every container's id, name and compose labels, from one list call: enough
    /// to pick the ones worth inspecting.
    pub async fn list_named(&self) -> Result<Vec<ListedContainer>, EngineError> {
        let options = ListContainersOptionsBuilder::default().all(true).build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| EngineError::Lost(describe(&e)))?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                let label = |key: &str| c.labels.as_ref().and_then(|l| l.get(key)).cloned();
                Some(ListedContainer {
                    name: c
                        .names
                        .as_ref()
                        .and_then(|n| n.first())
                        .map(|n| n.trim_start_matches('/').to_string())
                        .unwrap_or_default(),
                    project: label(crate::convert::PROJECT_LABEL),
                    service: label(crate::convert::SERVICE_LABEL),
                    id: c.id?,
                })
            })
            .collect())
    }

    /// The row of one container; `ContainerGone` if it was removed.
    pub async fn inspect_row(&self, id: &str) -> Result<ServiceRow, EngineError> {
        let inspect = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| EngineError::about(id, e))?;
        row_from_inspect(&inspect).ok_or_else(|| EngineError::ContainerGone(id.to_string()))
    }

    /// Rows of the given containers, inspected concurrently; containers
    /// removed in the meantime are left out.
    pub async fn inspect_rows(&self, ids: &[String]) -> Result<Vec<ServiceRow>, EngineError> {
        let results: Vec<Result<ServiceRow, EngineError>> = stream::iter(ids.iter().cloned())
            .map(|id| async move { self.inspect_row(&id).await })
            .buffer_unordered(STATS_CONCURRENCY)
            .collect()
            .await;
        let mut rows = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(row) => rows.push(row),
                Err(EngineError::ContainerGone(_)) => {}
                Err(e) => return Err(e),
            }
        }
        rows.sort_by(|a, b| (&a.project, &a.name).cmp(&(&b.project, &b.name)));
        Ok(rows)
    }

    /// One stats reading of a container, without streaming.
    pub async fn stats(&self, id: &str) -> Result<ContainerStatsResponse, EngineError> {
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let mut s = Box::pin(self.docker.stats(id, Some(options)));
        match s.next().await {
            Some(Ok(stats)) => Ok(stats),
            Some(Err(e)) => Err(EngineError::about(id, e)),
            None => Err(EngineError::ContainerGone(id.to_string())),
        }
    }

    /// Samples every running row concurrently, updating `row.usage` and the
    /// previous CPU counters in `prev`. A container that vanished mid-call is
    /// skipped (its `remove` event follows); a lost engine is an error.
    pub async fn sample(
        &self,
        rows: &mut [ServiceRow],
        prev: &mut HashMap<ContainerId, CpuSample>,
    ) -> Result<Vec<StatsSample>, EngineError> {
        match &self.libpod {
            Some(libpod) => {
                let batch = libpod.all_stats().await?;
                Ok(apply_batch(rows, prev, batch))
            }
            None => self.sample_one_by_one(rows, prev).await,
        }
    }

    async fn sample_one_by_one(
        &self,
        rows: &mut [ServiceRow],
        prev: &mut HashMap<ContainerId, CpuSample>,
    ) -> Result<Vec<StatsSample>, EngineError> {
        let targets: Vec<(usize, String)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_running())
            .map(|(i, r)| (i, r.id.0.clone()))
            .collect();
        let results: Vec<(usize, Result<ContainerStatsResponse, EngineError>, i64)> =
            stream::iter(targets)
                .map(|(i, id)| async move {
                    let stats = self.stats(&id).await;
                    (i, stats, now_ms())
                })
                .buffer_unordered(STATS_CONCURRENCY)
                .collect()
                .await;
        let mut samples = Vec::with_capacity(results.len());
        for (i, result, taken_at) in results {
            let Some(row) = rows.get_mut(i) else { continue };
            match result {
                Ok(stats) => {
                    let (usage, cpu) =
                        usage_from_stats(&stats, prev.get(&row.id), row.started_at_ms, taken_at);
                    if let Some(cpu) = cpu {
                        prev.insert(row.id.clone(), cpu);
                    }
                    samples.push(record_usage(row, usage));
                }
                Err(EngineError::ContainerGone(_)) => row.usage = None,
                Err(e) => return Err(e),
            }
        }
        Ok(samples)
    }

    /// What the CLI and the benchmark do: list, inspect and sample everything.
    pub async fn full_refresh(
        &self,
        prev: &mut HashMap<ContainerId, CpuSample>,
    ) -> Result<(Vec<ServiceRow>, RefreshTiming), EngineError> {
        if let Some(libpod) = &self.libpod {
            let ((ids, list), (batch, stats)) = tokio::join!(
                async {
                    let t = Instant::now();
                    (libpod.list_ids().await, t.elapsed())
                },
                async {
                    let t = Instant::now();
                    (libpod.all_stats().await, t.elapsed())
                }
            );
            let t = Instant::now();
            let mut rows = self.inspect_rows(&ids?).await?;
            let inspect = t.elapsed();
            apply_batch(&mut rows, prev, batch?);
            return Ok((
                rows,
                RefreshTiming {
                    list,
                    inspect,
                    stats,
                    batch_stats: true,
                },
            ));
        }
        let t0 = Instant::now();
        let ids = self.list_ids().await?;
        let t1 = Instant::now();
        let mut rows = self.inspect_rows(&ids).await?;
        let t2 = Instant::now();
        self.sample(&mut rows, prev).await?;
        let t3 = Instant::now();
        Ok((
            rows,
            RefreshTiming {
                list: t1 - t0,
                inspect: t2 - t1,
                stats: t3 - t2,
                batch_stats: false,
            },
        ))
    }

    /// Starts, stops or restarts a container. Asking for the state it is
    /// already in is not an error.
    pub async fn act(&self, id: &str, action: ContainerAction) -> Result<(), EngineError> {
        let result = match action {
            ContainerAction::Start => {
                self.docker
                    .start_container(id, None::<StartContainerOptions>)
                    .await
            }
            ContainerAction::Stop => {
                let o = StopContainerOptionsBuilder::default()
                    .t(STOP_TIMEOUT_SECS)
                    .build();
                self.docker.stop_container(id, Some(o)).await
            }
            ContainerAction::Restart => {
                let o = RestartContainerOptionsBuilder::default()
                    .t(STOP_TIMEOUT_SECS)
                    .build();
                self.docker.restart_container(id, Some(o)).await
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(EngineError::ContainerGone(id.to_string())),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                Err(EngineError::ActionRefused {
                    action: action.as_str(),
                    container: id.to_string(),
                    reason: message,
                })
            }
            Err(e) => Err(EngineError::Lost(describe(&e))),
        }
    }

    /// The last `tail` lines of a container's log, then (with `follow`) new
    /// lines as they come.
    pub fn logs(
        &self,
        id: &str,
        tail: u32,
        follow: bool,
    ) -> impl Stream<Item = Result<LogLine, EngineError>> + Send + 'static {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail.to_string())
            .build();
        let id = id.to_string();
        self.docker.logs(&id, Some(options)).flat_map(move |chunk| {
            let lines: Vec<Result<LogLine, EngineError>> = match chunk {
                Ok(output) => {
                    let stream = match output {
                        bollard::container::LogOutput::StdErr { .. } => "stderr",
                        _ => "stdout",
                    };
                    output
                        .to_string()
                        .lines()
                        .map(|text| {
                            Ok(LogLine {
                                stream: stream.to_string(),
                                text: text.to_string(),
                            })
                        })
                        .collect()
                }
                Err(e) => vec![Err(EngineError::about(&id, e))],
            };
            stream::iter(lines)
        })
    }

    /// Container events from `since_secs` (Unix seconds) on.
    pub fn container_events(
        &self,
        since_secs: i64,
    ) -> impl Stream<Item = Result<EventMessage, EngineError>> + Send + 'static {
        let mut filters = HashMap::new();
        filters.insert("type", vec!["container"]);
        let options = EventsOptionsBuilder::default()
            .since(&since_secs.to_string())
            .filters(&filters)
            .build();
        self.docker
            .events(Some(options))
            .map(|e| e.map_err(|e| EngineError::Lost(describe(&e))))
    }
}

/// Puts one batch of Podman stats on the running rows. Rows missing from the
/// batch (stopped or removed meanwhile) lose their usage.
fn apply_batch(
    rows: &mut [ServiceRow],
    prev: &mut HashMap<ContainerId, CpuSample>,
    batch: Vec<LibpodStats>,
) -> Vec<StatsSample> {
    let by_id: HashMap<String, LibpodStats> = batch
        .into_iter()
        .map(|s| (s.container_id.clone(), s))
        .collect();
    let mut samples = Vec::with_capacity(by_id.len());
    for row in rows.iter_mut().filter(|r| r.is_running()) {
        let Some(stats) = by_id.get(&row.id.0) else {
            row.usage = None;
            continue;
        };
        let (usage, cpu) = usage_from_libpod(stats, prev.get(&row.id), row.started_at_ms);
        prev.insert(row.id.clone(), cpu);
        samples.push(record_usage(row, usage));
    }
    samples
}

/// Puts a sample on its row and returns it for the history store.
fn record_usage(row: &mut ServiceRow, usage: ResourceUsage) -> StatsSample {
    row.usage = Some(usage.clone());
    StatsSample {
        id: row.id.clone(),
        name: row.name.clone(),
        usage,
    }
}
