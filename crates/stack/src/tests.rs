use super::*;
use stackwarden_health::ServiceSpec;

fn problems(text: &str) -> Vec<StackProblem> {
    match parse(text, "compose.yaml") {
        Ok(s) => panic!("expected problems, got {s:#?}"),
        Err(e) => e.problems().to_vec(),
    }
}

#[test]
fn the_default_stack_is_the_reports_stack() {
    let stack = match default_stack() {
        Ok(s) => s,
        Err(e) => panic!("built-in stack invalid:\n{e}"),
    };
    assert_eq!(stack.name, "local-ai");
    let containers: Vec<&str> = stack
        .services
        .iter()
        .filter_map(|s| s.container_name.as_deref())
        .collect();
    for c in [
        "local-ai-llama-cpp",
        "local-ai-qdrant",
        "local-ai-postgres",
        "local-ai-redis",
        "local-ai-mindsdb",
        "local-ai-aidb",
        "local-ai-hybrid-coordinator",
        "local-ai-health-monitor",
    ] {
        assert!(containers.contains(&c), "{c} missing");
    }
    let core = stack
        .services
        .iter()
        .filter(|s| s.group == "Core Infrastructure")
        .count();
    let agents = stack
        .services
        .iter()
        .filter(|s| s.group == "Agent Backends")
        .count();
    assert_eq!((core, agents), (5, 5));
    let optional: Vec<&str> = stack
        .groups
        .iter()
        .filter(|g| !g.required)
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(optional, ["Agent Backends", "Orchestration"]);
    let pg = stack
        .services
        .iter()
        .find(|s| s.name == "postgres")
        .map(|s| &s.probes[0].kind);
    match pg {
        Some(ProbeKind::Postgres {
            tables,
            password_env,
            ..
        }) => {
            assert_eq!(tables.len(), 7);
            assert_eq!(password_env.as_deref(), Some("POSTGRES_PASSWORD"));
        }
        other => panic!("{other:?}"),
    }
    let qdrant = stack
        .services
        .iter()
        .find(|s| s.name == "qdrant")
        .map(|s| &s.probes[0].kind);
    assert!(
        matches!(qdrant, Some(ProbeKind::Qdrant { collections, .. }) if collections.len() == 5)
    );
    let aidb = stack
        .services
        .iter()
        .find(|s| s.name == "aidb")
        .map(|s| s.probes[0].conditions.len());
    assert_eq!(aidb, Some(7));
    let ports: Vec<u16> = stack
        .services
        .iter()
        .flat_map(|s| s.ports.iter().filter_map(|p| p.published))
        .collect();
    for p in [8080, 6333, 5432, 6379, 47334, 8091, 8092] {
        assert!(ports.contains(&p), "port {p}");
    }
    // It feeds the health breakdown directly.
    let specs: Vec<ServiceSpec> = stack
        .services
        .iter()
        .map(|s| ServiceSpec {
            name: s.name.clone(),
            containers: Vec::new(),
            expected_container: s.default_container_name(&stack.project),
            group: s.group.clone(),
            when_absent: stackwarden_health::Absent::Down,
            replicas: s.replicas,
        })
        .collect();
    let b = stackwarden_health::breakdown(&stack.groups, &specs, &[], &Default::default());
    assert_eq!(b.overall, 0.0, "nothing running");
}

