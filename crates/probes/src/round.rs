//! One probe round over a whole stack: find each service's container, run
//! every probe at once, and turn the outcomes into the health breakdown.
//! Shared by `stackwarden health` and (next) the app's probe scheduler.

use std::collections::{BTreeSet, HashMap};

use futures_util::future::join_all;
use std::time::Instant;

use stackwarden_health::{breakdown, Absent, HealthBreakdown, ProbeOutcome, ProbeRun, ServiceSpec};
use stackwarden_model::clock::now_ms;
use stackwarden_model::ServiceRow;
use stackwarden_stack::{Stack, StackService};

use crate::ProbeRunner;

/// The containers of a stack service (see `StackService::is_container`):
/// its replicas, by compose's container number, then name.
pub fn find_containers<'a>(
    stack: &Stack,
    service: &StackService,
    rows: &'a [ServiceRow],
) -> Vec<&'a ServiceRow> {
    let mut found: Vec<&ServiceRow> = rows
        .iter()
        .filter(|r| {
            service.is_container(
                stack,
                &r.name,
                r.project.as_deref(),
                r.compose_service.as_deref(),
            )
        })
        .collect();
    found.sort_by(|a, b| (a.replica, &a.name).cmp(&(b.replica, &b.name)));
    found
}

/// The container probes check and actions name: the first running replica,
/// else the first.
pub fn find_container<'a>(
    stack: &Stack,
    service: &StackService,
    rows: &'a [ServiceRow],
) -> Option<&'a ServiceRow> {
    let found = find_containers(stack, service, rows);
    found
        .iter()
        .find(|r| r.is_running())
        .or(found.first())
        .copied()
}

/// The name of a stack service's container: the one found, else the name it
/// would have.
pub fn container_name(stack: &Stack, service: &StackService, rows: &[ServiceRow]) -> String {
    find_container(stack, service, rows)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| service.default_container_name(&stack.project))
}

/// Which services have had a container at some time (kept by the store),
/// as `(project, service)`: an optional service without a container is
/// "not deployed" only if it never had one.
pub type EverDeployed = BTreeSet<(String, String)>;

/// What a service without a container is. One whose profile is not active
/// is not deployed: switching the profile off is how its containers are
/// meant to go. Otherwise one that had a container and lost it is down
/// whatever its group; one of an optional group that never had one is not
/// deployed; a required one is down.
pub fn when_absent(stack: &Stack, service: &StackService, ever: &EverDeployed) -> Absent {
    if !service.profile_active {
        let profiles = service
            .profiles
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Absent::NotDeployed(format!("not deployed: profile {profiles} is not active"));
    }
    if ever.contains(&(stack.project.clone(), service.name.clone())) {
        return Absent::Down;
    }
    let required = stack
        .groups
        .iter()
        .any(|g| g.name == service.group && g.required);
    if required {
        Absent::Down
    } else {
        Absent::NotDeployed("not deployed (optional, never had a container)".to_string())
    }
}

