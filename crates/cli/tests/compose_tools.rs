//! Compose files as people write them (no `name:`, no `container_name:`, a
//! built service, replicas, a profile), brought up by the tools users run
//! against the real test engine: Debian's podman-compose 1.0.3 and
//! docker-compose 1.29 (over Podman's socket), and containers named and
//! labelled as docker compose v2 names them. `stackwarden health` finds
//! every container by its compose labels and scores as the issue says.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use stackwarden_testkit::{podman, remove_containers, TEST_IMAGE};

/// A project folder of its own (its name gives the project name) and
/// everything the tool created in it, removed however the test ends.
struct Project {
    _dir: tempfile::TempDir,
    path: PathBuf,
    name: String,
}

impl Project {
    /// `folder` is made unique per process, then normalised by compose.
    fn new(folder: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = format!("{folder}_{}", std::process::id());
        let path = dir.path().join(&folder);
        std::fs::create_dir_all(path.join("api")).expect("project folder");
        std::fs::write(
            path.join("api/Dockerfile"),
            format!("FROM {TEST_IMAGE}\nCMD [\"sleep\", \"3600\"]\n"),
        )
        .expect("Dockerfile");
        std::fs::write(path.join("compose.yaml"), compose_file()).expect("compose file");
        let name = stackwarden_stack::normalize_project_name(&folder);
        Self {
            _dir: dir,
            path,
            name,
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = Command::new(program)
            .args(args)
            .current_dir(&self.path)
            .output()
            .unwrap_or_else(|e| {
                panic!("{program}: {e} (installed by scripts/install-deps.sh test)")
            });
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `stackwarden health --json` run in the project folder, as a user
    /// would, on `compose.yaml`.
    fn health(&self) -> (Option<i32>, serde_json::Value) {
        let data = tempfile::tempdir().expect("data folder");
        let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
            .args(["health", "--json", "--stack", "compose.yaml"])
            .current_dir(&self.path)
            .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
            .env("STACKWARDEN_DATA_DIR", data.path())
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_PROFILES")
            .output()
            .expect("run stackwarden");
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), json)
    }

    fn containers(&self) -> Vec<String> {
        let label = format!("label=com.docker.compose.project={}", self.name);
        let names = podman(&["ps", "-a", "--filter", &label, "--format", "{{.Names}}"]);
        names.lines().map(ToString::to_string).collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let names = self.containers();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        remove_containers(&names);
        for image in [format!("{}_api", self.name), format!("{}-api", self.name)] {
            let _ = Command::new("podman").args(["rmi", "-f", &image]).output();
        }
        let _ = Command::new("podman")
            .args(["network", "rm", "-f", &format!("{}_default", self.name)])
            .output();
    }
}

/// A plain compose file: no `name:`, no `container_name:`; a built service
/// without `image:`, a replicated one, a profiled one.
fn compose_file() -> String {
    format!(
        "services:
  web:
    image: {TEST_IMAGE}
    command: [sleep, \"3600\"]
  api:
    build: ./api
  worker:
    image: {TEST_IMAGE}
    command: [sleep, \"3600\"]
    deploy:
      replicas: 2
  agent:
    image: {TEST_IMAGE}
    command: [sleep, \"3600\"]
    profiles: [agents]
"
    )
}

fn status<'a>(v: &'a serde_json::Value, service: &str) -> &'a serde_json::Value {
    v["breakdown"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == service)
        .unwrap_or_else(|| panic!("no {service} in {v}"))
}

/// Every service found and scored: web, api, worker (two replicas) healthy,
/// the profiled agent not deployed, 100 %, exit 0.
fn assert_found_and_scored(project: &Project) {
    let (code, v) = project.health();
    assert_eq!(code, Some(0), "{v:#}");
    for service in ["web", "api", "worker"] {
        assert_eq!(status(&v, service)["status"], "healthy", "{service}: {v:#}");
    }
    let replicas = status(&v, "worker")["replicas"].as_array().unwrap().len();
    assert_eq!(replicas, 2, "{v:#}");
    assert_eq!(status(&v, "agent")["status"], "not_deployed", "{v:#}");
    assert_eq!(v["breakdown"]["overall"], 100.0, "{v:#}");
}

#[test]
fn podman_compose_projects_are_found_by_their_labels() {
    let project = Project::new("Sw_PodmanCompose");
    // podman-compose 1.0.3 ignores `profiles:`: name the services to start,
    // as its users do.
    project.run("podman-compose", &["up", "-d", "web", "api", "worker"]);
    let names = project.containers();
    assert!(
        names.contains(&format!("{}_web_1", project.name)),
        "podman-compose names containers project_service_N: {names:?}"
    );
    assert_found_and_scored(&project);
}

#[test]
fn docker_compose_v1_projects_are_found_by_their_labels() {
    let project = Project::new("Sw-DockerCompose");
    project.run("docker-compose", &["up", "-d"]);
    assert_found_and_scored(&project);

    // A required service that loses its container is down: exit 1.
    remove_containers(&[&format!("{}_web_1", project.name)]);
    let (code, v) = project.health();
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(status(&v, "web")["status"], "down", "{v:#}");
    let reason = status(&v, "web")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains(&format!("{}-web-1", project.name)),
        "{reason}"
    );
}

