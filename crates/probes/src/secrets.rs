//! Where a database probe's password comes from besides its `password_env`
//! variable: a host may keep passwords in the desktop's secret service (the
//! window does; `stackwarden watch` and the CLI use the environment only).
//! A password is looked up by the database it opens: its URL without the
//! password, so two services on one database share it. The query stays in
//! the key (without a `password` in it): it can name another host, port or
//! user (`?host=`, `?sslmode=`), and a password kept for one connection must
//! never be sent over another.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The answer to a lookup.
pub type SecretFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// A host's store of probe passwords.
pub trait SecretSource: Send + Sync {
    /// The password kept for `key` (see [`secret_key`]), if any.
    fn password(&self, key: &str) -> SecretFuture;
}

/// A shared source, cheap to clone into runners.
#[derive(Clone)]
pub struct Secrets(pub Arc<dyn SecretSource>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// The key a database URL's password is kept under: the URL without its
/// password (in the user info or the query); `None` when it does not parse.
pub fn secret_key(url: &str) -> Option<String> {
    let mut u = url::Url::parse(url).ok()?;
    u.set_password(None).ok()?;
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("password"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    u.set_fragment(None);
    Some(u.to_string())
}

/// True when `url` carries its own password.
pub fn has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_has_no_password_and_keeps_where_it_connects() {
        assert_eq!(
            secret_key("postgres://aidb:hunter2@127.0.0.1:5432/aidb?password=x").as_deref(),
            Some("postgres://aidb@127.0.0.1:5432/aidb")
        );
        // Another host or TLS mode in the query is another key: a password
        // kept for the local database is not sent there.
        assert_eq!(
            secret_key("postgres://aidb@127.0.0.1:5432/aidb?host=evil.example&Password=x")
                .as_deref(),
            Some("postgres://aidb@127.0.0.1:5432/aidb?host=evil.example")
        );
        assert_ne!(
            secret_key("postgres://aidb@127.0.0.1:5432/aidb?sslmode=disable"),
            secret_key("postgres://aidb@127.0.0.1:5432/aidb")
        );
        assert_eq!(secret_key("not a url"), None);
        assert!(has_password("postgres://a:b@h/d"));
        assert!(!has_password("postgres://a@h/d"));
    }
}
