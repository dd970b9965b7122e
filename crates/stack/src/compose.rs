//! The compose file as written: the subset of the Compose specification that
//! Stackwarden reads, plus its `x-stackwarden` keys. Compose keys it does not
//! use are accepted and ignored (the file is the user's, for compose too);
//! inside `x-stackwarden` unknown keys are errors, to catch typos.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
pub(crate) struct ComposeFile {
    pub name: Option<Spanned<String>>,
    pub services: Option<BTreeMap<String, Spanned<ComposeService>>>,
    /// Top-level `volumes:`: the named volumes and what the engine calls them.
    pub volumes: Option<BTreeMap<String, Option<ObjectDecl>>>,
    /// Top-level `networks:`.
    pub networks: Option<BTreeMap<String, Option<ObjectDecl>>>,
    #[serde(rename = "x-stackwarden")]
    pub stackwarden: Option<StackExtension>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ComposeService {
    pub image: Option<String>,
    /// Built locally (`build: .` or a map); only whether it is set matters.
    pub build: Option<serde::de::IgnoredAny>,
    pub container_name: Option<String>,
    pub command: Option<StringOrList>,
    pub entrypoint: Option<StringOrList>,
    /// `scale:` (compose v2): how many containers of the service.
    pub scale: Option<u32>,
    pub deploy: Option<Deploy>,
    #[serde(default)]
    pub ports: Vec<Spanned<PortEntry>>,
    #[serde(default)]
    pub volumes: Vec<VolumeEntry>,
    pub environment: Option<ListOrMap>,
    /// Files of `KEY=VALUE` lines the container's environment is read from.
    pub env_file: Option<Spanned<EnvFiles>>,
    /// Not supported: reported with its line rather than ignored.
    pub extends: Option<Spanned<serde::de::IgnoredAny>>,
    pub depends_on: Option<Spanned<DependsOn>>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Option<String>,
    pub labels: Option<ListOrMap>,
    pub networks: Option<NamesOrMap>,
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(rename = "x-stackwarden")]
    pub stackwarden: Option<Spanned<ServiceExtension>>,
    /// Which of several merged files each part came from (not in the file).
    #[serde(skip)]
    pub origin: Origin,
}

/// The file (by its index among the merged files) that defined a service,
/// and the later files that replaced some of its keys or added ports, so a
/// problem names the file its line is in.
#[derive(Debug, Default, Clone)]
pub(crate) struct Origin {
    pub service: usize,
    pub keys: BTreeMap<&'static str, usize>,
    /// One per entry of `ports`.
    pub ports: Vec<usize>,
}

impl Origin {
    pub fn of(&self, key: &str) -> usize {
        self.keys.get(key).copied().unwrap_or(self.service)
    }

    pub fn port(&self, index: usize) -> usize {
        self.ports.get(index).copied().unwrap_or(self.service)
    }
}

