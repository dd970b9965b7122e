//! Benchmark: one-click verification of a stack (the built-in AI stack
//! unless a file is given) as the app runs it: rows already known from the
//! monitor, every check at once. Prints per-check medians and the round's.
//!
//!   cargo run --release -p stackwarden-verify --example verify_bench -- [ROUNDS] [STACK_FILE]

use std::collections::BTreeMap;
use std::time::Instant;

use stackwarden_probes::ProbeRunner;
use stackwarden_verify::{verify, VerifyInput};

#[path = "../../../bench/example_setup.rs"]
mod setup;

use setup::{median, BenchResult};

#[tokio::main]
async fn main() -> BenchResult<()> {
    let (rounds, stack) = setup::args()?;
    let (engine, rows) = setup::engine_and_rows().await?;
    let runner = ProbeRunner::new();
    let once = || {
        verify(VerifyInput {
            stack: &stack,
            engine: Ok(engine.clone()),
            rows: rows.clone(),
            runner: &runner,
            home: None,
            progress: None,
            ever_deployed: Default::default(),
            cpu_window: stackwarden_verify::CPU_WINDOW,
        })
    };
    for _ in 0..3 {
        once().await;
    }
    let mut round_ms = Vec::new();
    let mut per_check: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let run = once().await;
        round_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        for r in &run.results {
            per_check
                .entry(r.id.clone())
                .or_default()
                .push(r.duration_ms);
        }
        last = Some(run);
    }
    let Some(last) = last else {
        return Ok(());
    };
    println!(
        "{} checks, {rounds} rounds, medians: {} passed, {} failed, {} skipped in the last round\n",
        last.results.len(),
        last.passed,
        last.failed,
        last.skipped
    );
    println!("| check | median [ms] | last result |");
    println!("|---|---|---|");
    let mut slowest = 0.0f64;
    for r in &last.results {
        let ms = per_check
            .get(&r.id)
            .cloned()
            .map(median)
            .unwrap_or(f64::NAN);
        slowest = slowest.max(ms);
        let what = if r.status == stackwarden_health::CheckStatus::Fail {
            format!("FAIL: {}", r.evidence.chars().take(90).collect::<String>())
        } else {
            r.status.word().to_string()
        };
        println!("| {} | {ms:.2} | {what} |", r.id);
    }
    let round = median(round_ms);
    println!("\n| measure | median [ms] |\n|---|---|");
    println!("| whole verification round (all checks at once) | {round:.2} |");
    println!("| slowest check (median) | {slowest:.2} |");
    println!("VERIFY_MEDIAN_MS={round:.3}");
    println!("VERIFY_CHECKS={}", last.results.len());
    Ok(())
}
