//! Benchmark: one full refresh (list, inspect, stats) of N running containers
//! in-process, and the monitor's per-tick work (stats only), side by side with
//! what a user types today: `podman ps` plus `podman stats --no-stream` for the
//! same containers, as processes. Run by `bench/run.sh`; prints one
//! Markdown table row per container count.
//!
//!     cargo run --release -p stackwarden-engine --example refresh_bench -- 10 50

use std::collections::HashMap;
use std::error::Error;
use std::process::Command;
use std::time::{Duration, Instant};

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_engine::{connect, Engine};

const RUNS: usize = 31;
const IMAGE: &str = "localhost/sw-test-busybox:latest";

fn podman(args: &[&str]) -> Result<String, Box<dyn Error>> {
    let out = Command::new("podman").args(args).output()?;
    if !out.status.success() {
        return Err(format!("podman {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn remove_bench_containers() -> Result<(), Box<dyn Error>> {
    let ids = podman(&["ps", "-aq", "--filter", "label=stackwarden.test=bench"])?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f", "-t", "0"];
        args.extend(ids);
        podman(&args)?;
    }
    Ok(())
}

fn start_containers(n: usize) -> Result<Vec<String>, Box<dyn Error>> {
    remove_bench_containers()?;
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("sw-bench-{i:02}");
        podman(&[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            "stackwarden.test=bench",
            IMAGE,
            "sleep",
            "3600",
        ])?;
        names.push(name);
    }
    Ok(names)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

async fn bench(engine: &Engine, n: usize) -> Result<(), Box<dyn Error>> {
    let names = start_containers(n)?;
    let mut prev = HashMap::new();
    // Warm up: connections, and the engine's own caches.
    for _ in 0..3 {
        engine.full_refresh(&mut prev).await?;
    }
    let mut full = Vec::new();
    let (mut list, mut inspect, mut stats) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let (r, timing) = engine.full_refresh(&mut prev).await?;
        full.push(t.elapsed());
        list.push(timing.list);
        inspect.push(timing.inspect);
        stats.push(timing.stats);
        rows = r;
    }
    let watched = rows
        .iter()
        .filter(|r| r.name.starts_with("sw-bench-"))
        .count();
    if watched != n {
        return Err(format!("expected {n} bench rows, saw {watched}").into());
    }
    // The monitor's interval tick: stats of the running rows only, no list.
    let mut tick = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        engine.sample(&mut rows, &mut prev).await?;
        tick.push(t.elapsed());
    }
    // What the user types today, as processes, for the same containers.
    let mut stats_args = vec!["stats", "--no-stream"];
    stats_args.extend(names.iter().map(String::as_str));
    let mut cli = Vec::new();
    for _ in 0..RUNS.min(15) {
        let t = Instant::now();
        podman(&["ps"])?;
        podman(&stats_args)?;
        cli.push(t.elapsed());
    }
    let (full_m, cli_m) = (median(full), median(cli));
    println!(
        "| {n} | {} | {} | {} | {} | {} | {} | {:.1}x |",
        ms(full_m),
        ms(median(list)),
        ms(median(inspect)),
        ms(median(stats)),
        ms(median(tick)),
        ms(cli_m),
        cli_m.as_secs_f64() / full_m.as_secs_f64()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let counts = if counts.is_empty() {
        vec![10, 50]
    } else {
        counts
    };
    let connection = connect(&candidates(None, &Environment::current()))
        .await
        .map_err(|attempts| format!("no engine: {attempts:?}"))?;
    let engine = Engine::new(connection).await;
    let engine = if std::env::var_os("SW_BENCH_COMPAT_STATS").is_some() {
        engine.without_batch_stats()
    } else {
        engine
    };
    println!(
        "Medians of {RUNS} runs (ms); podman CLI pair: median of 15 runs. Stats: {}.\n",
        if engine.has_batch_stats() {
            "Podman's one-call endpoint (list and stats run concurrently)"
        } else {
            "one Docker-compatible call per container"
        }
    );
    println!("| containers | full refresh (list+inspect+stats) | list | inspect | stats | monitor tick (stats only) | `podman ps` + `podman stats --no-stream` | CLI pair / full refresh |");
    println!("|---|---|---|---|---|---|---|---|");
    for n in counts {
        bench(&engine, n).await?;
    }
    if std::env::var_os("SW_BENCH_KEEP").is_none() {
        remove_bench_containers()?;
    }
    Ok(())
}
