//! `stackwarden status` as a user runs it, against the real test engine
//! (project `sw-ok`: all running; `sw-mixed`: one exited).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::process::{Command, Output};

fn stackwarden(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(args)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .output()
        .expect("run stackwarden")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn exit_0_when_every_watched_container_runs() {
    let out = stackwarden(&["status", "--project", "sw-ok"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("sw-ok-web") && stdout.contains("127.0.0.1:18080->8080/tcp"),
        "{stdout}"
    );
    assert!(stdout.contains("All 2 running"), "{stdout}");
    assert!(!stdout.contains("sw-mixed"), "{stdout}");
}

#[test]
fn exit_1_when_some_do_not_run() {
    let out = stackwarden(&["status"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("sw-mixed-exits") && stdout.contains("exited (3)"),
        "{stdout}"
    );
}

#[test]
fn exit_2_when_the_engine_is_unreachable_and_says_what_was_tried() {
    let out = stackwarden(&["status", "--host", "unix:///nonexistent/podman.sock"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unix:///nonexistent/podman.sock (--host): no socket at"),
        "{stderr}"
    );
    assert!(stderr.contains("podman system service"), "{stderr}");
}

#[test]
fn stackwarden_host_pins_one_endpoint() {
    let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["status"])
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_HOST", "/nonexistent/pinned.sock")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("unix:///nonexistent/pinned.sock (STACKWARDEN_HOST)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("rootful Podman"),
        "pinned means nothing else is tried: {stderr}"
    );
}

#[test]
fn json_output_is_the_snapshot() {
    let out = stackwarden(&["status", "--json", "--project", "sw-mixed"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["engine"]["kind"], "connected");
    assert_eq!(v["summary"]["level"], "some_not_running");
    let services = v["services"].as_array().expect("services");
    assert_eq!(services.len(), 3);
    let exits = services
        .iter()
        .find(|s| s["name"] == "sw-mixed-exits")
        .expect("exits");
    assert_eq!(exits["state"], "exited");
    assert_eq!(exits["exit_code"], 3);
    let healthy = services
        .iter()
        .find(|s| s["name"] == "sw-mixed-healthy")
        .expect("healthy");
    assert_eq!(healthy["state"], "running");
    assert!(healthy["usage"]["memory_used_bytes"].as_u64().unwrap_or(0) > 0);

    let unreachable = stackwarden(&["status", "--json", "--host", "unix:///nonexistent.sock"]);
    assert_eq!(unreachable.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&unreachable.stdout).expect("valid JSON");
    assert_eq!(v["engine"]["kind"], "unreachable");
    assert_eq!(v["engine"]["attempts"][0]["source"], "--host");
}

#[test]
fn bad_config_is_reported_with_line_and_the_command_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[engine]\nendpiont = 3\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["status", "--project", "sw-ok", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("config.toml, line 2, column 1: unknown field `endpiont`"),
        "{stderr}"
    );
    assert!(stderr.contains("default settings"), "{stderr}");
}

#[test]
fn configured_endpoint_is_tried_before_docker_host() {
    let real =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///run/podman/podman.sock".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("[engine]\nendpoint = \"{real}\"\n")).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["status", "--json", "--project", "sw-ok", "--config"])
        .arg(&path)
        .env("DOCKER_HOST", "unix:///nonexistent/docker-host.sock")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["engine"]["source"], "config file");
}

#[test]
fn usage_errors_have_their_own_exit_code() {
    let out = stackwarden(&["statu"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(text(&out.stderr).contains("unrecognized subcommand"));
    let help = stackwarden(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
}

#[test]
fn socket_without_permission_is_explained() {
    // Root ignores file modes; run the command as `nobody` against the
    // root-only engine socket.
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    assert!(
        is_root,
        "this test runs as root (as the test command and CI do)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("private.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let bin = env!("CARGO_BIN_EXE_stackwarden");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin,
            "status",
            "--host",
        ])
        .arg(format!("unix://{}", sock.display()))
        .output()
        .expect("setpriv");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("permission denied"), "{stderr}");
}

/// Runs a program this test just wrote. Another test thread forking at that
/// moment holds the file open for writing until its child execs, and
/// running it then fails with "Text file busy": try again briefly.
fn output_of_new_file(command: &mut Command) -> std::process::Output {
    for _ in 0..100 {
        match command.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other.expect("run"),
        }
    }
    panic!("{command:?} stayed busy")
}

#[test]
fn no_subcommand_opens_the_desktop_app_installed_beside_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let cli = dir.path().join("stackwarden");
    std::fs::copy(env!("CARGO_BIN_EXE_stackwarden"), &cli).expect("copy cli");
    let marker = dir.path().join("launched");
    let fake = dir.path().join("stackwarden-desktop");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho launched > '{}'\n", marker.display()),
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = output_of_new_file(Command::new(&cli).env("PATH", "/usr/bin:/bin"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&marker)
            .expect("app was started")
            .trim(),
        "launched"
    );

    std::fs::remove_file(&fake).expect("rm");
    let missing = Command::new(&cli)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("desktop app (stackwarden-desktop) is not installed"));
}