#[test]
fn plain_compose_files_load_with_defaults() {
    let text = "services:\n  web:\n    image: nginx\n    ports:\n      - \"127.0.0.1:8080:80/tcp\"\n      - target: 443\n        published: \"8443\"\n    environment: [A=1]\n    labels: {a: b}\n    networks: [front]\n    depends_on:\n      db:\n        condition: service_healthy\n  db:\n    image: postgres\n    healthcheck:\n      test: pg_isready\n    volumes:\n      - type: volume\n        source: pg\n        target: /var/lib/postgresql/data\nvolumes:\n  pg: {}\n";
    let stack = match parse(text, "compose.yaml") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let web = &stack.services[1];
    assert_eq!(web.name, "web");
    let published: Vec<Option<u16>> = web.ports.iter().map(|p| p.published).collect();
    assert_eq!(published, [Some(8080), Some(8443)]);
    assert_eq!(web.ports[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(web.ports[1].target, 443);
    assert_eq!(web.environment_keys, ["A"]);
    assert_eq!(web.labels.get("a").map(String::as_str), Some("b"));
    assert_eq!(web.networks, ["front"]);
    assert_eq!(
        web.depends_on,
        [crate::Dependency {
            service: "db".into(),
            condition: crate::DependencyCondition::Healthy,
            required: true,
        }]
    );
    assert_eq!(web.group, "services");
    assert_eq!(
        stack.services[0]
            .healthcheck
            .as_ref()
            .map(|h| h.test.as_str()),
        Some("pg_isready")
    );
    assert_eq!(stack.services[0].volumes, ["pg:/var/lib/postgresql/data"]);
    assert_eq!(stack.groups.len(), 1);
}

#[test]
fn every_kind_of_bad_file_names_line_and_reason() {
    let cases: Vec<(&str, u64, &str)> = vec![
        ("services: [\n", 1, ""),
        ("name: x\n", 1, "no `services:`"),
        ("services:\n  web:\n    image: [a, b]\n", 3, ""),
        ("services:\n  web:\n    image: a\n    depends_on: [db]\n", 4, "depends on `db`, which is not a service"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      grop: core\n", 5, "unknown field `grop`"),
        ("x-stackwarden:\n  groups: {core: {}}\nservices:\n  web:\n    image: a\n    x-stackwarden:\n      group: cor\n", 7, "does not declare (declared: core)"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - name: x\n", 6, "names no check"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - http: {url: \"http://x\"}\n          tcp: {address: \"x:1\"}\n", 6, "several checks (http, tcp)"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - http: {url: \"ftp://x\"}\n", 6, "must start with http:// or https://"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - tcp: {address: \"nohost\"}\n", 6, "is not host:port"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - container: {}\n          interval: 5 minutes\n", 7, "interval:"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - container: {}\n          interval: 1s\n          timeout: 5s\n", 6, "longer than its interval"),
        ("services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n        - http: {url: \"http://x\"}\n          conditions: [\"[STATUS] == ok\"]\n", 7, "[STATUS] compares with a number"),
        ("services:\n  web:\n    x-stackwarden: {}\n", 3, "has neither `image` nor `build`"),
        ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n", 4, "dependency cycle: a → b → c → a"),
        ("services:\n  web:\n    image: x\n    ports:\n      - \"99999:80\"\n", 5, "published port 99999 is out of range (1-65535)"),
        ("services:\n  web:\n    image: x\n    ports:\n      - target: 80\n        published: 70000\n", 5, "published port 70000 is out of range"),
        ("services:\n  web:\n    image: x\n    depends_on:\n      db: {condition: service_ready}\n  db:\n    image: y\n", 5, "condition `service_ready`"),
        ("services:\n  web:\n    image: x\n    scale: 2\n    deploy: {replicas: 3}\n", 3, "refuses the two when they differ"),
        ("name: My Stack\nservices:\n  web:\n    image: x\n", 1, "project name `My Stack` must hold only lowercase"),
    ];
    for (text, line, reason) in cases {
        let found = problems(text);
        assert!(
            found
                .iter()
                .any(|p| p.line == line && p.reason.contains(reason) && p.file == "compose.yaml"),
            "{text:?}: wanted line {line} with {reason:?}, got {found:#?}"
        );
        for p in &found {
            assert!(p.to_string().starts_with("compose.yaml, line "), "{p}");
        }
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = "services:\n  a:\n    image: x\n    depends_on: [nope]\n  b:\n    image: y\n    x-stackwarden:\n      probes:\n        - tcp: {address: bad}\n";
    assert_eq!(problems(text).len(), 2);
}

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let err = load_file(std::path::Path::new("/nonexistent/compose.yaml"));
    assert!(matches!(err, Err(StackError::Unreadable { .. })));
}

#[test]
fn probe_targets_hide_passwords() {
    let kind = ProbeKind::Redis {
        url: "redis://default:hunter2@localhost:6379".into(),
        require_persistence: false,
    };
    assert_eq!(kind.target(), "redis://default:***@localhost:6379");
    let http = ProbeKind::Http {
        url: "http://localhost:8091/health".into(),
    };
    assert_eq!(http.target(), "http://localhost:8091/health");
    // The hand-written version split at the first `@` and kept query tokens.
    let at_in_password = ProbeKind::Postgres {
        url: "postgres://aidb:pa@ss@127.0.0.1:5432/aidb".into(),
        password_env: None,
        tables: Vec::new(),
        extensions: Vec::new(),
    };
    assert_eq!(
        at_in_password.target(),
        "postgres://aidb:***@127.0.0.1:5432/aidb"
    );
    let token = ProbeKind::Qdrant {
        url: "http://127.0.0.1:6333/?api_key=s3cret&x=1".into(),
        collections: Vec::new(),
    };
    assert_eq!(token.target(), "http://127.0.0.1:6333/?api_key=***&x=1");
    let tcp = ProbeKind::Tcp {
        address: "redis://:hunter2@h:1".into(),
    };
    assert!(!tcp.target().contains("hunter2"), "{}", tcp.target());
}

#[test]
fn required_groups_come_first() {
    let stack = crate::default_stack().unwrap();
    let names: Vec<(&str, bool)> = stack
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.required))
        .collect();
    assert_eq!(
        names,
        [
            ("Core Infrastructure", true),
            ("MCP Services", true),
            ("Agent Backends", false),
            ("Orchestration", false)
        ]
    );
}

const VERIFY_BASE: &str = "services:\n  aidb:\n    image: a\nx-stackwarden:\n  verify:\n";

#[test]
fn verify_section_extends_the_checklist() {
    let text = format!(
        "{VERIFY_BASE}    telemetry:\n      dir: /var/telemetry\n      files: [a.jsonl]\n      fresh_within: 10m\n    limits:\n      aidb: {{ memory: 512MB, cpu_percent: 80 }}\n    checks:\n      - service: aidb\n        required: false\n        probe:\n          name: pgvector\n          http: {{ url: \"http://127.0.0.1:8091/health\" }}\n          conditions: [\"[BODY].pgvector == ok\"]\n"
    );
    let stack = parse(&text, "compose.yaml").unwrap();
    let v = &stack.verify;
    assert_eq!(v.telemetry.dir, "/var/telemetry");
    assert_eq!(v.telemetry.files, ["a.jsonl"]);
    assert_eq!(
        v.telemetry.fresh_within,
        std::time::Duration::from_secs(600)
    );
    assert!(v.telemetry.required && v.telemetry.configured);
    assert_eq!(v.limits["aidb"].memory_bytes, Some(512_000_000));
    assert_eq!(v.limits["aidb"].cpu_percent, Some(80.0));
    assert_eq!(v.checks.len(), 1);
    assert_eq!(v.checks[0].probe.name, "pgvector");
    assert!(!v.checks[0].required);

    // Without the section: the report's telemetry folder, not required.
    let plain = parse("services:\n  a:\n    image: x\n", "c.yaml").unwrap();
    assert_eq!(plain.verify.telemetry.dir, DEFAULT_TELEMETRY_DIR);
    assert!(!plain.verify.telemetry.required && !plain.verify.telemetry.configured);
}

#[test]
fn bad_checklist_entries_are_rejected_with_line_and_reason() {
    let cases: Vec<(String, u64, &str)> = vec![
        (
            format!("{VERIFY_BASE}    checks:\n      - service: nowhere\n        probe: {{ container: {{}} }}\n"),
            7,
            "check 1 of `verify.checks` names service `nowhere`, which is not a service",
        ),
        (
            format!("{VERIFY_BASE}    checks:\n      - service: aidb\n        probe:\n          http: {{ url: \"http://x\" }}\n          conditions: [\"[STATUS] == ok\"]\n"),
            10,
            "[STATUS] compares with a number",
        ),
        (
            format!("{VERIFY_BASE}    limits:\n      ghost: {{ memory: 1GB }}\n"),
            7,
            "`verify.limits` names `ghost`",
        ),
        (
            format!("{VERIFY_BASE}    limits:\n      aidb: {{ memory: lots }}\n"),
            7,
            "memory: `lots` is not a size",
        ),
        (
            format!("{VERIFY_BASE}    telemetry: {{ dir: /t, fresh_within: soon }}\n"),
            6,
            "",
        ),
        (format!("{VERIFY_BASE}    tellemetry: {{}}\n"), 6, "unknown field `tellemetry`"),
    ];
    for (text, line, reason) in cases {
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.line == line && p.reason.contains(reason)),
            "{text}: wanted line {line} with {reason:?}, got {found:#?}"
        );
    }
}

const PROBE_BASE: &str = "services:\n  web:\n    image: a\n    x-stackwarden:\n      probes:\n";

#[test]
fn max_body_caps_the_http_body_read() {
    let text = format!(
        "{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          max_body: 512KB\n        - name: big\n          http: {{url: \"http://x\"}}\n          max_body: 2MiB\n        - name: plain\n          http: {{url: \"http://x\"}}\n        - name: q\n          qdrant: {{url: \"http://x\"}}\n          max_body: 64MiB\n"
    );
    let stack = parse(&text, "compose.yaml").unwrap();
    let caps: Vec<u64> = stack.services[0]
        .probes
        .iter()
        .map(|p| p.max_body_bytes)
        .collect();
    assert_eq!(
        caps,
        [
            512_000,
            2 * 1024 * 1024,
            DEFAULT_MAX_BODY_BYTES,
            MAX_BODY_LIMIT_BYTES
        ]
    );
    assert_eq!(DEFAULT_MAX_BODY_BYTES, 1024 * 1024);
    let default = crate::default_stack().unwrap();
    assert!(default
        .services
        .iter()
        .flat_map(|s| &s.probes)
        .all(|p| p.max_body_bytes == DEFAULT_MAX_BODY_BYTES));
}

#[test]
fn bad_max_body_is_rejected_with_line_and_reason() {
    let cases: Vec<(&str, &str)> = vec![
        ("0B", "must be more than 0 bytes"),
        ("0", "must be more than 0 bytes"),
        ("65MiB", "more than the limit of 64MiB"),
        ("1TB", "more than the limit of 64MiB"),
        ("lots", "max_body: `lots` is not a size"),
        ("1XB", "unknown size unit"),
    ];
    for (value, reason) in cases {
        let text = format!(
            "{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          max_body: {value}\n"
        );
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.line == 7 && p.reason.contains(reason)),
            "{value}: wanted line 7 with {reason:?}, got {found:#?}"
        );
    }
    let text =
        format!("{PROBE_BASE}        - tcp: {{address: \"x:1\"}}\n          max_body: 1MiB\n");
    let found = problems(&text);
    assert!(
        found.iter().any(|p| p.line == 7
            && p.reason
                .contains("only http, qdrant and llama probes take `max_body`")),
        "{found:#?}"
    );
}

