//! Benchmark: one probe round over a stack (the built-in AI stack unless a
//! file is given) against whatever answers on this machine, as the app runs
//! it (all probes at once, one shared runner). Prints the round's wall time
//! next to its slowest probe and the sum of all probes (a sequential check).
//!
//!   cargo run --release -p stackwarden-probes --example probe_round_bench -- [ROUNDS] [STACK_FILE]

use std::time::Instant;

use stackwarden_probes::{probe_round, ProbeRunner};

#[path = "../../../bench/example_setup.rs"]
mod setup;

use setup::{median, BenchResult};

#[tokio::main]
async fn main() -> BenchResult<()> {
    let (rounds, stack) = setup::args()?;
    let (_engine, rows) = setup::engine_and_rows().await?;
    let runner = ProbeRunner::new();

    for _ in 0..3 {
        probe_round(&runner, &stack, &rows).await;
    }
    let mut round_ms = Vec::new();
    let mut slowest_ms = Vec::new();
    let mut sum_ms = Vec::new();
    let mut per_probe: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut last = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let runs = probe_round(&runner, &stack, &rows).await;
        round_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        slowest_ms.push(runs.iter().map(|r| r.duration_ms).fold(0.0, f64::max));
        sum_ms.push(runs.iter().map(|r| r.duration_ms).sum());
        for r in &runs {
            per_probe
                .entry(format!("{}/{}", r.service, r.outcome.probe))
                .or_default()
                .push(r.duration_ms);
        }
        last = runs;
    }
    let (round, slowest, sum) = (median(round_ms), median(slowest_ms), median(sum_ms));
    println!(
        "{} probes over {} services, {rounds} rounds, medians:\n",
        last.len(),
        stack.services.len()
    );
    println!("| probe | median [ms] | last result |");
    println!("|---|---|---|");
    for r in &last {
        let key = format!("{}/{}", r.service, r.outcome.probe);
        let why = r
            .outcome
            .error
            .clone()
            .or_else(|| {
                r.outcome
                    .conditions
                    .iter()
                    .find(|c| !c.success)
                    .map(|c| format!("{} (saw {})", c.condition, c.observed))
            })
            .unwrap_or_else(|| "pass".to_string());
        let ms = per_probe.get(&key).cloned().map(median).unwrap_or(f64::NAN);
        println!("| {key} | {ms:.2} | {why} |");
    }
    println!();
    println!("| measure | median [ms] |");
    println!("|---|---|");
    println!("| whole round (all probes at once) | {round:.2} |");
    println!("| slowest probe in the round | {slowest:.2} |");
    println!(
        "| round − slowest probe (target ≤ 20) | {:.2} |",
        round - slowest
    );
    println!("| sum of all probes (one after another) | {sum:.2} |");
    println!("ROUND_MEDIAN_MS={round:.3}");
    Ok(())
}
