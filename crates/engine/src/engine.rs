//! `Engine`: the calls Stackwarden makes on a connected engine. Cheap to clone
//! (bollard's client is shared), so actions and the monitor use the same one.
//!
//! Every call has a deadline that covers reading the whole answer, not just
//! its headers, so a frozen engine shows up as [`EngineError::Lost`] instead
//! of a call that never returns. Streams (events, logs) may be silent for
//! hours; after [`STREAM_IDLE_PING`] of silence they ping the engine, and
//! only an engine that does not answer the ping ends them.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
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

use crate::convert::{row_from_inspect, unreadable_row, usage_from_libpod, usage_from_stats};
use crate::endpoint::Connection;
use crate::error::EngineError;
use crate::libpod::{LibpodClient, LibpodStats};

/// Containers sampled at once; the engine answers each in a few ms.
const STATS_CONCURRENCY: usize = 64;
/// Grace period for stop and restart before the engine kills.
const STOP_TIMEOUT_SECS: i32 = 10;
/// Deadline of one read call (list, inspect, stats), answer included. The
/// engine answers these in milliseconds.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Deadline of a ping.
pub const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// Deadline of start, stop and restart: the stop grace period and then some.
const ACTION_TIMEOUT: Duration = Duration::from_secs(STOP_TIMEOUT_SECS as u64 + 20);
/// Silence on an event or log stream after which the engine is pinged; the
/// stream goes on for as long as the engine answers.
pub const STREAM_IDLE_PING: Duration = Duration::from_secs(10);
/// A log line longer than this is cut, with a marker saying how long it was.
pub const LOG_LINE_MAX_BYTES: usize = 16 * 1024;

/// A container as the engine's list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedContainer {
    pub id: String,
    pub name: String,
    pub project: Option<String>,
    pub service: Option<String>,
}

impl ListedContainer {
    /// From a list entry's id, names and labels, as both APIs give them.
    pub(crate) fn from_list(
        id: String,
        names: Option<&[String]>,
        labels: Option<&HashMap<String, String>>,
    ) -> Self {
        Self {
            name: names
                .and_then(|n| n.first())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default(),
            project: labels.and_then(|l| l.get(crate::convert::PROJECT_LABEL).cloned()),
            service: labels.and_then(crate::convert::service_of),
            id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    source: String,
    /// Podman's native API on the same socket, for batch stats.
    libpod: Option<LibpodClient>,
    /// Whether the engine is Podman (its native API answered).
    podman: bool,
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
            podman: libpod.is_some(),
            libpod,
        }
    }

    /// Uses the Docker-compatible per-container stats even on Podman (as on
    /// Docker); for comparison and tests.
    pub fn without_batch_stats(mut self) -> Self {
        self.libpod = None;
        self
    }

    /// True when the engine is Podman: its events differ from Docker's.
    pub fn is_podman(&self) -> bool {
        self.podman
    }

    /// Runs the container's healthcheck now, on Podman (which, without
    /// systemd timers, runs none by itself); `None` on Docker, whose
    /// daemon runs them on their interval.
    pub async fn run_healthcheck(&self, id: &str) -> Result<Option<String>, EngineError> {
        check_id(id)?;
        match &self.libpod {
            Some(libpod) => libpod.run_healthcheck(id).await.map(Some),
            None => Ok(None),
        }
    }

    /// True when stats come from Podman's one-call endpoint.
    pub fn has_batch_stats(&self) -> bool {
        self.libpod.is_some()
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Pings the engine; no answer within [`PING_TIMEOUT`] is a lost engine.
    pub async fn ping(&self) -> Result<(), EngineError> {
        within("a ping", PING_TIMEOUT, async {
            self.docker
                .ping()
                .await
                .map(|_| ())
                .map_err(|e| EngineError::of_call("ping the engine", e))
        })
        .await
    }

    /// Ids of every container, running or not.
    pub async fn list_ids(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.list_named().await?.into_iter().map(|c| c.id).collect())
    }

