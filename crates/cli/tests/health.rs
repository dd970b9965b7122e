//! `stackwarden health` against the real test engine, PostgreSQL and Redis
//! (tests/support/engine.sh fixtures + databases), with the stack files in
//! tests/support/stacks/.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::path::PathBuf;
use std::process::{Command, Output};

fn stacks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/stacks")
}

fn health(args: &[&str]) -> Output {
    let data = tempfile::tempdir().expect("data folder");
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .arg("health")
        .args(args)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", data.path())
        .env("SW_TEST_PG_PASSWORD", "sw-test-pw")
        .output()
        .expect("run stackwarden")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn healthy_required_groups_exit_0_and_show_the_breakdown() {
    let file = stacks().join("healthy.yaml");
    let out = health(&["--stack", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Core Infrastructure"), "{stdout}");
    assert!(stdout.contains("100%  (2/2 healthy)"), "{stdout}");
    assert!(stdout.contains("Database Layer"), "{stdout}");
    // The optional agent never had a container: listed apart, not scored.
    assert!(
        stdout.contains("Not deployed (not scored)")
            && stdout.contains("not deployed (optional, never had a container)"),
        "{stdout}"
    );
    assert!(!stdout.contains(" down "), "{stdout}");
    assert!(
        stdout.contains("OVERALL 100%"),
        "3×100 + 3×100 over 6: {stdout}"
    );
    assert!(
        stdout.contains("overall = Σ(weight × group score)"),
        "{stdout}"
    );
}

#[test]
fn json_carries_every_condition() {
    let file = stacks().join("healthy.yaml");
    let out = health(&["--json", "--stack", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["stack"], "sw-test");
    let run = |service: &str| {
        v["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["service"] == service)
            .unwrap_or_else(|| panic!("no run of {service}: {v}"))
            .clone()
    };
    let pg_run = run("postgres");
    assert!(pg_run["duration_ms"].as_f64().unwrap() > 0.0, "{pg_run}");
    let pg = &pg_run["outcome"];
    assert_eq!(pg["success"], true);
    let names: Vec<&str> = pg["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["condition"].as_str())
        .collect();
    assert!(
        names.contains(&"table telemetry_events exists"),
        "{names:?}"
    );
    assert!(names.contains(&"extension pg_trgm installed"), "{names:?}");
    assert_eq!(run("redis")["outcome"]["conditions"][0]["observed"], "PONG");
}

#[test]
fn unhealthy_required_service_exits_1_and_says_why() {
    let file = stacks().join("sick.yaml");
    // The ticked HEALTHCHECK of sw-mixed-sick turns unhealthy a few seconds after start.
    let mut last = String::new();
    for _ in 0..40 {
        let out = health(&["--stack", file.to_str().unwrap()]);
        last = text(&out.stdout);
        if last.contains("HEALTHCHECK reports unhealthy") {
            assert_eq!(out.status.code(), Some(1), "{last}");
            assert!(
                last.contains("table no_such_table exists (saw missing)"),
                "{last}"
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("never saw the unhealthy service: {last}");
}

#[test]
fn invalid_stack_file_exits_65_with_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    std::fs::write(
        &file,
        "services:\n  a:\n    image: x\n    depends_on: [b]\n",
    )
    .unwrap();
    let out = health(&["--stack", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("compose.yaml, line 4, column"), "{stderr}");
    assert!(stderr.contains("depends on `b`"), "{stderr}");
}

#[test]
fn unreachable_engine_exits_2() {
    let file = stacks().join("healthy.yaml");
    let out = health(&[
        "--host",
        "unix:///nonexistent.sock",
        "--stack",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no socket at /nonexistent.sock"));
}

#[test]
fn the_built_in_stack_is_probed_when_none_is_configured() {
    // None of the report's containers run here: every service is down, and
    // the command still answers with the full breakdown.
    let out = health(&[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("Stack local-ai"), "{stdout}");
    assert!(
        stdout.contains("no container named local-ai-llama-cpp"),
        "{stdout}"
    );
    assert!(stdout.contains("Agent Backends"), "{stdout}");
}

#[test]
fn stack_files_given_twice_are_merged_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.yaml");
    let more = dir.path().join("more.yaml");
    std::fs::write(
        &base,
        "name: merged\nservices:\n  web:\n    image: nope\n    container_name: sw-ok-web\n",
    )
    .unwrap();
    std::fs::write(
        &more,
        "services:\n  web:\n    image: localhost/sw-test-busybox:latest\n  worker:\n    image: localhost/sw-test-busybox:latest\n    container_name: sw-ok-worker\n",
    )
    .unwrap();
    let out = health(&[
        "--json",
        "--stack",
        base.to_str().unwrap(),
        "--stack",
        more.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let services = v["breakdown"]["services"].as_array().unwrap();
    let names: Vec<&str> = services
        .iter()
        .filter_map(|s| s["service"].as_str())
        .collect();
    assert_eq!(names, ["web", "worker"]);
    assert!(services.iter().all(|s| s["status"] == "healthy"), "{v:#}");
}
