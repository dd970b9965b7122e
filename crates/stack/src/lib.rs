//! The stack definition. Users describe their stack in a compose file
//! (`compose.yaml` / `docker-compose.yml`); Stackwarden reads it, keeps it
//! valid for docker compose and podman-compose, and takes its own settings
//! (groups, required or optional, probes) from `x-stackwarden` extension keys.
//! Everything is validated at load: every problem comes back with file, line,
//! column and reason, so the app can say it and keep the last good definition.
//!
//! The AI stack from the user's report ships embedded as the default.

mod blueprint;
mod compose;
mod depends;
mod dotenv;
mod duration;
mod heal;
mod interpolate;
mod load;
mod ports;
mod project;
mod secrets;
mod size;
mod source;
mod telemetry;
mod validate;

pub use blueprint::{
    blueprints, Blueprint, Blueprints, HealthcheckConfig, Mount, MountSource, NetworkRef,
    SUPPORTED_KEYS,
};
pub use depends::{Dependency, DependencyCondition};
pub use duration::{parse_duration, parse_span, MAX_DURATION};
pub use interpolate::{interpolate, InterpolationProblem};
pub use load::{files_to_read, join_texts, load_files, parse_texts, split_texts, LoadedFiles};
pub use ports::PortSpec;
pub use project::{
    normalize_project_name, project_aliases, project_name, LoadEnv, ProjectNameFrom,
};
pub use secrets::redacted_text;
pub use size::parse_bytes;
pub use source::{GoodText, LoadedStack, SavedText, StackSource, StackWatcher, POLL_INTERVAL};
pub use telemetry::{parse_alert, TelemetryAlert, TELEMETRY_VALUES};
pub use validate::{
    load_file, load_file_with, parse, parse_with, ExtraCheck, LimitSpec, Probe, ProbeKind, Stack,
    StackError, StackProblem, StackService, TelemetrySpec, VerifySpec, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TELEMETRY_DIR, DEFAULT_TELEMETRY_FILES, MAX_BODY_LIMIT_BYTES, MAX_INTERVAL,
    MIN_INTERVAL, MIN_TIMEOUT,
};

/// The AI stack of the user's report: llama.cpp, Qdrant, PostgreSQL, Redis,
/// MindsDB, the MCP services and the optional agent backends.
pub const DEFAULT_STACK_YAML: &str = include_str!("default-stack.yaml");
pub const DEFAULT_STACK_NAME: &str = "<built-in AI stack>";

/// The embedded default stack. It is validated by this crate's tests, so a
/// failure here is a build defect, reported as an error rather than a panic.
///
/// Its PostgreSQL service requires `POSTGRES_PASSWORD` when compose brings
/// it up; Stackwarden keeps no environment values and its probe reads the
/// password from the environment itself, so the built-in stack is read
/// with a stand-in and never fails on a variable the user has not set.
pub fn default_stack() -> Result<Stack, StackError> {
    let env = LoadEnv {
        vars: [("POSTGRES_PASSWORD".to_string(), "unused".to_string())].into(),
        profiles: Vec::new(),
    };
    parse_with(DEFAULT_STACK_YAML, DEFAULT_STACK_NAME, &env)
}

#[cfg(test)]
mod tests;
