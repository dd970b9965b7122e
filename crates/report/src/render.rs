//! The status report's content as blocks (headings, paragraphs, tables,
//! lists, charts) built once from `ReportData`, then written as Markdown or
//! HTML by `document`.

use std::path::Path;

use stackwarden_health::{CheckStatus, VerificationRun};
use stackwarden_model::format::{human_bytes, human_duration_ms};

use crate::chart::{self, Series};
use crate::data::{ReportData, ReportError};
use crate::document::{shown, write_html, write_markdown, Block, Drawing};

/// A moment in the local time zone, as reports and the CLI show it.
pub fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn status_word(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Pass => "✓ pass",
        CheckStatus::Fail => "✗ FAIL",
        CheckStatus::Skipped => "– skipped",
    }
}

/// One row per stack service, as the user's report lists them; without a
/// breakdown (no engine), every container measured.
fn service_table(run: &VerificationRun) -> Vec<Vec<String>> {
    let row_of = |r: &stackwarden_model::ServiceRow| {
        let usage = r.usage.as_ref();
        [
            match r.exit_code {
                Some(code) if !r.is_running() => format!("{} ({code})", r.state.as_str()),
                _ => r.state.as_str().to_string(),
            },
            usage
                .map(|u| human_bytes(u.memory_used_bytes))
                .unwrap_or_else(|| "—".into()),
            usage
                .map(|u| format!("{:.1}%", u.cpu_percent))
                .unwrap_or_else(|| "—".into()),
            r.started_at_ms
                .map(|t| human_duration_ms(run.started_at_ms - t))
                .unwrap_or_else(|| "—".into()),
        ]
    };
    match &run.breakdown {
        Some(b) => b
            .services
            .iter()
            .map(|s| {
                let [state, ram, cpu, uptime] =
                    match run.services.iter().find(|r| r.name == s.container) {
                        Some(r) => row_of(r),
                        None => ["no container".into(), "—".into(), "—".into(), "—".into()],
                    };
                vec![
                    format!("{} ({})", s.service, s.container),
                    state,
                    s.status.word().to_string(),
                    ram,
                    cpu,
                    uptime,
                ]
            })
            .collect(),
        None => run
            .services
            .iter()
            .map(|r| {
                let [state, ram, cpu, uptime] = row_of(r);
                vec![
                    r.name.clone(),
                    state,
                    r.health.as_str().to_string(),
                    ram,
                    cpu,
                    uptime,
                ]
            })
            .collect(),
    }
}

