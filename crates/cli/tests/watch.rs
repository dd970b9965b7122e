//! `stackwarden watch` as a process against the real test engine: it starts,
//! records a required container going down, stops on SIGTERM with exit 0
//! after writing what it queued, and a second `watch` on the same data
//! folder refuses with the first one's PID.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stackwarden_health::ServiceStatus;
use stackwarden_store::{Retention, Store};
use stackwarden_testkit::{artifacts, chromium_screenshot, png_size, podman, TestContainer};

const NAME: &str = "sw-watch-web";

/// Kills the watch process, if still running, when the test ends.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn watch(data: &Path, stack: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stackwarden"));
    c.arg("watch")
        .arg("--stack")
        .arg(stack)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", data)
        .env("RUST_LOG", "info");
    c
}

/// Collects a child's stderr as it comes.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    let stderr = child.stderr.take().expect("piped stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    log
}

fn wait_for(what: &str, log: &Mutex<String>, within: Duration, ok: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + within;
    loop {
        if ok(&log.lock().unwrap()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log so far:\n{}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_records_stops_on_sigterm_and_a_second_one_refuses() {
    let _container = TestContainer::run(NAME, &[], &["sleep", "3600"]);
    let mut cleanup = KillOnDrop(None);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stack = dir.path().join("stack.yaml");
    std::fs::write(
        &stack,
        format!(
            "name: watched\nx-stackwarden:\n  groups:\n    core: {{ label: Core, required: true }}\nservices:\n  web:\n    image: localhost/sw-test-busybox:latest\n    container_name: {NAME}\n    x-stackwarden:\n      group: core\n"
        ),
    )
    .unwrap();

    let child = watch(&data, &stack)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch");
    cleanup.0 = Some(child);
    let child = cleanup.0.as_mut().unwrap();
    let pid = child.id();
    let log = collect_stderr(child);
    wait_for(
        "the first health line",
        &log,
        Duration::from_secs(30),
        |l| l.contains("health:") && l.contains("100%"),
    );

    // A second watcher on the same data folder says who records, and exits.
    let second = watch(&data, &stack).output().expect("second watch");
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(75), "{said}");
    assert!(
        said.contains(&format!("PID {pid}")) && said.contains("stackwarden watch"),
        "{said}"
    );

    podman(&["stop", "-t", "0", NAME]);
    wait_for("web down in the log", &log, Duration::from_secs(30), |l| {
        l.lines()
            .rfind(|x| x.contains("health:"))
            .is_some_and(|x| !x.contains("100%"))
    });
    wait_for("the incident opened", &log, Duration::from_secs(10), |l| {
        l.contains("incident") && l.contains("opened")
    });

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    // Queued records are written at once; nothing waits for a time-out.
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    cleanup.0 = None;
    assert_eq!(exit.code(), Some(0), "{}", log.lock().unwrap());
    wait_for("the stop is logged", &log, Duration::from_secs(5), |l| {
        l.contains("SIGTERM") && l.contains("stopped")
    });
    assert!(
        !log.lock().unwrap().contains("could not be written"),
        "{}",
        log.lock().unwrap()
    );
    assert!(
        !log.lock().unwrap().contains("ended unexpectedly"),
        "stopping the recorders is not a crash: {}",
        log.lock().unwrap()
    );

    // What it recorded is in the data folder, the lock is free again.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = Store::open(
            &data,
            Retention {
                max_age: Duration::from_secs(86_400),
                max_per_container: 1000,
            },
        )
        .await
        .unwrap();
        let transitions = store.transitions_since(0).await.unwrap();
        assert!(
            transitions
                .iter()
                .any(|t| t.change.service == "web" && t.change.to == ServiceStatus::Down),
            "{transitions:?}"
        );
        store.close().await;
    });
    // The stopped required container is an open incident on the timeline.
    let timeline = stackwarden(&data, &["timeline", "--since", "7d", "--json"]);
    assert_eq!(
        timeline.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&timeline.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&timeline.stdout).expect("JSON");
    let incident = &v["incidents"][0];
    assert_eq!(incident["open"], true, "{v:#}");
    assert_eq!(incident["cause"]["service"], "web", "{v:#}");
    assert!(
        incident["cause"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("web down"),
        "{v:#}"
    );
    assert!(
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["change"]["to"] == "down"),
        "{v:#}"
    );
    let text = stackwarden(&data, &["timeline", "--service", "web"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("OPEN") && text.contains("web down"), "{text}");
    // Its recovery report, as one HTML page and as Markdown.
    let id = incident["id"].as_i64().expect("the incident's number");
    let page = dir.path().join("incident.html");
    let id = id.to_string();
    let report = stackwarden(
        &data,
        &[
            "timeline",
            "--incident",
            &id,
            "--report",
            page.to_str().unwrap(),
        ],
    );
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for text in [
        format!("incident #{id}"),
        "web down".to_string(),
        "Still open at".to_string(),
        "data-chart=\"timeline\"".to_string(),
        "<h2>Affected services</h2>".to_string(),
        "time to detect".to_string(),
    ] {
        assert!(html.contains(&text), "{text} in {html}");
    }
    let chart = &html[html.find("data-chart=\"timeline\"").unwrap()..];
    assert!(
        chart[..chart.find("</svg>").unwrap()]
            .matches("<rect")
            .count()
            >= 2,
        "the lane is drawn: {chart}"
    );
    chromium_screenshot(
        &page,
        &artifacts().join("incident-report.png"),
        (1280, 1800),
        dir.path(),
    );
    let md = dir.path().join("incident.md");
    let written = stackwarden(
        &data,
        &[
            "timeline",
            "--incident",
            &id,
            "--report",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(written.status.code(), Some(0));
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("](incident-charts/timeline.png)"), "{text}");
    assert!(png_size(&dir.path().join("incident-charts/timeline.png")).0 > 0);
    let none = dir.path().join("none.html");
    let missing = stackwarden(
        &data,
        &[
            "timeline",
            "--incident",
            "999999",
            "--report",
            none.to_str().unwrap(),
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no incident #999999"));
    let half = stackwarden(&data, &["timeline", "--incident", "1"]);
    assert_eq!(half.status.code(), Some(64), "--incident needs --report");

    let bad = stackwarden(&data, &["timeline", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(64));

    let third = watch(&data, &stack)
        .arg("--print-systemd-unit")
        .output()
        .expect("unit");
    let unit = String::from_utf8_lossy(&third.stdout);
    assert!(
        unit.contains("ExecStart=") && unit.contains(" watch --stack "),
        "{unit}"
    );
    assert!(
        unit.contains(&format!(
            "Environment=\"STACKWARDEN_DATA_DIR={}\"",
            data.display()
        )),
        "the unit records into the same folder: {unit}"
    );
}

/// `stackwarden ARGS` reading the data folder `data`, with no config file.
fn stackwarden<S: AsRef<std::ffi::OsStr>>(data: &Path, args: &[S]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(args)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", data)
        .output()
        .expect("stackwarden runs")
}

/// `watch` in `dir` on a one-service stack named `name`, with no engine to
/// find, its stderr piped.
fn watch_without_engine(dir: &Path, name: &str) -> Child {
    let stack = dir.join("stack.yaml");
    std::fs::write(
        &stack,
        format!("name: {name}\nservices:\n  web:\n    image: busybox\n"),
    )
    .unwrap();
    watch(&dir.join("data"), &stack)
        .env("STACKWARDEN_HOST", "unix:///nonexistent/engine.sock")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start watch")
}

#[test]
fn watch_without_an_engine_stops_at_once_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = watch_without_engine(dir.path(), "nowhere");
    let log = collect_stderr(&mut child);
    wait_for("engine unreachable", &log, Duration::from_secs(20), |l| {
        l.contains("unreachable")
    });
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(3);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 3 s after SIGTERM:\n{}", log.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0));
    wait_for("stopped", &log, Duration::from_secs(2), |l| {
        l.contains("stopped")
    });
    assert!(!log.lock().unwrap().contains("could not be written"));
    assert!(
        !log.lock().unwrap().contains("ended unexpectedly"),
        "stopping is not a crash: {}",
        log.lock().unwrap()
    );
}

#[test]
fn a_closed_stderr_does_not_crash_watch() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = watch_without_engine(dir.path(), "piped");
    // Read one line, then close the pipe, as `watch 2>&1 | head -1` does.
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("watching"), "{first}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "watch died when its log could not be written"
    );
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
