use super::*;
use crate::model::{EngineFinding, ServiceState};
use stackwarden_stack::{blueprints, parse_texts, LoadEnv};

const STACK: &str = r#"
name: ai
services:
  db:
    image: localhost/db
    volumes: [pgdata:/data]
  cache:
    image: localhost/cache
  app:
    image: localhost/app
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started}
volumes: {pgdata: {}}
"#;

fn stack_and_prints(text: &str) -> (Stack, Blueprints) {
    let texts = vec![("/srv/ai/compose.yaml".to_string(), text.to_string())];
    let env = LoadEnv::default();
    let stack = parse_texts(&texts, &env).expect("stack");
    let prints = blueprints(&texts, &env, &stack).expect("blueprints");
    (stack, prints)
}

fn state(service: &str, condition: ServiceCondition) -> ServiceState {
    ServiceState {
        service: service.into(),
        required: true,
        container: format!("ai-{service}-1"),
        container_id: (condition != ServiceCondition::Missing).then(|| format!("id-{service}")),
        condition,
        image: Some(format!("localhost/{service}")),
        image_present: true,
        unsaved: Vec::new(),
    }
}

fn diagnosis(services: Vec<ServiceState>) -> Diagnosis {
    Diagnosis {
        taken_at_ms: 0,
        engine: EngineFinding {
            reachable: true,
            endpoint: Some("unix:///run/podman/podman.sock".into()),
            tried: Vec::new(),
            podman: true,
        },
        findings: Vec::new(),
        services,
        missing_networks: vec![("ai_default".into(), "default".into())],
        missing_volumes: Vec::new(),
        lost_volumes: Vec::new(),
        project: "ai".into(),
    }
}

fn tools() -> Tools {
    Tools {
        engine_start: Some(vec!["podman".into()]),
        engine_hint: String::new(),
        compose: Some(vec!["podman-compose".into()]),
    }
}

fn step<'p>(plan: &'p Plan, kind: StepKind, service: &str) -> &'p Step {
    plan.steps
        .iter()
        .find(|s| s.kind == kind && s.service.as_deref() == Some(service))
        .unwrap_or_else(|| panic!("no {kind:?} step for {service}: {plan:#?}"))
}

#[test]
fn dependents_wait_for_their_dependencies_conditions() {
    let (stack, prints) = stack_and_prints(STACK);
    let d = diagnosis(vec![
        state("db", ServiceCondition::Missing),
        state("cache", ServiceCondition::Stopped),
        state("app", ServiceCondition::Missing),
    ]);
    let plan = plan(&d, &stack, &prints, &tools());
    let network = plan.steps[0].id;
    assert_eq!(plan.steps[0].kind, StepKind::CreateNetwork);
    let db_create = step(&plan, StepKind::Create, "db");
    assert_eq!(db_create.after, vec![network]);
    let db_wait = step(&plan, StepKind::Wait, "db");
    let cache_start = step(&plan, StepKind::Start, "cache");
    let app = step(&plan, StepKind::Create, "app");
    // service_healthy waits for db's wait, service_started for cache's start.
    assert!(app.after.contains(&db_wait.id), "{app:?}");
    assert!(app.after.contains(&cache_start.id), "{app:?}");
    assert!(!app.after.contains(&step(&plan, StepKind::Wait, "cache").id));
    assert!(plan.destructive().next().is_none());
    assert!(plan.expected_ms > 0);
}

#[test]
fn a_healthy_stack_needs_no_step() {
    let (stack, prints) = stack_and_prints(STACK);
    let mut d = diagnosis(vec![
        state("db", ServiceCondition::Healthy),
        state("cache", ServiceCondition::Running),
        state("app", ServiceCondition::Healthy),
    ]);
    d.missing_networks.clear();
    assert!(plan(&d, &stack, &prints, &tools()).is_empty());
}

#[test]
fn replacing_a_container_with_unsaved_data_is_destructive_with_its_backups() {
    let (stack, prints) = stack_and_prints(STACK);
    let mut db = state("db", ServiceCondition::Outdated);
    db.unsaved = vec![
        "A /srv/notes".into(),
        "C /srv/notes/today.txt".into(),
        "D /opt/x".into(),
    ];
    let d = diagnosis(vec![
        db,
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Healthy),
    ]);
    let plan = plan(&d, &stack, &prints, &tools());
    let replace = step(&plan, StepKind::Replace, "db");
    let loss = replace.loss.as_ref().expect("destructive");
    assert_eq!(loss.paths.len(), 3);
    assert_eq!(loss.backups.len(), 1);
    assert_eq!(loss.backups[0].path, "/srv");
    assert_eq!(loss.backups[0].container_id, "id-db");
    // Without unsaved data, the same step loses nothing.
    let mut clean = state("db", ServiceCondition::Outdated);
    clean.unsaved.clear();
    let d = diagnosis(vec![
        clean,
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Healthy),
    ]);
    let plan2 = super::plan(&d, &stack, &prints, &tools());
    assert!(step(&plan2, StepKind::Replace, "db").loss.is_none());
}

