//! The runtime with no window at all, against the real engine and real
//! SQLite files: it records a stopped required container as a transition,
//! applies retention to every table on its own timer, restarts and reports a
//! task that panics, and refuses container names the engine does not list.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_engine::Candidate;
use stackwarden_health::{
    HealthLevel, ProbeOutcome, ProbeRun, ServiceStatus, StatusTransition, VerificationRun,
};
use stackwarden_model::{Config, ContainerAction, EngineStatus, ResourceUsage};
use stackwarden_runtime::{
    ActionSource, Recording, ReportFormat, Runtime, RuntimeError, RuntimeOptions, RETENTION_EVERY,
};
use stackwarden_stack::StackSource;
use stackwarden_store::{Retention, SampleRecord, Store};
use stackwarden_testkit::{eventually, podman, wait_for, Cleanup, PrivateService, TestContainer};

const NAME: &str = "sw-rt-web";
const VOLUME: &str = "sw-rt-keep";

fn options(dir: &std::path::Path, stack: StackSource, engine: Vec<Candidate>) -> RuntimeOptions {
    let mut options = RuntimeOptions::from_config(Config::default(), engine, "test runtime");
    options.data_dir = Some(dir.to_path_buf());
    options.stack = stack;
    options
}

/// A data folder with a stack file, and runtimes started on them.
struct Watched {
    dir: tempfile::TempDir,
    stack: std::path::PathBuf,
}

impl Watched {
    fn new(yaml: String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("stack.yaml");
        std::fs::write(&stack, yaml).unwrap();
        Self { dir, stack }
    }

    /// A stack of one required service `db` running as `container`.
    fn one_required_db(name: &str, container: &str) -> Self {
        Self::new(format!(
            "name: {name}\nx-stackwarden:\n  groups:\n    core: {{ required: true }}\nservices:\n  db:\n    image: localhost/sw-test-busybox:latest\n    container_name: {container}\n    x-stackwarden: {{ group: core }}\n"
        ))
    }

    /// Notes in the data folder that the watch last ran at `at_ms`.
    async fn last_watched(&self, at_ms: i64) {
        let store = Store::open(
            self.dir.path(),
            Retention {
                max_age: Duration::from_secs(86_400),
                max_per_container: 100,
            },
        )
        .await
        .unwrap();
        store.heartbeat(at_ms).await.unwrap();
        store.close().await;
    }

    /// Where a Podman API service of this test's own listens.
    fn own_engine_socket(&self) -> String {
        self.dir
            .path()
            .join("engine.sock")
            .to_string_lossy()
            .to_string()
    }

    /// A runtime that knows only the engine at `own_engine_socket`.
    async fn start_on_own_engine(&self) -> Runtime {
        let only = vec![Candidate {
            endpoint: format!("unix://{}", self.own_engine_socket()),
            source: "test".into(),
        }];
        Runtime::start(options(
            self.dir.path(),
            StackSource::file(self.stack.clone()),
            only,
        ))
        .await
        .unwrap()
    }

