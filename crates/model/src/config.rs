//! The user's settings file (`~/.config/stackwarden/config.toml`, or the path
//! in `STACKWARDEN_CONFIG`). Every field has a default, unknown keys are
//! rejected so typos are caught, and an error names the file, line and reason
//! so the app can say it and keep running on defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub const CONFIG_ENV: &str = "STACKWARDEN_CONFIG";
pub const DATA_DIR_ENV: &str = "STACKWARDEN_DATA_DIR";

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub engine: EngineConfig,
    pub refresh: RefreshConfig,
    pub history: HistoryConfig,
    pub stack: StackConfig,
    pub notifications: NotificationsConfig,
    pub desktop: DesktopConfig,
    pub healing: HealingConfig,
}

/// Which desktop notifications the app sends; each kind can be switched off.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, TS)]
#[serde(deny_unknown_fields, default)]
#[ts(export, export_to = "bindings/")]
pub struct NotificationsConfig {
    /// An incident opening (updated while it lasts) and closing.
    pub incidents: bool,
    /// The healer quarantining a service.
    pub quarantine: bool,
    /// A verification with a failed required check.
    pub verification: bool,
    /// The container engine lost and back.
    pub engine: bool,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            incidents: true,
            quarantine: true,
            verification: true,
            engine: true,
        }
    }
}

/// How the desktop app fits into the session.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DesktopConfig {
    /// Start hidden in the tray at login (an XDG autostart entry).
    pub autostart: bool,
    pub theme: Theme,
}

/// The window's colours: the desktop's preference, or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// Self-healing as a whole; each service's policy is in the stack file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealingConfig {
    pub enabled: bool,
}

impl Default for HealingConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StackConfig {
    /// The compose file describing the stack; the built-in AI stack when unset.
    pub file: Option<PathBuf>,
    /// Several compose files merged in order, as `docker compose -f a -f b`
    /// (after `file`, when both are set).
    pub files: Vec<PathBuf>,
    /// Compose profiles to treat as active, beside `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Tried before DOCKER_HOST and the well-known sockets, e.g.
    /// `unix:///run/user/1000/podman/podman.sock` or `tcp://127.0.0.1:2375`.
    pub endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefreshConfig {
    /// How often CPU and memory are sampled while someone is looking.
    pub interval_ms: u64,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self { interval_ms: 2000 }
    }
}

impl RefreshConfig {
    /// The interval, clamped to something the engine can sustain.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.clamp(250, 3_600_000))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HistoryConfig {
    /// Resource samples older than this are deleted.
    pub retention_hours: u32,
    /// At most this many samples are kept per container.
    pub max_samples_per_container: u32,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            retention_hours: 24,
            max_samples_per_container: 5000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}, column {column}: {reason}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
}

impl Config {
    /// The config file the user would edit: `$STACKWARDEN_CONFIG`, else
    /// `$XDG_CONFIG_HOME/stackwarden/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(CONFIG_ENV) {
            return Some(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "stackwarden")
            .map(|d| d.config_dir().join("config.toml"))
    }

    /// Where the app keeps its database: `$STACKWARDEN_DATA_DIR`, else
    /// `$XDG_DATA_HOME/stackwarden`.
    pub fn data_dir() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(DATA_DIR_ENV) {
            return Some(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "stackwarden").map(|d| d.data_dir().to_path_buf())
    }

    /// Reads one config file strictly: any problem is an error.
    pub fn load_from(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Unreadable {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses `text`; a relative `[stack] file` is taken relative to the
    /// config file's folder, and `~/` means the home folder.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let (line, column) = line_column(text, offset);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                reason: e.message().trim().to_string(),
            }
        })?;
        if let Some(file) = config.stack.file.take() {
            config.stack.file = Some(resolve_stack_file(file, path));
        }
        config.stack.files = std::mem::take(&mut config.stack.files)
            .into_iter()
            .map(|f| resolve_stack_file(f, path))
            .collect();
        Ok(config)
    }
}

impl StackConfig {
    /// The compose files to read, in merge order; empty for the built-in stack.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.file.iter().chain(&self.files).cloned().collect()
    }
}

impl Config {
    /// Like `parse`, but a problem inside one `[section]` only costs that
    /// section: it takes its defaults and the other sections still apply.
    /// Returns every problem found, each with its line and column.
    pub fn parse_lenient(text: &str, path: &Path) -> (Self, Vec<ConfigError>) {
        let mut text = text.to_string();
        let mut problems = Vec::new();
        for _ in 0..16 {
            match Self::parse(&text, path) {
                Ok(config) => return (config, problems),
                Err(e) => {
                    let line = match &e {
                        ConfigError::Invalid { line, .. } => *line,
                        ConfigError::Unreadable { .. } => 0,
                    };
                    problems.push(e);
                    match without_section_at(&text, line) {
                        Some(rest) => text = rest,
                        None => break,
                    }
                }
            }
        }
        (Self::default(), problems)
    }

    /// The user's config, leniently: a missing file gives defaults.
    pub fn load_lenient() -> (Self, Vec<ConfigError>) {
        match Self::default_path() {
            Some(path) => Self::load_lenient_from(&path),
            None => (Self::default(), Vec::new()),
        }
    }

