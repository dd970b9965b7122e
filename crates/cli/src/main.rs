//! `stackwarden`: the command line for scripts and headless hosts. It links no
//! GUI toolkit so it starts in milliseconds; it shares the domain crates with
//! the desktop app, which it launches when given no subcommand.

mod drill;
mod health;
mod launch;
mod recover;
mod release;
mod report;
mod stack_input;
mod store;
mod table;
mod telemetry;
mod timeline;
mod verify;
mod watch;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stackwarden_engine::endpoint::{pinned_from_env, resolve, Environment, START_HINT};
use stackwarden_engine::{connect, Candidate, Engine};
use stackwarden_model::clock::now_ms;
use stackwarden_model::{Config, EngineStatus, StackSnapshot};

/// Exit code for a command line that could not be understood (sysexits EX_USAGE);
/// 0, 1 and 2 are taken by the stack's state.
const EXIT_USAGE: u8 = 64;

#[derive(Parser, Debug)]
#[command(
    name = "stackwarden",
    version,
    about = "Keeps watch over a local AI container stack."
)]
struct Cli {
    /// Use only this engine endpoint (unix:///path or tcp://host:port) instead
    /// of searching the config file, DOCKER_HOST and the usual sockets.
    /// STACKWARDEN_HOST does the same from the environment.
    #[arg(long, global = true, value_name = "ENDPOINT")]
    host: Option<String>,
    /// Config file to read instead of ~/.config/stackwarden/config.toml.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the service table. Exit code: 0 all running, 1 some not, 2 no engine.
    Status {
        /// Print the table as JSON.
        #[arg(long)]
        json: bool,
        /// Only containers of this compose project.
        #[arg(long, value_name = "NAME")]
        project: Option<String>,
        /// Print where the time went (connect, list, inspect, stats) to stderr.
        #[arg(long)]
        timing: bool,
    },
    /// Run every probe of the stack once and print the health breakdown.
    /// Exit code: 0 every required group healthy, 1 not, 2 no engine,
    /// 65 the stack file is invalid.
    Health {
        /// Print the breakdown and every probe's conditions as JSON.
        #[arg(long)]
        json: bool,
        /// Compose file of the stack; repeat to merge several, as `docker
        /// compose -f` (default: `[stack] file`/`files` in the config, else
        /// the built-in AI stack).
        #[arg(long, value_name = "FILE")]
        stack: Vec<PathBuf>,
    },
    /// Run the stack's verification checklist: engine, containers, health
    /// endpoints, tables, collections, Redis persistence, telemetry, resource
    /// limits, data in volumes. Exit code: 0 every required check passed,
    /// 1 not, 65 the stack file is invalid. The run is stored for the report.
    Verify {
        /// Print the run (every result with evidence and hint) as JSON.
        #[arg(long)]
        json: bool,
        /// Compose file of the stack; repeat to merge several (default:
        /// `[stack] file`/`files` in the config, else the built-in AI stack).
        #[arg(long, value_name = "FILE")]
        stack: Vec<PathBuf>,
        /// Do not store the run in the history.
        #[arg(long)]
        no_record: bool,
    },
    /// Keep watch in the foreground with no window: the desktop app's engine
    /// monitor, probes, recording and retention, logging changes to stderr.
    /// Stops cleanly on Ctrl-C or SIGTERM (exit 0); exit 75 when another
    /// Stackwarden already watches the same data folder.
    Watch {
        /// Compose file of the stack; repeat to merge several (default:
        /// `[stack] file`/`files` in the config, else the built-in AI stack).
        #[arg(long, value_name = "FILE")]
        stack: Vec<PathBuf>,
        /// Print a systemd user unit that runs this watch, and exit.
        #[arg(long)]
        print_systemd_unit: bool,
    },
    /// The incidents and each service's status changes recorded by the app or
    /// `stackwarden watch`, open incidents first. Exit code: 0, 1 nothing
    /// recorded yet, 64 a --since that is not a duration.
    Timeline {
        /// How far back (`90m`, `24h`, `7d`).
        #[arg(long, default_value = "24h", value_name = "DURATION")]
        since: String,
        /// Only this service's incidents and changes.
        #[arg(long, value_name = "NAME")]
        service: Option<String>,
        /// Print them as JSON (names in README).
        #[arg(long)]
        json: bool,
        /// One incident (its number from the list), with --report.
        #[arg(long, value_name = "ID", requires = "report", conflicts_with_all = ["since", "service", "json"])]
        incident: Option<i64>,
        /// Write the incident's recovery report to FILE: HTML (chart inside)
        /// when it ends in .html, else Markdown (chart as a PNG beside it).
        #[arg(long, value_name = "FILE", requires = "incident")]
        report: Option<PathBuf>,
    },
    /// The AI services' telemetry: events, errors and latencies per service
    /// and event type, error bursts, and each file's malformed-line count.
    /// Reads what was appended first unless the app or a watch records.
    /// Exit code: 0, 1 no store, 64 a --since that is not a duration, 65
    /// invalid stack.
    Telemetry {
        /// How far back (`90m`, `1h`, `7d`).
        #[arg(long, default_value = "1h", value_name = "DURATION")]
        since: String,
        /// The compose file(s) naming the telemetry files (default: the
        /// config's, else the built-in AI stack).
        #[arg(long, value_name = "FILE")]
        stack: Vec<PathBuf>,
        /// Print the aggregates as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Kill a healthy service's container on purpose and measure how the
    /// self-healer brings it back: seen failing, healer acted, running
    /// again, healthy again, next to the earlier drills. Asks first (or
    /// --yes); refused for a service whose data is not on volumes, or
    /// that has no heal policy. Exit code: 0 healthy again, 1 not (or
    /// refused), 2 no engine, 64 asked without a terminal, 65 invalid stack.
    Drill {
        /// The stack service to kill.
        #[arg(value_name = "SERVICE")]
        service: String,
        /// Compose file of the stack; repeat to merge several (default:
        /// `[stack] file`/`files` in the config, else the built-in AI stack).
        #[arg(long, value_name = "FILE")]
        stack: Vec<PathBuf>,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
        /// Print the drill and the earlier ones as JSON.
        #[arg(long)]
        json: bool,
        /// How long to wait for it to be healthy again.
        #[arg(long, default_value = "2m", value_name = "DURATION")]
        within: String,
    },
    /// Bring a broken stack back, guided: diagnose (engine, containers,
    /// images, volumes, ports, disk), show the plan in dependency order and
    /// what could be lost, ask, act with progress, verify, and compare the
    /// data's fingerprint before and after. Exit code: 0 healthy and
    /// verified with no data differing, 1 not, 2 no engine, 64 asked
    /// without a terminal, 65 invalid stack file. With --dry-run: 0 when
    /// nothing needs doing, 1 when the plan has steps or is blocked.
    Recover {
        /// Only show the diagnosis and the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Run the plan without asking. A step that can lose data still
        /// needs --accept-loss SERVICE.
        #[arg(long)]
        yes: bool,
        /// Print the diagnosis, the plan and the recovery as JSON.
        #[arg(long)]
        json: bool,
        /// Compose file of the stack; repeat to merge several (default:
        /// `[stack] file`/`files` in the config, else the built-in AI stack).
        #[arg(long, value_name = "FILE")]
        stack: Vec<PathBuf>,
        /// With --yes: accept the data loss of SERVICE's destructive step
        /// (after its backup). Repeat for several.
        #[arg(long, value_name = "SERVICE")]
        accept_loss: Vec<String>,
        /// How long each service has to become healthy.
        #[arg(long, default_value = "3m", value_name = "DURATION")]
        within: String,
    },
    /// Let the healer act again on a service it quarantined (after too many
    /// actions). The healer of the app or `stackwarden watch` picks the
    /// release up within seconds. Exit code: 0 released, 1 not quarantined.
    Release {
        /// The stack service to release.
        #[arg(value_name = "SERVICE")]
        service: String,
    },
    /// Write the status report from stored measurements only: service table,
    /// health breakdown, the last verification with evidence, charts.
    Report {
        /// md (PNG charts beside the file) or html (SVG charts inside);
        /// default: from --out's extension, else md.
        #[arg(long, value_enum)]
        format: Option<report::Format>,
        /// Where to write it (default: stackwarden-report.md or .html here).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        None => launch::desktop_app(),
        Some(Command::Status {
            json,
            project,
            timing,
        }) => {
            let config = load_config(cli.config.as_deref());
            let endpoints = endpoints_for(cli.host.as_deref(), &config);
            status(&endpoints, json, project.as_deref(), timing)
        }
        Some(Command::Health { json, stack }) => {
            let config = load_config(cli.config.as_deref());
            let endpoints = endpoints_for(cli.host.as_deref(), &config);
            let files = stack_files(stack, &config);
            health::run(&endpoints, &config, &files, json)
        }
        Some(Command::Verify {
            json,
            stack,
            no_record,
        }) => {
            let config = load_config(cli.config.as_deref());
            let endpoints = endpoints_for(cli.host.as_deref(), &config);
            let files = stack_files(stack, &config);
            verify::run(
                &endpoints,
                &config,
                verify::VerifyArgs {
                    stack_files: &files,
                    json,
                    record: !no_record,
                },
            )
        }
        Some(Command::Watch {
            stack,
            print_systemd_unit,
        }) => {
            let args = watch::WatchArgs {
                stack_files: &stack,
                host: cli.host.as_deref(),
                config_file: cli.config.as_deref(),
            };
            if print_systemd_unit {
                print!("{}", watch::systemd_unit(&args, &watch::unit_environment()));
                return ExitCode::SUCCESS;
            }
            let config = load_config(cli.config.as_deref());
            let endpoints = endpoints_for(cli.host.as_deref(), &config);
            watch::run(config, endpoints, &args)
        }
        Some(Command::Timeline {
            since,
            service,
            json,
            incident,
            report,
        }) => {
            let config = load_config(cli.config.as_deref());
            if let (Some(id), Some(out)) = (incident, report) {
                return report::run_incident(&config, id, &out);
            }
            timeline::run(
                &config,
                &timeline::TimelineArgs {
                    since: &since,
                    service: service.as_deref(),
                    json,
                },
            )
        }
        Some(Command::Telemetry { since, stack, json }) => {
            let config = load_config(cli.config.as_deref());
            let files = stack_files(stack, &config);
            telemetry::run(
                &config,
                &telemetry::TelemetryArgs {
                    since: &since,
                    stack_files: &files,
                    json,
                },
            )
        }
        Some(Command::Drill {
            service,
            stack,
            yes,
            json,
            within,
        }) => {
            let config = load_config(cli.config.as_deref());
            let endpoints = endpoints_for(cli.host.as_deref(), &config);
            let files = stack_files(stack, &config);
            drill::run(
                config,
                endpoints,
                &drill::DrillArgs {
                    service: &service,
                    stack_files: &files,
                    yes,
                    json,
                    within: &within,
                },
            )
        }
        Some(Command::Recover {
            dry_run,
            yes,
            json,
            stack,
            accept_loss,
            within,
        }) => {
            let config = load_config(cli.config.as_deref());
            let endpoints = endpoints_for(cli.host.as_deref(), &config);
            let files = stack_files(stack, &config);
            recover::run(
                &config,
                &endpoints,
                &recover::RecoverArgs {
                    stack_files: &files,
                    dry_run,
                    yes,
                    json,
                    accept_loss: &accept_loss,
                    within: &within,
                },
            )
        }
        Some(Command::Release { service }) => {
            let config = load_config(cli.config.as_deref());
            release::run(&config, &service)
        }
        Some(Command::Report { format, out }) => {
            let config = load_config(cli.config.as_deref());
            report::run(&config, format, out)
        }
    }
}

/// Only `--host` (or STACKWARDEN_HOST) when given, else the usual search.
/// The compose files given with `--stack`, else the config's.
fn stack_files(given: Vec<PathBuf>, config: &Config) -> Vec<PathBuf> {
    if given.is_empty() {
        config.stack.paths()
    } else {
        given
    }
}

fn endpoints_for(host: Option<&str>, config: &Config) -> Vec<Candidate> {
    let pinned = match host {
        Some(host) => Some(Candidate {
            endpoint: host.to_string(),
            source: "--host".into(),
        }),
        None => pinned_from_env(),
    };
    resolve(
        pinned,
        config.engine.endpoint.as_deref(),
        &Environment::current(),
    )
}

fn load_config(path: Option<&std::path::Path>) -> Config {
    let (config, problems) = match path {
        Some(p) => Config::load_lenient_from(p),
        None => Config::load_lenient(),
    };
    for e in problems {
        eprintln!(
            "stackwarden: {}; going on with default settings for that part",
            table::shown(&e.to_string())
        );
    }
    config
}

/// A single-threaded runtime: the CLI does one round of I/O and exits.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("stackwarden: cannot start the async runtime: {e}");
            None
        }
    }
}

