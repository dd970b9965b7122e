//! `stackwarden drill` as a user runs it, against the real engine: the
//! container is killed, the healer brings it back, the measurements are
//! printed and stored next to the earlier drill; a service that keeps data
//! outside volumes is refused with the reason, and nothing is killed;
//! without a terminal to ask on it wants --yes.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::process::{Command, Output};

use stackwarden_testkit::{podman, TestContainer};

fn drill(data: &std::path::Path, stack: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["drill", "--stack"])
        .arg(stack)
        .args(extra)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", data)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run stackwarden drill")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

const C: &str = "sw-drill-web";
const DB: &str = "sw-drill-db";

#[test]
fn a_drill_kills_measures_and_keeps_the_result_beside_the_last() {
    let _web = TestContainer::run(C, &[], &["httpd", "-f", "-p", "8080"]);
    let _db = TestContainer::run(DB, &[], &["sleep", "3600"]);
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.yaml");
    std::fs::write(
        &stack,
        format!(
            "name: drills\nx-stackwarden:\n  groups:\n    core:\n      required: true\n      heal: {{ backoff: {{ initial: 1s }} }}\nservices:\n  web:\n    image: localhost/sw-test-busybox:latest\n    container_name: {C}\n    x-stackwarden: {{ group: core }}\n  db:\n    image: docker.io/library/postgres:16\n    container_name: {DB}\n    x-stackwarden: {{ group: core }}\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");

    // No terminal to ask on: nothing happens without --yes.
    let pid_before = podman(&["inspect", "-f", "{{.State.Pid}}", C]);
    let asked = drill(&data, &stack, &["web"]);
    assert_eq!(asked.status.code(), Some(64), "{}", text(&asked.stderr));
    assert!(text(&asked.stderr).contains("--yes"));
    assert_eq!(podman(&["inspect", "-f", "{{.State.Pid}}", C]), pid_before);

    // PostgreSQL's data would be in the container: refused, not killed.
    let db_pid = podman(&["inspect", "-f", "{{.State.Pid}}", DB]);
    let refused = drill(&data, &stack, &["db", "--yes"]);
    assert_eq!(refused.status.code(), Some(1));
    let why = text(&refused.stderr);
    assert!(
        why.contains("drill refused") && why.contains("volume"),
        "{why}"
    );
    assert_eq!(podman(&["inspect", "-f", "{{.State.Pid}}", DB]), db_pid);

    let first = drill(&data, &stack, &["web", "--yes", "--json"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}{}",
        text(&first.stdout),
        text(&first.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let d = &json["drill"]["drill"];
    assert_eq!(d["recovered"], true, "{json:#}");
    for key in ["detected_ms", "acted_ms", "running_ms", "healthy_ms"] {
        assert!(d[key].as_i64().is_some_and(|ms| ms >= 0), "{key}: {json:#}");
    }
    // The healer decided before the container ran again: it brought it back.
    assert!(
        d["acted_ms"].as_i64() <= d["running_ms"].as_i64(),
        "{json:#}"
    );
    assert_ne!(podman(&["inspect", "-f", "{{.State.Pid}}", C]), pid_before);

    let second = drill(&data, &stack, &["web", "--yes"]);
    let out = text(&second.stdout);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{out}{}",
        text(&second.stderr)
    );
    assert!(out.contains("healed: healthy again"), "{out}");
    assert_eq!(
        out.matches("recovered").count(),
        2,
        "this drill and the last: {out}"
    );
}

/// A quarantine made by `stackwarden watch` is released from the command
/// line: the watch's healer acts on the service again.
#[test]
fn a_quarantine_is_released_from_the_command_line() {
    const FLAP: &str = "sw-release-flap";
    let dir = tempfile::tempdir().unwrap();
    let stack = dir.path().join("stack.yaml");
    std::fs::write(
        &stack,
        format!(
            "name: release\nx-stackwarden:\n  groups:\n    core:\n      required: true\n      heal: {{ backoff: {{ initial: 1s }}, limit: {{ actions: 1, within: 10m }} }}\nservices:\n  flap:\n    image: localhost/sw-test-busybox:latest\n    container_name: {FLAP}\n    x-stackwarden: {{ group: core }}\n"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stackwarden"))
            .args(args)
            .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
            .env("STACKWARDEN_DATA_DIR", &data)
            .output()
            .expect("run stackwarden")
    };
    let nothing = cli(&["release", "flap"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(text(&nothing.stderr).contains("no `flap` in quarantine"));

    let mut watch = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["watch", "--stack"])
        .arg(&stack)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", &data)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let _flap = TestContainer::run(FLAP, &[], &["sh", "-c", "sleep 1; exit 1"]);
    let healer_actions = || -> Vec<serde_json::Value> {
        let out = cli(&["timeline", "--since", "1h", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        json["actions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["source"] == "healer" || a["action"] == "released")
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !healer_actions()
        .iter()
        .any(|a| a["action"] == "quarantined")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no quarantine: {:#?}",
            healer_actions()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let released = cli(&["release", "flap"]);
    assert_eq!(
        released.status.code(),
        Some(0),
        "{}",
        text(&released.stderr)
    );
    assert!(text(&released.stdout).contains("flap released from quarantine"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list = healer_actions();
        let release_at = list
            .iter()
            .find(|a| a["action"] == "released")
            .and_then(|a| a["at_ms"].as_i64())
            .unwrap_or(i64::MAX);
        let acted_again = list.iter().any(|a| {
            matches!(a["action"].as_str(), Some("start" | "restart"))
                && a["at_ms"].as_i64().is_some_and(|at| at > release_at)
        });
        if acted_again {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not acted on again: {list:#?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let _ = Command::new("kill").arg(watch.id().to_string()).status();
    let _ = watch.wait();
}
