//! What `health`, `verify` and `report` share: the stack to use, the
//! engine's containers, the command line's errors and its JSON output.

use std::path::PathBuf;

use stackwarden_engine::endpoint::START_HINT;
use stackwarden_engine::{connect, Candidate, Engine, ListedContainer};
use stackwarden_model::{redact, Config, ServiceRow};
use stackwarden_probes::ProbeRunner;
use stackwarden_report::ReportError;
use stackwarden_stack::{default_stack, load_files, LoadEnv, Stack};
use stackwarden_store::StoreError;
use stackwarden_verify::NoEngine;

use crate::table::shown;

/// Why `verify` could not store its run or `report` could not be written
/// (no engine is a `NoEngine`, which the verification reports itself).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no data directory: set HOME or STACKWARDEN_DATA_DIR")]
    NoDataDir,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// sysexits EX_DATAERR: the stack file is invalid.
pub const EXIT_BAD_STACK: u8 = 65;

/// The stack file given, or the built-in AI stack; a bad file is reported
/// with every problem and `Err` carries the exit code.
pub fn load_stack(stack_files: &[PathBuf], env: &LoadEnv, doing: &str) -> Result<Stack, u8> {
    let loaded = if stack_files.is_empty() {
        default_stack()
    } else {
        load_files(stack_files, env).map(|l| l.stack)
    };
    loaded.map_err(|e| {
        let problems: Vec<String> = e.to_string().lines().map(shown).collect();
        eprintln!(
            "stackwarden: the stack file is invalid; nothing was {doing}:\n{}",
            problems.join("\n")
        );
        EXIT_BAD_STACK
    })
}

/// Whether a listed container is one of `stack`'s.
fn in_stack(stack: &Stack, c: &ListedContainer) -> bool {
    stack
        .services
        .iter()
        .any(|s| s.is_container(stack, &c.name, c.project.as_deref(), c.service.as_deref()))
}

/// What `health` and `verify` start from: the stack, a runtime and a probe
/// runner; `Err` is the exit code after saying why.
pub fn prepare(
    stack_files: &[PathBuf],
    config: &Config,
    doing: &str,
) -> Result<(Stack, tokio::runtime::Runtime, ProbeRunner), u8> {
    let env = LoadEnv::from_process().with_profiles(config.stack.profiles.clone());
    let stack = load_stack(stack_files, &env, doing)?;
    let runtime = crate::runtime().ok_or(2)?;
    Ok((stack, runtime, ProbeRunner::new()))
}

/// Connects, lists and inspects the stack's containers (every container
/// without a stack); `Err` says what was tried.
pub async fn engine_rows(
    endpoints: &[Candidate],
    stack: Option<&Stack>,
) -> Result<(Engine, Vec<ServiceRow>), NoEngine> {
    let engine = match connect(endpoints).await {
        Ok(c) => Engine::new(c).await,
        Err(attempts) => return Err(NoEngine::Unreachable { attempts }),
    };
    let rows = match engine.list_named().await {
        Ok(listed) => {
            let listed: Vec<_> = listed
                .into_iter()
                .filter(|c| stack.is_none_or(|s| in_stack(s, c)))
                .collect();
            engine.inspect_listed(&listed).await
        }
        Err(e) => Err(e),
    }
    .map_err(|error| NoEngine::Failed {
        endpoint: engine.endpoint().to_string(),
        error,
    })?;
    Ok((engine, rows))
}

/// What the command line prints when there is no engine: every endpoint
/// tried and why, one a line, then how to start one.
pub fn unreachable_text(why: &NoEngine) -> String {
    let tried: Vec<String> = why
        .tried_lines()
        .iter()
        .map(|l| format!("  {}", shown(l)))
        .collect();
    if tried.is_empty() {
        return format!("{}\n{START_HINT}", shown(&why.to_string()));
    }
    format!(
        "Container engine unreachable. Tried:\n{}\n{START_HINT}",
        tried.join("\n")
    )
}

/// Every string in `value` with its URLs redacted (JSON escapes control
/// characters itself).
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => *s = redact::text(s),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Prints `value` as pretty JSON on stdout, redacted.
pub fn print_json(mut value: serde_json::Value) {
    redact_json(&mut value);
    match serde_json::to_string_pretty(&value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("stackwarden: cannot write JSON: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::EndpointAttempt;

    #[test]
    fn json_strings_are_redacted_everywhere() {
        let mut v = serde_json::json!({
            "a": "http://u:Sup3rS3cretPw@h/x?token=T0kenXyz123",
            "b": [{"c": "see postgres://mcp:Pg9assw0rd@db/mcp"}],
            "n": 3,
        });
        redact_json(&mut v);
        let text = v.to_string();
        for secret in ["Sup3rS3cretPw", "T0kenXyz123", "Pg9assw0rd"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(v["a"], "http://u:***@h/x?token=***");
        assert_eq!(v["n"], 3);
    }

    #[test]
    fn no_engine_lists_each_endpoint_tried_safely() {
        let text = unreachable_text(&NoEngine::Unreachable {
            attempts: vec![EndpointAttempt {
                endpoint: "tcp://admin:hunter2@10.0.0.5:2375".into(),
                source: "DOCKER_HOST".into(),
                error: "refused\u{1b}[2J".into(),
            }],
        });
        assert!(
            text.starts_with("Container engine unreachable. Tried:\n  tcp://admin:***@10.0.0.5:2375 (DOCKER_HOST): refused\\u{1b}[2J\n"),
            "{text}"
        );
        assert!(text.ends_with(START_HINT), "{text}");
        assert!(unreachable_text(&NoEngine::Searching)
            .starts_with("still looking for the container engine\n"));
    }
}
