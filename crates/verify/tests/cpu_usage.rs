//! The resources check's CPU figure against the real test engine: a
//! container that burned CPU for its first seconds and is idle now must show
//! its current (near zero) use, not the average since it started; usage the
//! caller sampled live is taken as it is; and the evidence says which.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::time::Duration;

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_engine::{connect, Engine};
use stackwarden_health::{CheckResult, VerificationRun};
use stackwarden_model::clock::now_ms;
use stackwarden_model::{ResourceUsage, ServiceRow};
use stackwarden_probes::ProbeRunner;
use stackwarden_stack::{parse, Stack};
use stackwarden_testkit::{podman, remove_containers, Cleanup};
use stackwarden_verify::{verify, VerifyInput, CPU_WINDOW};

const NAME: &str = "sw-verify-cpu";

fn stack() -> Stack {
    let text = format!(
        r#"name: cpu-test
x-stackwarden:
  groups:
    core: {{ required: true }}
services:
  burner:
    image: localhost/sw-test-busybox:latest
    container_name: {NAME}
    x-stackwarden: {{ group: core }}
"#
    );
    parse(&text, "cpu-test.yaml").unwrap()
}

async fn engine_and_rows() -> (Engine, Vec<ServiceRow>) {
    let engine = Engine::new(
        connect(&candidates(None, &Environment::current()))
            .await
            .expect("engine"),
    )
    .await;
    let ids: Vec<String> = engine
        .list_named()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.name == NAME)
        .map(|c| c.id)
        .collect();
    let rows = engine.inspect_rows(&ids).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    (engine, rows)
}

async fn run(stack: &Stack, engine: Engine, rows: Vec<ServiceRow>) -> VerificationRun {
    let runner = ProbeRunner::new();
    let home = tempfile::tempdir().unwrap();
    verify(VerifyInput {
        stack,
        engine: Ok(engine),
        rows,
        runner: &runner,
        home: Some(home.path().to_path_buf()),
        progress: None,
        ever_deployed: Default::default(),
        cpu_window: stackwarden_verify::CPU_WINDOW,
    })
    .await
}

fn resources(run: &VerificationRun) -> &CheckResult {
    run.results.iter().find(|r| r.id == "resources").unwrap()
}

fn cpu_of(run: &VerificationRun) -> f64 {
    run.services
        .iter()
        .find(|r| r.name == NAME)
        .and_then(|r| r.usage.as_ref())
        .map(|u| u.cpu_percent)
        .expect("the container's usage")
}

#[tokio::test]
async fn cpu_is_the_current_rate_or_the_callers_live_sample_and_says_which() {
    let _cleanup = Cleanup::containers(&[NAME]);
    remove_containers(&[NAME]);
    // Busy for its first 3 s, idle after: its average since it started stays
    // far above zero for a long while, its current use is about zero.
    podman(&[
        "run",
        "-d",
        "--name",
        NAME,
        "--label",
        "stackwarden.test=it",
        "localhost/sw-test-busybox:latest",
        "sh",
        "-c",
        "timeout -s KILL 3 sh -c 'while :; do :; done'; exec sleep 1000",
    ]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let stack = stack();

    // The CLI's case: rows without usage. Two samples a second apart.
    let (engine, rows) = engine_and_rows().await;
    assert!(rows[0].usage.is_none());
    let sampled = run(&stack, engine.clone(), rows.clone()).await;
    let check = resources(&sampled);
    let cpu = cpu_of(&sampled);
    assert!(
        cpu < 5.0,
        "idle now, so about 0% (the average since start would be far higher): {cpu} in {}",
        check.evidence
    );
    assert!(
        check.evidence.contains("(over 1.") || check.evidence.contains("(over 2."),
        "says it is a rate over about {CPU_WINDOW:?}: {}",
        check.evidence
    );
    assert!(
        check.duration_ms >= 1000.0,
        "two samples a second apart: {} ms",
        check.duration_ms
    );

    // One sample, as before: the average since the start is what it gives,
    // which shows what the two samples avoid.
    let mut once = rows.clone();
    engine
        .sample(&mut once, &mut Default::default())
        .await
        .unwrap();
    let since_start = once[0].usage.as_ref().unwrap().cpu_percent;
    assert!(
        since_start > cpu + 5.0,
        "one sample gives the average since start ({since_start}), above the current {cpu}"
    );

    // The app's case: the monitor's live sample is used as it is.
    let mut live = rows.clone();
    live[0].usage = Some(ResourceUsage {
        cpu_percent: 42.42,
        memory_used_bytes: 1_000_000,
        memory_limit_bytes: 1_000_000_000,
        sampled_at_ms: now_ms() - 1000,
    });
    let from_live = run(&stack, engine.clone(), live.clone()).await;
    let check = resources(&from_live);
    assert!(
        check.evidence.contains("CPU 42.4% (live, sampled 1s ago)"),
        "{}",
        check.evidence
    );
    assert_eq!(cpu_of(&from_live), 42.42);
    assert!(
        check.duration_ms < 1000.0,
        "nothing sampled: {} ms",
        check.duration_ms
    );

    // A stale sample (the window was hidden) is measured again.
    live[0].usage.as_mut().unwrap().sampled_at_ms = now_ms() - 120_000;
    let stale = run(&stack, engine, live).await;
    let check = resources(&stale);
    assert!(check.evidence.contains("(over "), "{}", check.evidence);
    assert!(cpu_of(&stale) < 5.0, "{}", check.evidence);
}
