//! Runs one probe of a stack service against the real thing and turns what it
//! observed into a `ProbeOutcome`: success, every condition's result with the
//! observed value, and why the probe could not run when it could not. A probe
//! never fails as a function: a refused connection, a timeout or a body that
//! is not JSON is an outcome, not an error.
//!
//! Kinds: container state, HTTP(S) with conditions, TCP connect, Qdrant
//! collections, PostgreSQL (tables, extensions), Redis (PING, persistence).

mod database;
mod http;
mod round;
mod schedule;

pub use round::{container_name, find_container, outcomes_by_service, probe_round, stack_health};
pub use schedule::{view, HealthRecord, HealthScheduler, ProbeView, StackHealth, StackServiceView};

use std::time::{Duration, Instant};

use serde_json::Value;
use stackwarden_health::{Condition, ConditionResult, Observation, ProbeOutcome};
use stackwarden_model::{HealthState, ServiceRow};
use stackwarden_stack::{Probe, ProbeKind};

/// Shared clients for probe runs (one HTTP connection pool).
#[derive(Debug, Clone, Default)]
pub struct ProbeRunner {
    http: http::HttpClient,
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

fn outcome(probe: &Probe, conditions: Vec<ConditionResult>, error: Option<String>) -> ProbeOutcome {
    ProbeOutcome {
        probe: probe.name.clone(),
        success: error.is_none() && conditions.iter().all(|c| c.success),
        conditions,
        error,
    }
}

impl ProbeRunner {
    /// Cheap: HTTPS is set up on the first https probe.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `probe`; `container` is the service's current row, if it has one.
    pub async fn run(&self, probe: &Probe, container: Option<&ServiceRow>) -> ProbeOutcome {
        match &probe.kind {
            ProbeKind::Container => container_outcome(probe, container),
            ProbeKind::Http { url } => self.http_outcome(probe, url, &[]).await,
            ProbeKind::Qdrant { url, collections } => {
                let url = format!("{}/collections", url.trim_end_matches('/'));
                self.http_outcome(probe, &url, collections).await
            }
            ProbeKind::Tcp { address } => tcp_outcome(probe, address).await,
            ProbeKind::Postgres {
                url,
                password_env,
                tables,
                extensions,
            } => {
                let password = password_env.as_deref().and_then(|v| std::env::var(v).ok());
                let seen = database::postgres(url, password, tables, extensions);
                database_outcome(probe, seen).await
            }
            ProbeKind::Redis {
                url,
                require_persistence,
            } => database_outcome(probe, database::redis(url, *require_persistence)).await,
        }
    }

    async fn http_outcome(&self, probe: &Probe, url: &str, collections: &[String]) -> ProbeOutcome {
        let seen = within(probe.timeout, self.http.get(url)).await;
        let json: Option<Value> = seen
            .as_ref()
            .ok()
            .and_then(|s| serde_json::from_slice(&s.body).ok());
        let (obs_status, obs_time, body, error) = match &seen {
            Ok(s) => (
                Some(s.status),
                Some(s.elapsed.as_secs_f64() * 1000.0),
                json.as_ref(),
                None,
            ),
            Err(e) => (None, None, None, Some(e.clone())),
        };
        let observation = Observation {
            status: obs_status,
            response_time_ms: obs_time,
            connected: Some(seen.is_ok()),
            body,
        };
        let mut results: Vec<ConditionResult> = conditions_or_default(probe)
            .iter()
            .map(|c| c.evaluate(&observation))
            .collect();
        if !collections.is_empty() {
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
        Ok(Err(e)) => (false, Some(format!("cannot connect to {address}: {e}"))),
        Err(_) => (
            false,
            Some(format!(
                "no connection to {address} within {}",
                millis(probe.timeout)
            )),
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
    seen: impl std::future::Future<Output = Result<database::DatabaseSeen, String>>,
) -> ProbeOutcome {
    let seen = within(probe.timeout, seen).await;
    let (mut results, elapsed, error) = match seen {
        Ok(s) => (s.checks, Some(s.elapsed_ms), None),
        Err(e) => (Vec::new(), None, Some(e)),
    };
    let observation = Observation {
        connected: Some(error.is_none()),
        response_time_ms: elapsed,
        ..Default::default()
    };
    results.extend(probe.conditions.iter().map(|c| c.evaluate(&observation)));
    outcome(probe, results, error)
}

/// The probe's own work under its timeout; running out is an error that says so.
async fn within<T>(
    timeout: Duration,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}", millis(timeout))))
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// reqwest's error with its causes, which say what actually went wrong.
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
