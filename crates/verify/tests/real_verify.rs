//! Verification against the real test stack: Podman, PostgreSQL and Redis in
//! containers with their data in named volumes (tests/support/engine.sh
//! databases), an HTTP service answering the AIDB health shape, a worker
//! container and telemetry files. First everything passes; then a required
//! table goes, a container stops, the endpoint answers "degraded" and a
//! telemetry file is removed: exactly those checks fail, with evidence.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::collections::BTreeSet;
use std::process::Command;

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_engine::{connect, Engine};
use stackwarden_health::{CheckStatus, VerificationRun};
use stackwarden_model::EndpointAttempt;
use stackwarden_probes::ProbeRunner;
use stackwarden_stack::{parse, Stack};
use stackwarden_testkit::{podman, remove_containers};
use stackwarden_verify::{verify, NoEngine, VerifyInput};

const PORT: u16 = 18193;
const WEB: &str = "sw-verify-web";
const WORKER: &str = "sw-verify-worker";

fn psql(sql: &str) {
    podman(&[
        "exec",
        "sw-db-postgres",
        "su",
        "postgres",
        "-c",
        &format!("psql -q -d mcp -c '{sql}'"),
    ]);
}

/// Removes the test's containers and restores the table when dropped.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        remove_containers(&[WEB, WORKER]);
        let _ = Command::new("podman")
            .args(["exec", "sw-db-postgres", "su", "postgres", "-c",
                   "psql -q -d mcp -c 'ALTER TABLE IF EXISTS sw_gone_tool_registry RENAME TO tool_registry'"])
            .output();
    }
}

fn stack() -> Stack {
    let text = format!(
        r#"name: verify-test
x-stackwarden:
  groups:
    core: {{ label: Core Infrastructure, required: true }}
    agents: {{ label: Agent Backends, required: false }}
  verify:
    telemetry:
      dir: ~/telemetry
      files: [aidb-events.jsonl, hybrid-events.jsonl]
      fresh_within: 1h
services:
  aidb:
    image: localhost/sw-test-busybox:latest
    container_name: {WEB}
    x-stackwarden:
      group: core
      probes:
        - name: health
          http: {{ url: "http://127.0.0.1:{PORT}/health" }}
          timeout: 2s
          conditions: ["[STATUS] == 200", "[BODY].status == ok", "[BODY].pgvector == ok"]
  worker:
    image: localhost/sw-test-busybox:latest
    container_name: {WORKER}
    x-stackwarden: {{ group: core }}
  postgres:
    image: localhost/sw-test-db:latest
    container_name: sw-db-postgres
    volumes: ["sw-test-pgdata:/var/lib/postgresql/sw-data"]
    x-stackwarden:
      group: core
      probes:
        - name: schema
          postgres:
            url: "postgres://mcp@127.0.0.1:15432/mcp"
            password_env: SW_TEST_PG_PASSWORD
            tables: [document_embeddings, imported_documents, open_skills, points_of_interest, system_registry, telemetry_events, tool_registry]
          timeout: 3s
  redis:
    image: localhost/sw-test-db:latest
    container_name: sw-db-redis
    volumes: ["sw-test-redisdata:/data"]
    x-stackwarden:
      group: core
      probes:
        - name: ping
          redis: {{ url: "redis://127.0.0.1:16379", require_persistence: true }}
  aider:
    image: docker.io/paulgauthier/aider:latest
    container_name: sw-verify-aider
    x-stackwarden: {{ group: agents }}
"#
    );
    parse(&text, "verify-test.yaml").unwrap()
}

async fn run(stack: &Stack, home: &std::path::Path) -> VerificationRun {
    let engine = Engine::new(
        connect(&candidates(None, &Environment::current()))
            .await
            .expect("engine"),
    )
    .await;
    let rows = engine
        .inspect_rows(&engine.list_ids().await.unwrap())
        .await
        .unwrap();
    let runner = ProbeRunner::new();
    verify(VerifyInput {
        stack,
        engine: Ok(engine),
        rows,
        runner: &runner,
        home: Some(home.to_path_buf()),
        progress: None,
        ever_deployed: Default::default(),
        cpu_window: stackwarden_verify::CPU_WINDOW,
    })
    .await
}

fn failed(run: &VerificationRun) -> BTreeSet<String> {
    run.results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .map(|r| r.id.clone())
        .collect()
}

fn evidence<'a>(run: &'a VerificationRun, id: &str) -> &'a str {
    &run.results.iter().find(|r| r.id == id).unwrap().evidence
}

