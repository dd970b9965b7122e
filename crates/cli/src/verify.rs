//! `stackwarden verify`: the checklist of the stack, every check at once,
//! each result printed as it comes with its evidence and, when it fails, how
//! to fix it. The run is stored for the window's history and the report.

use std::path::Path;
use std::process::ExitCode;

use stackwarden_engine::Candidate;
use stackwarden_health::{CheckResult, CheckStatus, VerificationRun};
use stackwarden_verify::{verify, VerifyInput};
use tokio::sync::mpsc;

use crate::stack_input::{engine_rows, prepare};
use crate::store::open_store;

pub struct VerifyArgs<'a> {
    pub stack_file: Option<&'a Path>,
    pub json: bool,
    pub record: bool,
}

pub fn run(
    endpoints: &[Candidate],
    config: &stackwarden_model::Config,
    args: VerifyArgs<'_>,
) -> ExitCode {
    let (stack, runtime, runner) = match prepare(args.stack_file, "checked") {
        Ok(ready) => ready,
        Err(code) => return ExitCode::from(code),
    };
    let run = runtime.block_on(async {
        let (engine, rows) = match engine_rows(endpoints, Some(&stack)).await {
            Ok((engine, rows)) => (Ok(engine), rows),
            Err(why) => (Err(why), Vec::new()),
        };
        let (tx, mut rx) = mpsc::channel::<CheckResult>(64);
        let live = !args.json;
        let printer = async move {
            while let Some(r) = rx.recv().await {
                if live {
                    print!("{}", line(&r));
                }
            }
        };
        let input = VerifyInput {
            stack: &stack,
            engine,
            rows,
            runner: &runner,
            home: None,
            progress: Some(tx),
        };
        let (run, ()) = tokio::join!(verify(input), printer);
        if args.record {
            match open_store(config).await {
                Ok(store) => {
                    if let Err(e) = store.record_verification(&run).await {
                        eprintln!("stackwarden: the run was not stored: {e}");
                    }
                    if let Err(e) = store.prune(stackwarden_model::clock::now_ms()).await {
                        eprintln!("stackwarden: old history was not pruned: {e}");
                    }
                    store.close().await;
                }
                Err(e) => eprintln!("stackwarden: the run was not stored: {e}"),
            }
        }
        run
    });
    if args.json {
        match serde_json::to_string_pretty(&run) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("stackwarden: cannot write JSON: {e}"),
        }
    } else {
        print!("{}", summary(&run));
    }
    ExitCode::from(if run.ok() { 0 } else { 1 })
}

fn mark(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "PASS",
        CheckStatus::Fail => "FAIL",
        CheckStatus::Skipped => "SKIP",
    }
}

/// One result as it arrives: status, name, time, evidence, hint.
fn line(r: &CheckResult) -> String {
    let optional = if r.required { "" } else { " (optional)" };
    let mut out = format!(
        "{} {}{optional}  [{:.0} ms]\n      {}\n",
        mark(r.status),
        r.name,
        r.duration_ms,
        r.evidence
    );
    if !r.hint.is_empty() {
        out.push_str(&format!("      fix: {}\n", r.hint));
    }
    out
}

fn summary(run: &VerificationRun) -> String {
    let mut out = format!(
        "\n{}: {} passed, {} failed ({} required), {} skipped in {:.0} ms\n",
        run.stack, run.passed, run.failed, run.required_failed, run.skipped, run.duration_ms
    );
    if let Some(b) = &run.breakdown {
        out.push_str(&format!("Health {:.0}%: {}\n", b.overall, b.formula));
    }
    out.push_str(if run.ok() {
        "Every required check passed.\n"
    } else {
        "Required checks failed (above, with how to fix them).\n"
    });
    out
}
