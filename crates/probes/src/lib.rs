//! Runs one probe of a stack service against the real thing and turns what it
//! observed into a `ProbeOutcome`: success, every condition's result with the
//! observed value, and why the probe could not run when it could not. A probe
//! never fails as a function: a refused connection, a timeout or a body that
//! is not JSON is an outcome, not an error. What stopped a probe is a
//! [`ProbeError`]; its text (with every URL redacted) is the outcome's
//! `error`.
//!
//! HTTP bodies are read only up to the probe's `max_body`: a longer answer
//! fails the probe with `body over N` as what was observed, and is not read
//! further.
//!
//! Kinds: container state, HTTP(S) with conditions, TCP connect, Qdrant
//! collections, PostgreSQL (tables, extensions), Redis (PING, persistence),
//! llama.cpp servers and MCP servers. The typed kinds (llama, qdrant,
//! postgres, redis, mcp) also give named values ([`ProbeValues`]) that
//! their conditions test and the window shows; see docs/probes.md.

mod database;
mod error;
mod http;
mod llama;
mod mcp;
pub mod prometheus;
mod qdrant;
mod round;
mod schedule;
mod secrets;
mod values;

pub use round::{
    container_name, deployed_services, find_container, find_containers, outcomes_by_service,
    probe_round, stack_health, when_absent, EverDeployed,
};
pub use schedule::{
    view, HealthRecord, HealthScheduler, LogMarks, ProbeView, StackHealth, StackServiceView,
    MARK_PROBES,
};

pub use error::ProbeError;
pub use http::human_size;
pub use secrets::{secret_key, SecretFuture, SecretSource, Secrets};
pub use values::{
    LlamaModel, LlamaValues, McpValues, PostgresValues, ProbeValues, QdrantCollection,
    QdrantValues, RedisValues, MAX_LIST, MAX_TEXT_CHARS,
};

use std::time::{Duration, Instant};

use serde_json::Value;
use stackwarden_health::{Condition, ConditionResult, Observation, ProbeOutcome};
use stackwarden_model::{HealthState, ServiceRow};
use stackwarden_stack::{Probe, ProbeKind};

use crate::http::{Body, HttpSeen};

/// Shared clients for probe runs (one HTTP connection pool).
#[derive(Debug, Clone, Default)]
pub struct ProbeRunner {
    http: http::HttpClient,
    secrets: Option<Secrets>,
}

/// A condition the probe itself checks (a required table, a collection),
/// reported like the user's conditions.
fn check(
    condition: impl Into<String>,
    success: bool,
    observed: impl Into<String>,
) -> ConditionResult {
    ConditionResult {
        condition: condition.into(),
        success,
        observed: observed.into(),
    }
}

/// The conditions a probe uses when its definition lists none.
fn default_conditions(kind: &ProbeKind) -> Vec<Condition> {
    let text = match kind {
        ProbeKind::Http { .. } | ProbeKind::Qdrant { .. } => "[STATUS] < 400",
        ProbeKind::Tcp { .. } => "[CONNECTED] == true",
        _ => return Vec::new(),
    };
    text.parse().into_iter().collect()
}

fn outcome(
    probe: &Probe,
    conditions: Vec<ConditionResult>,
    error: Option<ProbeError>,
) -> ProbeOutcome {
    ProbeOutcome {
        probe: probe.name.clone(),
        success: error.is_none() && conditions.iter().all(|c| c.success),
        conditions,
        error: error.map(|e| e.to_string()),
    }
}

/// True when a condition looks at the body (`[BODY]`, `len([BODY]...)`).
fn reads_body(condition: &Condition) -> bool {
    condition.to_string().contains("[BODY]")
}

impl ProbeRunner {
    /// Cheap: HTTPS is set up on the first https probe.
    pub fn new() -> Self {
        Self::default()
    }

    /// A runner that also looks up database passwords in `secrets`.
    pub fn with_secrets(secrets: Option<Secrets>) -> Self {
        Self {
            secrets,
            ..Self::default()
        }
    }

    /// A database probe's password: its `password_env` variable, else the
    /// host's secret store. `Err` names what is missing when the URL has no
    /// password of its own and a variable was named.
    async fn password(&self, url: &str, env: Option<&str>) -> Result<Option<String>, ProbeError> {
        if let Some(pw) = env.and_then(|v| std::env::var(v).ok()) {
            return Ok(Some(pw));
        }
        if secrets::has_password(url) {
            return Ok(None);
        }
        let kept = match (&self.secrets, secret_key(url)) {
            (Some(s), Some(key)) => s.0.password(&key).await,
            _ => None,
        };
        match (kept, env) {
            (Some(pw), _) => Ok(Some(pw)),
            (None, Some(var)) => Err(ProbeError::PasswordMissing {
                env: var.to_string(),
                keyring: self.secrets.is_some(),
            }),
            (None, None) => Ok(None),
        }
    }

