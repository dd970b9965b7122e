//! Runs a checklist: every check at once, each within its timeout, results
//! reported as they finish (for live progress) and kept in checklist order.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use futures_util::future::join_all;
use stackwarden_engine::endpoint::START_HINT;
use stackwarden_engine::{Engine, EngineError};
use stackwarden_health::{
    Absent, CheckResult, CheckStatus, ProbeOutcome, ProbeRun, VerificationRun,
};
use stackwarden_model::clock::now_ms;
use stackwarden_model::format::human_duration_ms;
use stackwarden_model::{redact, ContainerId, ServiceRow};
use stackwarden_probes::{
    container_name, find_container, outcomes_by_service, stack_health, when_absent, EverDeployed,
    ProbeRunner,
};
use stackwarden_stack::{ProbeKind, Stack, StackService};
use tokio::sync::mpsc;

use crate::checklist::{checklist, CheckKind, CheckSpec};
use crate::checks::{self, CpuBasis, Measurement, Verdict};
use crate::error::NoEngine;

/// A row's usage sampled at most this long ago counts as current: the
/// resources check uses it as it is (the app's monitor samples every 2 s
/// while its window is visible).
pub const LIVE_USAGE_WITHIN_MS: i64 = 15_000;

/// How far apart the resources check takes its two samples of containers
/// without current usage, so their CPU is the current rate and not the
/// average since they started.
pub const CPU_WINDOW: Duration = Duration::from_secs(1);

pub struct VerifyInput<'a> {
    pub stack: &'a Stack,
    /// The connected engine, or why there is none.
    pub engine: Result<Engine, NoEngine>,
    /// The engine's containers. A running container's `usage`, when sampled
    /// within `LIVE_USAGE_WITHIN_MS` (the app's monitor), is used as its
    /// current use; the others are sampled by the resources check.
    pub rows: Vec<ServiceRow>,
    pub runner: &'a ProbeRunner,
    /// For `~/` in paths; the user's home when `None`.
    pub home: Option<PathBuf>,
    /// Receives each result as soon as it is known.
    pub progress: Option<mpsc::Sender<CheckResult>>,
    /// Services that have had a container (the store's memory): one
    /// without a container now is down, not "never deployed".
    pub ever_deployed: EverDeployed,
    /// How far apart the resources check samples CPU ([`CPU_WINDOW`]; the
    /// recovery wizard, which has just watched the containers start, uses
    /// a shorter one).
    pub cpu_window: Duration,
}

/// What a check measured besides its verdict.
enum Measured {
    Nothing,
    Probe(ProbeRun),
    Sampled(Vec<ServiceRow>),
}

fn service<'a>(stack: &'a Stack, name: Option<&str>) -> Option<&'a StackService> {
    stack
        .services
        .iter()
        .find(|s| Some(s.name.as_str()) == name)
}

fn probe_verdict(outcome: &ProbeOutcome, container: &str) -> Verdict {
    let conditions: Vec<String> = outcome
        .conditions
        .iter()
        .map(|c| {
            format!(
                "{} {} (saw {})",
                if c.success { "✓" } else { "✗" },
                c.condition,
                if c.observed.is_empty() {
                    "nothing"
                } else {
                    &c.observed
                }
            )
        })
        .collect();
    let mut evidence = conditions.join("; ");
    if let Some(e) = &outcome.error {
        evidence = if evidence.is_empty() {
            e.clone()
        } else {
            format!("{e}; {evidence}")
        };
    }
    if outcome.success {
        Verdict::pass(evidence)
    } else {
        let failing: Vec<&str> = outcome
            .conditions
            .iter()
            .filter(|c| !c.success)
            .map(|c| c.condition.as_str())
            .collect();
        let what = if failing.is_empty() {
            "It did not answer".to_string()
        } else {
            format!("Failing: {}", failing.join(", "))
        };
        Verdict::fail(
            evidence,
            format!("{what}. Look at its log (podman logs --tail 50 {container}) and at what it depends on."),
        )
    }
}

