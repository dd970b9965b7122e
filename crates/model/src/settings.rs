//! The settings the window edits, and writing them back into the user's
//! `config.toml` without losing what the user wrote there: comments, order,
//! blank lines and keys the window does not know stay as they were
//! (`toml_edit`). Only the values that changed are touched, so a default
//! never gets spelled out by saving something else. Every value is checked
//! before anything is written; a refusal names the setting and why.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml_edit::{value, Array, DocumentMut, Item, Table};
use ts_rs::TS;

use crate::config::{Config, NotificationsConfig, Theme};

/// The shortest and longest sampling interval the engine can sustain.
pub const INTERVAL_MS: (u64, u64) = (250, 3_600_000);
/// Retention between an hour and a year.
pub const RETENTION_HOURS: (u32, u32) = (1, 8760);

/// What the Settings view shows and saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Settings {
    /// Compose files merged in order; empty for the built-in AI stack.
    pub stack_files: Vec<String>,
    /// Tried before DOCKER_HOST and the well-known sockets.
    pub engine_endpoint: Option<String>,
    #[ts(type = "number")]
    pub refresh_interval_ms: u64,
    pub retention_hours: u32,
    pub notifications: NotificationsConfig,
    pub autostart: bool,
    pub theme: Theme,
    pub healing_enabled: bool,
}

impl Settings {
    pub fn of(config: &Config) -> Self {
        Self {
            stack_files: config
                .stack
                .paths()
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            engine_endpoint: config.engine.endpoint.clone(),
            refresh_interval_ms: config.refresh.interval_ms,
            retention_hours: config.history.retention_hours,
            notifications: config.notifications.clone(),
            autostart: config.desktop.autostart,
            theme: config.desktop.theme,
            healing_enabled: config.healing.enabled,
        }
    }
}

/// A value refused before it was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct SettingRefused {
    pub setting: &'static str,
    pub reason: String,
}

fn refuse(setting: &'static str, reason: impl Into<String>) -> SettingRefused {
    SettingRefused {
        setting,
        reason: reason.into(),
    }
}

/// Checks what can be checked without the engine: ranges, the endpoint's
/// form, and that each stack file is an absolute path to a readable file.
pub fn validate(s: &Settings) -> Result<(), SettingRefused> {
    let (lo, hi) = INTERVAL_MS;
    if !(lo..=hi).contains(&s.refresh_interval_ms) {
        return Err(refuse(
            "Sampling interval",
            format!("must be between {lo} ms and {} hours", hi / 3_600_000),
        ));
    }
    let (lo, hi) = RETENTION_HOURS;
    if !(lo..=hi).contains(&s.retention_hours) {
        return Err(refuse(
            "Retention",
            format!("must be between {lo} and {hi} hours"),
        ));
    }
    if let Some(endpoint) = &s.engine_endpoint {
        endpoint_form(endpoint).map_err(|why| refuse("Engine endpoint", why))?;
    }
    for file in &s.stack_files {
        stack_file_form(file).map_err(|why| refuse("Stack file", why))?;
    }
    Ok(())
}