    /// Runs `probe`; `container` is the service's current row, if it has one.
    pub async fn run(&self, probe: &Probe, container: Option<&ServiceRow>) -> ProbeOutcome {
        self.run_with_values(probe, container).await.outcome
    }

    /// Runs `probe` and keeps what a typed probe read ([`ProbeValues`]).
    pub async fn run_with_values(&self, probe: &Probe, container: Option<&ServiceRow>) -> Probed {
        match &probe.kind {
            ProbeKind::Container => container_outcome(probe, container).into(),
            ProbeKind::Http { url } => self.http_outcome(probe, url, &[], None).await.into(),
            ProbeKind::Qdrant { url, collections } => {
                self.qdrant_outcome(probe, url, collections).await
            }
            ProbeKind::Tcp { address } => tcp_outcome(probe, address).await.into(),
            // The keyring may be slow, or ask to be unlocked: the probe's
            // own timeout holds for the password lookup too.
            ProbeKind::Postgres {
                url,
                password_env,
                tables,
                extensions,
            } => match within(probe.timeout, self.password(url, password_env.as_deref())).await {
                Ok(password) => {
                    let seen = database::postgres(url, password, tables, extensions);
                    database_outcome(probe, seen).await
                }
                Err(missing) => outcome(probe, Vec::new(), Some(missing)).into(),
            },
            ProbeKind::Redis {
                url,
                require_persistence,
            } => database_outcome(probe, database::redis(url, *require_persistence)).await,
            ProbeKind::Llama { url } => self.llama_outcome(probe, url).await,
            ProbeKind::Mcp { url } => self.mcp_outcome(probe, url).await,
        }
    }

    async fn llama_outcome(&self, probe: &Probe, url: &str) -> Probed {
        let seen = within(
            probe.timeout,
            llama::llama(&self.http, url, probe.max_body_bytes),
        )
        .await;
        match seen {
            Ok(seen) => {
                let values = ProbeValues::Llama(seen.values);
                let named = values.named();
                let observation = Observation {
                    status: Some(seen.status),
                    response_time_ms: Some(seen.elapsed_ms),
                    connected: Some(true),
                    body: None,
                    values: Some(&named),
                };
                let mut results = seen.checks;
                results.extend(probe.conditions.iter().map(|c| c.evaluate(&observation)));
                Probed {
                    outcome: outcome(probe, results, None),
                    values: Some(values),
                }
            }
            Err(e) => failed_with(probe, e),
        }
    }

    async fn mcp_outcome(&self, probe: &Probe, url: &str) -> Probed {
        let started = Instant::now();
        let seen = within(probe.timeout, async {
            let client = self.http.reqwest().await?;
            mcp::mcp(client, url).await
        })
        .await;
        match seen {
            Ok(found) => {
                let mut results = vec![check(
                    "MCP handshake",
                    true,
                    format!(
                        "protocol {}, server {} {}, {} tools",
                        found.protocol,
                        found.server,
                        found.server_version,
                        found.tools.len()
                    ),
                )];
                let values = ProbeValues::Mcp(found);
                let named = values.named();
                let observation = Observation {
                    response_time_ms: Some(started.elapsed().as_secs_f64() * 1000.0),
                    connected: Some(true),
                    values: Some(&named),
                    ..Default::default()
                };
                results.extend(probe.conditions.iter().map(|c| c.evaluate(&observation)));
                Probed {
                    outcome: outcome(probe, results, None),
                    values: Some(values),
                }
            }
            Err(e) => failed_with(probe, e),
        }
    }

