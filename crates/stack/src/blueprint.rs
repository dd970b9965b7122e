//! What it takes to create a service's container again, read from the same
//! compose files as the [`Stack`]: image, command, entrypoint, environment
//! (with values), ports, volumes, restart, healthcheck, labels, networks.
//! The recovery wizard recreates containers from it through the engine API.
//!
//! Unlike the [`Stack`], a blueprint holds environment values, which may be
//! secrets: they are only ever handed to the engine. Its `Debug` leaves them
//! out, and nothing here is serialised.
//!
//! Compose keys outside this subset are listed per service
//! ([`Blueprint::unsupported`]), so the wizard hands that service to the
//! user's compose tool instead of creating a container that differs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::compose::{
    ComposeService, ExternalFlag, HealthcheckTest, ListOrMap, ObjectDecl, StringOrList, VolumeEntry,
};
use crate::load::merge_texts;
use crate::ports::{port_specs, PortSpec};
use crate::{parse_duration, Dependency, LoadEnv, Stack, StackError};

/// Compose service keys a container is recreated from through the engine
/// API; any other key sends the service to the compose tool.
pub const SUPPORTED_KEYS: [&str; 17] = [
    "image",
    "container_name",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "volumes",
    "restart",
    "healthcheck",
    "labels",
    "networks",
    "depends_on",
    "profiles",
    "x-stackwarden",
    "scale",
    "deploy",
];

/// One service's container as compose would create it.
#[derive(Clone, PartialEq)]
pub struct Blueprint {
    pub service: String,
    pub image: Option<String>,
    /// Built from a `build:` context.
    pub built: bool,
    pub container_name: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// `KEY=VALUE`, `env_file` first and `environment` over it. Values may
    /// be secrets.
    pub environment: Vec<(String, String)>,
    pub ports: Vec<PortSpec>,
    pub volumes: Vec<Mount>,
    pub restart: Option<String>,
    pub healthcheck: Option<HealthcheckConfig>,
    pub labels: BTreeMap<String, String>,
    /// The engine names of its networks, with the names compose uses.
    pub networks: Vec<NetworkRef>,
    pub depends_on: Vec<Dependency>,
    /// Keys outside [`SUPPORTED_KEYS`] (and unsupported values, such as
    /// several replicas or GPU reservations), each with why: the compose
    /// tool brings this service up.
    pub unsupported: Vec<String>,
    /// Why its container cannot be created at all (a variable compose
    /// needs is not set): a blocker, not a hand-over.
    pub blocked: Vec<String>,
}

impl std::fmt::Debug for Blueprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blueprint")
            .field("service", &self.service)
            .field("image", &self.image)
            .field("command", &self.command)
            .field(
                "environment",
                &self.environment.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("ports", &self.ports)
            .field("volumes", &self.volumes)
            .field("networks", &self.networks)
            .field("unsupported", &self.unsupported)
            .finish_non_exhaustive()
    }
}

/// Where a container path's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountSource {
    /// A named volume: its key in the file and the engine names it may
    /// have (`<project>_<key>` for each name the project goes by, or the
    /// `name:` / external name).
    Volume {
        key: String,
        candidates: Vec<String>,
    },
    /// A host folder or file (absolute).
    Bind(PathBuf),
    /// An anonymous volume: the engine makes a new, empty one.
    Anonymous,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRef {
    /// The name in the file (`default` when the service names none).
    pub key: String,
    /// The engine names it may have, first the one to create.
    pub candidates: Vec<String>,
    /// Declared `external`: used, never created.
    pub external: bool,
}

/// A healthcheck as the engine API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckConfig {
    /// `["CMD-SHELL", "..."]`, `["CMD", ...]` or `["NONE"]`.
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

