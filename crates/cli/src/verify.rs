//! `stackwarden verify`: the checklist of the stack, every check at once,
//! each result printed as it comes with its evidence and, when it fails, how
//! to fix it. The run is stored for the window's history and the report.

use std::path::PathBuf;
use std::process::ExitCode;

use stackwarden_engine::Candidate;
use stackwarden_health::{CheckResult, CheckStatus, VerificationRun};
use stackwarden_verify::{verify, VerifyInput};
use tokio::sync::mpsc;

use crate::stack_input::{engine_rows, prepare, print_json};
use crate::store::open_store;
use crate::table::shown;

pub struct VerifyArgs<'a> {
    pub stack_files: &'a [PathBuf],
    pub json: bool,
    pub record: bool,
}

pub fn run(
    endpoints: &[Candidate],
    config: &stackwarden_model::Config,
    args: VerifyArgs<'_>,
) -> ExitCode {
    let (stack, runtime, runner) = match prepare(args.stack_files, config, "checked") {
        Ok(ready) => ready,
        Err(code) => return ExitCode::from(code),
    };
    let run = runtime.block_on(async {
        let (engine, rows) = match engine_rows(endpoints, Some(&stack)).await {
            Ok((engine, rows)) => (Ok(engine), rows),
            Err(why) => (Err(why), Vec::new()),
        };
        let fingerprint_engine = engine.as_ref().ok().cloned();
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
            ever_deployed: crate::store::ever_deployed(config).await,
            cpu_window: stackwarden_verify::CPU_WINDOW,
        };
        let (run, ()) = tokio::join!(verify(input), printer);
        if args.record {
            match open_store(config).await {
                Ok(store) => {
                    let env = stackwarden_stack::LoadEnv::from_process()
                        .with_profiles(config.stack.profiles.clone());
                    if let Err(e) = stackwarden_recover::session::keep_baseline(
                        &store,
                        &stack,
                        args.stack_files,
                        &env,
                        fingerprint_engine.as_ref(),
                    )
                    .await
                    {
                        eprintln!(
                            "stackwarden: the data fingerprint was not stored: {}",
                            shown(&e)
                        );
                    }
                    if let Err(e) = store.record_verification(&run).await {
                        eprintln!(
                            "stackwarden: the run was not stored: {}",
                            shown(&e.to_string())
                        );
                    }
                    let action = stackwarden_runtime::verification_action(
                        &run,
                        stackwarden_runtime::ActionSource::Cli,
                    );
                    if let Err(e) = store.record_action(&action).await {
                        eprintln!(
                            "stackwarden: the run was not noted on the timeline: {}",
                            shown(&e.to_string())
                        );
                    }
                    if let Err(e) = store.prune(stackwarden_model::clock::now_ms()).await {
                        eprintln!(
                            "stackwarden: old history was not pruned: {}",
                            shown(&e.to_string())
                        );
                    }
                    store.close().await;
                }
                Err(e) => eprintln!(
                    "stackwarden: the run was not stored: {}",
                    shown(&e.to_string())
                ),
            }
        }
        run
    });
    if args.json {
        match serde_json::to_value(&run) {
            Ok(value) => print_json(value),
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

/// One result as it arrives: status, name, time, evidence, hint (each
/// redacted and terminal-safe).
fn line(r: &CheckResult) -> String {
    let optional = if r.required { "" } else { " (optional)" };
    let mut out = format!(
        "{} {}{optional}  [{:.0} ms]\n      {}\n",
        mark(r.status),
        shown(&r.name),
        r.duration_ms,
        shown(&r.evidence)
    );
    if !r.hint.is_empty() {
        out.push_str(&format!("      fix: {}\n", shown(&r.hint)));
    }
    out
}

fn summary(run: &VerificationRun) -> String {
    let mut out = format!(
        "\n{}: {} passed, {} failed ({} required), {} skipped in {:.0} ms\n",
        shown(&run.stack),
        run.passed,
        run.failed,
        run.required_failed,
        run.skipped,
        run.duration_ms
    );
    if let Some(b) = &run.breakdown {
        out.push_str(&format!(
            "Health {:.0}%: {}\n",
            b.overall,
            shown(&b.formula)
        ));
    }
    out.push_str(if run.ok() {
        "Every required check passed.\n"
    } else {
        "Required checks failed (above, with how to fix them).\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_line_prints_no_raw_control_characters() {
        let r = CheckResult {
            id: "running:x".into(),
            name: "x\u{1b}[2J container running".into(),
            service: Some("x".into()),
            required: true,
            status: CheckStatus::Fail,
            duration_ms: 1.0,
            evidence: "x\u{1b}[2J exited\nsecond line".into(),
            hint: "Start it: podman start x\u{1b}[2J".into(),
        };
        let text = line(&r);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert_eq!(
            text,
            "FAIL x\\u{1b}[2J container running  [1 ms]\n      x\\u{1b}[2J exited second line\n      fix: Start it: podman start x\\u{1b}[2J\n"
        );
    }
}
