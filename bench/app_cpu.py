"""Benchmark: the desktop app's footprint, side by side with a minimal Tauri 2
app (bench/minimal, same Tauri, same profile) in the same run.

For every process of each app (its own, WebKitWebProcess, WebKitNetworkProcess)
it reads PSS from /proc/PID/smaps_rollup and CPU from /proc/PID/stat
(utime+stime over the measured span):

- the minimal app with its window open;
- Stackwarden with its window open on each view (Services, Health, Verify),
  switched through tauri-driver as a user clicks;
- Stackwarden closed to the tray (the window and its web view are released);
- the time from "Open Stackwarden" in the tray menu until the re-created
  window is mapped (median of several);
- Stackwarden launched directly on its Services view, alternately drawing
  without GPU compositing (its default, src-tauri/rendering.rs) and with
  WebKit's own policy (STACKWARDEN_WEBVIEW_GPU=1).

It also counts the resource samples written in each phase (sampling follows
the window). Run under Xvfb with a private session bus, on whatever
containers the engine has; `--stack` picks the stack file the app watches.

    python3 bench/app_cpu.py target/release/stackwarden-desktop \\
        target/release/examples/minimal_tauri 30 --stack bench/stacks/footprint.yaml
"""

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from procfs import thread_names  # noqa: E402
from sni import SniHost  # noqa: E402
from x11 import close_until_gone, find_app_window, is_viewable  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DISPLAY = ":95"
DRIVER_PORT = 4454
VIEWS = ["services", "health", "verify"]
WARM_UP = 20


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    data = f.read()
            except OSError:
                continue
            ppid = int(data.rsplit(")", 1)[1].split()[1])
            name = data.split("(", 1)[1].rsplit(")", 1)[0]
            if ppid == pid:
                out.append((int(entry), name))
    return out


def processes(pid):
    """The app's process and its WebKit helpers, by kind."""
    kinds = {"app": [pid], "web": [], "net": []}
    for child, name in children(pid):
        if name.startswith("WebKitWebProces"):
            kinds["web"].append(child)
        elif name.startswith("WebKitNetworkPr"):
            kinds["net"].append(child)
    return kinds


def measure(pid, seconds):
    """CPU (% of one core) and PSS (MB) per kind of process over `seconds`."""
    kinds = processes(pid)
    before = {p: cpu_ticks(p) for ps in kinds.values() for p in ps}
    time.sleep(seconds)
    cpu = {k: sum(cpu_ticks(p) - before[p] for p in ps) / TICK / seconds * 100 for k, ps in kinds.items()}
    pss = {k: sum(pss_kib(p) for p in ps) / 1024 for k, ps in kinds.items()}
    return cpu, pss


def samples(db):
    try:
        with sqlite3.connect(db) as c:
            return c.execute("SELECT COUNT(*) FROM resource_samples").fetchone()[0]
    except sqlite3.Error:
        return 0


