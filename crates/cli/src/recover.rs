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
use stackwarden_recover::{
    fingerprint, stack_rows, tools, Context, Diagnosis, EngineSeen, Fingerprint, LocalCommands,
    Match, Plan, Progress, Recovery, Severity, Step, StepStatus,
};
use stackwarden_stack::{
    blueprints, default_stack, load_files, Blueprints, LoadEnv, Stack, DEFAULT_STACK_NAME,
    DEFAULT_STACK_YAML,
};
use stackwarden_store::{ActionRecord, ActionSource, Store};

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
pub fn load(files: &[PathBuf], env: &LoadEnv) -> Result<(Stack, Blueprints), u8> {
    let (stack, texts, env) = if files.is_empty() {
        let mut env = env.clone();
        env.vars
            .entry("POSTGRES_PASSWORD".into())
            .or_insert_with(|| "unused".into());
        let stack = default_stack().map_err(|e| invalid(&e.to_string()))?;
        (
            stack,
            vec![(
                DEFAULT_STACK_NAME.to_string(),
                DEFAULT_STACK_YAML.to_string(),
            )],
            env,
        )
    } else {
        let loaded = load_files(files, env).map_err(|e| invalid(&e.to_string()))?;
        (loaded.stack, loaded.texts, env.clone())
    };
    let prints = blueprints(&texts, &env, &stack).map_err(|e| invalid(&e.to_string()))?;
    Ok((stack, prints))
}

/// The blueprints for a fingerprint's volumes, or none when the files do
/// not load (the caller has said why already).
pub fn quiet_blueprints(files: &[PathBuf], env: &LoadEnv) -> Blueprints {
    let texts = if files.is_empty() {
        vec![(
            DEFAULT_STACK_NAME.to_string(),
            DEFAULT_STACK_YAML.to_string(),
        )]
    } else {
        match load_files(files, env) {
            Ok(loaded) => loaded.texts,
            Err(_) => return Blueprints::default(),
        }
    };
    let mut env = env.clone();
    env.vars
        .entry("POSTGRES_PASSWORD".into())
        .or_insert_with(|| "unused".into());
    stackwarden_stack::parse_texts(&texts, &env)
        .and_then(|stack| blueprints(&texts, &env, &stack))
        .unwrap_or_default()
}

fn invalid(problems: &str) -> u8 {
    let lines: Vec<String> = problems.lines().map(shown).collect();
    eprintln!(
        "stackwarden recover: the stack file is invalid; nothing was changed:\n{}",
        lines.join("\n")
    );
    EXIT_BAD_STACK
}

/// What the store remembers for the diagnosis and the fingerprint.
struct Memory {
    store: Option<Store>,
    known_names: BTreeSet<String>,
    known_volumes: BTreeSet<String>,
    ever_deployed: stackwarden_probes::EverDeployed,
    fingerprints: Vec<Fingerprint>,
}

