//! One-click verification: the checks the user's report ends with (podman
//! ps, curl /health | jq, psql '\dt', ls of the telemetry folder, podman
//! stats) as a named checklist derived from the stack file and extended by
//! its `x-stackwarden.verify` section. Checks run concurrently, each with a
//! timeout; each result says pass, fail or skipped, how long it took, what
//! was observed and how to fix it.

mod checklist;
mod checks;
mod error;
mod run;

pub use checklist::{checklist, CheckKind, CheckSpec};
pub use checks::expand_home;
pub use error::NoEngine;
pub use run::{verify, VerifyInput, CPU_WINDOW, LIVE_USAGE_WITHIN_MS};
pub use stackwarden_health::{CheckResult, CheckStatus, VerificationRun};
