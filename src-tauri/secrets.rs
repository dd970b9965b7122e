//! Probe passwords kept the desktop way: in the freedesktop Secret Service
//! (GNOME Keyring, KWallet), never in `config.toml` or the data folder.
//! The probes look here when their `password_env` variable is not set, as
//! when the app starts from a launcher. Lookups are cached: a probe every
//! few seconds must not call D-Bus each time. A password found is read
//! again after [`FOUND_AGAIN`] (changed or removed in the keyring's own
//! app), a missing one after [`MISS_AGAIN`], and after a refusal (a locked
//! keyring the user would not unlock) only after [`REFUSED_AGAIN`], so an
//! unlock prompt does not come back every few seconds. One lookup per
//! database at a time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use stackwarden_probes::{SecretFuture, SecretSource, Secrets};

/// The Secret Service's `service` attribute for Stackwarden's items.
const SERVICE: &str = "stackwarden";
const FOUND_AGAIN: Duration = Duration::from_secs(600);
const MISS_AGAIN: Duration = Duration::from_secs(30);
const REFUSED_AGAIN: Duration = Duration::from_secs(600);

/// What the keyring said about one database.
#[derive(Clone)]
enum Known {
    Found(String),
    Missing,
    /// A lookup is under way: others do not start one.
    Asking,
}

#[derive(Default)]
struct Keyring {
    /// Each database's answer and until when it holds.
    cache: Mutex<HashMap<String, (Known, Instant)>>,
}

impl Keyring {
    /// The cached answer, or `None` when the keyring must be asked (the
    /// caller then asks, and the entry says a lookup is under way).
    fn cached(&self, key: &str) -> Option<Option<String>> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match cache.get(key) {
            Some((Known::Found(pw), until)) if now < *until => return Some(Some(pw.clone())),
            Some((Known::Missing | Known::Asking, until)) if now < *until => return Some(None),
            _ => {}
        }
        cache.insert(key.to_string(), (Known::Asking, now + MISS_AGAIN));
        None
    }

    fn remember(&self, key: &str, known: Known, valid: Duration) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_string(), (known, Instant::now() + valid));
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
            let (known, valid) = match read {
                Ok(Ok(pw)) => (Known::Found(pw), FOUND_AGAIN),
                Ok(Err(keyring::Error::NoEntry)) => (Known::Missing, MISS_AGAIN),
                Ok(Err(e)) => {
                    tracing::info!("keyring: cannot read a probe password: {e}");
                    (Known::Missing, REFUSED_AGAIN)
                }
                Err(e) => {
                    tracing::warn!("keyring lookup did not finish: {e}");
                    (Known::Missing, MISS_AGAIN)
                }
            };
            this.remember(&key, known.clone(), valid);
            match known {
                Known::Found(pw) => Some(pw),
                Known::Missing | Known::Asking => None,
            }
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
            keyring().remember(key, Known::Found(password), FOUND_AGAIN);
            Ok(())
        }
        Err(e) => Err(format!(
            "the desktop's secret service (GNOME Keyring, KWallet) did not keep it: {e}"
        )),
    }
}
