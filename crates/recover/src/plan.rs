//! Step 2 and 3 of a recovery: the ordered steps, from the diagnosis and
//! the stack's `depends_on` (with its conditions), each saying what it
//! does, why, how long it should take and what it could lose. A step that
//! removes a container with data outside its volumes is destructive: it
//! carries its [`Loss`] (what, and the backups taken first) and needs its
//! own confirmation. No step ever removes a volume.
//!
//! Pure: the same diagnosis always gives the same plan.

use std::collections::BTreeMap;

use stackwarden_stack::{Blueprints, DependencyCondition, Stack};

use crate::model::{
    BackupTarget, Diagnosis, Finding, Loss, Plan, ServiceCondition, ServiceState, Severity, Step,
    StepKind,
};

/// How to start the engine, and the user's compose tool, as found on this
/// machine (see [`crate::tools`]).
#[derive(Debug, Clone, Default)]
pub struct Tools {
    /// The command that starts the engine; `None` when Stackwarden may not
    /// (a rootful Docker): `engine_hint` says what to run.
    pub engine_start: Option<Vec<String>>,
    pub engine_hint: String,
    /// `podman-compose`, `docker-compose` or `docker compose`, if installed.
    pub compose: Option<Vec<String>>,
}

impl Tools {
    /// Whether the compose tool names containers `<project>_<service>_1`
    /// (podman-compose, docker-compose 1) rather than compose 2's dashes.
    pub fn underscore_names(&self) -> bool {
        self.compose
            .as_ref()
            .and_then(|c| c.first())
            .is_some_and(|p| p == "podman-compose" || p == "docker-compose")
    }
}

/// Expected durations, from runs on the development machines: a rough
/// guide for the user, never a deadline.
mod expected {
    pub const ENGINE: u64 = 2_000;
    pub const NETWORK: u64 = 300;
    pub const VOLUME: u64 = 200;
    pub const PULL: u64 = 30_000;
    pub const CREATE: u64 = 1_000;
    pub const START: u64 = 800;
    pub const RESTART: u64 = 2_000;
    pub const COMPOSE: u64 = 15_000;
    pub const WAIT: u64 = 3_000;
}

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: StepKind,
        service: Option<&str>,
        title: String,
        why: String,
        expected_ms: u64,
        target: &str,
        after: Vec<u32>,
    ) -> u32 {
        let id = u32::try_from(self.steps.len()).unwrap_or(u32::MAX) + 1;
        self.steps.push(Step {
            id,
            kind,
            service: service.map(ToString::to_string),
            title,
            why,
            expected_ms,
            loss: None,
            after,
            target: target.to_string(),
            command: Vec::new(),
        });
        id
    }

    fn last(&mut self) -> Option<&mut Step> {
        self.steps.last_mut()
    }
}