#[test]
fn keys_outside_the_subset_go_to_the_compose_tool_or_block() {
    let text = STACK.replace(
        "    image: localhost/cache\n",
        "    image: localhost/cache\n    shm_size: 1g\n",
    );
    let (stack, prints) = stack_and_prints(&text);
    let d = diagnosis(vec![
        state("db", ServiceCondition::Healthy),
        state("cache", ServiceCondition::Missing),
        state("app", ServiceCondition::Healthy),
    ]);
    let plan = plan(&d, &stack, &prints, &tools());
    let compose = step(&plan, StepKind::Compose, "cache");
    assert_eq!(
        compose.command,
        vec![
            "podman-compose",
            "-p",
            "ai",
            "-f",
            "/srv/ai/compose.yaml",
            "up",
            "-d",
            "--no-deps",
            "--no-recreate",
            "cache"
        ]
    );
    assert!(compose.why.contains("`shm_size`"), "{}", compose.why);
    let none = Tools {
        compose: None,
        ..tools()
    };
    let blocked = super::plan(&d, &stack, &prints, &none);
    assert!(blocked
        .blockers
        .iter()
        .any(|b| b.title.contains("compose tool")));
}

#[test]
fn no_engine_plans_only_its_start_or_says_what_to_run() {
    let (stack, prints) = stack_and_prints(STACK);
    let mut d = diagnosis(Vec::new());
    d.engine.reachable = false;
    let p = plan(&d, &stack, &prints, &tools());
    assert_eq!(p.steps.len(), 1);
    assert_eq!(p.steps[0].kind, StepKind::StartEngine);
    let docker = Tools {
        engine_start: None,
        engine_hint: "sudo systemctl start docker".into(),
        compose: None,
    };
    let p = plan(&d, &stack, &prints, &docker);
    assert!(p.steps.is_empty());
    assert_eq!(p.blockers[0].hint, "sudo systemctl start docker");
}

#[test]
fn a_missing_image_is_pulled_before_the_container_is_created() {
    let (stack, prints) = stack_and_prints(STACK);
    let mut db = state("db", ServiceCondition::Missing);
    db.image_present = false;
    let d = diagnosis(vec![
        db,
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Healthy),
    ]);
    let plan = plan(&d, &stack, &prints, &tools());
    let pull = step(&plan, StepKind::Pull, "db");
    assert_eq!(pull.target, "localhost/db");
    assert!(step(&plan, StepKind::Create, "db").after.contains(&pull.id));
}

#[test]
fn a_starting_dependency_is_waited_for_before_what_needs_it_healthy() {
    let (stack, prints) = stack_and_prints(STACK);
    let d = diagnosis(vec![
        state("db", ServiceCondition::Starting),
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Missing),
    ]);
    let plan = plan(&d, &stack, &prints, &tools());
    let wait = step(&plan, StepKind::Wait, "db");
    assert!(wait.after.is_empty());
    assert!(step(&plan, StepKind::Create, "app")
        .after
        .contains(&wait.id));
}

#[test]
fn a_gone_volume_is_recreated_only_on_its_own_confirmation() {
    let (stack, prints) = stack_and_prints(STACK);
    let mut d = diagnosis(vec![
        state("db", ServiceCondition::Missing),
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Healthy),
    ]);
    d.missing_volumes = vec![("ai_pgdata".into(), "pgdata".into())];
    d.lost_volumes = vec![("ai_pgdata".into(), "db".into())];
    let plan = plan(&d, &stack, &prints, &tools());
    let create = step(&plan, StepKind::CreateVolume, "db");
    assert!(
        create
            .loss
            .as_ref()
            .is_some_and(|l| l.summary.contains("gone")),
        "{create:?}"
    );
    assert!(step(&plan, StepKind::Create, "db")
        .after
        .contains(&create.id));
}

#[test]
fn a_replaced_anonymous_volume_is_backed_up_at_its_mount() {
    let (stack, prints) = stack_and_prints(STACK);
    let mut db = state("db", ServiceCondition::Outdated);
    db.unsaved = vec!["V /var/lib/postgresql/data (anonymous volume 0123456789ab, left behind: the new container starts with an empty one)".into()];
    let d = diagnosis(vec![
        db,
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Healthy),
    ]);
    let plan = plan(&d, &stack, &prints, &tools());
    let loss = step(&plan, StepKind::Replace, "db")
        .loss
        .clone()
        .expect("destructive");
    assert_eq!(loss.backups[0].path, "/var/lib/postgresql/data");
}

#[test]
fn a_handed_over_replacement_is_guarded_too_and_a_blocked_service_blocks() {
    let text = STACK.replace(
        "    image: localhost/cache\n",
        "    image: localhost/cache\n    shm_size: 1g\n",
    );
    let (stack, mut prints) = stack_and_prints(&text);
    let mut cache = state("cache", ServiceCondition::Outdated);
    cache.unsaved = vec!["A /srv/x".into()];
    let d = diagnosis(vec![
        state("db", ServiceCondition::Healthy),
        cache,
        state("app", ServiceCondition::Healthy),
    ]);
    let p = plan(&d, &stack, &prints, &tools());
    assert!(step(&p, StepKind::Compose, "cache").loss.is_some());
    if let Some(db) = prints.services.get_mut("db") {
        db.blocked.push("POSTGRES_PASSWORD is not set".into());
    }
    let d = diagnosis(vec![
        state("db", ServiceCondition::Missing),
        state("cache", ServiceCondition::Healthy),
        state("app", ServiceCondition::Healthy),
    ]);
    let p = plan(&d, &stack, &prints, &tools());
    assert!(
        p.blockers
            .iter()
            .any(|b| b.evidence.contains("POSTGRES_PASSWORD")),
        "{p:#?}"
    );
    assert!(p.steps.iter().all(|s| s.service.as_deref() != Some("db")));
}
