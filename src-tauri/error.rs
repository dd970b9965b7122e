//! The one error type the window sees: a stable code to branch on and a
//! message to show. Every domain error maps into it here.

use serde::Serialize;
use stackwarden_engine::EngineError;
use stackwarden_runtime::RuntimeError;
use stackwarden_store::StoreError;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum UiErrorCode {
    EngineUnreachable,
    ContainerGone,
    ActionRefused,
    EngineLost,
    StoreUnavailable,
    /// The window named a container the engine does not list.
    UnknownContainer,
    /// A setting was refused before anything was written.
    InvalidSetting,
    /// The settings file could not be written or read back.
    SettingsUnsaved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export, export_to = "bindings/")]
pub struct UiError {
    pub code: UiErrorCode,
    pub message: String,
}

impl UiError {
    pub fn new(code: UiErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<EngineError> for UiError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::Unreachable { .. } => UiErrorCode::EngineUnreachable,
            EngineError::ContainerGone(_) => UiErrorCode::ContainerGone,
            EngineError::ActionRefused { .. } | EngineError::CallFailed { .. } => {
                UiErrorCode::ActionRefused
            }
            EngineError::Lost(_) => UiErrorCode::EngineLost,
        };
        Self::new(code, e.to_string())
    }
}

impl From<RuntimeError> for UiError {
    fn from(e: RuntimeError) -> Self {
        let code = match &e {
            RuntimeError::Engine(_) | RuntimeError::Store(_) => None,
            RuntimeError::UnknownContainer(_) => Some(UiErrorCode::UnknownContainer),
            RuntimeError::EngineUnreachable => Some(UiErrorCode::EngineUnreachable),
            RuntimeError::Report(stackwarden_report::ReportError::NoRun)
            | RuntimeError::VerificationRunning
            | RuntimeError::NotQuarantined(_)
            | RuntimeError::DrillRefused(_)
            | RuntimeError::RecoveryRunning
            | RuntimeError::StalePlan
            | RuntimeError::NoStack => Some(UiErrorCode::ActionRefused),
            RuntimeError::StoreUnavailable(_)
            | RuntimeError::Write { .. }
            | RuntimeError::Held(_)
            | RuntimeError::TelemetryFollower(_)
            | RuntimeError::Report(_) => Some(UiErrorCode::StoreUnavailable),
        };
        match (code, e) {
            (_, RuntimeError::Engine(inner)) => inner.into(),
            (_, RuntimeError::Store(inner)) => inner.into(),
            (Some(code), other) => Self::new(code, other.to_string()),
            (None, other) => Self::new(UiErrorCode::ActionRefused, other.to_string()),
        }
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        Self::new(UiErrorCode::StoreUnavailable, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_keep_their_meaning_and_words() {
        let e: UiError = EngineError::ContainerGone("abc".into()).into();
        assert_eq!(e.code, UiErrorCode::ContainerGone);
        assert_eq!(e.message, "container abc no longer exists");
        let json = serde_json::to_value(&e).ok();
        assert_eq!(
            json,
            Some(
                serde_json::json!({"code": "container_gone", "message": "container abc no longer exists"})
            )
        );
    }
}
