//! The app's probe scheduler against the real engine and a real HTTP service:
//! the live monitor feeds it container rows, each probe runs on its own
//! interval, stopping the container lowers the score at once, and the
//! recorder receives runs and transitions.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::sync::Arc;
use std::time::{Duration, Instant};

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_engine::StackMonitor;
use stackwarden_health::{HealthLevel, ServiceStatus};
use stackwarden_probes::{HealthRecord, HealthScheduler, ProbeRunner, StackHealth};
use stackwarden_stack::{parse, LoadedStack};
use stackwarden_testkit::{podman, remove_containers, wait_for, Cleanup};
use tokio::sync::{mpsc, watch};

const PORT: u16 = 18191;
const NAME: &str = "sw-sched-web";

fn stack_yaml(interval: &str) -> String {
    format!(
        r#"name: sched
x-stackwarden:
  groups:
    core: {{ label: Core, required: true }}
    extras: {{ label: Extras, required: false }}
services:
  web:
    image: localhost/sw-test-busybox:latest
    container_name: {NAME}
    x-stackwarden:
      group: core
      probes:
        - name: health
          http: {{ url: "http://127.0.0.1:{PORT}/health" }}
          interval: {interval}
          timeout: 300ms
          conditions: ["[STATUS] == 200", "[BODY].status == ok"]
        - name: running
          container: {{}}
          interval: 10s
  ghost:
    image: localhost/sw-test-busybox:latest
    container_name: sw-sched-ghost
    x-stackwarden:
      group: extras
"#
    )
}

fn loaded(yaml: &str) -> LoadedStack {
    LoadedStack {
        stack: Some(Arc::new(parse(yaml, "sched.yaml").unwrap())),
        source: "sched.yaml".into(),
        error: None,
    }
}

fn status(h: &StackHealth, service: &str) -> Option<ServiceStatus> {
    h.breakdown
        .as_ref()?
        .services
        .iter()
        .find(|s| s.service == service)
        .map(|s| s.status)
}

