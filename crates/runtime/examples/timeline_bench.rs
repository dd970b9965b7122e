//! The timeline benchmark (docs/benchmarks.md, issue 10), run by
//! `bench/timeline.sh`:
//!
//! - `generate DIR [DAYS] [SERVICES]`: records DAYS (7) of SERVICES (20)
//!   services probed every 30 s into a real database in DIR through the
//!   store's own writes: every probe run, the status changes of a failure
//!   every few hours per service with the incidents they make (evidence
//!   with 50 log lines each), a restart action and a verification marker
//!   per incident, heartbeats and two gaps; writes `DIR/stack.yaml` naming
//!   the services; prints the database size per day.
//! - `query DIR [RUNS]`: the window's `timeline` command in-process (the
//!   runtime's `timeline` over 24 h and 7 d, serialised to JSON as the IPC
//!   does), RUNS (21) times each; prints the medians.
//! - `catchup SOCKET STACK [RUNS]`: catching up on the engine's past events
//!   from the Podman API service at SOCKET for the containers of the
//!   stack file STACK, into a new database each run; prints the events read,
//!   how long reading them and recording the incidents took (medians).

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a failure ends it

use std::path::Path;
use std::time::{Duration, Instant};

use stackwarden_engine::{connect, Candidate, Engine};
use stackwarden_health::{ProbeOutcome, ProbeRun, ServiceStatus, StatusTransition};
use stackwarden_incidents::{Change, IncidentTracker, Signal};
use stackwarden_model::clock::now_ms;
use stackwarden_model::Config;
use stackwarden_runtime::{replay_engine_events, Runtime, RuntimeOptions};
use stackwarden_stack::StackSource;
use stackwarden_store::{ActionRecord, Evidence, Gap, Retention, Store, DATABASE_FILE};

