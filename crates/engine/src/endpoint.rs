//! Finding the engine the way users expect: the configured endpoint, then
//! DOCKER_HOST and CONTAINER_HOST, then rootful and rootless Podman, then
//! Docker's socket. The first that answers a ping wins; when none does, every
//! attempt and its reason is kept so the user can see what was tried.

use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};
use stackwarden_model::EndpointAttempt;

/// One place the engine might be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub endpoint: String,
    pub source: String,
}

/// An engine that answered.
#[derive(Debug, Clone)]
pub struct Connection {
    pub docker: Docker,
    pub endpoint: String,
    pub source: String,
}

/// The environment the candidate list depends on, gathered in one place so the
/// ordering rules are a pure function.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub docker_host: Option<String>,
    pub container_host: Option<String>,
    pub xdg_runtime_dir: Option<String>,
    pub uid: Option<u32>,
}

impl Environment {
    pub fn current() -> Self {
        use std::os::unix::fs::MetadataExt;
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Self {
            docker_host: var("DOCKER_HOST"),
            container_host: var("CONTAINER_HOST"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            uid: std::fs::metadata("/proc/self").ok().map(|m| m.uid()),
        }
    }
}

/// Pins Stackwarden to one engine, skipping the search (like `--host`).
pub const PIN_ENV: &str = "STACKWARDEN_HOST";

/// The endpoint pinned by `STACKWARDEN_HOST`, if set.
pub fn pinned_from_env() -> Option<Candidate> {
    std::env::var(PIN_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| Candidate {
            endpoint: normalise(&v),
            source: PIN_ENV.to_string(),
        })
}

/// What to try: only the pinned endpoint when there is one, else the search
/// order of [`candidates`].
pub fn resolve(
    pinned: Option<Candidate>,
    configured: Option<&str>,
    env: &Environment,
) -> Vec<Candidate> {
    match pinned {
        Some(p) => vec![p],
        None => candidates(configured, env),
    }
}

/// The endpoints to try, in order, without duplicates.
pub fn candidates(configured: Option<&str>, env: &Environment) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |endpoint: String, source: &str| {
        let endpoint = normalise(&endpoint);
        if !out.iter().any(|c| c.endpoint == endpoint) {
            out.push(Candidate {
                endpoint,
                source: source.to_string(),
            });
        }
    };
    if let Some(e) = configured.filter(|e| !e.trim().is_empty()) {
        push(e.to_string(), "config file");
    }
    if let Some(e) = &env.docker_host {
        push(e.clone(), "DOCKER_HOST");
    }
    if let Some(e) = &env.container_host {
        push(e.clone(), "CONTAINER_HOST");
    }
    push("unix:///run/podman/podman.sock".into(), "rootful Podman");
    let runtime_dir = env.xdg_runtime_dir.clone().or_else(|| {
        env.uid
            .filter(|u| *u != 0)
            .map(|u| format!("/run/user/{u}"))
    });
    if let Some(dir) = runtime_dir {
        push(
            format!("unix://{}/podman/podman.sock", dir.trim_end_matches('/')),
            "rootless Podman",
        );
    }
    push("unix:///var/run/docker.sock".into(), "Docker");
    out
}

/// A bare path is taken as a unix socket.
fn normalise(endpoint: &str) -> String {
    let e = endpoint.trim();
    if e.starts_with('/') {
        format!("unix://{e}")
    } else {
        e.to_string()
    }
}

/// What to tell a user when no engine answered.
pub const START_HINT: &str =
    "Start Podman's API service: `systemctl --user enable --now podman.socket` \
(rootless) or `sudo systemctl enable --now podman.socket` (rootful). Without systemd: \
`podman system service --time=0 unix://$XDG_RUNTIME_DIR/podman/podman.sock &`. \
Or point Stackwarden at your engine with DOCKER_HOST or `[engine] endpoint` in config.toml.";

const PING_TIMEOUT: Duration = Duration::from_millis(1500);

/// Tries each candidate in order and returns the first that answers a ping.
pub async fn connect(candidates: &[Candidate]) -> Result<Connection, Vec<EndpointAttempt>> {
    let mut attempts = Vec::new();
    for c in candidates {
        match try_one(&c.endpoint).await {
            Ok(docker) => {
                return Ok(Connection {
                    docker,
                    endpoint: c.endpoint.clone(),
                    source: c.source.clone(),
                })
            }
            Err(error) => attempts.push(EndpointAttempt {
                endpoint: c.endpoint.clone(),
                source: c.source.clone(),
                error,
            }),
        }
    }
    Err(attempts)
}

