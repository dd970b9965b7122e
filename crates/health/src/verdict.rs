//! What the tray, the window header and `stackwarden health`'s exit code say
//! about a breakdown, and which services changed status between two
//! breakdowns (the transitions the store records). Pure functions.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::breakdown::{HealthBreakdown, ServiceStatus};

/// The stack's state in one word, by its required groups: optional groups
/// (like the report's agent backends) lower the score but not the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum HealthLevel {
    /// Every service of every required group is healthy.
    Healthy,
    /// A required service is degraded, unhealthy or unknown, none is down.
    Degraded,
    /// A required service is down (no container, or not running).
    Failing,
}

impl HealthLevel {
    /// Exit code of `stackwarden health`: 0 healthy, 1 otherwise.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Healthy => 0,
            Self::Degraded | Self::Failing => 1,
        }
    }
}

impl HealthBreakdown {
    fn required_statuses(&self) -> impl Iterator<Item = (&str, ServiceStatus)> {
        let required: Vec<&str> = self
            .groups
            .iter()
            .filter(|g| g.required)
            .map(|g| g.group.as_str())
            .collect();
        self.services
            .iter()
            .filter(move |s| required.contains(&s.group.as_str()))
            .map(|s| (s.service.as_str(), s.status))
    }

    pub fn level(&self) -> HealthLevel {
        let mut level = HealthLevel::Healthy;
        for (_, status) in self.required_statuses() {
            match status {
                ServiceStatus::Healthy | ServiceStatus::NotDeployed => {}
                ServiceStatus::Down => return HealthLevel::Failing,
                _ => level = HealthLevel::Degraded,
            }
        }
        level
    }

    /// One line for the tray tooltip: the score and what pulls it down.
    pub fn headline(&self) -> String {
        let score = format!("{:.0}% healthy", self.overall);
        let not_ok: Vec<String> = self
            .required_statuses()
            .filter(|(_, s)| !matches!(s, ServiceStatus::Healthy | ServiceStatus::NotDeployed))
            .map(|(name, s)| format!("{name} {}", s.word()))
            .collect();
        match not_ok.len() {
            0 => format!("{score}, all required services healthy"),
            1..=3 => format!("{score}; {}", not_ok.join(", ")),
            n => format!("{score}; {n} required services not healthy"),
        }
    }
}

impl ServiceStatus {
    pub fn word(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
            Self::Down => "down",
            Self::Unknown => "unknown",
            Self::NotDeployed => "not deployed",
        }
    }
}

/// A service's status changed (or was first seen, `from: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StatusTransition {
    pub service: String,
    pub from: Option<ServiceStatus>,
    pub to: ServiceStatus,
    /// Why it is in its new status.
    pub reason: String,
}

/// A transition as stored, with when it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct RecordedTransition {
    #[ts(type = "number")]
    pub at_ms: i64,
    pub change: StatusTransition,
}

/// The services whose status differs between `previous` and `next`; every
/// service of `next` when there is no previous breakdown.
pub fn transitions(
    previous: Option<&HealthBreakdown>,
    next: &HealthBreakdown,
) -> Vec<StatusTransition> {
    next.services
        .iter()
        .filter_map(|s| {
            let from = previous.and_then(|p| {
                p.services
                    .iter()
                    .find(|o| o.service == s.service)
                    .map(|o| o.status)
            });
            (from != Some(s.status)).then(|| StatusTransition {
                service: s.service.clone(),
                from,
                to: s.status,
                reason: s.reason.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breakdown::{GroupScore, ServiceHealth};

    fn health(services: &[(&str, &str, ServiceStatus)]) -> HealthBreakdown {
        let group = |name: &str, required: bool| GroupScore {
            group: name.into(),
            required,
            weight: 1.0,
            healthy: 0,
            total: 1,
            not_deployed: 0,
            score: 0.0,
        };
        HealthBreakdown {
            services: services
                .iter()
                .map(|(service, group, status)| ServiceHealth {
                    service: (*service).into(),
                    container: format!("c-{service}"),
                    replicas: Vec::new(),
                    group: (*group).into(),
                    status: *status,
                    reason: format!("because {service}"),
                })
                .collect(),
            groups: vec![group("core", true), group("agents", false)],
            overall: 87.5,
            formula: String::new(),
        }
    }

    #[test]
    fn level_follows_required_groups_only() {
        use ServiceStatus::*;
        let cases = [
            (
                vec![("db", "core", Healthy), ("aider", "agents", Down)],
                HealthLevel::Healthy,
            ),
            (
                vec![("db", "core", Degraded), ("web", "core", Healthy)],
                HealthLevel::Degraded,
            ),
            (vec![("db", "core", Unknown)], HealthLevel::Degraded),
            (
                vec![("db", "core", Unhealthy), ("web", "core", Down)],
                HealthLevel::Failing,
            ),
            (vec![], HealthLevel::Healthy),
        ];
        for (services, expected) in cases {
            let b = health(&services);
            assert_eq!(b.level(), expected, "{services:?}");
            assert_eq!(
                b.level().exit_code(),
                u8::from(expected != HealthLevel::Healthy)
            );
        }
    }

    #[test]
    fn headline_names_what_pulls_the_score_down() {
        use ServiceStatus::*;
        let ok = health(&[("db", "core", Healthy), ("aider", "agents", Down)]);
        assert_eq!(ok.headline(), "88% healthy, all required services healthy");
        let bad = health(&[("db", "core", Down), ("web", "core", Degraded)]);
        assert_eq!(bad.headline(), "88% healthy; db down, web degraded");
        let many: Vec<(&str, &str, ServiceStatus)> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| (*n, "core", Unknown))
            .collect();
        assert_eq!(
            health(&many).headline(),
            "88% healthy; 4 required services not healthy"
        );
    }

    #[test]
    fn transitions_list_changes_and_first_sightings() {
        use ServiceStatus::*;
        let first = health(&[("db", "core", Unknown), ("web", "core", Healthy)]);
        let all = transitions(None, &first);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].from, None);
        let next = health(&[("db", "core", Healthy), ("web", "core", Healthy)]);
        let changed = transitions(Some(&first), &next);
        assert_eq!(
            changed,
            vec![StatusTransition {
                service: "db".into(),
                from: Some(Unknown),
                to: Healthy,
                reason: "because db".into(),
            }]
        );
        assert!(transitions(Some(&next), &next).is_empty());
    }
}
