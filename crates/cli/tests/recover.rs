//! `stackwarden recover` as a user runs it, against the real engine, with
//! real PostgreSQL and Redis holding data the test wrote first, on compose
//! files without `container_name` brought up by the user's compose tool:
//! every container removed comes back healthy with equal fingerprints and
//! stays the compose tool's; a held host port is diagnosed before anything
//! is created; a deleted volume is said to be data lost, first; a step that
//! would lose data waits for its own confirmation and takes its backup
//! first; a key outside the supported subset is handed to the compose
//! tool; a stopped engine is started; a missing image is pulled from a
//! registry with its layers' progress.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use stackwarden_testkit::{podman, remove_containers};

const PG_PASSWORD: &str = "sw-test-pw";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn recover(data: &Path, stack: &Path, extra: &[&str]) -> Output {
    stackwarden(
        data,
        &[&["recover", "--stack", stack.to_str().unwrap()], extra].concat(),
    )
}

fn stackwarden(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(args)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", data)
        .env("SWREC_PG_PASSWORD", PG_PASSWORD)
        .env("SWREC_TELEMETRY_DIR", data.join("telemetry"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run stackwarden")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

/// A compose project in its own folder (the folder names the project, as
/// Debian's podman-compose names it), removed with its containers,
/// volumes and network however the test ends.
struct Project {
    dir: tempfile::TempDir,
    name: String,
    volumes: Vec<String>,
}

impl Project {
    fn new(name: &str, compose: &str, volumes: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("compose.yaml"), compose).unwrap();
        let me = Self {
            dir,
            name: name.to_string(),
            volumes: volumes.iter().map(|v| format!("{name}_{v}")).collect(),
        };
        me.clean();
        me
    }

    /// The replica of the user's stack, on its own ports.
    fn replica(name: &str, base_port: u16) -> Self {
        let template = include_str!("../../../tests/support/recover/swrec/compose.yaml");
        let compose = template
            .replace("25432", &(base_port).to_string())
            .replace("26379", &(base_port + 1).to_string())
            .replace("28080", &(base_port + 2).to_string());
        Self::new(name, &compose, &["pgdata", "redisdata"])
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join(&self.name).join("compose.yaml")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn containers(&self) -> Vec<String> {
        let out = podman(&[
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={}", self.name),
            "--format",
            "{{.Names}}",
        ]);
        out.lines()
            .map(ToString::to_string)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// `podman-compose up -d`, as the user brought the stack up.
    fn compose_up(&self) {
        let out = Command::new("podman-compose")
            .arg("up")
            .arg("-d")
            .current_dir(self.file().parent().unwrap())
            .env("SWREC_PG_PASSWORD", PG_PASSWORD)
            .output()
            .expect("podman-compose");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    fn remove_containers(&self) {
        let names = self.containers();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        remove_containers(&names);
    }

    fn clean(&self) {
        self.remove_containers();
        for v in &self.volumes {
            let _ = Command::new("podman")
                .args(["volume", "rm", "-f", v])
                .output();
        }
        let _ = Command::new("podman")
            .args(["network", "rm", "-f", &format!("{}_default", self.name)])
            .output();
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        self.clean();
    }
}

fn eventually(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let began = Instant::now();
    while !ok() {
        assert!(began.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn psql(container: &str, sql: &str) -> String {
    podman(&[
        "exec",
        container,
        "su",
        "postgres",
        "-c",
        &format!("psql -qtA -d mcp -c \"SET ROLE mcp; {sql}\""),
    ])
}

#[test]
fn every_container_removed_comes_back_healthy_with_the_same_data() {
    let p = Project::replica("swrecall", 35432);
    p.compose_up();
    let pg = "swrecall_postgres_1";
    eventually("PostgreSQL ready", Duration::from_secs(60), || {
        Command::new("podman")
            .args([
                "exec",
                pg,
                "pg_isready",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "mcp",
                "-d",
                "mcp",
            ])
            .status()
            .is_ok_and(|s| s.success())
    });
    psql(pg, "INSERT INTO document_embeddings (body) SELECT 'doc ' || g FROM generate_series(1, 12345) g");
    podman(&[
        "exec",
        "swrecall_redis_1",
        "redis-cli",
        "mset",
        "k1",
        "a",
        "k2",
        "b",
        "k3",
        "c",
    ]);
    std::fs::create_dir_all(p.data().join("telemetry")).unwrap();
    std::fs::write(
        p.data().join("telemetry/aidb-events.jsonl"),
        "{\"e\":1}\n{\"e\":2}\n",
    )
    .unwrap();
    // The user verified once: the data as it was is the baseline.
    let verified = stackwarden(
        &p.data(),
        &["verify", "--stack", p.file().to_str().unwrap()],
    );
    assert!(
        verified.status.code().is_some(),
        "{}",
        text(&verified.stderr)
    );

    p.remove_containers();
    assert!(p.containers().is_empty());

    let out = recover(&p.data(), &p.file(), &["--yes", "--json"]);
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}\n{}", text(&out.stderr));
    assert_eq!(r["ok"], true, "{r:#}");
    // Dependency order: aidb is created only after PostgreSQL's wait.
    let steps = r["plan"]["steps"].as_array().unwrap();
    let id = |kind: &str, service: &str| {
        steps
            .iter()
            .find(|s| s["kind"] == kind && s["service"] == service)
            .unwrap_or_else(|| panic!("{kind} {service}: {r:#}"))["id"]
            .clone()
    };
    let aidb = steps
        .iter()
        .find(|s| s["kind"] == "create" && s["service"] == "aidb")
        .unwrap();
    assert!(aidb["after"]
        .as_array()
        .unwrap()
        .contains(&id("wait", "postgres")));
    for o in r["outcomes"].as_array().unwrap() {
        assert_eq!(o["status"], "done", "{o}");
    }
    // The data, before and after, side by side.
    let compared = r["compared"].as_array().unwrap();
    let item = |key: &str| {
        compared
            .iter()
            .find(|c| c["key"] == key)
            .unwrap_or_else(|| panic!("{key}: {compared:#?}"))
    };
    let rows = item("postgres:postgres:document_embeddings");
    assert_eq!(rows["before"], "12,345");
    assert_eq!(rows["after"], "12,345");
    assert_eq!(rows["verdict"], "same");
    assert_eq!(item("redis:redis:persistent")["verdict"], "same");
    assert_eq!(item("redis:redis:persistent")["after"], "3");
    assert_eq!(item("telemetry:aidb-events.jsonl")["after"], "2 lines, 16B");
    assert!(
        compared.iter().all(|c| c["verdict"] != "differs"),
        "{compared:#?}"
    );
    assert_eq!(
        psql(pg, "SELECT count(*) FROM document_embeddings"),
        "12345"
    );

    // The compose tools still see the containers as theirs, under the names
    // podman-compose gave them, and services find each other by name.
    let mut names = p.containers();
    names.sort();
    assert_eq!(
        names,
        vec!["swrecall_aidb_1", "swrecall_postgres_1", "swrecall_redis_1"]
    );
    let ps = Command::new("docker-compose")
        .args(["ps", "-q"])
        .current_dir(p.file().parent().unwrap())
        .env("SWREC_PG_PASSWORD", PG_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(text(&ps.stdout).lines().count(), 3, "{}", text(&ps.stderr));
    let aliases = podman(&[
        "inspect",
        "swrecall_aidb_1",
        "--format",
        "{{json .NetworkSettings.Networks}}",
    ]);
    assert!(
        aliases.contains("\"swrecall_default\"") && aliases.contains("\"aidb\""),
        "{aliases}"
    );

    // On the timeline, on an incident of its own (no watch ran), whose
    // recovery report is exported at once.
    let timeline = stackwarden(&p.data(), &["timeline", "--json", "--since", "1h"]);
    assert!(
        text(&timeline.stdout).contains("recovered in"),
        "{}",
        text(&timeline.stdout)
    );
    let incident = r["incident_id"].as_i64().unwrap_or_else(|| panic!("{r:#}"));
    let report = p.data().join("recovery.html");
    let exported = stackwarden(
        &p.data(),
        &[
            "timeline",
            "--incident",
            &incident.to_string(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(
        exported.status.code(),
        Some(0),
        "{}",
        text(&exported.stderr)
    );
    let html = std::fs::read_to_string(&report).unwrap();
    for expected in [
        "Recovery at",
        "recovered and verified, no data differs",
        "document_embeddings rows",
        "12,345",
        "create and start swrecall_postgres_1",
    ] {
        assert!(html.contains(expected), "{expected} in the report");
    }
    assert!(!html.contains(PG_PASSWORD), "no secret in the report");
}

const BUSYBOX: &str = "localhost/sw-test-busybox:latest";

#[test]
fn a_held_host_port_is_diagnosed_before_anything_is_created() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = Project::new(
        "swrecport",
        &format!(
            "services:\n  first:\n    image: {BUSYBOX}\n  web:\n    image: {BUSYBOX}\n    ports: [\"127.0.0.1:{port}:8080\"]\n    depends_on: [first]\n"
        ),
        &[],
    );
    let out = recover(&p.data(), &p.file(), &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    let blocker = &r["plan"]["blockers"][0];
    assert!(
        blocker["title"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}/tcp is in use")),
        "{r:#}"
    );
    assert!(
        blocker["evidence"]
            .as_str()
            .unwrap()
            .contains(&format!("held by process {}", std::process::id())),
        "{blocker}"
    );
    for o in r["outcomes"].as_array().unwrap() {
        assert_eq!(o["status"], "not_run", "{o}");
    }
    assert!(
        p.containers().is_empty(),
        "nothing half-created: {:?}",
        p.containers()
    );
    drop(listener);
}

#[test]
fn a_deleted_volume_is_said_to_be_data_lost_before_anything_else() {
    let p = Project::new(
        "swrecvol",
        &format!("services:\n  notes:\n    image: {BUSYBOX}\n    volumes: [notes:/srv/notes]\nvolumes:\n  notes: {{}}\n"),
        &["notes"],
    );
    p.compose_up();
    podman(&[
        "exec",
        "swrecvol_notes_1",
        "sh",
        "-c",
        "echo hello > /srv/notes/today.txt",
    ]);
    // A fingerprint saw the volume (the user verified once).
    stackwarden(
        &p.data(),
        &["verify", "--stack", p.file().to_str().unwrap()],
    );
    p.remove_containers();
    podman(&["volume", "rm", "swrecvol_notes"]);

    let dry = recover(&p.data(), &p.file(), &["--dry-run", "--json"]);
    assert_eq!(dry.status.code(), Some(1));
    let r = json(&dry);
    let first = &r["diagnosis"]["findings"][0];
    assert_eq!(first["severity"], "loss", "{r:#}");
    assert!(first["title"]
        .as_str()
        .unwrap()
        .contains("notes is gone: its data is lost"));
    assert_eq!(r["plan"]["data_lost"][0]["title"], first["title"]);
    assert!(p.containers().is_empty(), "a dry run changes nothing");

    // The human text says it before the plan.
    let shown = recover(&p.data(), &p.file(), &["--dry-run"]);
    let words = text(&shown.stdout);
    let lost = words.find("DATA LOST").expect("stated");
    assert!(lost < words.find("Plan:").unwrap(), "{words}");

    // Starting it on a new, empty volume is asked on its own: --yes alone
    // creates nothing.
    let out = recover(&p.data(), &p.file(), &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    let create = r["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "create_volume")
        .unwrap()
        .clone();
    assert!(
        create["loss"]["summary"]
            .as_str()
            .unwrap()
            .contains("is gone"),
        "{create}"
    );
    assert!(
        p.containers().is_empty(),
        "nothing created without the confirmation"
    );
    let exists = Command::new("podman")
        .args(["volume", "exists", "swrecvol_notes"])
        .status()
        .unwrap();
    assert_eq!(
        exists.code(),
        Some(1),
        "no volume created without the confirmation"
    );
    // Accepted: an empty volume, the service on it, and the loss said.
    let out = recover(
        &p.data(),
        &p.file(),
        &["--yes", "--json", "--accept-loss", "notes"],
    );
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert!(
        r["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("data lost before the recovery"),
        "{r:#}"
    );
    assert_eq!(
        podman(&[
            "volume",
            "inspect",
            "swrecvol_notes",
            "--format",
            "{{index .Labels \"com.docker.compose.volume\"}}"
        ]),
        "notes"
    );
    assert_eq!(p.containers(), vec!["swrecvol_notes_1"]);
}

#[test]
fn a_step_that_would_lose_data_needs_its_own_confirmation_and_a_backup() {
    let p = Project::new(
        "swrecdest",
        &format!("services:\n  notes:\n    image: {BUSYBOX}\n"),
        &[],
    );
    // The container runs another image than the file says, and keeps a
    // note in its own layer.
    podman(&[
        "run",
        "-d",
        "--name",
        "swrecdest_notes_1",
        "--label",
        "com.docker.compose.project=swrecdest",
        "--label",
        "com.docker.compose.service=notes",
        "localhost/sw-test-health:latest",
    ]);
    podman(&[
        "exec",
        "swrecdest_notes_1",
        "sh",
        "-c",
        "mkdir -p /srv/notes && echo keep-me > /srv/notes/today.txt",
    ]);

    let out = recover(&p.data(), &p.file(), &["--yes", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let r = json(&out);
    let step = r["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "replace")
        .unwrap_or_else(|| panic!("{r:#}"))
        .clone();
    let paths = step["loss"]["paths"].as_array().unwrap();
    assert!(
        paths.iter().any(|x| x == "A /srv/notes/today.txt"),
        "{step:#}"
    );
    assert_eq!(step["loss"]["backups"][0]["path"], "/srv");
    let outcome = r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["step"] == step["id"])
        .unwrap()
        .clone();
    assert_eq!(outcome["status"], "failed");
    assert!(
        outcome["note"].as_str().unwrap().contains("not confirmed"),
        "{outcome}"
    );
    // Nothing was removed without the confirmation.
    assert_eq!(
        podman(&["exec", "swrecdest_notes_1", "cat", "/srv/notes/today.txt"]),
        "keep-me"
    );

    let out = recover(
        &p.data(),
        &p.file(),
        &["--yes", "--json", "--accept-loss", "notes"],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    // (The network made in the first run is not planned again: ids moved.)
    let replace = &r["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "replace")
        .unwrap()["id"];
    let note = r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["step"] == *replace)
        .unwrap()["note"]
        .as_str()
        .unwrap()
        .to_string();
    let backup = note
        .split("backups: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{note}"))
        .split(" (")
        .next()
        .unwrap()
        .to_string();
    assert!(
        backup.starts_with(p.data().join("backups").to_str().unwrap()),
        "{note}"
    );
    let listed = Command::new("tar").args(["-tf", &backup]).output().unwrap();
    assert!(
        text(&listed.stdout).contains("srv/notes/today.txt"),
        "{}",
        text(&listed.stdout)
    );
    let sum = Command::new("sha256sum").arg(&backup).output().unwrap();
    let sum = text(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(note.contains(&format!("sha256 {sum}")), "{note}");
    let image = podman(&["inspect", "swrecdest_notes_1", "--format", "{{.ImageName}}"]);
    assert_eq!(image, BUSYBOX);
}

#[test]
fn a_running_container_of_another_image_is_replaced_on_its_own_port() {
    // Its own published port is held by the engine's forwarder: not in
    // the way of its replacement.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = Project::new(
        "swrecport2",
        &format!("services:\n  web:\n    image: {BUSYBOX}\n    command: [httpd, -f, -p, \"8080\"]\n    ports: [\"127.0.0.1:{port}:8080\"]\n"),
        &[],
    );
    podman(&[
        "run",
        "-d",
        "--name",
        "swrecport2_web_1",
        "--label",
        "com.docker.compose.project=swrecport2",
        "--label",
        "com.docker.compose.service=web",
        "-p",
        &format!("127.0.0.1:{port}:8080"),
        "localhost/sw-test-health:latest",
        "httpd",
        "-f",
        "-p",
        "8080",
    ]);
    let out = recover(&p.data(), &p.file(), &["--yes", "--json"]);
    let r = json(&out);
    assert!(
        r["plan"]["blockers"].as_array().unwrap().is_empty(),
        "{r:#}"
    );
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(
        podman(&["inspect", "swrecport2_web_1", "--format", "{{.ImageName}}"]),
        BUSYBOX
    );
}

#[test]
fn a_key_outside_the_subset_is_handed_to_the_compose_tool() {
    let p = Project::new(
        "swreccompose",
        &format!("services:\n  shm:\n    image: {BUSYBOX}\n    shm_size: 64m\n    environment:\n      API_TOKEN: Zq7-very-secret-tok3n\n"),
        &[],
    );
    let out = recover(&p.data(), &p.file(), &["--yes"]);
    let words = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{words}{}", text(&out.stderr));
    // The tool prints its `podman run -e ...`: the value is masked.
    assert!(words.contains("API_TOKEN=***"), "{words}");
    assert!(!words.contains("Zq7-very-secret-tok3n"));
    assert!(!text(&out.stderr).contains("Zq7-very-secret-tok3n"));
    assert!(
        words.contains("bring up shm with podman-compose"),
        "{words}"
    );
    assert!(words.contains("uses `shm_size`"), "{words}");
    // The tool's own output, streamed into the progress.
    assert!(
        words.contains("podman run --name=swreccompose_shm_1"),
        "{words}"
    );
    let shm = podman(&[
        "inspect",
        "swreccompose_shm_1",
        "--format",
        "{{.HostConfig.ShmSize}}",
    ]);
    assert_eq!(shm, (64 * 1024 * 1024).to_string());
}

#[test]
fn a_stopped_engine_is_started_by_the_wizard() {
    let socket = "/tmp/sw-recover-engine.sock";
    let _ = std::fs::remove_file(socket);
    let p = Project::new(
        "swrecengine",
        &format!("services:\n  web:\n    image: {BUSYBOX}\n"),
        &[],
    );
    let host = format!("unix://{socket}");
    let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args([
            "recover",
            "--yes",
            "--host",
            &host,
            "--stack",
            p.file().to_str().unwrap(),
        ])
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", p.data())
        .env("DOCKER_HOST", &host)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let words = text(&out.stdout);
    // Stop the engine the wizard started (its PID is in what it said).
    let pid = words
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(ToString::to_string);
    if let Some(pid) = &pid {
        p.remove_containers();
        let _ = Command::new("kill").arg(pid).status();
    }
    let _ = std::fs::remove_file(socket);
    assert_eq!(out.status.code(), Some(0), "{words}{}", text(&out.stderr));
    assert!(words.contains("no container engine answers"), "{words}");
    assert!(words.contains("start the container engine"), "{words}");
    assert!(
        words.contains(&format!("podman system service --time=0 {host}")),
        "{words}"
    );
    assert!(pid.is_some(), "{words}");
}

#[test]
fn a_missing_image_is_pulled_from_the_registry_with_layer_progress() {
    let image = "127.0.0.1:5000/sw-rec-pull:latest";
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Containerfile"),
        format!("FROM {BUSYBOX}\nRUN dd if=/dev/urandom of=/payload bs=1024 count=2048\n"),
    )
    .unwrap();
    podman(&[
        "build",
        "--format",
        "docker",
        "-q",
        "-t",
        image,
        ctx.path().to_str().unwrap(),
    ]);
    podman(&["push", "-q", "--tls-verify=false", image]);
    podman(&["rmi", image]);
    let p = Project::new(
        "swrecpull",
        &format!("services:\n  puller:\n    image: {image}\n"),
        &[],
    );

    let out = recover(&p.data(), &p.file(), &["--yes"]);
    let words = text(&out.stdout);
    let _ = Command::new("podman").args(["rmi", "-f", image]).output();
    assert_eq!(out.status.code(), Some(0), "{words}{}", text(&out.stderr));
    assert!(
        words.contains(&format!("image {image} is not in local storage")),
        "{words}"
    );
    assert!(words.contains(&format!("pull image {image}")), "{words}");
    assert!(words.contains("] layer "), "per-layer progress: {words}");
    assert!(words.contains(&format!("pulled {image}")), "{words}");
}
