//! From the compose file as written to a validated `Stack`, collecting every
//! problem with its place in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};
use stackwarden_heal::HealPolicy;
use stackwarden_health::{Condition, GroupSpec};
use stackwarden_model::redact;

use crate::compose::{ComposeFile, DependsOn, ProbeEntry, VerifyExtension};
use crate::depends::{find_cycle, Dependency, DependencyCondition};
use crate::duration::parse_duration;
use crate::interpolate::interpolate;
use crate::ports::{port_specs, PortSpec, MAX_PORTS};
use crate::project::{project_name, LoadEnv, ProjectNameFrom};
use crate::size::parse_bytes;

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest probe `interval`. More often tells nothing new about a
/// service's health, loads it and the app, and `0s` would spin the probe loop.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest probe `interval`: a probe run less often than daily shows
/// nothing current.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);
/// The shortest probe `timeout`: `0s` would fail every run before it starts.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// The HTTP body cap of a probe without `max_body`: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// The largest `max_body` a probe may set: 64 MiB. A health answer larger
/// than this is a mistake, and reading it would cost the app its memory.
pub const MAX_BODY_LIMIT_BYTES: u64 = 64 * 1024 * 1024;
/// Services without a group go here.
pub const DEFAULT_GROUP: &str = "services";

/// One problem in a stack file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}, line {line}, column {column}: {reason}")]
pub struct StackProblem {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackError {
    #[error("cannot read stack file {file}: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<StackProblem>),
}

impl StackError {
    pub fn problems(&self) -> &[StackProblem] {
        match self {
            Self::Invalid(p) => p,
            Self::Unreadable { .. } => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// What the window calls it: the file's `name:`, else its path.
    pub name: String,
    /// The compose project its containers carry in their
    /// `com.docker.compose.project` label ([`crate::project_name`]).
    pub project: String,
    pub project_from: ProjectNameFrom,
    /// The same project as older compose tools name it, when they differ
    /// ([`crate::project_aliases`]).
    pub project_aliases: Vec<String>,
    pub groups: Vec<GroupSpec>,
    pub services: Vec<StackService>,
    pub verify: VerifySpec,
}

/// The report's telemetry folder and files: the default telemetry check.
pub const DEFAULT_TELEMETRY_DIR: &str = "~/.local/share/nixos-ai-stack/telemetry";
pub const DEFAULT_TELEMETRY_FILES: [&str; 2] = ["aidb-events.jsonl", "hybrid-events.jsonl"];
const DEFAULT_FRESH_WITHIN: Duration = Duration::from_secs(24 * 3600);

/// Settings of one-click verification beyond what it derives from the
/// services (`x-stackwarden.verify`).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifySpec {
    pub telemetry: TelemetrySpec,
    /// Per service name.
    pub limits: BTreeMap<String, LimitSpec>,
    pub checks: Vec<ExtraCheck>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySpec {
    /// May start with `~/`.
    pub dir: String,
    pub files: Vec<String>,
    /// Each file must have been written within this long.
    pub fresh_within: Duration,
    pub required: bool,
    /// False when these are the defaults (the report's folder).
    pub configured: bool,
    /// Field names overriding the common ones (`fields:`).
    pub mapping: stackwarden_telemetry::FieldMapping,
    pub alerts: Vec<crate::telemetry::TelemetryAlert>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitSpec {
    pub memory_bytes: Option<u64>,
    pub cpu_percent: Option<f64>,
}

/// A check the stack file adds to the checklist: a probe of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraCheck {
    pub service: String,
    pub required: bool,
    pub probe: Probe,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StackService {
    pub name: String,
    /// `container_name`, when the file sets one; otherwise the container is
    /// found by its compose labels.
    pub container_name: Option<String>,
    /// `image:`, or for a service that is only built, the name compose
    /// gives the image it builds (`<project>-<service>`).
    pub image: Option<String>,
    /// Built from a `build:` context rather than pulled.
    pub built: bool,
    /// How many containers compose runs (`deploy.replicas`, `scale`; 1).
    pub replicas: u32,
    /// Whether compose would start it: it names no `profiles`, or one of
    /// them is active (`COMPOSE_PROFILES`, the config's profiles).
    pub profile_active: bool,
    pub group: String,
    pub depends_on: Vec<Dependency>,
    /// The compose `healthcheck`, when set and not disabled.
    pub healthcheck: Option<HealthcheckSpec>,
    pub ports: Vec<PortSpec>,
    /// Names of the environment variables it sets (values may be secrets
    /// and are not kept).
    pub environment_keys: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub networks: Vec<String>,
    /// Named volumes and bind mounts, as `source:target`.
    pub volumes: Vec<String>,
    pub restart: Option<String>,
    pub profiles: Vec<String>,
    pub probes: Vec<Probe>,
    /// Its heal policy (`x-stackwarden.heal` of its group and its own);
    /// `None`: the healer leaves it alone.
    pub heal: Option<HealPolicy>,
}

impl Stack {
    /// Whether `service`'s group is required (a service in no declared
    /// group is not).
    pub fn is_required(&self, service: &StackService) -> bool {
        self.groups
            .iter()
            .any(|g| g.name == service.group && g.required)
    }
}

impl StackService {
    /// Whether a container (its name and compose labels) is this service's:
    /// by `container_name`, else by the labels every compose tool puts on
    /// it (`com.docker.compose.project` = the stack's project,
    /// `com.docker.compose.service` = the service).
    pub fn is_container(
        &self,
        stack: &Stack,
        name: &str,
        project: Option<&str>,
        service: Option<&str>,
    ) -> bool {
        match &self.container_name {
            Some(own) => own == name,
            None => {
                service == Some(self.name.as_str())
                    && project.is_some_and(|p| {
                        p == stack.project || stack.project_aliases.iter().any(|a| a == p)
                    })
            }
        }
    }

    /// The name its first container gets: `container_name`, else docker
    /// compose's `<project>-<service>-1`.
    pub fn default_container_name(&self, stack_project: &str) -> String {
        self.container_name
            .clone()
            .unwrap_or_else(|| format!("{stack_project}-{}-1", self.name))
    }

    /// The services it depends on, by name.
    pub fn dependency_names(&self) -> impl Iterator<Item = &str> {
        self.depends_on.iter().map(|d| d.service.as_str())
    }
}

/// A compose `healthcheck:` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckSpec {
    /// The command, e.g. `CMD-SHELL pg_isready -U mcp`.
    pub test: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub name: String,
    pub kind: ProbeKind,
    pub interval: Duration,
    pub timeout: Duration,
    /// The most bytes of an HTTP response body the probe reads (`max_body`
    /// in the stack file, e.g. `max_body: 512KB`; default
    /// [`DEFAULT_MAX_BODY_BYTES`], 1 MiB; between 1 byte and
    /// [`MAX_BODY_LIMIT_BYTES`], 64 MiB). Applies to `http`, `qdrant` and
    /// `llama` probes, the ones that read a body (to each answer of it).
    pub max_body_bytes: u64,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    Container,
    Http {
        url: String,
    },
    Tcp {
        address: String,
    },
    Postgres {
        url: String,
        password_env: Option<String>,
        tables: Vec<String>,
        extensions: Vec<String>,
    },
    Redis {
        url: String,
        require_persistence: bool,
    },
    Qdrant {
        url: String,
        collections: Vec<String>,
    },
    /// A llama.cpp server: model, context, slots, metrics.
    Llama {
        url: String,
    },
    /// An MCP server over streamable HTTP: `initialize`, then `tools/list`.
    Mcp {
        url: String,
    },
}

/// The named values a `llama` probe gives (see docs/probes.md).
const LLAMA_VALUES: &[&str] = &[
    "MODEL",
    "N_CTX",
    "SLOTS_TOTAL",
    "SLOTS_BUSY",
    "METRICS",
    "TOKENS_PER_SECOND",
    "PROMPT_TOKENS_PER_SECOND",
    "REQUESTS_PROCESSING",
    "REQUESTS_DEFERRED",
];
/// The named values a `qdrant` probe gives.
const QDRANT_VALUES: &[&str] = &["COLLECTIONS"];
/// The named values a `postgres` probe gives.
const POSTGRES_VALUES: &[&str] = &["ROWS", "PGVECTOR"];
/// The named values a `redis` probe gives.
const REDIS_VALUES: &[&str] = &["USED_MEMORY", "KEYS", "LAST_SAVE", "LAST_BGSAVE_STATUS"];
/// The named values an `mcp` probe gives.
const MCP_VALUES: &[&str] = &["PROTOCOL", "SERVER", "SERVER_VERSION", "TOOLS"];

impl ProbeKind {
    pub fn word(&self) -> &'static str {
        match self {
            Self::Container => "container",
            Self::Http { .. } => "http",
            Self::Tcp { .. } => "tcp",
            Self::Postgres { .. } => "postgres",
            Self::Redis { .. } => "redis",
            Self::Qdrant { .. } => "qdrant",
            Self::Llama { .. } => "llama",
            Self::Mcp { .. } => "mcp",
        }
    }

    /// The named values (`[TOOLS]`) this kind gives its conditions.
    pub fn value_names(&self) -> &'static [&'static str] {
        match self {
            Self::Container | Self::Http { .. } | Self::Tcp { .. } => &[],
            Self::Postgres { .. } => POSTGRES_VALUES,
            Self::Redis { .. } => REDIS_VALUES,
            Self::Qdrant { .. } => QDRANT_VALUES,
            Self::Llama { .. } => LLAMA_VALUES,
            Self::Mcp { .. } => MCP_VALUES,
        }
    }

