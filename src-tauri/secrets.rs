//! Probe passwords kept the desktop way: in the freedesktop Secret Service
//! (GNOME Keyring, KWallet), never in `config.toml` or the data folder.
//! The probes look here when their `password_env` variable is not set, as
//! when the app starts from a launcher. Lookups are cached: a probe every
//! few seconds must not call D-Bus each time; a miss is asked again after
//! [`MISS_AGAIN`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use stackwarden_probes::{SecretFuture, SecretSource, Secrets};

/// The Secret Service's `service` attribute for Stackwarden's items.
const SERVICE: &str = "stackwarden";
const MISS_AGAIN: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Keyring {
    cache: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl Keyring {
    fn cached(&self, key: &str) -> Option<Option<String>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(key) {
            Some((Some(pw), _)) => Some(Some(pw.clone())),
            Some((None, at)) if at.elapsed() < MISS_AGAIN => Some(None),
            _ => None,
        }
    }

    fn remember(&self, key: &str, password: Option<String>) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_string(), (password, Instant::now()));
    }
}

fn keyring() -> &'static Arc<Keyring> {
    static KEYRING: OnceLock<Arc<Keyring>> = OnceLock::new();
    KEYRING.get_or_init(Arc::default)
}

impl SecretSource for Keyring {
    fn password(&self, key: &str) -> SecretFuture {
        if let Some(known) = self.cached(key) {
            return Box::pin(async move { known });
        }
        let key = key.to_string();
        let this = Arc::clone(keyring());
        Box::pin(async move {
            let read = {
                let key = key.clone();
                tokio::task::spawn_blocking(move || {
                    keyring::Entry::new(SERVICE, &key).and_then(|e| e.get_password())
                })
                .await
            };
            let found = match read {
                Ok(Ok(pw)) => Some(pw),
                Ok(Err(keyring::Error::NoEntry)) => None,
                Ok(Err(e)) => {
                    tracing::debug!("keyring: cannot read a probe password: {e}");
                    None
                }
                Err(e) => {
                    tracing::warn!("keyring lookup did not finish: {e}");
                    None
                }
            };
            this.remember(&key, found.clone());
            found
        })
    }
}

/// The keyring as the runtime's secret source.
pub fn shared() -> Secrets {
    let source: Arc<dyn SecretSource> = keyring().clone();
    Secrets(source)
}

/// Keeps `password` for the database `key`; an error says why the
/// desktop's secret service refused.
pub async fn set(key: &str, password: String) -> Result<(), String> {
    let entry_key = key.to_string();
    let kept = password.clone();
    let result = tokio::task::spawn_blocking(move || {
        keyring::Entry::new(SERVICE, &entry_key).and_then(|e| e.set_password(&kept))
    })
    .await
    .map_err(|e| e.to_string())?;
    match result {
        Ok(()) => {
            keyring().remember(key, Some(password));
            Ok(())
        }
        Err(e) => Err(format!(
            "the desktop's secret service (GNOME Keyring, KWallet) did not keep it: {e}"
        )),
    }
}
