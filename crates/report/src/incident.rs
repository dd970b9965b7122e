//! The recovery report of one incident, the write-up the user typed by
//! hand after their stack went down: what failed and when, the likely
//! cause, the evidence kept at the moment (engine events, exit codes, log
//! lines), what was done and how it went, how long detection and recovery
//! took, the status lanes around it, and the verification run after it.
//! Built only from the store; every figure carries its time.

use stackwarden_health::{CheckStatus, VerificationRun};
use stackwarden_incidents::{Incident, Lane};
use stackwarden_recover::{Match, Recovery, StepStatus};
use stackwarden_store::{Evidence, Store, StoredAction};

use crate::chart::{LaneChart, LaneRow};
use crate::data::ReportError;
use crate::document::{write_html, write_markdown, Block, Drawing, MarkdownReport};
use crate::render::when;

/// Time shown around an incident on its chart: a quarter of its length,
/// within these bounds.
const PAD_MIN_MS: i64 = 60 * 1000;
const PAD_MAX_MS: i64 = 3600 * 1000;

/// How long after an incident a verification still speaks for it.
const VERIFIED_WITHIN_MS: i64 = 24 * 3600 * 1000;

/// Everything an incident's report is built from.
#[derive(Debug, Clone)]
pub struct IncidentReportData {
    pub generated_at_ms: i64,
    pub database: String,
    pub id: i64,
    pub incident: Incident,
    pub evidence: Vec<Evidence>,
    pub actions: Vec<StoredAction>,
    /// The span the chart shows.
    pub from_ms: i64,
    pub to_ms: i64,
    /// One per affected service, over the span.
    pub lanes: Vec<Lane>,
    /// The first verification run after it closed (after it opened, while
    /// it is open).
    pub verification: Option<VerificationRun>,
    /// The recovery wizard's runs on it, oldest first.
    pub recoveries: Vec<Recovery>,
}

impl IncidentReportData {
    pub async fn load(store: &Store, id: i64, now_ms: i64) -> Result<Self, ReportError> {
        let stored = store
            .incident(id)
            .await?
            .ok_or(ReportError::NoIncident(id))?;
        let incident = stored.incident;
        let end = incident.closed_at_ms.unwrap_or(now_ms);
        let pad = ((end - incident.opened_at_ms) / 4).clamp(PAD_MIN_MS, PAD_MAX_MS);
        let from_ms = incident.opened_at_ms - pad;
        let to_ms = (end + pad).min(now_ms.max(end));
        let services: Vec<(String, String)> = incident
            .affected
            .iter()
            .map(|a| (a.service.clone(), String::new()))
            .collect();
        let (mut lanes, _) = store.lanes(&services, from_ms, to_ms).await?;
        lanes.retain(|l| services.iter().any(|(s, _)| *s == l.service));
        let verification = store
            .verification_after(incident.closed_at_ms.unwrap_or(incident.opened_at_ms))
            .await?
            // One a day later proves nothing about this recovery.
            .filter(|run| {
                run.started_at_ms <= incident.closed_at_ms.unwrap_or(now_ms) + VERIFIED_WITHIN_MS
            });
        Ok(Self {
            generated_at_ms: now_ms,
            database: store.path().display().to_string(),
            id,
            evidence: store.evidence(id).await?,
            actions: store.incident_actions(id).await?,
            incident,
            from_ms,
            to_ms,
            lanes,
            verification,
            recoveries: store
                .incident_recoveries(id)
                .await?
                .iter()
                .filter_map(|r| serde_json::from_str(&r.body).ok())
                .collect(),
        })
    }

    fn title(&self) -> String {
        format!(
            "Stackwarden recovery report: incident #{} ({})",
            self.id,
            when(self.incident.opened_at_ms)
        )
    }

    /// When the failure began, as far as anything tells: the earliest
    /// engine event kept as evidence, else the first failure seen.
    fn began_at_ms(&self) -> i64 {
        self.evidence
            .iter()
            .filter(|e| e.kind == "event")
            .map(|e| e.at_ms)
            .chain(self.incident.affected.iter().map(|a| a.failed_at_ms))
            .chain(self.incident.engine_lost_at_ms)
            .min()
            .unwrap_or(self.incident.opened_at_ms)
            .min(self.incident.opened_at_ms)
    }
}