    /// What the probe checks, for display: its URL or address without any
    /// password or secret query/fragment value written into it
    /// ([`redact::url`]).
    pub fn target(&self) -> String {
        match self {
            Self::Container => "container state".to_string(),
            Self::Http { url }
            | Self::Qdrant { url, .. }
            | Self::Llama { url }
            | Self::Mcp { url }
            | Self::Postgres { url, .. }
            | Self::Redis { url, .. } => redact::url(url),
            Self::Tcp { address } => redact::text(address),
        }
    }
}

/// Reads and validates a stack file in the process's environment.
pub fn load_file(path: &Path) -> Result<Stack, StackError> {
    load_file_with(path, &LoadEnv::from_process())
}

/// Reads and validates a stack file in `env`, as compose reads it: with
/// the `.env` beside it and, for a default-named file, its override file.
pub fn load_file_with(path: &Path, env: &LoadEnv) -> Result<Stack, StackError> {
    crate::load_files(&[path.to_path_buf()], env).map(|loaded| loaded.stack)
}

pub(crate) struct Problems<'a> {
    pub(crate) file: &'a str,
    pub(crate) list: Vec<StackProblem>,
}

impl Problems<'_> {
    pub(crate) fn at(&mut self, at: &Location, reason: impl Into<String>) {
        self.at_column(at, 0, reason);
    }

    /// Every reason is redacted: one that quotes a URL from the file (an
    /// invalid URL, a condition) quotes it without its secrets.
    fn at_column(&mut self, at: &Location, offset: u64, reason: impl Into<String>) {
        self.list.push(StackProblem {
            file: self.file.to_string(),
            line: at.line().max(1),
            column: at.column().max(1).saturating_add(offset),
            reason: redact::text(&reason.into()),
        });
    }
}