/// Every service's blueprint, by service name.
#[derive(Debug, Clone, Default)]
pub struct Blueprints {
    pub services: BTreeMap<String, Blueprint>,
    /// The compose files, as compose labels its containers with them.
    pub config_files: Vec<String>,
    /// The first file's folder (compose's working directory).
    pub working_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
struct RawFile {
    services: Option<BTreeMap<String, Option<BTreeMap<String, serde_json::Value>>>>,
}

/// Reads the blueprints of `stack`'s services from the texts it was loaded
/// from (each with its path), in `env`.
pub fn blueprints(
    texts: &[(String, String)],
    env: &LoadEnv,
    stack: &Stack,
) -> Result<Blueprints, StackError> {
    let (merged, env) = merge_texts(texts, env)?;
    // Every key of each service as written, with its value: what the
    // typed reading skips must not be dropped silently.
    let mut keys: BTreeMap<String, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
    for (_, text) in texts {
        let Ok(text) = crate::interpolate(text, &|name| env.var(name).map(ToString::to_string))
        else {
            continue;
        };
        if let Ok(raw) = serde_saphyr::from_str::<RawFile>(&text) {
            for (name, map) in raw.services.unwrap_or_default() {
                keys.entry(name)
                    .or_default()
                    .extend(map.unwrap_or_default());
            }
        }
    }
    let folder = texts
        .first()
        .and_then(|(label, _)| Path::new(label).parent())
        .map(|dir| {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
        });
    let mut projects: Vec<&str> = vec![stack.project.as_str()];
    for alias in &stack.project_aliases {
        if !projects.contains(&alias.as_str()) {
            projects.push(alias);
        }
    }
    let volumes = merged.compose.volumes.unwrap_or_default();
    let networks = merged.compose.networks.unwrap_or_default();
    let mut services = BTreeMap::new();
    for (name, spanned) in merged.compose.services.unwrap_or_default() {
        let Some(service) = stack.services.iter().find(|s| s.name == name) else {
            continue;
        };
        let svc = spanned.value;
        let blueprint = Blueprint {
            service: name.clone(),
            image: service.image.clone(),
            built: service.built,
            container_name: svc.container_name.clone(),
            command: svc.command.as_ref().map(words),
            entrypoint: svc.entrypoint.as_ref().map(words),
            environment: environment(&svc, folder.as_deref(), &env),
            ports: svc
                .ports
                .iter()
                .filter_map(|p| port_specs(&p.value).ok())
                .flatten()
                .collect(),
            volumes: svc
                .volumes
                .iter()
                .map(|v| mount(v, &volumes, &projects, folder.as_deref(), &env))
                .collect(),
            restart: svc.restart.clone(),
            healthcheck: svc.healthcheck.as_ref().and_then(healthcheck),
            labels: svc
                .labels
                .as_ref()
                .map(|l| l.pairs().into_iter().collect())
                .unwrap_or_default(),
            networks: network_refs(&svc, &networks, &projects),
            depends_on: service.depends_on.clone(),
            unsupported: unsupported(keys.get(&name), &svc),
            blocked: Vec::new(),
        };
        services.insert(name, blueprint);
    }
    Ok(Blueprints {
        services,
        config_files: merged.files,
        working_dir: folder,
    })
}

/// A command as the engine takes it: a list as written, a string split as
/// a shell splits words (compose does the same).
fn words(value: &StringOrList) -> Vec<String> {
    match value {
        StringOrList::List(list) => list.clone(),
        StringOrList::Text(text) => shlex::split(text)
            .unwrap_or_else(|| text.split_whitespace().map(ToString::to_string).collect()),
    }
}

fn environment(
    svc: &ComposeService,
    folder: Option<&Path>,
    env: &LoadEnv,
) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut set = |k: String, v: String, out: &mut BTreeMap<String, String>| {
        if out.insert(k.clone(), v).is_none() {
            order.push(k);
        }
    };
    if let Some(files) = &svc.env_file {
        for (path, _required) in files.value.entries() {
            let full = match folder {
                Some(dir) if Path::new(&path).is_relative() => dir.join(&path),
                _ => PathBuf::from(&path),
            };
            let lookup = |name: &str| env.var(name).map(ToString::to_string);
            for (k, v) in crate::dotenv::read_vars(&full, &lookup).unwrap_or_default() {
                set(k, v, &mut out);
            }
        }
    }
    if let Some(list) = &svc.environment {
        for (k, v) in optional_pairs(list) {
            // `KEY` alone passes the variable through from compose's
            // environment, and is left out when that has none.
            match v {
                Some(v) => set(k, v, &mut out),
                None => {
                    if let Some(v) = env.var(&k) {
                        set(k, v.to_string(), &mut out);
                    }
                }
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| out.remove(&k).map(|v| (k, v)))
        .collect()
}

/// `KEY=VALUE` pairs; `None` for a key given without a value.
fn optional_pairs(list: &ListOrMap) -> Vec<(String, Option<String>)> {
    match list {
        ListOrMap::List(items) => items
            .iter()
            .map(|item| match item.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (item.clone(), None),
            })
            .collect(),
        ListOrMap::Map(map) => {
            let pairs = list.pairs();
            pairs
                .into_iter()
                .map(|(k, v)| {
                    let given = map.get(&k).is_some_and(Option::is_some);
                    (k, given.then_some(v))
                })
                .collect()
        }
    }
}

fn mount(
    entry: &VolumeEntry,
    declared: &BTreeMap<String, Option<ObjectDecl>>,
    projects: &[&str],
    folder: Option<&Path>,
    env: &LoadEnv,
) -> Mount {
    let (source, target, read_only) = match entry {
        VolumeEntry::Short(text) => {
            let parts: Vec<&str> = text.split(':').collect();
            match parts.as_slice() {
                [only] => (None, (*only).to_string(), false),
                [source, target] => (Some((*source).to_string()), (*target).to_string(), false),
                [source, target, mode, ..] => (
                    Some((*source).to_string()),
                    (*target).to_string(),
                    mode.split(',').any(|m| m == "ro"),
                ),
                [] => (None, String::new(), false),
            }
        }
        VolumeEntry::Long {
            kind,
            source,
            target,
            read_only,
        } => {
            let source = source.clone().filter(|s| !s.is_empty());
            // `type: bind` binds even a source without `./`.
            let source = match (kind.as_deref(), source) {
                (Some("bind"), Some(s)) if !s.starts_with(['.', '/', '~']) => {
                    Some(format!("./{s}"))
                }
                (_, s) => s,
            };
            (source, target.clone(), read_only.unwrap_or(false))
        }
    };
    let source = match source.filter(|s| !s.is_empty()) {
        None => MountSource::Anonymous,
        Some(s) if s.starts_with('.') || s.starts_with('/') || s.starts_with('~') => {
            let path = match s.strip_prefix('~') {
                Some(rest) => {
                    PathBuf::from(env.var("HOME").unwrap_or("/")).join(rest.trim_start_matches('/'))
                }
                None if s.starts_with('/') => PathBuf::from(&s),
                None => folder.unwrap_or(Path::new(".")).join(&s),
            };
            MountSource::Bind(clean(&path))
        }
        Some(key) => {
            let decl = declared.get(&key).cloned().flatten().unwrap_or_default();
            MountSource::Volume {
                candidates: engine_names(&key, &decl, projects),
                key,
            }
        }
    };
    Mount {
        source,
        target,
        read_only,
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system (the folder
/// may not exist yet).
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The engine names of a declared volume or network: its `name:`, an
/// external one's own name, else `<project>_<key>` for each project name.
fn engine_names(key: &str, decl: &ObjectDecl, projects: &[&str]) -> Vec<String> {
    if let Some(ExternalFlag::Named { name: Some(name) }) = &decl.external {
        return vec![name.clone()];
    }
    if let Some(name) = &decl.name {
        return vec![name.clone()];
    }
    if is_external(decl) {
        return vec![key.to_string()];
    }
    projects.iter().map(|p| format!("{p}_{key}")).collect()
}

fn is_external(decl: &ObjectDecl) -> bool {
    match &decl.external {
        Some(ExternalFlag::Flag(on)) => *on,
        Some(ExternalFlag::Named { .. }) => true,
        None => false,
    }
}

fn network_refs(
    svc: &ComposeService,
    declared: &BTreeMap<String, Option<ObjectDecl>>,
    projects: &[&str],
) -> Vec<NetworkRef> {
    let keys = svc
        .networks
        .as_ref()
        .map(|n| n.names())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| vec!["default".to_string()]);
    keys.into_iter()
        .map(|key| {
            let decl = declared.get(&key).cloned().flatten().unwrap_or_default();
            NetworkRef {
                candidates: engine_names(&key, &decl, projects),
                external: is_external(&decl),
                key,
            }
        })
        .collect()
}

fn healthcheck(h: &crate::compose::Healthcheck) -> Option<HealthcheckConfig> {
    let duration = |d: &Option<String>| d.as_deref().and_then(|t| parse_duration(t).ok());
    let test = if h.disable == Some(true) {
        vec!["NONE".to_string()]
    } else {
        match h.test.as_ref()? {
            HealthcheckTest::Shell(s) => vec!["CMD-SHELL".to_string(), s.clone()],
            HealthcheckTest::List(l) => l.clone(),
        }
    };
    Some(HealthcheckConfig {
        test,
        interval: duration(&h.interval),
        timeout: duration(&h.timeout),
        retries: h.retries,
        start_period: duration(&h.start_period),
    })
}

fn unsupported(
    keys: Option<&BTreeMap<String, serde_json::Value>>,
    svc: &ComposeService,
) -> Vec<String> {
    use serde_json::Value;
    let empty = BTreeMap::new();
    let keys = keys.unwrap_or(&empty);
    let mut out: Vec<String> = keys
        .keys()
        .filter(|k| !SUPPORTED_KEYS.contains(&k.as_str()) && k.as_str() != "build")
        .map(|k| format!("`{k}`"))
        .collect();
    // Within supported keys, the parts a container would be created without.
    if let Some(Value::Object(deploy)) = keys.get("deploy") {
        out.extend(
            deploy
                .keys()
                .filter(|k| k.as_str() != "replicas")
                .map(|k| format!("`deploy.{k}`")),
        );
    }
    if let Some(Value::Object(networks)) = keys.get("networks") {
        for (net, settings) in networks {
            if let Value::Object(settings) = settings {
                out.extend(settings.keys().map(|k| format!("`networks.{net}.{k}`")));
            }
        }
    }
    if let Some(Value::Array(volumes)) = keys.get("volumes") {
        for v in volumes {
            let kind = v.get("type").and_then(Value::as_str);
            if kind.is_some_and(|k| k != "volume" && k != "bind") {
                out.push(format!("`volumes` of type {}", kind.unwrap_or_default()));
            }
            if let Value::Object(long) = v {
                out.extend(
                    long.keys()
                        .filter(|k| {
                            !matches!(k.as_str(), "type" | "source" | "target" | "read_only")
                        })
                        .map(|k| format!("`volumes.{k}`")),
                );
            }
        }
    }
    if let Some(Value::Object(h)) = keys.get("healthcheck") {
        out.extend(
            h.keys()
                .filter(|k| {
                    !matches!(
                        k.as_str(),
                        "test" | "interval" | "timeout" | "retries" | "start_period" | "disable"
                    )
                })
                .map(|k| format!("`healthcheck.{k}`")),
        );
    }
    let replicas = svc
        .deploy
        .as_ref()
        .and_then(|d| d.replicas)
        .or(svc.scale)
        .unwrap_or(1);
    if replicas > 1 {
        out.push(format!("{replicas} replicas"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, env: &[(&str, &str)]) -> Blueprints {
        let texts = vec![("/srv/ai/compose.yaml".to_string(), text.to_string())];
        let env = LoadEnv::from_pairs(env);
        let stack = crate::parse_texts(&texts, &env).expect("valid stack");
        blueprints(&texts, &env, &stack).expect("blueprints")
    }

    #[test]
    fn a_service_reads_every_supported_key() {
        let b = read(
            r#"
name: ai
services:
  db:
    image: postgres:16
    command: postgres -c "shared_buffers=256MB"
    environment:
      POSTGRES_PASSWORD: ${PW}
      PASSTHROUGH:
      MISSING:
    ports: ["127.0.0.1:5432:5432"]
    volumes: [pgdata:/var/lib/postgresql/data, ./init:/docker-entrypoint-initdb.d:ro, /scratch]
    restart: unless-stopped
    healthcheck:
      test: pg_isready -U mcp
      interval: 5s
      retries: 3
    labels: {tier: data}
  app:
    image: busybox
    entrypoint: [sh, -c]
    depends_on: {db: {condition: service_healthy}}
    networks: [back]
volumes:
  pgdata: {}
networks:
  back: {external: true}
"#,
            &[("PW", "s3cret"), ("PASSTHROUGH", "yes")],
        );
        let db = &b.services["db"];
        assert_eq!(
            db.command.as_deref(),
            Some(
                &[
                    "postgres".into(),
                    "-c".into(),
                    "shared_buffers=256MB".into()
                ][..]
            )
        );
        assert_eq!(
            db.environment,
            vec![
                ("PASSTHROUGH".to_string(), "yes".to_string()),
                ("POSTGRES_PASSWORD".to_string(), "s3cret".to_string())
            ]
        );
        assert_eq!(
            db.volumes[0].source,
            MountSource::Volume {
                key: "pgdata".into(),
                candidates: vec!["ai_pgdata".into()]
            }
        );
        assert_eq!(
            db.volumes[1],
            Mount {
                source: MountSource::Bind("/srv/ai/init".into()),
                target: "/docker-entrypoint-initdb.d".into(),
                read_only: true
            }
        );
        assert_eq!(db.volumes[2].source, MountSource::Anonymous);
        let hc = db.healthcheck.as_ref().expect("healthcheck");
        assert_eq!(hc.test, vec!["CMD-SHELL", "pg_isready -U mcp"]);
        assert_eq!(hc.interval, Some(Duration::from_secs(5)));
        assert_eq!(db.networks[0].candidates, vec!["ai_default"]);
        assert!(db.unsupported.is_empty(), "{:?}", db.unsupported);
        let app = &b.services["app"];
        assert_eq!(app.networks[0].candidates, vec!["back"]);
        assert!(app.networks[0].external);
        assert_eq!(app.depends_on[0].service, "db");
        // The secret is not in what Debug prints.
        assert!(!format!("{db:?}").contains("s3cret"));
    }

    #[test]
    fn keys_outside_the_subset_are_named() {
        let b = read(
            "services:\n  gpu:\n    image: llama\n    devices: [/dev/dri]\n    shm_size: 1g\n    deploy: {replicas: 2, resources: {reservations: {devices: [{capabilities: [gpu]}]}}}\n    networks: {back: {aliases: [llm]}}\n    volumes: [{type: tmpfs, target: /cache}, {type: bind, source: models, target: /models, bind: {propagation: rshared}}]\n",
            &[],
        );
        assert_eq!(
            b.services["gpu"].unsupported,
            vec![
                "`devices`",
                "`shm_size`",
                "`deploy.resources`",
                "`networks.back.aliases`",
                "`volumes` of type tmpfs",
                "`volumes.bind`",
                "2 replicas"
            ]
        );
        // `type: bind` with a bare source is a folder beside the file.
        assert_eq!(
            b.services["gpu"].volumes[1].source,
            MountSource::Bind("/srv/ai/models".into())
        );
    }
}
