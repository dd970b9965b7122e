//! The health breakdown: a pure function from (stack services, container
//! rows, probe outcomes) to a status per service, a score per group and an
//! overall percentage whose formula is spelled out next to it, like the
//! report's "Core Infrastructure 100% (5/5) ... OVERALL 95%".
//!
//! Rules, in order, for one service:
//! 1. no container: `not deployed` when the caller says so (a profile that is
//!    not active, an optional service never deployed), else `down`;
//! 2. none of its containers running: `down`;
//! 3. its HEALTHCHECK says unhealthy: `unhealthy`;
//! 4. it has probes: all pass `healthy`, none pass `unhealthy`, some `degraded`;
//!    none has run yet: `unknown`;
//! 5. no probes: HEALTHCHECK healthy or none `healthy`, starting `unknown`.
//!
//! A service with several containers (replicas) that are not all running,
//! or not all healthy by their HEALTHCHECK, is at best `degraded`.
//!
//! A group's score is healthy services count 1, degraded ½, the rest 0, over
//! its deployed services (`not deployed` ones are listed, not counted). The
//! overall score weighs each group: required groups ×3, optional ×1 by
//! default (a group may set its own weight).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use stackwarden_model::{HealthState, ServiceRow};
use ts_rs::TS;

use crate::condition::ConditionResult;

pub const REQUIRED_WEIGHT: f64 = 3.0;

/// The probe name of a service's log patterns: its outcome fails, with the
/// matched line as the observed value, while a matched line stands.
pub const LOG_PATTERN_PROBE: &str = "log pattern";
/// The probe name of a service's telemetry alerts: its outcome fails, with
/// what the telemetry showed, while an alert holds.
pub const TELEMETRY_ALERT_PROBE: &str = "telemetry alert";
pub const OPTIONAL_WEIGHT: f64 = 1.0;

/// How a probe's error starts when it has no password to log in with.
pub const PASSWORD_MISSING: &str = "password missing";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ServiceStatus {
    Healthy,
    Degraded,
    Unhealthy,
    Down,
    Unknown,
    /// No container, and none expected: its profile is not active, or it
    /// is optional and was never deployed. Listed apart, not scored.
    #[serde(rename = "not_deployed")]
    NotDeployed,
}

impl ServiceStatus {
    /// Points towards its group's score.
    pub fn points(self) -> f64 {
        match self {
            Self::Healthy => 1.0,
            Self::Degraded => 0.5,
            _ => 0.0,
        }
    }
}

/// A service the stack file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    /// The names of its containers (replicas in order); empty when it has
    /// none.
    pub containers: Vec<String>,
    /// The name its container would have, shown when it has none.
    pub expected_container: String,
    pub group: String,
    /// What having no container means for it.
    pub when_absent: Absent,
    /// How many containers it should have (`deploy.replicas`); fewer is at
    /// best degraded.
    pub replicas: u32,
}

/// What a service without any container is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Absent {
    /// Down: it should be running.
    Down,
    /// Not deployed, with why (e.g. "profile `agents` is not active").
    NotDeployed(String),
}

/// A group of services and how much it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    pub required: bool,
    /// Overrides the default weight (3 required, 1 optional).
    pub weight: Option<f64>,
}

impl GroupSpec {
    pub fn weight(&self) -> f64 {
        self.weight.unwrap_or(if self.required {
            REQUIRED_WEIGHT
        } else {
            OPTIONAL_WEIGHT
        })
    }
}

/// The last run of one probe of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ProbeOutcome {
    pub probe: String,
    pub success: bool,
    /// Every condition's result with what was observed.
    pub conditions: Vec<ConditionResult>,
    /// Why the probe could not run at all (timeout, refused, bad JSON).
    pub error: Option<String>,
}

/// One run of one probe, as the scheduler saw it and the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ProbeRun {
    pub service: String,
    /// When the run finished, ms since the Unix epoch.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// Wall time of the whole check (connect, request, queries): the probe's
    /// response time.
    pub duration_ms: f64,
    pub outcome: ProbeOutcome,
}

