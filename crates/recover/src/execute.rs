//! Step 5 of a recovery: the plan carried out, with progress for every
//! step. Steps run as soon as the steps they come after are done, so
//! services that do not depend on each other come back at the same time;
//! a service waits for its dependencies' conditions (`service_healthy`
//! waits for health). A failing step stops the plan there: nothing new
//! starts, steps under way finish, and nothing done is undone. A
//! destructive step runs only when confirmed on its own, after its backups.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use stackwarden_engine::Engine;
use stackwarden_model::{ContainerAction, ContainerState, HealthState, ServiceRow};
use stackwarden_probes::ProbeRunner;
use stackwarden_stack::{Blueprints, DependencyCondition, MountSource, ProbeKind, Stack};
use tokio::sync::mpsc;

use crate::create::{container_body, object_labels, Names};
use crate::model::{Diagnosis, Plan, Progress, Step, StepKind, StepOutcome, StepStatus};

/// A future the command runner returns.
pub type CommandFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// Runs the commands of the engine start and compose steps: the command
/// line through `tokio::process`, the desktop app through its shell plugin
/// (whose scope allows exactly these commands).
pub trait Commands: Send + Sync {
    /// Starts the engine service in the background and returns what to
    /// tell the user (its PID); it keeps running after the wizard.
    fn start_engine<'a>(&'a self, command: &'a [String]) -> CommandFuture<'a>;
    /// Runs a command to its end in `dir`, each output line to `line`.
    fn run<'a>(
        &'a self,
        command: &'a [String],
        dir: Option<&'a Path>,
        line: &'a (dyn Fn(String) + Send + Sync),
    ) -> CommandFuture<'a>;
}

/// How a command the wizard ran ended, in words: `Ok` when it exited 0.
pub fn exit_status(command: &[String], code: Option<i32>) -> Result<String, String> {
    let shown = command.join(" ");
    match code {
        Some(0) => Ok(format!("{shown} finished")),
        Some(code) => Err(format!("{shown} exited with code {code}")),
        None => Err(format!("{shown} ended by a signal")),
    }
}

/// What carrying out a plan needs.
pub struct Execution<'a> {
    pub engine: &'a Engine,
    pub stack: &'a Stack,
    pub blueprints: &'a Blueprints,
    pub diagnosis: &'a Diagnosis,
    /// Where backups are written (in the data folder).
    pub backup_dir: PathBuf,
    /// Destructive steps the user confirmed, each on its own.
    pub confirmed: BTreeSet<u32>,
    pub commands: &'a dyn Commands,
    pub progress: mpsc::UnboundedSender<Progress>,
    /// How long a wait step waits for its service.
    pub wait_limit: Duration,
    pub probes: ProbeRunner,
}

/// A step's failure: why, and what to do.
struct Failure {
    reason: String,
    hint: String,
}

impl Failure {
    fn new(reason: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            hint: hint.into(),
        }
    }
}

impl From<stackwarden_engine::EngineError> for Failure {
    fn from(e: stackwarden_engine::EngineError) -> Self {
        let hint = if e.is_lost() {
            "the engine stopped answering: start it, then run the recovery again"
        } else {
            ""
        };
        Self::new(e.to_string(), hint)
    }
}