/// `unix:///absolute/path`, `tcp://host:port` or `http(s)://host:port`.
pub fn endpoint_form(endpoint: &str) -> Result<(), String> {
    if endpoint.trim() != endpoint || endpoint.is_empty() {
        return Err("is empty or has spaces around it".into());
    }
    if endpoint.chars().any(char::is_control) {
        return Err("has control characters".into());
    }
    if let Some(path) = endpoint.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(format!(
                "{endpoint} is not unix:// followed by an absolute socket path"
            ));
        }
        return Ok(());
    }
    let url = url::Url::parse(endpoint).map_err(|e| format!("is not a URL: {e}"))?;
    if !matches!(url.scheme(), "tcp" | "http" | "https") {
        return Err(format!(
            "scheme {}: is not one of unix://, tcp://, http://, https://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
        return Err("needs a host and a port, e.g. tcp://127.0.0.1:2375".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    Ok(())
}

fn stack_file_form(file: &str) -> Result<(), String> {
    let path = Path::new(file);
    if file.trim().is_empty() {
        return Err("an empty path".into());
    }
    if !path.is_absolute() {
        return Err(format!("{file} is not an absolute path"));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(format!("{file} is not a file")),
        Err(e) => Err(format!("{file}: {e}")),
    }
}

/// Why the config file could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "{path} is not TOML Stackwarden can edit (line {line}): {reason}; fix it by hand first"
    )]
    Unparsable {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: [{section}] is not a table; fix it by hand first")]
    NotATable { path: PathBuf, section: String },
}

/// `text` (the config file as it is) with the settings that differ from
/// `before` written in; everything else is left byte for byte.
pub fn edit(
    text: &str,
    path: &Path,
    before: &Settings,
    after: &Settings,
) -> Result<String, EditError> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        EditError::Unparsable {
            path: path.to_path_buf(),
            line,
            reason: e.message().to_string(),
        }
    })?;
    let mut set = |section: &str, key: &str, item: Option<Item>| -> Result<(), EditError> {
        let table = section_of(&mut doc, section).ok_or_else(|| EditError::NotATable {
            path: path.to_path_buf(),
            section: section.to_string(),
        })?;
        match item {
            // An existing value keeps its comments and spacing.
            Some(Item::Value(new)) if table.get(key).is_some_and(Item::is_value) => {
                if let Some(old) = table.get_mut(key).and_then(Item::as_value_mut) {
                    let decor = old.decor().clone();
                    *old = new;
                    *old.decor_mut() = decor;
                }
            }
            Some(item) => {
                table.insert(key, item);
            }
            None => {
                table.remove(key);
            }
        }
        Ok(())
    };
    if before.stack_files != after.stack_files {
        let (file, files) = match after.stack_files.as_slice() {
            [] => (None, None),
            [one] => (Some(value(one.as_str())), None),
            [first, rest @ ..] => (
                Some(value(first.as_str())),
                Some(value(rest.iter().map(String::as_str).collect::<Array>())),
            ),
        };
        set("stack", "file", file)?;
        set("stack", "files", files)?;
    }
    if before.engine_endpoint != after.engine_endpoint {
        let item = after.engine_endpoint.as_deref().map(value);
        set("engine", "endpoint", item)?;
    }
    if before.refresh_interval_ms != after.refresh_interval_ms {
        let ms = i64::try_from(after.refresh_interval_ms).unwrap_or(i64::MAX);
        set("refresh", "interval_ms", Some(value(ms)))?;
    }
    if before.retention_hours != after.retention_hours {
        let hours = i64::from(after.retention_hours);
        set("history", "retention_hours", Some(value(hours)))?;
    }
    let (b, a) = (&before.notifications, &after.notifications);
    for (key, was, now) in [
        ("incidents", b.incidents, a.incidents),
        ("quarantine", b.quarantine, a.quarantine),
        ("verification", b.verification, a.verification),
        ("engine", b.engine, a.engine),
    ] {
        if was != now {
            set("notifications", key, Some(value(now)))?;
        }
    }
    if before.autostart != after.autostart {
        set("desktop", "autostart", Some(value(after.autostart)))?;
    }
    if before.theme != after.theme {
        set("desktop", "theme", Some(value(after.theme.as_str())))?;
    }
    if before.healing_enabled != after.healing_enabled {
        set("healing", "enabled", Some(value(after.healing_enabled)))?;
    }
    Ok(doc.to_string())
}