    async fn qdrant_outcome(&self, probe: &Probe, base: &str, collections: &[String]) -> Probed {
        // One timeout for the collections' details and the list together.
        let work = async {
            let details = qdrant::collections(&self.http, base, collections, probe.max_body_bytes)
                .await
                .ok();
            let values = details
                .as_ref()
                .map(|d| ProbeValues::Qdrant(d.values.clone()));
            let named = values.as_ref().map(ProbeValues::named);
            let mut outcome = self
                .http_outcome(probe, &collections_url(base), collections, named.as_ref())
                .await;
            // Each listed collection's own check, under its "exists"
            // (a list that could not be read says so once, not again).
            if let (None, Some(d)) = (&outcome.error, details) {
                let listed = |name: &str| {
                    let exists = format!("collection {name} exists");
                    outcome
                        .conditions
                        .iter()
                        .any(|c| c.success && c.condition == exists)
                };
                let checks: Vec<ConditionResult> = d
                    .checks
                    .into_iter()
                    .filter(|(name, _)| listed(name))
                    .map(|(_, c)| c)
                    .collect();
                outcome.success &= checks.iter().all(|c| c.success);
                outcome.conditions.extend(checks);
            }
            Probed { outcome, values }
        };
        match tokio::time::timeout(probe.timeout, work).await {
            Ok(probed) => probed,
            Err(_) => failed_with(probe, ProbeError::Timeout(probe.timeout)),
        }
    }

