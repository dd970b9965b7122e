//! Stack files that used to panic the CLI (exit 101 with a backtrace): a
//! non-ASCII character before a condition's comparator, a duration that
//! overflows, a zero interval, two unnamed probes of one kind. Each must be
//! exit 65 with the file's line and the reason, never a panic.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::process::{Command, Output};

fn health(file: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["health", "--stack"])
        .arg(file)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_HOST", "unix:///nonexistent/engine.sock")
        .output()
        .expect("run stackwarden")
}

const HEAD: &str =
    "name: hostile\nservices:\n  web:\n    image: busybox\n    x-stackwarden:\n      probes:\n";

#[test]
fn hostile_stack_files_exit_65_with_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "        - http: {url: \"http://127.0.0.1:1/\"}\n          conditions: [\"[BODY].größe 1\"]\n",
            "line 8",
            "größe",
        ),
        (
            "        - tcp: {address: \"127.0.0.1:1\"}\n          interval: 99999999999999999999h\n",
            "line 8",
            "interval",
        ),
        (
            "        - tcp: {address: \"127.0.0.1:1\"}\n          interval: 0s\n",
            "line 8",
            "shorter than 1s",
        ),
        (
            "        - name: same\n          tcp: {address: \"127.0.0.1:1\"}\n        - name: same\n          tcp: {address: \"127.0.0.1:2\"}\n",
            "line 9",
            "same",
        ),
    ];
    for (i, (probes, line, reason)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("stack-{i}.yaml"));
        std::fs::write(&file, format!("{HEAD}{probes}")).unwrap();
        let out = health(&file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(65),
            "case {i}:\n{probes}\nstdout: {stdout}\nstderr: {stderr}"
        );
        let said = format!("{stdout}{stderr}");
        assert!(!said.contains("panicked"), "case {i}: {said}");
        assert!(
            said.contains(line) && said.contains(reason),
            "case {i}: wanted {line:?} and {reason:?} in:\n{said}"
        );
    }

    // Valid non-ASCII paths load and run: here without an engine, exit 2.
    let file = dir.path().join("fine.yaml");
    std::fs::write(
        &file,
        format!("{HEAD}        - http: {{url: \"http://127.0.0.1:1/\"}}\n          conditions: [\"[BODY].größe == 1\"]\n"),
    )
    .unwrap();
    let out = health(&file);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}
