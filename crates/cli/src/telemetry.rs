//! `stackwarden telemetry`: the telemetry aggregates (events, errors and
//! latencies per service and event type, error bursts) and each file's
//! malformed-line count, as text or JSON. When no app or watch records into
//! the data folder, it first reads what was appended since the last
//! reading, as the follower would; otherwise the one recording is current.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use stackwarden_model::clock::now_ms;
use stackwarden_model::format::human_duration_ms;
use stackwarden_model::Config;
use stackwarden_runtime::telemetry::{catch_up, files_of, path_key, report, TelemetryReport};
use stackwarden_runtime::{instance, LockError};
use stackwarden_stack::LoadEnv;
use stackwarden_telemetry::Follower;

use crate::stack_input::{load_stack, print_json, CliError};
use crate::table::shown;

pub struct TelemetryArgs<'a> {
    pub since: &'a str,
    pub stack_files: &'a [PathBuf],
    pub json: bool,
}

/// Exit 0 with the aggregates; 1 when the store cannot be read; 64 for a
/// `--since` that is not a duration; 65 for an invalid stack file.
pub fn run(config: &Config, args: &TelemetryArgs<'_>) -> ExitCode {
    let since = match stackwarden_stack::parse_span(args.since) {
        Ok(d) => d,
        Err(reason) => {
            eprintln!(
                "stackwarden telemetry: --since {}: {reason}",
                shown(args.since)
            );
            return ExitCode::from(crate::EXIT_USAGE);
        }
    };
    let env = LoadEnv::from_process().with_profiles(config.stack.profiles.clone());
    let stack = match load_stack(args.stack_files, &env, "read") {
        Ok(s) => s,
        Err(code) => return ExitCode::from(code),
    };
    let Some(dir) = Config::data_dir() else {
        eprintln!("stackwarden telemetry: {}", CliError::NoDataDir);
        return ExitCode::from(1);
    };
    let Some(runtime) = crate::runtime() else {
        return ExitCode::from(1);
    };
    let since_ms = now_ms() - i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let files = files_of(&stack.verify.telemetry, home.as_deref());
    let read = runtime.block_on(async {
        let store = crate::store::open_store(config).await?;
        let mut states = Vec::new();
        let followed_by = match instance::acquire(&dir, "stackwarden telemetry") {
            Ok(_lock) => {
                for (name, path) in &files {
                    let cursor = store.telemetry_cursor(&path_key(path)).await?;
                    let follower =
                        Follower::new(path.clone(), stack.verify.telemetry.mapping.clone(), cursor);
                    let state = match catch_up(&store, name, follower, usize::MAX, |_, _| {}).await
                    {
                        Ok(done) => crate_state(&done.state),
                        Err(e) => format!("not read: {e}"),
                    };
                    states.push((name.clone(), path_key(path), state));
                }
                None
            }
            Err(LockError::Held { holder, .. }) => Some(holder.to_string()),
            Err(e) => Some(e.to_string()),
        };
        let read = report(&store, since_ms, now_ms()).await?;
        store.close().await;
        Ok::<_, CliError>((read, states, followed_by))
    });
    let (read, states, followed_by) = match read {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stackwarden telemetry: {e}");
            return ExitCode::from(1);
        }
    };
    if args.json {
        let mut value = serde_json::to_value(&read).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "read_now".into(),
                json!(states
                    .iter()
                    .map(|(file, path, state)| json!({"file": file, "path": path, "state": state}))
                    .collect::<Vec<_>>()),
            );
            map.insert("followed_by".into(), json!(followed_by));
        }
        print_json(value);
    } else {
        print!(
            "{}",
            render(&read, &states, followed_by.as_deref(), since.as_millis())
        );
    }
    ExitCode::SUCCESS
}

fn crate_state(state: &stackwarden_telemetry::FileState) -> String {
    use stackwarden_telemetry::FileState;
    match state {
        FileState::Following => "read".to_string(),
        FileState::MissingFolder => "folder missing".to_string(),
        FileState::MissingFile => "file missing".to_string(),
        FileState::Unreadable(why) => format!("cannot be read: {why}"),
    }
}