/// Validates stack file text read from `file` (which names it in problems
/// and, when the text gives no project name, names the project by its
/// folder), in an empty environment.
pub fn parse(text: &str, file: &str) -> Result<Stack, StackError> {
    parse_with(text, file, &LoadEnv::default())
}

/// Validates stack file text read from `file` in `env`.
pub fn parse_with(text: &str, file: &str, env: &LoadEnv) -> Result<Stack, StackError> {
    let compose = read_compose(text, file, env)?;
    validate(Merged::single(compose, file), env)
}

/// One compose file as text: its variables replaced from `env`, then read.
pub(crate) fn read_compose(
    text: &str,
    file: &str,
    env: &LoadEnv,
) -> Result<ComposeFile, StackError> {
    let text =
        interpolate(text, &|name| env.var(name).map(ToString::to_string)).map_err(|list| {
            StackError::Invalid(
                list.into_iter()
                    .map(|p| StackProblem {
                        file: file.to_string(),
                        line: p.line,
                        column: p.column,
                        reason: redact::text(&p.reason),
                    })
                    .collect(),
            )
        })?;
    serde_saphyr::from_str(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
        StackError::Invalid(vec![StackProblem {
            file: file.to_string(),
            line,
            column,
            reason: redact::text(&yaml_reason(&e.to_string())),
        }])
    })
}

/// Compose files merged into one; each service knows which file each of
/// its parts came from (`Origin`), so problems name the file they are in.
pub(crate) struct Merged {
    pub compose: ComposeFile,
    /// The files, in the order they were merged; the first names the
    /// project's folder.
    pub files: Vec<String>,
    /// The file `x-stackwarden` (its groups and checks) came from last.
    pub extension_file: usize,
}

impl Merged {
    pub fn single(compose: ComposeFile, file: &str) -> Self {
        Self {
            compose,
            files: vec![file.to_string()],
            extension_file: 0,
        }
    }

    fn folder(&self) -> Option<&Path> {
        Path::new(self.files.first()?).parent()
    }
}