async fn try_one(endpoint: &str) -> Result<Docker, String> {
    let docker = if let Some(path) = endpoint.strip_prefix("unix://") {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("no socket at {path}"))
            }
            Err(e) => return Err(format!("cannot reach {path}: {e}")),
            Ok(_) => {}
        }
        Docker::connect_with_unix(endpoint, 120, API_DEFAULT_VERSION)
    } else {
        Docker::connect_with_host(endpoint)
    }
    .map_err(|e| e.to_string())?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Err(_) => Err(format!("no answer within {} ms", PING_TIMEOUT.as_millis())),
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) if is_version_mismatch(&e) => {
            match tokio::time::timeout(PING_TIMEOUT, docker.negotiate_version()).await {
                Err(_) => Err(format!(
                    "no answer to API version negotiation within {} ms",
                    PING_TIMEOUT.as_millis()
                )),
                Ok(Ok(docker)) => Ok(docker),
                Ok(Err(e)) => Err(format!("API version negotiation failed: {}", describe(&e))),
            }
        }
        Ok(Err(e)) => Err(describe(&e)),
    }
}

/// Newer Docker engines refuse API versions they consider too old or new.
fn is_version_mismatch(e: &bollard::errors::Error) -> bool {
    let text = e.to_string();
    text.contains("too old") || text.contains("too new")
}

/// bollard's error text, with the OS error made readable where it hides one
/// and any URL in it without its secrets.
pub(crate) fn describe(e: &bollard::errors::Error) -> String {
    let text = stackwarden_model::redact::text(&stackwarden_model::error_text::with_causes(e));
    if text.contains("Permission denied") || text.contains("permission denied") {
        format!("permission denied (is your user allowed to use this socket?): {text}")
    } else if text.contains("Connection refused") {
        format!("connection refused (socket exists but no service listens): {text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.endpoint.as_str()).collect()
    }

    #[test]
    fn order_is_config_env_rootful_rootless_docker() {
        let env = Environment {
            docker_host: Some("tcp://127.0.0.1:2375".into()),
            container_host: Some("unix:///tmp/c.sock".into()),
            xdg_runtime_dir: Some("/run/user/1000".into()),
            uid: Some(1000),
        };
        let c = candidates(Some("/srv/engine.sock"), &env);
        assert_eq!(
            endpoints(&c),
            [
                "unix:///srv/engine.sock",
                "tcp://127.0.0.1:2375",
                "unix:///tmp/c.sock",
                "unix:///run/podman/podman.sock",
                "unix:///run/user/1000/podman/podman.sock",
                "unix:///var/run/docker.sock",
            ]
        );
        assert_eq!(c[0].source, "config file");
        assert_eq!(c[1].source, "DOCKER_HOST");
    }

    #[test]
    fn duplicates_are_dropped_and_root_has_no_rootless_guess() {
        let env = Environment {
            docker_host: Some("unix:///run/podman/podman.sock".into()),
            uid: Some(0),
            ..Default::default()
        };
        let c = candidates(None, &env);
        assert_eq!(
            endpoints(&c),
            [
                "unix:///run/podman/podman.sock",
                "unix:///var/run/docker.sock"
            ]
        );
        assert_eq!(c[0].source, "DOCKER_HOST");
    }

    #[test]
    fn rootless_socket_falls_back_to_run_user_uid() {
        let env = Environment {
            uid: Some(1234),
            ..Default::default()
        };
        let c = candidates(None, &env);
        assert!(endpoints(&c).contains(&"unix:///run/user/1234/podman/podman.sock"));
    }

    #[tokio::test]
    async fn missing_sockets_are_reported_one_by_one() {
        let c = vec![
            Candidate {
                endpoint: "unix:///nonexistent/a.sock".into(),
                source: "config file".into(),
            },
            Candidate {
                endpoint: "ftp://nowhere".into(),
                source: "DOCKER_HOST".into(),
            },
        ];
        let Err(attempts) = connect(&c).await else {
            panic!("nothing should answer")
        };
        assert_eq!(attempts.len(), 2);
        assert!(attempts[0]
            .error
            .contains("no socket at /nonexistent/a.sock"));
        assert_eq!(attempts[1].source, "DOCKER_HOST");
        assert!(!attempts[1].error.is_empty());
    }
}