#[tokio::test]
async fn exactly_the_broken_things_fail_with_evidence() {
    // The password of the test database (tests/support/engine.sh).
    std::env::set_var("SW_TEST_PG_PASSWORD", "sw-test-pw");
    let _cleanup = Cleanup;
    let home = tempfile::tempdir().unwrap();
    let www = tempfile::tempdir().unwrap();
    let health = www.path().join("health");
    std::fs::write(
        &health,
        r#"{"status":"ok","database":"ok","redis":"ok","ml_engine":"ok","pgvector":"ok"}"#,
    )
    .unwrap();
    std::fs::create_dir(home.path().join("telemetry")).unwrap();
    for f in ["aidb-events.jsonl", "hybrid-events.jsonl"] {
        std::fs::write(
            home.path().join("telemetry").join(f),
            "{\"event\":\"tool_call\"}\n",
        )
        .unwrap();
    }
    remove_containers(&[WEB, WORKER]);
    podman(&[
        "run",
        "-d",
        "--name",
        WEB,
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
    podman(&[
        "run",
        "-d",
        "--name",
        WORKER,
        "--label",
        "stackwarden.test=it",
        "localhost/sw-test-busybox:latest",
        "sleep",
        "infinity",
    ]);
    let stack = stack();

    let good = run(&stack, home.path()).await;
    assert_eq!(failed(&good), BTreeSet::new(), "{:#?}", good.results);
    assert!(good.ok());
    assert_eq!(good.skipped, 0, "{:#?}", good.results);
    let ids: Vec<&str> = good.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "engine",
            "running:aidb",
            "running:postgres",
            "running:redis",
            "running:worker",
            "probe:aidb:health",
            "probe:postgres:schema",
            "probe:redis:ping",
            "telemetry",
            "resources",
            "volumes:postgres",
            "volumes:redis",
        ]
    );
    assert!(evidence(&good, "volumes:postgres")
        .contains("volume sw-test-pgdata → /var/lib/postgresql/sw-data"));
    assert!(evidence(&good, "probe:postgres:schema")
        .contains("✓ table tool_registry exists (saw present)"));
    assert!(evidence(&good, "telemetry").contains("aidb-events.jsonl: 22B, written"));
    assert!(
        evidence(&good, "resources").contains("postgres "),
        "{}",
        evidence(&good, "resources")
    );
    assert!(good
        .results
        .iter()
        .all(|r| r.duration_ms >= 0.0 && r.duration_ms < 3000.0));
    let b = good.breakdown.as_ref().unwrap();
    assert_eq!((b.groups[0].healthy, b.groups[0].total), (4, 4));
    assert_eq!(good.probe_runs.len(), 3);
    assert!(good
        .services
        .iter()
        .any(|s| s.name == "sw-db-postgres" && s.usage.is_some()));

    // Break four things.
    psql("ALTER TABLE tool_registry RENAME TO sw_gone_tool_registry");
    podman(&["stop", "-t", "0", WORKER]);
    std::fs::write(
        &health,
        r#"{"status":"degraded","database":"ok","redis":"ok","ml_engine":"ok","pgvector":"ok"}"#,
    )
    .unwrap();
    std::fs::remove_file(home.path().join("telemetry/hybrid-events.jsonl")).unwrap();

    let bad = run(&stack, home.path()).await;
    let expected: BTreeSet<String> = [
        "running:worker",
        "probe:postgres:schema",
        "probe:aidb:health",
        "telemetry",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(failed(&bad), expected, "{:#?}", bad.results);
    assert_eq!(bad.required_failed, 4);
    assert!(!bad.ok());
    assert!(
        evidence(&bad, "running:worker").starts_with("sw-verify-worker exited"),
        "{}",
        evidence(&bad, "running:worker")
    );
    assert!(evidence(&bad, "probe:postgres:schema")
        .contains("✗ table tool_registry exists (saw missing)"));
    assert!(
        evidence(&bad, "probe:aidb:health").contains("✗ [BODY].status == ok (saw \"degraded\")"),
        "{}",
        evidence(&bad, "probe:aidb:health")
    );
    assert!(evidence(&bad, "telemetry").contains("hybrid-events.jsonl: missing"));
    let hint = &bad
        .results
        .iter()
        .find(|r| r.id == "running:worker")
        .unwrap()
        .hint;
    assert!(
        hint.starts_with("Start it: podman start sw-verify-worker"),
        "{hint}"
    );
}

#[tokio::test]
async fn without_an_engine_the_engine_check_fails_and_container_checks_are_skipped() {
    let runner = ProbeRunner::new();
    let home = tempfile::tempdir().unwrap();
    let stack = stack();
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let run = verify(VerifyInput {
        stack: &stack,
        engine: Err(NoEngine::Unreachable {
            attempts: vec![EndpointAttempt {
                endpoint: "unix:///nowhere.sock".into(),
                source: "--host".into(),
                error: "no socket at /nowhere.sock".into(),
            }],
        }),
        rows: Vec::new(),
        runner: &runner,
        home: Some(home.path().to_path_buf()),
        progress: Some(tx),
        ever_deployed: Default::default(),
        cpu_window: stackwarden_verify::CPU_WINDOW,
    })
    .await;
    let mut live = 0;
    while rx.try_recv().is_ok() {
        live += 1;
    }
    assert_eq!(
        live,
        run.results.len(),
        "every result was reported as it finished"
    );
    let status = |id: &str| run.results.iter().find(|r| r.id == id).unwrap().status;
    assert_eq!(status("engine"), CheckStatus::Fail);
    let engine = run.results.iter().find(|r| r.id == "engine").unwrap();
    assert_eq!(
        engine.evidence,
        "no container engine answered; tried unix:///nowhere.sock (--host): no socket at /nowhere.sock"
    );
    assert!(
        engine.hint.contains("podman system service"),
        "{}",
        engine.hint
    );
    assert_eq!(status("running:postgres"), CheckStatus::Skipped);
    assert_eq!(status("resources"), CheckStatus::Skipped);
    assert_eq!(status("volumes:postgres"), CheckStatus::Skipped);
    assert!(run.breakdown.is_none());
    assert!(!run.ok());
}