/// Validates merged compose files into a `Stack`.
pub(crate) fn validate(merged: Merged, env: &LoadEnv) -> Result<Stack, StackError> {
    let first_file = merged.files.first().cloned().unwrap_or_default();
    let file = first_file.as_str();
    let extension_file = merged
        .files
        .get(merged.extension_file)
        .cloned()
        .unwrap_or_default();
    let folder = merged.folder().map(Path::to_path_buf);
    let files = merged.files.clone();
    let file_at = |index: usize| files.get(index).map_or(file, String::as_str);
    let compose = merged.compose;
    let mut problems = Problems {
        file,
        list: Vec::new(),
    };
    let Some(services) = compose.services.filter(|s| !s.is_empty()) else {
        return Err(StackError::Invalid(vec![StackProblem {
            file: file.to_string(),
            line: 1,
            column: 1,
            reason: "no `services:`; a stack file is a compose file with at least one service"
                .into(),
        }]));
    };

    // Group key (as services name it) -> the group as the breakdown shows it.
    problems.file = &extension_file;
    let (group_entries, verify_entry) = match compose.stackwarden {
        Some(x) => (x.groups, x.verify),
        None => (BTreeMap::new(), None),
    };
    let mut group_heal = BTreeMap::new();
    let declared: BTreeMap<String, GroupSpec> = group_entries
        .into_iter()
        .map(|(key, g)| {
            if let Some(heal) = g.heal {
                group_heal.insert(key.clone(), heal);
            }
            let weight = g.weight.and_then(|w| {
                if w.value.is_finite() && w.value >= 0.0 {
                    Some(w.value)
                } else {
                    problems.at(
                        &w.referenced,
                        format!("weight of group `{key}` must be a number of 0 or more"),
                    );
                    None
                }
            });
            let spec = GroupSpec {
                name: g.label.unwrap_or_else(|| key.clone()),
                required: g.required,
                weight,
            };
            (key, spec)
        })
        .collect();
    let mut groups: Vec<GroupSpec> = declared.values().cloned().collect();
    let service_names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    let name_at = compose
        .name
        .as_ref()
        .map_or(Location::UNKNOWN, |n| n.referenced);
    problems.file = file;
    let (project, project_from) =
        match project_name(compose.name.as_ref().map(|n| n.value.as_str()), env, file) {
            Ok(p) => p,
            Err(reason) => {
                problems.at(&name_at, reason);
                (String::new(), ProjectNameFrom::File)
            }
        };
    let active_profiles = env.active_profiles();
    let mut port_count = 0usize;
    let mut ports_reported = false;

    let mut out = Vec::new();
    for (name, spanned) in &services {
        let svc = &spanned.value;
        let origin = &svc.origin;
        problems.file = file_at(origin.of("extends"));
        if let Some(extends) = &svc.extends {
            problems.at(
                &extends.referenced,
                format!("service `{name}` uses `extends`, which Stackwarden does not read yet; write the service out in full, or list several files in `[stack] files` to merge them"),
            );
        }
        problems.file = file_at(origin.of("env_file"));
        let env_file_keys = env_file_keys(
            name,
            svc.env_file.as_ref(),
            folder.as_deref(),
            &mut problems,
        );
        problems.file = file_at(origin.of("depends_on"));
        let depends_on = dependencies(name, svc.depends_on.as_ref(), &service_names, &mut problems);
        problems.file = file_at(origin.service);
        let image = match (&svc.image, &svc.build) {
            (Some(image), _) => Some(image.clone()),
            (None, Some(_)) => Some(format!("{project}-{name}")),
            (None, None) => {
                problems.at(
                    &spanned.referenced,
                    format!("service `{name}` has neither `image` nor `build`; compose needs one to create its container"),
                );
                None
            }
        };
        let replicas = match (svc.deploy.as_ref().and_then(|d| d.replicas), svc.scale) {
            (Some(r), Some(s)) if r != s => {
                problems.at(
                    &spanned.referenced,
                    format!("service `{name}` sets `scale: {s}` and `deploy.replicas: {r}`; compose refuses the two when they differ"),
                );
                r
            }
            (Some(r), _) | (None, Some(r)) => r,
            (None, None) => 1,
        };
        let mut ports = Vec::new();
        for (i, entry) in svc.ports.iter().enumerate() {
            problems.file = file_at(origin.port(i));
            match port_specs(&entry.value) {
                Ok(list) => {
                    port_count = port_count.saturating_add(list.len());
                    if port_count <= MAX_PORTS {
                        ports.extend(list);
                    }
                }
                Err(reason) => problems.at(
                    &entry.referenced,
                    format!("service `{name}`, ports: {reason}"),
                ),
            }
        }
        problems.file = file_at(origin.service);
        if port_count > MAX_PORTS && !ports_reported {
            problems.at(
                &spanned.referenced,
                format!("the file publishes more than {MAX_PORTS} ports once ranges are expanded"),
            );
            ports_reported = true;
        }
        let profile_active = svc.profiles.is_empty()
            || svc
                .profiles
                .iter()
                .any(|p| active_profiles.contains(p) || active_profiles.contains("*"));
        problems.file = file_at(origin.of("stackwarden"));
        let ext = svc.stackwarden.as_ref();
        let group = match ext.and_then(|x| x.value.group.as_ref()) {
            Some(g) => match declared.get(&g.value) {
                Some(spec) => spec.name.clone(),
                None if declared.is_empty() => g.value.clone(),
                None => {
                    problems.at(&g.referenced, format!(
                        "service `{name}` names group `{}`, which `x-stackwarden.groups` does not declare (declared: {})",
                        g.value,
                        declared.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                    g.value.clone()
                }
            },
            None => DEFAULT_GROUP.to_string(),
        };
        let group_key = ext
            .and_then(|x| x.value.group.as_ref())
            .map_or(DEFAULT_GROUP, |g| g.value.as_str());
        let heal = crate::heal::heal_policy(
            name,
            group_heal.get(group_key),
            ext.and_then(|x| x.value.heal.as_ref()),
            &mut problems,
        );
        let probes = ext
            .map(|x| {
                let list = x
                    .value
                    .probes
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.value.name.as_ref(), probe(name, i, p, &mut problems)))
                    .collect();
                name_probes(list, &format!("service `{name}`"), &mut problems)
            })
            .unwrap_or_default();
        out.push(StackService {
            name: name.clone(),
            container_name: svc.container_name.clone(),
            image,
            built: svc.build.is_some(),
            replicas,
            profile_active,
            group,
            depends_on,
            healthcheck: svc.healthcheck.as_ref().and_then(healthcheck_spec),
            ports,
            environment_keys: {
                let mut keys: Vec<String> = svc
                    .environment
                    .as_ref()
                    .map(|e| e.pairs().into_iter().map(|(k, _)| k).collect())
                    .unwrap_or_default();
                for key in env_file_keys {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                keys
            },
            labels: svc
                .labels
                .as_ref()
                .map(|l| l.pairs().into_iter().collect())
                .unwrap_or_default(),
            networks: svc.networks.as_ref().map(|n| n.names()).unwrap_or_default(),
            volumes: svc.volumes.iter().map(volume_text).collect(),
            restart: svc.restart.clone(),
            profiles: svc.profiles.clone(),
            probes,
            heal,
        });
    }
    // Groups used but not declared (when none are declared) appear as required.
    for s in &out {
        if !groups.iter().any(|g| g.name == s.group) {
            groups.push(GroupSpec {
                name: s.group.clone(),
                required: true,
                weight: None,
            });
        }
    }
    // Required groups first, as the user's report lists them.
    groups.sort_by_key(|g| !g.required);
    let graph: BTreeMap<&str, Vec<&str>> = out
        .iter()
        .map(|s| (s.name.as_str(), s.dependency_names().collect()))
        .collect();
    if let Some(cycle) = find_cycle(&graph) {
        let first = cycle.first().map(String::as_str).unwrap_or_default();
        problems.file = services
            .get(first)
            .map_or(file, |s| file_at(s.value.origin.of("depends_on")));
        let at = services
            .get(first)
            .map(|s| {
                s.value
                    .depends_on
                    .as_ref()
                    .map_or(s.referenced, |d| d.referenced)
            })
            .unwrap_or(Location::UNKNOWN);
        problems.at(
            &at,
            format!(
                "dependency cycle: {}; compose cannot start any of them first",
                cycle.join(" → ")
            ),
        );
    }
    problems.file = &extension_file;
    let verify = verify_spec(verify_entry.as_ref(), &service_names, &mut problems);
    if problems.list.is_empty() {
        Ok(Stack {
            name: compose.name.map_or_else(|| file.to_string(), |n| n.value),
            project_aliases: crate::project::project_aliases(project_from, file),
            project,
            project_from,
            groups,
            services: out,
            verify,
        })
    } else {
        Err(StackError::Invalid(problems.list))
    }
}

/// serde-saphyr renders errors with a snippet; keep the first line's reason.
fn yaml_reason(rendered: &str) -> String {
    let first = rendered.lines().next().unwrap_or(rendered).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.split_once(": ") {
        Some((place, reason)) if place.starts_with("line ") => reason.to_string(),
        _ => first.to_string(),
    }
}

fn probe(
    service: &str,
    index: usize,
    entry: &Spanned<ProbeEntry>,
    problems: &mut Problems<'_>,
) -> Option<Probe> {
    let p = &entry.value;
    let at = &entry.referenced;
    let mut kinds: Vec<ProbeKind> = Vec::new();
    let check_url = |url: &Spanned<String>, schemes: &[&str], problems: &mut Problems<'_>| {
        if !schemes.iter().any(|s| url.value.starts_with(s)) {
            problems.at(
                &url.referenced,
                format!(
                    "`{}` must start with {}",
                    redact::url(&url.value),
                    schemes.join(" or ")
                ),
            );
        }
        url.value.clone()
    };
    if p.container.is_some() {
        kinds.push(ProbeKind::Container);
    }
    if let Some(h) = &p.http {
        kinds.push(ProbeKind::Http {
            url: check_url(&h.url, &["http://", "https://"], problems),
        });
    }
    if let Some(t) = &p.tcp {
        let ok = t
            .address
            .value
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !ok {
            problems.at(
                &t.address.referenced,
                format!("`{}` is not host:port", redact::text(&t.address.value)),
            );
        }
        kinds.push(ProbeKind::Tcp {
            address: t.address.value.clone(),
        });
    }
    if let Some(pg) = &p.postgres {
        kinds.push(ProbeKind::Postgres {
            url: check_url(&pg.url, &["postgres://", "postgresql://"], problems),
            password_env: pg.password_env.clone(),
            tables: pg.tables.clone(),
            extensions: pg.extensions.clone(),
        });
    }
    if let Some(r) = &p.redis {
        kinds.push(ProbeKind::Redis {
            url: check_url(&r.url, &["redis://"], problems),
            require_persistence: r.require_persistence,
        });
    }
    if let Some(q) = &p.qdrant {
        kinds.push(ProbeKind::Qdrant {
            url: check_url(&q.url, &["http://", "https://"], problems),
            collections: q.collections.clone(),
        });
    }
    if let Some(l) = &p.llama {
        kinds.push(ProbeKind::Llama {
            url: check_url(&l.url, &["http://", "https://"], problems),
        });
    }
    if let Some(m) = &p.mcp {
        kinds.push(ProbeKind::Mcp {
            url: check_url(&m.url, &["http://", "https://"], problems),
        });
    }
    let kind = match kinds.len() {
        1 => kinds.remove(0),
        0 => {
            problems.at(at, format!("probe {} of service `{service}` names no check; use one of container, http, tcp, postgres, redis, qdrant, llama, mcp", index + 1));
            return None;
        }
        _ => {
            let words: Vec<&str> = kinds.iter().map(ProbeKind::word).collect();
            problems.at(at, format!("probe {} of service `{service}` names several checks ({}); give each its own probe", index + 1, words.join(", ")));
            return None;
        }
    };
    let interval = match &p.interval {
        None => DEFAULT_INTERVAL,
        Some(s) => match parse_duration(&s.value) {
            Ok(d) if d < MIN_INTERVAL => {
                problems.at(&s.referenced, format!(
                    "interval: `{}` is shorter than 1s; probing more often tells nothing new, loads the service and the app, and 0s would run the probe without pause",
                    s.value.trim()
                ));
                DEFAULT_INTERVAL
            }
            Ok(d) if d > MAX_INTERVAL => {
                problems.at(&s.referenced, format!(
                    "interval: `{}` is longer than 24h; a probe run this rarely shows nothing current",
                    s.value.trim()
                ));
                DEFAULT_INTERVAL
            }
            Ok(d) => d,
            Err(reason) => {
                problems.at(&s.referenced, format!("interval: {reason}"));
                DEFAULT_INTERVAL
            }
        },
    };
    let timeout = match &p.timeout {
        None => DEFAULT_TIMEOUT,
        Some(s) => match parse_duration(&s.value) {
            Ok(d) if d < MIN_TIMEOUT => {
                problems.at(
                    &s.referenced,
                    format!(
                        "timeout: `{}` leaves the probe no time to answer; use at least 1ms",
                        s.value.trim()
                    ),
                );
                DEFAULT_TIMEOUT
            }
            Ok(d) => d,
            Err(reason) => {
                problems.at(&s.referenced, format!("timeout: {reason}"));
                DEFAULT_TIMEOUT
            }
        },
    };
    if timeout > interval {
        problems.at(at, format!("probe {} of service `{service}`: timeout {timeout:?} is longer than its interval {interval:?}", index + 1));
    }
    let max_body_bytes = match &p.max_body {
        None => DEFAULT_MAX_BODY_BYTES,
        Some(m) => max_body(&kind, m, problems),
    };
    let conditions = p
        .conditions
        .iter()
        .filter_map(|c| match c.value.parse::<Condition>() {
            Ok(cond) => match unknown_value(&cond, &kind) {
                None => Some(cond),
                Some(reason) => {
                    problems.at(&c.referenced, format!("condition `{cond}`: {reason}"));
                    None
                }
            },
            Err(e) => {
                problems.at_column(&c.referenced, 0, e.to_string());
                None
            }
        })
        .collect();
    Some(Probe {
        // Unnamed probes are named by `name_probes`, which sees their siblings.
        name: p.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
        kind,
        interval,
        timeout,
        max_body_bytes,
        conditions,
    })
}

