//! Shared by the benchmark examples (`probe_round_bench`, `verify_bench`),
//! included with `#[path]`: their arguments, the engine with its rows, and
//! the median they report.

use stackwarden_engine::endpoint::{candidates, Environment};
use stackwarden_engine::{connect, Engine};
use stackwarden_model::ServiceRow;
use stackwarden_stack::{default_stack, load_file, Stack};

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// `[ROUNDS] [STACK_FILE]`: 30 rounds of the built-in stack by default.
pub fn args() -> BenchResult<(usize, Stack)> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let stack = match args.next() {
        Some(path) => load_file(path.as_ref())?,
        None => default_stack()?,
    };
    Ok((rounds, stack))
}

/// The engine found the usual way, and every container's row.
pub async fn engine_and_rows() -> BenchResult<(Engine, Vec<ServiceRow>)> {
    let conn = connect(&candidates(None, &Environment::current()))
        .await
        .map_err(|attempts| format!("no engine: {attempts:?}"))?;
    let engine = Engine::new(conn).await;
    let rows = engine.inspect_rows(&engine.list_ids().await?).await?;
    Ok((engine, rows))
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