fn blocks(data: &ReportData) -> Vec<Block> {
    let run = &data.run;
    let at = when(run.started_at_ms);
    let mut out = vec![Block::Para(format!(
        "Generated {} from the measurements stored in {}. Nothing here is typed in: each figure comes from a measurement and carries the time it was taken.",
        when(data.generated_at_ms),
        data.database
    ))];

    out.push(Block::Heading("Summary".into()));
    let mut summary = vec![format!(
        "Last verification: {at}: {} passed, {} failed ({} required), {} skipped, in {:.0} ms.",
        run.passed, run.failed, run.required_failed, run.skipped, run.duration_ms
    )];
    if let Some(b) = &run.breakdown {
        summary.push(format!(
            "Overall health: {:.0}% (measured {at}).",
            b.overall
        ));
    }
    summary.push(if run.ok() {
        "Every required check passed.".into()
    } else {
        "Required checks failed: see “Missing or failing”.".into()
    });
    out.push(Block::List(summary));

    out.push(Block::Heading(format!("Running services (measured {at})")));
    out.push(Block::Table {
        headers: vec![
            "Service (container)",
            "Status",
            "Health",
            "RAM",
            "CPU %",
            "Uptime",
        ],
        rows: service_table(run),
    });

    out.push(Block::Heading(format!(
        "System health breakdown (measured {at})"
    )));
    match &run.breakdown {
        Some(b) => {
            let mut rows: Vec<Vec<String>> = b
                .groups
                .iter()
                .map(|g| {
                    let absent = match g.not_deployed {
                        0 => String::new(),
                        n => format!(", {n} not deployed"),
                    };
                    vec![
                        g.group.clone(),
                        if g.total == 0 {
                            "not deployed".to_string()
                        } else {
                            format!("{:.0}% ({}/{}){absent}", g.score, g.healthy, g.total)
                        },
                        if g.required { "required" } else { "optional" }.to_string(),
                        format!("{}", g.weight),
                    ]
                })
                .collect();
            rows.push(vec![
                "OVERALL".into(),
                format!("{:.0}%", b.overall),
                String::new(),
                String::new(),
            ]);
            out.push(Block::Table {
                headers: vec!["Component", "Health score", "Group", "Weight"],
                rows,
            });
            out.push(Block::Para(format!("Formula: {}", b.formula)));
        }
        None => out.push(Block::Para(
            "No breakdown: the container engine did not answer during this run.".into(),
        )),
    }

    out.push(Block::Heading(format!("Verification ({at})")));
    out.push(Block::Table {
        headers: vec!["Check", "Result", "Took", "Evidence"],
        rows: run
            .results
            .iter()
            .map(|r| {
                vec![
                    format!("{}{}", r.name, if r.required { "" } else { " (optional)" }),
                    status_word(r.status).to_string(),
                    format!("{:.0} ms", r.duration_ms),
                    r.evidence.clone(),
                ]
            })
            .collect(),
    });

    out.push(Block::Heading("Missing or failing".into()));
    let mut problems: Vec<String> = run
        .results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .map(|r| {
            format!(
                "{}{}: {}. Fix: {}",
                r.name,
                if r.required { "" } else { " (optional)" },
                r.evidence,
                r.hint
            )
        })
        .collect();
    if let Some(b) = &run.breakdown {
        for s in b.services.iter().filter(|s| {
            !matches!(
                s.status,
                stackwarden_health::ServiceStatus::Healthy
                    | stackwarden_health::ServiceStatus::NotDeployed
            ) && !run
                .results
                .iter()
                .any(|r| r.status == CheckStatus::Fail && r.service.as_deref() == Some(&s.service))
        }) {
            problems.push(format!(
                "{} ({}): {}, {}",
                s.service,
                s.group,
                s.status.word(),
                s.reason
            ));
        }
    }
    if problems.is_empty() {
        out.push(Block::Para("Nothing is missing or failing.".into()));
    } else {
        out.push(Block::List(problems));
    }

    out.push(Block::Heading("Charts".into()));
    let span = |points: &mut dyn Iterator<Item = i64>| {
        let v: Vec<i64> = points.collect();
        match (v.iter().min(), v.iter().max()) {
            (Some(a), Some(b)) => format!("{} to {}, {} samples", when(*a), when(*b), v.len()),
            _ => "no samples".into(),
        }
    };
    let cpu: Vec<Series> = data
        .resources
        .iter()
        .map(|(name, pts)| Series {
            name: shown(name),
            points: pts.iter().map(|p| (p.at_ms, p.cpu_percent)).collect(),
        })
        .collect();
    let memory: Vec<Series> = data
        .resources
        .iter()
        .map(|(name, pts)| Series {
            name: shown(name),
            points: pts
                .iter()
                .map(|p| (p.at_ms, p.memory_used_bytes as f64 / 1e6))
                .collect(),
        })
        .collect();
    let mut response: Vec<Series> = Vec::new();
    for (service, pts) in &data.response_times {
        let mut probes: Vec<&str> = pts.iter().map(|p| p.probe.as_str()).collect();
        probes.dedup();
        probes.sort_unstable();
        probes.dedup();
        for probe in probes {
            response.push(Series {
                name: shown(&format!("{service}/{probe}")),
                points: pts
                    .iter()
                    .filter(|p| p.probe == probe)
                    .map(|p| (p.at_ms, p.duration_ms))
                    .collect(),
            });
        }
    }
    for (file, title, unit, series) in [
        ("cpu.png", "CPU per container", "CPU %", cpu),
        ("memory.png", "Memory per container", "MB", memory),
        ("response-times.png", "Probe response times", "ms", response),
    ] {
        if series.is_empty() {
            out.push(Block::Para(format!("{title}: no stored samples.")));
            continue;
        }
        let mut times = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        out.push(Block::Chart {
            file,
            title: format!("{title} ({})", span(&mut times)),
            drawing: Drawing::Lines { unit, series },
        });
    }
    if !chart::fonts_ready() {
        out.push(Block::Para(
            "Charts are drawn without labels: no DejaVu or Liberation font is installed.".into(),
        ));
    }
    out
}