/// Why `cond` reads a named value `kind` does not give, if it does.
fn unknown_value(cond: &Condition, kind: &ProbeKind) -> Option<String> {
    let gives = kind.value_names();
    let unknown = cond
        .value_names()
        .into_iter()
        .find(|name| !gives.contains(name))?;
    Some(if gives.is_empty() {
        format!(
            "unknown placeholder `[{unknown}]`; {} probes give [STATUS], [RESPONSE_TIME], [CONNECTED] and [BODY]",
            kind.word()
        )
    } else {
        let names: Vec<String> = gives.iter().map(|n| format!("[{n}]")).collect();
        format!(
            "{} probes give no `[{unknown}]`; they give {}",
            kind.word(),
            names.join(", ")
        )
    })
}

/// A probe entry's explicit name, and its probe when the entry is valid.
type Unnamed<'a> = (Option<&'a Spanned<String>>, Option<Probe>);

/// Names are the keys of probe results (the scheduler's latest run per
/// service and probe name, the checklist's ids), so within one list (a
/// service's probes, or one service's verification checks) they must
/// differ: an explicit name used twice is a problem, and an unnamed probe is
/// named after its kind, numbered from the second of that kind on (`http`,
/// `http-2`, …) and skipping names given explicitly. The default depends
/// only on the list as written, so it stays the same across reloads.
///
/// `list` holds each entry's explicit name and its probe (`None` when the
/// entry was invalid; its name still counts).
fn name_probes(list: Vec<Unnamed<'_>>, owner: &str, problems: &mut Problems<'_>) -> Vec<Probe> {
    let mut explicit: BTreeMap<&str, u64> = BTreeMap::new();
    for name in list.iter().filter_map(|(n, _)| *n) {
        if name.value.trim().is_empty() {
            problems.at(
                &name.referenced,
                format!("a probe of {owner} has an empty name; give it a name or leave `name` out"),
            );
            continue;
        }
        if [
            stackwarden_health::LOG_PATTERN_PROBE,
            stackwarden_health::TELEMETRY_ALERT_PROBE,
        ]
        .contains(&name.value.as_str())
        {
            problems.at(
                &name.referenced,
                format!(
                    "a probe of {owner} is named `{}`, a name Stackwarden keeps for its own results; choose another",
                    name.value
                ),
            );
            continue;
        }
        match explicit.get(name.value.as_str()) {
            Some(first) => problems.at(
                &name.referenced,
                format!(
                    "{owner} has two probes named `{}` (the first on line {first}); each probe needs its own name, which keys its results",
                    name.value
                ),
            ),
            None => {
                explicit.insert(&name.value, name.referenced.line());
            }
        }
    }
    let mut taken: BTreeSet<String> = explicit.keys().map(|n| n.to_string()).collect();
    let mut next_number: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for (name, probe) in list {
        let Some(mut probe) = probe else {
            continue;
        };
        if name.is_none() {
            let word = probe.kind.word();
            let number = next_number.entry(word).or_insert(1);
            loop {
                let candidate = match *number {
                    1 => word.to_string(),
                    n => format!("{word}-{n}"),
                };
                *number = number.saturating_add(1);
                if taken.insert(candidate.clone()) {
                    probe.name = candidate;
                    break;
                }
            }
        }
        out.push(probe);
    }
    out
}

