//! `stackwarden watch`: the runtime the desktop app hosts, in the foreground
//! with no GUI toolkit, for headless hosts and systemd user units. It logs to
//! stderr what changes (engine, health level, restarted tasks) and stops
//! cleanly on SIGINT or SIGTERM: queued records are written, exit 0.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use stackwarden_engine::Candidate;
use stackwarden_model::{redact, Config, EngineStatus};
use stackwarden_runtime::{RuntimeError, RuntimeOptions, RuntimeState};
use stackwarden_stack::StackSource;
use tokio::signal::unix::{signal, SignalKind};

/// sysexits EX_TEMPFAIL: another runtime already watches the data folder.
pub const EXIT_HELD: u8 = 75;

pub struct WatchArgs<'a> {
    pub stack_files: &'a [PathBuf],
    pub host: Option<&'a str>,
    pub config_file: Option<&'a Path>,
}

pub fn run(config: Config, endpoints: Vec<Candidate>, args: &WatchArgs<'_>) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in the journal or a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        // A closed stderr (`watch 2>&1 | head`) must not panic the watch.
        .log_internal_errors(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let Some(runtime) = crate::long_runtime("watch") else {
        return ExitCode::from(1);
    };
    let mut options = RuntimeOptions::from_config(config, endpoints, "stackwarden watch");
    if !args.stack_files.is_empty() {
        options.stack = StackSource::Files(args.stack_files.iter().map(|f| absolute(f)).collect());
    }
    options.refuse_when_held = true;
    options.sampling = true;
    runtime.block_on(watch(options))
}

async fn watch(options: RuntimeOptions) -> ExitCode {
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("stackwarden watch: cannot listen for signals: {e}");
            return ExitCode::from(1);
        }
    };
    let stack_label = options.stack.label();
    let started = match stackwarden_runtime::Runtime::start(options).await {
        Ok(rt) => rt,
        Err(e @ RuntimeError::Held(_)) => {
            eprintln!("stackwarden watch: {e}; not starting a second watcher");
            return ExitCode::from(EXIT_HELD);
        }
        Err(e) => {
            eprintln!("stackwarden watch: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        stack = %crate::table::shown(&stack_label),
        recording = started.is_recording(),
        "watching (stop with Ctrl-C or SIGTERM)"
    );
    let mut state = started.state();
    let mut said = Said::default();
    said.log(&state.borrow_and_update());
    let signal_name = loop {
        tokio::select! {
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            changed = state.changed() => {
                if changed.is_err() {
                    break "the runtime's end";
                }
                said.log(&state.borrow_and_update());
            }
        }
    };
    tracing::info!("{signal_name}: stopping, writing what is queued");
    started.stop().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

/// What was last logged, so only changes are.
#[derive(Default)]
struct Said {
    engine: Option<String>,
    headline: Option<String>,
    stack_error: Option<Option<String>>,
    problems: usize,
}

impl Said {
    fn log(&mut self, s: &RuntimeState) {
        let engine = match &s.snapshot.engine {
            EngineStatus::Connecting => "connecting".to_string(),
            EngineStatus::Connected { endpoint, .. } => format!("connected to {endpoint}"),
            EngineStatus::Unreachable { attempts, .. } => format!(
                "unreachable ({})",
                attempts
                    .iter()
                    .map(|a| format!("{}: {}", a.endpoint, a.error))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        // Endpoints and engine errors may carry credentials (tcp://user:pw@…).
        let engine = redact::text(&engine);
        if self.engine.as_ref() != Some(&engine) {
            tracing::info!("engine {}", &engine);
            self.engine = Some(engine);
        }
        if self.stack_error.as_ref() != Some(&s.health.stack_error) {
            if let Some(e) = &s.health.stack_error {
                tracing::warn!("stack file: {}", redact::text(e));
            }
            self.stack_error = Some(s.health.stack_error.clone());
        }
        if s.health.breakdown.is_some() && self.headline.as_ref() != Some(&s.health.headline) {
            tracing::info!("health: {}", redact::text(&s.health.headline));
            self.headline = Some(s.health.headline.clone());
        }
        let problems = &s.status.problems;
        let restarts: usize = problems.iter().map(|p| p.restarts as usize).sum();
        if restarts > self.problems {
            for p in problems {
                tracing::warn!(
                    "task {} {} (restarted {} times)",
                    p.task,
                    redact::text(&p.reason),
                    p.restarts
                );
            }
        }
        self.problems = restarts;
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Environment variables that choose the engine, the config or the data
/// folder: a unit started by systemd does not inherit the shell's.
pub const UNIT_ENVIRONMENT: &[&str] = &[
    "STACKWARDEN_CONFIG",
    "STACKWARDEN_DATA_DIR",
    "STACKWARDEN_HOST",
    "DOCKER_HOST",
    "CONTAINER_HOST",
];

/// The [`UNIT_ENVIRONMENT`] variables set in this process, paths made
/// absolute.
pub fn unit_environment() -> Vec<(&'static str, String)> {
    UNIT_ENVIRONMENT
        .iter()
        .filter_map(|name| {
            let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
            let value = if name.ends_with("_DIR") || name.ends_with("_CONFIG") {
                absolute(Path::new(&value)).display().to_string()
            } else {
                value
            };
            Some((*name, value))
        })
        .collect()
}

/// One `Environment=` line: the assignment quoted, `\`, `"` escaped and `%`
/// (a specifier) doubled.
fn environment_line(name: &str, value: &str) -> String {
    let value = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace(['\n', '\r'], " ");
    format!("Environment=\"{name}={value}\"\n")
}

/// A systemd user unit that runs this `watch` with the same options and the
/// same engine, config and data folder (`environment`).
pub fn systemd_unit(args: &WatchArgs<'_>, environment: &[(&str, String)]) -> String {
    let exe = std::env::current_exe()
        .ok()
        .unwrap_or_else(|| PathBuf::from("stackwarden"));
    let mut command = vec![quote(&exe.display().to_string())];
    if let Some(config) = args.config_file {
        command.push("--config".into());
        command.push(quote(&absolute(config).display().to_string()));
    }
    if let Some(host) = args.host {
        command.push("--host".into());
        command.push(quote(host));
    }
    command.push("watch".into());
    for stack in args.stack_files {
        command.push("--stack".into());
        command.push(quote(&absolute(stack).display().to_string()));
    }
    format!(
        "# ~/.config/systemd/user/stackwarden-watch.service\n\
         # systemctl --user daemon-reload && systemctl --user enable --now stackwarden-watch\n\
         [Unit]\n\
         Description=Stackwarden: keeps watch over the local AI container stack\n\
         After=podman.socket\n\
         \n\
         [Service]\n\
         {}ExecStart={}\n\
         # Exit 75 (another Stackwarden records into this data folder, say\n\
         # the desktop app) is retried too: this takes over when it quits.\n\
         Restart=on-failure\n\
         RestartSec=30\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        environment
            .iter()
            .map(|(name, value)| environment_line(name, value))
            .collect::<String>(),
        command.join(" ")
    )
}

/// One word of a systemd command line: quoted when it needs it, `%`
/// (a specifier) doubled, `\` and `"` escaped.
fn quote(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    if escaped.is_empty()
        || escaped
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '\'' | ';' | '"'))
    {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_words_are_quoted_for_systemd() {
        assert_eq!(quote("/usr/bin/stackwarden"), "/usr/bin/stackwarden");
        assert_eq!(quote("/home/a b/c.yaml"), "\"/home/a b/c.yaml\"");
        assert_eq!(quote("100%"), "100%%");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        let unit = systemd_unit(
            &WatchArgs {
                stack_files: &[PathBuf::from("/srv/my stack/compose.yaml")],
                host: Some("unix:///run/user/1000/podman/podman.sock"),
                config_file: None,
            },
            &[
                ("STACKWARDEN_DATA_DIR", "/srv/sw data/50%".to_string()),
                ("DOCKER_HOST", "unix:///run/a\"b.sock".to_string()),
            ],
        );
        assert!(
            unit.contains("[Service]\nEnvironment=\"STACKWARDEN_DATA_DIR=/srv/sw data/50%%\"\nEnvironment=\"DOCKER_HOST=unix:///run/a\\\"b.sock\"\nExecStart="),
            "{unit}"
        );
        assert!(unit.contains(
            "--host unix:///run/user/1000/podman/podman.sock watch --stack \"/srv/my stack/compose.yaml\""
        ), "{unit}");
        assert!(unit.contains("[Install]\nWantedBy=default.target"));
    }
}
