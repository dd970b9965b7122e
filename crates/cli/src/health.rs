//! `stackwarden health`: one probe round over the stack and the breakdown,
//! as the user's report wrote it by hand ("Core Infrastructure 100% (5/5)").

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use stackwarden_engine::Candidate;
use stackwarden_health::{HealthBreakdown, ProbeRun, ServiceStatus};
use stackwarden_model::Config;
use stackwarden_probes::{outcomes_by_service, probe_round, stack_health};
use stackwarden_stack::Stack;

use crate::stack_input::{engine_rows, prepare, print_json, unreachable_text};
use crate::table::shown;

pub fn run(
    endpoints: &[Candidate],
    config: &Config,
    stack_files: &[PathBuf],
    json: bool,
) -> ExitCode {
    let (stack, runtime, runner) = match prepare(stack_files, config, "probed") {
        Ok(ready) => ready,
        Err(code) => return ExitCode::from(code),
    };
    let result = runtime.block_on(async {
        let (_engine, rows) = engine_rows(endpoints, Some(&stack)).await?;
        let runs = probe_round(&runner, &stack, &rows).await;
        let outcomes = outcomes_by_service(&runs);
        let ever = crate::store::ever_deployed(config).await;
        Ok::<_, stackwarden_verify::NoEngine>((stack_health(&stack, &rows, &outcomes, &ever), runs))
    });
    let (breakdown, runs) = match result {
        Ok(r) => r,
        Err(why) => {
            eprintln!("{}", unreachable_text(&why));
            return ExitCode::from(2);
        }
    };
    if json {
        print_json(json!({
            "stack": stack.name,
            "breakdown": breakdown,
            "probes": runs,
        }));
    } else {
        print!("{}", render(&stack, &breakdown, &runs));
    }
    ExitCode::from(breakdown.level().exit_code())
}

/// The breakdown as text; every name, reason, error and observed value is
/// redacted and terminal-safe.
fn render(stack: &Stack, b: &HealthBreakdown, runs: &[ProbeRun]) -> String {
    let mut out = format!(
        "Stack {} (compose project {})\n\n",
        shown(&stack.name),
        shown(&stack.project)
    );
    let deployed = |s: &&stackwarden_health::ServiceHealth| s.status != ServiceStatus::NotDeployed;
    for g in b.groups.iter().filter(|g| g.total > 0) {
        out.push_str(&format!(
            "{:<24} {:>4.0}%  ({}/{} healthy){}\n",
            shown(&g.group),
            g.score,
            g.healthy,
            g.total,
            if g.required { "" } else { "  optional" }
        ));
        for s in b
            .services
            .iter()
            .filter(|s| s.group == g.group)
            .filter(deployed)
        {
            let replicas = match s.replicas.len() {
                0 | 1 => String::new(),
                n => format!(" [{n} containers: {}]", shown(&s.replicas.join(", "))),
            };
            out.push_str(&format!(
                "  {:<26} {:<9} {}{replicas}\n",
                shown(&s.service),
                s.status.word(),
                shown(&s.reason)
            ));
            for run in runs.iter().filter(|r| r.service == s.service) {
                let o = &run.outcome;
                let probe = shown(&o.probe);
                if let Some(e) = &o.error {
                    out.push_str(&format!("      {probe}: {}\n", shown(e)));
                }
                for c in o.conditions.iter().filter(|c| !c.success) {
                    out.push_str(&format!(
                        "      {probe}: {} (saw {})\n",
                        shown(&c.condition),
                        shown(&c.observed)
                    ));
                }
            }
        }
    }
    let absent: Vec<&stackwarden_health::ServiceHealth> =
        b.services.iter().filter(|s| !deployed(s)).collect();
    if !absent.is_empty() {
        out.push_str("\nNot deployed (not scored)\n");
        for s in absent {
            out.push_str(&format!(
                "  {:<26} {:<24} {}\n",
                shown(&s.service),
                shown(&s.group),
                shown(&s.reason)
            ));
        }
    }
    out.push_str(&format!(
        "\nOVERALL {:.0}%\n{}\n",
        b.overall,
        shown(&b.formula)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_health::{
        ConditionResult, GroupScore, ProbeOutcome, ServiceHealth, ServiceStatus,
    };

    #[test]
    fn engine_and_service_text_is_printed_safely() {
        let stack = stackwarden_stack::parse(
            "services:\n  api:\n    image: x\n",
            "/tmp/s\u{1b}[2J/compose.yaml",
        )
        .unwrap();
        let b = HealthBreakdown {
            services: vec![ServiceHealth {
                service: "api".into(),
                container: "api\u{1b}[2J".into(),
                replicas: Vec::new(),
                group: "core".into(),
                status: ServiceStatus::Unhealthy,
                reason: "all 1 probes failing".into(),
            }],
            groups: vec![GroupScore {
                group: "core".into(),
                required: true,
                weight: 3.0,
                healthy: 0,
                total: 1,
                not_deployed: 0,
                score: 0.0,
            }],
            overall: 0.0,
            formula: "overall = 0".into(),
        };
        let runs = vec![ProbeRun {
            service: "api".into(),
            at_ms: 0,
            duration_ms: 1.0,
            outcome: ProbeOutcome {
                probe: "health".into(),
                success: false,
                conditions: vec![ConditionResult {
                    condition: "[BODY].status == ok".into(),
                    success: false,
                    observed: "\"\u{1b}]0;owned\u{7}\"".into(),
                }],
                error: Some(
                    "cannot reach http://u:Sup3rS3cretPw@h:1/x?token=T0kenXyz123\u{1b}[2J".into(),
                ),
            },
        }];
        let text = render(&stack, &b, &runs);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(!text.contains('\u{7}'), "{text:?}");
        assert!(
            !text.contains("Sup3rS3cretPw") && !text.contains("T0kenXyz123"),
            "{text}"
        );
        assert!(
            text.starts_with("Stack /tmp/s\\u{1b}[2J/compose.yaml (compose project s2j)\n"),
            "{text}"
        );
        assert!(
            text.contains("health: [BODY].status == ok (saw \"\\u{1b}]0;owned\\u{7}\")"),
            "{text}"
        );
    }
}
