//! Pure conversions from the engine's API structs to the model's rows and
//! samples, kept apart from I/O so they are tested with hand-built structs.

use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, HealthStatusEnum};
use stackwarden_model::{
    cpu_percent, ContainerId, ContainerState, CpuSample, HealthState, MountInfo, PortMapping,
    ResourceUsage, ServiceRow,
};

pub(crate) const PROJECT_LABEL: &str = "com.docker.compose.project";
pub(crate) const SERVICE_LABEL: &str = "com.docker.compose.service";
pub(crate) const NUMBER_LABEL: &str = "com.docker.compose.container-number";
const ONE_OFF_LABEL: &str = "com.docker.compose.oneoff";

/// The compose service a container runs as, from its labels: none for a
/// one-off container (`compose run`), which is not one of the service's.
pub(crate) fn service_of(labels: &std::collections::HashMap<String, String>) -> Option<String> {
    let one_off = labels
        .get(ONE_OFF_LABEL)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    labels.get(SERVICE_LABEL).filter(|_| !one_off).cloned()
}

/// Milliseconds since the epoch of an RFC 3339 time; `None` for the engine's
/// zero time (`0001-01-01T00:00:00Z`) and anything unparsable.
pub(crate) fn epoch_ms(text: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let ms = t.timestamp_millis();
    (ms > 0).then_some(ms)
}

/// Builds a service row from `GET /containers/{id}/json`.
pub fn row_from_inspect(inspect: &ContainerInspectResponse) -> Option<ServiceRow> {
    let id = inspect.id.clone()?;
    let state = inspect.state.as_ref();
    let container_state = state
        .and_then(|s| s.status)
        .map(|s| ContainerState::from_engine(s.as_ref()))
        .unwrap_or(ContainerState::Unknown);
    let running = container_state == ContainerState::Running;
    let health = state
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .map(|h| match h {
            HealthStatusEnum::EMPTY | HealthStatusEnum::NONE => HealthState::None,
            other => HealthState::from_engine(other.as_ref()),
        })
        .unwrap_or(HealthState::None);
    let config = inspect.config.as_ref();
    let labels = config.and_then(|c| c.labels.as_ref());
    let label = |key: &str| labels.and_then(|l| l.get(key)).cloned();
    let name = inspect
        .name
        .as_deref()
        .unwrap_or(&id)
        .trim_start_matches('/')
        .to_string();
    let image = config
        .and_then(|c| c.image.clone())
        .or_else(|| inspect.image.clone())
        .unwrap_or_default();
    let mut ports: Vec<PortMapping> = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .map(|map| {
            map.iter()
                .flat_map(|(key, bindings)| port_mappings(key, bindings.as_deref()))
                .collect()
        })
        .unwrap_or_default();
    ports.sort_by_key(|p| (p.container_port, p.host_port));
    let mounts = inspect
        .mounts
        .iter()
        .flatten()
        .map(|m| MountInfo {
            kind: m
                .typ
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "unknown".to_string()),
            source: m
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| m.source.clone())
                .unwrap_or_default(),
            destination: m.destination.clone().unwrap_or_default(),
        })
        .collect();
    Some(ServiceRow {
        id: ContainerId(id),
        name,
        image,
        project: label(PROJECT_LABEL),
        compose_service: labels.and_then(service_of),
        replica: label(NUMBER_LABEL).and_then(|n| n.trim().parse().ok()),
        state: container_state,
        health,
        exit_code: if running {
            None
        } else {
            state.and_then(|s| s.exit_code)
        },
        started_at_ms: if running {
            state
                .and_then(|s| s.started_at.as_deref())
                .and_then(epoch_ms)
        } else {
            None
        },
        restart_count: inspect
            .restart_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        restart_policy: inspect
            .host_config
            .as_ref()
            .and_then(|h| h.restart_policy.as_ref())
            .and_then(|p| p.name)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        ports,
        mounts,
        usage: None,
    })
}

/// The row of a container that exists but whose inspect could not be read:
/// what is known from the list or the event, in state `unknown`.
pub(crate) fn unreadable_row(
    id: &str,
    name: &str,
    project: Option<String>,
    compose_service: Option<String>,
) -> ServiceRow {
    ServiceRow {
        id: ContainerId(id.to_string()),
        name: name.trim_start_matches('/').to_string(),
        image: String::new(),
        project,
        compose_service,
        replica: None,
        state: ContainerState::Unknown,
        health: HealthState::None,
        exit_code: None,
        started_at_ms: None,
        restart_count: 0,
        restart_policy: String::new(),
        ports: Vec::new(),
        mounts: Vec::new(),
        usage: None,
    }
}