/// Carries out `plan`; one outcome per step, in plan order.
pub async fn execute(plan: &Plan, ex: &Execution<'_>) -> Vec<StepOutcome> {
    let mut outcomes: BTreeMap<u32, StepOutcome> = BTreeMap::new();
    if !plan.blockers.is_empty() {
        for step in &plan.steps {
            let reason = format!("blocked: {}", plan.blockers[0].title);
            let _ = ex.progress.send(Progress::Skipped {
                step: step.id,
                reason: reason.clone(),
            });
            outcomes.insert(step.id, not_run(step.id, reason));
        }
        return outcomes.into_values().collect();
    }
    let names = resolve_names(ex.engine, ex.blueprints).await;
    let mut started: BTreeSet<u32> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    let mut stopped = false;
    loop {
        if !stopped {
            for step in &plan.steps {
                let ready = !started.contains(&step.id)
                    && step.after.iter().all(|a| {
                        outcomes
                            .get(a)
                            .is_some_and(|o| o.status == StepStatus::Done)
                    });
                if ready {
                    started.insert(step.id);
                    let _ = ex.progress.send(Progress::Started { step: step.id });
                    let names = &names;
                    running.push(async move {
                        let began = Instant::now();
                        let result = run_step(step, ex, names).await;
                        (step.id, result, began.elapsed())
                    });
                }
            }
        }
        let Some((id, result, took)) = running.next().await else {
            break;
        };
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let outcome = match result {
            Ok(note) => {
                let _ = ex.progress.send(Progress::Done {
                    step: id,
                    ms,
                    note: note.clone(),
                });
                StepOutcome {
                    step: id,
                    status: StepStatus::Done,
                    ms,
                    note,
                }
            }
            Err(f) => {
                stopped = true;
                let _ = ex.progress.send(Progress::Failed {
                    step: id,
                    reason: f.reason.clone(),
                    hint: f.hint.clone(),
                });
                StepOutcome {
                    step: id,
                    status: StepStatus::Failed,
                    ms,
                    note: if f.hint.is_empty() {
                        f.reason
                    } else {
                        format!("{} — {}", f.reason, f.hint)
                    },
                }
            }
        };
        outcomes.insert(id, outcome);
    }
    for step in &plan.steps {
        if let std::collections::btree_map::Entry::Vacant(slot) = outcomes.entry(step.id) {
            let reason = "not run: the plan stopped at a failed step".to_string();
            let _ = ex.progress.send(Progress::Skipped {
                step: step.id,
                reason: reason.clone(),
            });
            slot.insert(not_run(step.id, reason));
        }
    }
    outcomes.into_values().collect()
}

fn not_run(step: u32, note: String) -> StepOutcome {
    StepOutcome {
        step,
        status: StepStatus::NotRun,
        ms: 0,
        note,
    }
}

/// The engine name of each volume and network of the file: the one that
/// exists (under any of the project's names), else the one to create.
pub async fn resolve_names(engine: &Engine, blueprints: &Blueprints) -> Names {
    let mut names = Names::default();
    for blueprint in blueprints.services.values() {
        for mount in &blueprint.volumes {
            let MountSource::Volume { key, candidates } = &mount.source else {
                continue;
            };
            if names.volumes.contains_key(key) {
                continue;
            }
            let mut chosen = candidates.first().cloned();
            for name in candidates {
                if matches!(engine.volume(name).await, Ok(Some(_))) {
                    chosen = Some(name.clone());
                    break;
                }
            }
            if let Some(name) = chosen {
                names.volumes.insert(key.clone(), name);
            }
        }
        for network in &blueprint.networks {
            if names.networks.contains_key(&network.key) {
                continue;
            }
            let mut chosen = network.candidates.first().cloned();
            for name in &network.candidates {
                if engine.network_exists(name).await.unwrap_or(false) {
                    chosen = Some(name.clone());
                    break;
                }
            }
            if let Some(name) = chosen {
                names.networks.insert(network.key.clone(), name);
            }
        }
    }
    names
}

