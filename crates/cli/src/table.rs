//! The plain-text service table `stackwarden status` prints.

use stackwarden_model::format::{human_bytes, human_duration_ms};
use stackwarden_model::{EngineStatus, StackSnapshot};

const HEADERS: [&str; 10] = [
    "NAME",
    "PROJECT",
    "IMAGE",
    "STATE",
    "HEALTH",
    "CPU %",
    "MEM / LIMIT",
    "UPTIME",
    "RESTARTS",
    "PORTS",
];

pub fn render(snapshot: &StackSnapshot) -> String {
    let mut out = String::new();
    if let EngineStatus::Unreachable { attempts, hint, .. } = &snapshot.engine {
        out.push_str("Container engine unreachable. Tried:\n");
        for a in attempts {
            out.push_str(&format!("  {} ({}): {}\n", a.endpoint, a.source, a.error));
        }
        out.push_str(&format!("{hint}\n"));
        return out;
    }
    let now = snapshot.updated_at_ms;
    let rows: Vec<[String; 10]> = snapshot
        .services
        .iter()
        .map(|s| {
            let (cpu, mem) = match &s.usage {
                Some(u) => (
                    format!("{:.1}", u.cpu_percent),
                    format!(
                        "{} / {}",
                        human_bytes(u.memory_used_bytes),
                        human_bytes(u.memory_limit_bytes)
                    ),
                ),
                None => ("-".into(), "-".into()),
            };
            let state = match (s.state.as_str(), s.exit_code) {
                (st, Some(code)) if !s.is_running() => format!("{st} ({code})"),
                (st, _) => st.to_string(),
            };
            [
                s.name.clone(),
                s.project.clone().unwrap_or_else(|| "-".into()),
                s.image.clone(),
                state,
                s.health.as_str().to_string(),
                cpu,
                mem,
                s.started_at_ms
                    .map(|t| human_duration_ms(now - t))
                    .unwrap_or_else(|| "-".into()),
                s.restart_count.to_string(),
                s.ports
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    out.push_str(&line(&HEADERS.map(String::from)));
    for row in &rows {
        out.push_str(&line(row));
    }
    out.push_str(&format!("\n{}\n", snapshot.summary.headline));
    out
}
