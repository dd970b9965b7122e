//! The checks that are not probes: telemetry files, resource use and data in
//! volumes. Each returns its status, evidence and hint.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use stackwarden_model::format::{human_bytes, human_duration_ms};
use stackwarden_model::ServiceRow;
use stackwarden_stack::{LimitSpec, TelemetrySpec};

use stackwarden_health::CheckStatus;

pub struct Verdict {
    pub status: CheckStatus,
    pub evidence: String,
    pub hint: String,
}

impl Verdict {
    pub fn pass(evidence: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Pass,
            evidence: evidence.into(),
            hint: String::new(),
        }
    }

    pub fn fail(evidence: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Fail,
            evidence: evidence.into(),
            hint: hint.into(),
        }
    }

    pub fn skipped(evidence: impl Into<String>) -> Self {
        Self {
            status: CheckStatus::Skipped,
            evidence: evidence.into(),
            hint: String::new(),
        }
    }
}

/// `~/x` under `home`.
pub fn expand_home(dir: &str, home: Option<&Path>) -> PathBuf {
    match (dir.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(dir),
    }
}

pub fn telemetry(spec: &TelemetrySpec, home: Option<&Path>, now: SystemTime) -> Verdict {
    let dir = expand_home(&spec.dir, home);
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    for name in &spec.files {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Err(e) => {
                seen.push(format!("{name}: missing ({e})"));
                problems.push(format!("{name} is missing"));
            }
            Ok(meta) => {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or(Duration::ZERO);
                let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                let recent = match recent_lines(&path, &spec.mapping) {
                    Ok(r) if r.events + r.malformed > 0 => {
                        // Junk only (not JSON objects): the writer is broken.
                        // Objects without a usable timestamp are still events
                        // a service wrote; `fields:` can name their time.
                        if r.events == 0 && r.untimed == 0 {
                            problems.push(format!(
                                "{name}'s last {} lines are all malformed (line {} of its last 256 KiB: {})",
                                r.malformed, r.example_line, r.example_reason
                            ));
                        }
                        let untimed = if r.untimed > 0 {
                            format!(
                                " ({} without a usable timestamp: name it in `fields:`)",
                                r.untimed
                            )
                        } else {
                            String::new()
                        };
                        format!(
                            ", its last {} lines: {} events, {} malformed{untimed}",
                            r.events + r.malformed,
                            r.events,
                            r.malformed
                        )
                    }
                    Ok(_) => String::new(),
                    Err(e) => format!(", its lines unreadable ({e})"),
                };
                seen.push(format!(
                    "{name}: {}, written {} ago{recent}",
                    human_bytes(meta.len()),
                    human_duration_ms(age_ms)
                ));
                if meta.len() == 0 {
                    problems.push(format!("{name} is empty"));
                } else if age > spec.fresh_within {
                    problems.push(format!(
                        "{name} has not grown for {}",
                        human_duration_ms(age_ms)
                    ));
                }
            }
        }
    }
    let evidence = format!("in {}: {}", dir.display(), seen.join("; "));
    if problems.is_empty() {
        Verdict::pass(evidence)
    } else {
        Verdict::fail(
            evidence,
            format!(
                "{}. Check that the services writing telemetry run and write to {} (their volume or bind mount).",
                problems.join(", "),
                dir.display()
            ),
        )
    }
}

/// Bytes read from a telemetry file's end to judge its newest lines.
const TAIL_BYTES: u64 = 256 * 1024;

/// How the newest lines of a telemetry file read.
#[derive(Default)]
struct RecentLines {
    events: u64,
    malformed: u64,
    /// Of the malformed: JSON objects without a timestamp field it knows.
    untimed: u64,
    /// The newest malformed line's number from the tail's start, and why.
    example_line: u64,
    example_reason: String,
}

impl stackwarden_telemetry::Sink for RecentLines {
    fn event(&mut self, _line_no: u64, _event: stackwarden_telemetry::Event) {
        self.events += 1;
    }