    /// Every container's id, name and compose labels, from one list call: enough
    /// to pick the ones worth inspecting. On Podman from its own list (see
    /// the libpod module), else from the Docker-compatible one.
    pub async fn list_named(&self) -> Result<Vec<ListedContainer>, EngineError> {
        if let Some(libpod) = &self.libpod {
            match libpod.list().await {
                Ok(list) => return Ok(list),
                Err(e) if e.is_lost() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "Podman's list failed; using the compatible one");
                }
            }
        }
        self.list_compatible().await
    }

    async fn list_compatible(&self) -> Result<Vec<ListedContainer>, EngineError> {
        let options = ListContainersOptionsBuilder::default().all(true).build();
        let list = within("the container list", CALL_TIMEOUT, async {
            self.docker
                .list_containers(Some(options))
                .await
                .map_err(|e| EngineError::of_call("list containers", e))
        })
        .await?;
        Ok(list
            .into_iter()
            .filter_map(|c| {
                Some(ListedContainer::from_list(
                    c.id?,
                    c.names.as_deref(),
                    c.labels.as_ref(),
                ))
            })
            .collect())
    }

    /// The row of one container; `ContainerGone` if it was removed (or
    /// cannot exist), `CallFailed` if the engine's answer was unusable.
    pub async fn inspect_row(&self, id: &str) -> Result<ServiceRow, EngineError> {
        check_id(id)?;
        let inspect = within(&format!("inspecting {id}"), CALL_TIMEOUT, async {
            self.docker
                .inspect_container(id, None::<InspectContainerOptions>)
                .await
                .map_err(|e| EngineError::about(id, "inspect container", e))
        })
        .await?;
        row_from_inspect(&inspect).ok_or_else(|| EngineError::CallFailed {
            call: format!("inspect container {id}"),
            reason: "the engine's answer has no container id".to_string(),
        })
    }

    /// Rows of the given containers (ids or names), inspected concurrently;
    /// containers removed in the meantime are left out. A container whose
    /// inspect fails while the engine still answers is kept as a row in state
    /// `unknown` (and the reason logged): it exists, only its details are
    /// missing.
    pub async fn inspect_rows(&self, ids: &[String]) -> Result<Vec<ServiceRow>, EngineError> {
        let listed: Vec<ListedContainer> = ids
            .iter()
            .map(|id| ListedContainer {
                id: id.clone(),
                name: id.clone(),
                project: None,
                service: None,
            })
            .collect();
        self.inspect_listed(&listed).await
    }

    /// [`Engine::inspect_rows`] for listed containers, whose names and compose
    /// labels stand in on the row of a container that cannot be inspected.
    pub async fn inspect_listed(
        &self,
        listed: &[ListedContainer],
    ) -> Result<Vec<ServiceRow>, EngineError> {
        let results: Vec<(ListedContainer, Result<ServiceRow, EngineError>)> =
            stream::iter(listed.iter().cloned())
                .map(|c| async move {
                    let row = self.inspect_row(&c.id).await;
                    (c, row)
                })
                .buffer_unordered(STATS_CONCURRENCY)
                .collect()
                .await;
        let mut rows = Vec::with_capacity(results.len());
        for (listed, r) in results {
            match r {
                Ok(row) => rows.push(row),
                Err(EngineError::ContainerGone(_)) => {}
                Err(e) if e.is_lost() => return Err(e),
                Err(e) => {
                    tracing::warn!(container = %listed.name, error = %e, "shown as unknown");
                    rows.push(unreadable_row(
                        &listed.id,
                        &listed.name,
                        listed.project.clone(),
                        listed.service.clone(),
                    ));
                }
            }
        }
        rows.sort_by(|a, b| (&a.project, &a.name).cmp(&(&b.project, &b.name)));
        Ok(rows)
    }

    /// One stats reading of a container, without streaming.
    pub async fn stats(&self, id: &str) -> Result<ContainerStatsResponse, EngineError> {
        check_id(id)?;
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        within(&format!("the stats of {id}"), CALL_TIMEOUT, async {
            let mut s = Box::pin(self.docker.stats(id, Some(options)));
            match s.next().await {
                Some(Ok(stats)) => Ok(stats),
                Some(Err(e)) => Err(EngineError::about(id, "read the stats of", e)),
                None => Err(EngineError::ContainerGone(id.to_string())),
            }
        })
        .await
    }

    /// Samples every running row concurrently, updating `row.usage` and the
    /// previous CPU counters in `prev`. A container that vanished mid-call is
    /// skipped (its `remove` event follows), one whose stats cannot be read
    /// has no usage this round, and when Podman's batch stats fail the
    /// containers are sampled one by one instead; only a lost engine is an
    /// error.
    pub async fn sample(
        &self,
        rows: &mut [ServiceRow],
        prev: &mut HashMap<ContainerId, CpuSample>,
    ) -> Result<Vec<StatsSample>, EngineError> {
        if let Some(libpod) = &self.libpod {
            match libpod.all_stats().await {
                Ok(batch) => return Ok(apply_batch(rows, prev, batch)),
                Err(e) if e.is_lost() => return Err(e),
                Err(e) => tracing::warn!(error = %e, "batch stats failed; sampling one by one"),
            }
        }
        self.sample_one_by_one(rows, prev).await
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
                Err(e) if e.is_lost() => return Err(e),
                Err(EngineError::ContainerGone(_)) => row.usage = None,
                Err(e) => {
                    tracing::debug!(container = %row.name, error = %e, "no usage this round");
                    row.usage = None;
                }
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
            let ((listed, list), (batch, stats)) = tokio::join!(
                async {
                    let t = Instant::now();
                    (self.list_named().await, t.elapsed())
                },
                async {
                    let t = Instant::now();
                    (libpod.all_stats().await, t.elapsed())
                }
            );
            let listed = listed?;
            let t = Instant::now();
            let mut rows = self.inspect_listed(&listed).await?;
            let inspect = t.elapsed();
            let batch_stats = match batch {
                Ok(batch) => {
                    apply_batch(&mut rows, prev, batch);
                    true
                }
                Err(e) if e.is_lost() => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, "batch stats failed; sampling one by one");
                    self.sample_one_by_one(&mut rows, prev).await?;
                    false
                }
            };
            return Ok((
                rows,
                RefreshTiming {
                    list,
                    inspect,
                    stats,
                    batch_stats,
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
        check_id(id)?;
        let call = async {
            match action {
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
            }
        };
        let Ok(result) = tokio::time::timeout(ACTION_TIMEOUT, call).await else {
            return Err(EngineError::timed_out(
                &format!("{} {id}", action.as_str()),
                ACTION_TIMEOUT,
            ));
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
            Err(e) => Err(EngineError::of_call(format!("{} {id}", action.as_str()), e)),
        }
    }

    /// Kills a running container with SIGKILL, as `podman kill` does: for
    /// self-healing drills, which must look like a crash to the healer.
    pub async fn kill(&self, id: &str) -> Result<(), EngineError> {
        check_id(id)?;
        let options = bollard::query_parameters::KillContainerOptions {
            signal: "SIGKILL".to_string(),
        };
        let call = self.docker.kill_container(id, Some(options));
        let Ok(result) = tokio::time::timeout(ACTION_TIMEOUT, call).await else {
            return Err(EngineError::timed_out(
                &format!("kill {id}"),
                ACTION_TIMEOUT,
            ));
        };
        match result {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(EngineError::ContainerGone(id.to_string())),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) => {
                Err(EngineError::ActionRefused {
                    action: "kill",
                    container: id.to_string(),
                    reason: message,
                })
            }
            Err(e) => Err(EngineError::of_call(format!("kill {id}"), e)),
        }
    }

    /// The last `tail` lines of a container's log, then (with `follow`) new
    /// lines as they come. The engine's frames are joined into lines (a
    /// long line arrives in pieces) and a line longer than
    /// [`LOG_LINE_MAX_BYTES`] is cut, with a marker, so one huge line costs
    /// neither memory nor the window. A follow stream may be silent for as
    /// long as the engine answers pings.
    pub fn logs(
        &self,
        id: &str,
        tail: u32,
        follow: bool,
    ) -> impl Stream<Item = Result<LogLine, EngineError>> + Send + 'static {
        if let Err(e) = check_id(id) {
            return stream::iter([Err(e)]).left_stream();
        }
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail.to_string())
            .build();
        let owned = id.to_string();
        let chunks = self
            .docker
            .logs(id, Some(options))
            .map(move |chunk| chunk.map_err(|e| EngineError::about(&owned, "read the log of", e)));
        let chunks = Box::pin(watched(self.clone(), chunks));
        let state = LogState {
            chunks,
            lines: LineSplitter::new(LOG_LINE_MAX_BYTES),
            ready: VecDeque::new(),
            ended: false,
        };
        stream::unfold(state, |mut st| async move {
            loop {
                if let Some(next) = st.ready.pop_front() {
                    return Some((next, st));
                }
                if st.ended {
                    return None;
                }
                match st.chunks.next().await {
                    Some(Ok(output)) => {
                        let stream = match output {
                            bollard::container::LogOutput::StdErr { .. } => LogStream::Stderr,
                            _ => LogStream::Stdout,
                        };
                        st.lines.push(stream, &output.into_bytes(), &mut st.ready);
                    }
                    Some(Err(e)) => {
                        st.lines.finish(&mut st.ready);
                        st.ready.push_back(Err(e));
                        st.ended = true;
                    }
                    None => {
                        st.lines.finish(&mut st.ready);
                        st.ended = true;
                    }
                }
            }
        })
        .right_stream()
    }

    /// Container events between two moments (Unix seconds), for catching
    /// up on what happened while nobody watched: the stream ends at
    /// `until_secs`.
    pub fn container_events_between(
        &self,
        since_secs: i64,
        until_secs: i64,
    ) -> impl Stream<Item = Result<EventMessage, EngineError>> + Send + 'static {
        self.container_event_stream(
            since_secs,
            Some(until_secs),
            "read the engine's past events",
        )
    }

    /// Container events from `since_secs` (Unix seconds) on. Silence is
    /// fine for as long as the engine answers pings; an engine that stops
    /// answering ends the stream with [`EngineError::Lost`]. An event that
    /// cannot be read is a `CallFailed` item.
    pub fn container_events(
        &self,
        since_secs: i64,
    ) -> impl Stream<Item = Result<EventMessage, EngineError>> + Send + 'static {
        self.container_event_stream(since_secs, None, "read the engine's events")
    }

    fn container_event_stream(
        &self,
        since_secs: i64,
        until_secs: Option<i64>,
        what: &'static str,
    ) -> impl Stream<Item = Result<EventMessage, EngineError>> + Send + 'static {
        let mut filters = HashMap::new();
        filters.insert("type", vec!["container"]);
        let mut options = EventsOptionsBuilder::default()
            .since(&since_secs.to_string())
            .filters(&filters);
        if let Some(until) = until_secs {
            options = options.until(&until.to_string());
        }
        let events = self
            .docker
            .events(Some(options.build()))
            .map(move |e| e.map_err(|e| EngineError::of_call(what, e)));
        watched(self.clone(), events)
    }
}