/// A stored probe run reduced to what a response-time chart needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ResponsePoint {
    pub probe: String,
    #[ts(type = "number")]
    pub at_ms: i64,
    pub duration_ms: f64,
    pub success: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ServiceHealth {
    pub service: String,
    /// The container it runs as (its first, or the name it would have).
    pub container: String,
    /// All its containers when it has several (replicas); else empty.
    pub replicas: Vec<String>,
    pub group: String,
    pub status: ServiceStatus,
    /// One line on why, e.g. "container exited (3)" or "1 of 3 probes failing".
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct GroupScore {
    pub group: String,
    pub required: bool,
    pub weight: f64,
    pub healthy: u32,
    /// Services that count: deployed ones.
    pub total: u32,
    /// Services listed but not counted.
    pub not_deployed: u32,
    /// 0..=100.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct HealthBreakdown {
    pub services: Vec<ServiceHealth>,
    pub groups: Vec<GroupScore>,
    /// 0..=100; 100 for a stack with no services.
    pub overall: f64,
    /// The formula with this breakdown's numbers, shown beside the score.
    pub formula: String,
}

/// `probes`: `None` when the service has no probes, `Some(empty)` when they
/// have not run yet. `rows`: its containers, in replica order.
fn service_health(
    spec: &ServiceSpec,
    rows: &[&ServiceRow],
    probes: Option<&[ProbeOutcome]>,
) -> (ServiceStatus, String) {
    let Some(first) = rows.first() else {
        return match &spec.when_absent {
            Absent::NotDeployed(why) => (ServiceStatus::NotDeployed, why.clone()),
            Absent::Down => (
                ServiceStatus::Down,
                format!("no container named {}", spec.expected_container),
            ),
        };
    };
    let running: Vec<&ServiceRow> = rows.iter().copied().filter(|r| r.is_running()).collect();
    if running.is_empty() {
        let code = first
            .exit_code
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let what = match rows.len() {
            1 => "container".to_string(),
            n => format!("all {n} containers"),
        };
        return (
            ServiceStatus::Down,
            format!("{what} {}{code}", first.state.as_str()),
        );
    }
    let (status, reason) = running_health(&running, probes);
    let stopped = rows.len() - running.len();
    let fine = matches!(status, ServiceStatus::Healthy | ServiceStatus::Unknown);
    if stopped > 0 && fine {
        return (
            ServiceStatus::Degraded,
            format!(
                "{stopped} of {} containers not running; {reason}",
                rows.len()
            ),
        );
    }
    let expected = usize::try_from(spec.replicas).unwrap_or(usize::MAX);
    if rows.len() < expected && fine {
        return (
            ServiceStatus::Degraded,
            format!("{} of {expected} replicas exist; {reason}", rows.len()),
        );
    }
    (status, reason)
}

/// The health of a service from its running containers and its probes.
fn running_health(
    running: &[&ServiceRow],
    probes: Option<&[ProbeOutcome]>,
) -> (ServiceStatus, String) {
    let unhealthy = running
        .iter()
        .filter(|r| r.health == HealthState::Unhealthy)
        .count();
    if unhealthy == running.len() {
        return (
            ServiceStatus::Unhealthy,
            "HEALTHCHECK reports unhealthy".to_string(),
        );
    }
    if unhealthy > 0 {
        return (
            ServiceStatus::Degraded,
            format!(
                "HEALTHCHECK reports {unhealthy} of {} containers unhealthy",
                running.len()
            ),
        );
    }
    // A matched log pattern is decisive: the line says what is wrong.
    let is_log = |p: &&ProbeOutcome| p.probe == LOG_PATTERN_PROBE;
    if let Some(failed) = probes
        .unwrap_or_default()
        .iter()
        .find(|p| is_log(p) && !p.success)
    {
        let line = failed
            .conditions
            .iter()
            .find(|c| !c.success)
            .map_or("", |c| c.observed.as_str());
        return (
            ServiceStatus::Unhealthy,
            format!("log line matched: {line}"),
        );
    }
    let is_alert = |p: &&ProbeOutcome| p.probe == TELEMETRY_ALERT_PROBE;
    let alert = probes
        .unwrap_or_default()
        .iter()
        .find(|p| is_alert(p) && !p.success)
        .map(|failed| {
            failed
                .conditions
                .iter()
                .find(|c| !c.success)
                .map_or("", |c| c.observed.as_str())
        });
    let probes: Option<Vec<&ProbeOutcome>> =
        probes.map(|list| list.iter().filter(|p| !is_log(p) && !is_alert(p)).collect());
    let (status, reason) = probes_health(running, probes);
    // An alert degrades a service; it never hides worse news of its probes.
    match alert {
        Some(why) if matches!(status, ServiceStatus::Unhealthy | ServiceStatus::Down) => {
            (status, format!("{reason}; telemetry alert: {why}"))
        }
        Some(why) if status == ServiceStatus::Degraded => {
            (status, format!("{reason}; telemetry alert: {why}"))
        }
        Some(why) => (ServiceStatus::Degraded, format!("telemetry alert: {why}")),
        None => (status, reason),
    }
}

/// The health of running containers from their probes (other than log
/// patterns and telemetry alerts), or their HEALTHCHECK without probes.
fn probes_health(
    running: &[&ServiceRow],
    probes: Option<Vec<&ProbeOutcome>>,
) -> (ServiceStatus, String) {
    if let Some(probes) = probes {
        let passing = probes.iter().filter(|p| p.success).count();
        // A probe that could not even try says so first: the fix is the user's.
        let locked_out = probes.iter().find(|p| {
            !p.success
                && p.error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(PASSWORD_MISSING))
        });
        if let Some(p) = locked_out {
            let status = if passing == 0 {
                ServiceStatus::Unhealthy
            } else {
                ServiceStatus::Degraded
            };
            return (
                status,
                format!("{PASSWORD_MISSING} for its {} probe", p.probe),
            );
        }
        return match (passing, probes.len()) {
            (_, 0) => (
                ServiceStatus::Unknown,
                "probes have not run yet".to_string(),
            ),
            (p, n) if p == n => (ServiceStatus::Healthy, format!("all {n} probes pass")),
            (0, n) => (ServiceStatus::Unhealthy, format!("all {n} probes failing")),
            (p, n) => (
                ServiceStatus::Degraded,
                format!("{} of {n} probes failing", n - p),
            ),
        };
    }
    if running.iter().any(|r| r.health == HealthState::Starting) {
        return (
            ServiceStatus::Unknown,
            "HEALTHCHECK still starting".to_string(),
        );
    }
    if running.iter().all(|r| r.health == HealthState::Healthy) {
        return (ServiceStatus::Healthy, "HEALTHCHECK healthy".to_string());
    }
    (ServiceStatus::Healthy, "running (no probes)".to_string())
}