const PROBE_EVERY_MS: i64 = 30_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn retention() -> Retention {
    Retention {
        max_age: Duration::from_secs(8 * 24 * 3600),
        max_per_container: u32::MAX,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn service_name(i: usize) -> String {
    format!("svc{:02}", i + 1)
}

fn database_bytes(dir: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(dir.join(format!("{DATABASE_FILE}{suffix}"))).ok())
        .map(|m| m.len())
        .sum()
}

async fn generate(dir: &Path, days: i64, services: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut yaml = String::from(
        "name: bench\nx-stackwarden:\n  groups:\n    core: { required: true }\nservices:\n",
    );
    for i in 0..services {
        let name = service_name(i);
        yaml.push_str(&format!(
            "  {name}:\n    image: localhost/sw-test-busybox:latest\n    container_name: sw-bench-{name}\n    x-stackwarden: {{ group: core }}\n"
        ));
    }
    std::fs::write(dir.join("stack.yaml"), yaml).unwrap();

    let store = Store::open(dir, retention()).await.unwrap();
    let end = now_ms();
    let start = end - days * DAY_MS;
    let started = Instant::now();
    let mut tracker = IncidentTracker::new(Default::default());
    let mut ids = std::collections::HashMap::new();
    let mut runs = 0u64;
    let mut transitions = 0u64;
    let mut incidents = 0u64;
    let log: String = (1..=50)
        .map(|n| format!("2026-11-30T10:00:{n:02}Z worker {n}: request handled in 12 ms, queue 3"))
        .collect::<Vec<_>>()
        .join("\n");
    for name in (0..services).map(service_name) {
        store
            .record_transitions(
                start,
                &[StatusTransition {
                    service: name,
                    from: None,
                    to: ServiceStatus::Healthy,
                    reason: "every probe passes".into(),
                }],
            )
            .await
            .unwrap();
        transitions += 1;
    }
    // Each service fails about every 8 hours (offset per service) for 2 to
    // 6 minutes: down, then healthy again.
    let mut failures: Vec<(i64, usize, i64)> = Vec::new();
    for i in 0..services {
        let offset = (i as i64) * 23 * 60_000;
        let mut t = start + offset + 3 * HOUR_MS;
        let mut k = 0i64;
        while t < end - HOUR_MS {
            failures.push((t, i, 120_000 + (k % 3) * 120_000));
            t += 8 * HOUR_MS + (k % 5) * 600_000;
            k += 1;
        }
    }
    failures.sort();
    let mut batch = Vec::with_capacity(4096);
    let mut t = start;
    let mut next_failure = 0;
    let mut recoveries: Vec<(i64, usize)> = Vec::new();
    while t < end {
        for i in 0..services {
            batch.push(ProbeRun {
                service: service_name(i),
                at_ms: t + i as i64 * 100,
                duration_ms: 2.0 + (i % 7) as f64,
                outcome: ProbeOutcome {
                    probe: "health".into(),
                    success: true,
                    conditions: Vec::new(),
                    error: None,
                },
            });
        }
        runs += services as u64;
        if batch.len() >= 4000 {
            store.record_probe_runs(&batch).await.unwrap();
            batch.clear();
        }
        // Status changes and incidents due by now, in time order.
        let mut due: Vec<(i64, usize, ServiceStatus)> = Vec::new();
        while next_failure < failures.len() && failures[next_failure].0 <= t {
            let (at, i, lasts) = failures[next_failure];
            due.push((at, i, ServiceStatus::Down));
            recoveries.push((at + lasts, i));
            next_failure += 1;
        }
        recoveries.retain(|&(at, i)| {
            if at <= t {
                due.push((at, i, ServiceStatus::Healthy));
                false
            } else {
                true
            }
        });
        due.sort_by_key(|d| d.0);
        for (at, i, to) in due {
            let service = service_name(i);
            let reason = if to == ServiceStatus::Down {
                "container exited (137)".to_string()
            } else {
                "every probe passes".to_string()
            };
            store
                .record_transitions(
                    at,
                    &[StatusTransition {
                        service: service.clone(),
                        from: None,
                        to,
                        reason: reason.clone(),
                    }],
                )
                .await
                .unwrap();
            transitions += 1;
            for change in tracker.apply(Signal::Status {
                at_ms: at,
                required: true,
                service: service.clone(),
                to,
                reason: reason.clone(),
            }) {
                let (Change::Opened(inc) | Change::Updated(inc) | Change::Closed(inc)) = &change;
                let id = store
                    .save_incident(ids.get(&inc.key).copied(), inc)
                    .await
                    .unwrap();
                ids.insert(inc.key, id);
                if let Change::Opened(_) = change {
                    incidents += 1;
                    for (kind, text) in [
                        ("status", reason.clone()),
                        (
                            "container",
                            format!("sw-bench-{service} exited, exit code 137, restarted 0 times"),
                        ),
                        ("logs", log.clone()),
                    ] {
                        store
                            .add_evidence(
                                id,
                                &Evidence {
                                    at_ms: at,
                                    kind: kind.into(),
                                    service: Some(service.clone()),
                                    text,
                                },
                            )
                            .await
                            .unwrap();
                    }
                    store
                        .record_action(&ActionRecord {
                            at_ms: at + 60_000,
                            source: "window".into(),
                            action: "restart".into(),
                            service: Some(service.clone()),
                            ok: true,
                            result: format!("restart sw-bench-{service}: done"),
                        })
                        .await
                        .unwrap();
                }
            }
        }
        if (t - start) % (6 * HOUR_MS) == 0 {
            store
                .record_action(&ActionRecord {
                    at_ms: t,
                    source: "cli".into(),
                    action: "verify".into(),
                    service: None,
                    ok: true,
                    result: "verification: 40 passed, 0 failed (0 required), 2 skipped".into(),
                })
                .await
                .unwrap();
        }
        if (t - start) % 300_000 == 0 {
            store.heartbeat(t).await.unwrap();
        }
        t += PROBE_EVERY_MS;
    }
    store.record_probe_runs(&batch).await.unwrap();
    for (from, hours) in [(start + 2 * DAY_MS, 2), (start + 5 * DAY_MS, 1)] {
        store
            .record_gap(&Gap {
                from_ms: from,
                to_ms: from + hours * HOUR_MS,
                reason: "Stackwarden was not watching".into(),
            })
            .await
            .unwrap();
    }
    store.heartbeat(end).await.unwrap();
    store.close().await;
    let bytes = database_bytes(dir);
    println!(
        "generated {days} days of {services} services in {:.1} s: {runs} probe runs, {transitions} status changes, {incidents} incidents",
        started.elapsed().as_secs_f64()
    );
    println!(
        "database: {:.1} MB, {:.1} MB per day of recording",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / days as f64
    );
}

async fn query(dir: &Path, runs: usize) {
    let mut options = RuntimeOptions::from_config(Config::default(), Vec::new(), "timeline bench");
    options.data_dir = Some(dir.to_path_buf());
    options.stack = StackSource::file(dir.join("stack.yaml"));
    let runtime = Runtime::start(options).await.unwrap();
    for (label, span) in [("24 h", DAY_MS), ("7 d", 7 * DAY_MS)] {
        let mut total = Vec::new();
        let mut bytes = 0;
        let mut lanes = 0;
        let mut incidents = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let data = runtime.timeline(span).await.unwrap();
            let json = serde_json::to_string(&data).unwrap();
            total.push(started.elapsed().as_secs_f64() * 1000.0);
            bytes = json.len();
            lanes = data.lanes.len();
            incidents = data.incidents.len();
        }
        println!(
            "timeline {label}: median {:.1} ms (min {:.1}, max {:.1}, {runs} runs): {lanes} lanes, {incidents} incidents, {:.0} kB of JSON",
            median(total.clone()),
            total.iter().copied().fold(f64::MAX, f64::min),
            total.iter().copied().fold(0.0, f64::max),
            bytes as f64 / 1e3
        );
    }
    runtime.stop().await;
}

