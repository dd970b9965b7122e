#!/usr/bin/env python3
"""The recovery benchmark of docs/benchmarks.md (issue 12).

A replica of the user's stack (tests/support/recover/swrec: PostgreSQL and
Redis with data in named volumes, an MCP service that depends on both being
healthy), brought up once with podman-compose, data written (12,345 rows,
100 keys). Then, ROUNDS times for each tool, interleaved: every container
removed (volumes kept), the tool run, and the same readiness check after it
until it passes:

  - `stackwarden recover --yes` (it waits for health and compares the
    data's fingerprint itself; the check after it passes at once);
  - `docker-compose up -d` (1.29, Debian's, against Podman's socket);
  - `podman-compose up -d` (1.0.3, Debian's).

Readiness (the same for all): every required service answers healthy and
the data matches what was written: aidb's /health answers 200, Redis's
DBSIZE is 100, PostgreSQL counts 12,345 rows. Polled every 50 ms from the
moment the tool starts until it passes, during the tool's run and after
it: the figure is when the stack was back with its data, whoever got it
there. When the tool returned is shown beside it: the wizard returns only
after its verification checklist (one second of it samples CPU) and its
fingerprint comparison, which neither compose tool does.

Podman runs no HEALTHCHECK by itself without systemd (these machines have
none), so while a compose tool runs, a ticker runs each container's
healthcheck every 2 s, the interval the file gives: what systemd's timers
do on a desktop. The wizard runs the healthchecks itself.

    python3 bench/recover.py            # ROUNDS=5 by default
"""

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("ROUNDS", "5"))
CLI = os.environ.get("SW_CLI", str(ROOT / "target/release/stackwarden"))
PROJECT = "swrecbench"
PORTS = (45432, 45433, 45434)
ROWS = 12345
KEYS = 100
PASSWORD = "sw-test-pw"
CONTAINERS = [f"{PROJECT}_{s}_1" for s in ("postgres", "redis", "aidb")]


def run(*args, check=True, **kw):
    out = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stdout}{out.stderr}")
    return out


def remove_containers():
    run("podman", "rm", "-f", "-t", "0", *CONTAINERS, check=False)


def clean():
    remove_containers()
    run("podman", "volume", "rm", "-f", f"{PROJECT}_pgdata", f"{PROJECT}_redisdata", check=False)
    run("podman", "network", "rm", "-f", f"{PROJECT}_default", check=False)


def redis_dbsize(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"DBSIZE\r\n")
        reply = s.recv(64).decode()
    return int(reply.strip().lstrip(":"))


