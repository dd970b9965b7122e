//! `stackwarden drill SERVICE`: kills a healthy service's container on
//! purpose and measures how the self-healer brings it back (detection,
//! action, running, healthy), next to the drills before it. It asks first
//! (or takes `--yes`), and refuses a service whose data is not on volumes.
//! The healer is this process's own runtime, or the app or `stackwarden
//! watch` when one of them already watches the data folder.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use stackwarden_engine::Candidate;
use stackwarden_model::{Config, EngineStatus};
use stackwarden_runtime::{
    ActionSource, DrillStep, Runtime, RuntimeError, RuntimeOptions, StoredDrill,
};
use stackwarden_stack::{parse_span, LoadEnv, StackSource};

use crate::stack_input::load_stack;
use crate::table::shown;

/// How long the drill waits for the engine and the service's first health.
const READY_WITHIN: Duration = Duration::from_secs(60);

pub struct DrillArgs<'a> {
    pub service: &'a str,
    pub stack_files: &'a [PathBuf],
    pub yes: bool,
    pub json: bool,
    pub within: &'a str,
}

pub fn run(config: Config, endpoints: Vec<Candidate>, args: &DrillArgs<'_>) -> ExitCode {
    let within = match parse_span(args.within) {
        Ok(d) if d >= Duration::from_secs(5) => d,
        Ok(_) => {
            eprintln!("stackwarden drill: --within must be at least 5s");
            return ExitCode::from(crate::EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("stackwarden drill: --within: {e}");
            return ExitCode::from(crate::EXIT_USAGE);
        }
    };
    let env = LoadEnv::from_process().with_profiles(config.stack.profiles.clone());
    if let Err(code) = load_stack(args.stack_files, &env, "killed") {
        return ExitCode::from(code);
    }
    let Some(runtime) = crate::long_runtime("drill") else {
        return ExitCode::from(1);
    };
    let mut options = RuntimeOptions::from_config(config, endpoints, "stackwarden drill");
    if !args.stack_files.is_empty() {
        options.stack = StackSource::Files(
            args.stack_files
                .iter()
                .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone()))
                .collect(),
        );
    }
    runtime.block_on(drill(options, args, within))
}

async fn drill(options: RuntimeOptions, args: &DrillArgs<'_>, within: Duration) -> ExitCode {
    let rt = match Runtime::start(options).await {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stackwarden drill: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let code = drill_on(&rt, args, within).await;
    rt.stop().await;
    code
}

/// Waits until the engine answers and `service` has a status.
async fn ready(rt: &Runtime, service: &str) -> Result<(), ExitCode> {
    use stackwarden_health::ServiceStatus;
    let mut state = rt.state();
    let status = |s: &stackwarden_runtime::RuntimeState| s.service_status(service);
    let waited = tokio::time::timeout(READY_WITHIN, async {
        state
            .wait_for(|s| {
                matches!(s.snapshot.engine, EngineStatus::Unreachable { .. })
                    || status(s).is_some_and(|x| x != ServiceStatus::Unknown)
                    || (s.health.breakdown.is_some() && status(s).is_none())
            })
            .await
            .map(|_| ())
    })
    .await;
    let engine = state.borrow().snapshot.engine.clone();
    if let EngineStatus::Unreachable { hint, .. } = &engine {
        eprintln!(
            "stackwarden drill: no container engine answers; {}",
            shown(hint)
        );
        return Err(ExitCode::from(2));
    }
    if waited.is_err() {
        eprintln!(
            "stackwarden drill: `{}` has no status after {} s",
            shown(service),
            READY_WITHIN.as_secs()
        );
        return Err(ExitCode::from(1));
    }
    // A service the healer just started may still be in its start grace:
    // give the probes a moment to agree it is healthy, and the container
    // list (a stream of its own) to show it running again.
    let running = |s: &stackwarden_runtime::RuntimeState| {
        let container = s
            .health
            .breakdown
            .as_ref()
            .and_then(|b| b.services.iter().find(|h| h.service == service))
            .map(|h| h.container.as_str());
        s.snapshot
            .services
            .iter()
            .any(|r| Some(r.name.as_str()) == container && r.is_running())
    };
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        state
            .wait_for(|s| status(s) == Some(ServiceStatus::Healthy) && running(s))
            .await
            .map(|_| ())
    })
    .await;
    Ok(())
}

fn confirm(summary: &str) -> Result<bool, ExitCode> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("stackwarden drill: {summary}\nstackwarden drill: not a terminal to ask on; pass --yes to run it");
        return Err(ExitCode::from(crate::EXIT_USAGE));
    }
    eprint!("{summary}\nKill it now? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if stdin.lock().read_line(&mut answer).is_err() {
        return Ok(false);
    }
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn seconds(ms: Option<i64>) -> String {
    ms.map_or_else(
        || "-".to_string(),
        |ms| format!("{:.1} s", ms as f64 / 1000.0),
    )
}

async fn drill_on(rt: &Runtime, args: &DrillArgs<'_>, within: Duration) -> ExitCode {
    if let Err(code) = ready(rt, args.service).await {
        return code;
    }
    let plan = match rt.drill_plan(args.service).await {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("stackwarden drill: {}", shown(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    let summary = shown(&plan.summary);
    if !args.yes {
        match confirm(&summary) {
            Ok(true) => {}
            Ok(false) => {
                eprintln!("stackwarden drill: not run");
                return ExitCode::from(1);
            }
            Err(code) => return code,
        }
    } else if !args.json {
        eprintln!("{summary}");
    }
    let quiet = args.json;
    let step = |s: &DrillStep| {
        if quiet {
            return;
        }
        match s {
            DrillStep::Killed => eprintln!("killed {}", shown(&plan.container)),
            DrillStep::Detected(ms) => eprintln!("  seen failing after   {}", seconds(Some(*ms))),
            DrillStep::Acted(ms) => eprintln!("  healer acted after   {}", seconds(Some(*ms))),
            DrillStep::Running(ms) => eprintln!("  running again after  {}", seconds(Some(*ms))),
            DrillStep::Healthy(ms) => eprintln!("  healthy again after  {}", seconds(Some(*ms))),
        }
    };
    let done = match rt
        .drill(args.service, ActionSource::Cli, within, step)
        .await
    {
        Ok(done) => done,
        Err(e @ RuntimeError::EngineUnreachable) => {
            eprintln!("stackwarden drill: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("stackwarden drill: {}", shown(&e.to_string()));
            return ExitCode::from(1);
        }
    };
    let previous: Vec<StoredDrill> = rt
        .drills(Some(args.service))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|d| d.id != done.id)
        .take(5)
        .collect();
    if args.json {
        let out = serde_json::json!({ "drill": done, "previous": previous });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("{}", shown(&done.drill.note));
        println!();
        println!(
            "{:<26} {:>9} {:>9} {:>9} {:>9}  result",
            "drill", "detected", "acted", "running", "healthy"
        );
        for d in std::iter::once(&done).chain(previous.iter()) {
            let when = stackwarden_report::when(d.drill.at_ms);
            println!(
                "{:<26} {:>9} {:>9} {:>9} {:>9}  {}",
                when,
                seconds(d.drill.detected_ms),
                seconds(d.drill.acted_ms),
                seconds(d.drill.running_ms),
                seconds(d.drill.healthy_ms),
                if d.drill.recovered {
                    "recovered"
                } else {
                    "not recovered"
                }
            );
        }
    }
    if done.drill.recovered {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
