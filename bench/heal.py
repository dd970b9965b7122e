#!/usr/bin/env python3
"""The self-healing benchmark of docs/benchmarks.md (issue 11).

Side by side, on the same engine in the same run, for a required service
(busybox httpd on a published port; healthy = its port answers):

  - Stackwarden's healer (`stackwarden watch`; the killed service's policy
    resets its backoff after 5 s healthy, so every kill is a first action;
    the flapping one has the conservative policy: backoff 10 s doubling,
    at most 3 actions in 30 min);
  - an autoheal-style loop: every 5 s, restart what
    `podman ps --filter health=unhealthy` lists and what has exited;
  - the engine's own `--restart on-failure` (Podman applies it itself).

Each is measured from `podman kill` of the container to the container
running again (the engine's StartedAt) and to the port answering again
(polled every 20 ms), over ROUNDS kills; for Stackwarden also from the
engine's `die` (the container's FinishedAt) to the healer's action.
Then a flapping container (exits one second after every start) is left
to each for FLAP_SECONDS, and the engine's `start` events are counted:
a restart storm shows as a count that grows with time.

    python3 bench/heal.py            # ROUNDS=10 FLAP_SECONDS=120 by default
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("ROUNDS", "10"))
FLAP_SECONDS = int(os.environ.get("FLAP_SECONDS", "120"))
CLI = os.environ.get("SW_CLI", str(ROOT / "target/release/stackwarden"))
IMAGE = "localhost/sw-test-busybox:latest"
PORT = 18099
NAME = "sw-bench-heal"
FLAP = "sw-bench-flap"


def podman(*args, check=True):
    out = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def remove(*names):
    subprocess.run(["podman", "rm", "-f", "-t", "0", *names], capture_output=True)


def started_ms(name):
    """The engine's StartedAt of the current run, in ms (0 when not running)."""
    state = json.loads(podman("inspect", "-f", "{{json .State}}", name))
    if not state.get("Running"):
        return 0
    return iso_ms(state["StartedAt"])


def iso_ms(text):
    # 2026-11-30T12:00:00.123456789Z or with an offset; Python wants 6 digits.
    from datetime import datetime
    base, _, rest = text.partition(".")
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits):] or "Z"
    zone = "+00:00" if zone == "Z" else zone
    stamp = datetime.fromisoformat(f"{base}.{digits[:6].ljust(6, '0')}{zone}")
    return int(stamp.timestamp() * 1000)


def answers():
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=0.2):
            return True
    except OSError:
        return False