async fn run_step(step: &Step, ex: &Execution<'_>, names: &Names) -> Result<String, Failure> {
    // The project the stack's containers carry (the compose tool's name).
    let project = ex.diagnosis.project.as_str();
    let service = step.service.as_deref().unwrap_or("");
    match step.kind {
        StepKind::StartEngine => Err(Failure::new(
            "the engine is started before the plan runs",
            "",
        )),
        StepKind::CreateNetwork => {
            let key = key_of(&ex.diagnosis.missing_networks, &step.target);
            ex.engine
                .create_network(&step.target, object_labels(project, "network", &key))
                .await?;
            Ok(format!("network {} created", step.target))
        }
        StepKind::CreateVolume => {
            guard(step, ex, service).await?;
            let key = key_of(&ex.diagnosis.missing_volumes, &step.target);
            ex.engine
                .create_volume(&step.target, object_labels(project, "volume", &key))
                .await?;
            Ok(format!("volume {} created, empty", step.target))
        }
        StepKind::Pull => pull(step, ex).await,
        StepKind::Start | StepKind::Restart => {
            let id = container_id(ex, service).unwrap_or(&step.target);
            let (action, done) = if step.kind == StepKind::Start {
                (ContainerAction::Start, "started")
            } else {
                (ContainerAction::Restart, "restarted")
            };
            ex.engine.act(id, action).await?;
            Ok(format!("{} {done}", step.target))
        }
        StepKind::Create => create(step, ex, names, service).await,
        StepKind::Replace => {
            let saved = guard(step, ex, service).await?;
            let note = replace(step, ex, names, service).await?;
            Ok(with_backups(note, &saved))
        }
        StepKind::Compose => {
            let saved = guard(step, ex, service).await?;
            // A container of another image is removed here (confirmed and
            // backed up above): no compose tool then replaces anything
            // itself (`--no-recreate`), and each replaces it the same way.
            let outdated = ex.diagnosis.services.iter().any(|s| {
                s.service == service && s.condition == crate::model::ServiceCondition::Outdated
            });
            if outdated {
                if let Some(id) = container_id(ex, service) {
                    ex.engine.act(id, ContainerAction::Stop).await?;
                    ex.engine.remove_container(id).await?;
                }
            }
            // The tool prints the commands it runs, environment values
            // included (of its dependencies too): every service's are masked.
            let mut secrets: Vec<String> = ex
                .blueprints
                .services
                .values()
                .flat_map(|b| b.environment.iter().map(|(_, v)| v.clone()))
                .filter(|v| v.len() >= 4)
                .collect();
            // Longest first: a secret containing another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            let progress = ex.progress.clone();
            let id = step.id;
            let line = move |text: String| {
                let mut text = stackwarden_model::redact::text(&text);
                for secret in &secrets {
                    text = text.replace(secret.as_str(), "***");
                }
                let _ = progress.send(Progress::Line { step: id, text });
            };
            let run = ex
                .commands
                .run(&step.command, ex.blueprints.working_dir.as_deref(), &line);
            match tokio::time::timeout(COMPOSE_LIMIT, run).await {
                Ok(Ok(note)) => Ok(with_backups(note, &saved)),
                Ok(Err(why)) => Err(Failure::new(why, "see the compose tool's output above")),
                Err(_) => Err(Failure::new(
                    format!(
                        "{} did not finish within {} min",
                        step.command.join(" "),
                        COMPOSE_LIMIT.as_secs() / 60
                    ),
                    "it was stopped; run it yourself to see where it hangs",
                )),
            }
        }
        StepKind::Wait => wait(step, ex, service).await,
    }
}

/// How long a pull may go without a progress message.
const PULL_IDLE_LIMIT: Duration = Duration::from_secs(300);

/// How long the compose tool may take for one service (a build included).
const COMPOSE_LIMIT: Duration = Duration::from_secs(15 * 60);

/// A destructive step runs only when confirmed on its own, after its
/// backups; the files written (with size and SHA-256).
async fn guard(step: &Step, ex: &Execution<'_>, service: &str) -> Result<Vec<String>, Failure> {
    let Some(loss) = &step.loss else {
        return Ok(Vec::new());
    };
    if !ex.confirmed.contains(&step.id) {
        return Err(Failure::new(
            format!("not confirmed: {}", loss.summary),
            "a step that can lose data runs only when confirmed on its own (in the window, or `--accept-loss SERVICE` with `--yes`); its backup is taken first",
        ));
    }
    let mut saved = Vec::new();
    for target in &loss.backups {
        let file = crate::backup::archive(ex.engine, service, target, &ex.backup_dir)
            .await
            .map_err(|why| {
                Failure::new(
                    format!("backup of {} failed: {why}", target.path),
                    "nothing was removed",
                )
            })?;
        let _ = ex.progress.send(Progress::Backup {
            step: step.id,
            file: file.path.display().to_string(),
            bytes: file.bytes,
            sha256: file.sha256.clone(),
        });
        saved.push(format!(
            "{} ({}, sha256 {})",
            file.path.display(),
            stackwarden_model::format::human_bytes(file.bytes),
            file.sha256
        ));
    }
    Ok(saved)
}