/// The breakdown for the stack's groups and services. `probes` maps a service
/// name to its probes' last outcomes (a service with probes that have not run
/// yet maps to an empty list and is `unknown`).
pub fn breakdown(
    groups: &[GroupSpec],
    services: &[ServiceSpec],
    rows: &[ServiceRow],
    probes: &HashMap<String, Vec<ProbeOutcome>>,
) -> HealthBreakdown {
    let by_name: HashMap<&str, &ServiceRow> = rows.iter().map(|r| (r.name.as_str(), r)).collect();
    let health: Vec<ServiceHealth> = services
        .iter()
        .map(|spec| {
            let own: Vec<&ServiceRow> = spec
                .containers
                .iter()
                .filter_map(|c| by_name.get(c.as_str()).copied())
                .collect();
            let (status, reason) =
                service_health(spec, &own, probes.get(&spec.name).map(Vec::as_slice));
            ServiceHealth {
                service: spec.name.clone(),
                container: own
                    .first()
                    .map_or_else(|| spec.expected_container.clone(), |r| r.name.clone()),
                replicas: if own.len() > 1 {
                    own.iter().map(|r| r.name.clone()).collect()
                } else {
                    Vec::new()
                },
                group: spec.group.clone(),
                status,
                reason,
            }
        })
        .collect();

    let scores: Vec<GroupScore> = groups
        .iter()
        .map(|g| {
            let listed = health.iter().filter(|h| h.group == g.name);
            let (members, absent): (Vec<&ServiceHealth>, Vec<&ServiceHealth>) =
                listed.partition(|h| h.status != ServiceStatus::NotDeployed);
            let total = u32::try_from(members.len()).unwrap_or(u32::MAX);
            let not_deployed = u32::try_from(absent.len()).unwrap_or(u32::MAX);
            let healthy = u32::try_from(
                members
                    .iter()
                    .filter(|h| h.status == ServiceStatus::Healthy)
                    .count(),
            )
            .unwrap_or(u32::MAX);
            let points: f64 = members.iter().map(|h| h.status.points()).sum();
            let score = if total == 0 {
                100.0
            } else {
                points / f64::from(total) * 100.0
            };
            GroupScore {
                group: g.name.clone(),
                required: g.required,
                weight: g.weight(),
                healthy,
                total,
                not_deployed,
                score,
            }
        })
        .collect();

    let counted: Vec<&GroupScore> = scores.iter().filter(|g| g.total > 0).collect();
    let weight_sum: f64 = counted.iter().map(|g| g.weight).sum();
    let overall = if weight_sum > 0.0 {
        counted.iter().map(|g| g.weight * g.score).sum::<f64>() / weight_sum
    } else {
        100.0
    };
    let terms: Vec<String> = counted
        .iter()
        .map(|g| format!("{}×{:.0}%", fmt_weight(g.weight), g.score))
        .collect();
    let formula = if counted.is_empty() {
        "no services: 100%".to_string()
    } else {
        format!(
            "overall = Σ(weight × group score) / Σ weight = ({}) / {} = {:.0}%  (healthy 1, degraded ½, else 0; required groups weigh {}, optional {}; services not deployed do not count)",
            terms.join(" + "),
            fmt_weight(weight_sum),
            overall,
            fmt_weight(REQUIRED_WEIGHT),
            fmt_weight(OPTIONAL_WEIGHT)
        )
    };
    HealthBreakdown {
        services: health,
        groups: scores,
        overall,
        formula,
    }
}