#[test]
fn hostile_values_are_problems_with_line_and_reason_not_panics() {
    let probe = |extra: &str| {
        format!("{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          {extra}\n")
    };
    let cases: Vec<(String, u64, &str)> = vec![
        (probe("interval: 99999999999999999999h"), 7, "interval: `99999999999999999999h` is too long"),
        (probe("interval: 0s"), 7, "interval: `0s` is shorter than 1s"),
        (probe("interval: 0.5s"), 7, "shorter than 1s"),
        (probe("interval: 999ms"), 7, "shorter than 1s"),
        (probe("interval: 25h"), 7, "longer than 24h"),
        (probe("timeout: 0s"), 7, "timeout: `0s` leaves the probe no time to answer"),
        (probe("timeout: 99999999999999999999h"), 7, "timeout: `99999999999999999999h` is too long"),
        (probe(&format!("interval: {}s", "9".repeat(400))), 7, "too long"),
        (probe("max_body: 99999999999999999999999"), 7, "too large a size"),
        (probe("conditions: [\"[BÖDY].größe == 1\"]"), 7, "unknown placeholder `[BÖDY].größe`"),
        (probe("conditions: [\"[BODY].größe 1\"]"), 7, "no comparator"),
        (probe("conditions: [\"[BODDY].status == ok\"]"), 7, "unknown placeholder `[BODDY]`; http probes give"),
        (probe("conditions: [\"[STATUS] == 1e400\"]"), 7, "too large a number"),
        (
            format!("{VERIFY_BASE}    telemetry: {{dir: /t, files: [a], fresh_within: 0s}}\n"),
            6,
            "fresh_within: must be more than 0s",
        ),
        (
            format!("{VERIFY_BASE}    telemetry: {{dir: /t, files: [a], fresh_within: 99999999999999999999h}}\n"),
            6,
            "too long",
        ),
        (
            format!("{VERIFY_BASE}    limits:\n      aidb: {{cpu_percent: .inf}}\n"),
            7,
            "cpu_percent of `aidb` must be a number above 0",
        ),
        (
            format!("{VERIFY_BASE}    limits:\n      aidb: {{cpu_percent: .nan}}\n"),
            7,
            "must be a number above 0",
        ),
        (
            "x-stackwarden:\n  groups:\n    core: {weight: -1}\nservices:\n  a: {image: x, x-stackwarden: {group: core}}\n".to_string(),
            3,
            "weight of group `core` must be a number of 0 or more",
        ),
        (
            "x-stackwarden:\n  groups:\n    core: {weight: .nan}\nservices:\n  a: {image: x}\n".to_string(),
            3,
            "weight of group `core`",
        ),
    ];
    for (text, line, reason) in cases {
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.line == line && p.reason.contains(reason)),
            "{text}: wanted line {line} with {reason:?}, got {found:#?}"
        );
    }
}