fn with_backups(note: String, saved: &[String]) -> String {
    if saved.is_empty() {
        note
    } else {
        format!("{note}; backups: {}", saved.join(", "))
    }
}

fn key_of(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| name.to_string(), |(_, k)| k.clone())
}

fn container_id<'d>(ex: &'d Execution<'_>, service: &str) -> Option<&'d str> {
    ex.diagnosis
        .services
        .iter()
        .find(|s| s.service == service)
        .and_then(|s| s.container_id.as_deref())
}

async fn pull(step: &Step, ex: &Execution<'_>) -> Result<String, Failure> {
    let mut stream = Box::pin(ex.engine.pull(&step.target));
    let mut layers: BTreeMap<String, u64> = BTreeMap::new();
    let mut shown: BTreeMap<String, (String, u64)> = BTreeMap::new();
    loop {
        let Ok(next) = tokio::time::timeout(PULL_IDLE_LIMIT, stream.next()).await else {
            return Err(Failure::new(
                format!(
                    "the pull of {} made no progress for {} min",
                    step.target,
                    PULL_IDLE_LIMIT.as_secs() / 60
                ),
                "check the registry and the network, then recover again",
            ));
        };
        let Some(item) = next else { break };
        let p = item.map_err(|e| {
            Failure::new(
                e.to_string(),
                "check that the registry is reachable and the image name is right",
            )
        })?;
        let Some(layer) = p.layer.clone() else {
            continue;
        };
        if let Some(total) = p.total {
            layers.insert(layer.clone(), total);
        }
        // One event per status change, and at most one per MiB of a layer.
        let current = p.current.unwrap_or(0);
        let last = shown.get(&layer);
        let worth =
            last.is_none_or(|(status, at)| *status != p.status || current >= at + (1 << 20));
        if worth {
            shown.insert(layer.clone(), (p.status.clone(), current));
            let _ = ex.progress.send(Progress::Layer {
                step: step.id,
                layer,
                status: p.status,
                current: p.current,
                total: p.total,
            });
        }
    }
    let bytes: u64 = layers.values().sum();
    Ok(format!(
        "pulled {} ({} layer(s), {})",
        step.target,
        shown.len(),
        stackwarden_model::format::human_bytes(bytes)
    ))
}

async fn create(
    step: &Step,
    ex: &Execution<'_>,
    names: &Names,
    service: &str,
) -> Result<String, Failure> {
    let Some(blueprint) = ex.blueprints.services.get(service) else {
        return Err(Failure::new(
            format!("{service} is not in the stack file"),
            "",
        ));
    };
    let body = container_body(
        blueprint,
        &ex.diagnosis.project,
        &step.target,
        ex.blueprints,
        names,
    );
    let id = ex
        .engine
        .create_container(&step.target, body)
        .await
        .map_err(|e| {
            let text = e.to_string();
            let hint = if text.contains("already in use") {
                format!(
                    "another container is named {}: remove or rename it",
                    step.target
                )
            } else {
                String::new()
            };
            Failure::new(text, hint)
        })?;
    start_created(ex, &id, &step.target).await?;
    Ok(format!("{} created and started", step.target))
}

