//! Which compose project a stack file's containers belong to, and which of
//! its services compose would start: the project name and the active
//! profiles, derived the way docker compose, docker-compose and
//! podman-compose derive them, so Stackwarden finds the containers those
//! tools created.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The environment a stack file is read in: compose's own variables
/// (`COMPOSE_PROJECT_NAME`, `COMPOSE_PROFILES`) and, for interpolation, the
/// rest. Tests give their own; the app and the CLI take the process's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadEnv {
    pub vars: BTreeMap<String, String>,
    /// Profiles switched on by the user's config, beside `COMPOSE_PROFILES`.
    pub profiles: Vec<String>,
}

impl LoadEnv {
    /// The process's environment (variables that are not UTF-8 are left out).
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            profiles: Vec::new(),
        }
    }

    /// An environment of just these variables (tests, embedders).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self {
            vars: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            profiles: Vec::new(),
        }
    }

    pub fn with_profiles(mut self, profiles: Vec<String>) -> Self {
        self.profiles = profiles;
        self
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The active profiles: `COMPOSE_PROFILES` (comma separated) and the
    /// config's.
    pub fn active_profiles(&self) -> BTreeSet<String> {
        self.var("COMPOSE_PROFILES")
            .unwrap_or_default()
            .split(',')
            .chain(self.profiles.iter().map(String::as_str))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(ToString::to_string)
            .collect()
    }
}

/// A project name as compose normalises one it derives from a folder:
/// lowercase, only `a-z`, `0-9`, `_` and `-`, not starting with `_` or `-`.
pub fn normalize_project_name(raw: &str) -> String {
    let kept: String = raw
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// Why a project name given outright (`name:`, `COMPOSE_PROJECT_NAME`)
/// would be refused by compose, if it would.
pub fn invalid_project_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the project name is empty".into());
    }
    if normalize_project_name(name) != name {
        return Some(format!(
            "project name `{name}` must hold only lowercase letters, digits, `_` and `-`, and start with a letter or digit (compose refuses it)"
        ));
    }
    None
}

/// Where the project name came from, for messages and the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectNameFrom {
    /// The file's top-level `name:`.
    File,
    /// `COMPOSE_PROJECT_NAME` in the environment.
    Environment,
    /// The compose file's folder.
    Folder,
}

/// The project name as compose derives it (docker compose's documented
/// order): `COMPOSE_PROJECT_NAME`, else the file's `name:`, else the
/// compose file's folder name normalised. `Err` says why a given name
/// cannot be used.
pub fn project_name(
    explicit: Option<&str>,
    env: &LoadEnv,
    file: &str,
) -> Result<(String, ProjectNameFrom), String> {
    if let Some(name) = env.var("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
        return match invalid_project_name(name) {
            None => Ok((name.to_string(), ProjectNameFrom::Environment)),
            Some(why) => Err(format!("COMPOSE_PROJECT_NAME: {why}")),
        };
    }
    if let Some(name) = explicit {
        return match invalid_project_name(name) {
            None => Ok((name.to_string(), ProjectNameFrom::File)),
            Some(why) => Err(format!("name: {why}")),
        };
    }
    let folder = folder_of(file);
    let name = normalize_project_name(&folder);
    if name.is_empty() {
        return Err(format!(
            "the project is named after the compose file's folder, and `{folder}` leaves no valid name; set `name:` in the file or COMPOSE_PROJECT_NAME"
        ));
    }
    Ok((name, ProjectNameFrom::Folder))
}

/// Other names the older tools give the same project:
/// - docker-compose 1.x and podman-compose keep a leading `_` or `-` of the
///   folder's name (`_lab`), docker compose v2 drops it (`lab`);
/// - podman-compose 1.0 (Debian 12's) ignores the file's `name:` and names
///   the project after the folder, so a file with `name:` also answers to
///   its folder's names.
pub fn project_aliases(from: ProjectNameFrom, file: &str) -> Vec<String> {
    match from {
        ProjectNameFrom::Environment => Vec::new(),
        ProjectNameFrom::Folder => folder_variants(file),
        // Text with no file behind it (the built-in stack) has no folder.
        ProjectNameFrom::File if file.starts_with('<') => Vec::new(),
        ProjectNameFrom::File => {
            let mut names = vec![normalize_project_name(&folder_of(file))];
            names.extend(folder_variants(file));
            names.retain(|n| !n.is_empty());
            names.dedup();
            names
        }
    }
}

