//! `stackwarden telemetry` as a process on real files and a real SQLite
//! store: it reads what was appended since its last run (never a line
//! twice), prints the aggregates and malformed counts as text and JSON,
//! escapes what the files hold, and refuses bad arguments with their code.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .arg("telemetry")
        .args(["--stack", dir.join("stack.yaml").to_str().unwrap()])
        .args(args)
        .env("STACKWARDEN_DATA_DIR", dir.join("data"))
        .env("STACKWARDEN_CONFIG", dir.join("none.toml"))
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn reads_what_was_appended_and_prints_the_aggregates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        "name: t\nservices:\n  aidb:\n    image: x\nx-stackwarden:\n  verify:\n    telemetry:\n      dir: ~/tel\n      files: [aidb-events.jsonl, gone.jsonl]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("tel")).unwrap();
    let file = dir.path().join("tel/aidb-events.jsonl");
    let now = stackwarden_model::clock::now_ms();
    for i in 0..10 {
        append(
            &file,
            &format!(
                "{{\"ts\":{},\"event\":\"tool_call\",\"service\":\"aidb\",\"latency_ms\":{},\"ok\":{}}}\n",
                now - 60_000 + i,
                10 + i,
                i != 3
            ),
        );
    }
    append(&file, "\u{1b}]0;owned\u{7} not json\n");
    let first = json(&run(dir.path(), &["--json"]));
    assert_eq!(first["totals"][0]["count"], 10);
    assert_eq!(first["totals"][0]["errors"], 1);
    assert_eq!(first["files"][0]["malformed_total"], 1);
    assert_eq!(first["files"][0]["bad_lines"][0]["line_no"], 11);
    let states: Vec<&str> = first["read_now"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["read", "file missing"]);

    // Run again with three more lines: 13, not 23.
    for _ in 0..3 {
        append(
            &file,
            &format!("{{\"ts\":{now},\"event\":\"query\",\"service\":\"aidb\"}}\n"),
        );
    }
    let second = json(&run(dir.path(), &["--json", "--since", "2h"]));
    assert_eq!(second["files"][0]["events_total"], 13);
    let counts: u64 = second["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counts, 13);

    let text = run(dir.path(), &[]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("aidb-events.jsonl"), "{text}");
    assert!(text.contains("tool_call"), "{text}");
    assert!(text.contains("10.0%"), "{text}");
    assert!(text.contains("line 11: not JSON"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
}

#[test]
fn bad_arguments_and_stack_files_have_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stack.yaml"), "services: [1\n").unwrap();
    let bad_since = run(dir.path(), &["--since", "soon"]);
    assert_eq!(bad_since.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&bad_since.stderr).contains("--since soon"));
    assert_eq!(run(dir.path(), &[]).status.code(), Some(65));
}