/// The runtime of a command that runs for long (a watch, a drill): two
/// workers, so probes and recording go on while one task waits.
pub(crate) fn long_runtime(command: &str) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("stackwarden {command}: cannot start the async runtime: {e}");
            None
        }
    }
}

fn status(endpoints: &[Candidate], json: bool, project: Option<&str>, timing: bool) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::from(2);
    };
    let snapshot = runtime.block_on(read_snapshot(endpoints, timing));
    let snapshot = match project {
        Some(p) => {
            let services = snapshot
                .services
                .into_iter()
                .filter(|s| s.project.as_deref() == Some(p))
                .collect();
            StackSnapshot::new(snapshot.engine, services, None, snapshot.updated_at_ms)
        }
        None => snapshot,
    };
    if json {
        match serde_json::to_value(&snapshot) {
            Ok(value) => stack_input::print_json(value),
            Err(e) => eprintln!("stackwarden: cannot write JSON: {e}"),
        }
    } else if matches!(snapshot.engine, EngineStatus::Unreachable { .. }) {
        eprint!("{}", table::render(&snapshot));
    } else {
        print!("{}", table::render(&snapshot));
    }
    let code = snapshot.summary.level.exit_code();
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

async fn read_snapshot(endpoints: &[Candidate], timing: bool) -> StackSnapshot {
    let now = now_ms();
    let started = std::time::Instant::now();
    let engine = match connect(endpoints).await {
        Ok(c) => Engine::new(c).await,
        Err(attempts) => {
            let status = EngineStatus::Unreachable {
                attempts,
                hint: START_HINT.to_string(),
                retry_in_ms: 0,
            };
            return StackSnapshot::new(status, Vec::new(), None, now);
        }
    };
    let status = EngineStatus::Connected {
        endpoint: engine.endpoint().to_string(),
        source: engine.source().to_string(),
    };
    let connected = started.elapsed();
    match engine.full_refresh(&mut HashMap::new()).await {
        Ok((rows, t)) => {
            if timing {
                eprintln!(
                    "connect {:?}, list {:?}, inspect {:?}, stats {:?} ({}), {} containers",
                    connected,
                    t.list,
                    t.inspect,
                    t.stats,
                    if t.batch_stats {
                        "one Podman call, overlapping the list"
                    } else {
                        "one call per container"
                    },
                    rows.len()
                );
            }
            StackSnapshot::new(status, rows, None, now_ms())
        }
        Err(e) => {
            let status = EngineStatus::Unreachable {
                attempts: vec![stackwarden_model::EndpointAttempt {
                    endpoint: engine.endpoint().to_string(),
                    source: engine.source().to_string(),
                    error: e.to_string(),
                }],
                hint: START_HINT.to_string(),
                retry_in_ms: 0,
            };
            StackSnapshot::new(status, Vec::new(), None, now)
        }
    }
}