    async fn start(&self) -> Runtime {
        Runtime::start(options(
            self.dir.path(),
            StackSource::file(self.stack.clone()),
            candidates(None, &Environment::current()),
        ))
        .await
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_a_stopped_required_container_and_refuses_unknown_names() {
    let _volume = Cleanup::default().and_volume(VOLUME);
    podman(&["volume", "create", VOLUME]);
    let _container = TestContainer::run(NAME, &[], &["sleep", "3600"]);
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.yaml");
    std::fs::write(
        &stack,
        format!(
            "name: rt\nx-stackwarden:\n  groups:\n    core: {{ label: Core, required: true }}\nservices:\n  web:\n    image: localhost/sw-test-busybox:latest\n    container_name: {NAME}\n    x-stackwarden:\n      group: core\n"
        ),
    )
    .unwrap();
    let runtime = Runtime::start(options(
        dir.path(),
        StackSource::file(stack),
        candidates(None, &Environment::current()),
    ))
    .await
    .unwrap();
    assert!(matches!(
        runtime.state().borrow().status.recording,
        Recording::On { .. }
    ));
    let mut state = runtime.state();
    wait_for(&mut state, "web healthy", Duration::from_secs(20), |s| {
        s.health.level == Some(HealthLevel::Healthy)
    })
    .await;

    // Text from the page never reaches the engine: only listed names act.
    for hostile in [
        "../volumes/prune?x=",
        "no-such-container",
        "../../containers/json",
    ] {
        match runtime
            .container_action(hostile, ContainerAction::Stop, ActionSource::Window)
            .await
        {
            Err(RuntimeError::UnknownContainer(_)) => {}
            other => panic!("{hostile}: expected UnknownContainer, got {other:?}"),
        }
        assert!(matches!(
            runtime.follow_logs(hostile, |_| true),
            Err(RuntimeError::UnknownContainer(_))
        ));
    }
    assert!(
        podman(&["volume", "ls", "-q"]).lines().any(|v| v == VOLUME),
        "the unused volume is still there: nothing was pruned"
    );

    // A host calls in from its own thread (the desktop's synchronous
    // commands run on the GUI thread, outside Tokio): work still starts.
    let from_host = runtime.clone();
    let (verification, logs) = std::thread::spawn(move || {
        let (started, run) = from_host
            .verify(None, ActionSource::Window)
            .expect("verification starts");
        let second = from_host.verify(None, ActionSource::Window);
        let (tx, rx) = std::sync::mpsc::channel();
        from_host
            .follow_logs(NAME, move |batch| tx.send(batch).is_ok())
            .expect("logs followed");
        (
            (
                started,
                run,
                matches!(second, Err(RuntimeError::VerificationRunning)),
            ),
            rx,
        )
    })
    .join()
    .expect("no panic on a host's thread");
    let (started, run, refused_second) = verification;
    assert!(refused_second, "one verification at a time");
    assert!(started.checks.iter().any(|c| c.id == "running:web"));
    let run = run.await.unwrap();
    assert!(run.results.iter().any(|r| r.id == "running:web"));
    // The mark is released once the run ends.
    let (_, again) = runtime
        .verify(None, ActionSource::Window)
        .expect("released after the run");
    again.await.unwrap();

    // The window's read commands, each a call into the runtime.
    let history = runtime.verification_history().await.unwrap();
    assert_eq!(history.len(), 2, "both runs stored");
    let stored = runtime
        .verification_run(history[0].id)
        .await
        .unwrap()
        .expect("the newest run by its id");
    assert!(stored.results.iter().any(|r| r.id == "running:web"));
    assert!(runtime.verification_run(i64::MAX).await.unwrap().is_none());
    let report = runtime.export_report(ReportFormat::Html).await.unwrap();
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(report.starts_with(dir.path()), "{report:?}");
    assert!(html.to_lowercase().contains("<html") && html.contains(NAME));
    assert!(runtime.service_history("no-such").await.unwrap().is_empty());
    assert!(runtime.probe_history("no-such").await.unwrap().is_empty());
    drop(logs);
    runtime.close_logs();

    runtime
        .container_action(NAME, ContainerAction::Stop, ActionSource::Window)
        .await
        .unwrap();
    wait_for(&mut state, "web down", Duration::from_secs(20), |s| {
        s.service_status("web") == Some(ServiceStatus::Down)
    })
    .await;
    let store = runtime.store().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = store.transitions_since(0).await.unwrap();
        if list
            .iter()
            .any(|t| t.change.service == "web" && t.change.to == ServiceStatus::Down)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no recorded transition: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recent = runtime.recent_transitions().await.unwrap();
    assert!(
        recent
            .iter()
            .any(|t| t.change.service == "web" && t.change.to == ServiceStatus::Down),
        "{recent:?}"
    );
    runtime.stop().await;
}

fn probe_run(service: &str, at_ms: i64) -> ProbeRun {
    ProbeRun {
        service: service.into(),
        at_ms,
        duration_ms: 1.0,
        outcome: ProbeOutcome {
            probe: "http".into(),
            success: true,
            conditions: Vec::new(),
            error: None,
        },
    }
}

fn verification(at_ms: i64) -> VerificationRun {
    VerificationRun {
        stack: "rt".into(),
        started_at_ms: at_ms,
        duration_ms: 1.0,
        results: Vec::new(),
        passed: 0,
        failed: 0,
        skipped: 0,
        required_failed: 0,
        services: Vec::new(),
        breakdown: None,
        probe_runs: Vec::new(),
    }
}

fn offline() -> Vec<Candidate> {
    vec![Candidate {
        endpoint: "unix:///nonexistent/stackwarden-test.sock".into(),
        source: "test".into(),
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_runs_on_its_own_timer_over_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let now = stackwarden_model::clock::now_ms();
    let old = now - 3 * 3600 * 1000;
    {
        let store = Store::open(
            dir.path(),
            Retention {
                max_age: Duration::from_secs(3600),
                max_per_container: 1000,
            },
        )
        .await
        .unwrap();
        let usage = |at| ResourceUsage {
            cpu_percent: 1.0,
            memory_used_bytes: 1,
            memory_limit_bytes: 2,
            sampled_at_ms: at,
        };
        store
            .record(&[
                SampleRecord::of("web", "id", &usage(old)),
                SampleRecord::of("web", "id", &usage(now)),
            ])
            .await
            .unwrap();
        store
            .record_probe_runs(&[probe_run("web", old), probe_run("web", now)])
            .await
            .unwrap();
        let t = StatusTransition {
            service: "web".into(),
            from: None,
            to: ServiceStatus::Down,
            reason: "stopped".into(),
        };
        // Transitions outlive the hour of probe runs: they carry 30 days of
        // availability. Of the month-old ones only the newest stays (the
        // status the service kept).
        for days in [33, 32] {
            store
                .record_transitions(now - days * 24 * 3600 * 1000, std::slice::from_ref(&t))
                .await
                .unwrap();
        }
        store.record_transitions(now, &[t]).await.unwrap();
        for i in 0..503 {
            store
                .record_verification(&verification(now - 1000 + i))
                .await
                .unwrap();
        }
        store.close().await;
    }
    let mut config = Config::default();
    config.history.retention_hours = 1;
    let mut opts = options(dir.path(), StackSource::BuiltIn, offline());
    opts.config = config;
    opts.retention_every = Duration::from_millis(300);
    assert!(opts.retention_every < RETENTION_EVERY);
    let runtime = Runtime::start(opts).await.unwrap();
    let store = runtime.store().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let samples = store.history("web", 0, 10_000).await.unwrap().len();
        let runs = store.response_times("web", 0, 10_000).await.unwrap().len();
        let transitions = store.transitions_since(0).await.unwrap().len();
        let verifications = store.verification_history(10_000).await.unwrap().len();
        if (samples, runs, transitions, verifications) == (1, 1, 2, 500) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention did not run: samples {samples}, runs {runs}, transitions {transitions}, verifications {verifications}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_panics_is_restarted_and_shown_in_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::start(options(dir.path(), StackSource::BuiltIn, offline()))
        .await
        .unwrap();
    let starts = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&starts);
    runtime.supervise("test task", move || {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                panic!("made to panic");
            }
            std::future::pending::<()>().await;
        }
    });
    let mut state = runtime.state();
    let s = wait_for(&mut state, "the problem", Duration::from_secs(10), |s| {
        !s.status.problems.is_empty()
    })
    .await;
    let p = &s.status.problems[0];
    assert_eq!(p.task, "test task");
    assert_eq!(p.reason, "panicked: made to panic");
    assert_eq!(p.restarts, 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while starts.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "not restarted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runtime_on_the_same_folder_learns_who_records() {
    let dir = tempfile::tempdir().unwrap();
    let first = Runtime::start(options(dir.path(), StackSource::BuiltIn, offline()))
        .await
        .unwrap();
    let mut refusing = options(dir.path(), StackSource::BuiltIn, offline());
    refusing.refuse_when_held = true;
    match Runtime::start(refusing).await {
        Err(e @ RuntimeError::Held(_)) => {
            let words = e.to_string();
            assert!(
                words.contains(&format!("PID {}", std::process::id())),
                "{words}"
            );
        }
        Err(e) => panic!("expected Held, got {e}"),
        Ok(_) => panic!("expected Held, got a second runtime"),
    }
    let second = Runtime::start(options(dir.path(), StackSource::BuiltIn, offline()))
        .await
        .unwrap();
    assert!(!second.is_recording());
    assert!(matches!(
        second.state().borrow().status.recording,
        Recording::HeldBy { .. }
    ));
    // When the first lets go, the second takes over the recording.
    first.stop().await;
    drop(first);
    let mut state = second.state();
    wait_for(
        &mut state,
        "the second runtime records",
        Duration::from_secs(15),
        |s| matches!(s.status.recording, Recording::On { .. }),
    )
    .await;
    assert!(second.is_recording());
    let mut third = options(dir.path(), StackSource::BuiltIn, offline());
    third.refuse_when_held = true;
    assert!(matches!(
        Runtime::start(third).await,
        Err(RuntimeError::Held(_))
    ));
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_service_that_lost_its_container_is_down_also_after_a_restart() {
    const AGENT: &str = "sw-rt-agent";
    let container = TestContainer::run(AGENT, &[], &["sleep", "3600"]);
    let watched = Watched::new(format!(
            "name: rtopt\nx-stackwarden:\n  groups:\n    extras: {{ required: false }}\nservices:\n  agent:\n    image: localhost/sw-test-busybox:latest\n    container_name: {AGENT}\n    x-stackwarden: {{ group: extras }}\n  never:\n    image: localhost/sw-test-busybox:latest\n    container_name: sw-rt-never-deployed\n    x-stackwarden: {{ group: extras }}\n"
        ));
    let runtime = watched.start().await;
    let mut state = runtime.state();
    wait_for(&mut state, "agent healthy", Duration::from_secs(20), |s| {
        s.service_status("agent") == Some(ServiceStatus::Healthy)
            && s.service_status("never") == Some(ServiceStatus::NotDeployed)
    })
    .await;
    // Its removal makes it down, not "never deployed".
    drop(container);
    wait_for(&mut state, "agent down", Duration::from_secs(20), |s| {
        s.service_status("agent") == Some(ServiceStatus::Down)
    })
    .await;
    runtime.stop().await;

    // The database remembers it had a container.
    let runtime = watched.start().await;
    let mut state = runtime.state();
    wait_for(
        &mut state,
        "agent still down",
        Duration::from_secs(20),
        |s| {
            s.service_status("agent") == Some(ServiceStatus::Down)
                && s.service_status("never") == Some(ServiceStatus::NotDeployed)
        },
    )
    .await;
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_required_container_opens_an_incident_with_its_evidence_and_closes_it() {
    const DB: &str = "sw-rt-incident-db";
    let _container = TestContainer::run(
        DB,
        &[],
        &["sh", "-c", "echo db-ready-to-accept; sleep 3600"],
    );
    let watched = Watched::one_required_db("rtinc", DB);
    let runtime = watched.start().await;
    let mut state = runtime.state();
    wait_for(&mut state, "db healthy", Duration::from_secs(20), |s| {
        s.service_status("db") == Some(ServiceStatus::Healthy)
    })
    .await;
    let store = runtime.store().unwrap().clone();
    assert!(store.open_incidents().await.unwrap().is_empty());

    let killed = Instant::now();
    podman(&["kill", DB]);
    let open = eventually("an open incident", Duration::from_secs(10), async || {
        store.open_incidents().await.unwrap().into_iter().next()
    })
    .await;
    assert!(killed.elapsed() < Duration::from_secs(10));
    assert_eq!(open.incident.cause.service.as_deref(), Some("db"));
    let evidence = eventually("its evidence", Duration::from_secs(10), async || {
        let list = store.evidence(open.id).await.unwrap();
        list.iter().any(|e| e.kind == "logs").then_some(list)
    })
    .await;
    let text: Vec<String> = evidence
        .iter()
        .map(|e| format!("{}: {}", e.kind, e.text))
        .collect();
    assert!(
        text.iter().any(|t| t.contains("exit code 137")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("logs:") && t.contains("db-ready-to-accept")),
        "{text:#?}"
    );

    podman(&["start", DB]);
    let closed = eventually("the incident closed", Duration::from_secs(20), async || {
        store
            .incident(open.id)
            .await
            .unwrap()
            .filter(|i| !i.incident.is_open())
    })
    .await;
    assert!(closed.incident.duration_ms(0) > 0);
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_failing_after_its_dependency_folds_into_one_incident() {
    const DB: &str = "sw-rt-fold-db";
    const API: &str = "sw-rt-fold-api";
    let _db = TestContainer::run(DB, &[], &["sleep", "3600"]);
    let _api = TestContainer::run(API, &[], &["sleep", "3600"]);
    let watched = Watched::new(format!(
            "name: rtfold\nx-stackwarden:\n  groups:\n    core: {{ required: true }}\nservices:\n  db:\n    image: localhost/sw-test-busybox:latest\n    container_name: {DB}\n    x-stackwarden: {{ group: core }}\n  api:\n    image: localhost/sw-test-busybox:latest\n    container_name: {API}\n    depends_on: [db]\n    x-stackwarden: {{ group: core }}\n"
        ));
    let runtime = watched.start().await;
    let mut state = runtime.state();
    wait_for(&mut state, "both healthy", Duration::from_secs(20), |s| {
        s.health.level == Some(HealthLevel::Healthy)
    })
    .await;
    let store = runtime.store().unwrap().clone();
    podman(&["stop", "-t", "0", DB]);
    eventually("db's incident", Duration::from_secs(10), async || {
        store.open_incidents().await.unwrap().into_iter().next()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    podman(&["stop", "-t", "0", API]);
    let incident = eventually("api folded in", Duration::from_secs(10), async || {
        let open = store.open_incidents().await.unwrap();
        open.into_iter()
            .next()
            .filter(|i| i.incident.affected.len() == 2)
    })
    .await;
    assert_eq!(
        store.open_incidents().await.unwrap().len(),
        1,
        "one incident"
    );
    assert_eq!(incident.incident.cause.service.as_deref(), Some("db"));
    let api = &incident.incident.affected[1];
    assert_eq!(api.service, "api");
    let after = api.after.as_deref().unwrap_or_default();
    assert!(after.ends_with("after db went down"), "{after}");
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_happened_while_nobody_watched_is_caught_up_from_engine_events() {
    // The runtime's log, shown if this fails (catching up logs each step).
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_max_level(tracing::Level::INFO)
        .try_init();
    const DB: &str = "sw-rt-backfill-db";
    let _container = TestContainer::run(DB, &[], &["sleep", "3600"]);
    let watched = Watched::one_required_db("rtback", DB);
    crash_while_away(watched.start().await, &watched, DB).await;

    let runtime = watched.start().await;
    let store = runtime.store().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        let all = store.incidents_since(0).await.unwrap();
        if let Some(found) = all.iter().find(|i| i.incident.from_engine_events) {
            break found.clone();
        }
        if Instant::now() > deadline {
            let gaps = store.gaps_since(0).await.unwrap();
            panic!("no backfilled incident; incidents {all:#?}; gaps {gaps:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!found.incident.is_open(), "it restarted: {found:?}");
    assert!(
        found
            .incident
            .cause
            .summary
            .contains("seen from engine events: died (exit code 137)"),
        "{found:?}"
    );
    let evidence = store.evidence(found.id).await.unwrap();
    assert!(
        evidence.iter().any(|e| e.text == "die (exit code 137)"),
        "{evidence:?}"
    );
    let gaps = store.gaps_since(0).await.unwrap();
    assert!(
        gaps.iter()
            .any(|g| g.reason == "Stackwarden was not watching" && g.to_ms - g.from_ms >= 100_000),
        "{gaps:?}"
    );
    runtime.stop().await;
}

/// Watches `db` healthy with `runtime`, stops it as if two minutes ago,
/// then kills the container and starts it again while nobody watches.
async fn crash_while_away(runtime: Runtime, watched: &Watched, db: &str) {
    let mut state = runtime.state();
    wait_for(&mut state, "db healthy", Duration::from_secs(20), |s| {
        s.service_status("db") == Some(ServiceStatus::Healthy)
    })
    .await;
    runtime.stop().await;
    watched.last_watched(now() - 120_000).await;
    podman(&["kill", db]);
    // Its `died` event is logged by the container's cleanup, a moment after
    // the kill: wait for it, so that it happened while nobody watched (on a
    // busy machine it could come after the next watch started).
    let filter = format!("container={db}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while podman(&[
        "events",
        "--stream=false",
        "--since",
        "1m",
        "--filter",
        &filter,
        "--filter",
        "event=died",
        "--format",
        "{{.Status}}",
    ])
    .is_empty()
    {
        assert!(Instant::now() < deadline, "no died event for {db}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    podman(&["start", db]);
}

fn now() -> i64 {
    stackwarden_model::clock::now_ms()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_restart_shows_as_a_gap_and_actions_land_on_the_incident() {
    const DB: &str = "sw-rt-gap-db";
    let _container = TestContainer::run(DB, &[], &["sleep", "3600"]);
    let watched = Watched::one_required_db("rtgap", DB);
    // An API service of its own, so restarting "the engine" leaves the
    // other tests' engine alone.
    let socket = watched.own_engine_socket();
    let mut service = PrivateService::start(&socket);
    let runtime = watched.start_on_own_engine().await;
    let mut state = runtime.state();
    wait_for(&mut state, "db healthy", Duration::from_secs(20), |s| {
        s.service_status("db") == Some(ServiceStatus::Healthy)
    })
    .await;
    let store = runtime.store().unwrap().clone();

    // A person's action while an incident is open lands on it.
    podman(&["stop", "-t", "0", DB]);
    let open = eventually("db's incident", Duration::from_secs(10), async || {
        store.open_incidents().await.unwrap().into_iter().next()
    })
    .await;
    runtime
        .container_action(DB, ContainerAction::Start, ActionSource::Window)
        .await
        .unwrap();
    wait_for(
        &mut state,
        "db healthy again",
        Duration::from_secs(20),
        |s| s.service_status("db") == Some(ServiceStatus::Healthy),
    )
    .await;
    let actions = store.incident_actions(open.id).await.unwrap();
    assert!(
        actions.iter().any(|a| a.action.source == "window"
            && a.action.action == "start"
            && a.action.service.as_deref() == Some("db")
            && a.action.ok),
        "{actions:#?}"
    );
    assert!(
        !actions.iter().any(|a| a.action.source == "engine"),
        "the start asked for is the person's, not also the engine's: {actions:#?}"
    );

    // The engine goes away and comes back: a gap, not healthy time.
    service.stop();
    wait_for(&mut state, "engine lost", Duration::from_secs(20), |s| {
        matches!(s.snapshot.engine, EngineStatus::Unreachable { .. })
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _service = PrivateService::start(&socket);
    runtime.retry_engine();
    wait_for(&mut state, "engine back", Duration::from_secs(30), |s| {
        matches!(s.snapshot.engine, EngineStatus::Connected { .. })
    })
    .await;
    let gap = eventually("the gap recorded", Duration::from_secs(10), async || {
        let gaps = store.gaps_since(0).await.unwrap();
        gaps.into_iter()
            .find(|g| g.reason == "the container engine did not answer")
    })
    .await;
    assert!(gap.to_ms - gap.from_ms >= 1_500, "{gap:?}");
    let timeline = runtime.timeline(3_600_000).await.unwrap();
    assert!(timeline.gaps.iter().any(|g| g.from_ms == gap.from_ms));
    let lane = timeline
        .lanes
        .iter()
        .find(|l| l.service == "db")
        .expect("db's lane");
    assert!(
        lane.segments
            .iter()
            .any(|s| s.status.is_none() && s.from_ms <= gap.from_ms && s.to_ms >= gap.to_ms),
        "the engine's absence is no data: {lane:#?}"
    );
    assert!(
        timeline
            .markers
            .iter()
            .any(|m| m.kind == "action" && m.action == "start"),
        "{:#?}",
        timeline.markers
    );
    assert!(timeline.incidents.iter().any(|i| i.id == open.id));
    assert!(timeline
        .markers
        .iter()
        .any(|m| m.incident_id == Some(open.id) && m.action == "start"));
    let detail = runtime.incident_detail(open.id).await.unwrap();
    assert!(detail.actions.iter().any(|a| a.action == "start"));
    assert!(
        detail.evidence.iter().any(|e| e.kind == "status"),
        "{detail:?}"
    );

    // Its recovery report, from the window.
    let report = runtime
        .export_incident_report(open.id, ReportFormat::Html)
        .await
        .unwrap();
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains(&format!("incident #{}", open.id)), "{html}");
    assert!(html.contains("start sw-rt-gap-db: done"), "{html}");
    assert!(matches!(
        runtime
            .export_incident_report(i64::MAX, ReportFormat::Md)
            .await,
        Err(RuntimeError::Report(_))
    ));
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catching_up_works_when_the_engine_answers_late() {
    // Podman ends an events stream at once when its `until` has passed:
    // asked with the time the watch started, a late engine hid the past.
    const DB: &str = "sw-rt-late-db";
    let _container = TestContainer::run(DB, &[], &["sleep", "3600"]);
    let watched = Watched::one_required_db("rtlate", DB);
    let socket = watched.own_engine_socket();
    {
        let _service = PrivateService::start(&socket);
        crash_while_away(watched.start_on_own_engine().await, &watched, DB).await;
    }

    // The watch starts while the engine is away; it answers seconds later.
    let runtime = watched.start_on_own_engine().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _service = PrivateService::start(&socket);
    runtime.retry_engine();
    let store = runtime.store().unwrap().clone();
    let found = eventually(
        "the backfilled incident",
        Duration::from_secs(40),
        async || {
            let all = store.incidents_since(0).await.unwrap();
            all.into_iter().find(|i| i.incident.from_engine_events)
        },
    )
    .await;
    assert!(
        found
            .incident
            .cause
            .summary
            .contains("died (exit code 137)"),
        "{found:?}"
    );
    runtime.stop().await;
}
