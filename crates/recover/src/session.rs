//! A recovery from start to record, as the command line and the window
//! both run it: what the store remembers, the stack files read with their
//! blueprints, the preparation (diagnosis, plan, the data now) shown before
//! anything runs, and the finish (verification, the data after, compared)
//! recorded on the incident and the timeline.

use std::collections::BTreeSet;
use std::path::PathBuf;

use stackwarden_engine::Engine;
use stackwarden_health::VerificationRun;
use stackwarden_model::format::human_duration_ms;
use stackwarden_probes::{EverDeployed, ProbeRunner};
use stackwarden_stack::{
    blueprints, default_stack, load_files, parse_texts, Blueprints, LoadEnv, Stack, StackError,
    DEFAULT_STACK_NAME, DEFAULT_STACK_YAML,
};
use stackwarden_store::{ActionRecord, ActionSource, Store};

use crate::diagnose::{diagnose, Context, EngineSeen};
use crate::model::{Diagnosis, Fingerprint, Match, Plan, Recovery, StepOutcome, StepStatus};
use crate::plan::{plan, Tools};
use crate::{conclude, fingerprint, stack_rows};

/// The stack files (the built-in stack when none) and their blueprints.
/// The built-in stack's PostgreSQL password comes from the environment, as
/// compose would take it; without one the diagnosis still runs, and its
/// container is not created (never with a stand-in password).
pub fn load(files: &[PathBuf], env: &LoadEnv) -> Result<(Stack, Blueprints), StackError> {
    if files.is_empty() {
        let unset = env.var("POSTGRES_PASSWORD").is_none_or(str::is_empty);
        let mut env = env.clone();
        env.vars
            .entry("POSTGRES_PASSWORD".into())
            .or_insert_with(|| "unused".into());
        let stack = default_stack()?;
        let texts = vec![(
            DEFAULT_STACK_NAME.to_string(),
            DEFAULT_STACK_YAML.to_string(),
        )];
        let mut prints = blueprints(&texts, &env, &stack)?;
        if unset {
            for print in prints.services.values_mut() {
                if print
                    .environment
                    .iter()
                    .any(|(k, _)| k == "POSTGRES_PASSWORD")
                {
                    print.blocked.push(
                        "POSTGRES_PASSWORD is not set: compose needs it to create this container"
                            .into(),
                    );
                }
            }
        }
        return Ok((stack, prints));
    }
    let loaded = load_files(files, env)?;
    let prints = blueprints(&loaded.texts, env, &loaded.stack)?;
    Ok((loaded.stack, prints))
}

/// The blueprints of `files`, or none when they do not load (whoever
/// loaded the stack has said why).
pub fn quiet_blueprints(files: &[PathBuf], env: &LoadEnv) -> Blueprints {
    if files.is_empty() {
        return load(files, env).map(|(_, p)| p).unwrap_or_default();
    }
    load_files(files, env)
        .and_then(|l| parse_texts(&l.texts, env).and_then(|s| blueprints(&l.texts, env, &s)))
        .unwrap_or_default()
}

/// What the store remembers that a recovery uses.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    pub known_names: BTreeSet<String>,
    pub known_volumes: BTreeSet<String>,
    pub ever_deployed: EverDeployed,
    /// Newest first.
    pub fingerprints: Vec<Fingerprint>,
}

impl Memory {
    pub async fn read(store: &Store) -> Self {
        let fingerprints: Vec<Fingerprint> = store
            .fingerprints(20)
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|body| serde_json::from_str(body).ok())
            .collect();
        Self {
            known_names: store.container_names().await.unwrap_or_default(),
            known_volumes: fingerprint::volumes_seen(&fingerprints),
            ever_deployed: store.ever_deployed().await.unwrap_or_default(),
            fingerprints,
        }
    }

    pub fn context<'a>(
        &'a self,
        stack: &'a Stack,
        prints: &'a Blueprints,
        stack_problems: &'a [String],
        tools: &Tools,
    ) -> Context<'a> {
        Context {
            stack,
            blueprints: prints,
            known_names: &self.known_names,
            ever_deployed: &self.ever_deployed,
            known_volumes: &self.known_volumes,
            stack_problems,
            underscore_names: tools.underscore_names(),
        }
    }
}

