//! One probe round over a whole stack: find each service's container, run
//! every probe at once, and turn the outcomes into the health breakdown.
//! Shared by `stackwarden health` and (next) the app's probe scheduler.

use std::collections::HashMap;

use futures_util::future::join_all;
use std::time::Instant;

use stackwarden_health::{breakdown, HealthBreakdown, ProbeOutcome, ProbeRun, ServiceSpec};
use stackwarden_model::clock::now_ms;
use stackwarden_model::ServiceRow;
use stackwarden_stack::{Stack, StackService};

use crate::ProbeRunner;

/// The container of a stack service (see `StackService::is_container`).
pub fn find_container<'a>(
    stack: &Stack,
    service: &StackService,
    rows: &'a [ServiceRow],
) -> Option<&'a ServiceRow> {
    rows.iter().find(|r| {
        service.is_container(
            &stack.name,
            &r.name,
            r.project.as_deref(),
            r.compose_service.as_deref(),
        )
    })
}

/// The name of a stack service's container: the one found, else the name it
/// would have.
pub fn container_name(stack: &Stack, service: &StackService, rows: &[ServiceRow]) -> String {
    find_container(stack, service, rows)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| service.default_container_name(&stack.name))
}

/// Runs every probe of every service concurrently, each timed like the
/// app's scheduler times it; runs come back in stack-file order.
pub async fn probe_round(
    runner: &ProbeRunner,
    stack: &Stack,
    rows: &[ServiceRow],
) -> Vec<ProbeRun> {
    let runs = stack.services.iter().flat_map(|service| {
        let row = find_container(stack, service, rows);
        service.probes.iter().map(move |p| async move {
            let started = Instant::now();
            let outcome = runner.run(p, row).await;
            ProbeRun {
                service: service.name.clone(),
                at_ms: now_ms(),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                outcome,
            }
        })
    });
    join_all(runs).await
}

/// Each service's outcomes, in the order of `runs`.
pub fn outcomes_by_service(runs: &[ProbeRun]) -> HashMap<String, Vec<ProbeOutcome>> {
    let mut out: HashMap<String, Vec<ProbeOutcome>> = HashMap::new();
    for run in runs {
        out.entry(run.service.clone())
            .or_default()
            .push(run.outcome.clone());
    }
    out
}

/// The breakdown of `stack` from container rows and probe outcomes.
pub fn stack_health(
    stack: &Stack,
    rows: &[ServiceRow],
    outcomes: &HashMap<String, Vec<ProbeOutcome>>,
) -> HealthBreakdown {
    let specs: Vec<ServiceSpec> = stack
        .services
        .iter()
        .map(|s| ServiceSpec {
            name: s.name.clone(),
            container: container_name(stack, s, rows),
            group: s.group.clone(),
        })
        .collect();
    breakdown(&stack.groups, &specs, rows, outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::{ContainerState, HealthState};
    use stackwarden_stack::parse;

    fn row(name: &str, project: Option<&str>, service: Option<&str>) -> ServiceRow {
        let mut r =
            stackwarden_model::testing::row(name, ContainerState::Running, HealthState::None);
        r.project = project.map(Into::into);
        r.compose_service = service.map(Into::into);
        r
    }

    #[test]
    fn containers_are_found_by_name_or_compose_labels() {
        let stack = match parse(
            "name: ai\nservices:\n  named:\n    image: x\n    container_name: my-db\n  labelled:\n    image: y\n  absent:\n    image: z\n",
            "c.yaml",
        ) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let rows = vec![
            row("my-db", None, None),
            row("ai-labelled-1", Some("ai"), Some("labelled")),
            row("other-labelled-1", Some("other"), Some("labelled")),
        ];
        let found: Vec<Option<&str>> = stack
            .services
            .iter()
            .map(|s| find_container(&stack, s, &rows).map(|r| r.name.as_str()))
            .collect();
        // Services are kept in file-name order: absent, labelled, named.
        assert_eq!(found, [None, Some("ai-labelled-1"), Some("my-db")]);
        let b = stack_health(&stack, &rows, &HashMap::new());
        let absent = b
            .services
            .iter()
            .find(|s| s.service == "absent")
            .map(|s| s.reason.as_str());
        assert_eq!(absent, Some("no container named ai-absent-1"));
    }
}