#[test]
fn hostile_values_are_all_reported_at_once() {
    let text = format!(
        "{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          interval: 0s\n          conditions: [\"[BODY].größe 1\"]\n        - tcp: {{address: \"x:1\"}}\n          interval: 99999999999999999999h\n          timeout: 0s\n"
    );
    let lines: Vec<u64> = problems(&text).iter().map(|p| p.line).collect();
    assert_eq!(lines, [7, 8, 10, 11], "{:#?}", problems(&text));
}

#[test]
fn sane_durations_and_non_ascii_conditions_load() {
    let text = format!(
        "{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          interval: 1s\n          timeout: 1ms\n          conditions: [\"[BODY].größe == 1\", \"[BODY].名前 == ü\"]\n        - container: {{}}\n          interval: 24h\n          timeout: 1h\n"
    );
    let stack = parse(&text, "compose.yaml").unwrap();
    let p = &stack.services[0].probes;
    assert_eq!(p[0].interval, MIN_INTERVAL);
    assert_eq!(p[0].timeout, MIN_TIMEOUT);
    assert_eq!(p[0].conditions.len(), 2);
    assert_eq!(p[1].interval, MAX_INTERVAL);
}

#[test]
fn unnamed_probes_are_numbered_by_kind() {
    let text = format!(
        "{PROBE_BASE}        - http: {{url: \"http://a\"}}\n        - http: {{url: \"http://b\"}}\n        - container: {{}}\n        - http: {{url: \"http://c\"}}\n        - name: tcp\n          http: {{url: \"http://d\"}}\n        - tcp: {{address: \"x:1\"}}\n"
    );
    let stack = parse(&text, "compose.yaml").unwrap();
    let names: Vec<&str> = stack.services[0]
        .probes
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    // `tcp` is taken by an explicit name, so the unnamed tcp probe is `tcp-2`.
    assert_eq!(
        names,
        ["http", "http-2", "container", "http-3", "tcp", "tcp-2"]
    );

    // An explicit name that looks like a default keeps it; the default skips it.
    let text = format!(
        "{PROBE_BASE}        - http: {{url: \"http://a\"}}\n        - http: {{url: \"http://b\"}}\n        - name: http-2\n          http: {{url: \"http://c\"}}\n"
    );
    let stack = parse(&text, "compose.yaml").unwrap();
    let names: Vec<&str> = stack.services[0]
        .probes
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["http", "http-3", "http-2"]);

    // The same list gives the same names on every load.
    let again = parse(&text, "compose.yaml").unwrap();
    assert_eq!(again.services[0].probes, stack.services[0].probes);

    // Names are per service: two services may both have an `http`.
    let two = "services:\n  a:\n    image: x\n    x-stackwarden: {probes: [{http: {url: \"http://a\"}}]}\n  b:\n    image: x\n    x-stackwarden: {probes: [{http: {url: \"http://b\"}}]}\n";
    let stack = parse(two, "compose.yaml").unwrap();
    assert!(stack.services.iter().all(|s| s.probes[0].name == "http"));
}

