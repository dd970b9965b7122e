//! The app's SQLite store, opened by the CLI to record verification runs and
//! to read what the report is built from.

use std::time::Duration;

use stackwarden_model::Config;
use stackwarden_store::{Retention, Store};

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
