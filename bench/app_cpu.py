"""Benchmark: CPU used by the desktop app with its window open on the current
containers at the default refresh interval, then with the window hidden to
the tray. Reads /proc utime+stime of the app process and of its WebKit
children; also counts the resource samples written meanwhile, to show that
sampling runs only while the window is visible.

    python3 bench/app_cpu.py target/release/stackwarden-desktop 60
"""

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from sni import SniHost  # noqa: E402
from x11 import find_app_window, is_viewable, request_close  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DISPLAY = ":95"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    data = f.read()
                ppid = int(data.rsplit(")", 1)[1].split()[1])
                name = data.split("(", 1)[1].rsplit(")", 1)[0]
            except OSError:
                continue
            if ppid == pid:
                out.append((int(entry), name))
    return out


def measure(pids, seconds):
    before = {p: cpu_ticks(p) for p in pids}
    time.sleep(seconds)
    return {p: (cpu_ticks(p) - before[p]) / TICK / seconds * 100 for p in pids}


def samples(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT COUNT(*) FROM resource_samples").fetchone()[0]


def main():
    app, seconds = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
    work = Path(tempfile.mkdtemp(prefix="sw-bench-"))
    xvfb = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = bus.stdout.readline().strip()
    host = SniHost(address)
    env = dict(os.environ, DISPLAY=DISPLAY, DBUS_SESSION_BUS_ADDRESS=address, NO_AT_BRIDGE="1",
               STACKWARDEN_DATA_DIR=str(work / "data"), STACKWARDEN_CONFIG=str(work / "none.toml"))
    proc = subprocess.Popen([app], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        service = host.wait_for_item(60)
        time.sleep(8)  # page loaded, first samples in
        web = [p for p, name in children(proc.pid) if name.startswith("WebKitWebProces")]
        net = [p for p, name in children(proc.pid) if name.startswith("WebKitNetworkPr")]
        pids = [proc.pid] + web + net
        db = work / "data" / "stackwarden.sqlite3"

        n0 = samples(db)
        visible = measure(pids, seconds)
        n1 = samples(db)

        d, win = find_app_window(DISPLAY, proc.pid)
        request_close(d, win)
        time.sleep(3)
        assert not is_viewable(win), "window did not hide"
        n2 = samples(db)
        hidden = measure(pids, seconds)
        n3 = samples(db)

        def row(label, res, s_before, s_after):
            app_cpu = res[proc.pid]
            web_cpu = sum(res[p] for p in web)
            net_cpu = sum(res[p] for p in net)
            print(f"| {label} | {seconds:.0f} s | {app_cpu:.2f} % | {web_cpu:.2f} % | {net_cpu:.2f} % | {s_after - s_before} |")

        print("| window | measured over | app (Rust) process | WebKitWebProcess | WebKitNetworkProcess | samples written |")
        print("|---|---|---|---|---|---|")
        row("visible", visible, n0, n1)
        row("hidden to tray", hidden, n2, n3)

        props = host.item_properties(service)
        labels = host.menu_labels(service, props["menu"])
        host.click_menu(service, props["menu"], labels["Quit"])
        proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        host.close()
        for p in (bus, xvfb):
            p.terminate()
            p.wait(10)


if __name__ == "__main__":
    main()