def wait_for(what, probe, timeout=60.0, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def window_mapped(pid, title):
    d, win = find_app_window(DISPLAY, pid, title)
    try:
        return win is not None and is_viewable(win)
    finally:
        d.close()


def close_window(pid, title):
    """Closes the window as a window manager would (see `close_until_gone`)."""
    close_until_gone(DISPLAY, pid, lambda: window_mapped(pid, title), title, waits=(3.0, 3.0))


def wait_port(port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


def stop(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Row:
    def __init__(self, app, phase, seconds, cpu, pss, written=None):
        self.app, self.phase, self.seconds, self.cpu, self.pss, self.written = app, phase, seconds, cpu, pss, written

    def total_pss(self):
        return sum(self.pss.values())

    def line(self):
        written = "" if self.written is None else str(self.written)
        return (f"| {self.app} | {self.phase} | {self.pss['app']:.0f} | {self.pss['web']:.0f} | {self.pss['net']:.0f} "
                f"| **{self.total_pss():.0f}** | {self.cpu['app']:.2f} % | {self.cpu['web']:.2f} % | {self.cpu['net']:.2f} % "
                f"| {written} |")


def start_session():
    """Xvfb on DISPLAY and a private session bus: (xvfb, bus, bus address)."""
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return xvfb, bus, bus.stdout.readline().strip()


def run_minimal(minimal, env, seconds):
    proc = subprocess.Popen([minimal], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for("the minimal app's window", lambda: window_mapped(proc.pid, "Minimal"))
        time.sleep(WARM_UP)
        cpu, pss = measure(proc.pid, seconds)
        return Row("minimal Tauri 2", "window open", seconds, cpu, pss)
    finally:
        stop(proc)


def run_app(app, env, seconds, work, host, reopen_count):
    from selenium.webdriver.common.by import By
    from webview import open_session

    rows = []
    db = work / "data" / "stackwarden.sqlite3"
    driver_proc = subprocess.Popen(["tauri-driver", "--port", str(DRIVER_PORT), "--native-port", str(DRIVER_PORT + 1)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = None
    try:
        wait_port(DRIVER_PORT)
        driver = open_session(DRIVER_PORT, app)
        service = host.wait_for_item(60)
        pid = host.owner_pid(service)
        row_css = '[data-testid="service-table"] tbody tr[data-testid^="row-"]'
        wait_for("the table", lambda: driver.find_elements(By.CSS_SELECTOR, row_css))
        containers = len(driver.find_elements(By.CSS_SELECTOR, row_css))
        time.sleep(WARM_UP)  # start-up work (first probe rounds, page JIT) is over
        for view in VIEWS:
            driver.find_element(By.CSS_SELECTOR, f'[data-testid="nav-{view}"]').click()
            time.sleep(5)  # the view's data loaded, first samples in
            n0 = samples(db)
            cpu, pss = measure(pid, seconds)
            rows.append(Row("Stackwarden", f"window open, {view.capitalize()} view", seconds, cpu, pss,
                            samples(db) - n0))

        close_window(pid, "Stackwarden")
        wait_for("the window destroyed", lambda: not window_mapped(pid, "Stackwarden"))
        try:
            driver.quit()
        except Exception:  # its session ended with the window
            pass
        driver = None
        wait_for("the web view released", lambda: not processes(pid)["web"], timeout=15)
        time.sleep(5)
        n0 = samples(db)
        cpu, pss = measure(pid, seconds)
        rows.append(Row("Stackwarden", "closed to the tray", seconds, cpu, pss, samples(db) - n0))

        reopen = []
        for _ in range(reopen_count):
            props = host.item_properties(service)
            labels = host.menu_labels(service, props["menu"])
            started = time.perf_counter()
            host.click_menu(service, props["menu"], labels["Open Stackwarden"])
            wait_for("the window re-created", lambda: window_mapped(pid, "Stackwarden"), interval=0.002)
            reopen.append((time.perf_counter() - started) * 1000)
            time.sleep(2)
            close_window(pid, "Stackwarden")
            wait_for("the window destroyed", lambda: not window_mapped(pid, "Stackwarden"))
            time.sleep(1)

        props = host.item_properties(service)
        labels = host.menu_labels(service, props["menu"])
        try:
            host.click_menu(service, props["menu"], labels["Quit"])
        except Exception:  # the app may exit before it answers
            pass
        wait_exited(pid)
        return rows, reopen, containers
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        stop(driver_proc)


def has_gpu_worker(pid):
    """Whether the app's web process runs Skia's GPU worker (accelerated compositing)."""
    return any("SkiaGPUWorker" in thread_names(web) for web in processes(pid)["web"])


def run_rendering_ab(app, env, seconds, rounds):
    """Stackwarden launched directly (no WebDriver) on its Services view, in
    ABBA order with its own rendering policy (no GPU compositing) and with
    WebKit's (STACKWARDEN_WEBVIEW_GPU=1). Each run has fresh data and web
    storage, so it starts on the Services view."""
    policies = [("software (default)", {}), ("WebKit's GPU policy", {"STACKWARDEN_WEBVIEW_GPU": "1"})]
    order = [policies[(i // 2 + i) % 2] for i in range(2 * rounds)]  # A B B A A B ...
    rows = []
    for phase, extra in order:
        with tempfile.TemporaryDirectory(prefix="sw-bench-ab-") as tmp:
            work = Path(tmp)
            run_env = dict(env, STACKWARDEN_DATA_DIR=str(work / "data"), XDG_DATA_HOME=str(work / "xdg-data"),
                           XDG_CACHE_HOME=str(work / "xdg-cache"), **extra)
            proc = subprocess.Popen([app], env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                def mapped():
                    if proc.poll() is not None:
                        raise AssertionError(f"the app exited ({proc.returncode}): another instance still runs?")
                    return window_mapped(proc.pid, "Stackwarden")
                wait_for("the window", mapped)
                time.sleep(WARM_UP)
                cpu, pss = measure(proc.pid, seconds)
                gpu = "Skia GPU worker" if has_gpu_worker(proc.pid) else "no Skia GPU worker"
                rows.append(Row("Stackwarden", f"Services view, {phase}: {gpu}", seconds, cpu, pss))
            finally:
                stop(proc)
    return rows


def wait_exited(pid, timeout=30.0):
    """Until `pid` is gone or a zombie (a quit app still holds its single-instance name until then)."""
    def gone():
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True
    wait_for(f"process {pid} to exit", gone, timeout=timeout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app")
    parser.add_argument("minimal")
    parser.add_argument("seconds", type=float, nargs="?", default=30.0)
    parser.add_argument("--stack", help="stack file the app watches (default: the built-in stack)")
    parser.add_argument("--reopen", type=int, default=7, help="how many times to time re-opening")
    parser.add_argument("--rendering-rounds", type=int, default=2,
                        help="rounds of the rendering policy comparison (0: none)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sw-bench-"))
    xvfb, bus, address = start_session()
    host = SniHost(address)
    config = work / "config.toml"
    if args.stack:
        config.write_text(f'[stack]\nfile = "{Path(args.stack).resolve()}"\n')
    env = dict(os.environ, DISPLAY=DISPLAY, DBUS_SESSION_BUS_ADDRESS=address, NO_AT_BRIDGE="1",
               STACKWARDEN_DATA_DIR=str(work / "data"), STACKWARDEN_CONFIG=str(config),
               XDG_DATA_HOME=str(work / "xdg-data"), XDG_CACHE_HOME=str(work / "xdg-cache"),
               XDG_RUNTIME_DIR=str(work), SW_TEST_PG_PASSWORD="sw-test-pw")
    try:
        wait_for("Xvfb", lambda: Path(f"/tmp/.X11-unix/X{DISPLAY.lstrip(':')}").exists(), timeout=10)
        minimal = run_minimal(args.minimal, env, args.seconds)
        rows, reopen, containers = run_app(args.app, env, args.seconds, work, host, args.reopen)
        try:
            ab = run_rendering_ab(args.app, env, args.seconds, args.rendering_rounds)
        except Exception as e:  # what was measured above still prints
            print(f"rendering comparison failed: {e}", file=sys.stderr)
            ab = []
    finally:
        host.close()
        for p in (bus, xvfb):
            stop(p)

    print(f"{containers} containers in the table; CPU in % of one core over {args.seconds:.0f} s per phase; PSS in MB.\n")
    print("| app | phase | own process PSS | WebKitWebProcess PSS | WebKitNetworkProcess PSS | all processes PSS "
          "| own process CPU | WebKitWebProcess CPU | WebKitNetworkProcess CPU | samples written |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in [minimal] + rows:
        print(row.line())
    opened = [r for r in rows if r.phase.startswith("window open")]
    worst = max(r.total_pss() for r in opened)
    print(f"\nWindow open, all processes: {worst:.0f} MB at most against {minimal.total_pss():.0f} MB for the minimal "
          f"app: {worst / minimal.total_pss():.2f}x.")
    tray = [r for r in rows if r.phase == "closed to the tray"][0]
    print(f"Closed to the tray, all processes: {tray.total_pss():.0f} MB.")
    if reopen:
        print(f"Re-open from the tray until the window is mapped: median {statistics.median(reopen):.0f} ms "
              f"(min {min(reopen):.0f}, max {max(reopen):.0f}, {len(reopen)} runs).")
    if ab:
        print("\nRendering policy, launched directly on the Services view, ABBA order:\n")
        print("| app | phase | own process PSS | WebKitWebProcess PSS | WebKitNetworkProcess PSS | all processes PSS "
              "| own process CPU | WebKitWebProcess CPU | WebKitNetworkProcess CPU | samples written |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for row in ab:
            print(row.line())


if __name__ == "__main__":
    main()