def wait(what, check, timeout=60.0, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError(f"timed out waiting for {what}")


def run_service(restart=None):
    remove(NAME)
    args = ["run", "-d", "--name", NAME, "--label", "stackwarden.test=bench", "-p", f"127.0.0.1:{PORT}:8080"]
    if restart:
        args += ["--restart", restart]
    podman(*args, IMAGE, "httpd", "-f", "-p", "8080")
    wait("the service answering", answers)


def kill_rounds(label, crash=False):
    """ROUNDS kills; per round ms to running again and to answering again."""
    rounds = [kill_once(crash) for _ in range(ROUNDS)]
    running = [r["running_ms"] for r in rounds]
    healthy = [r["healthy_ms"] for r in rounds]
    print(f"  {label}: kill → running again: median {statistics.median(running):.0f} ms"
          f" (min {min(running)}, max {max(running)}); kill → answering: median {statistics.median(healthy):.0f} ms"
          f" (min {min(healthy)}, max {max(healthy)})", flush=True)
    return {"running_ms": running, "healthy_ms": healthy}


def count_starts(name, since_s):
    out = podman("events", "--stream=false", "--since", str(since_s), "--filter", f"container={name}",
                 "--filter", "event=start", "--format", "{{.Status}}", check=False)
    return len([line for line in out.splitlines() if line.strip()])


def flap(label, restart=None):
    remove(FLAP)
    args = ["run", "-d", "--name", FLAP, "--label", "stackwarden.test=bench"]
    if restart:
        args += ["--restart", restart]
    since = int(time.time()) + 1
    podman(*args, IMAGE, "sh", "-c", "sleep 1; exit 1")
    time.sleep(FLAP_SECONDS)
    starts = count_starts(FLAP, since)
    print(f"  {label}: restarts of a container that exits every second, over {FLAP_SECONDS} s: {starts}", flush=True)
    remove(FLAP)
    return starts


STACK = f"""\
name: heal-bench
x-stackwarden:
  groups:
    core:
      required: true
      heal: {{ on: [down, unhealthy], backoff: {{ initial: 10s, factor: 2, cap: 5m, reset_after: 10m }}, limit: {{ actions: 3, within: 30m }} }}
services:
  web:
    image: {IMAGE}
    container_name: {NAME}
    x-stackwarden:
      group: core
      # Each kill of the rounds is a first failure: the backoff resets after
      # 5 s healthy and the cap is out of reach. The flapping container
      # below gets the group's conservative policy.
      heal: {{ backoff: {{ initial: 1s, reset_after: 5s }}, limit: {{ actions: 100, within: 10m }} }}
      probes:
        - tcp: {{ address: "127.0.0.1:{PORT}" }}
          interval: 5s
          timeout: 1s
  flap:
    image: {IMAGE}
    container_name: {FLAP}
    x-stackwarden: {{ group: core }}
"""


def stackwarden(work):
    stack = work / "stack.yaml"
    stack.write_text(STACK)
    env = dict(os.environ, STACKWARDEN_DATA_DIR=str(work / "data"), STACKWARDEN_CONFIG=str(work / "none.toml"))
    log = open(work / "watch.log", "w")
    watch = subprocess.Popen([CLI, "watch", "--stack", str(stack)], env=env, stdout=log, stderr=log)
    try:
        run_service()
        time.sleep(3)
        rounds = {"running_ms": [], "healthy_ms": [], "kills": [], "died_ms": []}
        for i in range(2 * ROUNDS):
            # First `podman kill`, then crashes of the main process.
            r = kill_once(crash=i >= ROUNDS)
            for k in rounds:
                rounds[k].append(r[k])
            # Healthy past the 5 s reset: each kill gets a first action, as
            # a crash a while after the last one does.
            time.sleep(6)
        for label, part in (("podman kill", slice(0, ROUNDS)), ("kill -9 of the main process", slice(ROUNDS, None))):
            running, healthy = rounds["running_ms"][part], rounds["healthy_ms"][part]
            print(f"  Stackwarden, {label}: → running again: median {statistics.median(running):.0f} ms"
                  f" (min {min(running)}, max {max(running)}); → answering: median"
                  f" {statistics.median(healthy):.0f} ms (min {min(healthy)}, max {max(healthy)})", flush=True)
        acted = pair_actions(rounds["kills"], healer_actions(env))
        die_to_action = [a - d for a, d in zip(acted, rounds["died_ms"]) if a is not None]
        if die_to_action:
            print(f"  Stackwarden: engine's die → healer's action: median {statistics.median(die_to_action):.0f} ms"
                  f" (min {min(die_to_action)}, max {max(die_to_action)}, n={len(die_to_action)})", flush=True)
        rounds["die_to_action_ms"] = die_to_action
        rounds["flap_starts"] = flap("Stackwarden")
        return rounds
    finally:
        watch.send_signal(signal.SIGTERM)
        try:
            watch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            watch.kill()
        log.close()
        remove(NAME, FLAP)


def kill_once(crash=False, within=90):
    """One kill (`podman kill`, or with `crash` a SIGKILL of the main process
    from the host): ms to running again and to answering, and when it died."""
    wait("healthy before the kill", answers)
    time.sleep(1.0)
    before = started_ms(NAME)
    pid = podman("inspect", "-f", "{{.State.Pid}}", NAME)
    t0 = int(time.time() * 1000)
    if crash:
        os.kill(int(pid), signal.SIGKILL)
    else:
        podman("kill", NAME)
    up = wait("running again", lambda: (lambda s: s if s and s != before else 0)(started_ms(NAME)), timeout=within)
    wait("answering again", answers, timeout=90)
    t2 = int(time.time() * 1000)
    return {"running_ms": up - t0, "healthy_ms": t2 - t0, "kills": t0, "died_ms": died_at(t0)}


def died_at(since_ms):
    """The engine's time of the first `died` of the service since `since_ms`."""
    out = podman("events", "--stream=false", "--since", str(since_ms // 1000), "--filter", f"container={NAME}",
                 "--filter", "event=died", "--format", "json", check=False)
    stamps = [iso_ms(json.loads(line)["Time"]) for line in out.splitlines() if line.strip().startswith("{")]
    stamps = [s for s in stamps if s >= since_ms - 1000]
    return stamps[0] if stamps else since_ms


def healer_actions(env):
    out = subprocess.run([CLI, "timeline", "--since", "1h", "--json"], env=env, capture_output=True, text=True)
    try:
        data = json.loads(out.stdout)
    except json.JSONDecodeError:
        return []
    return sorted(a["at_ms"] for a in data.get("actions", [])
                  if a.get("source") == "healer" and a.get("service") == "web" and a.get("action") in ("start", "restart"))


def pair_actions(kills, actions):
    """The first healer action after each kill (and before the next)."""
    out = []
    for i, k in enumerate(kills):
        end = kills[i + 1] if i + 1 < len(kills) else float("inf")
        out.append(next((a for a in actions if k <= a < end), None))
    return out


AUTOHEAL = f"""\
while true; do
  for id in $(podman ps -aq --filter label=stackwarden.test=bench --filter health=unhealthy) \\
            $(podman ps -aq --filter label=stackwarden.test=bench --filter status=exited); do
    podman restart -t 10 "$id" >/dev/null 2>&1
  done
  sleep 5
done
"""


def autoheal():
    loop = subprocess.Popen(["bash", "-c", AUTOHEAL], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        run_service()
        r = kill_rounds("autoheal-style loop (5 s), podman kill")
        r["flap_starts"] = flap("autoheal-style loop (5 s)")
        return r
    finally:
        os.killpg(loop.pid, signal.SIGTERM)
        loop.wait(timeout=10)
        remove(NAME, FLAP)


def engine_policy():
    try:
        run_service(restart="on-failure")
        # Podman applies the policy to a crash, not to `podman kill` (a
        # person's kill): one try shows it, then crashes.
        try:
            kill_once(within=15)
            print("  podman --restart on-failure, podman kill: running again", flush=True)
        except RuntimeError:
            print("  podman --restart on-failure, podman kill: not started again within 15 s (Podman does not"
                  " apply the policy to a kill)", flush=True)
            podman("start", NAME)
        r = kill_rounds("podman --restart on-failure, kill -9 of the main process", crash=True)
        r["flap_starts"] = flap("podman --restart on-failure", restart="on-failure")
        return r
    finally:
        remove(NAME, FLAP)


def main():
    if not Path(CLI).exists():
        sys.exit(f"no {CLI}: build it (cargo build --release -p stackwarden-cli) or set SW_CLI")
    print(f"## Self-healing: {ROUNDS} kills each, flapping for {FLAP_SECONDS} s", flush=True)
    print(f"{os.cpu_count()} cores, {podman('--version')}, stackwarden at {CLI}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="sw-heal-bench."))
    results = {}
    try:
        print("Stackwarden's healer (stackwarden watch):", flush=True)
        results["stackwarden"] = stackwarden(work)
        print("autoheal-style loop:", flush=True)
        results["autoheal"] = autoheal()
        print("the engine's restart policy:", flush=True)
        results["engine"] = engine_policy()
    finally:
        remove(NAME, FLAP)
        (work / "results.json").write_text(json.dumps(results, indent=1))
        print(f"raw figures: {work / 'results.json'}", flush=True)
        shutil.rmtree(work / "data", ignore_errors=True)


if __name__ == "__main__":
    main()
