//! Reading a stack from its compose files the way compose reads them: the
//! files in order (several merged, later ones overriding), a
//! `compose.override.yaml` beside a default-named file picked up, variables
//! from the process environment and the `.env` file beside the first file
//! (the environment wins), then one validation of the merged result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compose::{ComposeFile, ComposeService, StackExtension};
use crate::validate::{read_compose, validate, Merged};
use crate::{LoadEnv, Stack, StackError, StackProblem};

/// The names compose looks for when no file is given; only a file of one
/// of these names gets its override file picked up, as compose does.
const DEFAULT_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];
const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
];

/// The files to read for `given`: as given; a single default-named file is
/// followed by the override file beside it, when there is one.
pub fn files_to_read(given: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = given.to_vec();
    if let [only] = given {
        let named_default = only
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| DEFAULT_NAMES.contains(&n));
        if named_default {
            let dir = only.parent().unwrap_or(Path::new("."));
            if let Some(found) = OVERRIDE_NAMES
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
            {
                files.push(found);
            }
        }
    }
    files
}

/// A stack read from files, with each file's text (to save as the last
/// good definition).
#[derive(Debug, Clone)]
pub struct LoadedFiles {
    pub stack: Stack,
    pub texts: Vec<(String, String)>,
}

/// `env` with the variables of the `.env` file in `folder` that the
/// environment does not set itself.
pub fn with_dotenv(env: &LoadEnv, folder: &Path) -> Result<LoadEnv, StackProblem> {
    let path = folder.join(".env");
    if !path.is_file() {
        return Ok(env.clone());
    }
    let vars = crate::dotenv::read_vars(&path, &|name| env.var(name).map(ToString::to_string))
        .map_err(|reason| StackProblem {
            file: path.display().to_string(),
            line: 1,
            column: 1,
            reason,
        })?;
    let mut out = env.clone();
    for (key, value) in vars {
        out.vars.entry(key).or_insert(value);
    }
    Ok(out)
}

/// Reads, interpolates, merges and validates `given` (see the module doc).
pub fn load_files(given: &[PathBuf], env: &LoadEnv) -> Result<LoadedFiles, StackError> {
    let files = files_to_read(given);
    let mut texts = Vec::new();
    for path in &files {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StackError::Unreadable {
            file: label.clone(),
            reason: e.to_string(),
        })?;
        texts.push((label, text));
    }
    let stack = parse_texts(&texts, env)?;
    Ok(LoadedFiles { stack, texts })
}

/// [`load_files`] on texts already read, each with the path it came from.
pub fn parse_texts(texts: &[(String, String)], env: &LoadEnv) -> Result<Stack, StackError> {
    let (merged, env) = merge_texts(texts, env)?;
    validate(merged, &env)
}

/// The texts read and merged as compose merges them, with the environment
/// they were read in (the `.env` beside the first file added).
pub(crate) fn merge_texts(
    texts: &[(String, String)],
    env: &LoadEnv,
) -> Result<(Merged, LoadEnv), StackError> {
    // A bare `compose.yaml` is in the current folder.
    let folder = texts.first().and_then(|(label, _)| {
        Path::new(label).parent().map(|dir| {
            if dir.as_os_str().is_empty() {
                Path::new(".").to_path_buf()
            } else {
                dir.to_path_buf()
            }
        })
    });
    let env = match &folder {
        Some(dir) => with_dotenv(env, dir).map_err(|p| StackError::Invalid(vec![p]))?,
        None => env.clone(),
    };
    let mut problems = Vec::new();
    let mut merged: Option<Merged> = None;
    for (index, (label, text)) in texts.iter().enumerate() {
        match read_compose(text, label, &env) {
            Ok(mut compose) => {
                for service in compose.services.iter_mut().flat_map(|s| s.values_mut()) {
                    service.value.origin.service = index;
                }
                match &mut merged {
                    None => {
                        let mut first = Merged::single(compose, label);
                        first.files = texts.iter().map(|(l, _)| l.clone()).collect();
                        first.extension_file = index;
                        merged = Some(first);
                    }
                    Some(into) => merge(into, compose, index),
                }
            }
            Err(StackError::Invalid(list)) => problems.extend(list),
            Err(other) => return Err(other),
        }
    }
    if !problems.is_empty() {
        return Err(StackError::Invalid(problems));
    }
    match merged {
        Some(merged) => Ok((merged, env)),
        None => Err(StackError::Unreadable {
            file: String::new(),
            reason: "no stack file given".into(),
        }),
    }
}

