//! The checklist of a stack: what to check, derived from its services and
//! probes, plus what its `x-stackwarden.verify` section adds.

use std::time::Duration;

use stackwarden_model::redact;
use stackwarden_stack::{LimitSpec, Probe, ProbeKind, Stack, TelemetrySpec};

/// Time allowed to checks that are not probes (engine, files, stats).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
pub enum CheckKind {
    EngineReachable,
    ContainerRunning,
    Probe(Probe),
    Telemetry(TelemetrySpec),
    /// Every running stack container: not at its memory limit, and within
    /// the stack file's limits where it sets some.
    Resources(Vec<(String, LimitSpec)>),
    /// The service's data lives in volumes: `targets` are the container
    /// paths its compose `volumes:` declare.
    DataInVolumes {
        targets: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// Stable across runs, for history: `running:postgres`.
    pub id: String,
    pub name: String,
    /// The stack service it is about, if one.
    pub service: Option<String>,
    pub required: bool,
    pub timeout: Duration,
    pub kind: CheckKind,
}

/// A probe's check name; URLs as `ProbeKind::target` shows them.
fn probe_name(service: &str, probe: &Probe) -> String {
    match &probe.kind {
        ProbeKind::Http { .. } => {
            format!("{service}: {} passes its conditions", probe.kind.target())
        }
        ProbeKind::Tcp { .. } => {
            format!("{service}: {} accepts connections", probe.kind.target())
        }
        ProbeKind::Postgres {
            tables, extensions, ..
        } => {
            let mut what = vec![format!("{} required tables exist", tables.len())];
            if !extensions.is_empty() {
                what.push(format!("extension {} installed", extensions.join(", ")));
            }
            format!("{service}: PostgreSQL answers, {}", what.join(", "))
        }
        ProbeKind::Qdrant { collections, .. } => {
            format!("{service}: {} vector collections exist", collections.len())
        }
        ProbeKind::Redis {
            require_persistence,
            ..
        } => {
            if *require_persistence {
                format!("{service}: Redis answers and persists")
            } else {
                format!("{service}: Redis answers")
            }
        }
        ProbeKind::Llama { .. } => {
            format!(
                "{service}: llama.cpp at {} has a model loaded",
                probe.kind.target()
            )
        }
        ProbeKind::Mcp { .. } => {
            format!(
                "{service}: MCP handshake with {} lists its tools",
                probe.kind.target()
            )
        }
        ProbeKind::Container => format!("{service}: container state"),
    }
}

fn is_data_service(probes: &[Probe]) -> bool {
    probes.iter().any(|p| {
        matches!(
            p.kind,
            ProbeKind::Postgres { .. } | ProbeKind::Redis { .. } | ProbeKind::Qdrant { .. }
        )
    })
}

/// The checklist of `stack`, in the order the window lists it. Names carry
/// no secret: a URL's password and secret parameters are masked.
pub fn checklist(stack: &Stack) -> Vec<CheckSpec> {
    let mut out = unredacted(stack);
    for c in &mut out {
        c.name = redact::text(&c.name);
    }
    out
}

fn unredacted(stack: &Stack) -> Vec<CheckSpec> {
    let required_group = |group: &str| stack.groups.iter().any(|g| g.name == group && g.required);
    let mut out = vec![CheckSpec {
        id: "engine".into(),
        name: "Container engine reachable".into(),
        service: None,
        required: true,
        timeout: CHECK_TIMEOUT,
        kind: CheckKind::EngineReachable,
    }];
    let required: Vec<_> = stack
        .services
        .iter()
        .filter(|s| required_group(&s.group))
        .collect();
    for s in &required {
        out.push(CheckSpec {
            id: format!("running:{}", s.name),
            name: format!("{} container running", s.name),
            service: Some(s.name.clone()),
            required: true,
            timeout: CHECK_TIMEOUT,
            kind: CheckKind::ContainerRunning,
        });
    }
    for s in &required {
        for p in s.probes.iter().filter(|p| p.kind != ProbeKind::Container) {
            out.push(CheckSpec {
                id: format!("probe:{}:{}", s.name, p.name),
                name: probe_name(&s.name, p),
                service: Some(s.name.clone()),
                required: true,
                timeout: p.timeout,
                kind: CheckKind::Probe(p.clone()),
            });
        }
    }
    for c in &stack.verify.checks {
        out.push(CheckSpec {
            id: format!("extra:{}:{}", c.service, c.probe.name),
            name: format!("{}: {}", c.service, c.probe.name),
            service: Some(c.service.clone()),
            required: c.required,
            timeout: c.probe.timeout,
            kind: CheckKind::Probe(c.probe.clone()),
        });
    }
    let t = &stack.verify.telemetry;
    out.push(CheckSpec {
        id: "telemetry".into(),
        name: format!(
            "Telemetry files exist and grew within {}",
            human(t.fresh_within)
        ),
        service: None,
        required: t.required,
        timeout: CHECK_TIMEOUT,
        kind: CheckKind::Telemetry(t.clone()),
    });
    out.push(CheckSpec {
        id: "resources".into(),
        name: "Resource use within limits".into(),
        service: None,
        required: true,
        timeout: CHECK_TIMEOUT,
        kind: CheckKind::Resources(
            stack
                .verify
                .limits
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        ),
    });
    for s in &required {
        let targets: Vec<String> = s
            .volumes
            .iter()
            .filter_map(|v| v.split(':').nth(1).map(ToString::to_string))
            .collect();
        if targets.is_empty() && !is_data_service(&s.probes) {
            continue;
        }
        out.push(CheckSpec {
            id: format!("volumes:{}", s.name),
            name: format!("{} keeps its data in volumes", s.name),
            service: Some(s.name.clone()),
            required: true,
            timeout: CHECK_TIMEOUT,
            kind: CheckKind::DataInVolumes { targets },
        });
    }
    out
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stack_gives_the_reports_checklist() {
        let stack = stackwarden_stack::default_stack().unwrap();
        let list = checklist(&stack);
        let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "engine",
            "running:postgres",
            "running:health-monitor",
            "probe:aidb:health",
            "probe:postgres:schema",
            "probe:qdrant:collections",
            "probe:redis:ping",
            "telemetry",
            "resources",
            "volumes:postgres",
            "volumes:qdrant",
            "volumes:redis",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        // Optional groups (agent backends) are not required to run.
        assert!(!ids.iter().any(|i| i.contains("aider")), "{ids:?}");
        let pg = list
            .iter()
            .find(|c| c.id == "probe:postgres:schema")
            .unwrap();
        assert_eq!(
            pg.name,
            "postgres: PostgreSQL answers, 7 required tables exist, extension vector installed"
        );
        let qd = list
            .iter()
            .find(|c| c.id == "probe:qdrant:collections")
            .unwrap();
        assert_eq!(qd.name, "qdrant: 5 vector collections exist");
        let tel = list.iter().find(|c| c.id == "telemetry").unwrap();
        assert!(tel.required);
        let aidb = list.iter().find(|c| c.id == "probe:aidb:health").unwrap();
        assert!(
            aidb.name.ends_with("/health passes its conditions"),
            "{}",
            aidb.name
        );
        assert_eq!(tel.name, "Telemetry files exist and grew within 24 h");
        match &list
            .iter()
            .find(|c| c.id == "volumes:postgres")
            .unwrap()
            .kind
        {
            CheckKind::DataInVolumes { targets } => {
                assert_eq!(targets, &["/var/lib/postgresql/data"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn check_names_carry_no_secrets() {
        let stack = stackwarden_stack::parse(
            r#"x-stackwarden:
  groups:
    core: {required: true}
  verify:
    checks:
      - service: api
        probe: {name: "via http://x:Extr4Secret@h:1/?api_key=K3yK3y", tcp: {address: "127.0.0.1:1"}}
services:
  api:
    image: x
    x-stackwarden:
      group: core
      probes:
        - http: {url: "http://user:Sup3rS3cretPw@127.0.0.1:9/health?token=T0kenXyz123&q=1"}
"#,
            "secrets.yaml",
        )
        .unwrap();
        let names: Vec<String> = checklist(&stack).into_iter().map(|c| c.name).collect();
        let all = names.join("\n");
        for secret in ["Sup3rS3cretPw", "T0kenXyz123", "Extr4Secret", "K3yK3y"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(
            all.contains(
                "api: http://user:***@127.0.0.1:9/health?token=***&q=1 passes its conditions"
            ),
            "{all}"
        );
    }
    #[test]
    fn typed_probes_are_checks_named_for_what_they_prove() {
        let stack = stackwarden_stack::parse(
            r#"services:
  llama:
    image: x
    x-stackwarden:
      probes:
        - llama: {url: "http://127.0.0.1:8080"}
  aidb:
    image: x
    x-stackwarden:
      probes:
        - mcp: {url: "http://u:S3cr3tPw@127.0.0.1:8791/mcp"}
"#,
            "typed.yaml",
        )
        .unwrap();
        let names: Vec<String> = checklist(&stack).into_iter().map(|c| c.name).collect();
        assert!(
            names.contains(
                &"llama: llama.cpp at http://127.0.0.1:8080 has a model loaded".to_string()
            ),
            "{names:?}"
        );
        assert!(
            names.contains(
                &"aidb: MCP handshake with http://u:***@127.0.0.1:8791/mcp lists its tools"
                    .to_string()
            ),
            "{names:?}"
        );
    }
}
