//! The typed probes against running services, no mocks: llama.cpp and
//! Qdrant stand-ins serving the JSON shapes of their documented APIs
//! (tests/support/llama, tests/support/qdrant; no model weights or Qdrant
//! build can be fetched here), a real MCP server from the official Python
//! SDK (tests/support/mcp/server.py, from the e2e venv) and a service that
//! answers `/health` but is no MCP server (tests/support/mcp/not_mcp.py).
//! Each is started on a free port by the test and stopped by its PID.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

mod common;

use std::time::Duration;

use common::{failing, probes};
use stackwarden_probes::{ProbeRunner, ProbeValues, Probed};
use stackwarden_testkit::{venv_python, StandIn};

async fn probe(yaml: &str) -> Probed {
    ProbeRunner::new()
        .run_with_values(&probes(yaml)[0], None)
        .await
}

fn llama_values(p: &Probed) -> stackwarden_probes::LlamaValues {
    match &p.values {
        Some(ProbeValues::Llama(v)) => v.clone(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn llama_with_a_model_gives_its_slots_context_and_throughput() {
    let server = StandIn::python3(
        "tests/support/llama/server.py",
        &[
            "--metrics",
            "--slots",
            "4",
            "--busy",
            "1",
            "--ctx",
            "8192",
            "--tps",
            "42.5",
        ],
    );
    let seen = probe(&format!(
        "        - llama: {{url: \"{}\"}}\n          conditions: [\"[SLOTS_BUSY] < 4\", \"[N_CTX] >= 8192\", \"[TOKENS_PER_SECOND] > 10\", \"[MODEL].n_params > 1000000\"]\n",
        server.url("")
    ))
    .await;
    assert!(seen.outcome.success, "{:#?}", seen.outcome);
    assert_eq!(
        seen.outcome.conditions[0].observed,
        "/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf"
    );
    let v = llama_values(&seen);
    assert_eq!(
        (v.n_ctx, v.slots_total, v.slots_busy, v.metrics),
        (Some(8192), Some(4), Some(1), true)
    );
    assert_eq!(v.tokens_per_second, Some(42.5));
    assert_eq!(v.prompt_tokens_per_second, Some(310.25));
    assert_eq!(
        (v.requests_processing, v.requests_deferred),
        (Some(1.0), Some(0.0))
    );
    let model = v.model.unwrap();
    assert_eq!(model.n_params, Some(7_615_616_512));
    assert_eq!(model.n_ctx_train, Some(32768));
    // A condition on what is not so fails with what was seen.
    let busy = probe(&format!(
        "        - llama: {{url: \"{}\"}}\n          conditions: [\"[SLOTS_BUSY] == 0\"]\n",
        server.url("/")
    ))
    .await;
    assert_eq!(
        failing(&busy.outcome),
        [("[SLOTS_BUSY] == 0".to_string(), "1".to_string())]
    );
}

#[tokio::test]
async fn llama_without_metrics_is_healthy_and_says_metrics_are_off() {
    let server = StandIn::python3("tests/support/llama/server.py", &["--busy", "0"]);
    let seen = probe(&format!(
        "        - llama: {{url: \"{}\"}}\n",
        server.url("")
    ))
    .await;
    assert!(seen.outcome.success, "{:#?}", seen.outcome);
    let v = llama_values(&seen);
    assert!(!v.metrics);
    assert_eq!((v.tokens_per_second, v.slots_busy), (None, Some(0)));
}

#[tokio::test]
async fn llama_with_no_model_loaded_fails_though_health_says_ok() {
    let server = StandIn::python3("tests/support/llama/server.py", &["--no-model"]);
    let health = probe(&format!(
        "        - http: {{url: \"{}\"}}\n          conditions: [\"[STATUS] == 200\"]\n",
        server.url("/health")
    ))
    .await;
    assert!(health.outcome.success, "the stand-in's /health says ok");
    let seen = probe(&format!(
        "        - llama: {{url: \"{}\"}}\n",
        server.url("")
    ))
    .await;
    assert!(!seen.outcome.success);
    assert_eq!(seen.outcome.error, None, "not an error: a state");
    assert_eq!(
        failing(&seen.outcome),
        [(
            "model loaded".to_string(),
            "no model loaded (loading)".to_string()
        )]
    );
    assert_eq!(llama_values(&seen).model, None);
}

#[tokio::test]
async fn llama_that_is_not_there_is_an_error() {
    let seen =
        probe("        - llama: {url: \"http://127.0.0.1:1\"}\n          timeout: 2s\n").await;
    assert!(!seen.outcome.success);
    assert!(
        seen.outcome
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("cannot connect to http://127.0.0.1:1/props"),
        "{:?}",
        seen.outcome.error
    );
    assert_eq!(seen.values, None);
}

#[tokio::test]
async fn qdrant_collections_give_status_and_counts_and_red_fails() {
    let server = StandIn::python3(
        "tests/support/qdrant/server.py",
        &[
            "documents:green:1234:1200",
            "skills:yellow:10:0",
            "broken:red:5",
        ],
    );
    let fine = probe(&format!(
        "        - qdrant: {{url: \"{}\", collections: [documents, skills]}}\n          conditions: [\"[COLLECTIONS].documents.points_count > 1000\"]\n",
        server.url("")
    ))
    .await;
    assert!(fine.outcome.success, "{:#?}", fine.outcome);
    let Some(ProbeValues::Qdrant(v)) = &fine.values else {
        panic!("{:?}", fine.values)
    };
    let docs = &v.collections["documents"];
    assert_eq!(
        (
            docs.status.as_str(),
            docs.points_count,
            docs.indexed_vectors_count
        ),
        ("green", Some(1234), Some(1200))
    );
    assert_eq!(v.collections["skills"].status, "yellow");
    assert!(fine
        .outcome
        .conditions
        .iter()
        .any(|c| c.condition == "collection documents is not red"
            && c.observed == "green, 1234 points"));

    let red = probe(&format!(
        "        - qdrant: {{url: \"{}\", collections: [documents, broken, gone]}}\n",
        server.url("")
    ))
    .await;
    assert!(!red.outcome.success);
    assert_eq!(
        failing(&red.outcome),
        [
            ("collection gone exists".to_string(), "missing".to_string()),
            (
                "collection broken is not red".to_string(),
                "red, 5 points".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn mcp_handshake_with_a_real_server_lists_its_tools() {
    let server = StandIn::start(&venv_python(), "tests/support/mcp/server.py", &[]);
    let seen = probe(&format!(
        "        - mcp: {{url: \"{}\"}}\n          timeout: 10s\n          conditions: [\"len([TOOLS]) >= 5\", \"[SERVER] == aidb-test\"]\n",
        server.url("/mcp")
    ))
    .await;
    assert!(seen.outcome.success, "{:#?}", seen.outcome);
    let Some(ProbeValues::Mcp(v)) = &seen.values else {
        panic!("{:?}", seen.values)
    };
    assert_eq!(
        (v.server.as_str(), v.server_version.as_str()),
        ("aidb-test", "1.2.3")
    );
    assert!(v.protocol.starts_with("20"), "{}", v.protocol);
    let mut tools = v.tools.clone();
    tools.sort();
    assert_eq!(
        tools,
        [
            "add_document",
            "get_tool_registry",
            "list_collections",
            "record_event",
            "search_documents"
        ]
    );
    assert_eq!(seen.outcome.conditions[1].observed, "5 items");

    let more = probe(&format!(
        "        - mcp: {{url: \"{}\"}}\n          timeout: 10s\n          conditions: [\"len([TOOLS]) >= 6\"]\n",
        server.url("/mcp")
    ))
    .await;
    assert_eq!(
        failing(&more.outcome),
        [("len([TOOLS]) >= 6".to_string(), "5 items".to_string())]
    );
}

#[tokio::test]
async fn a_service_healthy_over_http_that_fails_the_handshake_fails_the_mcp_probe() {
    let server = StandIn::python3("tests/support/mcp/not_mcp.py", &[]);
    let health = probe(&format!(
        "        - http: {{url: \"{}\"}}\n          conditions: [\"[STATUS] == 200\", \"[BODY].status == ok\"]\n",
        server.url("/health")
    ))
    .await;
    assert!(health.outcome.success, "{:#?}", health.outcome);
    let seen = probe(&format!(
        "        - mcp: {{url: \"{}\"}}\n          timeout: 10s\n          conditions: [\"len([TOOLS]) >= 5\"]\n",
        server.url("/mcp")
    ))
    .await;
    assert!(!seen.outcome.success);
    let error = seen.outcome.error.clone().unwrap_or_default();
    eprintln!("the handshake error reads: {error}");
    assert!(
        error.starts_with(&format!(
            "MCP handshake with {} failed: ",
            server.url("/mcp")
        )),
        "{error}"
    );
    assert_eq!(seen.values, None);
    assert_eq!(
        failing(&seen.outcome),
        [(
            "len([TOOLS]) >= 5".to_string(),
            "missing (no value [TOOLS]), not a list".to_string()
        )]
    );
}

#[tokio::test]
async fn the_scheduler_shows_what_the_last_run_read_under_the_probe() {
    use stackwarden_model::{EngineStatus, StackSnapshot};
    use stackwarden_probes::HealthScheduler;
    use stackwarden_stack::{parse, LoadedStack};
    use std::sync::Arc;
    use tokio::sync::watch;

    let server = StandIn::python3("tests/support/llama/server.py", &["--busy", "2"]);
    let yaml = format!(
        "services:\n  llama:\n    image: x\n    x-stackwarden:\n      probes:\n        - llama: {{url: \"{}\"}}\n          interval: 1s\n          timeout: 1s\n",
        server.url("")
    );
    let (_stacks_tx, stacks) = watch::channel(LoadedStack {
        stack: Some(Arc::new(parse(&yaml, "llama.yaml").unwrap())),
        source: "llama.yaml".into(),
        error: None,
    });
    let (_snapshots_tx, snapshots) = watch::channel(StackSnapshot::new(
        EngineStatus::Connecting,
        Vec::new(),
        None,
        0,
    ));
    let mut health = HealthScheduler {
        runner: ProbeRunner::new(),
        stacks,
        snapshots,
        records: None,
        ever_deployed: Default::default(),
        log_marks: None,
    }
    .spawn();
    let values = |h: &stackwarden_probes::StackHealth| h.services[0].probes[0].values.clone();
    let seen =
        stackwarden_testkit::wait_for(&mut health, "llama values", Duration::from_secs(10), |h| {
            values(h).is_some()
        })
        .await;
    let Some(ProbeValues::Llama(v)) = values(&seen) else {
        panic!("{seen:#?}")
    };
    assert_eq!((v.slots_busy, v.slots_total), (Some(2), Some(4)));
    let json = serde_json::to_value(&seen.services[0].probes[0]).unwrap();
    assert_eq!(json["values"]["kind"], "llama");
    assert_eq!(json["values"]["SLOTS_BUSY"], 2);

    // The server goes away: its error shows, and no stale values.
    drop(server);
    let gone = stackwarden_testkit::wait_for(
        &mut health,
        "values cleared",
        Duration::from_secs(10),
        |h| values(h).is_none(),
    )
    .await;
    assert!(gone.last_runs[0].outcome.error.is_some(), "{gone:#?}");
}