async fn memory(config: &Config) -> Memory {
    let Ok(store) = open_store(config).await else {
        return Memory {
            store: None,
            known_names: BTreeSet::new(),
            known_volumes: BTreeSet::new(),
            ever_deployed: Default::default(),
            fingerprints: Vec::new(),
        };
    };
    let known_names = store.container_names().await.unwrap_or_default();
    let ever_deployed = store.ever_deployed().await.unwrap_or_default();
    let fingerprints: Vec<Fingerprint> = store
        .fingerprints(20)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect();
    Memory {
        store: Some(store),
        known_names,
        known_volumes: fingerprint::volumes_seen(&fingerprints),
        ever_deployed,
        fingerprints,
    }
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
    let memory = memory(config).await;
    let tools = tools::detect();
    let ctx = Context {
        stack,
        blueprints: prints,
        known_names: &memory.known_names,
        ever_deployed: &memory.ever_deployed,
        known_volumes: &memory.known_volumes,
        stack_problems: &[],
    };
    let commands = LocalCommands {
        engine_log: Config::data_dir().map(|d| d.join("podman-service.log")),
    };
    let engine = match connect(endpoints).await {
        Ok(c) => Engine::new(c).await,
        Err(attempts) => {
            let diagnosis =
                stackwarden_recover::diagnose(&ctx, EngineSeen::Unreachable(&attempts), &[]).await;
            let plan = stackwarden_recover::plan(&diagnosis, stack, prints, &tools);
            if !args.json {
                print!("{}", diagnosis_text(&diagnosis));
                print!("{}", plan_text(&plan));
            }
            let Some(step) = plan.steps.first().filter(|_| plan.blockers.is_empty()) else {
                if args.json {
                    print_json(serde_json::json!({ "diagnosis": diagnosis, "plan": plan }));
                }
                return ExitCode::from(2);
            };
            if args.dry_run {
                if args.json {
                    print_json(serde_json::json!({ "diagnosis": diagnosis, "plan": plan }));
                }
                return ExitCode::from(2);
            }
            if !args.yes && !ask("Start the engine?") {
                println!("Nothing was changed.");
                return ExitCode::from(2);
            }
            match start_engine(&commands, &step.command, endpoints, args.json).await {
                Some(engine) => engine,
                None => return ExitCode::from(2),
            }
        }
    };
    let rows = match stack_rows(&engine, stack).await {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!(
                "stackwarden recover: cannot list containers: {}",
                shown(&e.to_string())
            );
            return ExitCode::from(2);
        }
    };
    let diagnosis =
        stackwarden_recover::diagnose(&ctx, EngineSeen::Connected(&engine), &rows).await;
    let plan = stackwarden_recover::plan(&diagnosis, stack, prints, &tools);
    let password = |name: &str| std::env::var(name).ok();
    let read_now = fingerprint::take(stack, prints, Some(&engine), &password, None).await;
    let mut before = read_now.clone();
    for earlier in &memory.fingerprints {
        fingerprint::fill_from(&mut before, earlier);
    }
    if !args.json {
        print!("{}", diagnosis_text(&diagnosis));
        print!("{}", plan_text(&plan));
        print!(
            "{}",
            fingerprint_text("Data now", &before, read_now.taken_at_ms)
        );
    }
    if args.dry_run {
        if let Some(store) = &memory.store {
            save_fingerprint(store, &read_now).await;
            store.close().await;
        }
        if args.json {
            print_json(
                serde_json::json!({ "diagnosis": diagnosis, "plan": plan, "before": before }),
            );
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
    let confirmed = confirm_losses(&plan, args);
    let outcomes = if plan.is_empty() {
        Vec::new()
    } else {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let execution = stackwarden_recover::Execution {
            engine: &engine,
            stack,
            blueprints: prints,
            diagnosis: &diagnosis,
            backup_dir: Config::data_dir().map_or_else(
                || PathBuf::from("stackwarden-backups"),
                |d| d.join("backups"),
            ),
            confirmed,
            commands: &commands,
            progress: tx,
            wait_limit,
            probes: stackwarden_probes::ProbeRunner::new(),
        };
        let printer = print_progress(rx, &plan, args.json);
        let (outcomes, ()) = tokio::join!(
            async {
                let o = stackwarden_recover::execute(&plan, &execution).await;
                drop(execution);
                o
            },
            printer
        );
        outcomes
    };
    let rows = stack_rows(&engine, stack).await.unwrap_or_default();
    let runner = stackwarden_probes::ProbeRunner::new();
    let verification = stackwarden_verify::verify(stackwarden_verify::VerifyInput {
        stack,
        engine: Ok(engine.clone()),
        rows,
        runner: &runner,
        home: None,
        progress: None,
        ever_deployed: memory.ever_deployed.clone(),
    })
    .await;
    let after = fingerprint::take(stack, prints, Some(&engine), &password, None).await;
    let recovery = stackwarden_recover::conclude(
        started_ms,
        diagnosis,
        plan,
        outcomes,
        before,
        after,
        Some(verification),
    );
    if let Some(store) = &memory.store {
        record(store, &read_now, &recovery).await;
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

/// Keeps a fingerprint that read something, as the baseline of a later
/// recovery.
pub async fn save_fingerprint(store: &Store, fp: &Fingerprint) {
    if fp.items.iter().any(|i| i.value.is_some()) {
        if let Ok(body) = serde_json::to_string(fp) {
            if let Err(e) = store.save_fingerprint(fp.taken_at_ms, &body).await {
                eprintln!(
                    "stackwarden: the data fingerprint was not stored: {}",
                    shown(&e.to_string())
                );
            }
        }
    }
}

async fn record(store: &Store, read_now: &Fingerprint, recovery: &Recovery) {
    save_fingerprint(store, read_now).await;
    save_fingerprint(store, &recovery.after).await;
    let body = serde_json::to_string(recovery).unwrap_or_default();
    if let Err(e) = store
        .record_recovery(
            recovery.started_ms,
            recovery.finished_ms,
            recovery.ok,
            &body,
        )
        .await
    {
        eprintln!(
            "stackwarden recover: the recovery was not stored: {}",
            shown(&e.to_string())
        );
    }
    let action = ActionRecord {
        at_ms: recovery.finished_ms,
        source: ActionSource::Cli.as_str().to_string(),
        action: "recover".into(),
        service: None,
        ok: recovery.ok,
        result: summary_line(recovery),
    };
    if let Err(e) = store.record_action(&action).await {
        eprintln!(
            "stackwarden recover: the recovery was not noted on the timeline: {}",
            shown(&e.to_string())
        );
    }
}

/// The recovery in one line, for the timeline.
pub fn summary_line(r: &Recovery) -> String {
    let done = r
        .outcomes
        .iter()
        .filter(|o| o.status == StepStatus::Done)
        .count();
    let same = r
        .compared
        .iter()
        .filter(|c| c.verdict == Match::Same)
        .count();
    let unknown = r
        .compared
        .iter()
        .filter(|c| c.verdict == Match::Unknown)
        .count();
    let unknown = if unknown > 0 {
        format!(", {unknown} without an earlier reading to compare")
    } else {
        String::new()
    };
    let differs = r
        .compared
        .iter()
        .filter(|c| c.verdict == Match::Differs)
        .count();
    if r.ok {
        format!(
            "recovered in {}: {done} step(s), verified, {same} data value(s) unchanged{unknown}",
            seconds(u64::try_from(r.finished_ms - r.started_ms).unwrap_or(0))
        )
    } else {
        format!(
            "not recovered: {}{}",
            r.problems.first().cloned().unwrap_or_default(),
            if differs > 0 {
                format!(" ({differs} data value(s) differ)")
            } else {
                String::new()
            }
        )
    }
}

/// `850` as `0.9 s`, `65000` as `65.0 s`.
fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
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
                println!("  [{step}] done in {}: {}", seconds(ms), shown(&note));
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
        out.push_str(&format!("Recovered: {}\n", shown(&summary_line(r))));
    } else {
        out.push_str("Not recovered:\n");
        for p in &r.problems {
            out.push_str(&format!("  {}\n", shown(p)));
        }
    }
    out
}
