"""End-to-end harness: the real app under Xvfb with its own session bus, a
StatusNotifierWatcher standing in for the desktop panel, tauri-driver with
WebKitWebDriver, and a private Podman API service the tests may stop and
start without disturbing anything else. Every process started here is
stopped by its PID."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from sni import SniHost
from webview import open_session

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("SW_ARTIFACTS", ROOT / "tests" / "artifacts"))
ARTIFACTS.mkdir(parents=True, exist_ok=True)
APP = Path(os.environ.get("SW_APP_BINARY", ROOT / "target" / "debug" / "stackwarden-desktop"))


def _stop(proc: subprocess.Popen, timeout=10):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_port(port: int, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="session")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="sw-e2e-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def display():
    num = os.environ.get("SW_E2E_DISPLAY", ":97")
    xvfb = subprocess.Popen(["Xvfb", num, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not Path(f"/tmp/.X11-unix/X{num.lstrip(':')}").exists():
        assert time.time() < deadline, "Xvfb did not start"
        time.sleep(0.1)
    yield num
    _stop(xvfb)


@pytest.fixture(scope="session")
def session_bus():
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = bus.stdout.readline().strip()
    assert address, "dbus-daemon printed no address"
    yield address
    _stop(bus)


@pytest.fixture(scope="session")
def keyring(session_bus, workdir):
    """The desktop's Secret Service (GNOME Keyring), unlocked, on the test
    session bus; its files under the test's XDG_DATA_HOME."""
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=session_bus, XDG_DATA_HOME=str(workdir / "xdg-data"),
               XDG_RUNTIME_DIR=str(workdir))
    (workdir / "xdg-data").mkdir(exist_ok=True)
    proc = subprocess.Popen(["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.stdin.write(b"sw-keyring-unlock")
    proc.stdin.close()
    deadline = time.time() + 15
    while True:
        names = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                                "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames"],
                               env=env, capture_output=True, text=True).stdout
        if "org.freedesktop.secrets" in names:
            break
        assert time.time() < deadline, "gnome-keyring-daemon did not take org.freedesktop.secrets"
        time.sleep(0.2)
    yield proc
    _stop(proc)


@pytest.fixture(scope="session")
def sni(session_bus):
    host = SniHost(session_bus)
    yield host
    host.close()


class PrivateEngine:
    """A Podman API service on its own socket, over the same containers."""

    def __init__(self, socket_path: Path):
        self.socket = socket_path
        self.proc = None

    @property
    def endpoint(self):
        return f"unix://{self.socket}"

    def start(self):
        self.socket.unlink(missing_ok=True)
        self.proc = subprocess.Popen(["podman", "system", "service", "--time=0", self.endpoint],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while not self.socket.exists():
            assert time.time() < deadline, "private podman service did not start"
            time.sleep(0.05)

    def stop(self):
        if self.proc:
            _stop(self.proc)
            self.proc = None
        self.socket.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def engine(workdir):
    # Named as Podman names its sockets: the window's recovery wizard may
    # start a `podman system service` on it (its shell scope allows
    # `.../podman.sock` only).
    (workdir / "podman").mkdir(exist_ok=True)
    e = PrivateEngine(workdir / "podman" / "podman.sock")
    e.start()
    yield e
    e.stop()


@pytest.fixture(scope="session")
def app_env(display, session_bus, engine, workdir, keyring):
    env = dict(os.environ)
    env.update({
        "DISPLAY": display,
        "DBUS_SESSION_BUS_ADDRESS": session_bus,
        "STACKWARDEN_HOST": engine.endpoint,
        "STACKWARDEN_DATA_DIR": str(workdir / "data"),
        "STACKWARDEN_CONFIG": str(workdir / "config.toml"),
        "XDG_RUNTIME_DIR": str(workdir),
        # The web view's storage (the view it restores) starts empty each run.
        "XDG_DATA_HOME": str(workdir / "xdg-data"),
        "XDG_CACHE_HOME": str(workdir / "xdg-cache"),
        # The autostart entry and the window's kept size land here.
        "XDG_CONFIG_HOME": str(workdir / "xdg-config"),
        "NO_AT_BRIDGE": "1",
    })
    env["SW_TEST_PG_PASSWORD"] = "sw-test-pw"
    # The system opener is a stand-in that records what it was asked to open.
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{workdir}/opened.txt"\n')
    opener.chmod(0o755)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    # [refresh] is deliberately invalid: the window must say where and why and
    # use its defaults, while [stack] still applies.
    (workdir / "stack.yaml").write_text(E2E_STACK)
    (workdir / "config.toml").write_text(
        "[refresh]\ninterval_ms = 1000\nintreval = 5\n\n[stack]\nfile = \"stack.yaml\"\n")
    return env


# The test containers as a stack: four required services (one checked over
# TCP, two real databases), one optional agent with no container at all.
E2E_STACK = """\
name: e2e
x-stackwarden:
  groups:
    core: { label: Core Infrastructure, required: true }
    agents: { label: Agent Backends, required: false }
services:
  web:
    image: localhost/sw-test-busybox:latest
    container_name: sw-ok-web
    x-stackwarden:
      group: core
      probes:
        - name: port
          tcp: { address: "127.0.0.1:18080" }
          interval: 5s
          timeout: 1s
  worker:
    image: localhost/sw-test-busybox:latest
    container_name: sw-ok-worker
    x-stackwarden: { group: core }
  postgres:
    image: localhost/sw-test-db:latest
    container_name: sw-db-postgres
    x-stackwarden:
      group: core
      probes:
        - name: schema
          postgres:
            url: "postgres://mcp@127.0.0.1:15432/mcp"
            password_env: SW_TEST_PG_PASSWORD
            tables: [document_embeddings, imported_documents, open_skills, points_of_interest, system_registry, telemetry_events, tool_registry]
          interval: 5s
          timeout: 2s
  redis:
    image: localhost/sw-test-db:latest
    container_name: sw-db-redis
    x-stackwarden:
      group: core
      probes:
        - name: ping
          redis: { url: "redis://127.0.0.1:16379", require_persistence: true }
          interval: 5s
          timeout: 2s
  aider:
    image: docker.io/paulgauthier/aider:latest
    container_name: local-ai-aider
    x-stackwarden: { group: agents }
"""


@pytest.fixture(scope="session")
def driver(app_env, sni):
    assert APP.is_file(), f"build the app first: {APP}"
    # The app's own log (it inherits tauri-driver's stderr) is kept for failures.
    log = open(ARTIFACTS / "app.log", "w")
    td = subprocess.Popen(["tauri-driver", "--port", "4444", "--native-port", "4445"], env=app_env,
                          stdout=log, stderr=log)
    try:
        _wait_port(4444)
        d = open_session(4444, APP)
        try:
            yield d
        finally:
            try:
                d.quit()
            except Exception:  # the app may already have quit from its tray menu
                pass
    finally:
        _stop(td)
        log.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _window_stopped_answering(excinfo) -> bool:
    """A test ran out of time (pytest-timeout) or a WebDriver call did."""
    text = f"{excinfo.typename}: {excinfo.value}"
    return "Timeout (>" in text or "ReadTimeoutError" in text or "Read timed out" in text


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # The tests share one window: once it stops answering, every later test
    # would wait out its own bounds too. The run stops there; the session's
    # fixtures are still torn down.
    report = yield
    if report.failed and call.excinfo is not None and _window_stopped_answering(call.excinfo):
        item.session.shouldstop = f"{item.name} found the window not answering; later tests share it"
    return report
