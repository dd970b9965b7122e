//! What the integration tests against the real Podman engine share, so each
//! test file holds only its own scenario: running `podman` and failing with
//! its error, removing a test's containers and volumes however the test
//! ends, and waiting on a `watch` channel until a value says so.

#![allow(clippy::expect_used)] // test support: a failure here is a failed test

use std::fmt::Debug;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::watch;

mod standin;
pub use standin::{repo_root, venv_python, StandIn};

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

/// Polls `check` every 200 ms for up to `within`; panics with `what`.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
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

/// A second API service on its own socket, so the test can stop and restart
/// "the engine" without disturbing the other tests.
pub struct PrivateService {
    pub socket: String,
    child: Option<Child>,
}

impl PrivateService {
    pub fn start(socket: &str) -> Self {
        Self::start_with_log(socket, None)
    }

    /// With `log`, the service writes its debug log there, including one
    /// access-log line per API request.
    pub fn start_with_log(socket: &str, log: Option<&std::path::Path>) -> Self {
        let _ = std::fs::remove_file(socket);
        let mut cmd = Command::new("podman");
        let stderr = match log {
            Some(path) => {
                cmd.arg("--log-level=debug");
                Stdio::from(std::fs::File::create(path).expect("log file"))
            }
            None => Stdio::null(),
        };
        let child = cmd
            .args(["system", "service", "--time=0", &format!("unix://{socket}")])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("podman system service");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !std::path::Path::new(socket).exists() {
            assert!(
                Instant::now() < deadline,
                "private service never made {socket}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            socket: socket.to_string(),
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("service running")
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to this service's process only.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // A frozen service must thaw to die cleanly.
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for PrivateService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where tests keep what a person may want to look at (screenshots):
/// `SW_ARTIFACTS`, else the repository's `tests/artifacts`.
pub fn artifacts() -> std::path::PathBuf {
    let dir = std::env::var_os("SW_ARTIFACTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/artifacts")
        });
    std::fs::create_dir_all(&dir).expect("artifacts folder");
    dir
}

/// A PNG file's width and height; panics when it is not a PNG.
pub fn png_size(path: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("the PNG file");
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is a PNG",
        path.display()
    );
    (
        u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]),
        u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
    )
}

/// Renders the local `page` in headless Chromium (Debian's, installed by
/// the test command) into the PNG `shot` of `width` x `height`, with `home`
/// as its home folder; panics unless the screenshot was written.
pub fn chromium_screenshot(
    page: &std::path::Path,
    shot: &std::path::Path,
    (width, height): (u32, u32),
    home: &std::path::Path,
) {
    let _ = std::fs::remove_file(shot);
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("Debian's chromium (installed by the test command)");
    let rendered = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ])
        .env("HOME", home)
        .output()
        .expect("chromium runs");
    assert!(
        shot.exists(),
        "screenshot written: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert_eq!(png_size(shot), (width, height));
}