    fn malformed(&mut self, line_no: u64, reason: stackwarden_telemetry::Malformed, _: &[u8]) {
        self.malformed += 1;
        // A time that reads wrong (a broken clock) is a broken writer.
        if matches!(reason, stackwarden_telemetry::Malformed::NoTimestamp(_)) {
            self.untimed += 1;
        }
        self.example_line = line_no;
        self.example_reason = stackwarden_telemetry::safe_text(reason.to_string().as_bytes());
    }
}

/// Reads the complete lines of the last [`TAIL_BYTES`] of `path` with the
/// follower itself: whether the service still writes events, not junk.
fn recent_lines(
    path: &Path,
    mapping: &stackwarden_telemetry::FieldMapping,
) -> std::io::Result<RecentLines> {
    let mut follower = stackwarden_telemetry::Follower::from_tail(
        path.to_path_buf(),
        mapping.clone(),
        TAIL_BYTES,
    )?;
    let mut out = RecentLines::default();
    follower.poll(TAIL_BYTES, &mut out);
    Ok(out)
}

/// Share of its memory limit at which a container counts as at the limit.
const AT_LIMIT: f64 = 0.95;

/// What a container's CPU figure is, so the evidence can say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuBasis {
    /// The caller's live sampling (the app's monitor): a rate between its
    /// samples, the newest this old when the check ran.
    Live { age_ms: i64 },
    /// Two samples this far apart: the current rate.
    Window { ms: i64 },
    /// One sample only: the average since the container started.
    SinceStart,
}

impl CpuBasis {
    fn describe(self) -> String {
        match self {
            Self::Live { age_ms } => {
                format!("live, sampled {} ago", human_duration_ms(age_ms.max(0)))
            }
            Self::Window { ms } => format!("over {:.1} s", ms as f64 / 1000.0),
            Self::SinceStart => "average since the container started".into(),
        }
    }
}

/// One running stack container and its resource use.
pub struct Measurement {
    pub service: String,
    pub row: ServiceRow,
    pub cpu: CpuBasis,
}

/// `measured`: the stack's running containers; `limits` by service.
pub fn resources(measured: &[Measurement], limits: &[(String, LimitSpec)]) -> Verdict {
    let mut seen = Vec::new();
    let mut over = Vec::new();
    for Measurement { service, row, cpu } in measured {
        let Some(u) = &row.usage else { continue };
        let limit = limits.iter().find(|(s, _)| s == service).map(|(_, l)| l);
        let mem_limit = limit
            .and_then(|l| l.memory_bytes)
            .unwrap_or(u.memory_limit_bytes);
        let share = if mem_limit > 0 {
            u.memory_used_bytes as f64 / mem_limit as f64
        } else {
            0.0
        };
        seen.push(format!(
            "{service} {} of {} ({:.0}%), CPU {:.1}% ({})",
            human_bytes(u.memory_used_bytes),
            human_bytes(mem_limit),
            share * 100.0,
            u.cpu_percent,
            cpu.describe()
        ));
        let configured = limit.and_then(|l| l.memory_bytes).is_some();
        if (configured && share > 1.0) || (!configured && share >= AT_LIMIT) {
            over.push(format!(
                "{service} uses {} of its {} memory limit",
                human_bytes(u.memory_used_bytes),
                human_bytes(mem_limit)
            ));
        }
        if let Some(cpu_limit) = limit.and_then(|l| l.cpu_percent) {
            if u.cpu_percent > cpu_limit {
                over.push(format!(
                    "{service} uses {:.1}% CPU ({}), over its {cpu_limit}% limit",
                    u.cpu_percent,
                    cpu.describe()
                ));
            }
        }
    }
    if seen.is_empty() {
        return Verdict::skipped("no running stack container to measure");
    }
    let evidence = seen.join("; ");
    if over.is_empty() {
        Verdict::pass(evidence)
    } else {
        Verdict::fail(
            format!("{}. Measured: {evidence}", over.join("; ")),
            "Raise the limit in the stack file (x-stackwarden.verify.limits) or the container's, or find what grows (its log, its load).",
        )
    }
}

