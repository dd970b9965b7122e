//! `stackwarden health`: one probe round over the stack and the breakdown,
//! as the user's report wrote it by hand ("Core Infrastructure 100% (5/5)").

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;
use stackwarden_engine::Candidate;
use stackwarden_health::{HealthBreakdown, ProbeRun};
use stackwarden_probes::{outcomes_by_service, probe_round, stack_health};
use stackwarden_stack::Stack;

use crate::stack_input::{engine_rows, prepare};

pub fn run(endpoints: &[Candidate], stack_file: Option<&Path>, json: bool) -> ExitCode {
    let (stack, runtime, runner) = match prepare(stack_file, "probed") {
        Ok(ready) => ready,
        Err(code) => return ExitCode::from(code),
    };
    let result = runtime.block_on(async {
        let (_engine, rows) = engine_rows(endpoints, Some(&stack)).await?;
        let runs = probe_round(&runner, &stack, &rows).await;
        let outcomes = outcomes_by_service(&runs);
        Ok::<_, String>((stack_health(&stack, &rows, &outcomes), runs))
    });
    let (breakdown, runs) = match result {
        Ok(r) => r,
        Err(why) => {
            eprintln!("{why}");
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