#[tokio::test]
async fn scheduler_follows_probes_and_container_changes() {
    let www = tempfile::tempdir().unwrap();
    std::fs::write(www.path().join("health"), r#"{"status":"ok"}"#).unwrap();
    remove_containers(&[NAME]);
    let _guard = Cleanup::containers(&[NAME]);
    podman(&[
        "run",
        "-d",
        "--name",
        NAME,
        "--label",
        "stackwarden.test=it",
        "-p",
        &format!("127.0.0.1:{PORT}:80"),
        "-v",
        &format!("{}:/www", www.path().display()),
        "localhost/sw-test-busybox:latest",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);

    let monitor = StackMonitor {
        candidates: candidates(None, &Environment::current()),
        interval: Duration::from_secs(2),
        config_error: None,
        samples: None,
    }
    .spawn();
    let (stack_tx, stack_rx) = watch::channel(loaded(&stack_yaml("1s")));
    let (records_tx, mut records) = mpsc::channel(256);
    let mut health = HealthScheduler {
        runner: ProbeRunner::new(),
        stacks: stack_rx,
        snapshots: monitor.subscribe(),
        records: Some(records_tx),
        ever_deployed: Default::default(),
        log_marks: None,
    }
    .spawn();

    let h = wait_for(&mut health, "web healthy", Duration::from_secs(10), |h| {
        status(h, "web") == Some(ServiceStatus::Healthy)
    })
    .await;
    let b = h.breakdown.as_ref().unwrap();
    // The optional ghost never had a container: not deployed, not scored.
    assert_eq!(status(&h, "ghost"), Some(ServiceStatus::NotDeployed));
    assert_eq!(h.level, Some(HealthLevel::Healthy));
    assert_eq!((b.groups[0].healthy, b.groups[0].total), (1, 1));
    assert_eq!((b.groups[1].total, b.groups[1].not_deployed), (0, 1));
    assert_eq!(b.overall, 100.0);
    let ghost = h.services.iter().find(|s| s.service == "ghost").unwrap();
    assert!(!ghost.has_container);
    assert_eq!(ghost.container, "sw-sched-ghost");
    assert!(
        h.headline.starts_with("sched: 100% healthy"),
        "{}",
        h.headline
    );

    // Each probe on its own interval: health (1 s, the shortest a stack file
    // may ask for) runs several times;
    // the container probe (10 s) ran at start and again only when the
    // engine's rows changed (the monitor connecting), not on a timer.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let mut runs = Vec::new();
    let mut transitions = Vec::new();
    let mut deployed = Vec::new();
    while let Ok(r) = records.try_recv() {
        match r {
            HealthRecord::Run(run) => runs.push(run),
            HealthRecord::Transitions { list, .. } => transitions.extend(list),
            HealthRecord::Deployed {
                project, service, ..
            } => deployed.push((project, service)),
        }
    }
    // The service seen with its container is remembered once, for the store.
    assert_eq!(deployed, [("sched".to_string(), "web".to_string())]);
    let count = |probe: &str| runs.iter().filter(|r| r.outcome.probe == probe).count();
    assert!(count("health") >= 3, "health ran {} times", count("health"));
    assert!((1..=2).contains(&count("running")), "{}", count("running"));
    let running = runs
        .iter()
        .rev()
        .find(|r| r.outcome.probe == "running")
        .unwrap();
    assert!(running.outcome.success, "{running:?}");
    assert!(runs
        .iter()
        .all(|r| r.duration_ms > 0.0 && r.duration_ms < 300.0));
    assert!(
        transitions
            .iter()
            .any(|t| t.service == "web" && t.to == ServiceStatus::Healthy),
        "{transitions:?}"
    );

    // A broken edit of the stack file keeps the last good definition: the
    // banner appears and the probes' results stay (no restart, no "unknown").
    stack_tx.send_modify(|l| l.error = Some("sched.yaml, line 3: broken".into()));
    let h = wait_for(&mut health, "stack error", Duration::from_secs(2), |h| {
        h.stack_error.is_some()
    })
    .await;
    assert_eq!(status(&h, "web"), Some(ServiceStatus::Healthy));
    assert!(!h.last_runs.is_empty());
    stack_tx.send_modify(|l| l.error = None);

    // A body that says "degraded" shows within one interval, with why.
    std::fs::write(www.path().join("health"), r#"{"status":"degraded"}"#).unwrap();
    let h = wait_for(&mut health, "web degraded", Duration::from_secs(3), |h| {
        status(h, "web") == Some(ServiceStatus::Degraded)
    })
    .await;
    let run = h
        .last_runs
        .iter()
        .find(|r| r.outcome.probe == "health")
        .unwrap();
    let failed: Vec<_> = run
        .outcome
        .conditions
        .iter()
        .filter(|c| !c.success)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].observed, "\"degraded\"");
    assert_eq!(h.level, Some(HealthLevel::Degraded));

    // Stopping the container: down at once (the engine event), well inside
    // the container probe's 10 s interval.
    let stopped_at = Instant::now();
    podman(&["stop", "-t", "0", NAME]);
    let h = wait_for(&mut health, "web down", Duration::from_secs(5), |h| {
        status(h, "web") == Some(ServiceStatus::Down)
    })
    .await;
    assert!(stopped_at.elapsed() < Duration::from_secs(5));
    assert_eq!(h.level, Some(HealthLevel::Failing));
    assert_eq!(h.breakdown.as_ref().unwrap().overall, 0.0);

    // A new definition restarts the probes with the new services.
    stack_tx.send_replace(loaded(&stack_yaml("1s").replace("ghost", "phantom")));
    let h = wait_for(&mut health, "new stack", Duration::from_secs(5), |h| {
        h.services.iter().any(|s| s.service == "phantom")
    })
    .await;
    assert!(h.services.iter().all(|s| s.service != "ghost"));
}
