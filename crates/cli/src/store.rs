//! The app's SQLite store, opened by the CLI to record verification runs and
//! to read what the report is built from.

use std::time::Duration;

use stackwarden_model::Config;
use stackwarden_probes::EverDeployed;
use stackwarden_store::{Retention, Store, DATABASE_FILE};

use crate::stack_input::CliError;

pub async fn open_store(config: &Config) -> Result<Store, CliError> {
    let dir = Config::data_dir().ok_or(CliError::NoDataDir)?;
    let store = Store::open(
        &dir,
        Retention {
            max_age: Duration::from_secs(u64::from(config.history.retention_hours) * 3600),
            max_per_container: config.history.max_samples_per_container,
        },
    )
    .await?;
    Ok(store)
}

/// The services that have had a container, from the app's store when there
/// is one (`health` creates none: without history, an optional service with
/// no container reads as never deployed).
pub async fn ever_deployed(config: &Config) -> EverDeployed {
    let exists = Config::data_dir().is_some_and(|d| d.join(DATABASE_FILE).is_file());
    if !exists {
        return EverDeployed::new();
    }
    match open_store(config).await {
        Ok(store) => {
            let ever = store.ever_deployed().await.unwrap_or_default();
            store.close().await;
            ever
        }
        Err(_) => EverDeployed::new(),
    }
}