/// Reads a probe's `password_env` from the process's environment.
pub fn env_password(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// What is shown before anything runs.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub diagnosis: Diagnosis,
    pub plan: Plan,
    /// The data now, with earlier readings standing in for what cannot be
    /// read now.
    pub before: Fingerprint,
    /// Only what was read now (kept as a baseline for later).
    pub read_now: Fingerprint,
}

/// Diagnoses, plans and fingerprints the stack on `engine`.
pub async fn prepare(
    ctx: &Context<'_>,
    engine: &Engine,
    tools: &Tools,
    earlier: &[Fingerprint],
) -> Result<Prepared, stackwarden_engine::EngineError> {
    let rows = stack_rows(engine, ctx.stack).await?;
    let (diagnosis, read_now) = tokio::join!(
        diagnose(ctx, EngineSeen::Connected(engine), &rows),
        fingerprint::take(ctx.stack, ctx.blueprints, Some(engine), &env_password, None),
    );
    let plan = plan(&diagnosis, ctx.stack, ctx.blueprints, tools);
    let mut before = read_now.clone();
    for e in earlier {
        fingerprint::fill_from(&mut before, e);
    }
    Ok(Prepared {
        diagnosis,
        plan,
        before,
        read_now,
    })
}

/// The plan when no engine answers: start it.
pub async fn prepare_unreachable(
    ctx: &Context<'_>,
    attempts: &[stackwarden_model::EndpointAttempt],
    tools: &Tools,
) -> Prepared {
    let diagnosis = diagnose(ctx, EngineSeen::Unreachable(attempts), &[]).await;
    let plan = plan(&diagnosis, ctx.stack, ctx.blueprints, tools);
    Prepared {
        diagnosis,
        plan,
        before: Fingerprint::default(),
        read_now: Fingerprint::default(),
    }
}

/// The CPU window of the verification after a recovery: the containers
/// just started under the wizard's eyes; a quarter second of CPU is
/// enough to see one spinning.
pub const RECOVERY_CPU_WINDOW: std::time::Duration = std::time::Duration::from_millis(250);

/// Where backups go: `backups/` in the data folder.
pub fn backup_dir() -> PathBuf {
    stackwarden_model::Config::data_dir().map_or_else(
        || PathBuf::from("stackwarden-backups"),
        |d| d.join("backups"),
    )
}

/// Where a recovery is recorded, and as whose action.
pub struct RecordIn<'a> {
    pub store: Option<&'a Store>,
    pub by: ActionSource,
}

/// Verifies, fingerprints the data after, concludes and records it
/// ([`record`]); the recovery and each problem recording it.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    stack: &Stack,
    prints: &Blueprints,
    engine: &Engine,
    ever_deployed: &EverDeployed,
    started_ms: i64,
    prepared: Prepared,
    outcomes: Vec<StepOutcome>,
    into: RecordIn<'_>,
) -> (Recovery, Vec<String>) {
    let read_now = prepared.read_now.clone();
    let rows = stack_rows(engine, stack).await.unwrap_or_default();
    let runner = ProbeRunner::new();
    let verify = stackwarden_verify::verify(stackwarden_verify::VerifyInput {
        stack,
        engine: Ok(engine.clone()),
        rows,
        runner: &runner,
        home: None,
        progress: None,
        ever_deployed: ever_deployed.clone(),
        cpu_window: RECOVERY_CPU_WINDOW,
    });
    let after = fingerprint::take(stack, prints, Some(engine), &env_password, None);
    let (verification, after): (VerificationRun, Fingerprint) = tokio::join!(verify, after);
    let mut recovery = conclude(
        started_ms,
        prepared.diagnosis,
        prepared.plan,
        outcomes,
        prepared.before,
        after,
        Some(verification),
    );
    let problems = match into.store {
        Some(store) => record(store, &read_now, &mut recovery, into.by).await,
        None => Vec::new(),
    };
    (recovery, problems)
}