/// A probe's `max_body`, or the default after reporting why it cannot be used.
fn max_body(kind: &ProbeKind, m: &Spanned<String>, problems: &mut Problems<'_>) -> u64 {
    if !matches!(
        kind,
        ProbeKind::Http { .. } | ProbeKind::Qdrant { .. } | ProbeKind::Llama { .. }
    ) {
        problems.at(
            &m.referenced,
            format!(
                "max_body: a {} probe reads no HTTP body it keeps; only http, qdrant and llama probes take `max_body`",
                kind.word()
            ),
        );
        return DEFAULT_MAX_BODY_BYTES;
    }
    match parse_bytes(&m.value) {
        Ok(0) => {
            problems.at(
                &m.referenced,
                "max_body: must be more than 0 bytes, or no answer could be read",
            );
            DEFAULT_MAX_BODY_BYTES
        }
        Ok(n) if n > MAX_BODY_LIMIT_BYTES => {
            problems.at(
                &m.referenced,
                format!("max_body: {n} bytes is more than the limit of 64MiB ({MAX_BODY_LIMIT_BYTES} bytes); a health answer is far smaller"),
            );
            DEFAULT_MAX_BODY_BYTES
        }
        Ok(n) => n,
        Err(reason) => {
            problems.at(&m.referenced, format!("max_body: {reason}"));
            DEFAULT_MAX_BODY_BYTES
        }
    }
}

