//! `stackwarden verify` and `stackwarden report` as processes against the
//! real test engine, PostgreSQL and Redis: the run is stored, the report is
//! built from what was stored (numbers match), its charts are valid PNG/SVG,
//! and the HTML report renders in headless Chromium (screenshot kept in
//! tests/artifacts/).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use stackwarden_model::format::human_bytes;
use stackwarden_store::{Retention, Store};
use stackwarden_testkit::{artifacts, chromium_screenshot, png_size};

fn stacks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/stacks")
}

/// A HOME with the stack's telemetry files and its own data directory.
struct Home(tempfile::TempDir);

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("telemetry")).unwrap();
        for f in ["aidb-events.jsonl", "hybrid-events.jsonl"] {
            std::fs::write(
                dir.path().join("telemetry").join(f),
                "{\"event\":\"query\"}\n",
            )
            .unwrap();
        }
        Self(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn data(&self) -> PathBuf {
        self.path().join("data")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_stackwarden"))
            .args(args)
            .current_dir(self.path())
            .env("HOME", self.path())
            .env("STACKWARDEN_CONFIG", "/nonexistent/stackwarden-config.toml")
            .env("STACKWARDEN_DATA_DIR", self.data())
            .env("SW_TEST_PG_PASSWORD", "sw-test-pw")
            .output()
            .expect("run stackwarden")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn stack(name: &str) -> String {
    stacks().join(name).to_str().unwrap().to_string()
}

#[test]
fn verify_passes_on_the_healthy_stack_and_stores_the_run() {
    let home = Home::new();
    let out = home.run(&["verify", "--stack", &stack("healthy.yaml")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    for line in [
        "PASS Container engine reachable",
        "PASS postgres: PostgreSQL answers, 7 required tables exist, extension pg_trgm installed",
        "PASS redis: Redis answers and persists",
        "PASS Telemetry files exist and grew within 1 h",
        "PASS postgres keeps its data in volumes",
        "PASS Resource use within limits",
        "Every required check passed.",
    ] {
        assert!(stdout.contains(line), "{line} in {stdout}");
    }
    // Stored: the report can be built from it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let history = rt.block_on(async {
        let store = Store::open(&home.data(), retention()).await.unwrap();
        store.verification_history(10).await.unwrap()
    });
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].required_failed, 0);
}

#[test]
fn a_failing_required_check_exits_1_with_evidence_and_a_hint() {
    let home = Home::new();
    std::fs::remove_file(home.path().join("telemetry/hybrid-events.jsonl")).unwrap();
    let out = home.run(&[
        "verify",
        "--json",
        "--no-record",
        "--stack",
        &stack("healthy.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let failed: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["id"], "telemetry");
    assert!(failed[0]["evidence"]
        .as_str()
        .unwrap()
        .contains("hybrid-events.jsonl: missing"));
    assert!(failed[0]["hint"]
        .as_str()
        .unwrap()
        .contains("hybrid-events.jsonl is missing"));
    assert_eq!(v["required_failed"], 1);
    assert!(
        !home.data().join("stackwarden.sqlite3").exists(),
        "--no-record stores nothing"
    );
}

#[test]
fn a_checklist_entry_naming_an_unknown_service_is_rejected_at_load() {
    let home = Home::new();
    let file = home.path().join("bad.yaml");
    std::fs::write(
        &file,
        "services:\n  db:\n    image: x\nx-stackwarden:\n  verify:\n    checks:\n      - service: dbb\n        probe: { tcp: { address: \"127.0.0.1:1\" } }\n",
    )
    .unwrap();
    let out = home.run(&["verify", "--stack", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(65));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.yaml, line 7, column 18: check 1 of `verify.checks` names service `dbb`, which is not a service in this file"),
        "{stderr}"
    );
}

fn retention() -> Retention {
    Retention {
        max_age: Duration::from_secs(24 * 3600),
        max_per_container: 5000,
    }
}

#[test]
fn the_report_is_built_from_the_stored_run_with_valid_charts() {
    let home = Home::new();
    let nothing = home.run(&["report"]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(text(&nothing.stderr).contains("no verification run is stored yet"));

    let verified = home.run(&["verify", "--stack", &stack("healthy.yaml")]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stdout)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let run = rt.block_on(async {
        let store = Store::open(&home.data(), retention()).await.unwrap();
        store.last_verification().await.unwrap().unwrap()
    });

    let md = home.run(&["report", "--out", "status.md"]);
    assert_eq!(md.status.code(), Some(0), "{}", text(&md.stderr));
    let report = std::fs::read_to_string(home.path().join("status.md")).unwrap();
    for section in [
        "# Stackwarden status report: sw-test",
        "## Summary",
        "## Running services (measured ",
        "## System health breakdown (measured ",
        "## Verification (",
        "## Missing or failing",
        "## Charts",
    ] {
        assert!(report.contains(section), "{section} in {report}");
    }
    // Only the stack's containers were inspected and measured.
    let names: Vec<&str> = run.services.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains(&"sw-db-redis") && !names.iter().any(|n| n.starts_with("sw-mixed")),
        "{names:?}"
    );
    // Numbers match the stored run.
    let pg = run
        .services
        .iter()
        .find(|r| r.name == "sw-db-postgres")
        .unwrap();
    let ram = human_bytes(pg.usage.as_ref().unwrap().memory_used_bytes);
    assert!(
        report.contains(&format!(
            "| postgres (sw-db-postgres) | running | healthy | {ram} |"
        )),
        "postgres row with {ram} in {report}"
    );
    let b = run.breakdown.as_ref().unwrap();
    assert!(
        report.contains(&format!("| OVERALL | {:.0}% |", b.overall)),
        "{report}"
    );
    assert!(
        report.contains("| Core Infrastructure | 100% (2/2) | required | 3 |"),
        "{report}"
    );
    assert!(report.contains("- Last verification: "), "{report}");
    assert!(report.contains(&format!("{} passed, {} failed", run.passed, run.failed)));
    assert_eq!(
        report.matches("| ✓ pass |").count()
            + report.matches("| ✗ FAIL |").count()
            + report.matches("| – skipped |").count(),
        run.results.len()
    );
    // The optional agent was never deployed: not a problem, not scored.
    assert!(!report.contains("agent (Extras)"), "{report}");
    assert!(
        report.contains("| Extras | not deployed | optional |"),
        "{report}"
    );
    for chart in ["cpu", "memory", "response-times"] {
        let path = home.path().join(format!("status-charts/{chart}.png"));
        assert_eq!(png_size(&path), (900, 320), "{chart}");
        assert!(report.contains(&format!("](status-charts/{chart}.png)")));
    }

    let html = home.run(&["report", "--out", "status.html"]);
    assert_eq!(html.status.code(), Some(0), "{}", text(&html.stderr));
    let page = std::fs::read_to_string(home.path().join("status.html")).unwrap();
    assert_eq!(page.matches("<svg").count(), 3, "three inline charts");
    for chart in ["cpu", "memory", "response-times"] {
        let start = page.find(&format!("data-chart=\"{chart}\"")).unwrap();
        let figure = &page[start..start + page[start..].find("</figure>").unwrap()];
        assert!(figure.contains("<polyline"), "{chart} has a plotted series");
        assert!(figure.contains("</svg>"));
    }
    assert!(page.contains("sw-db-postgres"));

    // It opens in a real browser: headless Chromium renders it to a screenshot.
    chromium_screenshot(
        &home.path().join("status.html"),
        &artifacts().join("report-html.png"),
        (1280, 2600),
        home.path(),
    );
}
