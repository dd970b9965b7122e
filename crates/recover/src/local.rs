//! [`Commands`] for a process that may start programs itself (the command
//! line): only the engine start the wizard chose ([`crate::tools`]) and the
//! compose tool, never through a shell.

use std::path::Path;
use std::process::Stdio;

use std::os::unix::process::CommandExt;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::execute::{CommandFuture, Commands};
use crate::tools::is_allowed_engine_start;

async fn pump<R: AsyncRead + Unpin>(
    lines: Option<tokio::io::Lines<BufReader<R>>>,
    line: &(dyn Fn(String) + Send + Sync),
) {
    if let Some(mut lines) = lines {
        while let Ok(Some(text)) = lines.next_line().await {
            line(text);
        }
    }
}

/// Runs commands with `tokio::process`.
#[derive(Debug, Clone, Default)]
pub struct LocalCommands {
    /// Where `podman system service` writes its log.
    pub engine_log: Option<std::path::PathBuf>,
}

impl Commands for LocalCommands {
    fn start_engine<'a>(&'a self, command: &'a [String]) -> CommandFuture<'a> {
        Box::pin(async move {
            if !is_allowed_engine_start(command) {
                return Err(format!("refused to run {}", command.join(" ")));
            }
            let [program, args @ ..] = command else {
                return Err("no command".into());
            };
            if program == "systemctl" {
                let out = tokio::process::Command::new(program)
                    .args(args)
                    .stdin(Stdio::null())
                    .output()
                    .await
                    .map_err(|e| format!("cannot run {program}: {e}"))?;
                return if out.status.success() {
                    Ok("podman.socket started with systemctl --user".into())
                } else {
                    Err(format!(
                        "systemctl --user start podman.socket failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ))
                };
            }
            let log = match &self.engine_log {
                Some(path) => std::fs::File::create(path)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
                None => Stdio::null(),
            };
            // Its own process group: it keeps serving after the wizard ends
            // or is interrupted, as the engine service the user expects.
            let child = std::process::Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            Ok(format!(
                "started {} (pid {})",
                command.join(" "),
                child.id()
            ))
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
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            if let Some(dir) = dir {
                cmd.current_dir(dir);
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            let out = child.stdout.take().map(|s| BufReader::new(s).lines());
            let err = child.stderr.take().map(|s| BufReader::new(s).lines());
            let (_, _, status) = tokio::join!(pump(out, line), pump(err, line), child.wait());
            let status = status.map_err(|e| format!("{program} did not finish: {e}"))?;
            crate::execute::exit_status(command, status.code())
        })
    }
}