fn verify_spec(
    entry: Option<&VerifyExtension>,
    services: &BTreeSet<&str>,
    problems: &mut Problems<'_>,
) -> VerifySpec {
    let default_telemetry = TelemetrySpec {
        dir: DEFAULT_TELEMETRY_DIR.to_string(),
        files: DEFAULT_TELEMETRY_FILES
            .iter()
            .map(ToString::to_string)
            .collect(),
        fresh_within: DEFAULT_FRESH_WITHIN,
        required: false,
        configured: false,
        mapping: stackwarden_telemetry::FieldMapping::default(),
        alerts: Vec::new(),
    };
    let Some(v) = entry else {
        return VerifySpec {
            telemetry: default_telemetry,
            limits: BTreeMap::new(),
            checks: Vec::new(),
        };
    };
    let telemetry = match &v.telemetry {
        None => default_telemetry,
        Some(t) => {
            if t.value.files.is_empty() {
                problems.at(&t.referenced, "`telemetry` lists no `files` to check");
            }
            let fresh_within = match &t.value.fresh_within {
                None => DEFAULT_FRESH_WITHIN,
                Some(d) => match parse_duration(&d.value) {
                    Ok(within) if within.is_zero() => {
                        problems.at(
                            &d.referenced,
                            "fresh_within: must be more than 0s, or no file could ever be fresh",
                        );
                        DEFAULT_FRESH_WITHIN
                    }
                    Ok(within) => within,
                    Err(reason) => {
                        problems.at(&d.referenced, format!("fresh_within: {reason}"));
                        DEFAULT_FRESH_WITHIN
                    }
                },
            };
            TelemetrySpec {
                dir: t.value.dir.clone(),
                files: t.value.files.clone(),
                fresh_within,
                required: t.value.required.unwrap_or(true),
                configured: true,
                mapping: t.value.fields.clone().unwrap_or_default(),
                alerts: crate::telemetry::alerts(
                    &t.value.alerts,
                    &t.value.files,
                    services,
                    problems,
                ),
            }
        }
    };
    let mut limits = BTreeMap::new();
    for (service, limit) in &v.limits {
        if !services.contains(service.as_str()) {
            problems.at(
                &limit.referenced,
                format!("`verify.limits` names `{service}`, which is not a service in this file"),
            );
            continue;
        }
        let memory_bytes = limit.value.memory.as_ref().and_then(|m| {
            parse_bytes(&m.value)
                .map_err(|reason| problems.at(&m.referenced, format!("memory: {reason}")))
                .ok()
        });
        let cpu_percent = limit.value.cpu_percent.as_ref().map(|cpu| {
            if !cpu.value.is_finite() || cpu.value <= 0.0 {
                problems.at(
                    &cpu.referenced,
                    format!("cpu_percent of `{service}` must be a number above 0"),
                );
            }
            cpu.value
        });
        limits.insert(
            service.clone(),
            LimitSpec {
                memory_bytes,
                cpu_percent,
            },
        );
    }
    // Per service: each check's explicit name and probe, named together.
    let mut per_service: BTreeMap<&str, Vec<Unnamed<'_>>> = BTreeMap::new();
    let mut order: Vec<(&str, bool)> = Vec::new();
    for (i, c) in v.checks.iter().enumerate() {
        let service = &c.value.service;
        if !services.contains(service.value.as_str()) {
            problems.at(
                &service.referenced,
                format!(
                    "check {} of `verify.checks` names service `{}`, which is not a service in this file",
                    i + 1,
                    service.value
                ),
            );
            continue;
        }
        let probe = probe(&service.value, i, &c.value.probe, problems);
        if probe.is_some() {
            order.push((service.value.as_str(), c.value.required));
        }
        per_service
            .entry(service.value.as_str())
            .or_default()
            .push((c.value.probe.value.name.as_ref(), probe));
    }
    let mut named: BTreeMap<&str, std::vec::IntoIter<Probe>> = per_service
        .into_iter()
        .map(|(service, list)| {
            let owner = format!("`verify.checks` of service `{service}`");
            (service, name_probes(list, &owner, problems).into_iter())
        })
        .collect();
    // Back in file order: each service's named probes come in its order.
    let checks = order
        .into_iter()
        .filter_map(|(service, required)| {
            let probe = named.get_mut(service)?.next()?;
            Some(ExtraCheck {
                service: service.to_string(),
                required,
                probe,
            })
        })
        .collect();
    VerifySpec {
        telemetry,
        limits,
        checks,
    }
}

