//! `stackwarden recover`: the guided recovery wizard on the command line.
//! Diagnose, show the plan (and what could be lost), ask, act with
//! progress, verify, compare the data's fingerprints, record the recovery.
//! `--dry-run` only shows the plan; `--yes` does not ask, but a step that
//! could lose data still runs only when its service is named with
//! `--accept-loss` (its backup is taken first).

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use stackwarden_engine::{connect, Candidate, Engine};
use stackwarden_model::clock::now_ms;
use stackwarden_model::format::human_duration_ms;
use stackwarden_model::Config;
use stackwarden_recover::session::{self, Memory};
use stackwarden_recover::{
    tools, Diagnosis, Execution, Fingerprint, LocalCommands, Match, Plan, Progress, Recovery,
    Severity, Step,
};
use stackwarden_stack::{Blueprints, LoadEnv, Stack};
use stackwarden_store::ActionSource;

use crate::stack_input::{print_json, EXIT_BAD_STACK};
use crate::store::open_store;
use crate::table::shown;

/// How long the engine has to answer after the wizard started it.
const ENGINE_START_WITHIN: Duration = Duration::from_secs(20);

pub struct RecoverArgs<'a> {
    pub stack_files: &'a [PathBuf],
    pub dry_run: bool,
    pub yes: bool,
    pub json: bool,
    /// Services whose destructive step is accepted with `--yes`.
    pub accept_loss: &'a [String],
    pub within: &'a str,
}

pub fn run(config: &Config, endpoints: &[Candidate], args: &RecoverArgs<'_>) -> ExitCode {
    let wait_limit = match stackwarden_stack::parse_span(args.within) {
        Ok(d) if d >= Duration::from_secs(5) => d,
        Ok(_) => {
            eprintln!("stackwarden recover: --within must be at least 5s");
            return ExitCode::from(crate::EXIT_USAGE);
        }
        Err(e) => {
            eprintln!("stackwarden recover: --within: {e}");
            return ExitCode::from(crate::EXIT_USAGE);
        }
    };
    if !args.yes && !args.dry_run && !std::io::stdin().is_terminal() {
        eprintln!("stackwarden recover: no terminal to ask on: add --yes to run the plan, or --dry-run to see it");
        return ExitCode::from(crate::EXIT_USAGE);
    }
    let env = LoadEnv::from_process().with_profiles(config.stack.profiles.clone());
    let (stack, prints) = match load(args.stack_files, &env) {
        Ok(loaded) => loaded,
        Err(code) => return ExitCode::from(code),
    };
    let Some(runtime) = crate::long_runtime("recover") else {
        return ExitCode::from(1);
    };
    runtime.block_on(recover(
        config, endpoints, args, &stack, &prints, wait_limit,
    ))
}

/// The stack and its blueprints; `Err` is the exit code after saying why.
fn load(files: &[PathBuf], env: &LoadEnv) -> Result<(Stack, Blueprints), u8> {
    session::load(files, env).map_err(|e| {
        let lines: Vec<String> = e.to_string().lines().map(shown).collect();
        eprintln!(
            "stackwarden recover: the stack file is invalid; nothing was changed:\n{}",
            lines.join("\n")
        );
        EXIT_BAD_STACK
    })
}

