//! Runs a checklist: every check at once, each within its timeout, results
//! reported as they finish (for live progress) and kept in checklist order.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use futures_util::future::join_all;
use stackwarden_engine::endpoint::START_HINT;
use stackwarden_engine::Engine;
use stackwarden_health::{CheckResult, CheckStatus, ProbeOutcome, ProbeRun, VerificationRun};
use stackwarden_model::clock::now_ms;
use stackwarden_model::format::human_duration_ms;
use stackwarden_model::ServiceRow;
use stackwarden_probes::{
    container_name, find_container, outcomes_by_service, stack_health, ProbeRunner,
};
use stackwarden_stack::{ProbeKind, Stack, StackService};
use tokio::sync::mpsc;

use crate::checklist::{checklist, CheckKind, CheckSpec};
use crate::checks::{self, Verdict};

pub struct VerifyInput<'a> {
    pub stack: &'a Stack,
    /// The connected engine, or why there is none.
    pub engine: Result<Engine, String>,
    /// The engine's containers (usage is measured by the resources check).
    pub rows: Vec<ServiceRow>,
    pub runner: &'a ProbeRunner,
    /// For `~/` in paths; the user's home when `None`.
    pub home: Option<PathBuf>,
    /// Receives each result as soon as it is known.
    pub progress: Option<mpsc::Sender<CheckResult>>,
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
                Verdict::fail(why.clone(), START_HINT.to_string()),
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
            let mut rows = input.rows.clone();
            if let Err(e) = engine.sample(&mut rows, &mut HashMap::new()).await {
                return (
                    Verdict::fail(
                        format!("cannot read resource use: {e}"),
                        START_HINT.to_string(),
                    ),
                    Measured::Nothing,
                );
            }
            let mine: Vec<(String, ServiceRow)> = input
                .stack
                .services
                .iter()
                .filter_map(|s| {
                    find_container(input.stack, s, &rows)
                        .filter(|r| r.is_running())
                        .map(|r| (s.name.clone(), r.clone()))
                })
                .collect();
            (checks::resources(&mine, limits), Measured::Sampled(rows))
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
        let result = CheckResult {
            id: spec.id.clone(),
            name: spec.name.clone(),
            service: spec.service.clone(),
            required: spec.required,
            status: verdict.status,
            duration_ms: t.elapsed().as_secs_f64() * 1000.0,
            evidence: verdict.evidence,
            hint: verdict.hint,
        };
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
            Measured::Probe(run) => probe_runs.push(run),
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
        stack_health(input.stack, &services, &outcomes)
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