fn fmt_weight(w: f64) -> String {
    if w.fract() == 0.0 {
        format!("{w:.0}")
    } else {
        format!("{w}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::ContainerState;

    use stackwarden_model::testing::row;

    fn spec(name: &str, group: &str) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            containers: vec![format!("c-{name}")],
            expected_container: format!("c-{name}"),
            group: group.into(),
            when_absent: Absent::Down,
            replicas: 1,
        }
    }

    fn group(name: &str, required: bool) -> GroupSpec {
        GroupSpec {
            name: name.into(),
            required,
            weight: None,
        }
    }

    #[test]
    fn replicas_count_as_one_service_at_best_degraded_when_some_are_down() {
        use ContainerState::{Exited, Running};
        use HealthState as H;
        let mut web = spec("web", "g");
        web.containers = vec!["p-web-1".into(), "p-web-2".into(), "p-web-3".into()];
        let status = |rows: Vec<ServiceRow>| {
            let b = breakdown(
                &[group("g", true)],
                std::slice::from_ref(&web),
                &rows,
                &HashMap::new(),
            );
            (
                b.services[0].status,
                b.services[0].reason.clone(),
                b.services[0].replicas.len(),
            )
        };
        let all_up = vec![
            row("p-web-1", Running, H::None),
            row("p-web-2", Running, H::None),
            row("p-web-3", Running, H::None),
        ];
        assert_eq!(
            status(all_up),
            (ServiceStatus::Healthy, "running (no probes)".into(), 3)
        );
        let one_down = vec![
            row("p-web-1", Running, H::None),
            row("p-web-2", Exited, H::None),
            row("p-web-3", Running, H::None),
        ];
        assert_eq!(
            status(one_down),
            (
                ServiceStatus::Degraded,
                "1 of 3 containers not running; running (no probes)".into(),
                3
            )
        );
        let all_down = vec![
            row("p-web-1", Exited, H::None),
            row("p-web-2", Exited, H::None),
        ];
        assert_eq!(
            status(all_down),
            (ServiceStatus::Down, "all 2 containers exited (3)".into(), 2)
        );
        let mut three = web.clone();
        three.replicas = 3;
        let b = breakdown(
            &[group("g", true)],
            &[three],
            &[
                row("p-web-1", Running, H::None),
                row("p-web-2", Running, H::None),
            ],
            &HashMap::new(),
        );
        assert_eq!(
            (b.services[0].status, b.services[0].reason.as_str()),
            (
                ServiceStatus::Degraded,
                "2 of 3 replicas exist; running (no probes)"
            )
        );
        let one_sick = vec![
            row("p-web-1", Running, H::Unhealthy),
            row("p-web-2", Running, H::Healthy),
        ];
        assert_eq!(
            status(one_sick),
            (
                ServiceStatus::Degraded,
                "HEALTHCHECK reports 1 of 2 containers unhealthy".into(),
                2
            )
        );
    }

    #[test]
    fn a_telemetry_alert_degrades_but_never_hides_failing_probes() {
        use ContainerState::Running;
        let outcome = |probe: &str, success: bool, observed: &str| ProbeOutcome {
            probe: probe.into(),
            success,
            conditions: vec![crate::ConditionResult {
                condition: "c".into(),
                success,
                observed: observed.into(),
            }],
            error: None,
        };
        let status = |outcomes: Vec<ProbeOutcome>| {
            let b = breakdown(
                &[group("g", true)],
                &[spec("aidb", "g")],
                &[row("c-aidb", Running, HealthState::None)],
                &HashMap::from([("aidb".to_string(), outcomes)]),
            );
            (b.services[0].status, b.services[0].reason.clone())
        };
        let alert = outcome(TELEMETRY_ALERT_PROBE, false, "rate 10%");
        assert_eq!(
            status(vec![outcome("health", true, "200"), alert.clone()]),
            (ServiceStatus::Degraded, "telemetry alert: rate 10%".into())
        );
        assert_eq!(
            status(vec![outcome("health", false, "503"), alert.clone()]),
            (
                ServiceStatus::Unhealthy,
                "all 1 probes failing; telemetry alert: rate 10%".into()
            )
        );
        assert_eq!(
            status(vec![outcome("health", false, "503")]),
            (ServiceStatus::Unhealthy, "all 1 probes failing".into())
        );
        assert_eq!(
            status(vec![
                outcome("health", false, "503"),
                outcome("schema", true, "ok"),
                alert
            ]),
            (
                ServiceStatus::Degraded,
                "1 of 2 probes failing; telemetry alert: rate 10%".into()
            )
        );
    }

    #[test]
    fn services_not_deployed_are_listed_but_not_scored() {
        use ContainerState::Running;
        let mut agent = spec("agent", "extras");
        agent.containers.clear();
        agent.when_absent = Absent::NotDeployed("profile `agents` is not active".into());
        let mut gone = spec("worker", "extras");
        gone.containers.clear();
        let groups = [group("core", true), group("extras", false)];
        let rows = vec![row("c-db", Running, HealthState::None)];
        let b = breakdown(
            &groups,
            &[spec("db", "core"), agent.clone()],
            &rows,
            &HashMap::new(),
        );
        assert_eq!(b.services[1].status, ServiceStatus::NotDeployed);
        assert_eq!(b.services[1].reason, "profile `agents` is not active");
        assert_eq!((b.groups[1].total, b.groups[1].not_deployed), (0, 1));
        assert!((b.overall - 100.0).abs() < 1e-9, "{}", b.formula);
        // One that should be there is down and counts.
        let b = breakdown(
            &groups,
            &[spec("db", "core"), agent, gone],
            &rows,
            &HashMap::new(),
        );
        assert_eq!(b.services[2].status, ServiceStatus::Down);
        assert!(b.overall < 100.0, "{}", b.formula);
    }

    fn probe(success: bool) -> ProbeOutcome {
        ProbeOutcome {
            probe: "p".into(),
            success,
            conditions: vec![],
            error: None,
        }
    }

    /// Container row, probe outcomes, expected status and reason.
    type Case = (
        Option<ServiceRow>,
        Option<Vec<ProbeOutcome>>,
        ServiceStatus,
        &'static str,
    );

    #[test]
    fn service_status_rules() {
        use ContainerState::{Exited, Running};
        use HealthState as H;
        let cases: Vec<Case> = vec![
            (None, None, ServiceStatus::Down, "no container named c-s"),
            (
                Some(row("c-s", Exited, H::None)),
                None,
                ServiceStatus::Down,
                "container exited (3)",
            ),
            (
                Some(row("c-s", Running, H::Unhealthy)),
                Some(vec![probe(true)]),
                ServiceStatus::Unhealthy,
                "HEALTHCHECK reports unhealthy",
            ),
            (
                Some(row("c-s", Running, H::None)),
                Some(vec![probe(true), probe(true)]),
                ServiceStatus::Healthy,
                "all 2 probes pass",
            ),
            (
                Some(row("c-s", Running, H::None)),
                Some(vec![probe(true), probe(false)]),
                ServiceStatus::Degraded,
                "1 of 2 probes failing",
            ),
            (
                Some(row("c-s", Running, H::Healthy)),
                Some(vec![probe(false)]),
                ServiceStatus::Unhealthy,
                "all 1 probes failing",
            ),
            // HEALTHCHECK healthy, but the probe cannot log in: say why.
            (
                Some(row("c-s", Running, H::Healthy)),
                Some(vec![ProbeOutcome {
                    error: Some("password missing: POSTGRES_PASSWORD is not set".into()),
                    ..probe(false)
                }]),
                ServiceStatus::Unhealthy,
                "password missing for its p probe",
            ),
            (
                Some(row("c-s", Running, H::None)),
                Some(vec![]),
                ServiceStatus::Unknown,
                "probes have not run yet",
            ),
            (
                Some(row("c-s", Running, H::Starting)),
                None,
                ServiceStatus::Unknown,
                "HEALTHCHECK still starting",
            ),
            (
                Some(row("c-s", Running, H::Healthy)),
                None,
                ServiceStatus::Healthy,
                "HEALTHCHECK healthy",
            ),
            (
                Some(row("c-s", Running, H::None)),
                None,
                ServiceStatus::Healthy,
                "running (no probes)",
            ),
        ];
        let groups = [GroupSpec {
            name: "g".into(),
            required: true,
            weight: None,
        }];
        for (i, (r, p, want, reason)) in cases.into_iter().enumerate() {
            let rows: Vec<ServiceRow> = r.into_iter().collect();
            let probes: HashMap<String, Vec<ProbeOutcome>> =
                p.map(|p| ("s".to_string(), p)).into_iter().collect();
            let b = breakdown(&groups, &[spec("s", "g")], &rows, &probes);
            assert_eq!(
                (b.services[0].status, b.services[0].reason.as_str()),
                (want, reason),
                "case {i}"
            );
        }
    }

    #[test]
    fn the_reports_breakdown() {
        // Six required groups all healthy, two optional groups with nothing running.
        let mut groups = Vec::new();
        let mut services = Vec::new();
        let mut rows = Vec::new();
        for g in ["core", "mcp", "db", "vector", "model", "healing"] {
            groups.push(GroupSpec {
                name: g.into(),
                required: true,
                weight: None,
            });
            services.push(spec(g, g));
            rows.push(row(
                &format!("c-{g}"),
                ContainerState::Running,
                HealthState::Healthy,
            ));
        }
        for (g, n) in [("agents", 5), ("orchestration", 1)] {
            groups.push(GroupSpec {
                name: g.into(),
                required: false,
                weight: None,
            });
            for i in 0..n {
                services.push(spec(&format!("{g}{i}"), g));
            }
        }
        let b = breakdown(&groups, &services, &rows, &HashMap::new());
        let agents = b
            .groups
            .iter()
            .find(|g| g.group == "agents")
            .map(|g| (g.healthy, g.total, g.score));
        assert_eq!(agents, Some((0, 5, 0.0)));
        assert!((b.overall - 90.0).abs() < 1e-9, "{}", b.overall);
        assert!(b.formula.contains("/ 20 = 90%"), "{}", b.formula);
        assert!(b.formula.contains("1×0%"), "{}", b.formula);
    }

    #[test]
    fn degraded_counts_half_and_weights_can_be_set() {
        let groups = [
            GroupSpec {
                name: "a".into(),
                required: true,
                weight: Some(1.0),
            },
            GroupSpec {
                name: "b".into(),
                required: false,
                weight: Some(1.0),
            },
            GroupSpec {
                name: "empty".into(),
                required: true,
                weight: None,
            },
        ];
        let services = [spec("x", "a"), spec("y", "b")];
        let rows = [
            row("c-x", ContainerState::Running, HealthState::None),
            row("c-y", ContainerState::Running, HealthState::None),
        ];
        let probes: HashMap<String, Vec<ProbeOutcome>> =
            [("x".to_string(), vec![probe(true), probe(false)])]
                .into_iter()
                .collect();
        let b = breakdown(&groups, &services, &rows, &probes);
        assert_eq!(b.groups[0].score, 50.0);
        assert_eq!(b.groups[1].score, 100.0);
        assert!((b.overall - 75.0).abs() < 1e-9);
        assert!(
            !b.formula.contains("empty"),
            "groups without services do not count"
        );
    }

    #[test]
    fn empty_stack_is_fully_healthy() {
        let b = breakdown(&[], &[], &[], &HashMap::new());
        assert_eq!(b.overall, 100.0);
        assert_eq!(b.formula, "no services: 100%");
    }
}