/// How long a host port may take to be let go of by a container just
/// removed (the engine releases it after the remove returns).
const PORT_RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Starts a container just created; a port still held by one just removed
/// is waited for, with backoff.
async fn start_created(ex: &Execution<'_>, id: &str, name: &str) -> Result<(), Failure> {
    let began = Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        match ex.engine.act(id, ContainerAction::Start).await {
            Ok(()) => return Ok(()),
            Err(e)
                if e.to_string().contains("address already in use")
                    && began.elapsed() < PORT_RELEASE_WAIT =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            Err(e) => {
                return Err(Failure::new(
                    format!("{name} was created but did not start: {e}"),
                    format!("it is left created; see `podman logs {name}`"),
                ))
            }
        }
    }
}

async fn replace(
    step: &Step,
    ex: &Execution<'_>,
    names: &Names,
    service: &str,
) -> Result<String, Failure> {
    if let Some(id) = container_id(ex, service) {
        ex.engine.act(id, ContainerAction::Stop).await?;
        ex.engine.remove_container(id).await?;
    }
    create(step, ex, names, service).await
}

/// Waits until the service's container runs, its healthcheck passes (run
/// now on Podman rather than on its interval) and its probes pass; or, for
/// a dependency others wait on to complete, until it exits 0.
async fn wait(step: &Step, ex: &Execution<'_>, service: &str) -> Result<String, Failure> {
    let Some(svc) = ex.stack.services.iter().find(|s| s.name == service) else {
        return Err(Failure::new(
            format!("{service} is not in the stack file"),
            "",
        ));
    };
    let completes = ex.stack.services.iter().any(|s| {
        s.depends_on.iter().any(|d| {
            d.service == service && d.condition == DependencyCondition::CompletedSuccessfully
        })
    });
    let began = Instant::now();
    let mut last = String::from("no container yet");
    while began.elapsed() < ex.wait_limit {
        if let Some(row) = find_row(ex, svc).await {
            if completes && row.state == ContainerState::Exited && row.exit_code == Some(0) {
                return Ok(format!("{service} completed successfully"));
            }
            match readiness(ex, svc, &row).await {
                Ok(()) => {
                    return Ok(format!(
                        "{service} is healthy after {:.1} s",
                        began.elapsed().as_secs_f64()
                    ))
                }
                Err(why) => last = why,
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(Failure::new(
        format!(
            "{service} was not healthy within {} s: {last}",
            ex.wait_limit.as_secs()
        ),
        format!("look at its logs (`podman logs {}`)", step.target),
    ))
}

async fn find_row(ex: &Execution<'_>, svc: &stackwarden_stack::StackService) -> Option<ServiceRow> {
    let listed = ex.engine.list_named().await.ok()?;
    let found = listed.into_iter().find(|c| {
        svc.is_container(
            ex.stack,
            &c.name,
            c.project.as_deref(),
            c.service.as_deref(),
        )
    })?;
    ex.engine.inspect_row(&found.id).await.ok()
}

async fn readiness(
    ex: &Execution<'_>,
    svc: &stackwarden_stack::StackService,
    row: &ServiceRow,
) -> Result<(), String> {
    if row.state != ContainerState::Running {
        return Err(format!("{} is {}", row.name, row.state.as_str()));
    }
    match row.health {
        HealthState::Healthy | HealthState::None => {}
        HealthState::Unhealthy | HealthState::Starting => {
            let status = ex.engine.run_healthcheck(&row.id.0).await.ok().flatten();
            if status.as_deref() != Some("healthy") {
                return Err(format!(
                    "its healthcheck says {}",
                    status.unwrap_or_else(|| row.health.as_str().to_string())
                ));
            }
        }
    }
    for probe in svc
        .probes
        .iter()
        .filter(|p| !matches!(p.kind, ProbeKind::Container))
    {
        let outcome = ex.probes.run(probe, Some(row)).await;
        if !outcome.success {
            return Err(format!(
                "probe {} fails: {}",
                probe.name,
                outcome
                    .error
                    .or_else(|| outcome
                        .conditions
                        .iter()
                        .find(|c| !c.success)
                        .map(|c| format!("{} (saw {})", c.condition, c.observed)))
                    .unwrap_or_default()
            ));
        }
    }
    Ok(())
}
