//! Starting at login: an XDG autostart entry
//! (`$XDG_CONFIG_HOME/autostart/stackwarden.desktop`) that starts the app
//! hidden in the tray. Written here rather than by tauri-plugin-autostart,
//! whose Linux backend ignores `XDG_CONFIG_HOME` and leaves the program
//! path unquoted; this entry follows the Desktop Entry specification and
//! passes `desktop-file-validate`.

use std::path::{Path, PathBuf};

/// The entry's file name: one per user, replaced when written again.
const FILE: &str = "stackwarden.desktop";

/// Where the entry lives: `$XDG_CONFIG_HOME/autostart`, else
/// `~/.config/autostart`.
pub fn entry_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().join(".config")))?;
    Some(config.join("autostart").join(FILE))
}

/// One argument of an `Exec` key, quoted as the specification asks.
fn exec_arg(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.+,:=@".contains(c));
    let arg = arg.replace('%', "%%");
    if plain {
        return arg;
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    // The value itself escapes each backslash once more.
    quoted.replace('\\', "\\\\")
}

/// The entry that starts `program` hidden in the tray.
pub fn entry(program: &Path) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Stackwarden\n\
         Comment=Keeps watch over your local AI stack; starts in the tray\n\
         Exec={} {}\n\
         Icon=stackwarden-desktop\n\
         Terminal=false\n\
         StartupNotify=false\n\
         X-GNOME-Autostart-enabled=true\n",
        exec_arg(&program.display().to_string()),
        crate::HIDDEN_ARG
    )
}

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("no home folder to keep the autostart entry in")]
    NoHome,
    #[error("cannot find this program's path: {0}")]
    NoProgram(std::io::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The program to start: the AppImage when run from one (its mount point
/// changes every run), else this executable; after a package upgrade
/// replaced it, Linux names it "… (deleted)": the path is the new one.
fn program() -> Result<PathBuf, AutostartError> {
    if let Some(image) = std::env::var_os("APPIMAGE").map(PathBuf::from) {
        if image.is_absolute() {
            return Ok(image);
        }
    }
    let exe = std::env::current_exe().map_err(AutostartError::NoProgram)?;
    let shown = exe.display().to_string();
    Ok(match shown.strip_suffix(" (deleted)") {
        Some(path) => PathBuf::from(path),
        None => exe,
    })
}

pub fn is_enabled() -> bool {
    entry_path().is_some_and(|p| p.is_file())
}

/// Writes or removes the entry.
pub fn set(on: bool) -> Result<(), AutostartError> {
    let path = entry_path().ok_or(AutostartError::NoHome)?;
    let io = |source| AutostartError::Io {
        path: path.clone(),
        source,
    };
    if !on {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        };
    }
    let program = program()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(&path, entry(&program)).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_is_quoted_when_it_must_be() {
        assert!(entry(Path::new("/usr/bin/stackwarden-desktop"))
            .contains("\nExec=/usr/bin/stackwarden-desktop --hidden\n"));
        let odd = entry(Path::new("/home/me/My Apps/50%/$x\"y"));
        assert!(
            odd.contains("\nExec=\"/home/me/My Apps/50%%/\\\\$x\\\\\"y\" --hidden\n"),
            "{odd}"
        );
    }

    /// The entry passes the freedesktop validator, where it is installed.
    #[test]
    fn the_entry_is_valid() {
        let dir = std::env::temp_dir().join(format!("sw-autostart-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(FILE);
        let written = std::fs::write(&file, entry(Path::new("/opt/My Apps/stackwarden-desktop")));
        assert!(written.is_ok());
        match std::process::Command::new("desktop-file-validate")
            .arg(&file)
            .output()
        {
            Ok(out) => assert!(
                out.status.success() && out.stdout.is_empty(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            ),
            Err(e) => assert!(
                std::env::var_os("CI").is_none(),
                "desktop-file-validate is needed in CI: {e}"
            ),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
