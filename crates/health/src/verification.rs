//! The result of one-click verification: every check's status, evidence and
//! hint, and what the run measured. Plain data, shared by the verifier, the
//! store, the report and the window.

use serde::{Deserialize, Serialize};
use stackwarden_model::ServiceRow;
use ts_rs::TS;

use crate::breakdown::{HealthBreakdown, ProbeRun};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum CheckStatus {
    Pass,
    Fail,
    Skipped,
}

impl CheckStatus {
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct CheckResult {
    pub id: String,
    pub name: String,
    pub service: Option<String>,
    pub required: bool,
    pub status: CheckStatus,
    pub duration_ms: f64,
    /// What was observed.
    pub evidence: String,
    /// How to fix it (empty when it passed).
    pub hint: String,
}

/// One verification: every check's result and the measurements it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct VerificationRun {
    pub stack: String,
    #[ts(type = "number")]
    pub started_at_ms: i64,
    pub duration_ms: f64,
    pub results: Vec<CheckResult>,
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
    /// Failed checks that are required: the run fails when this is not 0.
    pub required_failed: u32,
    /// The service table at the time, with the resource use just measured.
    pub services: Vec<ServiceRow>,
    /// The health breakdown from this run's probe results.
    pub breakdown: Option<HealthBreakdown>,
    pub probe_runs: Vec<ProbeRun>,
}

impl VerificationRun {
    pub fn ok(&self) -> bool {
        self.required_failed == 0
    }
}

/// A stored run's totals, for the history list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct VerificationSummary {
    #[ts(type = "number")]
    pub id: i64,
    pub stack: String,
    #[ts(type = "number")]
    pub started_at_ms: i64,
    pub duration_ms: f64,
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub required_failed: u32,
}

/// A check about to run, so the window can list the checklist before the
/// first result arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct PlannedCheck {
    pub id: String,
    pub name: String,
    pub required: bool,
}
