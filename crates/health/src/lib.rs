//! Health rules for Stackwarden's probes, as pure functions: conditions are
//! parsed and validated when a stack file is loaded, and every evaluation
//! keeps each condition's result and the value it observed, so the window can
//! say exactly why a service is unhealthy.

pub mod breakdown;
pub mod condition;
pub mod verdict;
pub mod verification;

pub use breakdown::{
    breakdown, Absent, GroupScore, GroupSpec, HealthBreakdown, ProbeOutcome, ProbeRun,
    ResponsePoint, ServiceHealth, ServiceSpec, ServiceStatus, LOG_PATTERN_PROBE,
    TELEMETRY_ALERT_PROBE,
};
pub use condition::{Condition, ConditionError, ConditionResult, Observation};
pub use verdict::{transitions, HealthLevel, RecordedTransition, StatusTransition};
pub use verification::{
    CheckResult, CheckStatus, PlannedCheck, VerificationRun, VerificationSummary,
};