/// Merges a later file into what was read so far, as compose merges:
/// single values are replaced, maps merged by key, `ports` added,
/// `volumes` merged by their target.
fn merge(into: &mut Merged, later: ComposeFile, index: usize) {
    if later.name.is_some() {
        into.compose.name = later.name;
    }
    for (own, more) in [
        (&mut into.compose.volumes, later.volumes),
        (&mut into.compose.networks, later.networks),
    ] {
        if let Some(more) = more {
            own.get_or_insert_with(BTreeMap::new).extend(more);
        }
    }
    if let Some(ext) = later.stackwarden {
        into.extension_file = index;
        match &mut into.compose.stackwarden {
            None => into.compose.stackwarden = Some(ext),
            Some(own) => merge_extension(own, ext),
        }
    }
    let Some(services) = later.services else {
        return;
    };
    let own = into.compose.services.get_or_insert_with(BTreeMap::new);
    for (name, service) in services {
        match own.get_mut(&name) {
            None => {
                own.insert(name, service);
            }
            Some(existing) => merge_service(&mut existing.value, service.value, index),
        }
    }
}

fn merge_extension(own: &mut StackExtension, later: StackExtension) {
    own.groups.extend(later.groups);
    if later.verify.is_some() {
        own.verify = later.verify;
    }
}

fn merge_service(own: &mut ComposeService, later: ComposeService, index: usize) {
    macro_rules! replace {
        ($($field:ident),*) => {
            $(if later.$field.is_some() {
                own.$field = later.$field;
                own.origin.keys.insert(stringify!($field), index);
            })*
        };
    }
    replace!(
        image,
        build,
        container_name,
        command,
        entrypoint,
        scale,
        deploy,
        env_file,
        extends,
        healthcheck,
        restart,
        networks,
        stackwarden
    );
    own.environment = merge_pairs(own.environment.take(), later.environment);
    own.labels = merge_pairs(own.labels.take(), later.labels);
    if later.depends_on.is_some() {
        own.depends_on = later.depends_on;
        own.origin.keys.insert("depends_on", index);
    }
    if !later.profiles.is_empty() {
        own.profiles = later.profiles;
    }
    // Ports of the earlier files keep theirs.
    let earlier = own.ports.len();
    own.origin.ports.resize(earlier, own.origin.service);
    own.origin
        .ports
        .extend(std::iter::repeat_n(index, later.ports.len()));
    own.ports.extend(later.ports);
    for volume in later.volumes {
        let target = volume.target();
        own.volumes.retain(|v| v.target() != target);
        own.volumes.push(volume);
    }
}

fn merge_pairs(
    own: Option<crate::compose::ListOrMap>,
    later: Option<crate::compose::ListOrMap>,
) -> Option<crate::compose::ListOrMap> {
    use crate::compose::{ListOrMap, ScalarValue};
    match (own, later) {
        (own, None) => own,
        (None, later) => later,
        (Some(own), Some(later)) => {
            let mut map: BTreeMap<String, Option<ScalarValue>> = own
                .pairs()
                .into_iter()
                .map(|(k, v)| (k, Some(ScalarValue::Text(v))))
                .collect();
            for (k, v) in later.pairs() {
                map.insert(k, Some(ScalarValue::Text(v)));
            }
            Some(ListOrMap::Map(map))
        }
    }
}

/// Several files' texts as one text to save, and back: each file's text
/// after a marker line naming it.
const FILE_MARKER: &str = "# stackwarden: file ";

pub fn join_texts(texts: &[(String, String)]) -> String {
    match texts {
        [(_, only)] => only.clone(),
        many => many
            .iter()
            .map(|(label, text)| {
                let end = if text.is_empty() || text.ends_with('\n') {
                    ""
                } else {
                    "\n"
                };
                format!("{FILE_MARKER}{label}\n{text}{end}")
            })
            .collect(),
    }
}

