//! Step 1 of a recovery: what is wrong, each finding with its evidence.
//! The engine (and which endpoints were tried), each service's container
//! (missing, stopped, crash-looping, unhealthy, from another image), images
//! missing locally, named volumes present or gone (gone is data lost, said
//! first), host ports held by another process, free disk space.

use std::collections::BTreeSet;
use std::path::Path;

use stackwarden_engine::Engine;
use stackwarden_model::clock::now_ms;
use stackwarden_model::{redact, ContainerState, EndpointAttempt, HealthState, ServiceRow};
use stackwarden_probes::EverDeployed;
use stackwarden_stack::{Blueprint, Blueprints, MountSource, Stack, StackService};

use crate::host_ports;
use crate::model::{Diagnosis, EngineFinding, Finding, ServiceCondition, ServiceState, Severity};

/// Restarts within a run that make a container crash-looping.
const CRASH_LOOP_RESTARTS: u32 = 3;
/// Free space under which nothing starts: a database cannot even write
/// its journal.
pub const MIN_FREE_BYTES: u64 = 512 * 1024 * 1024;
/// Free space under which the diagnosis warns.
pub const LOW_FREE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// What the diagnosis reads besides the engine.
pub struct Context<'a> {
    pub stack: &'a Stack,
    pub blueprints: &'a Blueprints,
    /// Container names seen before (the history), to recreate a container
    /// under the name the user's compose tool gave it.
    pub known_names: &'a BTreeSet<String>,
    /// Services that have had a container: a volume of theirs that is gone
    /// is data lost, not one never created.
    pub ever_deployed: &'a EverDeployed,
    /// Volumes an earlier fingerprint saw: one of them gone is data lost.
    pub known_volumes: &'a BTreeSet<String>,
    /// Problems of the stack file, when the last good one is in use.
    pub stack_problems: &'a [String],
    /// Name missing containers `<project>_<service>_1` (podman-compose,
    /// docker-compose 1) rather than compose 2's `<project>-<service>-1`
    /// when nothing else tells which tool made them.
    pub underscore_names: bool,
}