#[test]
fn docker_compose_v2_names_and_labels_are_found() {
    let project = Project::new("swcomposev2");
    let name = project.name.clone();
    // What docker compose v2 creates: project-service-N with its labels.
    let run = |service: &str, number: &str, image: &str| {
        let container = format!("{name}-{service}-{number}");
        podman(&[
            "run",
            "-d",
            "--name",
            &container,
            "--label",
            &format!("com.docker.compose.project={name}"),
            "--label",
            &format!("com.docker.compose.service={service}"),
            "--label",
            &format!("com.docker.compose.container-number={number}"),
            image,
            "sleep",
            "3600",
        ]);
    };
    run("web", "1", TEST_IMAGE);
    run("api", "1", TEST_IMAGE);
    run("worker", "1", TEST_IMAGE);
    run("worker", "2", TEST_IMAGE);
    assert_found_and_scored(&project);

    // COMPOSE_PROJECT_NAME names another project: none of these are its.
    let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["health", "--stack", "compose.yaml"])
        .current_dir(&project.path)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env("STACKWARDEN_DATA_DIR", project.path.join("data"))
        .env("COMPOSE_PROJECT_NAME", "someotherproject")
        .output()
        .expect("run stackwarden");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("no container named someotherproject-web-1"),
        "{text}"
    );
}

#[test]
fn a_required_variable_left_unset_is_exit_65_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let file: &Path = &dir.path().join("compose.yaml");
    std::fs::write(
        file,
        "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${SW_TEST_UNSET_PW:?put it in .env}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_stackwarden"))
        .args(["health", "--stack"])
        .arg(file)
        .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
        .env_remove("SW_TEST_UNSET_PW")
        .output()
        .expect("run stackwarden");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{err}");
    assert!(
        err.contains("line 5")
            && err.contains(
                "required variable SW_TEST_UNSET_PW is not set or is empty: put it in .env"
            ),
        "{err}"
    );
}

/// Debian 12's podman-compose (1.0) ignores a file's `name:` and names the
/// project after its folder: the services are found either way.
#[test]
fn a_named_file_is_found_under_podman_compose_which_may_ignore_the_name() {
    let project = Project::new("Sw_NamedFile");
    let renamed = format!("swrenamed{}", std::process::id());
    std::fs::write(
        project.path.join("compose.yaml"),
        format!("name: {renamed}\n{}", compose_file()),
    )
    .expect("compose file");
    project.run("podman-compose", &["up", "-d", "web", "api", "worker"]);
    let by_name = podman(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=com.docker.compose.project={renamed}"),
        "--format",
        "{{.Names}}",
    ]);
    let by_name: Vec<&str> = by_name.lines().collect();
    let result = std::panic::catch_unwind(|| assert_found_and_scored(&project));
    remove_containers(&by_name);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
