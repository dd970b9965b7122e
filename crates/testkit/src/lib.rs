//! What the integration tests against the real Podman engine share, so each
//! test file holds only its own scenario: running `podman` and failing with
//! its error, removing a test's containers and volumes however the test
//! ends, and waiting on a `watch` channel until a value says so.

#![allow(clippy::expect_used)] // test support: a failure here is a failed test

use std::fmt::Debug;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Runs `podman args`; panics with its error output when it fails, else
/// returns its standard output without surrounding whitespace.
pub fn podman(args: &[&str]) -> String {
    let out = Command::new("podman")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("podman {args:?}: {e}"));
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes containers (force, no grace period), ignoring those not there.
pub fn remove_containers(names: &[&str]) {
    for name in names {
        let _ = Command::new("podman")
            .args(["rm", "-f", "-t", "0", name])
            .output();
    }
}

/// Removes the named containers, then volumes, when dropped: however the
/// test ends, it leaves nothing behind.
#[derive(Debug, Default)]
pub struct Cleanup {
    containers: Vec<String>,
    volumes: Vec<String>,
}

impl Cleanup {
    pub fn containers(names: &[&str]) -> Self {
        Self {
            containers: names.iter().map(ToString::to_string).collect(),
            volumes: Vec::new(),
        }
    }

    pub fn and_volume(mut self, name: &str) -> Self {
        self.volumes.push(name.to_string());
        self
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names: Vec<&str> = self.containers.iter().map(String::as_str).collect();
        remove_containers(&names);
        for volume in &self.volumes {
            let _ = Command::new("podman")
                .args(["volume", "rm", "-f", volume])
                .output();
        }
    }
}

/// The first value of `rx` for which `ok` holds, within `within`; panics
/// with `what` and the last value otherwise.
pub async fn wait_for<T: Clone + Debug>(
    rx: &mut watch::Receiver<T>,
    what: &str,
    within: Duration,
    ok: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        {
            let value = rx.borrow_and_update();
            if ok(&value) {
                return value.clone();
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, rx.changed()).await.is_err() {
            panic!("timed out waiting for {what}: {:#?}", *rx.borrow());
        }
    }
}

/// The busybox image `tests/support/engine.sh fixtures` builds.
pub const TEST_IMAGE: &str = "localhost/sw-test-busybox:latest";

/// A detached container of [`TEST_IMAGE`] labelled as a test's, started
/// after removing any leftover of the same name, and removed when dropped.
#[derive(Debug)]
pub struct TestContainer {
    _cleanup: Cleanup,
}

impl TestContainer {
    /// `podman run -d --name NAME --label stackwarden.test=it OPTIONS IMAGE CMD`.
    pub fn run(name: &str, options: &[&str], cmd: &[&str]) -> Self {
        remove_containers(&[name]);
        let cleanup = Cleanup::containers(&[name]);
        let mut args = vec![
            "run",
            "-d",
            "--name",
            name,
            "--label",
            "stackwarden.test=it",
        ];
        args.extend_from_slice(options);
        args.push(TEST_IMAGE);
        args.extend_from_slice(cmd);
        podman(&args);
        Self { _cleanup: cleanup }
    }
}