/// The engine's answer: connected, or every endpoint tried.
pub enum EngineSeen<'a> {
    Connected(&'a Engine),
    Unreachable(&'a [EndpointAttempt]),
}

/// Diagnoses the stack against the engine's containers `rows`.
pub async fn diagnose(ctx: &Context<'_>, engine: EngineSeen<'_>, rows: &[ServiceRow]) -> Diagnosis {
    let mut findings = Vec::new();
    for problem in ctx.stack_problems {
        findings.push(Finding {
            severity: Severity::Blocker,
            service: None,
            title: "the stack file is invalid".into(),
            evidence: redact::text(problem),
            hint: "fix the file; the plan is made from it".into(),
        });
    }
    let engine = match engine {
        EngineSeen::Unreachable(attempts) => {
            let tried: Vec<String> = attempts
                .iter()
                .map(|a| redact::text(&format!("{} ({}): {}", a.endpoint, a.source, a.error)))
                .collect();
            findings.push(Finding {
                severity: Severity::Problem,
                service: None,
                title: "no container engine answers".into(),
                evidence: if tried.is_empty() {
                    "no endpoint to try".into()
                } else {
                    format!("tried {}", tried.join("; "))
                },
                hint: String::new(),
            });
            return Diagnosis {
                taken_at_ms: now_ms(),
                engine: EngineFinding {
                    reachable: false,
                    endpoint: None,
                    tried,
                    podman: false,
                },
                findings,
                services: Vec::new(),
                missing_networks: Vec::new(),
                missing_volumes: Vec::new(),
                lost_volumes: Vec::new(),
                project: ctx.stack.project.clone(),
            };
        }
        EngineSeen::Connected(engine) => engine,
    };
    let mut services = Vec::new();
    let mut missing_networks: Vec<(String, String)> = Vec::new();
    let mut missing_volumes: Vec<(String, String)> = Vec::new();
    let mut lost_volumes: Vec<(String, String)> = Vec::new();
    // The project the existing containers carry, and how they are named.
    let project = project_in_use(ctx, engine, rows).await;
    let underscore = rows
        .iter()
        .find_map(naming_style)
        .unwrap_or(ctx.underscore_names);
    for svc in ctx.stack.services.iter().filter(|s| s.profile_active) {
        let Some(blueprint) = ctx.blueprints.services.get(&svc.name) else {
            continue;
        };
        let row = rows.iter().find(|r| {
            svc.is_container(
                ctx.stack,
                &r.name,
                r.project.as_deref(),
                r.compose_service.as_deref(),
            )
        });
        let image_present = match &svc.image {
            Some(image) => match engine.image_present(image).await {
                Ok(present) => present,
                Err(e) => {
                    findings.push(Finding {
                        severity: Severity::Note,
                        service: Some(svc.name.clone()),
                        title: format!("could not check image {}", redact::text(image)),
                        evidence: e.to_string(),
                        hint: String::new(),
                    });
                    true
                }
            },
            None => false,
        };
        let condition = condition(svc, row);
        let unsaved = match (condition, row) {
            (ServiceCondition::Outdated, Some(r)) => unsaved(engine, r).await,
            _ => Vec::new(),
        };
        if condition_needs_image(condition) {
            for network in blueprint.networks.iter().filter(|n| !n.external) {
                let mut exists = false;
                for name in &network.candidates {
                    if engine.network_exists(name).await.unwrap_or(false) {
                        exists = true;
                        break;
                    }
                }
                let first = network.candidates.first().cloned().unwrap_or_default();
                if !exists && !missing_networks.iter().any(|(n, _)| *n == first) {
                    missing_networks.push((first, network.key.clone()));
                }
            }
        }
        let state = ServiceState {
            service: svc.name.clone(),
            required: ctx.stack.is_required(svc),
            container: row.map_or_else(
                || container_name(ctx.stack, svc, ctx.known_names, &project, underscore),
                |r| r.name.clone(),
            ),
            container_id: row.map(|r| r.id.0.clone()),
            condition,
            image: svc.image.clone(),
            image_present,
            unsaved,
        };
        findings.extend(service_findings(&state, row));
        if !image_present && condition_needs_image(condition) {
            let image = svc.image.as_deref().unwrap_or("(none)");
            findings.push(Finding {
                severity: Severity::Problem,
                service: Some(svc.name.clone()),
                title: format!("image {} is not in local storage", redact::text(image)),
                evidence: "the engine has no image of that name".into(),
                hint: if svc.built {
                    "it is built from the stack file's `build:`; the compose tool builds it".into()
                } else {
                    String::new()
                },
            });
        }
        if condition_needs_ports(condition) {
            findings.extend(port_findings(blueprint, row));
        }
        let creating = condition_needs_image(condition);
        let seen = volume_findings(ctx, svc, blueprint, engine, creating).await;
        findings.extend(seen.findings);
        if condition_needs_image(condition) {
            for pair in seen.gone {
                if !missing_volumes.contains(&pair) {
                    missing_volumes.push(pair);
                }
            }
            for name in seen.lost {
                if !lost_volumes.iter().any(|(n, _)| *n == name) {
                    lost_volumes.push((name, svc.name.clone()));
                }
            }
        }
        services.push(state);
    }
    findings.extend(disk_finding(engine).await);
    findings.sort_by_key(|f| f.severity);
    Diagnosis {
        taken_at_ms: now_ms(),
        engine: EngineFinding {
            reachable: true,
            endpoint: Some(redact::text(engine.endpoint())),
            tried: Vec::new(),
            podman: engine.is_podman(),
        },
        findings,
        services,
        missing_networks,
        missing_volumes,
        lost_volumes,
        project,
    }
}

/// What a container changed in its own layer outside its mounts: lost
/// when it is removed.
async fn unsaved(engine: &Engine, row: &ServiceRow) -> Vec<String> {
    let Ok(changes) = engine.layer_changes(&row.id.0).await else {
        return vec!["(its changes could not be listed: treated as unsaved)".into()];
    };
    let mounted: Vec<&str> = row.mounts.iter().map(|m| m.destination.as_str()).collect();
    // An anonymous volume stays behind when its container is removed, and
    // the new container gets an empty one: its data is lost to the service.
    let anonymous = row
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" && is_anonymous_volume(&m.source))
        .map(|m| {
            format!(
                "V {} (anonymous volume {}, left behind: the new container starts with an empty one)",
                m.destination,
                m.source.get(..12).unwrap_or(&m.source)
            )
        });
    let mut out: Vec<String> = anonymous.collect();
    out.extend(
        changes
            .into_iter()
            .filter(|c| {
                !mounted.iter().any(|m| {
                    c.path == *m || c.path.starts_with(&format!("{}/", m.trim_end_matches('/')))
                })
            })
            .filter(|c| !is_scratch(&c.path))
            .map(|c| format!("{} {}", c.kind, c.path)),
    );
    out
}

/// The compose project the stack lives under here: the one its containers
/// carry; with none left, the one its volumes or earlier containers were
/// named after (Debian's podman-compose names the project after the
/// folder, ignoring `name:`); else the stack's own.
async fn project_in_use(ctx: &Context<'_>, engine: &Engine, rows: &[ServiceRow]) -> String {
    if let Some(p) = rows.iter().find_map(|r| r.project.clone()) {
        return p;
    }
    let projects: Vec<&String> = std::iter::once(&ctx.stack.project)
        .chain(&ctx.stack.project_aliases)
        .collect();
    for print in ctx.blueprints.services.values() {
        for mount in &print.volumes {
            let MountSource::Volume { key, candidates } = &mount.source else {
                continue;
            };
            for name in candidates {
                let Some(p) = projects.iter().find(|p| *name == format!("{p}_{key}")) else {
                    continue;
                };
                if matches!(engine.volume(name).await, Ok(Some(_))) {
                    return (*p).clone();
                }
            }
        }
    }
    for svc in &ctx.stack.services {
        for p in &projects {
            let known = [format!("{p}_{}_1", svc.name), format!("{p}-{}-1", svc.name)];
            if known.iter().any(|n| ctx.known_names.contains(n)) {
                return (*p).clone();
            }
        }
    }
    ctx.stack.project.clone()
}

/// How a compose tool named this container: `Some(true)` for
/// `<project>_<service>_N`, `Some(false)` for `<project>-<service>-N`.
fn naming_style(r: &ServiceRow) -> Option<bool> {
    let (p, s) = (r.project.as_deref()?, r.compose_service.as_deref()?);
    if r.name.starts_with(&format!("{p}_{s}_")) {
        Some(true)
    } else if r.name.starts_with(&format!("{p}-{s}-")) {
        Some(false)
    } else {
        None
    }
}

/// An engine-named (anonymous) volume: 64 hex digits.
fn is_anonymous_volume(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Paths every container changes that hold no user data.
fn is_scratch(path: &str) -> bool {
    const SCRATCH: [&str; 6] = [
        "/tmp",
        "/run",
        "/var/run",
        "/dev",
        "/etc/hosts",
        "/etc/resolv.conf",
    ];
    SCRATCH
        .iter()
        .any(|s| path == *s || path.starts_with(&format!("{s}/")))
        || path == "/etc/hostname"
        || path == "/etc"
        || path == "/var"
}

/// The name a missing container gets: `container_name`, else the name a
/// compose tool gave it before (`<project>_<service>_1` from podman-compose
/// and docker-compose 1, `<project>-<service>-1` from compose 2), else the
/// style of the project's other containers or of the compose tool
/// installed (`underscore`), in the project its containers carry.
pub fn container_name(
    stack: &Stack,
    svc: &StackService,
    known: &BTreeSet<String>,
    project: &str,
    underscore: bool,
) -> String {
    if let Some(name) = &svc.container_name {
        return name.clone();
    }
    let projects = std::iter::once(&stack.project).chain(&stack.project_aliases);
    for project in projects {
        for name in [
            format!("{project}_{}_1", svc.name),
            format!("{project}-{}-1", svc.name),
        ] {
            if known.contains(&name) {
                return name;
            }
        }
    }
    if underscore {
        format!("{project}_{}_1", svc.name)
    } else {
        format!("{project}-{}-1", svc.name)
    }
}

/// Restarts within a couple of minutes of its start that make a running
/// container crash-looping; a long-running one with old restarts is not.
const CRASH_LOOP_WITHIN_MS: i64 = 120_000;

/// What a service's container needs, from what the engine shows.
pub fn condition(svc: &StackService, row: Option<&ServiceRow>) -> ServiceCondition {
    let Some(row) = row else {
        return ServiceCondition::Missing;
    };
    if let Some(image) = svc.image.as_deref().filter(|_| !svc.built) {
        if !same_image(image, &row.image) {
            return ServiceCondition::Outdated;
        }
    }
    match row.state {
        ContainerState::Restarting => ServiceCondition::CrashLooping,
        ContainerState::Running
            if row.restart_count >= CRASH_LOOP_RESTARTS
                && row
                    .started_at_ms
                    .is_some_and(|s| now_ms().saturating_sub(s) < CRASH_LOOP_WITHIN_MS) =>
        {
            ServiceCondition::CrashLooping
        }
        ContainerState::Running => match row.health {
            HealthState::Healthy => ServiceCondition::Healthy,
            HealthState::Unhealthy => ServiceCondition::Unhealthy,
            HealthState::Starting => ServiceCondition::Starting,
            HealthState::None => ServiceCondition::Running,
        },
        ContainerState::Exited | ContainerState::Dead
            if row.restart_count >= CRASH_LOOP_RESTARTS && row.exit_code != Some(0) =>
        {
            ServiceCondition::CrashLooping
        }
        _ => ServiceCondition::Stopped,
    }
}

/// Whether two image references name the same image, as the engine
/// completes them (`busybox` is `docker.io/library/busybox:latest`, a
/// local build is `localhost/...`).
pub fn same_image(a: &str, b: &str) -> bool {
    normal_image(a) == normal_image(b)
}

fn normal_image(name: &str) -> String {
    let name = name.trim();
    let (without_digest, digest) = match name.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (name, None),
    };
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let mut out = without_digest.to_string();
    if !last.contains(':') && digest.is_none() {
        out.push_str(":latest");
    }
    for prefix in ["docker.io/library/", "docker.io/", "localhost/"] {
        if let Some(rest) = out.strip_prefix(prefix) {
            out = rest.to_string();
            break;
        }
    }
    if let Some(rest) = out.strip_prefix("library/") {
        out = rest.to_string();
    }
    match digest {
        Some(d) => format!("{out}@{d}"),
        None => out,
    }
}

fn condition_needs_image(c: ServiceCondition) -> bool {
    matches!(c, ServiceCondition::Missing | ServiceCondition::Outdated)
}

/// A container that will be started or created binds its ports then.
fn condition_needs_ports(c: ServiceCondition) -> bool {
    matches!(
        c,
        ServiceCondition::Missing | ServiceCondition::Stopped | ServiceCondition::Outdated
    )
}

fn service_findings(state: &ServiceState, row: Option<&ServiceRow>) -> Vec<Finding> {
    let name = &state.service;
    let (title, evidence) = match (state.condition, row) {
        (ServiceCondition::Missing, _) => (
            format!("{name}: no container"),
            format!(
                "the engine has no container of service {name} (it would be {})",
                state.container
            ),
        ),
        (ServiceCondition::Stopped, Some(r)) => (
            format!("{name}: stopped"),
            match r.exit_code {
                Some(code) => format!("{} is {} (exit code {code})", r.name, r.state.as_str()),
                None => format!("{} is {}", r.name, r.state.as_str()),
            },
        ),
        (ServiceCondition::CrashLooping, Some(r)) => (
            format!("{name}: crash-looping"),
            format!(
                "{} restarted {} times; now {}{}",
                r.name,
                r.restart_count,
                r.state.as_str(),
                r.exit_code
                    .map(|c| format!(", exit code {c}"))
                    .unwrap_or_default()
            ),
        ),
        (ServiceCondition::Unhealthy, Some(r)) => (
            format!("{name}: unhealthy"),
            format!("{}'s healthcheck fails", r.name),
        ),
        (ServiceCondition::Outdated, Some(r)) => (
            format!("{name}: runs another image"),
            format!(
                "{} runs {}, the stack file says {}",
                r.name,
                redact::text(&r.image),
                redact::text(state.image.as_deref().unwrap_or("")),
            ),
        ),
        _ => return Vec::new(),
    };
    vec![Finding {
        severity: Severity::Problem,
        service: Some(name.clone()),
        title,
        evidence,
        hint: String::new(),
    }]
}

/// Host ports the service would bind that another process holds; those
/// its own container publishes now (the engine's forwarder holds them)
/// are not in the way.
fn port_findings(blueprint: &Blueprint, row: Option<&ServiceRow>) -> Vec<Finding> {
    let own: Vec<u16> = row
        .filter(|r| r.is_running())
        .map(|r| r.ports.iter().filter_map(|p| p.host_port).collect())
        .unwrap_or_default();
    blueprint
        .ports
        .iter()
        .filter_map(|p| {
            let published = p.published.filter(|port| !own.contains(port))?;
            let holder = host_ports::held(p.host_ip.as_deref(), published, &p.protocol)?;
            let address = format!(
                "{}:{published}/{}",
                p.host_ip.as_deref().unwrap_or("0.0.0.0"),
                p.protocol
            );
            Some(Finding {
                severity: Severity::Blocker,
                service: Some(blueprint.service.clone()),
                title: format!("host port {address} is in use"),
                evidence: format!("{address} is {}", holder.describe()),
                hint: format!(
                    "stop that process, or publish {} on another port in the stack file; nothing is started until the port is free",
                    blueprint.service
                ),
            })
        })
        .collect()
}

/// What the diagnosis saw of a service's volumes.
struct VolumesSeen {
    findings: Vec<Finding>,
    /// Named volumes that do not exist (engine name, key in the file).
    gone: Vec<(String, String)>,
    /// Of those, the ones that held data before.
    lost: Vec<String>,
}

async fn volume_findings(
    ctx: &Context<'_>,
    svc: &StackService,
    blueprint: &Blueprint,
    engine: &Engine,
    creating: bool,
) -> VolumesSeen {
    let mut out = Vec::new();
    let mut gone = Vec::new();
    let mut lost = Vec::new();
    let deployed = std::iter::once(&ctx.stack.project)
        .chain(&ctx.stack.project_aliases)
        .any(|p| ctx.ever_deployed.contains(&(p.clone(), svc.name.clone())));
    for mount in &blueprint.volumes {
        match &mount.source {
            MountSource::Volume { key, candidates } => {
                let mut found = None;
                let mut unknown = None;
                for name in candidates {
                    match engine.volume(name).await {
                        Ok(Some(v)) => {
                            found = Some(v);
                            break;
                        }
                        Ok(None) => {}
                        Err(e) => unknown = Some(e),
                    }
                }
                // The engine could not say: not "gone", which would claim
                // data lost; nothing is created on it until it can.
                if let (None, Some(e)) = (&found, unknown) {
                    out.push(Finding {
                        severity: if creating {
                            Severity::Blocker
                        } else {
                            Severity::Problem
                        },
                        service: Some(svc.name.clone()),
                        title: format!("could not check volume {key}"),
                        evidence: e.to_string(),
                        hint: "diagnose again when the engine answers".into(),
                    });
                    continue;
                }
                let known = deployed || candidates.iter().any(|c| ctx.known_volumes.contains(c));
                if found.is_none() {
                    if let Some(first) = candidates.first() {
                        gone.push((first.clone(), key.clone()));
                        if known {
                            lost.push(first.clone());
                        }
                    }
                }
                out.push(match found {
                    Some(v) => Finding {
                        severity: Severity::Note,
                        service: Some(svc.name.clone()),
                        title: format!("volume {} is present", v.name),
                        evidence: format!(
                            "{} holds {}{}",
                            v.name,
                            mount.target,
                            v.created_at
                                .map(|c| format!(", created {c}"))
                                .unwrap_or_default()
                        ),
                        hint: String::new(),
                    },
                    None if known => Finding {
                        severity: Severity::Loss,
                        service: Some(svc.name.clone()),
                        title: format!("volume {key} is gone: its data is lost"),
                        evidence: format!(
                            "no volume named {}; {} had its {} there, and starts again with an empty one",
                            candidates.join(" or "),
                            svc.name,
                            mount.target
                        ),
                        hint: "restore it from a backup before the service starts, or accept starting empty".into(),
                    },
                    None => Finding {
                        severity: Severity::Note,
                        service: Some(svc.name.clone()),
                        title: format!("volume {key} does not exist yet"),
                        evidence: format!(
                            "no volume named {}; it is created empty (the service never ran here)",
                            candidates.join(" or ")
                        ),
                        hint: String::new(),
                    },
                });
            }
            MountSource::Bind(path) if !path.exists() => out.push(Finding {
                severity: Severity::Problem,
                service: Some(svc.name.clone()),
                title: format!("host folder {} is missing", path.display()),
                evidence: format!(
                    "{} mounts {} at {}; the engine would create it empty",
                    svc.name,
                    path.display(),
                    mount.target
                ),
                hint: "restore the folder if it held data".into(),
            }),
            _ => {}
        }
    }
    VolumesSeen {
        findings: out,
        gone,
        lost,
    }
}

async fn disk_finding(engine: &Engine) -> Option<Finding> {
    let root = engine.storage_root().await.ok().flatten()?;
    let free = free_bytes(Path::new(&root))?;
    let shown = stackwarden_model::format::human_bytes(free);
    let (severity, title) = if free < MIN_FREE_BYTES {
        (
            Severity::Blocker,
            format!("only {shown} free for images and volumes"),
        )
    } else if free < LOW_FREE_BYTES {
        (
            Severity::Problem,
            format!("disk space is low: {shown} free"),
        )
    } else {
        (
            Severity::Note,
            format!("{shown} free for images and volumes"),
        )
    };
    Some(Finding {
        severity,
        service: None,
        title,
        evidence: format!("{shown} free on the file system of {root}"),
        hint: if severity == Severity::Note {
            String::new()
        } else {
            "free space (podman image prune removes unused images) before recovering".into()
        },
    })
}

/// Bytes available to this user on the file system holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        state: ContainerState,
        health: HealthState,
        restarts: u32,
        exit: Option<i64>,
        image: &str,
    ) -> ServiceRow {
        ServiceRow {
            id: stackwarden_model::ContainerId("id".into()),
            name: "c".into(),
            image: image.into(),
            project: None,
            compose_service: None,
            replica: None,
            state,
            health,
            exit_code: exit,
            started_at_ms: None,
            restart_count: restarts,
            restart_policy: String::new(),
            ports: Vec::new(),
            mounts: Vec::new(),
            usage: None,
        }
    }

    fn just_started(mut r: ServiceRow) -> ServiceRow {
        r.started_at_ms = Some(now_ms() - 5_000);
        r
    }

    #[test]
    fn a_container_is_read_as_what_it_needs() {
        let stack =
            stackwarden_stack::parse("services:\n  db:\n    image: postgres:16\n", "c.yaml")
                .unwrap_or_else(|e| panic!("{e}"));
        let svc = &stack.services[0];
        let img = "docker.io/library/postgres:16";
        use ContainerState::*;
        use HealthState as H;
        let cases = [
            (None, ServiceCondition::Missing),
            (
                Some(row(Running, H::Healthy, 0, None, img)),
                ServiceCondition::Healthy,
            ),
            (
                Some(row(Running, H::None, 0, None, img)),
                ServiceCondition::Running,
            ),
            (
                Some(row(Running, H::Unhealthy, 0, None, img)),
                ServiceCondition::Unhealthy,
            ),
            (
                Some(row(Running, H::Starting, 0, None, img)),
                ServiceCondition::Starting,
            ),
            (
                Some(row(Restarting, H::None, 1, None, img)),
                ServiceCondition::CrashLooping,
            ),
            (
                Some(just_started(row(Running, H::Healthy, 5, None, img))),
                ServiceCondition::CrashLooping,
            ),
            // Old restarts of a container up for long: not a loop.
            (
                Some(row(Running, H::Healthy, 5, None, img)),
                ServiceCondition::Healthy,
            ),
            (
                Some(row(Exited, H::None, 4, Some(1), img)),
                ServiceCondition::CrashLooping,
            ),
            (
                Some(row(Exited, H::None, 4, Some(0), img)),
                ServiceCondition::Stopped,
            ),
            (
                Some(row(Exited, H::None, 0, Some(137), img)),
                ServiceCondition::Stopped,
            ),
            (
                Some(row(Created, H::None, 0, None, img)),
                ServiceCondition::Stopped,
            ),
            (
                Some(row(Running, H::Healthy, 0, None, "postgres:15")),
                ServiceCondition::Outdated,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(condition(svc, r.as_ref()), want, "{r:?}");
        }
    }

    #[test]
    fn image_names_compare_as_the_engine_completes_them() {
        assert!(same_image("busybox", "docker.io/library/busybox:latest"));
        assert!(same_image(
            "localhost/sw-test-db",
            "localhost/sw-test-db:latest"
        ));
        assert!(same_image(
            "qdrant/qdrant:v1.9",
            "docker.io/qdrant/qdrant:v1.9"
        ));
        assert!(!same_image("postgres:16", "postgres:15"));
        assert!(same_image(
            "127.0.0.1:5000/app",
            "127.0.0.1:5000/app:latest"
        ));
    }
}
