//! The app's SQLite store, opened by the CLI to record verification runs and
//! to read what the report is built from.

use std::time::Duration;

use stackwarden_model::Config;
use stackwarden_store::{Retention, Store};

pub async fn open_store(config: &Config) -> Result<Store, String> {
    let dir = Config::data_dir()
        .ok_or_else(|| "no data directory (set HOME or STACKWARDEN_DATA_DIR)".to_string())?;
    Store::open(
        &dir,
        Retention {
            max_age: Duration::from_secs(u64::from(config.history.retention_hours) * 3600),
            max_per_container: config.history.max_samples_per_container,
        },
    )
    .await
    .map_err(|e| e.to_string())
}