/// The files of a text saved by [`join_texts`]; a text without markers is
/// the one file `label`.
pub fn split_texts(saved: &str, label: &str) -> Vec<(String, String)> {
    if !saved.starts_with(FILE_MARKER) {
        return vec![(label.to_string(), saved.to_string())];
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for line in saved.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix(FILE_MARKER) {
            out.push((name.trim_end().to_string(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn env(pairs: &[(&str, &str)]) -> LoadEnv {
        LoadEnv::from_pairs(pairs)
    }

    #[test]
    fn an_override_beside_a_default_named_file_is_merged() {
        let dir = tempfile::tempdir().expect("dir");
        let base = write(dir.path(), "compose.yaml", "services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n    environment: {A: \"1\"}\n    volumes: [\"data:/data\"]\n  db:\n    image: postgres\n");
        write(dir.path(), "compose.override.yaml", "services:\n  web:\n    image: nginx:1.27\n    ports: [\"8443:443\"]\n    environment: {B: \"2\"}\n    volumes: [\"other:/data\"]\n  debug:\n    image: busybox\n");
        assert_eq!(files_to_read(std::slice::from_ref(&base)).len(), 2);
        let loaded = load_files(&[base], &env(&[])).expect("valid");
        let web = loaded
            .stack
            .services
            .iter()
            .find(|s| s.name == "web")
            .expect("web");
        assert_eq!(web.image.as_deref(), Some("nginx:1.27"));
        assert_eq!(
            web.ports
                .iter()
                .filter_map(|p| p.published)
                .collect::<Vec<_>>(),
            [8080, 8443]
        );
        assert_eq!(web.environment_keys, ["A", "B"]);
        assert_eq!(web.volumes, ["other:/data"]);
        assert_eq!(loaded.stack.services.len(), 3);
        assert_eq!(loaded.texts.len(), 2);
    }

    #[test]
    fn a_file_not_named_as_compose_names_them_takes_no_override() {
        let dir = tempfile::tempdir().expect("dir");
        let base = write(
            dir.path(),
            "ai.yaml",
            "services:\n  web:\n    image: nginx\n",
        );
        write(
            dir.path(),
            "compose.override.yaml",
            "services:\n  x:\n    image: y\n",
        );
        assert_eq!(files_to_read(std::slice::from_ref(&base)), [base]);
    }

    #[test]
    fn the_dot_env_beside_the_file_feeds_interpolation_and_the_environment_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let base = write(dir.path(), "compose.yaml", "name: ${PROJECT}\nservices:\n  web:\n    image: \"nginx:${TAG:-latest}\"\n    ports: [\"${PORT}:80\"]\n");
        write(
            dir.path(),
            ".env",
            "PROJECT=fromdotenv\nTAG=1.2\nPORT=8080\n",
        );
        let loaded =
            load_files(std::slice::from_ref(&base), &env(&[("PORT", "9090")])).expect("valid");
        assert_eq!(loaded.stack.project, "fromdotenv");
        let web = &loaded.stack.services[0];
        assert_eq!(web.image.as_deref(), Some("nginx:1.2"));
        assert_eq!(web.ports[0].published, Some(9090));
    }

    #[test]
    fn a_missing_required_variable_names_it_file_and_line() {
        let dir = tempfile::tempdir().expect("dir");
        let base = write(dir.path(), "compose.yaml", "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env}\n");
        let err = load_files(std::slice::from_ref(&base), &env(&[])).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(
            (p.file.as_str(), p.line),
            (base.display().to_string().as_str(), 5)
        );
        assert!(
            p.reason.contains(
                "required variable DB_PASSWORD is not set or is empty: set DB_PASSWORD in .env"
            ),
            "{p}"
        );
    }

    #[test]
    fn problems_name_the_file_whose_line_they_are_on() {
        let dir = tempfile::tempdir().expect("dir");
        let base = write(
            dir.path(),
            "compose.yaml",
            "services:\n  web:\n    image: x\n    ports: [\"99999:80\"]\n",
        );
        let over = write(dir.path(), "compose.override.yaml", "services:\n  web:\n    environment: {A: \"1\"}\n    ports: [\"8080:0\"]\n    depends_on: [ghost]\n");
        let err = load_files(std::slice::from_ref(&base), &env(&[])).expect_err("invalid");
        let at = |needle: &str| {
            err.problems()
                .iter()
                .find(|p| p.reason.contains(needle))
                .map(|p| (p.file.clone(), p.line))
                .unwrap_or_else(|| panic!("no {needle}: {err}"))
        };
        assert_eq!(at("99999"), (base.display().to_string(), 4));
        assert_eq!(at("container port 0"), (over.display().to_string(), 4));
        assert_eq!(at("ghost"), (over.display().to_string(), 5));
    }

    #[test]
    fn problems_name_the_file_that_defines_the_service() {
        let dir = tempfile::tempdir().expect("dir");
        let a = write(
            dir.path(),
            "a.yaml",
            "services:\n  web:\n    image: nginx\n",
        );
        let b = write(
            dir.path(),
            "b.yaml",
            "services:\n  worker:\n    image: busybox\n    depends_on: [nowhere]\n",
        );
        let err = load_files(&[a, b.clone()], &env(&[])).expect_err("invalid");
        let p = &err.problems()[0];
        assert_eq!(p.file, b.display().to_string());
        assert!(p.reason.contains("depends on `nowhere`"), "{p}");
    }

    #[test]
    fn saved_texts_of_several_files_split_back() {
        let texts = vec![
            ("/a/compose.yaml".to_string(), "services: {}\n".to_string()),
            ("/a/more.yaml".to_string(), "x: 1\n".to_string()),
        ];
        assert_eq!(split_texts(&join_texts(&texts), "ignored"), texts);
        assert_eq!(
            split_texts("services: {}\n", "/a/c.yaml"),
            [("/a/c.yaml".to_string(), "services: {}\n".to_string())]
        );
    }
}