/// The variable names a service's `env_file:` files set (the values are
/// the container's and may be secrets: not kept). A required file that
/// cannot be read is a problem, as for compose; paths are relative to the
/// first compose file's folder.
fn env_file_keys(
    name: &str,
    entry: Option<&Spanned<crate::compose::EnvFiles>>,
    folder: Option<&Path>,
    problems: &mut Problems<'_>,
) -> Vec<String> {
    let Some(entry) = entry else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for (path, required) in entry.value.entries() {
        let full = match folder {
            Some(dir) if Path::new(&path).is_relative() => dir.join(&path),
            _ => Path::new(&path).to_path_buf(),
        };
        match crate::dotenv::read_keys(&full) {
            Ok(list) => keys.extend(list),
            Err(_) if !required => {}
            Err(reason) => problems.at(
                &entry.referenced,
                format!("service `{name}`, env_file `{path}`: {reason}"),
            ),
        }
    }
    keys
}

/// A service's `depends_on` entries; names that are not services of the
/// file and unknown conditions are problems.
fn dependencies(
    name: &str,
    entry: Option<&Spanned<DependsOn>>,
    services: &BTreeSet<&str>,
    problems: &mut Problems<'_>,
) -> Vec<Dependency> {
    let Some(entry) = entry else {
        return Vec::new();
    };
    let listed: Vec<(String, Location, Option<String>, bool)> = match &entry.value {
        DependsOn::List(names) => names
            .iter()
            .map(|n| (n.clone(), entry.referenced, None, true))
            .collect(),
        DependsOn::Map(map) => map
            .iter()
            .map(|(n, e)| match e {
                // Inside the untagged list-or-map, serde-saphyr knows no
                // place for an entry: use the `depends_on` key's.
                Some(e) => (
                    n.clone(),
                    if e.referenced == Location::UNKNOWN {
                        entry.referenced
                    } else {
                        e.referenced
                    },
                    e.value.condition.clone(),
                    e.value.required.unwrap_or(true),
                ),
                None => (n.clone(), entry.referenced, None, true),
            })
            .collect(),
    };
    let mut out = Vec::new();
    for (service, at, condition, required) in listed {
        if !services.contains(service.as_str()) {
            problems.at(
                &at,
                format!(
                    "service `{name}` depends on `{service}`, which is not a service in this file"
                ),
            );
            continue;
        }
        let condition = match condition.as_deref() {
            None => DependencyCondition::Started,
            Some(word) => match DependencyCondition::parse(word) {
                Some(c) => c,
                None => {
                    problems.at(&at, format!("service `{name}` waits for `{service}` on condition `{word}`; use service_started, service_healthy or service_completed_successfully"));
                    continue;
                }
            },
        };
        out.push(Dependency {
            service,
            condition,
            required,
        });
    }
    out
}

fn healthcheck_spec(h: &crate::compose::Healthcheck) -> Option<HealthcheckSpec> {
    use crate::compose::HealthcheckTest;
    if h.disable == Some(true) {
        return None;
    }
    let test = match h.test.as_ref()? {
        HealthcheckTest::Shell(s) => s.clone(),
        HealthcheckTest::List(l) if l.first().map(String::as_str) == Some("NONE") => return None,
        HealthcheckTest::List(l) => l.join(" "),
    };
    Some(HealthcheckSpec {
        test,
        interval: h.interval.clone(),
        timeout: h.timeout.clone(),
        retries: h.retries,
    })
}

fn volume_text(v: &crate::compose::VolumeEntry) -> String {
    use crate::compose::VolumeEntry;
    match v {
        VolumeEntry::Short(s) => s.clone(),
        VolumeEntry::Long { source, target, .. } => {
            format!("{}:{target}", source.as_deref().unwrap_or(""))
        }
    }
}
