//! Hand-built rows for other crates' unit tests (no engine needed).

use crate::service::{ContainerId, ContainerState, HealthState, ServiceRow};

/// A row named `name` in the given state and health; everything else empty.
pub fn row(name: &str, state: ContainerState, health: HealthState) -> ServiceRow {
    ServiceRow {
        id: ContainerId(format!("id-{name}")),
        name: name.into(),
        image: "localhost/test:latest".into(),
        project: None,
        compose_service: None,
        replica: None,
        state,
        health,
        exit_code: (state == ContainerState::Exited).then_some(3),
        started_at_ms: None,
        restart_count: 0,
        restart_policy: String::new(),
        ports: vec![],
        mounts: Vec::new(),
        usage: None,
    }
}
