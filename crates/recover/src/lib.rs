//! The guided recovery wizard, without a window: from a broken stack to a
//! verified one, with nothing lost. The user's report spent half an hour
//! by hand after `podman system reset`: recreate the containers, wait for
//! images, check the data survived, check every health endpoint, write it
//! up. This crate does that work in seven steps, for the command line
//! (`stackwarden recover`) and the window alike:
//!
//! 1. [`diagnose`]: what is wrong, each finding with its evidence;
//! 2. [`plan`]: ordered steps from `depends_on`, each with why, how long
//!    and what it could lose;
//! 3. guard: destructive steps carry their loss and backups, and run only
//!    when confirmed on their own ([`execute`]);
//! 4. [`fingerprint::take`] before: rows, points, keys, sizes, lines;
//! 5. [`execute`]: act, with [`Progress`] for every step;
//! 6. verify: the checklist and the fingerprint after, compared;
//! 7. [`conclude`]: the [`Recovery`], recorded on the incident.

mod backup;
mod create;
mod diagnose;
mod execute;
pub mod fingerprint;
mod host_ports;
mod local;
mod model;
mod plan;
pub mod session;
pub mod tools;

pub use backup::{archive, backup_path, BackupFile};
pub use create::{compose_labels, container_body, Names};
pub use diagnose::{
    condition, container_name, diagnose, free_bytes, same_image, Context, EngineSeen,
    LOW_FREE_BYTES, MIN_FREE_BYTES,
};
pub use execute::{execute, exit_status, resolve_names, CommandFuture, Commands, Execution};
pub use host_ports::{held, Holder};
pub use local::LocalCommands;
pub use model::*;
pub use plan::{dependency_order, plan, Tools};

use stackwarden_engine::{Engine, ListedContainer};
use stackwarden_health::{CheckStatus, VerificationRun};
use stackwarden_model::ServiceRow;
use stackwarden_stack::Stack;

/// The stack's containers among everything the engine lists.
pub async fn stack_rows(
    engine: &Engine,
    stack: &Stack,
) -> Result<Vec<ServiceRow>, stackwarden_engine::EngineError> {
    let listed: Vec<ListedContainer> = engine
        .list_named()
        .await?
        .into_iter()
        .filter(|c| {
            stack
                .services
                .iter()
                .any(|s| s.is_container(stack, &c.name, c.project.as_deref(), c.service.as_deref()))
        })
        .collect();
    // A container that cannot be inspected (Podman's compatible inspect
    // passes its own `stopped` state for a moment) keeps its listed name
    // and labels, so it stays the stack's.
    engine.inspect_listed(&listed).await
}

/// The recovery's record: the steps' outcomes, the fingerprints compared
/// and the verification. It is `ok` when every step was done, the
/// verification passed and no value that must stay the same differs.
#[allow(clippy::too_many_arguments)]
pub fn conclude(
    started_ms: i64,
    diagnosis: Diagnosis,
    plan: Plan,
    outcomes: Vec<StepOutcome>,
    before: Fingerprint,
    after: Fingerprint,
    verification: Option<VerificationRun>,
) -> Recovery {
    let compared = fingerprint::compare(&before, &after);
    let mut problems = Vec::new();
    for lost in &plan.data_lost {
        problems.push(format!("data lost before the recovery: {}", lost.title));
    }
    for blocker in &plan.blockers {
        problems.push(format!("blocked: {} ({})", blocker.title, blocker.evidence));
    }
    for outcome in &outcomes {
        let title = plan
            .steps
            .iter()
            .find(|s| s.id == outcome.step)
            .map_or("a step", |s| s.title.as_str());
        match outcome.status {
            StepStatus::Failed => problems.push(format!(
                "step {} failed: {title}: {}",
                outcome.step, outcome.note
            )),
            StepStatus::NotRun if plan.blockers.is_empty() => {
                problems.push(format!("step {} not run: {title}", outcome.step));
            }
            _ => {}
        }
    }
    for item in compared.iter().filter(|c| c.verdict == Match::Differs) {
        problems.push(format!(
            "data differs: {} {} before, {} after",
            item.label, item.before, item.after
        ));
    }
    match &verification {
        Some(run) => {
            for r in run
                .results
                .iter()
                .filter(|r| r.required && r.status == CheckStatus::Fail)
            {
                problems.push(format!("verification: {} failed: {}", r.name, r.evidence));
            }
        }
        None => problems.push("not verified: no engine".into()),
    }
    Recovery {
        started_ms,
        finished_ms: stackwarden_model::clock::now_ms(),
        diagnosis,
        plan,
        outcomes,
        before,
        after,
        compared,
        ok: problems.is_empty(),
        verification,
        problems,
        incident_id: None,
    }
}