/// The services of `stack` that have a container in `rows`.
pub fn deployed_services(stack: &Stack, rows: &[ServiceRow]) -> Vec<(String, String)> {
    stack
        .services
        .iter()
        .filter(|s| !find_containers(stack, s, rows).is_empty())
        .map(|s| (stack.project.clone(), s.name.clone()))
        .collect()
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

/// The breakdown of `stack` from container rows and probe outcomes; `ever`
/// tells a service that lost its container from one never deployed.
pub fn stack_health(
    stack: &Stack,
    rows: &[ServiceRow],
    outcomes: &HashMap<String, Vec<ProbeOutcome>>,
    ever: &EverDeployed,
) -> HealthBreakdown {
    let specs: Vec<ServiceSpec> = stack
        .services
        .iter()
        .map(|s| ServiceSpec {
            name: s.name.clone(),
            containers: find_containers(stack, s, rows)
                .into_iter()
                .map(|r| r.name.clone())
                .collect(),
            expected_container: s.default_container_name(&stack.project),
            group: s.group.clone(),
            when_absent: when_absent(stack, s, ever),
            replicas: s.replicas,
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
        let b = stack_health(&stack, &rows, &HashMap::new(), &EverDeployed::new());
        let absent = b
            .services
            .iter()
            .find(|s| s.service == "absent")
            .map(|s| s.reason.as_str());
        assert_eq!(absent, Some("no container named ai-absent-1"));
    }

    #[test]
    fn replicas_of_a_service_are_its_containers_in_number_order() {
        let stack = match parse(
            "services:\n  web:\n    image: x\n    deploy: {replicas: 3}\n",
            "/srv/Lab/compose.yaml",
        ) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            (stack.project.as_str(), stack.services[0].replicas),
            ("lab", 3)
        );
        let mut rows = vec![
            row("lab_web_10", Some("lab"), Some("web")),
            row("lab_web_2", Some("lab"), Some("web")),
            row("lab-web-1", Some("lab"), Some("web")),
            row("other_web_1", Some("other"), Some("web")),
        ];
        rows[0].replica = Some(10);
        rows[1].replica = Some(2);
        rows[2].replica = Some(1);
        let names: Vec<&str> = find_containers(&stack, &stack.services[0], &rows)
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names, ["lab-web-1", "lab_web_2", "lab_web_10"]);
        let b = stack_health(&stack, &rows, &HashMap::new(), &EverDeployed::new());
        assert_eq!(b.services[0].replicas.len(), 3);
    }

    #[test]
    fn absent_services_are_down_or_not_deployed_by_profile_group_and_history() {
        let text = "name: p\nx-stackwarden:\n  groups:\n    core: {required: true}\n    extra: {required: false}\nservices:\n  db: {image: x, x-stackwarden: {group: core}}\n  agent: {image: x, profiles: [agents], x-stackwarden: {group: core}}\n  tool: {image: x, x-stackwarden: {group: extra}}\n";
        let stack = match parse(text, "c.yaml") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let none = EverDeployed::new();
        let status = |ever: &EverDeployed| -> Vec<(String, String)> {
            stack_health(&stack, &[], &HashMap::new(), ever)
                .services
                .into_iter()
                .map(|s| (s.service, format!("{:?}", s.status)))
                .collect()
        };
        let want = |a: &str, d: &str, t: &str| -> Vec<(String, String)> {
            vec![
                ("agent".into(), a.into()),
                ("db".into(), d.into()),
                ("tool".into(), t.into()),
            ]
        };
        assert_eq!(status(&none), want("NotDeployed", "Down", "NotDeployed"));
        let lost: EverDeployed = [
            ("p".to_string(), "tool".to_string()),
            ("p".to_string(), "agent".to_string()),
        ]
        .into();
        assert_eq!(status(&lost), want("NotDeployed", "Down", "Down"));
        let elsewhere: EverDeployed = [("q".to_string(), "tool".to_string())].into();
        assert_eq!(
            status(&elsewhere),
            want("NotDeployed", "Down", "NotDeployed")
        );
    }

    #[test]
    fn the_built_in_stack_with_its_required_services_healthy_scores_100() {
        let stack = match stackwarden_stack::default_stack() {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let required: Vec<&StackService> = stack
            .services
            .iter()
            .filter(|s| stack.groups.iter().any(|g| g.name == s.group && g.required))
            .collect();
        assert!(required.len() >= 5, "the report's core and MCP services");
        let rows: Vec<ServiceRow> = required
            .iter()
            .map(|s| row(&s.default_container_name(&stack.project), None, None))
            .collect();
        let outcomes: HashMap<String, Vec<ProbeOutcome>> = required
            .iter()
            .map(|s| {
                let passing = s
                    .probes
                    .iter()
                    .map(|p| ProbeOutcome {
                        probe: p.name.clone(),
                        success: true,
                        conditions: Vec::new(),
                        error: None,
                    })
                    .collect();
                (s.name.clone(), passing)
            })
            .collect();
        let b = stack_health(&stack, &rows, &outcomes, &EverDeployed::new());
        assert!((b.overall - 100.0).abs() < 1e-9, "{}", b.formula);
        assert_eq!(b.level().exit_code(), 0);
        let not_deployed = b
            .services
            .iter()
            .filter(|s| s.status == stackwarden_health::ServiceStatus::NotDeployed)
            .count();
        assert_eq!(not_deployed, stack.services.len() - required.len());
        assert!(b.headline().starts_with("100% healthy"), "{}", b.headline());
    }
}
