//! The runtime's telemetry follower against real files written while it
//! runs, with real SQLite and the real engine: appends, a partial line
//! completed later, rotation, truncation and every kind of bad line are
//! counted exactly; a restart resumes without counting a line twice; an
//! alert of the stack file marks its service degraded while it holds, which
//! opens an incident.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_health::ServiceStatus;
use stackwarden_model::clock::now_ms;
use stackwarden_model::Config;
use stackwarden_runtime::{Runtime, RuntimeOptions};
use stackwarden_stack::StackSource;
use stackwarden_testkit::{eventually, wait_for, TestContainer};

const NAME: &str = "sw-tele-aidb";

fn stack(dir: &Path, alert: &str) -> String {
    stack_in(&dir.join("telemetry"), alert)
}

fn stack_in(telemetry: &Path, alert: &str) -> String {
    format!(
        "name: tele\nx-stackwarden:\n  groups:\n    core: {{ required: true }}\n  verify:\n    telemetry:\n      dir: {}\n      files: [aidb-events.jsonl, hybrid-events.jsonl]\n      fields: {{ latency_ms: took }}\n{alert}services:\n  aidb:\n    image: localhost/sw-test-busybox:latest\n    container_name: {NAME}\n    x-stackwarden: {{ group: core }}\n",
        telemetry.display()
    )
}

async fn start(dir: &Path) -> Runtime {
    let mut options = RuntimeOptions::from_config(
        Config::default(),
        candidates(None, &Environment::current()),
        "test runtime",
    );
    options.data_dir = Some(dir.join("data"));
    options.stack = StackSource::file(dir.join("stack.yaml"));
    options.telemetry_every = Duration::from_millis(200);
    Runtime::start(options).await.unwrap()
}

fn append(path: &Path, text: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text).unwrap();
}

fn line(at_ms: i64, failed: bool) -> String {
    format!(
        "{{\"timestamp\":{at_ms},\"event\":\"tool_call\",\"service\":\"aidb\",\"took\":12,\"status\":\"{}\"}}\n",
        if failed { "error" } else { "ok" }
    )
}

/// (events, malformed) recorded for `file`.
async fn counted(runtime: &Runtime, file: &str) -> (u64, u64) {
    let report = runtime.telemetry_report(0).await.unwrap();
    report
        .files
        .iter()
        .find(|f| f.file == file)
        .map_or((0, 0), |f| (f.events_total, f.malformed_total))
}