pub use crate::document::MarkdownReport;

/// Writes the Markdown report to `path` and its charts beside it.
pub fn render_markdown(data: &ReportData, path: &Path) -> Result<MarkdownReport, ReportError> {
    let title = format!("Stackwarden status report: {}", data.run.stack);
    write_markdown(&title, blocks(data), path)
}

/// Writes the report to `path`, as one HTML page (`html`) or as Markdown
/// with its charts beside it; returns the chart files written.
pub fn write_status_report(
    data: &ReportData,
    path: &Path,
    html: bool,
) -> Result<Vec<std::path::PathBuf>, ReportError> {
    let title = format!("Stackwarden status report: {}", data.run.stack);
    crate::document::write(&title, blocks(data), path, html)
}

/// The report as one HTML page with the charts inline as SVG.
pub fn render_html(data: &ReportData) -> Result<String, ReportError> {
    let title = format!("Stackwarden status report: {}", data.run.stack);
    write_html(&title, blocks(data))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use stackwarden_health::{
        CheckResult, GroupScore, HealthBreakdown, ServiceHealth, ServiceStatus,
    };
    use stackwarden_model::testing::row;
    use stackwarden_model::{ContainerState, HealthState, HistoryPoint};

    use super::*;
    use crate::document::{md_link, md_text};

    const HOSTILE_EVIDENCE: &str =
        "saw <img src=x onerror=alert(1)> and <script>alert(2)</script> | [x](javascript:alert(3)) *b* `c`\nline two";
    const HOSTILE_NAME: &str = "evil\u{1b}[2J\u{7}name";

    fn data() -> ReportData {
        let mut r = row(HOSTILE_NAME, ContainerState::Running, HealthState::None);
        r.image = "<b>img</b>".into();
        let result = |id: &str, name: &str, evidence: &str| CheckResult {
            id: id.into(),
            name: name.into(),
            service: Some("api".into()),
            required: true,
            status: CheckStatus::Fail,
            duration_ms: 3.0,
            evidence: evidence.into(),
            hint: "Fix <i>it</i>".into(),
        };
        let run = VerificationRun {
            stack: "<script>stack</script>".into(),
            started_at_ms: 1_700_000_000_000,
            duration_ms: 10.0,
            results: vec![
                result(
                    "probe:api:health",
                    "api: http://user:Sup3rS3cretPw@127.0.0.1:9/health?token=T0kenXyz123 passes its conditions",
                    HOSTILE_EVIDENCE,
                ),
                result("running:api", "# 1. - not a heading", "- 2) > quote"),
            ],
            passed: 0,
            failed: 2,
            skipped: 0,
            required_failed: 2,
            services: vec![r],
            breakdown: Some(HealthBreakdown {
                services: vec![
                    ServiceHealth {
                        service: "api".into(),
                        container: HOSTILE_NAME.into(),
                        replicas: Vec::new(),
                        group: "<u>core</u>".into(),
                        status: ServiceStatus::Unhealthy,
                        reason: "all 1 probes failing".into(),
                    },
                    ServiceHealth {
                        service: "db".into(),
                        container: "sw-db".into(),
                        replicas: Vec::new(),
                        group: "<u>core</u>".into(),
                        status: ServiceStatus::Unhealthy,
                        reason: "see postgres://mcp:Pg9assw0rd@db/mcp".into(),
                    },
                ],
                groups: vec![GroupScore {
                    group: "<u>core</u>".into(),
                    required: true,
                    weight: 3.0,
                    healthy: 0,
                    total: 1,
                    not_deployed: 0,
                    score: 0.0,
                }],
                overall: 0.0,
                formula: "overall = 0".into(),
            }),
            probe_runs: Vec::new(),
        };
        let mut resources = BTreeMap::new();
        resources.insert(
            HOSTILE_NAME.to_string(),
            vec![HistoryPoint {
                at_ms: 1_700_000_000_000,
                cpu_percent: 1.0,
                memory_used_bytes: 1_000_000,
            }],
        );
        ReportData {
            generated_at_ms: 1_700_000_000_000,
            database: "/data/stackwarden.sqlite3".into(),
            run,
            resources,
            response_times: BTreeMap::new(),
        }
    }

    fn assert_clean(text: &str) {
        for bad in [
            "<img",
            "<script",
            "<b>",
            "<i>",
            "<u>",
            "Sup3rS3cretPw",
            "T0kenXyz123",
            "Pg9assw0rd",
            "\u{1b}",
            "\u{7}",
        ] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
    }

    #[test]
    fn markdown_shows_hostile_text_as_text() {
        let dir = tempfile::tempdir().unwrap();
        let report = render_markdown(&data(), &dir.path().join("r.md")).unwrap();
        let md = report.text;
        assert_clean(&md);
        // The link is text: its brackets are escaped, so no link is made.
        assert!(!md.contains("[x]("), "{md}");
        assert!(
            md.contains("saw &lt;img src=x onerror=alert(1)&gt; and &lt;script&gt;alert(2)&lt;/script&gt; \\| \\[x\\](javascript:alert(3)) \\*b\\* \\`c\\` line two"),
            "{md}"
        );
        assert!(md.contains("# Stackwarden status report: &lt;script&gt;stack&lt;/script&gt;\n"));
        assert!(
            md.contains("api: http://user:\\*\\*\\*@127.0.0.1:9/health?token=\\*\\*\\*"),
            "{md}"
        );
        // A table row stays one row with its six cells.
        let row = md
            .lines()
            .find(|l| l.contains("&lt;img"))
            .expect("the evidence row");
        assert_eq!(row.matches(" | ").count(), 3, "{row}");
        // Text that would start a heading, list or quote does not.
        assert!(md.contains("| \\# 1. - not a heading |"), "{md}");
        assert!(md.contains("| \\- 2) &gt; quote |"), "{md}");
        assert!(
            md.contains("- \\# 1. - not a heading: - 2) &gt; quote"),
            "{md}"
        );
        assert!(
            md.contains(
                "db (&lt;u&gt;core&lt;/u&gt;): unhealthy, see postgres://mcp:\\*\\*\\*@db/mcp"
            ),
            "{md}"
        );
        assert!(md.contains("evil \\[2J name"), "{md}");
        let saved = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
        assert_eq!(saved, md);
    }

    #[test]
    fn html_shows_hostile_text_as_text() {
        let html = render_html(&data()).unwrap();
        assert_clean(&html);
        assert!(
            html.contains(
                "saw &lt;img src=x onerror=alert(1)&gt; and &lt;script&gt;alert(2)&lt;/script&gt;"
            ),
            "{html}"
        );
        assert!(html.contains(
            "<title>Stackwarden status report: &lt;script&gt;stack&lt;/script&gt;</title>"
        ));
        assert!(html.contains("http://user:***@127.0.0.1:9/health?token=***"));
        assert!(html.contains("evil [2J name"), "{html}");
    }

    #[test]
    fn md_text_escapes_and_keeps_plain_text() {
        assert_eq!(
            md_text("postgres (sw-db-postgres)"),
            "postgres (sw-db-postgres)"
        );
        assert_eq!(md_text("12. done"), "12\\. done");
        assert_eq!(md_text("12.5%"), "12.5%");
        assert_eq!(md_text("61.8MB"), "61.8MB");
        assert_eq!(md_text("3) x"), "3\\) x");
        assert_eq!(md_text("-5%"), "-5%");
        assert_eq!(md_text("- item"), "\\- item");
        assert_eq!(md_text("+"), "\\+");
        assert_eq!(md_text("a_b & c"), "a\\_b &amp; c");
        assert_eq!(
            md_link("my report-charts/cpu.png"),
            "my%20report-charts/cpu.png"
        );
        assert_eq!(md_link("a)b/x.png"), "a%29b/x.png");
    }
}