/// `env_file:`: one path, or a list of paths or `{path, required}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum EnvFiles {
    One(String),
    List(Vec<EnvFileEntry>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum EnvFileEntry {
    Path(String),
    Long {
        path: String,
        #[serde(default = "yes")]
        required: bool,
    },
}

impl EnvFiles {
    /// Each path and whether it must exist.
    pub fn entries(&self) -> Vec<(String, bool)> {
        match self {
            Self::One(p) => vec![(p.clone(), true)],
            Self::List(list) => list
                .iter()
                .map(|e| match e {
                    EnvFileEntry::Path(p) => (p.clone(), true),
                    EnvFileEntry::Long { path, required } => (path.clone(), *required),
                })
                .collect(),
        }
    }
}

/// `deploy:`; only the replica count is read, resources and the rest are
/// the engine's business.
#[derive(Debug, Deserialize)]
pub(crate) struct Deploy {
    pub replicas: Option<u32>,
}

/// `depends_on`: a list of names, or a map of names to their condition.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum DependsOn {
    List(Vec<String>),
    Map(BTreeMap<String, Option<Spanned<DependsOnEntry>>>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct DependsOnEntry {
    pub condition: Option<String>,
    pub required: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum PortEntry {
    Short(String),
    Number(u32),
    Long {
        target: u32,
        published: Option<PortNumber>,
        host_ip: Option<String>,
        protocol: Option<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum PortNumber {
    Number(u32),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum VolumeEntry {
    Short(String),
    Long {
        /// `volume`, `bind`, `tmpfs`, ...; `None` reads the source as
        /// the short syntax does.
        #[serde(rename = "type")]
        kind: Option<String>,
        source: Option<String>,
        target: String,
        read_only: Option<bool>,
    },
}

impl VolumeEntry {
    /// Where it is mounted in the container: the key compose merges by.
    pub fn target(&self) -> String {
        match self {
            Self::Short(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [only] => (*only).to_string(),
                    [_, target, ..] => (*target).to_string(),
                    [] => String::new(),
                }
            }
            Self::Long { target, .. } => target.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ListOrMap {
    List(Vec<String>),
    Map(BTreeMap<String, Option<ScalarValue>>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ScalarValue {
    Text(String),
    Number(f64),
    Bool(bool),
}

/// A list of names, or a map keyed by them (`networks`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum NamesOrMap {
    List(Vec<String>),
    Map(BTreeMap<String, Option<serde::de::IgnoredAny>>),
}

impl NamesOrMap {
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::List(l) => l.clone(),
            Self::Map(m) => m.keys().cloned().collect(),
        }
    }
}

impl ListOrMap {
    /// `KEY=VALUE` list or map, as pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        match self {
            Self::List(l) => l
                .iter()
                .map(|item| match item.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (item.clone(), String::new()),
                })
                .collect(),
            Self::Map(m) => m
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        None => String::new(),
                        Some(ScalarValue::Text(t)) => t.clone(),
                        Some(ScalarValue::Number(n)) => n.to_string(),
                        Some(ScalarValue::Bool(b)) => b.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Healthcheck {
    pub test: Option<HealthcheckTest>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub disable: Option<bool>,
}

/// `command:` / `entrypoint:`: one string (split as a shell would) or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum StringOrList {
    Text(String),
    List(Vec<String>),
}

/// An entry of the top-level `volumes:` or `networks:`: its engine name
/// when `name:` sets one, and whether compose only uses it (`external`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ObjectDecl {
    pub name: Option<String>,
    pub external: Option<ExternalFlag>,
}

/// `external: true`, or the older `external: {name: ...}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ExternalFlag {
    Flag(bool),
    Named { name: Option<String> },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum HealthcheckTest {
    Shell(String),
    List(Vec<String>),
}

/// Top-level `x-stackwarden`: the groups of the health breakdown and the
/// verification checklist's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StackExtension {
    #[serde(default)]
    pub groups: BTreeMap<String, GroupExtension>,
    pub verify: Option<VerifyExtension>,
}

/// `x-stackwarden.verify`: what one-click verification checks beyond what
/// it derives from the services and their probes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyExtension {
    pub telemetry: Option<Spanned<TelemetryExtension>>,
    #[serde(default)]
    pub limits: BTreeMap<String, Spanned<LimitExtension>>,
    #[serde(default)]
    pub checks: Vec<Spanned<CheckExtension>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TelemetryExtension {
    pub dir: String,
    #[serde(default)]
    pub files: Vec<String>,
    pub fresh_within: Option<Spanned<String>>,
    pub required: Option<bool>,
    /// Field names where a service's lines use unusual ones.
    pub fields: Option<stackwarden_telemetry::FieldMapping>,
    #[serde(default)]
    pub alerts: Vec<Spanned<crate::telemetry::AlertEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitExtension {
    pub memory: Option<Spanned<String>>,
    pub cpu_percent: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckExtension {
    pub service: Spanned<String>,
    #[serde(default = "yes")]
    pub required: bool,
    pub probe: Spanned<ProbeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupExtension {
    pub label: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    pub weight: Option<Spanned<f64>>,
    /// The heal policy of the group's services (each may refine it).
    pub heal: Option<Spanned<HealEntry>>,
}

/// `heal:` of a group or a service: every key optional, a service's keys
/// override its group's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealEntry {
    pub enabled: Option<bool>,
    pub on: Option<Spanned<Vec<String>>>,
    pub after: Option<Spanned<String>>,
    pub degraded_after: Option<Spanned<String>>,
    pub start_grace: Option<Spanned<String>>,
    pub action: Option<Spanned<String>>,
    pub backoff: Option<BackoffEntry>,
    pub limit: Option<LimitEntry>,
    pub engine_grace: Option<Spanned<String>>,
    pub log_patterns: Option<Vec<Spanned<LogPatternEntry>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackoffEntry {
    pub initial: Option<Spanned<String>>,
    pub factor: Option<Spanned<f64>>,
    pub cap: Option<Spanned<String>>,
    pub reset_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitEntry {
    pub actions: Option<Spanned<u32>>,
    pub within: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogPatternEntry {
    pub pattern: Spanned<String>,
    pub effect: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// A service's `x-stackwarden`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceExtension {
    pub group: Option<Spanned<String>>,
    #[serde(default)]
    pub probes: Vec<Spanned<ProbeEntry>>,
    pub heal: Option<Spanned<HealEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProbeEntry {
    pub name: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    /// Cap on the HTTP response body an `http`, `qdrant` or `llama` probe
    /// reads (each answer of it), as a
    /// size (`1MiB`, `512KB`); default 1 MiB, at most 64 MiB.
    pub max_body: Option<Spanned<String>>,
    #[serde(default)]
    pub conditions: Vec<Spanned<String>>,
    pub http: Option<HttpEntry>,
    pub tcp: Option<TcpEntry>,
    pub postgres: Option<PostgresEntry>,
    pub redis: Option<RedisEntry>,
    pub qdrant: Option<QdrantEntry>,
    pub container: Option<ContainerEntry>,
    pub llama: Option<LlamaEntry>,
    pub mcp: Option<McpEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpEntry {
    pub url: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TcpEntry {
    pub address: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresEntry {
    pub url: Spanned<String>,
    /// Environment variable holding the password (never the password itself).
    pub password_env: Option<String>,
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub extensions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedisEntry {
    pub url: Spanned<String>,
    #[serde(default)]
    pub require_persistence: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QdrantEntry {
    pub url: Spanned<String>,
    #[serde(default)]
    pub collections: Vec<String>,
}

/// A llama.cpp server (`llama-server`): its base URL, under which `/props`,
/// `/v1/models`, `/slots` and `/metrics` answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LlamaEntry {
    pub url: Spanned<String>,
}

/// An MCP server's streamable HTTP endpoint (e.g. `http://host:8000/mcp`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct McpEntry {
    pub url: Spanned<String>,
}

/// Container state and HEALTHCHECK status; no settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContainerEntry {}