async fn run_check(
    spec: &CheckSpec,
    input: &VerifyInput<'_>,
    home: Option<&std::path::Path>,
) -> (Verdict, Measured) {
    let svc = service(input.stack, spec.service.as_deref());
    let row = svc.and_then(|s| find_container(input.stack, s, &input.rows));
    let container = || {
        svc.map(|s| container_name(input.stack, s, &input.rows))
            .unwrap_or_default()
    };
    let engine = input.engine.as_ref();
    // A service compose would not start (inactive profile, optional and
    // never deployed) is not checked: its checks are skipped, saying why.
    if let (Some(s), None, Ok(_)) = (svc, row, engine) {
        if let Absent::NotDeployed(why) = when_absent(input.stack, s, &input.ever_deployed) {
            return (Verdict::skipped(why), Measured::Nothing);
        }
    }
    match &spec.kind {
        CheckKind::EngineReachable => match engine {
            Ok(e) => (
                Verdict::pass(format!(
                    "{} ({}) answered; {} containers inspected",
                    e.endpoint(),
                    e.source(),
                    input.rows.len()
                )),
                Measured::Nothing,
            ),
            Err(why) => (
                Verdict::fail(why.to_string(), START_HINT.to_string()),
                Measured::Nothing,
            ),
        },
        CheckKind::ContainerRunning => {
            if engine.is_err() {
                return (
                    Verdict::skipped("container engine unreachable"),
                    Measured::Nothing,
                );
            }
            let name = container();
            let service = spec.service.clone().unwrap_or_default();
            let verdict = match row {
                None => Verdict::fail(
                    format!("no container named {name}"),
                    format!("Create it from the stack file: podman-compose up -d {service}"),
                ),
                Some(r) if r.is_running() => Verdict::pass(format!(
                    "{name} running for {}, HEALTHCHECK {}",
                    r.started_at_ms
                        .map(|t| human_duration_ms(now_ms() - t))
                        .unwrap_or_else(|| "?".into()),
                    r.health.as_str()
                )),
                Some(r) => Verdict::fail(
                    format!(
                        "{name} {}{}",
                        r.state.as_str(),
                        r.exit_code.map(|c| format!(" ({c})")).unwrap_or_default()
                    ),
                    format!("Start it: podman start {name}; if it stops again, read podman logs --tail 50 {name}"),
                ),
            };
            (verdict, Measured::Nothing)
        }
        CheckKind::Probe(probe) => {
            let started = Instant::now();
            let outcome = input.runner.run(probe, row).await;
            let run = ProbeRun {
                service: spec.service.clone().unwrap_or_default(),
                at_ms: now_ms(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                outcome,
            };
            (
                probe_verdict(&run.outcome, &container()),
                Measured::Probe(run),
            )
        }
        CheckKind::Telemetry(t) => (
            checks::telemetry(t, home, SystemTime::now()),
            Measured::Nothing,
        ),
        CheckKind::Resources(limits) => {
            let Ok(engine) = engine else {
                return (
                    Verdict::skipped("container engine unreachable"),
                    Measured::Nothing,
                );
            };
            // Leave room for the second sample to answer within the timeout.
            let budget = spec.timeout.saturating_sub(spec.timeout / 4);
            match measure(engine, input.stack, &input.rows, budget, input.cpu_window).await {
                Ok((measured, rows)) => (
                    checks::resources(&measured, limits),
                    Measured::Sampled(rows),
                ),
                Err(e) => (
                    Verdict::fail(
                        format!("cannot read resource use: {e}"),
                        START_HINT.to_string(),
                    ),
                    Measured::Nothing,
                ),
            }
        }
        CheckKind::DataInVolumes { targets } => match row {
            Some(r) => (checks::data_in_volumes(r, targets), Measured::Nothing),
            None if engine.is_err() => (
                Verdict::skipped("container engine unreachable"),
                Measured::Nothing,
            ),
            None => (
                Verdict::skipped(format!("no container named {}", container())),
                Measured::Nothing,
            ),
        },
    }
}

/// The resource use of the stack's running containers: their current usage
/// when `rows` carry it (sampled within `LIVE_USAGE_WITHIN_MS`), else two
/// samples `CPU_WINDOW` apart, all containers at once; when the engine is too
/// slow for a second sample within `budget`, the one sample's figure, which
/// is the average since the container started. Each says which it is.
/// Returns the measurements and `rows` with the new samples in them.
async fn measure(
    engine: &Engine,
    stack: &Stack,
    rows: &[ServiceRow],
    budget: Duration,
    window: Duration,
) -> Result<(Vec<Measurement>, Vec<ServiceRow>), EngineError> {
    let started = Instant::now();
    let now = now_ms();
    let mine: Vec<(String, &ServiceRow)> = stack
        .services
        .iter()
        .filter_map(|s| {
            find_container(stack, s, rows)
                .filter(|r| r.is_running())
                .map(|r| (s.name.clone(), r))
        })
        .collect();
    let live_age = |r: &ServiceRow| {
        r.usage
            .as_ref()
            .map(|u| now - u.sampled_at_ms)
            .filter(|age| (0..=LIVE_USAGE_WITHIN_MS).contains(age))
    };
    let mut to_sample: Vec<ServiceRow> = mine
        .iter()
        .filter(|(_, r)| live_age(r).is_none())
        .map(|(_, r)| (*r).clone())
        .collect();
    let mut basis: HashMap<ContainerId, CpuBasis> = HashMap::new();
    if !to_sample.is_empty() {
        let mut prev = HashMap::new();
        engine.sample(&mut to_sample, &mut prev).await?;
        let first_took = started.elapsed();
        let first_at: HashMap<ContainerId, i64> = to_sample
            .iter()
            .filter(|r| prev.contains_key(&r.id))
            .filter_map(|r| r.usage.as_ref().map(|u| (r.id.clone(), u.sampled_at_ms)))
            .collect();
        let second = if first_took + window + first_took <= budget {
            tokio::time::sleep(window).await;
            let mut again = to_sample.clone();
            match engine.sample(&mut again, &mut prev).await {
                Ok(_) => Some(again),
                // The first sample stands, as what it is.
                Err(_) => None,
            }
        } else {
            None
        };
        if let Some(again) = second {
            to_sample = again;
            for r in &to_sample {
                let window = r
                    .usage
                    .as_ref()
                    .zip(first_at.get(&r.id))
                    .map(|(u, t0)| u.sampled_at_ms - t0)
                    .filter(|ms| *ms > 0);
                if let Some(ms) = window {
                    basis.insert(r.id.clone(), CpuBasis::Window { ms });
                }
            }
        }
    }
    let sampled: HashSet<&ContainerId> = to_sample.iter().map(|r| &r.id).collect();
    let measured: Vec<Measurement> = mine
        .iter()
        .map(|(service, r)| {
            let row = to_sample.iter().find(|s| s.id == r.id).unwrap_or(r).clone();
            let cpu = match (sampled.contains(&r.id), live_age(r)) {
                (false, Some(age_ms)) => CpuBasis::Live { age_ms },
                _ => basis.get(&r.id).copied().unwrap_or(CpuBasis::SinceStart),
            };
            Measurement {
                service: service.clone(),
                row,
                cpu,
            }
        })
        .collect();
    let all = rows
        .iter()
        .map(|r| to_sample.iter().find(|s| s.id == r.id).unwrap_or(r).clone())
        .collect();
    Ok((measured, all))
}

/// A result fit to show and store: URLs and free text without passwords or
/// secret parameters.
fn redacted(mut r: CheckResult) -> CheckResult {
    r.name = redact::text(&r.name);
    r.evidence = redact::text(&r.evidence);
    r.hint = redact::text(&r.hint);
    r
}

fn redact_outcome(o: &mut ProbeOutcome) {
    o.error = o.error.as_deref().map(redact::text);
    for c in &mut o.conditions {
        c.condition = redact::text(&c.condition);
        c.observed = redact::text(&c.observed);
    }
}

/// Runs the stack's checklist.
pub async fn verify(input: VerifyInput<'_>) -> VerificationRun {
    let started_at_ms = now_ms();
    let started = Instant::now();
    let list = checklist(input.stack);
    let home = input
        .home
        .clone()
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()));
    let input_ref = &input;
    let home_ref = home.as_deref();
    let runs = list.iter().map(|spec| async move {
        let t = Instant::now();
        let (verdict, measured) =
            match tokio::time::timeout(spec.timeout, run_check(spec, input_ref, home_ref)).await {
                Ok(done) => done,
                Err(_) => (
                    Verdict::fail(
                        format!(
                            "no answer within {}",
                            human_duration_ms(
                                i64::try_from(spec.timeout.as_millis()).unwrap_or(i64::MAX)
                            )
                        ),
                        "It hangs: look at its log and its load.",
                    ),
                    Measured::Nothing,
                ),
            };
        let result = redacted(CheckResult {
            id: spec.id.clone(),
            name: spec.name.clone(),
            service: spec.service.clone(),
            required: spec.required,
            status: verdict.status,
            duration_ms: t.elapsed().as_secs_f64() * 1000.0,
            evidence: verdict.evidence,
            hint: verdict.hint,
        });
        if let Some(progress) = &input_ref.progress {
            let _ = progress.send(result.clone()).await;
        }
        (result, measured)
    });
    let done = join_all(runs).await;

    let mut results = Vec::with_capacity(done.len());
    let mut probe_runs = Vec::new();
    let mut services = input.rows.clone();
    for (result, measured) in done {
        match measured {
            Measured::Nothing => {}
            Measured::Probe(mut run) => {
                redact_outcome(&mut run.outcome);
                probe_runs.push(run);
            }
            Measured::Sampled(rows) => services = rows,
        }
        results.push(result);
    }
    let count = |s: CheckStatus| {
        u32::try_from(results.iter().filter(|r| r.status == s).count()).unwrap_or(u32::MAX)
    };
    let (passed, failed, skipped) = (
        count(CheckStatus::Pass),
        count(CheckStatus::Fail),
        count(CheckStatus::Skipped),
    );
    let required_failed = u32::try_from(
        results
            .iter()
            .filter(|r| r.required && r.status == CheckStatus::Fail)
            .count(),
    )
    .unwrap_or(u32::MAX);
    let breakdown = input.engine.is_ok().then(|| {
        let mut outcomes = outcomes_by_service(&probe_runs);
        for s in &input.stack.services {
            for p in s.probes.iter().filter(|p| p.kind == ProbeKind::Container) {
                let row = find_container(input.stack, s, &services);
                outcomes
                    .entry(s.name.clone())
                    .or_default()
                    .push(stackwarden_probes::container_outcome(p, row));
            }
        }
        stack_health(input.stack, &services, &outcomes, &input.ever_deployed)
    });
    VerificationRun {
        stack: input.stack.name.clone(),
        started_at_ms,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        results,
        passed,
        failed,
        skipped,
        required_failed,
        services,
        breakdown,
        probe_runs,
    }
}
