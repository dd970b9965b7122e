//! The overall state shown in the window header, the tray and the CLI's exit
//! code: a pure function of the engine status and the rows.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::service::{EngineStatus, HealthState, ServiceRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum OverallLevel {
    /// Still looking for the engine.
    Connecting,
    /// Every watched container runs (or there are none).
    AllRunning,
    /// At least one watched container is not running.
    SomeNotRunning,
    /// No engine answered.
    EngineUnreachable,
}

impl OverallLevel {
    /// Exit code of `stackwarden status`: 0 all running, 1 some not, 2 no engine.
    pub fn exit_code(self) -> i32 {
        match self {
            Self::AllRunning => 0,
            Self::SomeNotRunning => 1,
            Self::EngineUnreachable | Self::Connecting => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StackSummary {
    pub level: OverallLevel,
    pub running: u32,
    pub total: u32,
    pub unhealthy: u32,
    /// One line for the tray tooltip and the CLI footer.
    pub headline: String,
}

impl StackSummary {
    pub fn of(engine: &EngineStatus, services: &[ServiceRow]) -> Self {
        let total = count(services.iter());
        let running = count(services.iter().filter(|s| s.is_running()));
        let unhealthy = count(
            services
                .iter()
                .filter(|s| s.health == HealthState::Unhealthy),
        );
        let level = match engine {
            EngineStatus::Connecting => OverallLevel::Connecting,
            EngineStatus::Unreachable { .. } => OverallLevel::EngineUnreachable,
            EngineStatus::Connected { .. } if running == total => OverallLevel::AllRunning,
            EngineStatus::Connected { .. } => OverallLevel::SomeNotRunning,
        };
        let unhealthy_note = match unhealthy {
            0 => String::new(),
            n => format!(", {n} unhealthy"),
        };
        let headline = match level {
            OverallLevel::Connecting => "Looking for the container engine…".to_string(),
            OverallLevel::EngineUnreachable => "Container engine unreachable".to_string(),
            OverallLevel::AllRunning if total == 0 => "No containers on the engine".to_string(),
            OverallLevel::AllRunning => format!("All {total} running{unhealthy_note}"),
            OverallLevel::SomeNotRunning => {
                format!("{running} of {total} running{unhealthy_note}")
            }
        };
        Self {
            level,
            running,
            total,
            unhealthy,
            headline,
        }
    }
}

fn count<'a>(rows: impl Iterator<Item = &'a ServiceRow>) -> u32 {
    u32::try_from(rows.count()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ContainerState;

    fn row(state: ContainerState, health: HealthState) -> ServiceRow {
        crate::testing::row("x", state, health)
    }

    fn connected() -> EngineStatus {
        EngineStatus::Connected {
            endpoint: "unix:///x".into(),
            source: "test".into(),
        }
    }

    #[test]
    fn levels_and_headlines() {
        use ContainerState::*;
        use HealthState as H;
        let unreachable = EngineStatus::Unreachable {
            attempts: vec![],
            hint: String::new(),
            retry_in_ms: 1000,
        };
        let cases: Vec<(EngineStatus, Vec<ServiceRow>, OverallLevel, &str, i32)> = vec![
            (
                connected(),
                vec![],
                OverallLevel::AllRunning,
                "No containers on the engine",
                0,
            ),
            (
                connected(),
                vec![row(Running, H::None), row(Running, H::Healthy)],
                OverallLevel::AllRunning,
                "All 2 running",
                0,
            ),
            (
                connected(),
                vec![row(Running, H::Unhealthy), row(Exited, H::None)],
                OverallLevel::SomeNotRunning,
                "1 of 2 running, 1 unhealthy",
                1,
            ),
            (
                unreachable,
                vec![],
                OverallLevel::EngineUnreachable,
                "Container engine unreachable",
                2,
            ),
        ];
        for (engine, rows, level, headline, code) in cases {
            let s = StackSummary::of(&engine, &rows);
            assert_eq!(s.level, level);
            assert_eq!(s.headline, headline);
            assert_eq!(s.level.exit_code(), code);
        }
    }
}