/// Keeps a fingerprint that read something, as the baseline of a later
/// recovery.
pub async fn save_fingerprint(store: &Store, fp: &Fingerprint) -> Result<(), String> {
    if !fp.items.iter().any(|i| i.value.is_some()) {
        return Ok(());
    }
    let body = serde_json::to_string(fp).map_err(|e| e.to_string())?;
    store
        .save_fingerprint(fp.taken_at_ms, &body)
        .await
        .map_err(|e| e.to_string())
}

/// Takes and keeps the data's fingerprint as the baseline a later
/// recovery compares with when it cannot read a database itself (after a
/// verification, and hourly while the stack is healthy).
pub async fn keep_baseline(
    store: &Store,
    stack: &Stack,
    files: &[PathBuf],
    env: &LoadEnv,
    engine: Option<&Engine>,
) -> Result<(), String> {
    let prints = quiet_blueprints(files, env);
    let fp = fingerprint::take(stack, &prints, engine, &env_password, None).await;
    save_fingerprint(store, &fp).await
}

/// Records the recovery (noting the incident it lands on), its
/// fingerprints and its line on the timeline; each problem as text.
pub async fn record(
    store: &Store,
    read_now: &Fingerprint,
    recovery: &mut Recovery,
    by: ActionSource,
) -> Vec<String> {
    let mut problems = Vec::new();
    // Every recovery lands on an incident: the watch's open one, else one
    // of its own from the diagnosis (the command line without a watch).
    let on = match store.newest_open_incident().await {
        Ok(Some(open)) => {
            close_own_incident(store, open, recovery).await;
            Some(open)
        }
        Ok(None) => match own_incident(recovery) {
            Some(incident) => match store.save_incident(None, &incident).await {
                Ok(id) => Some(id),
                Err(e) => {
                    problems.push(format!("the recovery's incident was not stored: {e}"));
                    None
                }
            },
            None => None,
        },
        Err(e) => {
            problems.push(format!("cannot read the open incidents: {e}"));
            None
        }
    };
    for fp in [read_now, &recovery.after] {
        if let Err(e) = save_fingerprint(store, fp).await {
            problems.push(format!("the data fingerprint was not stored: {e}"));
        }
    }
    match serde_json::to_string(recovery) {
        Ok(body) => {
            match store
                .record_recovery(
                    on,
                    recovery.started_ms,
                    recovery.finished_ms,
                    recovery.ok,
                    &body,
                )
                .await
            {
                Ok(stored) => recovery.incident_id = stored.incident_id,
                Err(e) => problems.push(format!("the recovery was not stored: {e}")),
            }
        }
        Err(e) => problems.push(format!("the recovery was not stored: {e}")),
    }
    let action = ActionRecord {
        at_ms: recovery.finished_ms,
        source: by.as_str().to_string(),
        action: "recover".into(),
        service: None,
        ok: recovery.ok,
        result: summary_line(recovery),
    };
    if let Err(e) = store.record_action(&action).await {
        problems.push(format!("the recovery was not noted on the timeline: {e}"));
    }
    problems
}

/// Marks the wizard's own open incident (from an earlier recovery that
/// did not finish it) closed when this recovery brought the stack back; a
/// watch's incidents are its tracker's to close.
async fn close_own_incident(store: &Store, id: i64, recovery: &Recovery) {
    if !recovery.ok {
        return;
    }
    let Ok(Some(stored)) = store.incident(id).await else {
        return;
    };
    let mut incident = stored.incident;
    if !incident.cause.summary.ends_with(OWN_INCIDENT_MARK) {
        return;
    }
    incident.closed_at_ms = Some(recovery.finished_ms);
    for a in &mut incident.affected {
        a.status = stackwarden_health::ServiceStatus::Healthy;
        a.recovered_at_ms.get_or_insert(recovery.finished_ms);
    }
    if let Err(e) = store.save_incident(Some(id), &incident).await {
        tracing::warn!("cannot close incident {id}: {e}");
    }
}

