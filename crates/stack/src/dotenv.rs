//! `.env` and `env_file:` files: `KEY=VALUE` lines read as compose reads
//! them: blank lines and `#` comments skipped, an optional `export `,
//! values unquoted (trimmed, up to a ` #` comment, spaces allowed), in
//! single quotes (literal) or in double quotes (`\n`, `\t`, `\\`, `\"`
//! escapes), with `${VAR}` references in unquoted and double-quoted values
//! taken from earlier lines and the environment.
//!
//! Values may be secrets: a problem names the line and the key, never the
//! value.

use std::collections::BTreeMap;
use std::path::Path;

/// Files larger than this are not an environment file.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The variables a file sets, in order; `lookup` answers references to
/// variables the file has not set itself. `Err` says why it cannot be used
/// and on which line.
pub fn read_vars(
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let size = std::fs::metadata(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "the file does not exist".to_string(),
            _ => format!("cannot read it: {e}"),
        })?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(format!("{size} bytes is too large for an environment file"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    parse(&text, lookup)
}

/// The names a file sets (its values may be secrets and are not kept).
pub fn read_keys(path: &Path) -> Result<Vec<String>, String> {
    Ok(read_vars(path, &|_| None)?
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

/// Parses `.env` text (see the module doc).
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {number}: not KEY=VALUE"));
        };
        let key = key.trim();
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !key_ok {
            return Err(format!(
                "line {number}: the name before `=` must be letters, digits, `_`, `.` or `-`"
            ));
        }
        let value = value.trim_start();
        let expand = |v: &str| {
            let known = |name: &str| seen.get(name).cloned().or_else(|| lookup(name));
            crate::interpolate::expand_value(v, &known)
                .map_err(|why| format!("line {number}, `{key}`: {why}"))
        };
        let value = if let Some(rest) = value.strip_prefix('\'') {
            let Some(end) = rest.find('\'') else {
                return Err(format!(
                    "line {number}, `{key}`: the value's single quote is not closed"
                ));
            };
            rest[..end].to_string()
        } else if let Some(rest) = value.strip_prefix('"') {
            let (inner, closed) = double_quoted(rest);
            if !closed {
                return Err(format!(
                    "line {number}, `{key}`: the value's double quote is not closed"
                ));
            }
            expand(&inner)?
        } else {
            let unquoted = match value.find(" #") {
                Some(at) => &value[..at],
                None => value,
            };
            expand(unquoted.trim_end())?
        };
        seen.insert(key.to_string(), value.clone());
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// The text of a double-quoted value up to its closing quote, escapes
/// applied, and whether the quote was closed.
fn double_quoted(rest: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return (out, true),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => {
                    if !matches!(other, '"' | '\\') {
                        out.push('\\');
                    }
                    out.push(other);
                }
                None => return (out, false),
            },
            c => out.push(c),
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<(String, String)>, String> {
        parse(text, &|name| {
            (name == "HOME").then(|| "/home/u".to_string())
        })
    }

    #[test]
    fn reads_what_compose_reads() {
        let vars = read(
            "# settings\nexport TAG=1.2\nPW='a b#c $X'\nEMPTY=\n\nQUOTED=\"x \\\"y\\\"\\n\"\nSPACED=correct horse battery # a comment\nDIR=${HOME}/ai\nURL=http://h/${TAG}\n",
        )
        .expect("valid");
        let get = |k: &str| {
            vars.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("TAG"), Some("1.2"));
        assert_eq!(get("PW"), Some("a b#c $X"));
        assert_eq!(get("EMPTY"), Some(""));
        assert_eq!(get("QUOTED"), Some("x \"y\"\n"));
        assert_eq!(get("SPACED"), Some("correct horse battery"));
        assert_eq!(get("DIR"), Some("/home/u/ai"));
        assert_eq!(get("URL"), Some("http://h/1.2"));
    }

    #[test]
    fn problems_name_the_line_and_key_never_the_value() {
        for (text, want) in [
            ("A=1\nthis is not a pair\n", "line 2: not KEY=VALUE"),
            (
                "DB_PASSWORD=\"s3cret-value\n",
                "line 1, `DB_PASSWORD`: the value's double quote is not closed",
            ),
            (
                "DB_PASSWORD='s3cret-value\n",
                "line 1, `DB_PASSWORD`: the value's single quote is not closed",
            ),
            ("BAD KEY=s3cret-value\n", "line 1: the name before"),
            ("X=${UNCLOSED s3cret-value\n", "line 1, `X`:"),
        ] {
            let why = read(text).expect_err(text);
            assert!(why.starts_with(want), "{why}");
            assert!(!why.contains("s3cret-value"), "{why}");
        }
    }

    #[test]
    fn missing_and_huge_files_are_problems() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(
            read_keys(&dir.path().join("none.env")).expect_err("missing"),
            "the file does not exist"
        );
        let keys = dir.path().join("k.env");
        std::fs::write(&keys, "A=1\nB=two words\n").expect("write");
        assert_eq!(read_keys(&keys).expect("readable"), ["A", "B"]);
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_it_panic(text in "\\PC{0,80}") {
            let _ = read(&text);
        }
    }
}