#[test]
fn duplicate_probe_names_are_rejected_with_line_and_reason() {
    let text = format!(
        "{PROBE_BASE}        - name: health\n          http: {{url: \"http://a\"}}\n        - name: health\n          tcp: {{address: \"x:1\"}}\n"
    );
    let found = problems(&text);
    assert!(
        found.iter().any(|p| p.line == 8
            && p.reason
                .contains("service `web` has two probes named `health` (the first on line 6)")),
        "{found:#?}"
    );
    let text = format!(
        "{PROBE_BASE}        - name: telemetry alert\n          http: {{url: \"http://a\"}}\n"
    );
    assert!(
        problems(&text)
            .iter()
            .any(|p| p.line == 6 && p.reason.contains("a name Stackwarden keeps")),
        "{:#?}",
        problems(&text)
    );
    let text = format!("{PROBE_BASE}        - name: \" \"\n          container: {{}}\n");
    assert!(problems(&text)
        .iter()
        .any(|p| p.line == 6 && p.reason.contains("empty name")));

    // Verification checks of one service: the same rule.
    let text = format!(
        "{VERIFY_BASE}    checks:\n      - service: aidb\n        probe: {{name: x, container: {{}}}}\n      - service: aidb\n        probe: {{name: x, container: {{}}}}\n"
    );
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.line == 10 && p.reason.contains("two probes named `x`")),
        "{found:#?}"
    );
    let text = format!(
        "{VERIFY_BASE}    checks:\n      - service: aidb\n        probe: {{container: {{}}}}\n      - service: aidb\n        required: false\n        probe: {{container: {{}}}}\n      - service: aidb\n        probe: {{name: own, container: {{}}}}\n"
    );
    let stack = parse(&text, "compose.yaml").unwrap();
    let checks: Vec<(&str, bool)> = stack
        .verify
        .checks
        .iter()
        .map(|c| (c.probe.name.as_str(), c.required))
        .collect();
    assert_eq!(
        checks,
        [("container", true), ("container-2", false), ("own", true)]
    );
}

