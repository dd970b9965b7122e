//! What this machine offers the wizard: how to start the engine (only
//! `systemctl --user start podman.socket` or `podman system service` with
//! its socket; a rootful Docker is the user's to start, with the command
//! shown) and which compose tool is installed.

use std::path::{Path, PathBuf};

use crate::plan::Tools;

/// Finds `program` on `PATH`.
pub fn on_path(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    path_var?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

/// The engine socket the user's endpoints point at: `DOCKER_HOST` when it
/// is a unix socket, else Podman's for this user.
pub fn engine_socket(docker_host: Option<&str>, uid: u32, runtime_dir: Option<&str>) -> PathBuf {
    if let Some(path) = docker_host.and_then(|h| h.strip_prefix("unix://")) {
        return PathBuf::from(path);
    }
    if uid == 0 {
        return PathBuf::from("/run/podman/podman.sock");
    }
    let dir = runtime_dir.map_or_else(|| PathBuf::from(format!("/run/user/{uid}")), PathBuf::from);
    dir.join("podman/podman.sock")
}

/// The endpoints a person chose (`--host`, the config file, `DOCKER_HOST`,
/// ...), not the usual places the search also tries.
pub fn chosen_endpoints(candidates: &[stackwarden_engine::Candidate]) -> Vec<String> {
    candidates
        .iter()
        .filter(|c| {
            !matches!(
                c.source.as_str(),
                "rootful Podman" | "rootless Podman" | "Docker"
            )
        })
        .map(|c| c.endpoint.clone())
        .collect()
}

/// The tools as found in this process's environment, for the engine at
/// the first unix socket among the `chosen` endpoints, else the Podman
/// socket of this user (rootful for root, rootless otherwise).
pub fn detect(chosen: &[String]) -> Tools {
    let path = std::env::var("PATH").ok();
    let uid = rustix::process::getuid().as_raw();
    let socket = engine_socket(
        chosen
            .iter()
            .find(|e| e.starts_with("unix://"))
            .map(String::as_str),
        uid,
        std::env::var("XDG_RUNTIME_DIR").ok().as_deref(),
    );
    let user_systemd = uid != 0
        && on_path("systemctl", path.as_deref()).is_some()
        && Path::new(&format!("/run/user/{uid}/systemd")).exists();
    choose(
        &socket,
        on_path("podman", path.as_deref()).is_some(),
        user_systemd,
        compose_tool(path.as_deref()),
    )
}

/// How to start the engine at `socket`, given what is installed.
pub fn choose(
    socket: &Path,
    podman: bool,
    user_systemd: bool,
    compose: Option<Vec<String>>,
) -> Tools {
    let shown = socket.display().to_string();
    let docker = shown.contains("docker.sock");
    let (engine_start, engine_hint) = if docker {
        (
            None,
            "the engine is Docker, which runs as root: start it with `sudo systemctl start docker`"
                .to_string(),
        )
    } else if !podman {
        (
            None,
            "Podman is not installed: `sudo apt install podman`".to_string(),
        )
    } else if user_systemd
        && shown.ends_with("/podman/podman.sock")
        && !shown.starts_with("/run/podman")
    {
        (
            Some(vec![
                "systemctl".to_string(),
                "--user".to_string(),
                "start".to_string(),
                "podman.socket".to_string(),
            ]),
            String::new(),
        )
    } else {
        (
            Some(vec![
                "podman".to_string(),
                "system".to_string(),
                "service".to_string(),
                "--time=0".to_string(),
                format!("unix://{shown}"),
            ]),
            String::new(),
        )
    };
    Tools {
        engine_start,
        engine_hint,
        compose,
    }
}

/// podman-compose, else docker-compose, else the `docker compose` plugin.
fn compose_tool(path: Option<&str>) -> Option<Vec<String>> {
    if on_path("podman-compose", path).is_some() {
        return Some(vec!["podman-compose".into()]);
    }
    if on_path("docker-compose", path).is_some() {
        return Some(vec!["docker-compose".into()]);
    }
    let plugin = [
        "/usr/libexec/docker/cli-plugins/docker-compose",
        "/usr/lib/docker/cli-plugins/docker-compose",
    ];
    if on_path("docker", path).is_some() && plugin.iter().any(|p| Path::new(p).is_file()) {
        return Some(vec!["docker".into(), "compose".into()]);
    }
    None
}

/// Whether `command` is one the command line may run to start the engine:
/// the two commands of the desktop's shell scope (capabilities/main.json),
/// with any socket path that stays a plain `.sock` path.
pub fn is_allowed_engine_start(command: &[String]) -> bool {
    match command {
        [s, u, st, unit] => {
            s == "systemctl" && u == "--user" && st == "start" && unit == "podman.socket"
        }
        [p, sys, svc, time, socket] => {
            p == "podman"
                && sys == "system"
                && svc == "service"
                && time == "--time=0"
                && socket.strip_prefix("unix://").is_some_and(|path| {
                    path.starts_with('/')
                        && path.ends_with(".sock")
                        && !path.contains("..")
                        && path
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
                })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_follows_docker_host_then_the_user() {
        assert_eq!(
            engine_socket(Some("unix:///tmp/x/podman.sock"), 1000, None),
            PathBuf::from("/tmp/x/podman.sock")
        );
        assert_eq!(
            engine_socket(None, 0, None),
            PathBuf::from("/run/podman/podman.sock")
        );
        assert_eq!(
            engine_socket(Some("tcp://h:2375"), 1000, Some("/run/user/1000")),
            PathBuf::from("/run/user/1000/podman/podman.sock")
        );
    }

    #[test]
    fn only_the_two_engine_commands_are_chosen_or_allowed() {
        let rootless = choose(
            Path::new("/run/user/1000/podman/podman.sock"),
            true,
            true,
            None,
        );
        assert_eq!(
            rootless.engine_start.as_deref(),
            Some(
                &[
                    "systemctl".to_string(),
                    "--user".into(),
                    "start".into(),
                    "podman.socket".into()
                ][..]
            )
        );
        let root = choose(Path::new("/run/podman/podman.sock"), true, false, None);
        let command = root.engine_start.expect("a command");
        assert_eq!(
            command.last().map(String::as_str),
            Some("unix:///run/podman/podman.sock")
        );
        assert!(is_allowed_engine_start(&command));
        let docker = choose(Path::new("/var/run/docker.sock"), true, false, None);
        assert!(docker.engine_start.is_none());
        assert!(docker.engine_hint.contains("sudo systemctl start docker"));
        for bad in [
            vec!["podman", "system", "reset"],
            vec![
                "podman",
                "system",
                "service",
                "--time=0",
                "unix:///tmp/x.sock; rm -rf ~",
            ],
            vec![
                "podman",
                "system",
                "service",
                "--time=0",
                "unix://../x.sock",
            ],
            vec!["sh", "-c", "podman system service"],
        ] {
            let bad: Vec<String> = bad.into_iter().map(String::from).collect();
            assert!(!is_allowed_engine_start(&bad), "{bad:?}");
        }
    }
}