async fn catchup(socket: &str, stack_file: &Path, runs: usize) {
    let connection = connect(&[Candidate {
        endpoint: format!("unix://{socket}"),
        source: "bench".into(),
    }])
    .await
    .expect("the benchmark's Podman API service");
    let engine = Engine::new(connection).await;
    let text = std::fs::read_to_string(stack_file).unwrap();
    let stack = stackwarden_stack::parse(&text, &stack_file.display().to_string()).unwrap();
    let started = now_ms();
    let (mut read, mut record) = (Vec::new(), Vec::new());
    let mut events = 0;
    let mut incidents = 0;
    for _ in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), retention()).await.unwrap();
        let done = replay_engine_events(
            &store,
            &engine,
            &stack,
            Default::default(),
            started - 2 * DAY_MS,
            started,
        )
        .await;
        store.close().await;
        read.push(done.read_ms);
        record.push(done.record_ms);
        events = done.events;
        incidents = done.incidents;
    }
    let sum: Vec<f64> = read.iter().zip(&record).map(|(a, b)| a + b).collect();
    println!(
        "catch-up: {events} events of the stack's containers -> {incidents} incidents; read {:.0} ms + recorded {:.0} ms = {:.0} ms (medians of {runs}; min total {:.0}, max {:.0})",
        median(read),
        median(record),
        median(sum.clone()),
        sum.iter().copied().fold(f64::MAX, f64::min),
        sum.iter().copied().fold(0.0, f64::max)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("generate") => {
            generate(
                Path::new(arg(1).expect("DIR")),
                arg(2).map_or(7, |d| d.parse().expect("DAYS")),
                arg(3).map_or(20, |s| s.parse().expect("SERVICES")),
            )
            .await
        }
        Some("query") => {
            query(
                Path::new(arg(1).expect("DIR")),
                arg(2).map_or(21, |r| r.parse().expect("RUNS")),
            )
            .await
        }
        Some("catchup") => {
            catchup(
                arg(1).expect("SOCKET"),
                Path::new(arg(2).expect("STACK")),
                arg(3).map_or(5, |r| r.parse().expect("RUNS")),
            )
            .await
        }
        _ => {
            eprintln!("usage: timeline_bench generate DIR [DAYS] [SERVICES] | query DIR [RUNS] | catchup SOCKET STACK [RUNS]");
            std::process::exit(64);
        }
    }
}