#[test]
fn problems_quote_urls_without_their_secrets() {
    let cases = [
        format!("{PROBE_BASE}        - http: {{url: \"ftp://u:hunter2@h/x?token=t0k3n\"}}\n"),
        format!("{PROBE_BASE}        - redis: {{url: \"http://u:hunter2@h/x?token=t0k3n\"}}\n"),
        format!("{PROBE_BASE}        - tcp: {{address: \"redis://u:hunter2@h?token=t0k3n\"}}\n"),
        format!(
            "{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          conditions: [\"[STATUS] == http://u:hunter2@h/?token=t0k3n\"]\n"
        ),
        format!(
            "{PROBE_BASE}        - http: {{url: \"http://x\"}}\n          interval: \"http://u:hunter2@h/?token=t0k3n\"\n"
        ),
        "services: \"http://u:hunter2@h/?token=t0k3n\"\n".to_string(),
    ];
    for text in cases {
        let err = match parse(&text, "compose.yaml") {
            Ok(s) => panic!("{text}: expected problems, got {s:?}"),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert!(!shown.is_empty());
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0k3n"),
            "{text}: {shown}"
        );
    }
}

/// A valid stack file with every kind of value the loader checks, for the
/// property test to cut up and splice into.
const FULL_STACK: &str = r#"name: fuzz
x-stackwarden:
  groups:
    core:
      label: Core
      required: true
      weight: 2
      heal: { on: [down, unhealthy], after: 0s, backoff: { initial: 10s, factor: 2, cap: 5m, reset_after: 10m }, limit: { actions: 3, within: 30m } }
services:
  web:
    image: busybox
    container_name: fuzz-web
    depends_on: [db]
    x-stackwarden:
      group: core
      probes:
        - http: { url: "http://127.0.0.1:8080/health" }
          interval: 5s
          timeout: 1s
          max_body: 64KiB
          conditions: ["[STATUS] == 200", "len([BODY].items) > 2", "[RESPONSE_TIME] < 150ms"]
        - tcp: { address: "127.0.0.1:8080" }
  db:
    image: postgres
    command: postgres -c 'max_connections=50'
    entrypoint: [docker-entrypoint.sh]
    ports: ["127.0.0.1:5432:5432", 9000]
    volumes: [pgdata:/var/lib/postgresql/data, ./init:/init:ro, /scratch, { source: logs, target: /logs, read_only: true }]
    restart: on-failure:3
    labels: [tier=data]
    networks: [back]
    healthcheck: { test: ["CMD", "pg_isready"], interval: 2s, timeout: 1s, retries: 5, start_period: 10s }
    environment:
      POSTGRES_PASSWORD: example
      PASSTHROUGH:
    x-stackwarden:
      group: core
      heal:
        action: start
        start_grace: 1m
        log_patterns:
          - pattern: 'FATAL: (out of|lost) \w+'
          - { pattern: 'PANIC', effect: act }
      probes:
        - postgres: { url: "postgres://u@127.0.0.1/db", password_env: PGPASS, tables: [a, b] }
        - redis: { url: "redis://127.0.0.1:6379", require_persistence: true }
