//! A service's container as compose would create it, for the engine API:
//! image, command, entrypoint, environment, ports, mounts, restart policy,
//! healthcheck, labels, and its networks with the service name as an alias
//! (so services reach each other by name, as under compose). Compose's own
//! labels are set, so `docker compose` and `podman-compose` list and manage
//! the container afterwards as one of theirs.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use stackwarden_stack::{Blueprint, Blueprints, MountSource};

/// The engine names chosen for the volumes and networks of the file
/// (existing ones where found, else the name to create).
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Volume key in the file -> engine name.
    pub volumes: BTreeMap<String, String>,
    /// Network key in the file -> engine name.
    pub networks: BTreeMap<String, String>,
}

/// Compose's labels on a container of `service`.
pub fn compose_labels(
    project: &str,
    service: &str,
    blueprints: &Blueprints,
) -> Vec<(String, String)> {
    let mut labels = vec![
        (
            "com.docker.compose.project".to_string(),
            project.to_string(),
        ),
        (
            "com.docker.compose.service".to_string(),
            service.to_string(),
        ),
        (
            "com.docker.compose.container-number".to_string(),
            "1".to_string(),
        ),
        ("com.docker.compose.oneoff".to_string(), "False".to_string()),
        ("io.podman.compose.project".to_string(), project.to_string()),
        (
            "com.docker.compose.project.config_files".to_string(),
            blueprints.config_files.join(","),
        ),
    ];
    if let Some(dir) = &blueprints.working_dir {
        labels.push((
            "com.docker.compose.project.working_dir".to_string(),
            dir.display().to_string(),
        ));
    }
    labels
}

/// Labels on a volume or network created for the project, as compose sets
/// them (`com.docker.compose.volume` / `.network` = its key in the file).
pub fn object_labels(project: &str, kind: &str, key: &str) -> HashMap<String, String> {
    HashMap::from([
        (
            "com.docker.compose.project".to_string(),
            project.to_string(),
        ),
        (format!("com.docker.compose.{kind}"), key.to_string()),
        ("io.podman.compose.project".to_string(), project.to_string()),
    ])
}

/// The create request for `blueprint`'s container named `container`.
pub fn container_body(
    blueprint: &Blueprint,
    project: &str,
    container: &str,
    blueprints: &Blueprints,
    names: &Names,
) -> ContainerCreateBody {
    let mut labels: HashMap<String, String> = blueprint.labels.clone().into_iter().collect();
    labels.extend(compose_labels(project, &blueprint.service, blueprints));
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for port in &blueprint.ports {
        let key = format!("{}/{}", port.target, port.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        let binding = PortBinding {
            host_ip: port.host_ip.clone(),
            host_port: Some(port.published.map(|p| p.to_string()).unwrap_or_default()),
        };
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding);
    }
    let mounts = blueprint
        .volumes
        .iter()
        .map(|m| {
            let (typ, source) = match &m.source {
                MountSource::Volume { key, candidates } => (
                    MountType::VOLUME,
                    names
                        .volumes
                        .get(key)
                        .cloned()
                        .or_else(|| candidates.first().cloned()),
                ),
                MountSource::Bind(path) => (MountType::BIND, Some(path.display().to_string())),
                MountSource::Anonymous => (MountType::VOLUME, None),
            };
            Mount {
                target: Some(m.target.clone()),
                source,
                typ: Some(typ),
                read_only: Some(m.read_only),
                ..Default::default()
            }
        })
        .collect();
    let networks: Vec<String> = blueprint
        .networks
        .iter()
        .filter_map(|n| {
            names
                .networks
                .get(&n.key)
                .cloned()
                .or_else(|| n.candidates.first().cloned())
        })
        .collect();
    let mut aliases = vec![blueprint.service.clone()];
    if container != blueprint.service {
        aliases.push(container.to_string());
    }
    let endpoints: HashMap<String, EndpointSettings> = networks
        .iter()
        .map(|n| {
            (
                n.clone(),
                EndpointSettings {
                    aliases: Some(aliases.clone()),
                    ..Default::default()
                },
            )
        })
        .collect();
    ContainerCreateBody {
        image: blueprint.image.clone(),
        cmd: blueprint.command.clone(),
        entrypoint: blueprint.entrypoint.clone(),
        env: Some(
            blueprint
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        labels: Some(labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: blueprint.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval.map(nanos),
            timeout: h.timeout.map(nanos),
            retries: h.retries.map(i64::from),
            start_period: h.start_period.map(nanos),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            mounts: Some(mounts),
            restart_policy: blueprint.restart.as_deref().map(restart_policy),
            network_mode: networks.first().cloned(),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(endpoints),
        }),
        ..Default::default()
    }
}

fn nanos(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// `restart:` as the engine takes it (`on-failure:3` keeps its count).
fn restart_policy(text: &str) -> RestartPolicy {
    let (name, count) = match text.split_once(':') {
        Some((n, c)) => (n, c.trim().parse::<i64>().ok()),
        None => (text, None),
    };
    let name = match name.trim() {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    RestartPolicy {
        name: Some(name),
        maximum_retry_count: count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_stack::{blueprints, parse_texts, LoadEnv};

    #[test]
    fn the_body_carries_compose_labels_ports_mounts_and_the_service_alias() {
        let texts = vec![(
            "/srv/ai/compose.yaml".to_string(),
            "name: ai\nservices:\n  db:\n    image: postgres:16\n    ports: [\"127.0.0.1:5432:5432\"]\n    volumes: [pgdata:/data]\n    restart: on-failure:3\n    labels: {tier: data}\nvolumes: {pgdata: {}}\n".to_string(),
        )];
        let env = LoadEnv::default();
        let stack = parse_texts(&texts, &env).expect("stack");
        let prints = blueprints(&texts, &env, &stack).expect("blueprints");
        let body = container_body(
            &prints.services["db"],
            "ai",
            "ai-db-1",
            &prints,
            &Names::default(),
        );
        let labels = body.labels.expect("labels");
        assert_eq!(labels["com.docker.compose.project"], "ai");
        assert_eq!(labels["com.docker.compose.service"], "db");
        assert_eq!(labels["tier"], "data");
        let host = body.host_config.expect("host config");
        let bindings = host.port_bindings.expect("ports");
        let binding = &bindings["5432/tcp"].as_ref().expect("binding")[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("5432"));
        let mount = &host.mounts.expect("mounts")[0];
        assert_eq!(mount.source.as_deref(), Some("ai_pgdata"));
        assert_eq!(host.network_mode.as_deref(), Some("ai_default"));
        let policy = host.restart_policy.expect("restart");
        assert_eq!(policy.name, Some(RestartPolicyNameEnum::ON_FAILURE));
        assert_eq!(policy.maximum_retry_count, Some(3));
        let endpoints = body
            .networking_config
            .and_then(|n| n.endpoints_config)
            .expect("endpoints");
        assert_eq!(
            endpoints["ai_default"].aliases.as_deref(),
            Some(&["db".to_string(), "ai-db-1".to_string()][..])
        );
    }
}
