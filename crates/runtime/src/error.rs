//! What the runtime's operations can fail with; hosts map it to their own
//! boundary error (the window's `UiError`, the CLI's exit codes).

use stackwarden_engine::EngineError;
use stackwarden_report::ReportError;
use stackwarden_store::StoreError;

use crate::instance::LockError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Held(#[from] LockError),
    /// Text from the caller that names no container the engine listed.
    #[error("no container {0:?} in the current list; refresh and try again")]
    UnknownContainer(String),
    #[error(
        "the container engine is not reachable right now; Stackwarden keeps trying to reconnect"
    )]
    EngineUnreachable,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("history is unavailable: {0}")]
    StoreUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the telemetry follower failed: {0}")]
    TelemetryFollower(String),
    #[error("drill refused: {0}")]
    DrillRefused(String),
    #[error("the healer holds no service {0:?} in quarantine")]
    NotQuarantined(String),
    #[error("a recovery is already running")]
    RecoveryRunning,
    #[error("the plan is out of date: look at the new one before running it")]
    StalePlan,
    #[error("a verification is already running")]
    VerificationRunning,
    #[error("no stack is loaded: fix the stack file (see the banner) first")]
    NoStack,
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
