//! Secrets in a stack file never leave the process (issue 8, defect 8): a
//! password in a probe URL, a token in a probe URL's query string and a
//! password in `environment:` are absent from everything the real binary
//! writes: `health --json`, `verify --json`, both reports, the log of
//! `watch`, every stdout and stderr, and the database files (WAL included)
//! in the data folder. The probes really run (against an HTTP server of this
//! test) and what they record shows the URLs with the secrets masked.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const URL_PASSWORD: &str = "hunter2secret";
const QUERY_TOKEN: &str = "t0k3nsecret";
const ENV_PASSWORD: &str = "pgsecret123";
const SECRETS: [&str; 3] = [URL_PASSWORD, QUERY_TOKEN, ENV_PASSWORD];

/// An HTTP server answering `200 ok` to every request; counts the requests.
fn http_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    (port, hits)
}

/// The test's own container: the shared fixtures may be stopped and started
/// by other tests while this one runs.
const CONTAINER: &str = "sw-cli-secrets";

/// Removes the test's container, however the test ends.
struct Container;

impl Container {
    fn start() -> Self {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", CONTAINER])
            .output();
        let out = Command::new("podman")
            .args([
                "run",
                "-d",
                "--name",
                CONTAINER,
                "--label",
                "stackwarden.test=it",
                "localhost/sw-test-busybox:latest",
                "sleep",
                "1000",
            ])
            .output()
            .expect("podman");
        assert!(
            out.status.success(),
            "podman run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", CONTAINER])
            .output();
    }
}

