//! `stackwarden timeline`: the incidents and each service's status changes
//! the app recorded, as text or JSON, read from the store.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use stackwarden_model::clock::now_ms;
use stackwarden_model::format::human_duration_ms;
use stackwarden_model::Config;
use stackwarden_store::{Gap, StoredAction, StoredIncident, DATABASE_FILE};

use crate::stack_input::print_json;
use crate::table::shown;

pub struct TimelineArgs<'a> {
    pub since: &'a str,
    pub service: Option<&'a str>,
    pub json: bool,
}

/// Exit 0 with the timeline; 1 when nothing was ever recorded; 64 for a
/// `--since` that is not a duration.
pub fn run(config: &Config, args: &TimelineArgs<'_>) -> ExitCode {
    let since = match stackwarden_stack::parse_span(args.since) {
        Ok(d) => d,
        Err(reason) => {
            eprintln!(
                "stackwarden timeline: --since {}: {reason}",
                shown(args.since)
            );
            return ExitCode::from(crate::EXIT_USAGE);
        }
    };
    let recorded = Config::data_dir().is_some_and(|d| d.join(DATABASE_FILE).is_file());
    if !recorded {
        eprintln!(
            "stackwarden timeline: nothing recorded yet: the desktop app or `stackwarden watch` records the timeline"
        );
        return ExitCode::from(1);
    }
    let Some(runtime) = crate::runtime() else {
        return ExitCode::from(1);
    };
    let since_ms = now_ms() - i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    let read = runtime.block_on(async {
        let store = crate::store::open_store(config).await?;
        let incidents = store.incidents_since(since_ms).await?;
        let changes = store.transitions_since(since_ms).await?;
        let gaps = store.gaps_since(since_ms).await?;
        let bursts = stackwarden_runtime::telemetry::bursts_since(&store, since_ms).await?;
        let mut actions = store.actions_since(since_ms).await?;
        // Those taken during an incident that began before the span.
        for i in &incidents {
            if i.incident.opened_at_ms < since_ms {
                for a in store.incident_actions(i.id).await? {
                    if a.action.at_ms < since_ms {
                        actions.push(a);
                    }
                }
            }
        }
        store.close().await;
        Ok::<_, crate::stack_input::CliError>((incidents, changes, gaps, actions, bursts))
    });
    let (mut incidents, mut changes, gaps, mut actions, bursts) = match read {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stackwarden timeline: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(service) = args.service {
        incidents.retain(|i| i.incident.affected.iter().any(|a| a.service == service));
        changes.retain(|c| c.change.service == service);
        actions.retain(|a| a.action.service.as_deref().is_none_or(|s| s == service));
    }
    actions.sort_by_key(|a| (a.action.at_ms, a.id));
    // Open incidents first, then the newest.
    incidents.sort_by_key(|i| {
        (
            !i.incident.is_open(),
            std::cmp::Reverse(i.incident.opened_at_ms),
        )
    });
    let now = now_ms();
    if args.json {
        print_json(json!({
            "since_ms": since_ms,
            "incidents": incidents.iter().map(|i| incident_json(i, &actions, now)).collect::<Vec<_>>(),
            "changes": changes,
            "gaps": gaps
                .iter()
                .map(|g| json!({"from_ms": g.from_ms, "to_ms": g.to_ms, "reason": g.reason}))
                .collect::<Vec<_>>(),
            "actions": actions.iter().map(action_json).collect::<Vec<_>>(),
            "telemetry_bursts": bursts,
        }));
    } else {
        print!(
            "{}",
            render(&incidents, &changes, &gaps, &actions, since, now)
        );
        if !bursts.is_empty() {
            println!("\nTelemetry error bursts ({})", bursts.len());
            for b in &bursts {
                println!(
                    "  {} for {}: {} ({} of {} events failed, peak {:.0}%)",
                    clock(b.from_ms),
                    human_duration_ms(b.to_ms - b.from_ms),
                    shown(&b.file),
                    b.errors,
                    b.events,
                    b.peak_rate * 100.0
                );
            }
        }
    }
    ExitCode::SUCCESS
}

fn action_json(stored: &StoredAction) -> serde_json::Value {
    let a = &stored.action;
    json!({
        "at_ms": a.at_ms,
        "source": a.source,
        "action": a.action,
        "service": a.service,
        "ok": a.ok,
        "result": a.result,
        "incident_id": stored.incident_id,
    })
}

fn incident_json(stored: &StoredIncident, actions: &[StoredAction], now: i64) -> serde_json::Value {
    let i = &stored.incident;
    json!({
        "id": stored.id,
        "open": i.is_open(),
        "opened_at_ms": i.opened_at_ms,
        "closed_at_ms": i.closed_at_ms,
        "duration_ms": i.duration_ms(now),
        "cause": i.cause,
        "affected": i.affected,
        "engine_lost_at_ms": i.engine_lost_at_ms,
        "engine_back_at_ms": i.engine_back_at_ms,
        "from_engine_events": i.from_engine_events,
        "actions": actions
            .iter()
            .filter(|a| a.incident_id == Some(stored.id))
            .map(action_json)
            .collect::<Vec<_>>(),
    })
}

pub(crate) fn clock(ms: i64) -> String {
    stackwarden_report::when(ms)
}

fn render(
    incidents: &[StoredIncident],
    changes: &[stackwarden_health::RecordedTransition],
    gaps: &[Gap],
    actions: &[StoredAction],
    since: Duration,
    now: i64,
) -> String {
    let mut out = format!(
        "Incidents in the last {} ({})\n",
        human_duration_ms(i64::try_from(since.as_millis()).unwrap_or(i64::MAX)),
        incidents.len()
    );
    for stored in incidents {
        let i = &stored.incident;
        let state = if i.is_open() { "OPEN  " } else { "closed" };
        let seen = if i.from_engine_events {
            "  (while Stackwarden was not running)"
        } else {
            ""
        };
        out.push_str(&format!(
            "  #{:<4} {state} {}  {:>8}  {}{seen}\n",
            stored.id,
            clock(i.opened_at_ms),
            human_duration_ms(i.duration_ms(now)),
            shown(&i.cause.summary)
        ));
        for a in &i.affected {
            let after = a
                .after
                .as_deref()
                .map(|t| format!(" ({})", shown(t)))
                .unwrap_or_default();
            let back = a
                .recovered_at_ms
                .map(|t| format!(", healthy after {}", human_duration_ms(t - a.failed_at_ms)))
                .unwrap_or_default();
            out.push_str(&format!(
                "         {} {} at {}{after}{back}\n",
                shown(&a.service),
                a.worst.word(),
                clock(a.failed_at_ms)
            ));
        }
        for a in actions.iter().filter(|a| a.incident_id == Some(stored.id)) {
            out.push_str(&format!("         {}\n", action_line(a)));
        }
    }
    if !gaps.is_empty() {
        out.push_str(&format!("\nGaps: nothing was seen ({})\n", gaps.len()));
        for g in gaps {
            out.push_str(&format!(
                "  {} to {}  {}\n",
                clock(g.from_ms),
                clock(g.to_ms),
                shown(&g.reason)
            ));
        }
    }
    if !actions.is_empty() {
        out.push_str(&format!("\nActions ({})\n", actions.len()));
        for a in actions {
            out.push_str(&format!(
                "  {}  {}\n",
                clock(a.action.at_ms),
                action_line(a)
            ));
        }
    }
    out.push_str(&format!("\nStatus changes ({})\n", changes.len()));
    for c in changes {
        let from = c.change.from.map_or("first seen", |f| f.word());
        out.push_str(&format!(
            "  {}  {:<24} {from} -> {}  {}\n",
            clock(c.at_ms),
            shown(&c.change.service),
            c.change.to.word(),
            shown(&c.change.reason)
        ));
    }
    out
}

/// "restart by window: restart sw-db: done" with a mark for how it went.
fn action_line(stored: &StoredAction) -> String {
    let a = &stored.action;
    format!(
        "{} {} by {}{}: {}",
        if a.ok { "✓" } else { "✗" },
        shown(&a.action),
        shown(&a.source),
        a.service
            .as_deref()
            .map(|s| format!(" on {}", shown(s)))
            .unwrap_or_default(),
        shown(&a.result)
    )
}