async fn until_counted(runtime: &Runtime, file: &str, want: (u64, u64)) {
    let mut last = (0, 0);
    eventually(
        &format!("{file} counted {want:?}"),
        Duration::from_secs(20),
        async || {
            last = counted(runtime, file).await;
            (last == want).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_written_while_it_runs_are_counted_exactly_and_a_restart_resumes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), stack(dir.path(), "")).unwrap();
    let runtime = start(dir.path()).await;
    // No folder yet: a state, not an error.
    eventually("folder missing", Duration::from_secs(20), async || {
        let live = runtime.telemetry_live();
        live.files
            .iter()
            .any(|f| f.state == "folder missing")
            .then_some(())
    })
    .await;
    std::fs::create_dir(dir.path().join("telemetry")).unwrap();
    let aidb = dir.path().join("telemetry/aidb-events.jsonl");
    let now = now_ms();
    for i in 0..50 {
        append(&aidb, line(now - 1000 + i, i % 10 == 0).as_bytes());
    }
    until_counted(&runtime, "aidb-events.jsonl", (50, 0)).await;

    // A line written in two parts counts once, when it is whole.
    let partial = line(now, false);
    append(&aidb, &partial.as_bytes()[..20]);
    tokio::time::sleep(Duration::from_millis(600)).await;
    append(&aidb, &partial.as_bytes()[20..]);
    until_counted(&runtime, "aidb-events.jsonl", (51, 0)).await;

    // Bad lines of every kind, among good ones.
    append(
        &aidb,
        b"not json\n{\"event\":\"no time\"}\n\x00\xff binary\n",
    );
    append(&aidb, &vec![b'x'; 10 * 1024 * 1024]);
    append(&aidb, b"\n");
    append(&aidb, line(now, false).as_bytes());
    until_counted(&runtime, "aidb-events.jsonl", (52, 4)).await;

    // Rotation: the old file's last line, then the new file.
    append(&aidb, line(now, false).as_bytes());
    std::fs::rename(&aidb, dir.path().join("telemetry/aidb-events.jsonl.1")).unwrap();
    append(
        &aidb,
        (0..5)
            .map(|_| line(now, false))
            .collect::<String>()
            .as_bytes(),
    );
    until_counted(&runtime, "aidb-events.jsonl", (58, 4)).await;

    // Truncation: read again from the start.
    std::fs::write(&aidb, line(now, true)).unwrap();
    until_counted(&runtime, "aidb-events.jsonl", (59, 4)).await;

    // Stop, write while nobody watches, start again: only the new lines count.
    runtime.stop().await;
    append(
        &aidb,
        (0..7)
            .map(|_| line(now, false))
            .collect::<String>()
            .as_bytes(),
    );
    let again = start(dir.path()).await;
    until_counted(&again, "aidb-events.jsonl", (66, 4)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(counted(&again, "aidb-events.jsonl").await, (66, 4));

    let report = again.telemetry_report(now - 3_600_000).await.unwrap();
    let total: u64 = report.totals.iter().map(|t| t.count).sum();
    assert_eq!(
        total, 66,
        "lines read before a truncation stay counted; {report:#?}"
    );
    let file = &report
        .files
        .iter()
        .find(|f| f.file == "aidb-events.jsonl")
        .unwrap();
    assert_eq!(file.bad_lines.len(), 4);
    assert!(file
        .bad_lines
        .iter()
        .any(|b| b.reason.starts_with("longer than")));
    assert!(
        report.totals[0]
            .p50_ms
            .is_some_and(|p| (11.0..13.5).contains(&p)),
        "{report:#?}"
    );
    let live = again.telemetry_live();
    assert!(!live.recent.is_empty());

    // Another folder's file of the same name is another file: its own
    // cursor and counts, and going back does not read the first one twice.
    let other_dir = dir.path().join("telemetry-2");
    std::fs::create_dir(&other_dir).unwrap();
    let other = other_dir.join("aidb-events.jsonl");
    append(
        &other,
        (0..3)
            .map(|_| line(now, false))
            .collect::<String>()
            .as_bytes(),
    );
    std::fs::write(dir.path().join("stack.yaml"), stack_in(&other_dir, "")).unwrap();
    let by_path = async |path: &Path| {
        let report = again.telemetry_report(0).await.unwrap();
        report
            .files
            .iter()
            .find(|f| f.path == path.display().to_string())
            .map(|f| (f.file.clone(), f.events_total))
    };
    eventually(
        "the other folder's file counted",
        Duration::from_secs(20),
        async || {
            (by_path(&other).await == Some(("aidb-events.jsonl".to_string(), 3))).then_some(())
        },
    )
    .await;
    std::fs::write(dir.path().join("stack.yaml"), stack(dir.path(), "")).unwrap();
    append(&aidb, line(now, false).as_bytes());
    until_counted_at(&again, &aidb, 67).await;
    assert_eq!(by_path(&other).await.map(|f| f.1), Some(3));
    again.stop().await;
}

async fn until_counted_at(runtime: &Runtime, path: &Path, want: u64) {
    eventually(
        &format!("{} counted {want}", path.display()),
        Duration::from_secs(20),
        async || {
            let report = runtime.telemetry_report(0).await.ok()?;
            report
                .files
                .iter()
                .any(|f| f.path == path.display().to_string() && f.events_total == want)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_marks_its_service_degraded_while_it_holds() {
    let _container = TestContainer::run(NAME, &[], &["sleep", "3600"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("telemetry")).unwrap();
    let aidb = dir.path().join("telemetry/aidb-events.jsonl");
    // Five past minutes with one error in five.
    let minute = now_ms().div_euclid(60_000) * 60_000;
    let mut text = String::new();
    for back in 1..=5 {
        for i in 0..20 {
            text.push_str(&line(minute - back * 60_000 + i * 100, i % 5 == 0));
        }
    }
    append(&aidb, text.as_bytes());
    std::fs::write(
        dir.path().join("stack.yaml"),
        stack(
            dir.path(),
            "      alerts:\n        - { service: aidb, when: \"[ERROR_RATE] > 5% for 5m\" }\n",
        ),
    )
    .unwrap();
    let runtime = start(dir.path()).await;
    let mut state = runtime.state();
    let seen = wait_for(
        &mut state,
        "aidb degraded by the alert",
        Duration::from_secs(30),
        |s| s.service_status("aidb") == Some(ServiceStatus::Degraded),
    )
    .await;
    let reason = seen
        .health
        .breakdown
        .as_ref()
        .and_then(|b| b.services.iter().find(|s| s.service == "aidb"))
        .map(|s| s.reason.clone())
        .unwrap_or_default();
    assert!(
        reason
            .starts_with("telemetry alert: [ERROR_RATE] > 5% for 5m in each of the last 5 minutes"),
        "{reason}"
    );
    let live = runtime.telemetry_live();
    assert!(live.alerts[0].holding, "{live:#?}");
    wait_for(
        &mut state,
        "an incident for aidb",
        Duration::from_secs(20),
        |s| {
            s.status
                .incidents
                .iter()
                .any(|i| i.affected.iter().any(|a| a.service == "aidb"))
        },
    )
    .await;
    let report = runtime.telemetry_report(minute - 600_000).await.unwrap();
    assert_eq!(report.bursts.len(), 1, "{:#?}", report.bursts);
    assert_eq!(
        report.bursts[0].to_ms - report.bursts[0].from_ms,
        5 * 60_000
    );

    // Calm again: a stack file without the alert clears the mark.
    std::fs::write(dir.path().join("stack.yaml"), stack(dir.path(), "")).unwrap();
    wait_for(&mut state, "aidb healthy", Duration::from_secs(30), |s| {
        s.service_status("aidb") == Some(ServiceStatus::Healthy)
    })
    .await;
    runtime.stop().await;
}
