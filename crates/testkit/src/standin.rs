//! Stand-in services the typed-probe tests start: a script under the
//! repository that prints `PORT <n>` once it listens, killed by its PID when
//! dropped; and the test venv's python, which has the official MCP SDK.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The e2e venv's python (with `mcp` installed): `$SW_TEST_VENV/bin/python`
/// or `target/e2e-venv/bin/python`. Missing is a failure, not a skip.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SW_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/e2e-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "the MCP tests need the test venv with the `mcp` package at {}: run `bash scripts/install-deps.sh test` (or set SW_TEST_VENV)",
        venv.display()
    );
    python
}

/// A stand-in process, killed by its PID when dropped.
pub struct StandIn {
    child: Child,
    pub port: u16,
}

impl StandIn {
    /// Runs `python script args` (the script relative to the repository)
    /// and waits up to 30 s for its `PORT <n>` line.
    pub fn start(python: &Path, script: &str, args: &[&str]) -> Self {
        let mut child = Command::new(python)
            .arg(repo_root().join(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script}: {e}"));
        let Some(stdout) = child.stdout.take() else {
            panic!("{script}: no stdout");
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} did not say its port: {line:?}");
        };
        Self { child, port }
    }

    /// A stand-in that needs only the system's python3.
    pub fn python3(script: &str, args: &[&str]) -> Self {
        Self::start(Path::new("python3"), script, args)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