/// `"8080/tcp"` plus its host bindings into one mapping per binding.
fn port_mappings(key: &str, bindings: Option<&[bollard::models::PortBinding]>) -> Vec<PortMapping> {
    let (port, protocol) = key.split_once('/').unwrap_or((key, "tcp"));
    let Ok(container_port) = port.parse::<u16>() else {
        return Vec::new();
    };
    match bindings {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|b| PortMapping {
                host_ip: b.host_ip.clone().filter(|ip| !ip.is_empty()),
                host_port: b.host_port.as_deref().and_then(|p| p.parse().ok()),
                container_port,
                protocol: protocol.to_string(),
            })
            .collect(),
        _ => vec![PortMapping {
            host_ip: None,
            host_port: None,
            container_port,
            protocol: protocol.to_string(),
        }],
    }
}

/// The cumulative CPU counters of a stats response.
pub fn cpu_sample(stats: &ContainerStatsResponse, taken_at_ms: i64) -> Option<CpuSample> {
    let cpu = stats.cpu_stats.as_ref()?;
    Some(CpuSample {
        container_ns: cpu.cpu_usage.as_ref()?.total_usage?,
        system_ns: cpu.system_cpu_usage.filter(|n| *n > 0),
        online_cpus: cpu.online_cpus.unwrap_or(1),
        taken_at_ms,
    })
}

/// CPU % (against `prev`, or since start) and memory from one stats response.
pub fn usage_from_stats(
    stats: &ContainerStatsResponse,
    prev: Option<&CpuSample>,
    started_at_ms: Option<i64>,
    taken_at_ms: i64,
) -> (ResourceUsage, Option<CpuSample>) {
    let sample = cpu_sample(stats, taken_at_ms);
    let cpu = sample
        .as_ref()
        .map(|s| cpu_percent(prev, s, started_at_ms))
        .unwrap_or(0.0);
    let memory = stats.memory_stats.as_ref();
    let usage = ResourceUsage {
        cpu_percent: cpu,
        memory_used_bytes: memory.and_then(|m| m.usage).unwrap_or(0),
        memory_limit_bytes: memory.and_then(|m| m.limit).unwrap_or(0),
        sampled_at_ms: taken_at_ms,
    };
    (usage, sample)
}

