//! What `health`, `verify` and `report` share: the stack to use and the
//! engine's containers.

use std::path::Path;

use stackwarden_engine::endpoint::START_HINT;
use stackwarden_engine::{connect, Candidate, Engine, ListedContainer};
use stackwarden_model::ServiceRow;
use stackwarden_probes::ProbeRunner;
use stackwarden_stack::{default_stack, load_file, Stack};

/// sysexits EX_DATAERR: the stack file is invalid.
pub const EXIT_BAD_STACK: u8 = 65;

/// The stack file given, or the built-in AI stack; a bad file is reported
/// with every problem and `Err` carries the exit code.
pub fn load_stack(stack_file: Option<&Path>, doing: &str) -> Result<Stack, u8> {
    let loaded = match stack_file {
        Some(path) => load_file(path),
        None => default_stack(),
    };
    loaded.map_err(|e| {
        eprintln!("stackwarden: the stack file is invalid; nothing was {doing}:\n{e}");
        EXIT_BAD_STACK
    })
}

/// Whether a listed container is one of `stack`'s.
fn in_stack(stack: &Stack, c: &ListedContainer) -> bool {
    stack.services.iter().any(|s| {
        s.is_container(
            &stack.name,
            &c.name,
            c.project.as_deref(),
            c.service.as_deref(),
        )
    })
}

/// What `health` and `verify` start from: the stack, a runtime and a probe
/// runner; `Err` is the exit code after saying why.
pub fn prepare(
    stack_file: Option<&Path>,
    doing: &str,
) -> Result<(Stack, tokio::runtime::Runtime, ProbeRunner), u8> {
    let stack = load_stack(stack_file, doing)?;
    let runtime = crate::runtime().ok_or(2)?;
    Ok((stack, runtime, ProbeRunner::new()))
}

/// Connects, lists and inspects the stack's containers (every container
/// without a stack); `Err` says what was tried and how to start the engine.
pub async fn engine_rows(
    endpoints: &[Candidate],
    stack: Option<&Stack>,
) -> Result<(Engine, Vec<ServiceRow>), String> {
    let engine = match connect(endpoints).await {
        Ok(c) => Engine::new(c).await,
        Err(attempts) => {
            let tried: Vec<String> = attempts
                .iter()
                .map(|a| format!("  {} ({}): {}", a.endpoint, a.source, a.error))
                .collect();
            return Err(format!(
                "Container engine unreachable. Tried:\n{}\n{START_HINT}",
                tried.join("\n")
            ));
        }
    };
    let rows = match engine.list_named().await {
        Ok(listed) => {
            let ids: Vec<String> = listed
                .into_iter()
                .filter(|c| stack.is_none_or(|s| in_stack(s, c)))
                .map(|c| c.id)
                .collect();
            engine.inspect_rows(&ids).await
        }
        Err(e) => Err(e),
    }
    .map_err(|e| {
        format!(
            "Container engine unreachable. Tried:\n  {}: {e}\n{START_HINT}",
            engine.endpoint()
        )
    })?;
    Ok((engine, rows))
}