/// The `[section]` table, created at the end when missing; `None` when the
/// name holds something else (a string, an array).
fn section_of<'d>(doc: &'d mut DocumentMut, section: &str) -> Option<&'d mut Table> {
    if !doc.contains_key(section) {
        doc.insert(section, Item::Table(Table::new()));
    }
    doc.get_mut(section)?.as_table_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_FILE: &str = "# My Stackwarden settings\n\n[refresh]\n# every second while I look\ninterval_ms = 1000 # fast\n\n[stack]\nfile = \"stack.yaml\"  # the AI stack\nprofiles = [\"gpu\"]\n";

    fn settings(text: &str) -> Settings {
        let config = Config::parse(text, Path::new("/cfg/config.toml")).unwrap_or_default();
        Settings::of(&config)
    }

    #[test]
    fn a_changed_value_is_written_and_the_users_comments_stay() {
        let before = settings(USER_FILE);
        let mut after = before.clone();
        after.refresh_interval_ms = 5000;
        after.notifications.engine = false;
        after.theme = Theme::Dark;
        let out =
            edit(USER_FILE, Path::new("/cfg/config.toml"), &before, &after).unwrap_or_default();
        assert!(out.starts_with("# My Stackwarden settings\n\n[refresh]\n# every second while I look\ninterval_ms = 5000 # fast\n"), "{out}");
        assert!(
            out.contains("file = \"stack.yaml\"  # the AI stack\nprofiles = [\"gpu\"]\n"),
            "{out}"
        );
        assert!(out.contains("[notifications]\nengine = false\n"), "{out}");
        assert!(out.contains("[desktop]\ntheme = \"dark\"\n"), "{out}");
        // Nothing unchanged is spelled out.
        assert!(!out.contains("retention_hours"), "{out}");
        assert!(!out.contains("incidents"), "{out}");
        let back = Config::parse(&out, Path::new("/cfg/config.toml")).unwrap_or_default();
        assert_eq!(Settings::of(&back), after);
    }

    #[test]
    fn stack_files_become_file_then_files() {
        let before = settings("");
        let mut after = before.clone();
        after.stack_files = vec!["/srv/a.yaml".into(), "/srv/b.yaml".into()];
        let out = edit("", Path::new("/c.toml"), &before, &after).unwrap_or_default();
        assert_eq!(
            out,
            "[stack]\nfile = \"/srv/a.yaml\"\nfiles = [\"/srv/b.yaml\"]\n"
        );
        let mut none = after.clone();
        none.stack_files.clear();
        let out = edit(&out, Path::new("/c.toml"), &after, &none).unwrap_or_default();
        assert_eq!(out, "[stack]\n");
    }

    #[test]
    fn invalid_values_are_refused_with_the_reason() {
        let good = settings("");
        assert_eq!(validate(&good), Ok(()));
        let refused = |f: &dyn Fn(&mut Settings)| {
            let mut s = good.clone();
            f(&mut s);
            validate(&s)
                .map_err(|e| e.to_string())
                .err()
                .unwrap_or_default()
        };
        assert!(refused(&|s| s.refresh_interval_ms = 10)
            .starts_with("Sampling interval: must be between 250 ms"));
        assert!(refused(&|s| s.retention_hours = 0).starts_with("Retention: must be between 1"));
        assert!(
            refused(&|s| s.engine_endpoint = Some("unix://run/podman.sock".into()))
                .contains("absolute socket path")
        );
        assert!(refused(&|s| s.engine_endpoint = Some("ftp://h:1".into())).contains("scheme ftp"));
        assert!(
            refused(&|s| s.engine_endpoint = Some("tcp://127.0.0.1".into()))
                .contains("needs a host and a port")
        );
        assert!(
            refused(&|s| s.engine_endpoint = Some("tcp://u:pw@h:1".into()))
                .contains("user name or password")
        );
        assert!(
            refused(&|s| s.stack_files = vec!["rel.yaml".into()]).contains("not an absolute path")
        );
        assert!(
            refused(&|s| s.stack_files = vec!["/nonexistent/x.yaml".into()])
                .starts_with("Stack file: /nonexistent/x.yaml: ")
        );
        for ok in [
            "unix:///run/podman/podman.sock",
            "tcp://127.0.0.1:2375",
            "https://docker.lan:2376",
        ] {
            let mut s = good.clone();
            s.engine_endpoint = Some(ok.into());
            assert_eq!(validate(&s), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_file_that_is_not_toml_is_not_overwritten() {
        let before = settings("");
        let mut after = before.clone();
        after.autostart = true;
        let err = edit("[stack\nfile = 1", Path::new("/c.toml"), &before, &after)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("/c.toml is not TOML Stackwarden can edit (line 1)"),
            "{err}"
        );
        let err = edit("stack = 3\n", Path::new("/c.toml"), &before, &{
            let mut s = before.clone();
            s.stack_files = vec!["/a.yaml".into()];
            s
        })
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("[stack] is not a table"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn editing_any_text_never_panics(text in "\\PC{0,200}", endpoint in "\\PC{0,40}") {
            let before = settings("");
            let mut after = before.clone();
            after.engine_endpoint = Some(endpoint.clone());
            after.retention_hours = 48;
            let _ = endpoint_form(&endpoint);
            if let Ok(out) = edit(&text, Path::new("/c.toml"), &before, &after) {
                let again: Result<DocumentMut, _> = out.parse();
                proptest::prop_assert!(again.is_ok());
            }
        }
    }
}
