//! What the AI services serve, in the data fingerprint: the tools of a real
//! MCP server (the official Python SDK, tests/support/mcp/server.py, from
//! the test venv), whether a llama.cpp stand-in (tests/support/llama) has
//! its model loaded, and whether the real test PostgreSQL has pgvector.
//! Compared before and after: a server that lost its model or tools
//! differs. Each process is started on a free port and stopped by its PID.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::path::Path;

use stackwarden_recover::{fingerprint, CompareRule, Match};
use stackwarden_stack::{parse, Blueprints};
use stackwarden_testkit::{venv_python, StandIn};

fn stack(llama: u16, mcp: u16) -> stackwarden_stack::Stack {
    parse(
        &format!(
            "services:\n  llama:\n    image: x\n    x-stackwarden:\n      probes:\n        - llama: {{ url: \"http://127.0.0.1:{llama}\" }}\n  aidb:\n    image: x\n    x-stackwarden:\n      probes:\n        - mcp: {{ url: \"http://127.0.0.1:{mcp}/mcp\" }}\n          timeout: 10s\n          interval: 30s\n  postgres:\n    image: x\n    x-stackwarden:\n      probes:\n        - postgres:\n            url: \"postgres://mcp:sw-test-pw@127.0.0.1:15432/mcp\"\n            tables: [tool_registry]\n"
        ),
        "compose.yaml",
    )
    .unwrap()
}

#[tokio::test]
async fn tools_model_and_pgvector_are_fingerprinted_and_compared() {
    let mcp = StandIn::start(&venv_python(), "tests/support/mcp/server.py", &[]);
    let loaded = StandIn::start(Path::new("python3"), "tests/support/llama/server.py", &[]);
    let before = fingerprint::take(
        &stack(loaded.port, mcp.port),
        &Blueprints::default(),
        None,
        &|_| None,
        None,
    )
    .await;
    let item = |fp: &stackwarden_recover::Fingerprint, key: &str| {
        fp.items
            .iter()
            .find(|i| i.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("{key}: {fp:#?}"))
    };
    let tools = item(&before, "mcp:aidb:mcp:tools");
    assert_eq!((tools.value, tools.rule), (Some(5), CompareRule::Equal));
    assert!(tools.text.starts_with("5 tools: "), "{}", tools.text);
    assert_eq!(tools.label, "aidb MCP tools");
    let model = item(&before, "llama:llama:llama:model");
    assert_eq!(model.value, Some(1));
    assert_eq!(model.text, "/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf");
    // Debian's postgresql-15 of the test engine has no pgvector.
    let pgvector = item(&before, "postgres:postgres:pgvector");
    assert_eq!(
        (pgvector.value, pgvector.text.as_str()),
        (Some(0), "not installed")
    );

    // After: the model is gone and the MCP server does not answer.
    drop(loaded);
    let none = StandIn::start(
        Path::new("python3"),
        "tests/support/llama/server.py",
        &["--no-model"],
    );
    let after = fingerprint::take(
        &stack(none.port, 9),
        &Blueprints::default(),
        None,
        &|_| None,
        None,
    )
    .await;
    assert_eq!(
        item(&after, "llama:llama:llama:model").text,
        "no model loaded"
    );
    let compared = fingerprint::compare(&before, &after);
    let verdict = |key: &str| compared.iter().find(|c| c.key == key).map(|c| c.verdict);
    assert_eq!(verdict("llama:llama:llama:model"), Some(Match::Differs));
    assert_eq!(verdict("mcp:aidb:mcp:tools"), Some(Match::Differs));
    assert_eq!(verdict("postgres:postgres:pgvector"), Some(Match::Same));
    let unread = item(&after, "mcp:aidb:mcp:tools");
    assert!(
        unread
            .text
            .starts_with("not readable: MCP handshake with http://127.0.0.1:9/mcp failed"),
        "{}",
        unread.text
    );
}
