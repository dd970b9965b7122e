//! The healer against the real engine, with no window: a container whose
//! main process is killed comes back, with the healer's action on its
//! incident; one that exits every second gets the configured backoff and
//! is quarantined at the cap; one a person stopped with `podman stop` stays
//! stopped; one with `restart: always` is left to the engine; PostgreSQL is
//! healed before the service that depends on it, which a log pattern marks
//! unhealthy with the matched line.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::time::{Duration, Instant};

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_health::ServiceStatus;
use stackwarden_model::Config;
use stackwarden_runtime::{Runtime, RuntimeOptions};
use stackwarden_stack::StackSource;
use stackwarden_store::{Store, StoredAction};
use stackwarden_testkit::{eventually, podman, wait_for, Cleanup, TestContainer};

/// A data folder with a stack file.
struct Watched {
    dir: tempfile::TempDir,
    stack: std::path::PathBuf,
}

impl Watched {
    fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("stack.yaml");
        std::fs::write(&stack, yaml).unwrap();
        Self { dir, stack }
    }

    /// One required service `svc` running as `container`, healed with
    /// `heal` (YAML flow mapping).
    fn one(name: &str, container: &str, heal: &str, restart: Option<&str>) -> Self {
        let restart = restart
            .map(|r| format!("    restart: {r}\n"))
            .unwrap_or_default();
        Self::new(&format!(
            "name: {name}\nx-stackwarden:\n  groups:\n    core: {{ required: true }}\nservices:\n  svc:\n    image: localhost/sw-test-busybox:latest\n    container_name: {container}\n{restart}    x-stackwarden: {{ group: core, heal: {heal} }}\n"
        ))
    }

    async fn start(&self) -> Runtime {
        // The healer says what it decides; shown when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                std::env::var("SW_TEST_LOG").unwrap_or_else(|_| "stackwarden_runtime=info".into()),
            )
            .with_test_writer()
            .try_init();
        let mut options = RuntimeOptions::from_config(
            Config::default(),
            candidates(None, &Environment::current()),
            "healer test",
        );
        options.data_dir = Some(self.dir.path().to_path_buf());
        options.stack = StackSource::file(self.stack.clone());
        Runtime::start(options).await.unwrap()
    }
}

/// The healer's first `word` decision since `since_ms`, within `within`.
async fn decision(store: &Store, since_ms: i64, word: &str, within: Duration) -> StoredAction {
    eventually(&format!("the healer's {word}"), within, async || {
        healer_actions(store, since_ms)
            .await
            .into_iter()
            .find(|a| a.action.action == word)
    })
    .await
}

async fn healer_actions(store: &Store, since_ms: i64) -> Vec<StoredAction> {
    store
        .actions_since(since_ms)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action.source == "healer")
        .collect()
}

fn now_ms() -> i64 {
    stackwarden_model::clock::now_ms()
}

fn main_pid(container: &str) -> String {
    podman(&["inspect", "-f", "{{.State.Pid}}", container])
        .trim()
        .to_string()
}

/// `start` events of `container` since `since_secs`, as the engine logged them.
fn starts_since(container: &str, since_secs: i64) -> usize {
    podman(&[
        "events",
        "--stream=false",
        "--since",
        &since_secs.to_string(),
        "--filter",
        &format!("container={container}"),
        "--filter",
        "event=start",
        "--format",
        "{{.Status}}",
    ])
    .lines()
    .filter(|l| !l.trim().is_empty())
    .count()
}