/// How the wizard's own incidents end their cause line.
const OWN_INCIDENT_MARK: &str = "found by the recovery wizard";

/// An incident for a recovery no open incident covers: the services the
/// diagnosis found needing a step, since the diagnosis; closed when the
/// recovery brought them back. `None` when nothing needed doing.
pub fn own_incident(r: &Recovery) -> Option<stackwarden_incidents::Incident> {
    use stackwarden_health::ServiceStatus;
    use stackwarden_incidents::{Affected, Cause, Incident};
    // Services a step did something to (a wait alone repairs nothing).
    let acted: Vec<&str> = r
        .plan
        .steps
        .iter()
        .filter(|s| s.kind != crate::StepKind::Wait)
        .filter(|s| {
            r.outcomes
                .iter()
                .any(|o| o.step == s.id && o.status == StepStatus::Done)
        })
        .filter_map(|s| s.service.as_deref())
        .collect();
    let broken: Vec<&crate::ServiceState> = r
        .diagnosis
        .services
        .iter()
        .filter(|s| acted.contains(&s.service.as_str()))
        .collect();
    let first = broken.iter().find(|s| s.required).or(broken.first())?;
    let status = |s: &crate::ServiceState| match s.condition {
        crate::ServiceCondition::Unhealthy | crate::ServiceCondition::CrashLooping => {
            ServiceStatus::Unhealthy
        }
        crate::ServiceCondition::Starting | crate::ServiceCondition::Outdated => {
            ServiceStatus::Degraded
        }
        _ => ServiceStatus::Down,
    };
    let at = r.diagnosis.taken_at_ms;
    let closed = r.ok.then_some(r.finished_ms);
    Some(Incident {
        key: 0,
        opened_at_ms: at,
        closed_at_ms: closed,
        affected: broken
            .iter()
            .map(|s| Affected {
                service: s.service.clone(),
                failed_at_ms: at,
                worst: status(s),
                status: if r.ok {
                    ServiceStatus::Healthy
                } else {
                    status(s)
                },
                reason: format!("found {} by the recovery wizard", s.condition.word()),
                recovered_at_ms: closed,
                after: None,
            })
            .collect(),
        cause: Cause {
            service: Some(first.service.clone()),
            summary: format!(
                "{} {}: {OWN_INCIDENT_MARK}",
                first.service,
                first.condition.word()
            ),
        },
        engine_lost_at_ms: None,
        engine_back_at_ms: None,
        from_engine_events: false,
    })
}

/// The recovery in one line, for the timeline.
pub fn summary_line(r: &Recovery) -> String {
    let done = r
        .outcomes
        .iter()
        .filter(|o| o.status == StepStatus::Done)
        .count();
    let count = |m: Match| r.compared.iter().filter(|c| c.verdict == m).count();
    if r.ok {
        let unknown = match count(Match::Unknown) {
            0 => String::new(),
            n => format!(", {n} without an earlier reading to compare"),
        };
        format!(
            "recovered in {}: {done} step(s), verified, {} data value(s) unchanged{unknown}",
            seconds(u64::try_from(r.finished_ms - r.started_ms).unwrap_or(0)),
            count(Match::Same)
        )
    } else {
        let differs = match count(Match::Differs) {
            0 => String::new(),
            n => format!(" ({n} data value(s) differ)"),
        };
        format!(
            "not recovered: {}{differs}",
            r.problems.first().cloned().unwrap_or_default()
        )
    }
}