/// The deadline of one call: no answer in time is a lost engine.
pub(crate) async fn within<T>(
    what: &str,
    limit: Duration,
    call: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(EngineError::timed_out(what, limit)))
}

/// A stream whose silence is checked with pings: after [`STREAM_IDLE_PING`]
/// without an item the engine is pinged, and the stream ends with the ping's
/// error when the engine is lost. Otherwise it waits on, however long.
fn watched<T, S>(
    engine: Engine,
    inner: S,
) -> impl Stream<Item = Result<T, EngineError>> + Send + 'static
where
    T: Send + 'static,
    S: Stream<Item = Result<T, EngineError>> + Send + 'static,
{
    let inner = Box::pin(inner);
    stream::unfold(Some((inner, engine)), |state| async move {
        let (mut inner, engine) = state?;
        loop {
            match tokio::time::timeout(STREAM_IDLE_PING, inner.next()).await {
                Ok(Some(item)) => return Some((item, Some((inner, engine)))),
                Ok(None) => return None,
                Err(_) => match engine.ping().await {
                    Err(e) if e.is_lost() => return Some((Err(e), None)),
                    _ => {}
                },
            }
        }
    })
}

/// A container name or id as the engine could know it. Anything else (a
/// `/`, `?` or `..` that would change the request's URL) names no container.
pub(crate) fn check_id(id: &str) -> Result<(), EngineError> {
    let mut chars = id.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::ContainerGone(id.to_string()))
    }
}