volumes:
  pgdata: { name: fuzz_pg }
  logs: { external: true }
networks:
  back: {}
"#;

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(384))]

    /// Whatever the text (a valid file cut, spliced with anything, or
    /// random): the loader returns a stack or problems, never panics, and
    /// every problem names a line of the file.
    #[test]
    fn the_loader_never_panics_and_places_every_problem(
        cut in 0usize..FULL_STACK.len(),
        len in 0usize..40,
        insert in "(\\PC|\n|[-:{}\\[\\]\"'#&*!|>@%0-9 ]){0,40}",
        random in proptest::bool::ANY,
    ) {
        let text = if random {
            insert.clone()
        } else {
            let start = FULL_STACK.floor_char_boundary(cut);
            let end = FULL_STACK.floor_char_boundary((start + len).min(FULL_STACK.len()));
            format!("{}{insert}{}", &FULL_STACK[..start], &FULL_STACK[end..])
        };
        match parse(&text, "compose.yaml") {
            Err(e) => {
                let lines = text.lines().count().max(1) as u64 + 1;
                for p in e.problems() {
                    proptest::prop_assert!(p.line >= 1 && p.line <= lines, "{p:?} in {lines} lines:\n{text}");
                    proptest::prop_assert!(!p.reason.is_empty());
                }
            }
            // The recovery wizard's blueprints of what loaded never panic.
            Ok(stack) => {
                let texts = vec![("compose.yaml".to_string(), text.clone())];
                let prints = crate::blueprints(&texts, &LoadEnv::default(), &stack);
                proptest::prop_assert!(prints.is_ok(), "{prints:?}");
            }
        }
    }
}

#[test]
fn the_fuzz_seed_stack_is_valid() {
    if let Err(e) = parse(FULL_STACK, "compose.yaml") {
        panic!("{e}");
    }
}

