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

/// Where the engine to start is: a unix socket on this machine, or an
/// endpoint elsewhere (`tcp://`, `ssh://`) Stackwarden cannot start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineAt {
    Socket(PathBuf),
    Elsewhere(String),
}

/// The engine of the first `chosen` endpoint, else the Podman socket of
/// this user (rootful for root, rootless otherwise).
pub fn engine_at(chosen: &[String], uid: u32, runtime_dir: Option<&str>) -> EngineAt {
    match chosen.first() {
        Some(e) if !e.starts_with("unix://") => EngineAt::Elsewhere(e.clone()),
        Some(e) => EngineAt::Socket(engine_socket(Some(e), uid, runtime_dir)),
        None => EngineAt::Socket(engine_socket(None, uid, runtime_dir)),
    }
}

/// The tools as found in this process's environment, for the engine the
/// watch is pointed at ([`engine_at`]).
pub fn detect(chosen: &[String]) -> Tools {
    let path = std::env::var("PATH").ok();
    let uid = rustix::process::getuid().as_raw();
    let runtime_dir = std::env::var("XDG_RUNTIME_DIR").ok();
    let at = engine_at(chosen, uid, runtime_dir.as_deref());
    let user_systemd = uid != 0
        && on_path("systemctl", path.as_deref()).is_some()
        && Path::new(&format!("/run/user/{uid}/systemd")).exists();
    let own_socket = engine_socket(None, uid, runtime_dir.as_deref());
    choose(
        &at,
        &Host {
            root: uid == 0,
            podman: on_path("podman", path.as_deref()).is_some(),
            user_systemd,
            own_socket: &own_socket,
        },
        compose_tool(path.as_deref()),
    )
}

/// What this machine and user offer for starting an engine.
pub struct Host<'a> {
    pub root: bool,
    pub podman: bool,
    /// A systemd user instance runs (`systemctl --user` works).
    pub user_systemd: bool,
    /// This user's own Podman socket (the one `podman.socket` serves).
    pub own_socket: &'a Path,
}

/// How to start the engine `at`, given the host.
pub fn choose(at: &EngineAt, host: &Host<'_>, compose: Option<Vec<String>>) -> Tools {
    let refuse = |hint: String| (None, hint);
    let (engine_start, engine_hint) = match at {
        EngineAt::Elsewhere(endpoint) => refuse(format!(
            "the engine at {endpoint} is not on this machine: start it where it runs"
        )),
        EngineAt::Socket(socket) => {
            let shown = socket.display().to_string();
            if shown.contains("docker.sock") {
                refuse("the engine is Docker, which runs as root: start it with `sudo systemctl start docker`".to_string())
            } else if !host.podman {
                refuse("Podman is not installed: `sudo apt install podman`".to_string())
            } else if !host.root && shown.starts_with("/run/podman/") {
                refuse("the engine is rootful Podman: start it with `sudo systemctl start podman.socket`".to_string())
            } else if host.user_systemd && socket.as_path() == host.own_socket {
                (
                    Some(
                        ["systemctl", "--user", "start", "podman.socket"]
                            .map(String::from)
                            .to_vec(),
                    ),
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
            }
        }
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
        let own = PathBuf::from("/run/user/1000/podman/podman.sock");
        let user = Host {
            root: false,
            podman: true,
            user_systemd: true,
            own_socket: &own,
        };
        let rootless = choose(&EngineAt::Socket(own.clone()), &user, None);
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
        // Another socket of the same user: its own service, not the unit.
        let other = choose(
            &EngineAt::Socket("/tmp/x/podman/podman.sock".into()),
            &user,
            None,
        );
        assert_eq!(
            other.engine_start.as_ref().map(|c| c[0].as_str()),
            Some("podman")
        );
        // A rootful socket for a user, a remote engine: said, not started.
        let rootful = choose(
            &EngineAt::Socket("/run/podman/podman.sock".into()),
            &user,
            None,
        );
        assert!(
            rootful.engine_start.is_none()
                && rootful
                    .engine_hint
                    .contains("sudo systemctl start podman.socket")
        );
        let remote = choose(
            &EngineAt::Elsewhere("tcp://10.0.0.5:2375".into()),
            &user,
            None,
        );
        assert!(
            remote.engine_start.is_none() && remote.engine_hint.contains("tcp://10.0.0.5:2375")
        );
        let root_own = PathBuf::from("/run/podman/podman.sock");
        let root = Host {
            root: true,
            podman: true,
            user_systemd: false,
            own_socket: &root_own,
        };
        let started = choose(&EngineAt::Socket(root_own.clone()), &root, None);
        let command = started.engine_start.expect("a command");
        assert_eq!(
            command.last().map(String::as_str),
            Some("unix:///run/podman/podman.sock")
        );
        assert!(is_allowed_engine_start(&command));
        let docker = choose(
            &EngineAt::Socket("/var/run/docker.sock".into()),
            &root,
            None,
        );
        assert!(docker.engine_start.is_none());
        assert!(docker.engine_hint.contains("sudo systemctl start docker"));
        assert_eq!(
            engine_at(&["tcp://h:1".into()], 1000, None),
            EngineAt::Elsewhere("tcp://h:1".into())
        );
        assert_eq!(
            engine_at(&[], 1000, Some("/run/user/1000")),
            EngineAt::Socket("/run/user/1000/podman/podman.sock".into())
        );
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