async fn recover(
    config: &Config,
    endpoints: &[Candidate],
    args: &RecoverArgs<'_>,
    stack: &Stack,
    prints: &Blueprints,
    wait_limit: Duration,
) -> ExitCode {
    let started_ms = now_ms();
    let store = open_store(config).await.ok();
    let memory = match &store {
        Some(store) => Memory::read(store).await,
        None => Memory::default(),
    };
    let tools = tools::detect(&tools::chosen_endpoints(endpoints));
    let ctx = memory.context(stack, prints, &[], &tools);
    let commands = LocalCommands {
        engine_log: Config::data_dir().map(|d| d.join("podman-service.log")),
    };
    let engine = match connect(endpoints).await {
        Ok(c) => Engine::new(c).await,
        Err(attempts) => {
            let prepared = session::prepare_unreachable(&ctx, &attempts, &tools).await;
            let (diagnosis, plan) = (&prepared.diagnosis, &prepared.plan);
            if !args.json {
                print!("{}", diagnosis_text(diagnosis));
                print!("{}", plan_text(plan));
            }
            let start = plan.steps.first().filter(|_| plan.blockers.is_empty());
            if args.dry_run || start.is_none() {
                if args.json {
                    print_json(serde_json::json!({ "diagnosis": diagnosis, "plan": plan }));
                }
                return ExitCode::from(2);
            }
            if !args.yes && !ask("Start the engine?") {
                println!("Nothing was changed.");
                return ExitCode::from(2);
            }
            let command = start.map(|s| s.command.clone()).unwrap_or_default();
            match start_engine(&commands, &command, endpoints, args.json).await {
                Some(engine) => engine,
                None => return ExitCode::from(2),
            }
        }
    };
    let prepared = match session::prepare(&ctx, &engine, &tools, &memory.fingerprints).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "stackwarden recover: cannot list containers: {}",
                shown(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    let plan = &prepared.plan;
    if !args.json {
        print!("{}", diagnosis_text(&prepared.diagnosis));
        print!("{}", plan_text(plan));
        print!(
            "{}",
            fingerprint_text("Data now", &prepared.before, prepared.read_now.taken_at_ms)
        );
    }
    if args.dry_run {
        if let Some(store) = &store {
            if let Err(e) = session::save_fingerprint(store, &prepared.read_now).await {
                eprintln!("stackwarden recover: {}", shown(&e));
            }
            store.close().await;
        }
        if args.json {
            print_json(serde_json::json!({
                "diagnosis": prepared.diagnosis,
                "plan": plan,
                "before": prepared.before,
            }));
        }
        let fine = plan.is_empty() && plan.blockers.is_empty();
        return ExitCode::from(if fine { 0 } else { 1 });
    }
    if !plan.blockers.is_empty() {
        if !args.json {
            println!("Nothing was started: fix what blocks the plan first.");
        }
    } else if !plan.is_empty()
        && !args.yes
        && !ask(&format!("Run these {} steps?", plan.steps.len()))
    {
        println!("Nothing was changed.");
        return ExitCode::from(1);
    }
    let confirmed = confirm_losses(plan, args);
    let outcomes = if plan.is_empty() {
        Vec::new()
    } else {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let execution = Execution {
            engine: &engine,
            stack,
            blueprints: prints,
            diagnosis: &prepared.diagnosis,
            backup_dir: session::backup_dir(),
            confirmed,
            commands: &commands,
            progress: tx,
            wait_limit,
            probes: stackwarden_probes::ProbeRunner::new(),
        };
        let printer = print_progress(rx, plan, args.json);
        let run = async {
            let outcomes = stackwarden_recover::execute(plan, &execution).await;
            drop(execution);
            outcomes
        };
        tokio::join!(run, printer).0
    };
    let into = session::RecordIn {
        store: store.as_ref(),
        by: ActionSource::Cli,
    };
    let (recovery, problems) = session::finish(
        stack,
        prints,
        &engine,
        &memory.ever_deployed,
        started_ms,
        prepared,
        outcomes,
        into,
    )
    .await;
    for problem in problems {
        eprintln!("stackwarden recover: {}", shown(&problem));
    }
    if let Some(store) = &store {
        store.close().await;
    }
    if args.json {
        match serde_json::to_value(&recovery) {
            Ok(v) => print_json(v),
            Err(e) => eprintln!("stackwarden recover: cannot write JSON: {e}"),
        }
    } else {
        print!("{}", result_text(&recovery));
    }
    ExitCode::from(if recovery.ok { 0 } else { 1 })
}

async fn start_engine(
    commands: &LocalCommands,
    command: &[String],
    endpoints: &[Candidate],
    json: bool,
) -> Option<Engine> {
    use stackwarden_recover::Commands;
    match commands.start_engine(command).await {
        Ok(note) => {
            if !json {
                println!("{}", shown(&note));
            }
        }
        Err(why) => {
            eprintln!(
                "stackwarden recover: could not start the engine: {}",
                shown(&why)
            );
            return None;
        }
    }
    let began = Instant::now();
    while began.elapsed() < ENGINE_START_WITHIN {
        if let Ok(c) = connect(endpoints).await {
            return Some(Engine::new(c).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "stackwarden recover: the engine did not answer within {} s of starting it",
        ENGINE_START_WITHIN.as_secs()
    );
    None
}

/// Asks on the terminal; anything but y/yes is no.
fn ask(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// The destructive steps confirmed on their own: named with
/// `--accept-loss` (with `--yes`), or by typing the service's name.
fn confirm_losses(plan: &Plan, args: &RecoverArgs<'_>) -> BTreeSet<u32> {
    let mut confirmed = BTreeSet::new();
    for step in plan.destructive() {
        let service = step.service.as_deref().unwrap_or("");
        let accepted = if args.yes {
            args.accept_loss.iter().any(|s| s == service)
        } else {
            print!(
                "Step {} can lose data: {}\nA backup is taken first. Type `{}` to accept, anything else to stop there: ",
                step.id,
                shown(&step.loss.as_ref().map(|l| l.summary.clone()).unwrap_or_default()),
                shown(service)
            );
            let _ = std::io::stdout().flush();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == service
        };
        if accepted {
            confirmed.insert(step.id);
        }
    }
    confirmed
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Loss => "DATA LOST",
        Severity::Blocker => "BLOCKER",
        Severity::Problem => "problem",
        Severity::Note => "note",
    }
}

fn diagnosis_text(d: &Diagnosis) -> String {
    let mut out = String::from("Diagnosis\n");
    match (&d.engine.endpoint, d.engine.reachable) {
        (Some(endpoint), true) => out.push_str(&format!(
            "  engine     {} answers ({})\n",
            shown(endpoint),
            if d.engine.podman {
                "Podman"
            } else {
                "Docker API"
            }
        )),
        _ => out.push_str("  engine     not answering\n"),
    }
    for f in &d.findings {
        out.push_str(&format!(
            "  {:<10} {}\n",
            severity_word(f.severity),
            shown(&f.title)
        ));
        out.push_str(&format!("             {}\n", shown(&f.evidence)));
        if !f.hint.is_empty() {
            out.push_str(&format!("             fix: {}\n", shown(&f.hint)));
        }
    }
    out
}

fn plan_text(p: &Plan) -> String {
    let mut out = String::new();
    if p.steps.is_empty() && p.blockers.is_empty() {
        out.push_str("Plan: nothing to do; the stack's containers are up.\n");
        return out;
    }
    out.push_str(&format!(
        "Plan: {} step(s), about {}\n",
        p.steps.len(),
        human_duration_ms(i64::try_from(p.expected_ms).unwrap_or(i64::MAX))
    ));
    for step in &p.steps {
        out.push_str(&step_text(step));
    }
    out
}

fn step_text(step: &Step) -> String {
    let after = if step.after.is_empty() {
        String::new()
    } else {
        format!(
            " (after {})",
            step.after
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut out = format!(
        "  {:>2}. {}{after}  ~{}\n      why: {}\n",
        step.id,
        shown(&step.title),
        human_duration_ms(i64::try_from(step.expected_ms).unwrap_or(i64::MAX)),
        shown(&step.why)
    );
    if !step.command.is_empty() {
        out.push_str(&format!("      runs: {}\n", shown(&step.command.join(" "))));
    }
    if let Some(loss) = &step.loss {
        out.push_str(&format!("      CAN LOSE DATA: {}\n", shown(&loss.summary)));
        for path in loss.paths.iter().take(10) {
            out.push_str(&format!("        {}\n", shown(path)));
        }
        if loss.paths.len() > 10 {
            out.push_str(&format!("        ... and {} more\n", loss.paths.len() - 10));
        }
        for b in &loss.backups {
            out.push_str(&format!("      backup first: {}\n", shown(&b.path)));
        }
    }
    out
}

fn fingerprint_text(title: &str, fp: &Fingerprint, now_ms: i64) -> String {
    if fp.items.is_empty() {
        return String::new();
    }
    let mut out = format!("{title}\n");
    for item in &fp.items {
        let when = if item.read_at_ms + 60_000 < now_ms && item.value.is_some() {
            format!(
                "  (last read {} ago)",
                human_duration_ms(now_ms - item.read_at_ms)
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "  {:<36} {}{when}\n",
            shown(&item.label),
            shown(&item.text)
        ));
    }
    out
}

async fn print_progress(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Progress>,
    plan: &Plan,
    json: bool,
) {
    let total = plan.steps.len();
    let title = |id: u32| {
        plan.steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| shown(&s.title))
            .unwrap_or_default()
    };
    while let Some(p) = rx.recv().await {
        if json {
            continue;
        }
        match p {
            Progress::Started { step } => println!("[{step}/{total}] {}", title(step)),
            Progress::Line { step, text } => println!("  [{step}] {}", shown(&text)),
            Progress::Layer {
                step,
                layer,
                status,
                current,
                total,
            } => {
                let amount = match (current, total) {
                    (Some(c), Some(t)) if t > 0 => format!(
                        " {} / {}",
                        stackwarden_model::format::human_bytes(c),
                        stackwarden_model::format::human_bytes(t)
                    ),
                    _ => String::new(),
                };
                println!(
                    "  [{step}] layer {}: {}{amount}",
                    shown(&layer),
                    shown(&status)
                );
            }
            Progress::Backup {
                step,
                file,
                bytes,
                sha256,
            } => println!(
                "  [{step}] backup {} ({}, sha256 {})",
                shown(&file),
                stackwarden_model::format::human_bytes(bytes),
                sha256
            ),
            Progress::Done { step, ms, note } => {
                println!(
                    "  [{step}] done in {}: {}",
                    session::seconds(ms),
                    shown(&note)
                );
            }
            Progress::Failed { step, reason, hint } => {
                println!("  [{step}] FAILED: {}", shown(&reason));
                if !hint.is_empty() {
                    println!("        fix: {}", shown(&hint));
                }
            }
            Progress::Skipped { step, reason } => println!("  [{step}] {}", shown(&reason)),
        }
    }
}

fn result_text(r: &Recovery) -> String {
    let mut out = String::new();
    if !r.compared.is_empty() {
        out.push_str("Data before and after\n");
        for c in &r.compared {
            let verdict = match c.verdict {
                Match::Same => "same",
                Match::Changed => "changed (may move)",
                Match::Differs => "DIFFERS",
                Match::Unknown => "unknown before",
            };
            out.push_str(&format!(
                "  {:<36} {} before, {} after  {verdict}\n",
                shown(&c.label),
                shown(&c.before),
                shown(&c.after)
            ));
        }
    }
    if let Some(v) = &r.verification {
        let failed = v
            .results
            .iter()
            .filter(|c| c.status == stackwarden_health::CheckStatus::Fail)
            .count();
        out.push_str(&format!(
            "Verification: {} check(s), {failed} failed\n",
            v.results.len()
        ));
        for c in v
            .results
            .iter()
            .filter(|c| c.status == stackwarden_health::CheckStatus::Fail)
        {
            out.push_str(&format!(
                "  FAIL {}{}: {}\n",
                shown(&c.name),
                if c.required { "" } else { " (optional)" },
                shown(&c.evidence)
            ));
        }
    }
    if r.ok {
        out.push_str(&format!(
            "Recovered: {}\n",
            shown(&session::summary_line(r))
        ));
    } else {
        out.push_str("Not recovered:\n");
        for p in &r.problems {
            out.push_str(&format!("  {}\n", shown(p)));
        }
    }
    if let Some(id) = r.incident_id {
        out.push_str(&format!(
            "Recorded on incident #{id}; its recovery report: stackwarden timeline --incident {id} --report recovery-{id}.html\n"
        ));
    }
    out
}
