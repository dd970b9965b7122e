//! The plain-text service table `stackwarden status` prints, and what every
//! text output of the command line shares: text from the engine, a service
//! or the stack file made safe for a terminal.

use std::borrow::Cow;

use stackwarden_model::format::{human_bytes, human_duration_ms};
use stackwarden_model::{redact, EngineStatus, StackSnapshot};

/// Text made safe to print to a terminal: control characters (C0 such as
/// ESC and BEL, DEL, C1 such as CSI) and the invisible bidi overrides that
/// reorder what is shown are written as visible `\u{1b}` escapes instead of
/// acting on the terminal; tabs and line breaks become spaces (one value, one
/// line). Printable Unicode is kept as it is.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text from the engine, a service or the stack file as the command line
/// prints it: URLs without passwords or secret parameters, terminal-safe.
pub fn shown(text: &str) -> String {
    terminal_safe(&redact::text(text)).into_owned()
}

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
            out.push_str(&format!(
                "  {} ({}): {}\n",
                shown(&a.endpoint),
                shown(&a.source),
                shown(&a.error)
            ));
        }
        out.push_str(&format!("{}\n", shown(hint)));
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
                shown(&s.name),
                s.project.as_deref().map_or_else(|| "-".into(), shown),
                shown(&s.image),
                state,
                s.health.as_str().to_string(),
                cpu,
                mem,
                s.started_at_ms
                    .map(|t| human_duration_ms(now - t))
                    .unwrap_or_else(|| "-".into()),
                s.restart_count.to_string(),
                shown(
                    &s.ports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
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
    out.push_str(&format!("\n{}\n", shown(&snapshot.summary.headline)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::testing::row;
    use stackwarden_model::{ContainerState, EndpointAttempt, HealthState};

    #[test]
    fn terminal_safe_escapes_controls_and_keeps_printable_unicode() {
        assert!(matches!(
            terminal_safe("llama-cpp ✓ Größe 日本"),
            Cow::Borrowed("llama-cpp ✓ Größe 日本")
        ));
        assert_eq!(terminal_safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(
            terminal_safe("bell\u{7} del\u{7f} csi\u{9b}"),
            "bell\\u{7} del\\u{7f} csi\\u{9b}"
        );
        assert_eq!(terminal_safe("two\nlines\tand\rcr"), "two lines and cr");
        assert_eq!(terminal_safe("abc\u{202e}fed"), "abc\\u{202e}fed");
    }

    #[test]
    fn the_table_prints_engine_text_without_raw_control_characters() {
        let mut evil = row(
            "evil\u{1b}[2J\u{1b}]0;pwned\u{7}",
            ContainerState::Running,
            HealthState::None,
        );
        evil.image = "img\u{9b}31m:latest".into();
        evil.project = Some("p\u{1b}[31m".into());
        let snapshot = StackSnapshot::new(
            EngineStatus::Connected {
                endpoint: "unix:///run/podman/podman.sock".into(),
                source: "test".into(),
            },
            vec![evil],
            None,
            0,
        );
        let text = render(&snapshot);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.contains("evil\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"),
            "{text}"
        );
        assert!(text.contains("img\\u{9b}31m:latest"), "{text}");

        let unreachable = StackSnapshot::new(
            EngineStatus::Unreachable {
                attempts: vec![EndpointAttempt {
                    endpoint: "tcp://admin:hunter2@10.0.0.5:2375".into(),
                    source: "DOCKER_HOST".into(),
                    error: "refused\u{1b}[2J".into(),
                }],
                hint: "start it".into(),
                retry_in_ms: 0,
            },
            Vec::new(),
            None,
            0,
        );
        let text = render(&unreachable);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(
            text.contains("tcp://admin:***@10.0.0.5:2375 (DOCKER_HOST): refused\\u{1b}[2J"),
            "{text}"
        );
    }
}