/// A duration to the second below an hour: detection and recovery times
/// are the report's point.
fn precise(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

fn blocks(data: &IncidentReportData) -> Vec<Block> {
    let i = &data.incident;
    let mut out = vec![Block::Para(format!(
        "Generated {} from the measurements stored in {}. Nothing here is typed in: each figure comes from a record and carries its time.",
        when(data.generated_at_ms),
        data.database
    ))];

    out.push(Block::Heading("Summary".into()));
    let began = data.began_at_ms();
    let mut summary = vec![
        format!("What failed: {}.", i.cause.summary),
        format!(
            "Affected: {}.",
            i.affected
                .iter()
                .map(|a| a.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    if i.from_engine_events {
        summary.push(
            "Seen afterwards in the container engine's events: Stackwarden was not running when it happened.".into(),
        );
    }
    summary.push(format!("Failure began: {}.", when(began)));
    summary.push(if i.opened_at_ms > began {
        format!(
            "Detected: {} (time to detect: {}).",
            when(i.opened_at_ms),
            precise(i.opened_at_ms - began)
        )
    } else {
        format!(
            "Detected: {}, as it happened (time to detect: 0 s: the watch saw the failure itself).",
            when(i.opened_at_ms)
        )
    });
    match i.closed_at_ms {
        Some(closed) => summary.push(format!(
            "Recovered: {}, every affected service healthy again (time to recover: {} after it began, {} after detection).",
            when(closed),
            precise(closed - began),
            precise(closed - i.opened_at_ms)
        )),
        None => summary.push(format!(
            "Still open at {}: {} so far.",
            when(data.generated_at_ms),
            precise(data.generated_at_ms - i.opened_at_ms)
        )),
    }
    if let Some(lost) = i.engine_lost_at_ms {
        summary.push(match i.engine_back_at_ms {
            Some(back) => format!(
                "The container engine stopped answering at {} and was back at {}.",
                when(lost),
                when(back)
            ),
            None => format!("The container engine stopped answering at {}.", when(lost)),
        });
    }
    summary.push(format!(
        "Actions taken: {}.",
        match data.actions.len() {
            0 => "none recorded".to_string(),
            n => n.to_string(),
        }
    ));
    out.push(Block::List(summary));

    out.push(Block::Heading("Timeline".into()));
    out.push(Block::Chart {
        file: "timeline.png",
        title: format!(
            "Status of the affected services, {} to {}",
            when(data.from_ms),
            when(data.to_ms)
        ),
        drawing: Drawing::Lanes(LaneChart {
            from_ms: data.from_ms,
            to_ms: data.to_ms,
            lanes: data
                .lanes
                .iter()
                .map(|l| LaneRow {
                    name: l.service.clone(),
                    segments: l
                        .segments
                        .iter()
                        .map(|s| (s.from_ms, s.to_ms, s.status))
                        .collect(),
                })
                .collect(),
            markers: data
                .actions
                .iter()
                .map(|a| (a.action.at_ms, a.action.action.clone()))
                .collect(),
        }),
    });

    out.push(Block::Heading("Affected services".into()));
    out.push(Block::Table {
        headers: vec![
            "Service",
            "Failed at",
            "Worst",
            "Why",
            "Healthy again",
            "Time to recover",
        ],
        rows: i
            .affected
            .iter()
            .map(|a| {
                vec![
                    match &a.after {
                        Some(after) => format!("{} ({after})", a.service),
                        None => a.service.clone(),
                    },
                    when(a.failed_at_ms),
                    a.worst.word().to_string(),
                    a.reason.clone(),
                    a.recovered_at_ms
                        .map(when)
                        .unwrap_or_else(|| "not yet".into()),
                    a.recovered_at_ms
                        .map(|r| precise(r - a.failed_at_ms))
                        .unwrap_or_else(|| "—".into()),
                ]
            })
            .collect(),
    });

    out.push(Block::Heading("Evidence".into()));
    let facts: Vec<&Evidence> = data.evidence.iter().filter(|e| e.kind != "logs").collect();
    if facts.is_empty() {
        out.push(Block::Para("No evidence was kept.".into()));
    } else {
        out.push(Block::Table {
            headers: vec!["Time", "Kind", "Service", "What"],
            rows: facts
                .iter()
                .map(|e| {
                    vec![
                        when(e.at_ms),
                        e.kind.clone(),
                        e.service.clone().unwrap_or_default(),
                        e.text.clone(),
                    ]
                })
                .collect(),
        });
    }
    for logs in data.evidence.iter().filter(|e| e.kind == "logs") {
        out.push(Block::Para(format!(
            "Last log lines of {} (read {}):",
            logs.service.as_deref().unwrap_or("the container"),
            when(logs.at_ms)
        )));
        out.push(Block::Code(logs.text.lines().map(str::to_string).collect()));
    }

    out.push(Block::Heading("Actions taken".into()));
    if data.actions.is_empty() {
        out.push(Block::Para(
            "No action was recorded while it was open: it recovered without one from Stackwarden's window, its command line, the healer or the wizard.".into(),
        ));
    } else {
        out.push(Block::Table {
            headers: vec!["Time", "By", "Action", "Service", "Result"],
            rows: data
                .actions
                .iter()
                .map(|s| {
                    let a = &s.action;
                    vec![
                        when(a.at_ms),
                        a.source.clone(),
                        a.action.clone(),
                        a.service.clone().unwrap_or_else(|| "the stack".into()),
                        format!("{} {}", if a.ok { "✓" } else { "✗" }, a.result),
                    ]
                })
                .collect(),
        });
    }

    for r in &data.recoveries {
        out.extend(recovery_blocks(r));
    }

    out.push(Block::Heading("Verification after it".into()));
    match &data.verification {
        Some(run) => {
            out.push(Block::Para(format!(
                "{}: {} passed, {} failed ({} required), {} skipped, in {:.0} ms. {}",
                when(run.started_at_ms),
                run.passed,
                run.failed,
                run.required_failed,
                run.skipped,
                run.duration_ms,
                if run.ok() {
                    "Every required check passed."
                } else {
                    "Required checks failed:"
                }
            )));
            let failing: Vec<String> = run
                .results
                .iter()
                .filter(|r| r.status == CheckStatus::Fail)
                .map(|r| format!("{}: {}", r.name, r.evidence))
                .collect();
            if !failing.is_empty() {
                out.push(Block::List(failing));
            }
        }
        None => out.push(Block::Para(
            "No verification ran after it: run `stackwarden verify` (or Verify now in the window) to prove the stack and its data are back.".into(),
        )),
    }
    out
}

/// A recovery wizard run: its steps with their times, the data before and
/// after, and its verdict.
fn recovery_blocks(r: &Recovery) -> Vec<Block> {
    let mut out = vec![Block::Heading(format!(
        "Recovery at {} ({})",
        when(r.started_ms),
        if r.ok {
            "recovered and verified, no data differs"
        } else {
            "not recovered"
        }
    ))];
    let mut facts = vec![format!(
        "Took {} for {} step(s).",
        precise(r.finished_ms - r.started_ms),
        r.plan.steps.len()
    )];
    facts.extend(
        r.plan
            .data_lost
            .iter()
            .map(|f| format!("Data lost before it: {} ({}).", f.title, f.evidence)),
    );
    facts.extend(r.problems.iter().map(|p| format!("Problem: {p}.")));
    out.push(Block::List(facts));
    if !r.plan.steps.is_empty() {
        out.push(Block::Table {
            headers: vec!["Step", "What", "Result", "Time", "Note"],
            rows: r
                .plan
                .steps
                .iter()
                .map(|s| {
                    let o = r.outcomes.iter().find(|o| o.step == s.id);
                    vec![
                        s.id.to_string(),
                        s.title.clone(),
                        match o.map(|o| o.status) {
                            Some(StepStatus::Done) => "✓ done".into(),
                            Some(StepStatus::Failed) => "✗ failed".into(),
                            _ => "not run".into(),
                        },
                        o.map(|o| format!("{:.1} s", o.ms as f64 / 1000.0))
                            .unwrap_or_default(),
                        o.map(|o| o.note.clone()).unwrap_or_default(),
                    ]
                })
                .collect(),
        });
    }
    if !r.compared.is_empty() {
        out.push(Block::Para(
            "The data before and after, as read from the services:".into(),
        ));
        out.push(Block::Table {
            headers: vec!["What", "Before", "After", ""],
            rows: r
                .compared
                .iter()
                .map(|c| {
                    vec![
                        c.label.clone(),
                        c.before.clone(),
                        c.after.clone(),
                        match c.verdict {
                            Match::Same => "same",
                            Match::Changed => "changed (may move)",
                            Match::Differs => "DIFFERS",
                            Match::Unknown => "no earlier reading",
                        }
                        .to_string(),
                    ]
                })
                .collect(),
        });
    }
    out
}

/// Writes the incident's report as Markdown to `path`, its chart beside it.
pub fn render_incident_markdown(
    data: &IncidentReportData,
    path: &std::path::Path,
) -> Result<MarkdownReport, ReportError> {
    write_markdown(&data.title(), blocks(data), path)
}

/// Writes the incident's report to `path`, as one HTML page (`html`) or as
/// Markdown with its chart beside it; returns the chart files written.
pub fn write_incident_report(
    data: &IncidentReportData,
    path: &std::path::Path,
    html: bool,
) -> Result<Vec<std::path::PathBuf>, ReportError> {
    crate::document::write(&data.title(), blocks(data), path, html)
}

/// The incident's report as one HTML page, its chart inline as SVG.
pub fn render_incident_html(data: &IncidentReportData) -> Result<String, ReportError> {
    write_html(&data.title(), blocks(data))
}

#[cfg(test)]
mod tests {
    use stackwarden_health::ServiceStatus;
    use stackwarden_incidents::{Affected, Cause, Segment};
    use stackwarden_store::ActionRecord;

    use super::*;

    fn data() -> IncidentReportData {
        let incident = Incident {
            key: 1,
            opened_at_ms: 1_700_000_060_000,
            closed_at_ms: Some(1_700_000_180_000),
            affected: vec![Affected {
                service: "postgres".into(),
                failed_at_ms: 1_700_000_060_000,
                worst: ServiceStatus::Down,
                status: ServiceStatus::Healthy,
                reason: "container exited (137)".into(),
                recovered_at_ms: Some(1_700_000_180_000),
                after: None,
            }],
            cause: Cause {
                service: Some("postgres".into()),
                summary: "postgres down: container exited (137)".into(),
            },
            engine_lost_at_ms: None,
            engine_back_at_ms: None,
            from_engine_events: false,
        };
        IncidentReportData {
            generated_at_ms: 1_700_000_300_000,
            database: "/data/stackwarden.sqlite3".into(),
            id: 7,
            evidence: vec![
                Evidence {
                    at_ms: 1_700_000_050_000,
                    kind: "event".into(),
                    service: Some("postgres".into()),
                    text: "die (exit code 137)".into(),
                },
                Evidence {
                    at_ms: 1_700_000_060_000,
                    kind: "logs".into(),
                    service: Some("postgres".into()),
                    text: "ready\n<script>alert(1)</script>\n```\nsee postgres://u:Pg9assw0rd@db/x"
                        .into(),
                },
            ],
            actions: vec![StoredAction {
                id: 1,
                incident_id: Some(7),
                action: ActionRecord {
                    at_ms: 1_700_000_120_000,
                    source: "window".into(),
                    action: "start".into(),
                    service: Some("postgres".into()),
                    ok: true,
                    result: "start sw-db: done".into(),
                },
            }],
            from_ms: 1_700_000_000_000,
            to_ms: 1_700_000_240_000,
            lanes: vec![Lane {
                service: "postgres".into(),
                group: String::new(),
                segments: vec![
                    Segment {
                        from_ms: 1_700_000_000_000,
                        to_ms: 1_700_000_060_000,
                        status: Some(ServiceStatus::Healthy),
                        reason: String::new(),
                    },
                    Segment {
                        from_ms: 1_700_000_060_000,
                        to_ms: 1_700_000_180_000,
                        status: Some(ServiceStatus::Down),
                        reason: String::new(),
                    },
                ],
            }],
            incident,
            verification: None,
            recoveries: vec![recovery()],
        }
    }

    /// A wizard run on the incident: one step, the rows compared.
    fn recovery() -> Recovery {
        serde_json::from_value(serde_json::json!({
            "started_ms": 1_700_000_130_000_i64, "finished_ms": 1_700_000_132_500_i64,
            "diagnosis": {"taken_at_ms": 0, "engine": {"reachable": true, "endpoint": null, "tried": [], "podman": true},
                          "findings": [], "services": [], "missing_networks": [], "missing_volumes": []},
            "plan": {"steps": [{"id": 1, "kind": "create", "service": "postgres", "title": "create and start sw-db",
                                "why": "no container", "expected_ms": 1000, "loss": null, "after": [], "target": "sw-db", "command": []}],
                     "blockers": [], "data_lost": [], "expected_ms": 1000},
            "outcomes": [{"step": 1, "status": "done", "ms": 800, "note": "sw-db created and started"}],
            "before": {"taken_at_ms": 0, "items": []}, "after": {"taken_at_ms": 0, "items": []},
            "compared": [{"key": "postgres:postgres:docs", "label": "document_embeddings rows", "before": "12,345", "after": "12,345", "verdict": "same"}],
            "verification": null, "ok": true, "problems": []
        }))
        .unwrap()
    }

    #[test]
    fn the_report_says_what_failed_how_long_and_what_was_done() {
        let data = data();
        let html = render_incident_html(&data).unwrap();
        for text in [
            "incident #7",
            "postgres down: container exited (137)",
            "time to detect: 10 s",
            "time to recover: 2 min 10 s after it began",
            "die (exit code 137)",
            "start sw-db: done",
            "No verification ran after it",
            "data-chart=\"timeline\"",
            "Recovery at",
            "recovered and verified, no data differs",
            "create and start sw-db",
            "document_embeddings rows",
            "12,345",
        ] {
            assert!(html.contains(text), "{text} in {html}");
        }
        assert!(!html.contains("<script>"), "log lines are text");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("Pg9assw0rd"), "secrets are redacted");

        let dir = tempfile::tempdir().unwrap();
        let md = render_incident_markdown(&data, &dir.path().join("incident-7.md")).unwrap();
        assert!(
            md.text.contains("](incident-7-charts/timeline.png)"),
            "{}",
            md.text
        );
        // The log's own ``` cannot close the block around it.
        assert!(md.text.contains("````text\nready\n"), "{}", md.text);
        assert!(!md.text.contains("Pg9assw0rd"));
        assert_eq!(md.charts.len(), 1);
        assert!(md.charts[0].exists());
    }
}