/// The folder's name as docker-compose 1.x and podman-compose keep it,
/// when it differs from docker compose v2's.
fn folder_variants(file: &str) -> Vec<String> {
    let kept: String = folder_of(file)
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    if kept.is_empty() || kept == normalize_project_name(&kept) {
        Vec::new()
    } else {
        vec![kept]
    }
}

/// The name of the folder holding `file`, made absolute against the
/// current directory when relative (`compose.yaml` alone names the folder
/// compose runs in).
fn folder_of(file: &str) -> String {
    let path = Path::new(file);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    absolute
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> LoadEnv {
        LoadEnv::from_pairs(pairs)
    }

    #[test]
    fn folder_names_normalise_as_compose_does() {
        for (folder, want) in [
            ("labeltest", "labeltest"),
            ("Bars_Proj", "bars_proj"),
            ("My AI Stack!", "myaistack"),
            ("__x-y", "x-y"),
            ("-_9lives", "9lives"),
            ("ÄI.stack", "istack"),
        ] {
            assert_eq!(normalize_project_name(folder), want, "{folder}");
        }
    }

    #[test]
    fn environment_then_name_then_folder() {
        let none = env(&[]);
        let set = env(&[("COMPOSE_PROJECT_NAME", "fromenv")]);
        let file = "/srv/Lab Test/compose.yaml";
        assert_eq!(
            project_name(Some("ai"), &set, file),
            Ok(("fromenv".into(), ProjectNameFrom::Environment))
        );
        assert_eq!(
            project_name(Some("ai"), &none, file),
            Ok(("ai".into(), ProjectNameFrom::File))
        );
        assert_eq!(
            project_name(None, &set, file),
            Ok(("fromenv".into(), ProjectNameFrom::Environment))
        );
        assert_eq!(
            project_aliases(ProjectNameFrom::Folder, "/srv/_Lab/compose.yaml"),
            ["_lab"]
        );
        assert!(project_aliases(ProjectNameFrom::Folder, file).is_empty());
        // podman-compose 1.0 ignores `name:`: the folder's names answer too.
        assert_eq!(
            project_aliases(ProjectNameFrom::File, "/srv/_Lab/compose.yaml"),
            ["lab", "_lab"]
        );
        assert!(project_aliases(ProjectNameFrom::File, "<built-in AI stack>").is_empty());
        assert!(project_aliases(ProjectNameFrom::Environment, "/srv/lab/compose.yaml").is_empty());
        assert_eq!(
            project_name(None, &none, file),
            Ok(("labtest".into(), ProjectNameFrom::Folder))
        );
        let empty = env(&[("COMPOSE_PROJECT_NAME", "")]);
        assert_eq!(
            project_name(None, &empty, file).map(|p| p.0),
            Ok("labtest".into())
        );
    }

    #[test]
    fn names_compose_refuses_are_errors_that_say_why() {
        let none = env(&[]);
        assert!(project_name(Some("My Stack"), &none, "/a/b.yaml")
            .is_err_and(|e| e.contains("lowercase")));
        assert!(project_name(Some(""), &none, "/a/b.yaml").is_err_and(|e| e.contains("empty")));
        let bad = env(&[("COMPOSE_PROJECT_NAME", "Bad!")]);
        assert!(project_name(None, &bad, "/a/b.yaml")
            .is_err_and(|e| e.starts_with("COMPOSE_PROJECT_NAME")));
        assert!(project_name(None, &none, "/!!!/compose.yaml").is_err_and(|e| e.contains("`!!!`")));
    }

    #[test]
    fn profiles_come_from_the_environment_and_the_config() {
        let e = env(&[("COMPOSE_PROFILES", "agents, ,gpu")]).with_profiles(vec!["debug".into()]);
        let active: Vec<String> = e.active_profiles().into_iter().collect();
        assert_eq!(active, ["agents", "debug", "gpu"]);
        assert!(env(&[]).active_profiles().is_empty());
    }
}