fn rate(errors: u64, count: u64) -> String {
    if count == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", errors as f64 * 100.0 / count as f64)
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| {
        if v < 10.0 {
            format!("{v:.1}ms")
        } else {
            format!("{v:.0}ms")
        }
    })
}

fn render(
    report: &TelemetryReport,
    states: &[(String, String, String)],
    followed_by: Option<&str>,
    since_ms: u128,
) -> String {
    let mut out = format!(
        "Telemetry of the last {}\n",
        human_duration_ms(i64::try_from(since_ms).unwrap_or(i64::MAX))
    );
    match followed_by {
        Some(holder) => out.push_str(&format!("Followed by {}\n", shown(holder))),
        None => out.push_str("Read up to now by this command\n"),
    }
    out.push_str(&format!(
        "\n{:<28} {:>10} {:>8} {:>10} {:>10}  {}\n",
        "FILE", "EVENTS", "ERRORS", "MALFORMED", "ALL TIME", "STATE"
    ));
    // Files by path: two folders may hold files of one name.
    let mut listed: Vec<(&str, &str)> = states
        .iter()
        .map(|(name, path, _)| (name.as_str(), path.as_str()))
        .collect();
    for f in &report.files {
        if !listed.iter().any(|(_, p)| *p == f.path) {
            listed.push((&f.file, &f.path));
        }
    }
    let clashing = |name: &str| listed.iter().filter(|(n, _)| *n == name).count() > 1;
    let label = |name: &str, path: &str| {
        if clashing(name) {
            path.to_string()
        } else {
            name.to_string()
        }
    };
    for &(name, path) in &listed {
        let name = label(name, path);
        let name = name.as_str();
        let file = report.files.iter().find(|f| f.path == path);
        let state = states
            .iter()
            .find(|(_, p, _)| p == path)
            .map_or("", |(_, _, s)| s.as_str());
        out.push_str(&format!(
            "{:<28} {:>10} {:>8} {:>10} {:>10}  {}\n",
            shown(name),
            file.map_or(0, |f| f.events),
            file.map_or(0, |f| f.errors),
            file.map_or(0, |f| f.malformed_total),
            file.map_or(0, |f| f.events_total),
            shown(state)
        ));
    }
    if report.totals.is_empty() {
        out.push_str("\nNo events in this span.\n");
    } else {
        out.push_str(&format!(
            "\n{:<16} {:<20} {:>9} {:>7} {:>7} {:>8} {:>8} {:>8}\n",
            "SERVICE", "EVENT", "COUNT", "ERRORS", "RATE", "P50", "P95", "P99"
        ));
        for t in &report.totals {
            out.push_str(&format!(
                "{:<16} {:<20} {:>9} {:>7} {:>7} {:>8} {:>8} {:>8}\n",
                shown(if t.service.is_empty() {
                    "-"
                } else {
                    &t.service
                }),
                shown(if t.event.is_empty() { "-" } else { &t.event }),
                t.count,
                t.errors,
                rate(t.errors, t.count),
                ms(t.p50_ms),
                ms(t.p95_ms),
                ms(t.p99_ms)
            ));
        }
    }
    if !report.bursts.is_empty() {
        out.push_str("\nError bursts:\n");
        for b in &report.bursts {
            let from = crate::timeline::clock(b.from_ms);
            out.push_str(&format!(
                "  {from} for {}: {} ({} of {} events failed, peak {:.0}%)\n",
                human_duration_ms(b.to_ms - b.from_ms),
                shown(&b.file),
                b.errors,
                b.events,
                b.peak_rate * 100.0
            ));
        }
    }
    for f in report.files.iter().filter(|f| !f.bad_lines.is_empty()) {
        out.push_str(&format!(
            "\nMalformed lines of {} (newest first):\n",
            shown(&label(&f.file, &f.path))
        ));
        for b in f.bad_lines.iter().take(5) {
            out.push_str(&format!(
                "  line {}: {}: {}\n",
                b.line_no,
                shown(&b.reason),
                shown(&b.excerpt)
            ));
        }
    }
    out
}