const QUICK: &str =
    "{ backoff: { initial: 2s, factor: 2, cap: 1m }, limit: { actions: 3, within: 10m } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_main_process_is_brought_back_with_the_action_on_its_incident() {
    const C: &str = "sw-heal-kill";
    let _c = TestContainer::run(C, &[], &["sleep", "3600"]);
    let watched = Watched::one("healkill", C, QUICK, None);
    let runtime = watched.start().await;
    let mut state = runtime.state();
    wait_for(&mut state, "healthy", Duration::from_secs(20), |s| {
        s.service_status("svc") == Some(ServiceStatus::Healthy)
    })
    .await;
    let store = runtime.store().unwrap().clone();
    let t0 = now_ms();
    let pid = main_pid(C);
    std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    wait_for(&mut state, "down", Duration::from_secs(10), |s| {
        s.service_status("svc") == Some(ServiceStatus::Down)
    })
    .await;
    wait_for(&mut state, "healthy again", Duration::from_secs(15), |s| {
        s.service_status("svc") == Some(ServiceStatus::Healthy)
    })
    .await;
    assert_eq!(
        podman(&["inspect", "-f", "{{.State.Running}}", C]).trim(),
        "true"
    );
    let acted = eventually(
        "the healer's start on the incident",
        Duration::from_secs(10),
        async || {
            healer_actions(&store, t0)
                .await
                .into_iter()
                .find(|a| a.action.action == "start" && a.action.ok && a.incident_id.is_some())
        },
    )
    .await;
    assert_eq!(acted.action.service.as_deref(), Some("svc"));
    assert!(acted.action.result.contains("down"), "{:?}", acted.action);
    let incident = store
        .incident(acted.incident_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(incident.incident.cause.service.as_deref(), Some("svc"));
    // The start is the healer's, not taken for the engine's own.
    let engine_own = store
        .actions_since(t0)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action.source == "engine")
        .count();
    assert_eq!(engine_own, 0);
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_container_gets_backoff_and_is_quarantined_at_the_cap() {
    const C: &str = "sw-heal-flap";
    let watched = Watched::one("healflap", C, QUICK, None);
    let t0 = now_ms();
    let runtime = watched.start().await;
    let store = runtime.store().unwrap().clone();
    let mut state = runtime.state();
    // Started once the watch runs: an exit before the watch is not its to
    // judge (nobody saw why), one it sees is.
    wait_for(
        &mut state,
        "the engine connected",
        Duration::from_secs(20),
        |s| s.health.breakdown.is_some(),
    )
    .await;
    let _c = TestContainer::run(C, &[], &["sh", "-c", "sleep 1; exit 1"]);
    let quarantined = decision(&store, t0, "quarantined", Duration::from_secs(60)).await;
    assert!(
        quarantined.action.result.contains("needs you"),
        "{quarantined:?}"
    );
    // Two minutes from the start: no more restarts than the cap.
    let left = Duration::from_secs(120).saturating_sub(Duration::from_millis(
        u64::try_from(now_ms() - t0).unwrap_or(0),
    ));
    tokio::time::sleep(left).await;
    let actions = healer_actions(&store, t0).await;
    let acted: Vec<i64> = actions
        .iter()
        .filter(|a| matches!(a.action.action.as_str(), "start" | "restart"))
        .map(|a| a.action.at_ms)
        .collect();
    assert_eq!(acted.len(), 3, "{actions:#?}");
    assert!(acted[1] - acted[0] >= 2_000, "{acted:?}");
    assert!(acted[2] - acted[1] >= 4_000, "{acted:?}");
    let waits = actions
        .iter()
        .filter(|a| a.action.action == "waited")
        .count();
    assert!(waits >= 1, "backoff waits are recorded: {actions:#?}");
    // Every start since before the watch, less the container's own first
    // (`podman run`, after the watch started).
    let starts = starts_since(C, t0 / 1000 - 1).saturating_sub(1);
    assert!(
        starts <= 3,
        "the engine saw {starts} starts besides the first"
    );
    let s = state.borrow_and_update().clone();
    let heal = s
        .status
        .healing
        .services
        .iter()
        .find(|h| h.service == "svc")
        .cloned()
        .unwrap();
    assert_eq!(heal.state, "quarantined");

    // Released, the healer acts again.
    let released = now_ms();
    runtime
        .release_heal("svc", stackwarden_runtime::ActionSource::Cli)
        .await
        .unwrap();
    eventually(
        "an action after release",
        Duration::from_secs(20),
        async || {
            healer_actions(&store, released)
                .await
                .into_iter()
                .find(|a| matches!(a.action.action.as_str(), "start" | "restart"))
        },
    )
    .await;
    assert!(runtime
        .release_heal("nothing", stackwarden_runtime::ActionSource::Cli)
        .await
        .is_err());
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_stopped_with_podman_stop_is_left_alone() {
    const C: &str = "sw-heal-stopped";
    let _c = TestContainer::run(C, &[], &["sleep", "3600"]);
    let watched = Watched::one("healstop", C, QUICK, None);
    let runtime = watched.start().await;
    let store = runtime.store().unwrap().clone();
    let mut state = runtime.state();
    wait_for(&mut state, "healthy", Duration::from_secs(20), |s| {
        s.service_status("svc") == Some(ServiceStatus::Healthy)
    })
    .await;
    let t0 = now_ms();
    podman(&["stop", "-t", "1", C]);
    let skipped = decision(&store, t0, "skipped", Duration::from_secs(10)).await;
    assert!(
        skipped.action.result.contains("a person stopped it"),
        "{skipped:?}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        podman(&["inspect", "-f", "{{.State.Running}}", C]).trim(),
        "false"
    );
    let acted = healer_actions(&store, t0)
        .await
        .into_iter()
        .filter(|a| matches!(a.action.action.as_str(), "start" | "restart"))
        .count();
    assert_eq!(acted, 0);
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_with_restart_always_is_left_to_the_engine() {
    const C: &str = "sw-heal-always";
    let _c = TestContainer::run(C, &["--restart", "always"], &["sleep", "3600"]);
    let watched = Watched::one(
        "healalways",
        C,
        "{ engine_grace: 20s, limit: { actions: 3, within: 10m } }",
        Some("always"),
    );
    let runtime = watched.start().await;
    let store = runtime.store().unwrap().clone();
    let mut state = runtime.state();
    wait_for(&mut state, "healthy", Duration::from_secs(20), |s| {
        s.service_status("svc") == Some(ServiceStatus::Healthy)
    })
    .await;
    let t0 = now_ms();
    let pid = main_pid(C);
    std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .unwrap();
    // Podman's restart policy brings it back.
    eventually("running again", Duration::from_secs(20), async || {
        let pid_now = main_pid(C);
        (pid_now != pid && pid_now != "0").then_some(())
    })
    .await;
    wait_for(&mut state, "healthy again", Duration::from_secs(15), |s| {
        s.service_status("svc") == Some(ServiceStatus::Healthy)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let actions = healer_actions(&store, t0).await;
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a.action.action.as_str(), "start" | "restart")),
        "the healer fought the engine: {actions:#?}"
    );
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_healed_before_its_dependent_which_a_log_pattern_marks() {
    const PG: &str = "sw-heal-pg";
    const APP: &str = "sw-heal-app";
    const PORT: &str = "15532";
    let _cleanup = Cleanup::containers(&[PG, APP]).and_volume("sw-heal-pgdata");
    stackwarden_testkit::remove_containers(&[PG, APP]);
    podman(&[
        "run",
        "-d",
        "--name",
        PG,
        "--label",
        "stackwarden.test=it",
        "-p",
        &format!("127.0.0.1:{PORT}:5432"),
        "-v",
        "sw-heal-pgdata:/var/lib/postgresql/sw-data",
        "-e",
        "POSTGRES_PASSWORD=sw-test-pw",
        "localhost/sw-test-db:latest",
        "/usr/local/share/sw-test/postgres-entrypoint.sh",
    ]);
    // The app starts once PostgreSQL answers, as compose's
    // `condition: service_healthy` would start it.
    let ready = Instant::now();
    while !std::process::Command::new("podman")
        .args(["exec", PG, "pg_isready", "-q", "-h", "127.0.0.1"])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            ready.elapsed() < Duration::from_secs(60),
            "PostgreSQL did not start"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let check = format!(
        "while true; do if ! nc -w 1 127.0.0.1 {PORT} </dev/null >/dev/null 2>&1; then echo \"FATAL: lost postgres at 127.0.0.1:{PORT}\"; fi; sleep 0.2; done"
    );
    podman(&[
        "run",
        "-d",
        "--name",
        APP,
        "--label",
        "stackwarden.test=it",
        "--network",
        "host",
        "localhost/sw-test-busybox:latest",
        "sh",
        "-c",
        &check,
    ]);
    // SAFETY of the test: only this test reads the variable.
    std::env::set_var("SW_HEAL_PG_PASSWORD", "sw-test-pw");
    let watched = Watched::new(&format!(
        r#"name: healdeps
x-stackwarden:
  groups:
    core:
      required: true
      heal: {{ start_grace: 1s, backoff: {{ initial: 2s, cap: 1m }}, limit: {{ actions: 5, within: 10m }} }}
services:
  postgres:
    image: localhost/sw-test-db:latest
    container_name: {PG}
    x-stackwarden:
      group: core
      # Down for 3 s before the healer acts: time for the app to notice.
      heal: {{ after: 3s }}
      probes:
        - postgres: {{ url: "postgres://mcp@127.0.0.1:{PORT}/mcp", password_env: SW_HEAL_PG_PASSWORD }}
          interval: 2s
          timeout: 2s
  app:
    image: localhost/sw-test-busybox:latest
    container_name: {APP}
    depends_on: [postgres]
    x-stackwarden:
      group: core
      heal:
        log_patterns:
          - pattern: 'FATAL: lost postgres'
"#
    ));
    let runtime = watched.start().await;
    let store = runtime.store().unwrap().clone();
    let mut state = runtime.state();
    wait_for(&mut state, "both healthy", Duration::from_secs(60), |s| {
        s.service_status("postgres") == Some(ServiceStatus::Healthy)
            && s.service_status("app") == Some(ServiceStatus::Healthy)
    })
    .await;
    let t0 = now_ms();
    podman(&["kill", PG]);
    wait_for(&mut state, "postgres down", Duration::from_secs(10), |s| {
        s.service_status("postgres") != Some(ServiceStatus::Healthy)
    })
    .await;
    // PostgreSQL first, then the app, which its log marked meanwhile.
    let actions = eventually("the app's restart", Duration::from_secs(90), async || {
        let list = healer_actions(&store, t0).await;
        list.iter()
            .any(|a| a.action.service.as_deref() == Some("app") && a.action.action == "restart")
            .then_some(list)
    })
    .await;
    wait_for(
        &mut state,
        "both healthy again",
        Duration::from_secs(30),
        |s| {
            s.service_status("postgres") == Some(ServiceStatus::Healthy)
                && s.service_status("app") == Some(ServiceStatus::Healthy)
        },
    )
    .await;
    let transitions = store.transitions_since(t0).await.unwrap();
    let pg_healthy_at = transitions
        .iter()
        .find(|t| t.change.service == "postgres" && t.change.to == ServiceStatus::Healthy)
        .map(|t| t.at_ms)
        .expect("postgres healthy again");
    // The app's log said it lost PostgreSQL: it was marked with the line.
    assert!(
        transitions.iter().any(|t| t.change.service == "app"
            && t.change.to == ServiceStatus::Unhealthy
            && t.change
                .reason
                .contains("FATAL: lost postgres at 127.0.0.1")),
        "{transitions:#?}"
    );
    let pg_start = actions
        .iter()
        .find(|a| a.action.service.as_deref() == Some("postgres") && a.action.action == "start")
        .expect("postgres started by the healer");
    let app_restart = actions
        .iter()
        .find(|a| a.action.service.as_deref() == Some("app") && a.action.action == "restart")
        .unwrap();
    assert!(pg_start.action.at_ms < app_restart.action.at_ms);
    assert!(
        app_restart.action.at_ms >= pg_healthy_at,
        "the app was restarted before postgres was healthy: {actions:#?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a.action.service.as_deref() == Some("app")
                && a.action.action == "skipped"
                && a.action.result.contains("depends on postgres")),
        "{actions:#?}"
    );
    runtime.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantine_held_by_another_process_is_shown_and_released_here() {
    const C: &str = "sw-heal-elsewhere";
    let watched = Watched::one(
        "healelse",
        C,
        "{ backoff: { initial: 1s }, limit: { actions: 1, within: 10m } }",
        None,
    );
    let healer = watched.start().await;
    let mut healer_state = healer.state();
    wait_for(
        &mut healer_state,
        "the engine connected",
        Duration::from_secs(20),
        |s| s.health.breakdown.is_some(),
    )
    .await;
    let t0 = now_ms();
    let _c = TestContainer::run(C, &[], &["sh", "-c", "sleep 1; exit 1"]);
    let store = healer.store().unwrap().clone();
    decision(&store, t0, "quarantined", Duration::from_secs(60)).await;

    // A second runtime on the same data folder (the window while `watch`
    // heals) does not heal, but shows the quarantine and releases it.
    let window = watched.start().await;
    let mut window_state = window.state();
    wait_for(
        &mut window_state,
        "the quarantine shown",
        Duration::from_secs(20),
        |s| {
            !s.status.healing.active
                && s.status
                    .healing
                    .services
                    .iter()
                    .any(|h| h.service == "svc" && h.state == "quarantined")
        },
    )
    .await;
    let released = now_ms();
    window
        .release_heal("svc", stackwarden_runtime::ActionSource::Window)
        .await
        .unwrap();
    eventually(
        "the healer acts again",
        Duration::from_secs(20),
        async || {
            healer_actions(&store, released)
                .await
                .into_iter()
                .find(|a| matches!(a.action.action.as_str(), "start" | "restart"))
        },
    )
    .await;
    window.stop().await;
    healer.stop().await;
}
