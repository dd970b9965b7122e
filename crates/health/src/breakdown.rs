//! The health breakdown: a pure function from (stack services, container
//! rows, probe outcomes) to a status per service, a score per group and an
//! overall percentage whose formula is spelled out next to it, like the
//! report's "Core Infrastructure 100% (5/5) ... OVERALL 95%".
//!
//! Rules, in order, for one service:
//! 1. no container, or the container is not running: `down`;
//! 2. its HEALTHCHECK says unhealthy: `unhealthy`;
//! 3. it has probes: all pass `healthy`, none pass `unhealthy`, some `degraded`;
//!    none has run yet: `unknown`;
//! 4. no probes: HEALTHCHECK healthy or none `healthy`, starting `unknown`.
//!
//! A group's score is healthy services count 1, degraded ½, the rest 0, over
//! its services. The overall score weighs each group: required groups
//! ×3, optional ×1 by default (a group may set its own weight).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use stackwarden_model::{HealthState, ServiceRow};
use ts_rs::TS;

use crate::condition::ConditionResult;

pub const REQUIRED_WEIGHT: f64 = 3.0;
pub const OPTIONAL_WEIGHT: f64 = 1.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ServiceStatus {
    Healthy,
    Degraded,
    Unhealthy,
    Down,
    Unknown,
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
    /// The container name the service runs as.
    pub container: String,
    pub group: String,
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
    /// The container it runs as (or would, when there is none).
    pub container: String,
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
    pub total: u32,
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
/// have not run yet.
fn service_health(
    spec: &ServiceSpec,
    row: Option<&ServiceRow>,
    probes: Option<&[ProbeOutcome]>,
) -> (ServiceStatus, String) {
    let Some(row) = row else {
        return (
            ServiceStatus::Down,
            format!("no container named {}", spec.container),
        );
    };
    if !row.is_running() {
        let code = row.exit_code.map(|c| format!(" ({c})")).unwrap_or_default();
        return (
            ServiceStatus::Down,
            format!("container {}{code}", row.state.as_str()),
        );
    }
    if row.health == HealthState::Unhealthy {
        return (
            ServiceStatus::Unhealthy,
            "HEALTHCHECK reports unhealthy".to_string(),
        );
    }
    if let Some(probes) = probes {
        let passing = probes.iter().filter(|p| p.success).count();
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
    match row.health {
        HealthState::Starting => (
            ServiceStatus::Unknown,
            "HEALTHCHECK still starting".to_string(),
        ),
        HealthState::Healthy => (ServiceStatus::Healthy, "HEALTHCHECK healthy".to_string()),
        _ => (ServiceStatus::Healthy, "running (no probes)".to_string()),
    }
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
            let (status, reason) = service_health(
                spec,
                by_name.get(spec.container.as_str()).copied(),
                probes.get(&spec.name).map(Vec::as_slice),
            );
            ServiceHealth {
                service: spec.name.clone(),
                container: spec.container.clone(),
                group: spec.group.clone(),
                status,
                reason,
            }
        })
        .collect();

    let scores: Vec<GroupScore> = groups
        .iter()
        .map(|g| {
            let members: Vec<&ServiceHealth> =
                health.iter().filter(|h| h.group == g.name).collect();
            let total = u32::try_from(members.len()).unwrap_or(u32::MAX);
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
            "overall = Σ(weight × group score) / Σ weight = ({}) / {} = {:.0}%  (healthy 1, degraded ½, else 0; required groups weigh {}, optional {})",
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
            container: format!("c-{name}"),
            group: group.into(),
        }
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
