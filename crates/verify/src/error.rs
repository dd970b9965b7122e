//! Why a verification has no engine to work with. The caller (the app's
//! monitor, the CLI's connect) says which; the checks that need the engine
//! report it as their evidence, with every endpoint and error redacted.

use stackwarden_engine::EngineError;
use stackwarden_model::{redact, EndpointAttempt};

/// Why there is no engine: what goes into `VerifyInput::engine`'s `Err`.
#[derive(Debug, thiserror::Error)]
pub enum NoEngine {
    /// No endpoint answered: each one tried and why.
    #[error("no container engine answered; tried {}", tried(.attempts))]
    Unreachable { attempts: Vec<EndpointAttempt> },
    /// An endpoint answered, but reading its containers failed.
    #[error("{}", failed(.endpoint, .error))]
    Failed {
        endpoint: String,
        error: EngineError,
    },
    /// The app is still looking for an engine (it has not tried every
    /// endpoint yet).
    #[error("still looking for the container engine")]
    Searching,
}

impl NoEngine {
    /// Every endpoint tried and why it failed, one line each, redacted:
    /// `unix:///x.sock (--host): no socket at /x.sock`.
    pub fn tried_lines(&self) -> Vec<String> {
        match self {
            Self::Unreachable { attempts } => attempts.iter().map(attempt).collect(),
            Self::Failed { endpoint, error } => vec![format!(
                "{}: {}",
                redact::text(endpoint),
                redact::text(&error.to_string())
            )],
            Self::Searching => Vec::new(),
        }
    }
}

fn attempt(a: &EndpointAttempt) -> String {
    format!(
        "{} ({}): {}",
        redact::text(&a.endpoint),
        redact::text(&a.source),
        redact::text(&a.error)
    )
}

fn failed(endpoint: &str, error: &EngineError) -> String {
    format!(
        "the container engine at {} answered, but: {}",
        redact::text(endpoint),
        redact::text(&error.to_string())
    )
}

fn tried(attempts: &[EndpointAttempt]) -> String {
    if attempts.is_empty() {
        return "no endpoint".into();
    }
    attempts.iter().map(attempt).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_was_tried_without_credentials() {
        let e = NoEngine::Unreachable {
            attempts: vec![
                EndpointAttempt {
                    endpoint: "unix:///nonexistent.sock".into(),
                    source: "--host".into(),
                    error: "no socket at /nonexistent.sock".into(),
                },
                EndpointAttempt {
                    endpoint: "tcp://admin:hunter2@10.0.0.5:2375".into(),
                    source: "DOCKER_HOST".into(),
                    error: "refused by tcp://admin:hunter2@10.0.0.5:2375".into(),
                },
            ],
        };
        let text = e.to_string();
        assert!(
            text.starts_with("no container engine answered; tried unix:///nonexistent.sock (--host): no socket at /nonexistent.sock; tcp://admin:***@10.0.0.5:2375 (DOCKER_HOST)"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(e.tried_lines().iter().all(|l| !l.contains("hunter2")));
        assert_eq!(e.tried_lines().len(), 2);
        assert_eq!(
            NoEngine::Searching.to_string(),
            "still looking for the container engine"
        );
    }
}