def ready():
    """Every required service healthy and the data as written."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[2]}/health", timeout=1) as r:
            if r.status != 200:
                return False
        if redis_dbsize(PORTS[1]) != KEYS:
            return False
    except OSError:
        return False
    out = run(
        "podman", "exec", CONTAINERS[0], "su", "postgres", "-c",
        "psql -qtA -d mcp -c 'SET ROLE mcp; SELECT count(*) FROM document_embeddings'",
        check=False,
    )
    return out.returncode == 0 and out.stdout.strip().endswith(str(ROWS))


def wait_ready(limit=120):
    began = time.monotonic()
    while time.monotonic() - began < limit:
        if ready():
            return True
        time.sleep(0.05)
    return False


class Poller:
    """Polls readiness from its start; `at` is when it first passed."""

    def __init__(self, t0):
        self.t0 = t0
        self.at = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop.is_set() and time.monotonic() - self.t0 < 120:
            if ready():
                self.at = time.monotonic() - self.t0
                return
            time.sleep(0.05)

    def result(self):
        self.thread.join()
        return self.at


class Ticker:
    """Runs each container's healthcheck every 2 s, as systemd timers do."""

    def __init__(self):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            for c in CONTAINERS[:2]:
                run("podman", "healthcheck", "run", c, check=False)
            self.stop.wait(2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def main():
    for tool in ("docker-compose", "podman-compose"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (scripts/install-deps.sh test installs it)")
    work = Path(tempfile.mkdtemp(prefix="sw-bench-recover-"))
    folder = work / PROJECT
    folder.mkdir()
    template = (ROOT / "tests/support/recover/swrec/compose.yaml").read_text()
    for old, new in zip(("25432", "26379", "28080"), PORTS):
        template = template.replace(old, str(new))
    (folder / "compose.yaml").write_text(template)
    data = work / "data"
    env = dict(os.environ, SWREC_PG_PASSWORD=PASSWORD, STACKWARDEN_DATA_DIR=str(data),
               STACKWARDEN_CONFIG="/nonexistent/config.toml",
               SWREC_TELEMETRY_DIR=str(data / "telemetry"))
    clean()
    try:
        run("podman-compose", "up", "-d", cwd=folder, env=env)
        began = time.monotonic()
        while run("podman", "exec", CONTAINERS[0], "pg_isready", "-q", "-h", "127.0.0.1",
                  "-U", "mcp", "-d", "mcp", check=False).returncode != 0:
            if time.monotonic() - began > 60:
                sys.exit("PostgreSQL did not start")
            time.sleep(0.2)
        run("podman", "exec", CONTAINERS[0], "su", "postgres", "-c",
            f"psql -q -d mcp -c \"SET ROLE mcp; INSERT INTO document_embeddings (body) "
            f"SELECT 'doc ' || g FROM generate_series(1, {ROWS}) g\"")
        run("podman", "exec", CONTAINERS[1], "sh", "-c",
            f"for i in $(seq 1 {KEYS}); do echo SET key$i v$i; done | redis-cli > /dev/null")
        with Ticker():
            if not wait_ready():
                sys.exit("the replica never became ready")
        # The baseline fingerprint, as a user's verification leaves it.
        run(CLI, "verify", "--stack", str(folder / "compose.yaml"), env=env, check=False)

        tools = {
            "stackwarden recover --yes": [CLI, "recover", "--yes", "--stack", str(folder / "compose.yaml")],
            "docker-compose up -d": ["docker-compose", "up", "-d"],
            "podman-compose up -d": ["podman-compose", "up", "-d"],
        }
        times = {name: [] for name in tools}
        answered = {name: [] for name in tools}
        for round_no in range(ROUNDS):
            for name, command in tools.items():
                remove_containers()
                ticker = None if name.startswith("stackwarden") else Ticker().__enter__()
                t0 = time.monotonic()
                poller = Poller(t0)
                out = run(*command, cwd=folder, env=env, check=False)
                t_tool = time.monotonic() - t0
                t_ready = poller.result()
                ok = t_ready is not None
                if ticker:
                    ticker.__exit__(None, None, None)
                if out.returncode != 0 or not ok:
                    print(f"round {round_no + 1}: {name} failed (exit {out.returncode}, ready {ok}):"
                          f"\n{out.stdout[-2000:]}{out.stderr[-2000:]}", file=sys.stderr)
                    continue
                times[name].append(t_ready)
                answered[name].append(t_tool)
                print(f"round {round_no + 1}: {name}: tool returned after {t_tool:.2f} s, "
                      f"ready and data verified after {t_ready:.2f} s", flush=True)
        print()
        base = statistics.median(times["docker-compose up -d"]) if times["docker-compose up -d"] else None
        print("| | median until healthy with the data verified | tool returned | vs docker-compose |")
        print("|---|---|---|---|")
        for name in tools:
            if not times[name]:
                print(f"| {name} | failed | | |")
                continue
            med = statistics.median(times[name])
            ratio = f"{med / base:.2f}x" if base else "n/a"
            print(f"| {name} | {med:.2f} s (n={len(times[name])}, "
                  f"min {min(times[name]):.2f}, max {max(times[name]):.2f}) "
                  f"| {statistics.median(answered[name]):.2f} s | {ratio} |")
    finally:
        clean()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
