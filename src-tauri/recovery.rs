//! The recovery wizard in the window: the preview (diagnosis, plan, data
//! now) and the run of that plan, its progress forwarded as
//! `recovery-progress` events. The engine is started by the page through
//! the shell plugin, whose scope allows exactly `podman system service`
//! with its socket and `systemctl --user start podman.socket`; the compose
//! tool for a service the plan hands over is run here, from the plan the
//! runtime made (the page sends only the plan's id and the destructive
//! steps it confirmed).

use std::collections::BTreeSet;
use std::path::Path;

use stackwarden_recover::{exit_status, CommandFuture, Commands, Progress, Recovery};
use stackwarden_runtime::RecoveryPreview;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_shell::process::CommandEvent;
use tauri_plugin_shell::ShellExt;
use tokio::sync::mpsc;

use crate::error::UiError;
use crate::state::AppState;

pub const PROGRESS_EVENT: &str = "recovery-progress";
/// The tray's "Recover…" asks the window to show this view.
pub const VIEW: &str = "recover";

/// Runs the compose tool through the shell plugin, each output line to
/// the wizard.
struct ShellCommands<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> Commands for ShellCommands<R> {
    fn start_engine<'a>(&'a self, _command: &'a [String]) -> CommandFuture<'a> {
        Box::pin(async {
            Err("the window starts the engine itself, before the plan runs".to_string())
        })
    }

    fn run<'a>(
        &'a self,
        command: &'a [String],
        dir: Option<&'a Path>,
        line: &'a (dyn Fn(String) + Send + Sync),
    ) -> CommandFuture<'a> {
        Box::pin(async move {
            let [program, args @ ..] = command else {
                return Err("no command".into());
            };
            let mut cmd = self.app.shell().command(program).args(args);
            if let Some(dir) = dir {
                cmd = cmd.current_dir(dir);
            }
            let (mut events, child) = cmd
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            // Ended early (the step's time limit): the tool is killed too.
            let mut child = KillOnDrop(Some(child));
            let mut partial = [Vec::new(), Vec::new()];
            while let Some(event) = events.recv().await {
                match event {
                    CommandEvent::Stdout(bytes) => emit_lines(&mut partial[0], &bytes, line),
                    CommandEvent::Stderr(bytes) => emit_lines(&mut partial[1], &bytes, line),
                    CommandEvent::Error(e) => line(e),
                    CommandEvent::Terminated(status) => {
                        child.0 = None;
                        for rest in &mut partial {
                            if !rest.is_empty() {
                                line(String::from_utf8_lossy(rest).into_owned());
                                rest.clear();
                            }
                        }
                        return exit_status(command, status.code);
                    }
                    _ => {}
                }
            }
            Err(format!("{} ended without a status", command.join(" ")))
        })
    }
}

/// Kills the compose tool when its run is dropped before it ended.
struct KillOnDrop(Option<tauri_plugin_shell::process::CommandChild>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            let _ = child.kill();
        }
    }
}

/// Whole lines of `bytes` (after what was left of the last chunk) to `line`.
fn emit_lines(rest: &mut Vec<u8>, bytes: &[u8], line: &(dyn Fn(String) + Send + Sync)) {
    rest.extend_from_slice(bytes);
    while let Some(at) = rest.iter().position(|b| *b == b'\n') {
        let whole: Vec<u8> = rest.drain(..=at).collect();
        line(String::from_utf8_lossy(&whole).trim_end().to_string());
    }
}

/// Diagnoses the stack and plans its recovery; nothing runs.
#[tauri::command]
pub async fn recovery_plan(state: State<'_, AppState>) -> Result<RecoveryPreview, UiError> {
    Ok(state.runtime().recovery_preview().await?)
}

/// Runs the plan `id` the window showed; destructive steps only when in
/// `confirmed`. Progress arrives as `recovery-progress` events.
#[tauri::command]
pub async fn run_recovery<R: Runtime>(
    app: AppHandle<R>,
    id: u64,
    confirmed: Vec<u32>,
) -> Result<Recovery, UiError> {
    let runtime = app.state::<AppState>().runtime();
    let (tx, mut rx) = mpsc::unbounded_channel::<Progress>();
    let forward = {
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            while let Some(p) = rx.recv().await {
                let _ = app.emit(PROGRESS_EVENT, &p);
            }
        })
    };
    let commands = ShellCommands { app: app.clone() };
    let confirmed: BTreeSet<u32> = confirmed.into_iter().collect();
    let result = runtime.run_recovery(id, confirmed, &commands, tx).await;
    let _ = forward.await;
    Ok(result?)
}

/// The recoveries of the last 30 days, newest first.
#[tauri::command]
pub async fn recoveries(state: State<'_, AppState>) -> Result<Vec<Recovery>, UiError> {
    let since = stackwarden_model::clock::now_ms() - 30 * 24 * 3600 * 1000;
    Ok(state.runtime().recoveries(since).await?)
}

/// What the tray's "Recover…" does: show the window at the wizard.
pub fn from_tray<R: Runtime>(app: &AppHandle<R>) {
    crate::window::show_main_at(app, Some(VIEW));
    let _ = app.emit(crate::verification::SHOW_VIEW_EVENT, VIEW);
}

#[cfg(test)]
mod tests {
    /// The page may spawn exactly the two engine starts, nothing else of
    /// the shell plugin.
    #[test]
    fn the_shell_scope_allows_only_the_two_engine_starts() {
        let text = include_str!("../capabilities/main.json");
        let caps: serde_json::Value = serde_json::from_str(text).expect("capabilities");
        let perms = caps["permissions"].as_array().expect("permissions");
        let shell: Vec<&serde_json::Value> = perms
            .iter()
            .filter(|p| {
                let id = p
                    .as_str()
                    .or_else(|| p["identifier"].as_str())
                    .unwrap_or("");
                id.starts_with("shell:")
            })
            .collect();
        assert_eq!(shell.len(), 1, "{shell:?}");
        assert_eq!(shell[0]["identifier"], "shell:allow-spawn");
        let allowed = shell[0]["allow"].as_array().expect("scope");
        let names: Vec<&str> = allowed.iter().filter_map(|a| a["cmd"].as_str()).collect();
        assert_eq!(names, vec!["podman", "systemctl"]);
        assert_eq!(
            allowed[1]["args"],
            serde_json::json!(["--user", "start", "podman.socket"])
        );
        let validator = allowed[0]["args"][3]["validator"]
            .as_str()
            .expect("validator");
        let re = regex::Regex::new(validator).expect("a valid regex");
        assert!(re.is_match("unix:///run/user/1000/podman/podman.sock"));
        assert!(re.is_match("unix:///run/podman/podman.sock"));
        for bad in [
            "unix:///run/../etc/podman.sock",
            "unix:///tmp/x.sock; rm -rf ~",
            "unix:///run/podman/podman.sock --log-level=debug",
            "tcp://0.0.0.0:2375",
        ] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }
}