struct LogState<S> {
    chunks: std::pin::Pin<Box<S>>,
    lines: LineSplitter,
    ready: VecDeque<Result<LogLine, EngineError>>,
    ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// Joins log frames into lines, per stream, keeping at most `max` bytes of
/// any line: the rest is counted, not stored.
#[derive(Debug)]
struct LineSplitter {
    max: usize,
    stdout: PartialLine,
    stderr: PartialLine,
}

#[derive(Debug, Default)]
struct PartialLine {
    kept: Vec<u8>,
    /// Bytes of the line beyond `kept`, dropped.
    dropped: u64,
}

impl LineSplitter {
    fn new(max: usize) -> Self {
        Self {
            max,
            stdout: PartialLine::default(),
            stderr: PartialLine::default(),
        }
    }

    fn partial(&mut self, stream: LogStream) -> &mut PartialLine {
        match stream {
            LogStream::Stdout => &mut self.stdout,
            LogStream::Stderr => &mut self.stderr,
        }
    }

    fn push(
        &mut self,
        stream: LogStream,
        bytes: &[u8],
        out: &mut VecDeque<Result<LogLine, EngineError>>,
    ) {
        let max = self.max;
        let partial = self.partial(stream);
        let mut rest = bytes;
        loop {
            let (piece, complete) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            partial.add(piece, max);
            match complete {
                Some(after) => {
                    out.push_back(Ok(partial.take(stream, max)));
                    rest = after;
                }
                None => break,
            }
        }
    }

    /// The unfinished lines at the end of the stream.
    fn finish(&mut self, out: &mut VecDeque<Result<LogLine, EngineError>>) {
        let max = self.max;
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            let partial = self.partial(stream);
            if !partial.kept.is_empty() || partial.dropped > 0 {
                out.push_back(Ok(partial.take(stream, max)));
            }
        }
    }
}

