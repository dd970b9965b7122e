//! Errors of the engine adapter, in words a user can act on.
//!
//! Only a failure of the transport (connection refused or reset, no answer in
//! time) means the engine is lost. An engine that answers, but with an error
//! status or a body that does not decode, failed that one call: the caller
//! keeps the connection and treats it as a problem of that row or that call.

use std::time::Duration;

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
    /// The engine answered, but this call failed or its answer could not be
    /// read (an error status, JSON that does not decode). The connection is
    /// fine.
    #[error("could not {call}: {reason}")]
    CallFailed { call: String, reason: String },
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
    /// True when the engine itself is gone (or never answered), as opposed
    /// to one call or one container failing.
    pub fn is_lost(&self) -> bool {
        matches!(self, Self::Lost(_) | Self::Unreachable { .. })
    }

    /// Maps a bollard error about one container: a 404 means it is gone.
    pub(crate) fn about(container: &str, call: &str, e: bollard::errors::Error) -> Self {
        match &e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Self::ContainerGone(container.to_string()),
            _ => Self::of_call(format!("{call} {container}"), e),
        }
    }

    /// Maps a bollard error of one call: transport failures lose the engine,
    /// anything the engine answered is that call's failure.
    pub(crate) fn of_call(call: impl Into<String>, e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        match &e {
            B::RequestTimeoutError
            | B::HyperResponseError { .. }
            | B::HyperLegacyError { .. }
            | B::IOError { .. }
            | B::SocketNotFoundError(_) => Self::Lost(crate::endpoint::describe(&e)),
            B::DockerResponseServerError {
                status_code,
                message,
            } => Self::CallFailed {
                call: call.into(),
                reason: format!(
                    "the engine answered {status_code}: {}",
                    stackwarden_model::redact::text(message.trim())
                ),
            },
            B::JsonDataError { .. } | B::JsonSerdeError { .. } | B::StrParseError { .. } => {
                Self::CallFailed {
                    call: call.into(),
                    reason: format!(
                        "the engine's answer could not be read ({})",
                        crate::endpoint::describe(&e)
                    ),
                }
            }
            _ => Self::CallFailed {
                call: call.into(),
                reason: crate::endpoint::describe(&e),
            },
        }
    }

    /// A call that got no answer in time: the engine is taken as lost.
    pub(crate) fn timed_out(call: &str, limit: Duration) -> Self {
        Self::Lost(format!("no answer within {} to {call}", human_limit(limit)))
    }
}

fn human_limit(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transport_failures_lose_the_engine() {
        use bollard::errors::Error as B;
        let timeout = EngineError::of_call("list containers", B::RequestTimeoutError);
        assert!(timeout.is_lost(), "{timeout:?}");
        let io = EngineError::of_call(
            "list containers",
            B::IOError {
                err: std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"),
            },
        );
        assert!(io.is_lost(), "{io:?}");
        let server = EngineError::of_call(
            "list containers",
            B::DockerResponseServerError {
                status_code: 500,
                message: "database is locked".into(),
            },
        );
        assert!(!server.is_lost());
        assert_eq!(
            server.to_string(),
            "could not list containers: the engine answered 500: database is locked"
        );
        let json = EngineError::about(
            "abc",
            "inspect container",
            B::JsonDataError {
                message: "expected value".into(),
                column: 1,
            },
        );
        assert!(
            matches!(&json, EngineError::CallFailed { call, .. } if call == "inspect container abc"),
            "{json:?}"
        );
        let gone = EngineError::about(
            "abc",
            "inspect container",
            B::DockerResponseServerError {
                status_code: 404,
                message: "no such container".into(),
            },
        );
        assert!(matches!(gone, EngineError::ContainerGone(_)));
    }

    #[test]
    fn a_timeout_says_what_waited_and_how_long() {
        let e = EngineError::timed_out("a ping", Duration::from_secs(3));
        assert!(e.is_lost());
        assert_eq!(
            e.to_string(),
            "the container engine stopped answering: no answer within 3 s to a ping"
        );
    }
}