/// The stack: a required service whose two probes pass, one with the
/// password in its URL, one with the token in its query; an optional service
/// whose probe fails against a closed port with both in its URL (so errors,
/// which quote URLs, are covered too); the password in `environment:`.
fn stack_text(port: u16, closed: u16) -> String {
    format!(
        r#"# A stack whose file holds three secrets.
name: sw-secrets
x-stackwarden:
  groups:
    core: {{label: Core, required: true}}
    extras: {{label: Extras, required: false}}
services:
  web:
    image: localhost/sw-test-busybox:latest
    container_name: {CONTAINER}
    environment:
      POSTGRES_PASSWORD: {ENV_PASSWORD}
      PLAIN_SETTING: visible
    x-stackwarden:
      group: core
      probes:
        - name: with-password
          http: {{url: "http://admin:{URL_PASSWORD}@127.0.0.1:{port}/health"}}
          interval: 1s
          timeout: 1s
          conditions: ["[STATUS] == 200"]
        - name: with-token
          http: {{url: "http://127.0.0.1:{port}/health?token={QUERY_TOKEN}&page=2"}}
          interval: 1s
          timeout: 1s
          conditions: ["[STATUS] == 200"]
  extra:
    image: localhost/sw-test-busybox:latest
    container_name: {CONTAINER}
    x-stackwarden:
      group: extras
      probes:
        - name: refused
          http: {{url: "http://admin:{URL_PASSWORD}@127.0.0.1:{closed}/down?token={QUERY_TOKEN}"}}
          interval: 1s
          timeout: 1s
"#
    )
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A HOME and data folder of the test's own, and the stack file in it.
struct Home {
    dir: tempfile::TempDir,
    stack: PathBuf,
}

impl Home {
    fn new(port: u16, closed: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stack = dir.path().join("stack.yaml");
        std::fs::write(&stack, stack_text(port, closed)).unwrap();
        Self { dir, stack }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_stackwarden"));
        c.args(args)
            .current_dir(self.path())
            .env("HOME", self.path())
            .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
            .env("STACKWARDEN_DATA_DIR", self.data())
            // Everything Stackwarden itself logs, down to debug.
            .env("RUST_LOG", "info,stackwarden=debug")
            .env_remove("STACKWARDEN_HOST");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run stackwarden")
    }

    fn stack_arg(&self) -> &str {
        self.stack.to_str().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// `watch` in the foreground for about `for_how_long`, then SIGTERM to its
/// PID; its exit status and stderr (the log).
fn watch_for(home: &Home, for_how_long: Duration) -> (Option<i32>, String, String) {
    let child = home
        .command(&["watch", "--stack", home.stack_arg()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start stackwarden watch");
    std::thread::sleep(for_how_long);
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success(), "SIGTERM to {pid}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut child = child;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "watch did not stop within 20 s of SIGTERM; its log:\n{}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn no_secret_of_the_stack_file_reaches_any_output_the_log_or_the_database() {
    let _container = Container::start();
    let (port, hits) = http_server();
    let closed = closed_port();
    let home = Home::new(port, closed);
    // Everything the binary writes on stdout and stderr, by command.
    let mut printed: Vec<(String, String)> = Vec::new();

    let health = home.run(&["health", "--json", "--stack", home.stack_arg()]);
    let health_out = text(&health.stdout);
    assert_eq!(
        health.status.code(),
        Some(0),
        "{health_out}{}",
        text(&health.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&health_out).expect("health JSON");
    assert_eq!(v["probes"].as_array().unwrap().len(), 3, "{health_out}");
    // The refused probe failed and says why, without the secrets.
    let refused = v["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["outcome"]["probe"] == "refused")
        .expect("the refused probe");
    assert_eq!(refused["outcome"]["success"], false, "{refused}");
    assert!(refused["outcome"]["error"].is_string(), "{refused}");
    printed.push(("health --json stdout".into(), health_out));
    printed.push(("health --json stderr".into(), text(&health.stderr)));

    let verify = home.run(&["verify", "--json", "--stack", home.stack_arg()]);
    let verify_out = text(&verify.stdout);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{verify_out}{}",
        text(&verify.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&verify_out).expect("verify JSON");
    let names: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    // The checks name their URLs, with the secrets masked.
    assert!(
        names.contains(
            &format!("web: http://admin:***@127.0.0.1:{port}/health passes its conditions")
                .as_str()
        ),
        "{names:?}"
    );
    assert!(
        names.contains(
            &format!("web: http://127.0.0.1:{port}/health?token=***&page=2 passes its conditions")
                .as_str()
        ),
        "{names:?}"
    );
    printed.push(("verify --json stdout".into(), verify_out));
    printed.push(("verify --json stderr".into(), text(&verify.stderr)));

    // A probe URL that does not parse: the error quotes it, without the
    // secrets, in the text output of `health` and `verify`.
    let bad = home.path().join("bad.yaml");
    std::fs::write(
        &bad,
        stack_text(port, closed).replace(
            &format!("@127.0.0.1:{port}/health\""),
            "@[bad/health?token=t0k3nsecret\"",
        ),
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    for args in [
        vec!["health", "--stack", bad],
        vec!["verify", "--no-record", "--stack", bad],
    ] {
        let command = args[0];
        let out = home.run(&args);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.contains("invalid URL http://") && stdout.contains("@[bad/health?token=***"),
            "{command}: {stdout}"
        );
        printed.push((format!("{command} (invalid URL) stdout"), stdout));
        printed.push((format!("{command} (invalid URL) stderr"), text(&out.stderr)));
    }

    let before_watch = hits.load(Ordering::SeqCst);
    let (code, stdout, log) = watch_for(&home, Duration::from_secs(5));
    assert_eq!(code, Some(0), "watch exit; its log:\n{log}");
    assert!(
        hits.load(Ordering::SeqCst) > before_watch,
        "watch probed the HTTP server; its log:\n{log}"
    );
    printed.push(("watch stdout".into(), stdout));
    printed.push(("watch stderr (log)".into(), log));

    let mut reports = Vec::new();
    for (format, file) in [("md", "status.md"), ("html", "status.html")] {
        let out = home.run(&["report", "--format", format, "--out", file]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        printed.push((format!("report {format} stdout"), text(&out.stdout)));
        printed.push((format!("report {format} stderr"), text(&out.stderr)));
        let report = std::fs::read_to_string(home.path().join(file)).unwrap();
        // The report shows the probes, masked.
        assert!(
            report.contains(&format!("127.0.0.1:{port}/health?token=")),
            "{report}"
        );
        reports.push((file.to_string(), report));
    }

    let mut leaks = Vec::new();
    for secret in SECRETS {
        for (what, out) in printed.iter().chain(&reports) {
            if out.contains(secret) {
                leaks.push(format!("{secret} in {what}:\n{out}"));
            }
        }
    }

    // The data folder: the database and its WAL and shared-memory files.
    let files = files_under(&home.data());
    let names: Vec<String> = files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with(".sqlite3")),
        "a database in the data folder: {names:?}"
    );
    for secret in SECRETS {
        for (path, bytes) in &files {
            if contains(bytes, secret) {
                leaks.push(format!("{secret} in {}", path.display()));
            }
        }
    }
    // What was stored names the probes, masked: the test looked at the
    // right bytes.
    assert!(
        files
            .iter()
            .any(|(_, b)| contains(b, &format!("127.0.0.1:{port}/health?token=***"))),
        "the stored runs name the token probe, masked"
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n\n"));
}