/// The plan for `diagnosis`. An unreachable engine gives a plan of one
/// step, starting it; the rest is planned once it answers.
pub fn plan(diagnosis: &Diagnosis, stack: &Stack, blueprints: &Blueprints, tools: &Tools) -> Plan {
    let mut blockers: Vec<Finding> = diagnosis.blockers().cloned().collect();
    let data_lost: Vec<Finding> = diagnosis
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Loss)
        .cloned()
        .collect();
    let mut b = Builder { steps: Vec::new() };
    if !diagnosis.engine.reachable {
        match &tools.engine_start {
            Some(command) => {
                b.push(
                    StepKind::StartEngine,
                    None,
                    "start the container engine".into(),
                    "no engine answers; nothing else can be checked or started without it".into(),
                    expected::ENGINE,
                    "engine",
                    Vec::new(),
                );
                if let Some(step) = b.last() {
                    step.command = command.clone();
                }
            }
            None => blockers.push(Finding {
                severity: Severity::Blocker,
                service: None,
                title: "the container engine is not running".into(),
                evidence: diagnosis.engine.tried.join("; "),
                hint: tools.engine_hint.clone(),
            }),
        }
        return finish(b.steps, blockers, data_lost);
    }

    let mut shared: BTreeMap<String, u32> = BTreeMap::new();
    for (name, key) in &diagnosis.missing_networks {
        let id = b.push(
            StepKind::CreateNetwork,
            None,
            format!("create network {name}"),
            format!("the stack's `{key}` network is gone; services reach each other by name on it"),
            expected::NETWORK,
            name,
            Vec::new(),
        );
        shared.insert(format!("network:{name}"), id);
    }
    for (name, key) in &diagnosis.missing_volumes {
        let lost_by = diagnosis
            .lost_volumes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, service)| service.as_str());
        let id = b.push(
            StepKind::CreateVolume,
            lost_by,
            format!("create volume {name} (empty)"),
            format!("the stack's `{key}` volume does not exist; compose labels are set so compose tools own it"),
            expected::VOLUME,
            name,
            Vec::new(),
        );
        // Its data is gone already; starting the service on an empty volume
        // (a database initialises it) makes restoring it harder: asked on its own.
        if let (Some(service), Some(step)) = (lost_by, b.last()) {
            step.loss = Some(Loss {
                summary: format!(
                    "volume {name} held {service}'s data and is gone; {service} starts on a new, empty one (restore a backup into it first if you have one)"
                ),
                paths: vec![format!("volume {name}")],
                backups: Vec::new(),
            });
        }
        shared.insert(format!("volume:{name}"), id);
    }

    // Services in dependency order, so each one's steps can name the steps
    // of the services it depends on.
    let order = dependency_order(stack);
    // Per service: the step after which it counts as started, and the one
    // after which it is healthy (its wait).
    let mut started: BTreeMap<&str, u32> = BTreeMap::new();
    let mut ready: BTreeMap<&str, u32> = BTreeMap::new();
    for name in order {
        let Some(state) = diagnosis.services.iter().find(|s| s.service == name) else {
            continue;
        };
        let Some(blueprint) = blueprints.services.get(name) else {
            continue;
        };
        let mut after: Vec<u32> = Vec::new();
        for dep in &blueprint.depends_on {
            let waits = match dep.condition {
                DependencyCondition::Started => started.get(dep.service.as_str()),
                DependencyCondition::Healthy | DependencyCondition::CompletedSuccessfully => ready
                    .get(dep.service.as_str())
                    .or_else(|| started.get(dep.service.as_str())),
            };
            after.extend(waits.copied());
        }
        let needs_create = matches!(
            state.condition,
            ServiceCondition::Missing | ServiceCondition::Outdated
        );
        if needs_create && !blueprint.blocked.is_empty() {
            blockers.push(Finding {
                severity: Severity::Blocker,
                service: Some(name.to_string()),
                title: format!("{name} cannot be created"),
                evidence: blueprint.blocked.join("; "),
                hint: "set it as your compose file expects, then recover again".into(),
            });
            continue;
        }
        if needs_create {
            for network in blueprint.networks.iter().filter(|n| !n.external) {
                if let Some(first) = network.candidates.first() {
                    after.extend(shared.get(&format!("network:{first}")).copied());
                }
            }
            for mount in &blueprint.volumes {
                if let stackwarden_stack::MountSource::Volume { candidates, .. } = &mount.source {
                    if let Some(first) = candidates.first() {
                        after.extend(shared.get(&format!("volume:{first}")).copied());
                    }
                }
            }
        }
        let handed_over = needs_create
            && (!blueprint.unsupported.is_empty() || (blueprint.built && !state.image_present));
        // What a starting service's wait comes after: its dependencies.
        let deps_after = after.clone();
        let act = if handed_over {
            let tool = ComposeRun {
                blueprints,
                tools,
                project: &diagnosis.project,
            };
            compose_step(&mut b, state, blueprint, &tool, after, &mut blockers)
        } else {
            let mut after = after;
            if needs_create && !state.image_present {
                if let Some(image) = &state.image {
                    after.push(b.push(
                        StepKind::Pull,
                        Some(name),
                        format!("pull image {image}"),
                        format!("{name}'s image is not in local storage"),
                        expected::PULL,
                        image,
                        Vec::new(),
                    ));
                }
            }
            act_step(&mut b, state, after)
        };
        let why = if blueprint.healthcheck.is_some() {
            "its healthcheck passes before anything that needs it starts"
        } else {
            "it runs and its probes pass"
        };
        let Some(act) = act else {
            // Up but not healthy yet: what needs it healthy waits for it.
            if state.condition == ServiceCondition::Starting {
                let wait = b.push(
                    StepKind::Wait,
                    Some(name),
                    format!("wait until {name} is healthy"),
                    format!("it is starting; {why}"),
                    expected::WAIT,
                    &state.container,
                    deps_after,
                );
                ready.insert(name, wait);
            }
            continue;
        };
        started.insert(name, act);
        let wait = b.push(
            StepKind::Wait,
            Some(name),
            format!("wait until {name} is healthy"),
            why.to_string(),
            expected::WAIT,
            &state.container,
            vec![act],
        );
        ready.insert(name, wait);
    }
    finish(b.steps, blockers, data_lost)
}