    pub fn load_lenient_from(path: &Path) -> (Self, Vec<ConfigError>) {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_lenient(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Self::default(), Vec::new()),
            Err(source) => (
                Self::default(),
                vec![ConfigError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                }],
            ),
        }
    }
}

/// `text` with the `[section]` holding 1-based `line` blanked out (lines
/// kept, so later problems keep their line numbers); `None` when the line
/// is outside any section.
fn without_section_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = line.checked_sub(1)?.min(lines.len().checked_sub(1)?);
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let start = (0..=at).rev().find(|&i| is_header(lines[i]))?;
    let end = (start + 1..lines.len())
        .find(|&i| is_header(lines[i]))
        .unwrap_or(lines.len());
    let kept: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if (start..end).contains(&i) { "" } else { l })
        .collect();
    Some(kept.join("\n"))
}

fn resolve_stack_file(file: PathBuf, config_path: &Path) -> PathBuf {
    if let Ok(rest) = file.strip_prefix("~") {
        if let Some(home) = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()) {
            return home.join(rest);
        }
    }
    if file.is_relative() {
        if let Some(dir) = config_path.parent() {
            return dir.join(file);
        }
    }
    file
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/cfg/config.toml"))
    }

    #[test]
    fn a_bad_section_costs_only_that_section() {
        let text = "[refresh]\ninterval_ms = 1000\nintreval = 5\n\n[stack]\nfile = \"/s/compose.yaml\"\n\n[history]\nretention_hours = \"many\"\n";
        let (config, problems) = Config::parse_lenient(text, Path::new("/cfg/config.toml"));
        assert_eq!(config.stack.file, Some(PathBuf::from("/s/compose.yaml")));
        assert_eq!(config.refresh, RefreshConfig::default());
        assert_eq!(config.history, HistoryConfig::default());
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("line 3, column 1: unknown field `intreval`")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("line 9, column 19")),
            "{messages:?}"
        );
        // Outside any section (or broken beyond repair): all defaults.
        let (config, problems) = Config::parse_lenient("oops = 1\n", Path::new("c.toml"));
        assert_eq!(config, Config::default());
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn stack_file_is_relative_to_the_config_folder() {
        let file = |text: &str| parse(text).ok().and_then(|c| c.stack.file);
        assert_eq!(
            file("[stack]\nfile = \"compose.yaml\""),
            Some(PathBuf::from("/cfg/compose.yaml"))
        );
        assert_eq!(
            file("[stack]\nfile = \"/srv/ai/compose.yaml\""),
            Some(PathBuf::from("/srv/ai/compose.yaml"))
        );
        let home = file("[stack]\nfile = \"~/ai/compose.yaml\"").unwrap_or_default();
        assert!(
            home.is_absolute() && home.ends_with("ai/compose.yaml"),
            "{home:?}"
        );
    }

    #[test]
    fn several_stack_files_merge_in_order_after_file() {
        let config = parse(
            "[stack]\nfile = \"compose.yaml\"\nfiles = [\"gpu.yaml\", \"/srv/extra.yaml\"]\nprofiles = [\"agents\"]",
        )
        .unwrap_or_default();
        assert_eq!(
            config.stack.paths(),
            [
                PathBuf::from("/cfg/compose.yaml"),
                PathBuf::from("/cfg/gpu.yaml"),
                PathBuf::from("/srv/extra.yaml")
            ]
        );
        assert_eq!(config.stack.profiles, ["agents"]);
        assert!(parse("").unwrap_or_default().stack.paths().is_empty());
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("").ok();
        assert_eq!(c, Some(Config::default()));
        assert_eq!(Config::default().refresh.interval(), Duration::from_secs(2));
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            "[engine]\nendpoint = \"unix:///run/podman/podman.sock\"\n[refresh]\ninterval_ms = 5000\n[history]\nretention_hours = 2\nmax_samples_per_container = 10\n",
        );
        let c = c.ok();
        assert_eq!(
            c.as_ref().and_then(|c| c.engine.endpoint.as_deref()),
            Some("unix:///run/podman/podman.sock")
        );
        assert_eq!(c.map(|c| c.refresh.interval_ms), Some(5000));
    }

    #[test]
    fn errors_name_file_line_and_reason() {
        let cases = [
            ("[refresh]\ninterval_ms = \"fast\"\n", 2, "invalid type"),
            ("[engine]\nendpont = \"x\"\n", 2, "unknown field `endpont`"),
            ("[refresh\n", 1, ""),
        ];
        for (text, want_line, want_reason) in cases {
            match parse(text) {
                Err(ConfigError::Invalid {
                    line, reason, path, ..
                }) => {
                    assert_eq!(line, want_line, "{text}: {reason}");
                    assert!(reason.contains(want_reason), "{reason}");
                    assert_eq!(path, Path::new("/cfg/config.toml"));
                }
                other => panic!("expected Invalid for {text:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn interval_is_clamped() {
        let r = RefreshConfig { interval_ms: 1 };
        assert_eq!(r.interval(), Duration::from_millis(250));
    }

    #[test]
    fn missing_file_is_defaults_but_a_directory_is_an_error() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        assert!(Config::load_from(&dir.path().join("nope.toml")).is_ok());
        assert!(matches!(
            Config::load_from(dir.path()),
            Err(ConfigError::Unreadable { .. })
        ));
    }
}
