//! Why a probe could not see its service, in words a user can act on.
//!
//! Every URL in an error is redacted when the error is made (passwords in
//! user info, secret query values): the constructors here are the only way
//! this crate builds one, so the text that reaches a `ProbeOutcome`, a
//! report or a log never carries a secret. An invalid URL is shown with
//! everything between `://` and its last `@` masked, since a URL that does
//! not parse cannot be taken apart reliably.

use std::fmt::Display;
use std::time::Duration;

use stackwarden_model::redact;

/// What stopped a probe. `Display` is the text shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The probe's URL (or the request built from it) cannot be used.
    #[error("invalid {what} {shown}: {reason}")]
    InvalidUrl {
        /// `URL`, `PostgreSQL URL`, `Redis URL`.
        what: &'static str,
        /// The URL, redacted.
        shown: String,
        reason: String,
    },
    /// No connection to the service.
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// No connection to the service within the probe's timeout.
    #[error("no connection to {target} within {} ms", .after.as_millis())]
    ConnectTimeout { target: String, after: Duration },
    /// Connected, but the request got no usable answer.
    #[error("the request to {target} failed: {reason}")]
    Request { target: String, reason: String },
    /// The answer started but its body broke off.
    #[error("the answer from {target} broke off: {reason}")]
    BodyBroken { target: String, reason: String },
    /// The whole probe took longer than its timeout.
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The HTTPS client could not be built.
    #[error("cannot set up HTTPS: {0}")]
    TlsSetup(String),
    /// A password is needed and none is known. The window offers to keep
    /// one when `keyring`; the text starts with "password missing".
    #[error("password missing: {env} is not set in Stackwarden's environment{}", if *.keyring { " and no password is kept for this database in the desktop's keyring (Set password… in the Health view)" } else { "" })]
    PasswordMissing { env: String, keyring: bool },
    /// Connected, but a query or command failed (listing tables, PING, INFO).
    #[error("{query} failed: {reason}")]
    Query { query: String, reason: String },
    /// The MCP handshake (`initialize`) did not complete.
    #[error("MCP handshake with {target} failed: {reason}")]
    Handshake { target: String, reason: String },
}

impl ProbeError {
    pub(crate) fn invalid_url(what: &'static str, url: &str, reason: impl Display) -> Self {
        Self::InvalidUrl {
            what,
            shown: invalid_url_shown(url),
            reason: clean(reason),
        }
    }

    pub(crate) fn connect(target: &str, reason: impl Display) -> Self {
        Self::Connect {
            target: redact::text(target),
            reason: clean(reason),
        }
    }

    pub(crate) fn connect_timeout(target: &str, after: Duration) -> Self {
        Self::ConnectTimeout {
            target: redact::text(target),
            after,
        }
    }

    pub(crate) fn request(target: &str, reason: impl Display) -> Self {
        Self::Request {
            target: redact::text(target),
            reason: clean(reason),
        }
    }

    pub(crate) fn body_broken(target: &str, reason: impl Display) -> Self {
        Self::BodyBroken {
            target: redact::text(target),
            reason: clean(reason),
        }
    }

    pub(crate) fn tls_setup(reason: impl Display) -> Self {
        Self::TlsSetup(clean(reason))
    }

    pub(crate) fn handshake(target: &str, reason: impl Display) -> Self {
        Self::Handshake {
            target: redact::text(target),
            reason: clean(reason),
        }
    }

    pub(crate) fn query(query: impl Into<String>, reason: impl Display) -> Self {
        Self::Query {
            query: query.into(),
            reason: clean(reason),
        }
    }
}

/// A library's error text (which may quote the URL) with every URL redacted.
fn clean(reason: impl Display) -> String {
    redact::text(&reason.to_string())
}

/// A URL that did not parse, fit to show: anything that may be user info
/// (from `://` to the last `@`) masked, then secret query values.
fn invalid_url_shown(url: &str) -> String {
    let masked = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rfind('@') {
            Some(at) => format!("{scheme}://{}{}", redact::MASK, &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    // `redact::url` masks the masked user info once more (`***:***@`).
    redact::url(&masked).replacen(
        &format!("://{0}:{0}@", redact::MASK),
        &format!("://{}@", redact::MASK),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_urls_never_show_their_user_info_or_secret_values() {
        for url in [
            "http://user:hunter2@exa mple/x?token=t0k3n",
            "http://user:hun/ter2@host:notaport/x",
            "postgres://u:hunter2@db:5432:9/x?password=t0k3n",
            "redis://:hunter2@@host",
        ] {
            let text = ProbeError::invalid_url("URL", url, "bad").to_string();
            assert!(
                !text.contains("hunter2") && !text.contains("t0k3n") && !text.contains("ter2"),
                "{text}"
            );
            assert!(text.starts_with("invalid URL "), "{text}");
        }
        assert_eq!(
            ProbeError::invalid_url("URL", "http://exa mple/health", "invalid uri character")
                .to_string(),
            "invalid URL http://exa mple/health: invalid uri character"
        );
    }

    #[test]
    fn targets_and_reasons_are_redacted() {
        let e = ProbeError::connect(
            "http://user:hunter2@127.0.0.1:1/x?token=t0k3n",
            "error sending request for url (http://user:hunter2@127.0.0.1:1/x?token=t0k3n)",
        );
        let text = e.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("t0k3n"),
            "{text}"
        );
        assert!(
            text.starts_with("cannot connect to http://user:***@127.0.0.1:1/x?token=***"),
            "{text}"
        );
    }

    #[test]
    fn timeouts_read_as_before() {
        assert_eq!(
            ProbeError::Timeout(Duration::from_millis(500)).to_string(),
            "no answer within 500 ms"
        );
        assert_eq!(
            ProbeError::connect_timeout("127.0.0.1:1", Duration::from_secs(2)).to_string(),
            "no connection to 127.0.0.1:1 within 2000 ms"
        );
    }
}
