//! Compose files in the shapes seen in public local-AI stacks (Ollama and
//! Open WebUI, llama.cpp, vLLM, Qdrant, LocalAI...) load; broken files fail
//! with their line and reason; none panics.

use stackwarden_stack::{parse, parse_with, LoadEnv, Stack, StackError};

fn loads(text: &str) -> Stack {
    match parse(text, "/srv/ai/compose.yaml") {
        Ok(stack) => stack,
        Err(e) => panic!("should load:\n{text}\n{e}"),
    }
}

fn fails(text: &str) -> StackError {
    match parse(text, "/srv/ai/compose.yaml") {
        Ok(stack) => panic!("should fail:\n{text}\n{stack:#?}"),
        Err(e) => e,
    }
}

const OLLAMA_WEBUI: &str = r#"
x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options: { max-size: "10m" }

services:
  ollama:
    <<: *common
    image: ollama/ollama:latest
    ports:
      - "11434:11434"
    volumes:
      - ollama:/root/.ollama
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
    healthcheck:
      test: ["CMD", "ollama", "list"]
      interval: 30s
      timeout: 10s
      retries: 3
  open-webui:
    <<: *common
    image: ghcr.io/open-webui/open-webui:main
    depends_on:
      ollama:
        condition: service_healthy
    ports:
      - target: 8080
        published: 3000
        protocol: tcp
        mode: host
    environment:
      - OLLAMA_BASE_URL=http://ollama:11434
      - WEBUI_SECRET_KEY=
    volumes:
      - type: volume
        source: open-webui
        target: /app/backend/data
      - type: bind
        source: ./config
        target: /config
        read_only: true
    extra_hosts:
      - host.docker.internal:host-gateway

volumes:
  ollama: {}
  open-webui: {}
"#;

const LLAMA_QDRANT: &str = r#"
services:
  llama:
    image: ghcr.io/ggml-org/llama.cpp:server-cuda
    command: ["-m", "/models/model.gguf", "--port", "8080", "--host", "0.0.0.0", "-c", "8192", "-np", "4"]
    ports: ["127.0.0.1:8080:8080"]
    volumes: ["./models:/models:ro"]
    ipc: host
    ulimits:
      memlock: -1
      stack: 67108864
    deploy:
      resources:
        limits: { cpus: "8", memory: 16G }
        reservations:
          devices: [{ driver: nvidia, device_ids: ["0"], capabilities: [gpu] }]
    healthcheck:
      test: curl -fsS http://localhost:8080/health || exit 1
      start_period: 60s
  qdrant:
    image: qdrant/qdrant:v1.12.0
    ports:
      - 6333:6333
      - "6334:6334"
    volumes: [qdrant_storage:/qdrant/storage:z]
    healthcheck:
      disable: true
  vllm:
    image: vllm/vllm-openai:latest
    runtime: nvidia
    shm_size: 16gb
    profiles: [gpu]
    ports: ["8000-8001:8000-8001"]
    healthcheck:
      test: ["NONE"]
  aidb:
    build:
      context: ./aidb
      dockerfile: Dockerfile
      args: { PYTHON: "3.12" }
    depends_on: [qdrant, llama]
    env_file:
      - path: ./aidb.env
        required: false
volumes:
  qdrant_storage:
"#;

#[test]
fn public_local_ai_shapes_load() {
    let stack = loads(OLLAMA_WEBUI);
    assert_eq!(stack.project, "ai");
    let webui = stack
        .services
        .iter()
        .find(|s| s.name == "open-webui")
        .expect("webui");
    assert_eq!(
        webui.restart.as_deref(),
        Some("unless-stopped"),
        "merge key applied"
    );
    assert_eq!(webui.ports[0].published, Some(3000));
    assert_eq!(webui.depends_on[0].service, "ollama");
    assert_eq!(
        webui.volumes,
        ["open-webui:/app/backend/data", "./config:/config"]
    );
    let ollama = stack
        .services
        .iter()
        .find(|s| s.name == "ollama")
        .expect("ollama");
    assert_eq!(
        ollama.healthcheck.as_ref().map(|h| h.test.as_str()),
        Some("CMD ollama list")
    );

    let stack = loads(LLAMA_QDRANT);
    let by = |name: &str| stack.services.iter().find(|s| s.name == name).expect(name);
    assert!(by("qdrant").healthcheck.is_none(), "disabled");
    assert!(by("vllm").healthcheck.is_none(), "NONE");
    assert_eq!(by("vllm").ports.len(), 2, "a range is one port each");
    assert!(!by("vllm").profile_active);
    assert!(by("aidb").built);
    assert_eq!(by("aidb").image.as_deref(), Some("ai-aidb"));
    assert_eq!(by("llama").ports[0].host_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        by("qdrant")
            .ports
            .iter()
            .filter_map(|p| p.published)
            .collect::<Vec<_>>(),
        [6333, 6334]
    );
}

#[test]
fn active_profiles_deploy_their_services() {
    let env = LoadEnv::from_pairs(&[("COMPOSE_PROFILES", "gpu")]);
    let stack = parse_with(LLAMA_QDRANT, "/srv/ai/compose.yaml", &env).expect("valid");
    assert!(stack.services.iter().all(|s| s.profile_active));
}

#[test]
fn broken_files_say_where_and_why() {
    let cases: &[(&str, u64, &str)] = &[
        ("services:\n  web:\n\timage: x\n", 3, ""),
        ("services:\n  web:\n    image: x\n    image: y\n", 4, "duplicate"),
        ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", 4, "dependency cycle: a → b → a"),
        ("services:\n  a:\n    image: x\n    depends_on: [ghost]\n", 4, "depends on `ghost`, which is not a service"),
        ("services:\n  a:\n    image: x\n    ports: [\"99999:80\"]\n", 4, "published port 99999 is out of range"),
        ("services:\n  a:\n    image: x\n    ports: [\"8080:http\"]\n", 4, "container port `http` is not a number"),
        ("services:\n  a:\n    image: x\n    environment:\n      KEY: ${MISSING_KEY:?the API key}\n", 5, "required variable MISSING_KEY is not set or is empty: the API key"),
        ("services:\n  a:\n    image: x\n    command: ${UNCLOSED\n", 4, "without a closing"),
        ("services:\n  base:\n    image: x\n  a:\n    extends: base\n", 5, "`extends`, which Stackwarden does not read yet"),
        ("services:\n  a:\n    env_file: ./missing.env\n    image: x\n", 3, "env_file `./missing.env`: the file does not exist"),
    ];
    for (text, line, reason) in cases {
        let err = fails(text);
        let problems = err.problems();
        assert!(
            problems
                .iter()
                .any(|p| p.line == *line && p.reason.contains(reason)),
            "{text:?}: wanted line {line} with {reason:?}, got {problems:#?}"
        );
    }
}