impl PartialLine {
    fn add(&mut self, piece: &[u8], max: usize) {
        let room = max.saturating_sub(self.kept.len());
        let (keep, drop) = piece.split_at(room.min(piece.len()));
        self.kept.extend_from_slice(keep);
        self.dropped += drop.len() as u64;
    }

    fn take(&mut self, stream: LogStream, max: usize) -> LogLine {
        let mut kept = std::mem::take(&mut self.kept);
        let dropped = std::mem::take(&mut self.dropped);
        if kept.last() == Some(&b'\r') && dropped == 0 {
            kept.pop();
        }
        let text = if dropped == 0 {
            String::from_utf8_lossy(&kept).into_owned()
        } else {
            let total = kept.len() as u64 + dropped;
            // Cut at a character boundary, not inside one.
            if let Err(e) = std::str::from_utf8(&kept) {
                if e.error_len().is_none() {
                    kept.truncate(e.valid_up_to());
                }
            }
            format!(
                "{} … [line cut: first {} of {} shown]",
                String::from_utf8_lossy(&kept),
                human_kib(max as u64),
                human_kib(total)
            )
        };
        LogLine {
            stream: stream.as_str().to_string(),
            text,
        }
    }
}

/// `16 KiB`, `9.5 MiB`: binary units, as the cap is set.
fn human_kib(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if (value - value.round()).abs() < 0.05 {
        format!("{:.0} {}", value, UNITS[unit])
    } else {
        format!("{:.1} {}", value, UNITS[unit])
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, frames: &[(LogStream, &[u8])]) -> Vec<(String, String)> {
        let mut splitter = LineSplitter::new(max);
        let mut out = VecDeque::new();
        for (stream, bytes) in frames {
            splitter.push(*stream, bytes, &mut out);
        }
        splitter.finish(&mut out);
        out.into_iter()
            .filter_map(Result::ok)
            .map(|l| (l.stream, l.text))
            .collect()
    }

    #[test]
    fn frames_are_joined_into_lines_per_stream() {
        use LogStream::*;
        let lines = split(
            100,
            &[
                (Stdout, b"one\ntw"),
                (Stderr, b"oops"),
                (Stdout, b"o\r\nthree"),
                (Stderr, b"!\n"),
            ],
        );
        let want = [
            ("stdout", "one"),
            ("stdout", "two"),
            ("stderr", "oops!"),
            ("stdout", "three"),
        ];
        assert_eq!(
            lines,
            want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
        );
    }

    #[test]
    fn a_huge_line_is_cut_with_a_marker_and_not_kept() {
        let mut splitter = LineSplitter::new(LOG_LINE_MAX_BYTES);
        let mut out = VecDeque::new();
        let frame = vec![b'a'; 8192];
        // 10 MiB in 8 KiB frames, as Podman sends a long line.
        for _ in 0..1280 {
            splitter.push(LogStream::Stdout, &frame, &mut out);
            assert!(splitter.stdout.kept.len() <= LOG_LINE_MAX_BYTES);
        }
        assert!(out.is_empty(), "no line before its end");
        splitter.push(LogStream::Stdout, b"\nnext\n", &mut out);
        let lines: Vec<LogLine> = out.into_iter().filter_map(Result::ok).collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].text.starts_with(&"a".repeat(LOG_LINE_MAX_BYTES)));
        assert!(
            lines[0]
                .text
                .ends_with(" … [line cut: first 16 KiB of 10 MiB shown]"),
            "{}",
            &lines[0].text[LOG_LINE_MAX_BYTES..]
        );
        assert!(lines[0].text.len() < LOG_LINE_MAX_BYTES + 100);
        assert_eq!(lines[1].text, "next");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // 3-byte characters: 4 fit in 12 bytes, a cap of 10 keeps 3.
        let lines = split(10, &[(LogStream::Stdout, "€€€€€\n".as_bytes())]);
        assert_eq!(lines[0].1, "€€€ … [line cut: first 10 B of 15 B shown]");
    }

    #[test]
    fn ids_that_would_change_the_url_name_no_container() {
        for bad in ["", "..", "../_ping", "a/b", "x?all=1", "a b", "-x", "a%2F"] {
            assert!(
                matches!(check_id(bad), Err(EngineError::ContainerGone(_))),
                "{bad:?}"
            );
        }
        for good in ["sw-ok-web", "local_ai.db-1", "0123abcdef"] {
            assert!(check_id(good).is_ok(), "{good}");
        }
    }
}
