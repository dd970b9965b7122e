//! Follows one file to its end into a batch and prints what was read:
//! `cargo run --release -p stackwarden-telemetry --example follow_file -- FILE`.

use stackwarden_telemetry::{Batch, FieldMapping, Follower};

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: follow_file FILE");
        std::process::exit(64);
    };
    let started = std::time::Instant::now();
    let mut follower = Follower::new(path.into(), FieldMapping::default(), None);
    let mut batch = Batch::default();
    let mut lines = 0;
    loop {
        let polled = follower.poll(64 << 20, &mut batch);
        lines += polled.lines;
        if !polled.more {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{lines} lines ({} events, {} malformed, {} minutes) in {secs:.3}s: {:.0} lines/s",
        batch.events,
        batch.malformed,
        batch.minutes.len(),
        lines as f64 / secs
    );
}