/// The step that brings a service's container back; `None` when it needs
/// nothing.
fn act_step(b: &mut Builder, state: &ServiceState, after: Vec<u32>) -> Option<u32> {
    let name = state.service.as_str();
    let container = state.container.as_str();
    let id = match state.condition {
        ServiceCondition::Healthy
        | ServiceCondition::Starting
        | ServiceCondition::Running => return None,
        ServiceCondition::Missing => b.push(
            StepKind::Create,
            Some(name),
            format!("create and start {container}"),
            format!("{name} has no container; it is created from the stack file with its volumes, ports and network"),
            expected::CREATE,
            container,
            after,
        ),
        ServiceCondition::Stopped => b.push(
            StepKind::Start,
            Some(name),
            format!("start {container}"),
            format!("{name}'s container exists but is stopped"),
            expected::START,
            container,
            after,
        ),
        ServiceCondition::CrashLooping | ServiceCondition::Unhealthy => b.push(
            StepKind::Restart,
            Some(name),
            format!("restart {container}"),
            format!("{name} is {}", state.condition.word()),
            expected::RESTART,
            container,
            after,
        ),
        ServiceCondition::Outdated => {
            let id = b.push(
                StepKind::Replace,
                Some(name),
                format!("replace {container} with a container of the stack file's image"),
                format!("{name} runs another image than the stack file names"),
                expected::CREATE,
                container,
                after,
            );
            if !state.unsaved.is_empty() {
                if let Some(step) = b.last() {
                    step.loss = Some(Loss {
                        summary: format!(
                            "{} change(s) {container} made outside its volumes are lost with it",
                            state.unsaved.len()
                        ),
                        paths: state.unsaved.clone(),
                        backups: backup_targets(state),
                    });
                }
            }
            id
        }
    };
    Some(id)
}

/// The top folders of what a container changed outside its volumes: what
/// the backup archives.
fn backup_targets(state: &ServiceState) -> Vec<BackupTarget> {
    let Some(id) = &state.container_id else {
        return Vec::new();
    };
    let mut folders: Vec<String> = Vec::new();
    for change in &state.unsaved {
        let Some(path) = change.split_once(' ').map(|(_, p)| p) else {
            continue;
        };
        if change.starts_with('D') || !path.starts_with('/') {
            continue;
        }
        // An anonymous volume: its own folder, as mounted.
        if let Some(volume) = change.strip_prefix("V ") {
            let at = volume.split(" (").next().unwrap_or(volume).to_string();
            if !folders.contains(&at) {
                folders.push(at);
            }
            continue;
        }
        let top = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .map(|first| format!("/{first}"))
            .unwrap_or_default();
        if !top.is_empty() && top != "/" && !folders.contains(&top) {
            folders.push(top);
        }
    }
    folders
        .into_iter()
        .map(|path| BackupTarget {
            container_id: id.clone(),
            path,
        })
        .collect()
}

/// What a compose-tool step is made from.
struct ComposeRun<'a> {
    blueprints: &'a Blueprints,
    tools: &'a Tools,
    /// The project the stack's containers carry.
    project: &'a str,
}

