//! `stackwarden release SERVICE`: lets the healer act again on a service it
//! quarantined. The healer may be the desktop app or `stackwarden watch`:
//! the release is written to the shared history, which it reads within
//! seconds (and when it starts).

use std::process::ExitCode;

use stackwarden_model::clock::now_ms;
use stackwarden_model::Config;
use stackwarden_runtime::{ActionSource, HEAL_MEMORY_MS};
use stackwarden_store::ActionRecord;

use crate::store::open_store;
use crate::table::shown;

pub fn run(config: &Config, service: &str) -> ExitCode {
    let Some(runtime) = crate::runtime() else {
        return ExitCode::from(1);
    };
    runtime.block_on(release(config, service))
}

async fn release(config: &Config, service: &str) -> ExitCode {
    let store = match open_store(config).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("stackwarden release: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match store
        .unreleased_quarantine(service, now_ms(), HEAL_MEMORY_MS)
        .await
    {
        Ok(Some(why)) => {
            let done = store
                .record_action(&ActionRecord {
                    at_ms: now_ms(),
                    source: ActionSource::Cli.as_str().to_string(),
                    action: "released".into(),
                    service: Some(service.to_string()),
                    ok: true,
                    result: "released from quarantine by a person; the healer may act again".into(),
                })
                .await;
            match done {
                Ok(_) => {
                    println!(
                        "{} released from quarantine (it was: {}); the healer acts on it again within seconds",
                        shown(service),
                        shown(&why)
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("stackwarden release: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Ok(None) => {
            eprintln!(
                "stackwarden release: the healer holds no `{}` in quarantine",
                shown(service)
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("stackwarden release: {e}");
            ExitCode::from(1)
        }
    };
    store.close().await;
    code
}
