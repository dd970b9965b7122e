//! `.env` and `env_file:` files: `KEY=VALUE` lines as compose reads them
//! (quotes, `export`, comments), parsed by dotenvy.

use std::path::Path;

/// The variables a file sets, in order; `Err` says why it cannot be used
/// and on which line.
pub fn read_vars(path: &Path) -> Result<Vec<(String, String)>, String> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| describe(&e, path))?;
    let mut out = Vec::new();
    for item in iter {
        out.push(item.map_err(|e| describe(&e, path))?);
    }
    Ok(out)
}

/// The names a file sets (its values may be secrets and are not kept).
pub fn read_keys(path: &Path) -> Result<Vec<String>, String> {
    Ok(read_vars(path)?.into_iter().map(|(k, _)| k).collect())
}

fn describe(error: &dotenvy::Error, path: &Path) -> String {
    match error {
        dotenvy::Error::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "the file does not exist".to_string()
        }
        dotenvy::Error::Io(e) => format!("cannot read it: {e}"),
        dotenvy::Error::LineParse(line, at) => {
            // The parser names the line by its text; find its number.
            let number = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.lines().position(|l| l.trim_end() == line.trim_end()))
                .map(|i| format!("line {}", i + 1))
                .unwrap_or_else(|| "a line".to_string());
            format!(
                "{number}, column {}: not KEY=VALUE (`{}`)",
                at + 1,
                stackwarden_model::redact::text(line.trim())
            )
        }
        dotenvy::Error::EnvVar(e) => e.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_compose_reads_and_says_where_it_is_broken() {
        let dir = tempfile::tempdir().expect("dir");
        let good = dir.path().join(".env");
        std::fs::write(
            &good,
            "# settings\nexport TAG=1.2\nPW='a b#c'\nEMPTY=\n\nQUOTED=\"x y\"\n",
        )
        .expect("write");
        assert_eq!(
            read_vars(&good).expect("readable"),
            [
                ("TAG".to_string(), "1.2".to_string()),
                ("PW".to_string(), "a b#c".to_string()),
                ("EMPTY".to_string(), String::new()),
                ("QUOTED".to_string(), "x y".to_string()),
            ]
        );
        let bad = dir.path().join("bad.env");
        std::fs::write(&bad, "A=1\nthis is not a pair\n").expect("write");
        let why = read_vars(&bad).expect_err("broken");
        assert!(why.starts_with("line 2, column"), "{why}");
        let missing = read_keys(&dir.path().join("none.env")).expect_err("missing");
        assert_eq!(missing, "the file does not exist");
    }
}
