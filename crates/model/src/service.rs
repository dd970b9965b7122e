//! What the service table shows: one row per container, the engine's
//! connection status and the snapshot that the window, tray and CLI read.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::summary::StackSummary;

/// The engine's id for a container (full hex id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ContainerId(pub String);

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The container's lifecycle state as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Unknown,
}

impl ContainerState {
    /// Parses the engine's state word (`running`, `exited`, ...); anything
    /// unrecognised becomes `Unknown` rather than an error, since engines add
    /// states over time (Podman has `stopped`, `configured`).
    pub fn from_engine(word: &str) -> Self {
        match word.to_ascii_lowercase().as_str() {
            "created" | "configured" | "initialized" => Self::Created,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "restarting" => Self::Restarting,
            "removing" => Self::Removing,
            "exited" | "stopped" => Self::Exited,
            "dead" => Self::Dead,
            _ => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Restarting => "restarting",
            Self::Removing => "removing",
            Self::Exited => "exited",
            Self::Dead => "dead",
            Self::Unknown => "unknown",
        }
    }
}

/// Health from the container's HEALTHCHECK; `None` when it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum HealthState {
    None,
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthState {
    pub fn from_engine(word: &str) -> Self {
        match word.to_ascii_lowercase().as_str() {
            "starting" => Self::Starting,
            "healthy" => Self::Healthy,
            "unhealthy" => Self::Unhealthy,
            _ => Self::None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "-",
            Self::Starting => "starting",
            Self::Healthy => "healthy",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// A published port: `host_ip:host_port -> container_port/protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct PortMapping {
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

impl std::fmt::Display for PortMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.host_ip, self.host_port) {
            (Some(ip), Some(port)) if !ip.is_empty() => write!(f, "{ip}:{port}->")?,
            (_, Some(port)) => write!(f, "{port}->")?,
            _ => {}
        }
        write!(f, "{}/{}", self.container_port, self.protocol)
    }
}

/// One resource sample of a running container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ResourceUsage {
    /// Percent of one core, as `podman stats` shows it (200 = two cores busy).
    pub cpu_percent: f64,
    #[ts(type = "number")]
    pub memory_used_bytes: u64,
    /// The container's memory limit; the host's memory when it has none.
    #[ts(type = "number")]
    pub memory_limit_bytes: u64,
    #[ts(type = "number")]
    pub sampled_at_ms: i64,
}

/// One row of the service table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ServiceRow {
    pub id: ContainerId,
    /// Container name without the engine's leading slash.
    pub name: String,
    pub image: String,
    /// The compose project label (`com.docker.compose.project`), if any.
    pub project: Option<String>,
    /// The compose service label (`com.docker.compose.service`), if any.
    pub compose_service: Option<String>,
    /// Which replica of its service it is
    /// (`com.docker.compose.container-number`), if compose says.
    pub replica: Option<u32>,
    pub state: ContainerState,
    pub health: HealthState,
    /// Exit code of the last run when the container is not running.
    #[ts(type = "number | null")]
    pub exit_code: Option<i64>,
    /// When the current run started (ms since the Unix epoch); `None` when it
    /// is not running.
    #[ts(type = "number | null")]
    pub started_at_ms: Option<i64>,
    pub restart_count: u32,
    /// The engine's restart policy (`no`, `always`, `unless-stopped`,
    /// `on-failure`; empty when unknown): the healer leaves exits to it.
    pub restart_policy: String,
    pub ports: Vec<PortMapping>,
    /// Volumes and bind mounts: where the container keeps data that outlives it.
    pub mounts: Vec<MountInfo>,
    /// Last resource sample; `None` until sampled or when not running.
    pub usage: Option<ResourceUsage>,
}

/// A mount of a container, as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct MountInfo {
    /// `volume`, `bind`, `tmpfs`...
    pub kind: String,
    /// The volume's name, or the host path of a bind mount.
    pub source: String,
    /// Where it appears inside the container.
    pub destination: String,
}

impl ServiceRow {
    pub fn is_running(&self) -> bool {
        self.state == ContainerState::Running
    }
}

/// One endpoint tried while looking for the engine, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct EndpointAttempt {
    pub endpoint: String,
    /// Where the endpoint came from: `config`, `DOCKER_HOST`, `rootful podman`...
    pub source: String,
    pub error: String,
}

/// The engine connection as the user should see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum EngineStatus {
    Connecting,
    Connected {
        endpoint: String,
        source: String,
    },
    Unreachable {
        attempts: Vec<EndpointAttempt>,
        hint: String,
        #[ts(type = "number")]
        retry_in_ms: u64,
    },
}

/// Everything the window, tray and CLI show at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StackSnapshot {
    pub engine: EngineStatus,
    pub services: Vec<ServiceRow>,
    pub summary: StackSummary,
    /// Problem with the user's config file, shown until fixed; the app then
    /// runs on defaults.
    pub config_error: Option<String>,
    #[ts(type = "number")]
    pub updated_at_ms: i64,
}

impl StackSnapshot {
    pub fn new(
        engine: EngineStatus,
        services: Vec<ServiceRow>,
        config_error: Option<String>,
        updated_at_ms: i64,
    ) -> Self {
        let summary = StackSummary::of(&engine, &services);
        Self {
            engine,
            services,
            summary,
            config_error,
            updated_at_ms,
        }
    }
}

/// Actions the service table offers per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ContainerAction {
    Start,
    Stop,
    Restart,
}

impl ContainerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_state_words_map_including_podman_specific_ones() {
        let cases = [
            ("running", ContainerState::Running),
            ("exited", ContainerState::Exited),
            ("stopped", ContainerState::Exited),
            ("configured", ContainerState::Created),
            ("Paused", ContainerState::Paused),
            ("something-new", ContainerState::Unknown),
        ];
        for (word, want) in cases {
            assert_eq!(ContainerState::from_engine(word), want, "{word}");
        }
    }

    #[test]
    fn ports_format_like_podman_ps() {
        let p = PortMapping {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(18080),
            container_port: 8080,
            protocol: "tcp".into(),
        };
        assert_eq!(p.to_string(), "127.0.0.1:18080->8080/tcp");
        let unpublished = PortMapping {
            host_ip: None,
            host_port: None,
            container_port: 53,
            protocol: "udp".into(),
        };
        assert_eq!(unpublished.to_string(), "53/udp");
    }
}

/// One point of a container's resource history, as the window charts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct HistoryPoint {
    #[ts(type = "number")]
    pub at_ms: i64,
    pub cpu_percent: f64,
    #[ts(type = "number")]
    pub memory_used_bytes: u64,
}

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct LogLine {
    /// `stdout` or `stderr`.
    pub stream: String,
    pub text: String,
}

/// Log lines pushed to the window while it follows a container's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct LogBatch {
    pub container_id: ContainerId,
    pub lines: Vec<LogLine>,
    /// Set when following stopped, with the reason (container gone, engine lost).
    pub ended: Option<String>,
}
