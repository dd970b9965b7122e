//! `stackwarden` with no subcommand opens the desktop app: the
//! `stackwarden-desktop` binary installed beside this one, or on PATH.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const DESKTOP_BINARY: &str = "stackwarden-desktop";

fn find_desktop_binary() -> Option<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(DESKTOP_BINARY)))
        .filter(|p| p.is_file());
    beside.or_else(|| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(DESKTOP_BINARY))
                .find(|p| p.is_file())
        })
    })
}

pub fn desktop_app() -> ExitCode {
    let Some(binary) = find_desktop_binary() else {
        eprintln!(
            "stackwarden: the desktop app ({DESKTOP_BINARY}) is not installed beside this command or on PATH. \
             Use `stackwarden status` here, or build the app with the README's run command."
        );
        return ExitCode::from(1);
    };
    // exec only returns on failure.
    let error = Command::new(&binary).exec();
    eprintln!("stackwarden: cannot start {}: {error}", binary.display());
    ExitCode::from(1)
}
