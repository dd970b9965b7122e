//! `stackwarden health`: one probe round over the stack and the breakdown,
//! as the user's report wrote it by hand ("Core Infrastructure 100% (5/5)").

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use stackwarden_engine::endpoint::START_HINT;
use stackwarden_engine::{connect, Candidate, Engine};
use stackwarden_health::{HealthBreakdown, ProbeRun};
use stackwarden_probes::{outcomes_by_service, probe_round, stack_health, ProbeRunner};
use stackwarden_stack::{default_stack, load_file, Stack};

/// sysexits EX_DATAERR: the stack file is invalid.
const EXIT_BAD_STACK: u8 = 65;

pub fn run(endpoints: &[Candidate], stack_file: Option<&Path>, json: bool) -> ExitCode {
    let loaded = match stack_file {
        Some(path) => load_file(path),
        None => default_stack(),
    };
    let stack = match loaded {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("stackwarden: the stack file is invalid; nothing was probed:\n{e}");
            return ExitCode::from(EXIT_BAD_STACK);
        }
    };
    let Some(runtime) = crate::runtime() else {
        return ExitCode::from(2);
    };
    let runner = match ProbeRunner::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stackwarden: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        let engine = match connect(endpoints).await {
            Ok(c) => Engine::new(c).await,
            Err(attempts) => {
                return Err(attempts
                    .iter()
                    .map(|a| format!("  {} ({}): {}", a.endpoint, a.source, a.error))
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
        };
        let rows = match engine.list_ids().await {
            Ok(ids) => engine.inspect_rows(&ids).await,
            Err(e) => Err(e),
        }
        .map_err(|e| format!("  {}: {e}", engine.endpoint()))?;
        let runs = probe_round(&runner, &stack, &rows).await;
        let outcomes = outcomes_by_service(&runs);
        Ok((stack_health(&stack, &rows, &outcomes), runs))
    });
    let (breakdown, runs) = match result {
        Ok(r) => r,
        Err(tried) => {
            eprintln!("Container engine unreachable. Tried:\n{tried}\n{START_HINT}");
            return ExitCode::from(2);
        }
    };
    if json {
        let value = json!({
            "stack": stack.name,
            "breakdown": breakdown,
            "probes": runs,
        });
        match serde_json::to_string_pretty(&value) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("stackwarden: cannot write JSON: {e}"),
        }
    } else {
        print!("{}", render(&stack, &breakdown, &runs));
    }
    ExitCode::from(breakdown.level().exit_code())
}

fn render(stack: &Stack, b: &HealthBreakdown, runs: &[ProbeRun]) -> String {
    let mut out = format!("Stack {}\n\n", stack.name);
    for g in &b.groups {
        out.push_str(&format!(
            "{:<24} {:>4.0}%  ({}/{} healthy){}\n",
            g.group,
            g.score,
            g.healthy,
            g.total,
            if g.required { "" } else { "  optional" }
        ));
        for s in b.services.iter().filter(|s| s.group == g.group) {
            out.push_str(&format!(
                "  {:<26} {:<9} {}\n",
                s.service,
                s.status.word(),
                s.reason
            ));
            for run in runs.iter().filter(|r| r.service == s.service) {
                let o = &run.outcome;
                if let Some(e) = &o.error {
                    out.push_str(&format!("      {}: {e}\n", o.probe));
                }
                for c in o.conditions.iter().filter(|c| !c.success) {
                    out.push_str(&format!(
                        "      {}: {} (saw {})\n",
                        o.probe, c.condition, c.observed
                    ));
                }
            }
        }
    }
    out.push_str(&format!("\nOVERALL {:.0}%\n{}\n", b.overall, b.formula));
    out
}
