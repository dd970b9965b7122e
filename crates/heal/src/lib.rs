//! Self-healing as pure rules, so every rule is a table test and the
//! runtime only feeds them what the engine and the probes say and carries
//! out what they decide.
//!
//! What the healer does better than the tools people use today:
//! - autoheal restarts on every 5 s poll, without backoff or cap, and loops;
//!   here every action is followed by a growing wait ([`Backoff`], like
//!   Kubernetes' CrashLoopBackOff) and at most [`ActionLimit`] actions in a
//!   window (like systemd's `StartLimitBurst`), after which the service is
//!   quarantined until a person releases it;
//! - engine restart policies react to exits only; this also acts on
//!   unhealthy services and on log lines, but leaves an exit to the engine
//!   when its policy covers it ([`engine_takes_care`]);
//! - a container a person stopped stays stopped ([`StopWatch`]);
//! - a service waits while a service it depends on is down, so the
//!   dependency is healed first and its dependents are not restarted in a
//!   loop.

mod decide;
mod policy;
mod stops;

pub use decide::{
    engine_takes_care, ContainerFacts, Decision, HealState, Healer, ServiceInput, Step, Verdict,
    DEPENDENCY_SETTLE_MS,
};
pub use policy::{
    ActionLimit, Backoff, HealAction, HealPolicy, LogPattern, PatternEffect, Trigger,
};
pub use stops::{
    StopVerdict, StopWatch, CLEANUP_WAIT_MS, EVENT_WAIT_MS, SECOND_CLEANUP_MS, STOP_SETTLE_MS,
};
