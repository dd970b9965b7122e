//! Errors of the engine adapter, in words a user can act on.

use stackwarden_model::EndpointAttempt;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no container engine answered ({})", summarise(.attempts))]
    Unreachable { attempts: Vec<EndpointAttempt> },
    #[error("container {0} no longer exists")]
    ContainerGone(String),
    #[error("the engine refused to {action} {container}: {reason}")]
    ActionRefused {
        action: &'static str,
        container: String,
        reason: String,
    },
    #[error("the container engine stopped answering: {0}")]
    Lost(String),
}

fn summarise(attempts: &[EndpointAttempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{} [{}]: {}", a.endpoint, a.source, a.error))
        .collect::<Vec<_>>()
        .join("; ")
}

impl EngineError {
    /// Maps a bollard error about one container: a 404 means it is gone.
    pub(crate) fn about(container: &str, e: bollard::errors::Error) -> Self {
        match &e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Self::ContainerGone(container.to_string()),
            _ => Self::Lost(crate::endpoint::describe(&e)),
        }
    }
}