    async fn http_outcome(
        &self,
        probe: &Probe,
        url: &str,
        collections: &[String],
        values: Option<&Value>,
    ) -> ProbeOutcome {
        let seen = within(probe.timeout, self.http.get(url, probe.max_body_bytes)).await;
        // What stands in for the body when it was too long to read.
        let over_limit: Option<String> = match &seen {
            Ok(HttpSeen {
                body: Body::OverLimit(limit),
                ..
            }) => Some(format!("body over {}", human_size(*limit))),
            _ => None,
        };
        let json: Option<Value> = match &seen {
            Ok(HttpSeen {
                body: Body::Complete(bytes),
                ..
            }) => serde_json::from_slice(bytes).ok(),
            _ => None,
        };
        let (obs_status, obs_time, body, error) = match seen {
            Ok(s) => (
                Some(s.status),
                Some(s.elapsed.as_secs_f64() * 1000.0),
                json.as_ref(),
                None,
            ),
            Err(e) => (None, None, None, Some(e)),
        };
        let observation = Observation {
            status: obs_status,
            response_time_ms: obs_time,
            connected: Some(error.is_none()),
            body,
            values,
        };
        let mut results: Vec<ConditionResult> = conditions_or_default(probe)
            .iter()
            .map(|c| match &over_limit {
                Some(over) if reads_body(c) => check(c.to_string(), false, over.clone()),
                _ => c.evaluate(&observation),
            })
            .collect();
        if let Some(over) = &over_limit {
            for name in collections {
                results.push(check(
                    format!("collection {name} exists"),
                    false,
                    over.clone(),
                ));
            }
            results.push(check(
                format!("body at most {}", human_size(probe.max_body_bytes)),
                false,
                over.clone(),
            ));
        } else if !collections.is_empty() {
            let present: Vec<String> = body
                .and_then(|b| b.pointer("/result/collections"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for name in collections {
                let found = present.contains(name);
                results.push(check(
                    format!("collection {name} exists"),
                    found,
                    if found { "present" } else { "missing" },
                ));
            }
        }
        outcome(probe, results, error)
    }
}

/// Qdrant's list of collections under `base`: `/collections` goes at the end
/// of the path, before any query.
fn collections_url(base: &str) -> String {
    endpoint(base, "/collections")
}

/// `path` (each segment as given, percent-encoded) at the end of `base`'s
/// path, before any query: `http://h:6333/?api_key=x` + `/collections`.
pub(crate) fn endpoint(base: &str, path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    endpoint_at(base, &segments)
}

/// `segments` at the end of `base`'s path, each percent-encoded as one
/// segment (a `/` in a collection's name stays in its segment).
pub(crate) fn endpoint_at(base: &str, segments: &[&str]) -> String {
    match reqwest::Url::parse(base) {
        Ok(mut url) if url.has_host() && !url.cannot_be_a_base() => {
            if let Ok(mut path) = url.path_segments_mut() {
                path.pop_if_empty();
                path.extend(segments);
            }
            url.to_string()
        }
        // Not a URL: the request says so, with this text redacted.
        _ => format!("{}/{}", base.trim_end_matches('/'), segments.join("/")),
    }
}

/// An outcome and what a typed probe read (`None` for the untyped kinds,
/// and when the probe could not read anything).
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    pub outcome: ProbeOutcome,
    pub values: Option<ProbeValues>,
}

impl From<ProbeOutcome> for Probed {
    fn from(outcome: ProbeOutcome) -> Self {
        Self {
            outcome,
            values: None,
        }
    }
}

/// A probe stopped by `error`, the user's conditions each failing with what
/// was missing.
fn failed_with(probe: &Probe, error: ProbeError) -> Probed {
    let observation = Observation {
        connected: Some(false),
        ..Default::default()
    };
    let results = probe
        .conditions
        .iter()
        .map(|c| c.evaluate(&observation))
        .collect();
    outcome(probe, results, Some(error)).into()
}

fn conditions_or_default(probe: &Probe) -> Vec<Condition> {
    if probe.conditions.is_empty() {
        default_conditions(&probe.kind)
    } else {
        probe.conditions.clone()
    }
}

/// The container probe: state and HEALTHCHECK of the service's container.
pub fn container_outcome(probe: &Probe, container: Option<&ServiceRow>) -> ProbeOutcome {
    let Some(row) = container else {
        return outcome(
            probe,
            vec![check("container exists", false, "no container")],
            None,
        );
    };
    let results = vec![
        check("container is running", row.is_running(), row.state.as_str()),
        check(
            "HEALTHCHECK is not unhealthy",
            row.health != HealthState::Unhealthy,
            row.health.as_str(),
        ),
    ];
    outcome(probe, results, None)
}

async fn tcp_outcome(probe: &Probe, address: &str) -> ProbeOutcome {
    let started = Instant::now();
    let connect =
        tokio::time::timeout(probe.timeout, tokio::net::TcpStream::connect(address)).await;
    let (connected, error) = match connect {
        Ok(Ok(_)) => (true, None),
        Ok(Err(e)) => (false, Some(ProbeError::connect(address, e))),
        Err(_) => (
            false,
            Some(ProbeError::connect_timeout(address, probe.timeout)),
        ),
    };
    let observation = Observation {
        connected: Some(connected),
        response_time_ms: connected.then(|| started.elapsed().as_secs_f64() * 1000.0),
        ..Default::default()
    };
    let results = conditions_or_default(probe)
        .iter()
        .map(|c| c.evaluate(&observation))
        .collect();
    outcome(probe, results, error)
}

/// A database probe's own checks plus the user's conditions (which may look
/// at `[RESPONSE_TIME]` and `[CONNECTED]`), under the probe's timeout.
async fn database_outcome(
    probe: &Probe,
    seen: impl std::future::Future<Output = Result<database::DatabaseSeen, ProbeError>>,
) -> Probed {
    let seen = within(probe.timeout, seen).await;
    let (mut results, elapsed, values, error) = match seen {
        Ok(s) => (s.checks, Some(s.elapsed_ms), Some(s.values), None),
        Err(e) => (Vec::new(), None, None, Some(e)),
    };
    let named = values.as_ref().map(ProbeValues::named);
    let observation = Observation {
        connected: Some(error.is_none()),
        response_time_ms: elapsed,
        values: named.as_ref(),
        ..Default::default()
    };
    results.extend(probe.conditions.iter().map(|c| c.evaluate(&observation)));
    Probed {
        outcome: outcome(probe, results, error),
        values,
    }
}

/// The probe's own work under its timeout; running out is an error that says so.
async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(ProbeError::Timeout(timeout)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::ContainerState;

    fn container_probe() -> Probe {
        Probe {
            name: "container".into(),
            kind: ProbeKind::Container,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            conditions: Vec::new(),
            max_body_bytes: stackwarden_stack::DEFAULT_MAX_BODY_BYTES,
        }
    }

    fn row(state: ContainerState, health: HealthState) -> ServiceRow {
        stackwarden_model::testing::row("c", state, health)
    }

    #[test]
    fn container_probe_reports_state_and_healthcheck() {
        let p = container_probe();
        let ok = container_outcome(
            &p,
            Some(&row(ContainerState::Running, HealthState::Healthy)),
        );
        assert!(ok.success);
        let sick = container_outcome(
            &p,
            Some(&row(ContainerState::Running, HealthState::Unhealthy)),
        );
        assert!(!sick.success);
        assert_eq!(sick.conditions[1].observed, "unhealthy");
        let stopped = container_outcome(&p, Some(&row(ContainerState::Exited, HealthState::None)));
        assert_eq!(
            (stopped.success, stopped.conditions[0].observed.as_str()),
            (false, "exited")
        );
        let missing = container_outcome(&p, None);
        assert_eq!(missing.conditions[0].observed, "no container");
    }

    fn probe_of(kind: ProbeKind) -> Probe {
        Probe {
            name: "secret".into(),
            kind,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            conditions: vec!["[BODY].status == ok".parse().expect("condition")],
            max_body_bytes: stackwarden_stack::DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Everything of an outcome a user can see: the error and the evidence.
    fn shown(o: &ProbeOutcome) -> String {
        let mut text = o.error.clone().unwrap_or_default();
        for c in &o.conditions {
            text.push_str(&format!("; {}: {}", c.condition, c.observed));
        }
        text
    }

    #[tokio::test]
    async fn errors_and_evidence_never_carry_a_urls_secrets() {
        let runner = ProbeRunner::new();
        let http = |url: &str| ProbeKind::Http { url: url.into() };
        let cases = [
            // Connection refused, plain and TLS.
            (
                http("http://user:hunter2@127.0.0.1:1/x?token=t0k3n"),
                "cannot connect to http://user:***@127.0.0.1:1/x?token=***",
            ),
            (
                http("https://user:hunter2@127.0.0.1:1/x?token=t0k3n"),
                "cannot connect to https://user:***@127.0.0.1:1/x?token=***",
            ),
            // Invalid URLs with a password.
            (
                http("http://user:hunter2@exa mple/x?token=t0k3n"),
                "invalid URL http://***@exa mple/x?token=***",
            ),
            (
                http("https://user:hunter2@exa mple/x?token=t0k3n"),
                "invalid URL https://***@exa mple/x?token=***",
            ),
            (
                http("http://user:hunter2@127.0.0.1:1/a b?token=t0k3n"),
                "invalid URL http://***@127.0.0.1:1/",
            ),
            (
                ProbeKind::Qdrant {
                    url: "http://user:hunter2@127.0.0.1:1/?api_key=t0k3n".into(),
                    collections: vec!["c".into()],
                },
                "cannot connect to http://user:***@127.0.0.1:1/collections?api_key=***",
            ),
            (
                ProbeKind::Postgres {
                    url: "postgres://aidb:hunter2@127.0.0.1:notaport/aidb?password=t0k3n".into(),
                    password_env: None,
                    tables: Vec::new(),
                    extensions: Vec::new(),
                },
                "invalid PostgreSQL URL postgres://***@127.0.0.1:notaport/aidb?password=***",
            ),
            (
                ProbeKind::Postgres {
                    url: "postgres://aidb:hunter2@127.0.0.1:1/aidb?password=t0k3n".into(),
                    password_env: None,
                    tables: Vec::new(),
                    extensions: Vec::new(),
                },
                "cannot connect to PostgreSQL",
            ),
            (
                ProbeKind::Redis {
                    url: "redis://default:hunter2@127.0.0.1:notaport/0?token=t0k3n".into(),
                    require_persistence: false,
                },
                "invalid Redis URL redis://***@127.0.0.1:notaport/0?token=***",
            ),
            (
                ProbeKind::Redis {
                    url: "redis://default:hunter2@127.0.0.1:1".into(),
                    require_persistence: false,
                },
                "cannot connect to Redis",
            ),
            (
                ProbeKind::Llama {
                    url: "http://user:hunter2@127.0.0.1:1/?token=t0k3n".into(),
                },
                "cannot connect to http://user:***@127.0.0.1:1/props?token=***",
            ),
            (
                ProbeKind::Mcp {
                    url: "http://user:hunter2@127.0.0.1:1/mcp?token=t0k3n".into(),
                },
                "MCP handshake with http://user:***@127.0.0.1:1/mcp?token=*** failed",
            ),
        ];
        for (kind, starts) in cases {
            let outcome = runner.run(&probe_of(kind.clone()), None).await;
            assert!(!outcome.success, "{kind:?}");
            let text = shown(&outcome);
            assert!(
                !text.contains("hunter2") && !text.contains("t0k3n"),
                "{kind:?} shows a secret: {text}"
            );
            assert!(
                outcome
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(starts)),
                "{kind:?}: {text}"
            );
        }
    }

    #[test]
    fn the_collections_path_goes_before_the_query() {
        for (base, want) in [
            ("http://localhost:6333", "http://localhost:6333/collections"),
            (
                "http://localhost:6333/",
                "http://localhost:6333/collections",
            ),
            ("http://h:6333/qdrant/", "http://h:6333/qdrant/collections"),
            ("http://h:6333/?x=1", "http://h:6333/collections?x=1"),
        ] {
            assert_eq!(collections_url(base), want);
        }
    }

    #[test]
    fn probes_without_conditions_get_sensible_ones() {
        let http = ProbeKind::Http {
            url: "http://x".into(),
        };
        assert_eq!(
            default_conditions(&http)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["[STATUS] < 400"]
        );
        let tcp = ProbeKind::Tcp {
            address: "x:1".into(),
        };
        assert_eq!(
            default_conditions(&tcp)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["[CONNECTED] == true"]
        );
    }
}