/// `850` as `0.9 s`; a minute and more in words.
pub fn seconds(ms: u64) -> String {
    if ms >= 60_000 {
        return human_duration_ms(i64::try_from(ms).unwrap_or(i64::MAX));
    }
    format!("{:.1} s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recovery that created `db` and only waited for `cache`.
    fn recovery(ok: bool) -> Recovery {
        let state = |service: &str, condition: &str| {
            serde_json::json!({"service": service, "required": true, "container": format!("p_{service}_1"),
                "container_id": null, "condition": condition, "image": null, "image_present": true, "unsaved": []})
        };
        let step = |id: u32, kind: &str, service: &str| {
            serde_json::json!({"id": id, "kind": kind, "service": service, "title": "t", "why": "w",
                "expected_ms": 1, "loss": null, "after": [], "target": "x", "command": []})
        };
        serde_json::from_value(serde_json::json!({
            "started_ms": 1_000, "finished_ms": 5_000,
            "diagnosis": {"taken_at_ms": 900, "engine": {"reachable": true, "endpoint": null, "tried": [], "podman": true},
                "findings": [], "services": [state("db", "missing"), state("cache", "starting")],
                "missing_networks": [], "missing_volumes": []},
            "plan": {"steps": [step(1, "create", "db"), step(2, "wait", "db"), step(3, "wait", "cache")],
                "blockers": [], "data_lost": [], "expected_ms": 3},
            "outcomes": [{"step": 1, "status": "done", "ms": 1, "note": ""},
                         {"step": 2, "status": if ok { "done" } else { "failed" }, "ms": 1, "note": ""},
                         {"step": 3, "status": "done", "ms": 1, "note": ""}],
            "before": {"taken_at_ms": 0, "items": []}, "after": {"taken_at_ms": 0, "items": []},
            "compared": [], "verification": null, "ok": ok, "problems": []
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_wizards_own_incident_names_what_a_step_acted_on() {
        let incident = own_incident(&recovery(true)).unwrap_or_else(|| panic!("an incident"));
        let affected: Vec<&str> = incident
            .affected
            .iter()
            .map(|a| a.service.as_str())
            .collect();
        assert_eq!(affected, vec!["db"], "a wait alone repairs nothing");
        assert_eq!(incident.opened_at_ms, 900);
        assert_eq!(incident.closed_at_ms, Some(5_000));
        assert!(incident.cause.summary.ends_with(OWN_INCIDENT_MARK));
        let open = own_incident(&recovery(false)).unwrap_or_else(|| panic!("an incident"));
        assert_eq!(open.closed_at_ms, None);
        let mut idle = recovery(true);
        idle.outcomes.retain(|o| o.step != 1);
        assert!(
            own_incident(&idle).is_none(),
            "nothing acted on: no incident"
        );
    }

    #[tokio::test]
    async fn a_later_successful_recovery_closes_the_wizards_open_incident() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let retention = stackwarden_store::Retention {
            max_age: std::time::Duration::from_secs(3600),
            max_per_container: 10,
        };
        let store = Store::open(dir.path(), retention)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut failed = recovery(false);
        let problems = record(
            &store,
            &Fingerprint::default(),
            &mut failed,
            ActionSource::Cli,
        )
        .await;
        assert!(problems.is_empty(), "{problems:?}");
        let id = failed
            .incident_id
            .unwrap_or_else(|| panic!("on its own incident"));
        assert_eq!(store.newest_open_incident().await.ok().flatten(), Some(id));
        let mut fixed = recovery(true);
        record(
            &store,
            &Fingerprint::default(),
            &mut fixed,
            ActionSource::Cli,
        )
        .await;
        assert_eq!(fixed.incident_id, Some(id), "the same incident");
        assert_eq!(
            store.newest_open_incident().await.ok().flatten(),
            None,
            "closed"
        );
    }

    #[test]
    fn the_built_in_postgres_is_never_created_with_the_stand_in_password() {
        let (_, prints) = load(&[], &LoadEnv::default()).unwrap_or_else(|e| panic!("{e}"));
        let blocked: Vec<&str> = prints
            .services
            .values()
            .filter(|b| !b.blocked.is_empty())
            .map(|b| b.service.as_str())
            .collect();
        assert!(!blocked.is_empty(), "{prints:?}");
        let env = LoadEnv::from_pairs(&[("POSTGRES_PASSWORD", "s3cret")]);
        let (_, prints) = load(&[], &env).unwrap_or_else(|e| panic!("{e}"));
        assert!(prints.services.values().all(|b| b.blocked.is_empty()));
    }
}