fn compose_step(
    b: &mut Builder,
    state: &ServiceState,
    blueprint: &stackwarden_stack::Blueprint,
    run: &ComposeRun<'_>,
    after: Vec<u32>,
    blockers: &mut Vec<Finding>,
) -> Option<u32> {
    let (blueprints, tools) = (run.blueprints, run.tools);
    let name = state.service.as_str();
    let why = if blueprint.unsupported.is_empty() {
        format!("{name}'s image is built from the stack file (`build:`)")
    } else {
        format!(
            "{name} uses {}, outside what Stackwarden recreates through the engine",
            blueprint.unsupported.join(", ")
        )
    };
    if blueprints
        .config_files
        .iter()
        .any(|f| f == stackwarden_stack::DEFAULT_STACK_NAME)
    {
        blockers.push(Finding {
            severity: Severity::Blocker,
            service: Some(name.to_string()),
            title: format!("{name} needs a compose tool and a compose file"),
            evidence: format!("{why}; the built-in stack has no file a compose tool can read"),
            hint: "write the stack to a compose file and point [stack] file at it".into(),
        });
        return None;
    }
    let Some(tool) = &tools.compose else {
        blockers.push(Finding {
            severity: Severity::Blocker,
            service: Some(name.to_string()),
            title: format!("{name} needs a compose tool"),
            evidence: format!("{why}, and neither podman-compose nor docker compose is installed"),
            hint: "install podman-compose (apt install podman-compose), or remove those keys"
                .into(),
        });
        return None;
    };
    let mut command = tool.clone();
    command.push("-p".into());
    command.push(run.project.to_string());
    for file in &blueprints.config_files {
        command.push("-f".into());
        command.push(file.clone());
    }
    command.extend(["up", "-d", "--no-deps", "--no-recreate"].map(String::from));
    if blueprint.built {
        command.push("--build".into());
    }
    command.push(name.to_string());
    let id = b.push(
        StepKind::Compose,
        Some(name),
        format!("bring up {name} with {}", tool.join(" ")),
        why,
        expected::COMPOSE,
        &state.container,
        after,
    );
    if let Some(step) = b.last() {
        step.command = command;
        // The tool replaces a container of another image: what it wrote
        // outside its volumes goes with it, as for a replace.
        if state.condition == ServiceCondition::Outdated && !state.unsaved.is_empty() {
            step.loss = Some(Loss {
                summary: format!(
                    "{} is removed for the compose tool to create it again: {} change(s) outside its volumes are lost with it",
                    state.container,
                    state.unsaved.len()
                ),
                paths: state.unsaved.clone(),
                backups: backup_targets(state),
            });
        }
    }
    Some(id)
}

fn finish(steps: Vec<Step>, blockers: Vec<Finding>, data_lost: Vec<Finding>) -> Plan {
    // The longest chain of `after`: steps without an order between them run
    // at the same time.
    let mut done_at: BTreeMap<u32, u64> = BTreeMap::new();
    for step in &steps {
        let start = step
            .after
            .iter()
            .filter_map(|a| done_at.get(a))
            .max()
            .copied()
            .unwrap_or(0);
        done_at.insert(step.id, start + step.expected_ms);
    }
    Plan {
        expected_ms: done_at.values().max().copied().unwrap_or(0),
        steps,
        blockers,
        data_lost,
    }
}

/// Service names with each after the services it depends on (the stack
/// loader refuses cycles); ties in file order.
pub fn dependency_order(stack: &Stack) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut left: Vec<&stackwarden_stack::StackService> = stack.services.iter().collect();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|svc| {
            let ready = svc
                .dependency_names()
                .all(|d| out.contains(&d) || !stack.services.iter().any(|s| s.name == d));
            if ready {
                out.push(svc.name.as_str());
            }
            !ready
        });
        if left.len() == before {
            // A cycle the loader let through: keep file order rather than loop.
            out.extend(left.iter().map(|s| s.name.as_str()));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests;