/// CPU % and memory from one entry of Podman's batch stats. Its clock is the
/// wall clock, so the rate is CPU time over elapsed time (percent of one core).
pub(crate) fn usage_from_libpod(
    stats: &crate::libpod::LibpodStats,
    prev: Option<&CpuSample>,
    started_at_ms: Option<i64>,
) -> (ResourceUsage, CpuSample) {
    let taken_at_ms = i64::try_from(stats.system_nano / 1_000_000).unwrap_or(i64::MAX);
    let sample = CpuSample {
        container_ns: stats.cpu_nano,
        system_ns: None,
        online_cpus: 1,
        taken_at_ms,
    };
    let usage = ResourceUsage {
        cpu_percent: cpu_percent(prev, &sample, started_at_ms),
        memory_used_bytes: stats.mem_usage,
        memory_limit_bytes: stats.mem_limit,
        sampled_at_ms: taken_at_ms,
    };
    (usage, sample)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{
        ContainerConfig, ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats,
        ContainerStateStatusEnum, Health, NetworkSettings, PortBinding,
    };
    use std::collections::HashMap;

    fn inspect(
        status: ContainerStateStatusEnum,
        health: Option<HealthStatusEnum>,
    ) -> ContainerInspectResponse {
        let mut ports = HashMap::new();
        ports.insert(
            "8080/tcp".to_string(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some("18080".into()),
            }]),
        );
        ports.insert("53/udp".to_string(), None);
        let mut labels = HashMap::new();
        labels.insert(PROJECT_LABEL.to_string(), "ai".to_string());
        labels.insert(SERVICE_LABEL.to_string(), "redis".to_string());
        ContainerInspectResponse {
            id: Some("abc123".into()),
            name: Some("/local-ai-redis".into()),
            image: Some("sha256:deadbeef".into()),
            restart_count: Some(2),
            config: Some(ContainerConfig {
                image: Some("docker.io/library/redis:7".into()),
                labels: Some(labels),
                ..Default::default()
            }),
            state: Some(bollard::models::ContainerState {
                status: Some(status),
                exit_code: Some(3),
                started_at: Some("2025-12-31T11:00:00.5Z".into()),
                health: health.map(|h| Health {
                    status: Some(h),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                ports: Some(ports),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn one_off_containers_are_no_service_s() {
        let labels = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            service_of(&labels(&[(SERVICE_LABEL, "web")])),
            Some("web".to_string())
        );
        assert_eq!(
            service_of(&labels(&[(SERVICE_LABEL, "web"), (ONE_OFF_LABEL, "False")])),
            Some("web".to_string())
        );
        assert_eq!(
            service_of(&labels(&[(SERVICE_LABEL, "web"), (ONE_OFF_LABEL, "True")])),
            None
        );
    }

    #[test]
    fn running_container_with_healthcheck() {
        let row = row_from_inspect(&inspect(
            ContainerStateStatusEnum::RUNNING,
            Some(HealthStatusEnum::UNHEALTHY),
        ));
        let Some(row) = row else {
            panic!("row expected")
        };
        assert_eq!(row.name, "local-ai-redis");
        assert_eq!(row.image, "docker.io/library/redis:7");
        assert_eq!(row.project.as_deref(), Some("ai"));
        assert_eq!(row.compose_service.as_deref(), Some("redis"));
        assert_eq!(row.state, ContainerState::Running);
        assert_eq!(row.health, HealthState::Unhealthy);
        assert_eq!(row.exit_code, None);
        assert_eq!(row.started_at_ms, Some(1_767_178_800_500));
        assert_eq!(row.restart_count, 2);
        let ports: Vec<String> = row.ports.iter().map(ToString::to_string).collect();
        assert_eq!(ports, ["53/udp", "127.0.0.1:18080->8080/tcp"]);
    }

    #[test]
    fn exited_container_keeps_exit_code_and_has_no_uptime() {
        let row = row_from_inspect(&inspect(ContainerStateStatusEnum::EXITED, None));
        let Some(row) = row else {
            panic!("row expected")
        };
        assert_eq!(row.state, ContainerState::Exited);
        assert_eq!(row.health, HealthState::None);
        assert_eq!(row.exit_code, Some(3));
        assert_eq!(row.started_at_ms, None);
    }

    #[test]
    fn zero_time_is_no_time() {
        assert_eq!(epoch_ms("0001-01-01T00:00:00Z"), None);
        assert_eq!(epoch_ms("garbage"), None);
        assert_eq!(epoch_ms("1970-01-01T00:00:01Z"), Some(1000));
    }

    #[test]
    fn stats_without_precpu_use_our_previous_sample() {
        let stats = |total: u64, system: u64| ContainerStatsResponse {
            cpu_stats: Some(ContainerCpuStats {
                cpu_usage: Some(ContainerCpuUsage {
                    total_usage: Some(total),
                    ..Default::default()
                }),
                system_cpu_usage: Some(system),
                online_cpus: Some(2),
                ..Default::default()
            }),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(9_600_000),
                limit: Some(24_000_000_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (first, sample) =
            usage_from_stats(&stats(1_000_000_000, 10_000_000_000), None, Some(0), 10_000);
        assert!(
            (first.cpu_percent - 10.0).abs() < 1e-9,
            "{}",
            first.cpu_percent
        );
        let (second, _) = usage_from_stats(
            &stats(1_200_000_000, 12_000_000_000),
            sample.as_ref(),
            Some(0),
            11_000,
        );
        assert!(
            (second.cpu_percent - 20.0).abs() < 1e-9,
            "{}",
            second.cpu_percent
        );
        assert_eq!(second.memory_used_bytes, 9_600_000);
        assert_eq!(second.memory_limit_bytes, 24_000_000_000);
    }

    #[test]
    fn podman_batch_stats_rate_is_cpu_time_over_wall_time() {
        let reading = |cpu_nano: u64, at_ms: u64| crate::libpod::LibpodStats {
            container_id: "c".into(),
            cpu_nano,
            system_nano: at_ms * 1_000_000,
            mem_usage: 10,
            mem_limit: 100,
        };
        let (first, sample) = usage_from_libpod(&reading(500_000_000, 10_000), None, Some(5_000));
        assert!(
            (first.cpu_percent - 10.0).abs() < 1e-9,
            "{}",
            first.cpu_percent
        );
        let (second, _) =
            usage_from_libpod(&reading(1_500_000_000, 12_000), Some(&sample), Some(5_000));
        assert!(
            (second.cpu_percent - 50.0).abs() < 1e-9,
            "{}",
            second.cpu_percent
        );
        assert_eq!(
            (second.memory_used_bytes, second.memory_limit_bytes),
            (10, 100)
        );
        assert_eq!(second.sampled_at_ms, 12_000);
    }

    #[test]
    fn empty_stats_do_not_panic() {
        let (usage, sample) = usage_from_stats(&ContainerStatsResponse::default(), None, None, 5);
        assert_eq!(usage.cpu_percent, 0.0);
        assert!(sample.is_none());
    }
}