pub fn data_in_volumes(row: &ServiceRow, targets: &[String]) -> Verdict {
    let kept: Vec<String> = row
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" || m.kind == "bind")
        .map(|m| format!("{} {} → {}", m.kind, m.source, m.destination))
        .collect();
    let missing: Vec<&String> = targets
        .iter()
        .filter(|t| {
            !row.mounts
                .iter()
                .any(|m| (m.kind == "volume" || m.kind == "bind") && m.destination == t.as_str())
        })
        .collect();
    if kept.is_empty() {
        return Verdict::fail(
            format!("{} has no volume or bind mount: its data lives in the container and is lost when the container is removed", row.name),
            "Before removing or recreating it, mount a named volume at its data path (see `volumes:` in the stack file) and copy the data there.",
        );
    }
    if !missing.is_empty() {
        let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        return Verdict::fail(
            format!(
                "nothing mounted at {} (the stack file's volumes); mounted: {}",
                missing.join(", "),
                kept.join("; ")
            ),
            format!("Recreate {} with the stack file's volumes; data written at {} now would be lost with the container.", row.name, missing.join(", ")),
        );
    }
    Verdict::pass(kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_model::testing::row;
    use stackwarden_model::{ContainerState, HealthState, MountInfo, ResourceUsage};

    #[test]
    fn telemetry_files_must_exist_be_non_empty_and_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let event = |at: SystemTime| {
            let s = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
            format!("{{\"ts\":{s},\"event\":\"call\"}}\n")
        };
        std::fs::write(dir.path().join("a.jsonl"), event(SystemTime::now())).unwrap();
        std::fs::write(dir.path().join("empty.jsonl"), "").unwrap();
        let spec = |files: &[&str]| TelemetrySpec {
            dir: "~/t".into(),
            files: files.iter().map(ToString::to_string).collect(),
            fresh_within: Duration::from_secs(60),
            required: true,
            configured: true,
            mapping: Default::default(),
            alerts: Vec::new(),
        };
        std::fs::create_dir(dir.path().join("t")).unwrap();
        std::fs::rename(dir.path().join("a.jsonl"), dir.path().join("t/a.jsonl")).unwrap();
        std::fs::rename(
            dir.path().join("empty.jsonl"),
            dir.path().join("t/empty.jsonl"),
        )
        .unwrap();
        let home = Some(dir.path());
        let now = SystemTime::now();
        let ok = telemetry(&spec(&["a.jsonl"]), home, now);
        assert_eq!(ok.status, CheckStatus::Pass, "{}", ok.evidence);
        assert!(
            ok.evidence.contains("a.jsonl: 33B, written")
                && ok
                    .evidence
                    .contains("its last 1 lines: 1 events, 0 malformed"),
            "{}",
            ok.evidence
        );
        // A writer gone bad: only junk at the end of the file.
        std::fs::write(
            dir.path().join("t/a.jsonl"),
            format!("{}not json\n{{\"event\":1}}\n", event(now)) + &"junk\n".repeat(3),
        )
        .unwrap();
        let mixed = telemetry(&spec(&["a.jsonl"]), home, now);
        assert_eq!(mixed.status, CheckStatus::Pass, "{}", mixed.evidence);
        assert!(
            mixed
                .evidence
                .contains("1 events, 5 malformed (1 without a usable timestamp"),
            "{}",
            mixed.evidence
        );
        // Events without a timestamp the follower knows: still written.
        std::fs::write(dir.path().join("t/a.jsonl"), "{\"event\":\"query\"}\n").unwrap();
        let untimed = telemetry(&spec(&["a.jsonl"]), home, now);
        assert_eq!(untimed.status, CheckStatus::Pass, "{}", untimed.evidence);
        std::fs::write(dir.path().join("t/a.jsonl"), "junk\n".repeat(3)).unwrap();
        let junk = telemetry(&spec(&["a.jsonl"]), home, now);
        assert_eq!(junk.status, CheckStatus::Fail);
        assert!(
            junk.hint.starts_with(
                "a.jsonl's last 3 lines are all malformed (line 3 of its last 256 KiB: not JSON"
            ),
            "{}",
            junk.hint
        );
        std::fs::write(dir.path().join("t/a.jsonl"), event(now)).unwrap();
        let bad = telemetry(&spec(&["a.jsonl", "empty.jsonl", "gone.jsonl"]), home, now);
        assert_eq!(bad.status, CheckStatus::Fail);
        assert!(
            bad.hint
                .starts_with("empty.jsonl is empty, gone.jsonl is missing"),
            "{}",
            bad.hint
        );
        let stale = telemetry(&spec(&["a.jsonl"]), home, now + Duration::from_secs(3600));
        assert!(
            stale.hint.contains("a.jsonl has not grown for 59m")
                || stale.hint.contains("a.jsonl has not grown for 1h0m"),
            "{}",
            stale.hint
        );
    }

    fn with_usage(used: u64, limit: u64, cpu: f64) -> ServiceRow {
        let mut r = row("c", ContainerState::Running, HealthState::None);
        r.usage = Some(ResourceUsage {
            cpu_percent: cpu,
            memory_used_bytes: used,
            memory_limit_bytes: limit,
            sampled_at_ms: 0,
        });
        r
    }

    fn measured(service: &str, row: ServiceRow, cpu: CpuBasis) -> Measurement {
        Measurement {
            service: service.into(),
            row,
            cpu,
        }
    }

    #[test]
    fn resources_against_limits() {
        let gb = 1_000_000_000;
        let window = CpuBasis::Window { ms: 1000 };
        let rows = vec![measured("llama", with_usage(3 * gb, 16 * gb, 1.8), window)];
        let ok = resources(&rows, &[]);
        assert_eq!(ok.status, CheckStatus::Pass);
        assert_eq!(
            ok.evidence,
            "llama 3.0GB of 16.0GB (19%), CPU 1.8% (over 1.0 s)"
        );
        let limits = vec![(
            "llama".to_string(),
            LimitSpec {
                memory_bytes: Some(2 * gb),
                cpu_percent: Some(1.0),
            },
        )];
        let v = resources(&rows, &limits);
        assert_eq!(v.status, CheckStatus::Fail);
        assert!(v.evidence.starts_with("llama uses 3.0GB of its 2.0GB memory limit; llama uses 1.8% CPU (over 1.0 s), over its 1% limit"), "{}", v.evidence);
        let at_cgroup_limit = vec![measured("db", with_usage(99, 100, 0.0), window)];
        assert_eq!(resources(&at_cgroup_limit, &[]).status, CheckStatus::Fail);
        assert_eq!(resources(&[], &[]).status, CheckStatus::Skipped);
    }

    #[test]
    fn evidence_says_how_cpu_was_measured() {
        let gb = 1_000_000_000;
        let live = resources(
            &[measured(
                "a",
                with_usage(gb, 2 * gb, 12.34),
                CpuBasis::Live { age_ms: 2000 },
            )],
            &[],
        );
        assert!(
            live.evidence.ends_with("CPU 12.3% (live, sampled 2s ago)"),
            "{}",
            live.evidence
        );
        let once = resources(
            &[measured(
                "a",
                with_usage(gb, 2 * gb, 7.0),
                CpuBasis::SinceStart,
            )],
            &[],
        );
        assert!(
            once.evidence
                .ends_with("CPU 7.0% (average since the container started)"),
            "{}",
            once.evidence
        );
    }

    #[test]
    fn data_must_sit_in_the_declared_volumes() {
        let mut r = row("pg", ContainerState::Running, HealthState::None);
        assert_eq!(data_in_volumes(&r, &[]).status, CheckStatus::Fail);
        r.mounts.push(MountInfo {
            kind: "volume".into(),
            source: "pgdata".into(),
            destination: "/var/lib/postgresql/data".into(),
        });
        let ok = data_in_volumes(&r, &["/var/lib/postgresql/data".into()]);
        assert_eq!(ok.status, CheckStatus::Pass);
        assert_eq!(ok.evidence, "volume pgdata → /var/lib/postgresql/data");
        let v = data_in_volumes(&r, &["/srv/other".into()]);
        assert_eq!(v.status, CheckStatus::Fail);
        assert!(
            v.evidence.starts_with("nothing mounted at /srv/other"),
            "{}",
            v.evidence
        );
    }
}