#[test]
fn the_built_in_stack_heals_its_required_groups_only() {
    let stack = match default_stack() {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    for s in &stack.services {
        let required = stack.groups.iter().any(|g| g.name == s.group && g.required);
        assert_eq!(s.heal.is_some(), required, "{}", s.name);
        if let Some(p) = &s.heal {
            assert!(p.enabled);
            assert_eq!(p.limit.actions, 3);
            assert_eq!(p.limit.within_ms, 3_600_000);
            assert_eq!(p.backoff.initial_ms, 30_000);
        }
    }
}

#[test]
fn a_services_heal_keys_refine_its_groups() {
    let text = r#"
x-stackwarden:
  groups:
    core:
      heal: { on: [down], backoff: { initial: 2s, cap: 1m }, limit: { actions: 4, within: 10m } }
services:
  db:
    image: x
    x-stackwarden:
      group: core
      heal:
        limit: { actions: 2 }
        log_patterns:
          - pattern: 'FATAL: .*'
          - { pattern: 'panic', effect: act }
  web:
    image: y
    x-stackwarden: { group: core, heal: { enabled: false } }
  free:
    image: z
"#;
    let stack = match parse(text, "compose.yaml") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let heal = |n: &str| {
        stack
            .services
            .iter()
            .find(|s| s.name == n)
            .and_then(|s| s.heal.clone())
    };
    let db = heal("db").unwrap_or_default();
    assert!(db.enabled);
    assert_eq!(db.on, [stackwarden_heal::Trigger::Down]);
    assert_eq!(db.backoff.initial_ms, 2000);
    assert_eq!(db.backoff.cap_ms, 60_000);
    assert_eq!((db.limit.actions, db.limit.within_ms), (2, 600_000));
    assert_eq!(db.log_patterns.len(), 2);
    assert_eq!(
        db.log_patterns[1].effect,
        stackwarden_heal::PatternEffect::Act
    );
    assert!(heal("web").is_some_and(|p| !p.enabled));
    assert!(heal("free").is_none());
}

#[test]
fn bad_heal_keys_name_line_and_reason() {
    let text = r#"services:
  db:
    image: x
    x-stackwarden:
      heal:
        on: [down, sleepy]
        action: recreate
        backoff: { initial: 0s, factor: 50 }
        limit: { actions: 0, within: 99999999999999999999h }
        log_patterns:
          - pattern: '(unclosed'
          - { pattern: ok, effect: explode }
"#;
    let found = problems(text);
    let has = |line: u64, words: &str| {
        found
            .iter()
            .any(|p| p.line == line && p.reason.contains(words))
    };
    assert!(has(6, "`sleepy` is not a status"), "{found:#?}");
    assert!(has(7, "never recreates"), "{found:#?}");
    assert!(has(8, "heal.backoff.initial"), "{found:#?}");
    assert!(has(8, "factor must be a number from 1 to 10"), "{found:#?}");
    assert!(has(9, "limit.actions must be from 1"), "{found:#?}");
    assert!(has(9, "limit.within"), "{found:#?}");
    assert!(has(11, "log pattern"), "{found:#?}");
    assert!(has(12, "effect `explode`"), "{found:#?}");
    assert!(parse(
        "services:\n  a:\n    image: x\n    x-stackwarden: { heal: { typo: 1 } }\n",
        "c.yaml"
    )
    .is_err());
}

#[test]
fn typed_probes_load_and_give_their_named_values() {
    let text = format!(
        "{PROBE_BASE}        - llama: {{url: \"http://127.0.0.1:8080\"}}\n          conditions: [\"[SLOTS_BUSY] < 4\", \"[MODEL].id != none\", \"[N_CTX] >= 8192\"]\n        - mcp: {{url: \"http://user:hunter2@127.0.0.1:8000/mcp?token=t0k3n\"}}\n          conditions: [\"len([TOOLS]) >= 5\", \"[PROTOCOL] == 2025-06-18\"]\n        - qdrant: {{url: \"http://x:6333\", collections: [documents]}}\n          conditions: [\"[COLLECTIONS].documents.points_count > 0\"]\n        - postgres: {{url: \"postgres://u@db/x\", tables: [t]}}\n          conditions: [\"[ROWS].t > 0\", \"[PGVECTOR] == 0.8.0\"]\n        - redis: {{url: \"redis://r\"}}\n          conditions: [\"[KEYS] > 0\", \"[USED_MEMORY] < 1000000000\", \"[LAST_BGSAVE_STATUS] == ok\"]\n"
    );
    let stack = match parse(&text, "t.yaml") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let probes = &stack.services[0].probes;
    let kinds: Vec<&str> = probes.iter().map(|p| p.kind.word()).collect();
    assert_eq!(kinds, ["llama", "mcp", "qdrant", "postgres", "redis"]);
    let names: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["llama", "mcp", "qdrant", "postgres", "redis"]);
    assert_eq!(
        probes[1].kind.target(),
        "http://user:***@127.0.0.1:8000/mcp?token=***"
    );
    assert!(ProbeKind::Llama { url: String::new() }
        .value_names()
        .contains(&"SLOTS_BUSY"));
}

#[test]
fn a_value_the_kind_does_not_give_is_named_with_line_and_reason() {
    let cases = [
        (
            "- llama: {url: \"http://x\"}\n          conditions: [\"len([TOOLS]) >= 5\"]",
            "llama probes give no `[TOOLS]`; they give [MODEL], [N_CTX], [SLOTS_TOTAL], [SLOTS_BUSY]",
        ),
        (
            "- mcp: {url: \"http://x/mcp\"}\n          conditions: [\"[SLOTS_BUSY] < 4\"]",
            "mcp probes give no `[SLOTS_BUSY]`; they give [PROTOCOL], [SERVER], [SERVER_VERSION], [TOOLS]",
        ),
        (
            "- http: {url: \"http://x\"}\n          conditions: [\"len([TOOLS]) >= 5\"]",
            "unknown placeholder `[TOOLS]`; http probes give [STATUS]",
        ),
        (
            "- mcp: {url: \"ftp://x\"}",
            "`ftp://x` must start with http:// or https://",
        ),
        (
            "- llama: {url: \"http://x\", model: y}",
            "unknown field `model`",
        ),
    ];
    for (probe, reason) in cases {
        let found = problems(&format!("{PROBE_BASE}        {probe}\n"));
        assert!(
            found
                .iter()
                .any(|p| p.line >= 6 && p.reason.contains(reason)),
            "{probe}: {found:#?}"
        );
    }
    let both = problems(&format!(
        "{PROBE_BASE}        - llama: {{url: \"http://x\"}}\n          mcp: {{url: \"http://x\"}}\n"
    ));
    assert!(
        both.iter()
            .any(|p| p.reason.contains("names several checks (llama, mcp)")),
        "{both:#?}"
    );
}
