#!/usr/bin/env bash
# The timeline benchmark of docs/benchmarks.md (issue 10): 7 days of 20
# services probed every 30 s generated into a real database, then
#   - the window's timeline data for 24 h and 7 d, in-process (median of 21);
#   - the first paint of the 24 h and 7 d views in the real window (release
#     app under Xvfb, driven by tauri-driver; median of 9);
#   - `stackwarden timeline --since 7d --json` as a process (hyperfine);
#   - catching up on 10,000 engine events served by a real Podman API
#     service (its own event log, written beforehand);
# and the database size per day of recording. Needs what scripts/test.sh
# installs and the test engine's images.
#
#   bash bench/timeline.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
venv=${SW_TEST_VENV:-$root/target/e2e-venv}
events=${BENCH_EVENTS:-10000}

bash tests/support/engine.sh start >/dev/null
# shellcheck disable=SC1091
source "${SW_TEST_STATE:-/tmp/stackwarden-test}/engine.env"

work=$(mktemp -d /tmp/sw-timeline-bench.XXXXXX)
service_pid=
cleanup() {
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd ui && npm run --silent build)
cargo build --release --locked -p stackwarden-desktop -p stackwarden-cli
cargo build --release --locked -p stackwarden-runtime --example timeline_bench
bench=./target/release/examples/timeline_bench

echo "## Machine"
echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(podman --version)"
echo
echo "## Generated history"
$bench generate "$work/data" 7 20
cp -a "$work/data" "$work/window-data"

echo
echo "## The window's timeline data, in-process (runtime.timeline + JSON)"
$bench query "$work/data" 21

echo
echo "## First paint in the window (release app, Xvfb, tauri-driver)"
"$venv/bin/python" bench/timeline_paint.py "$root/target/release/stackwarden-desktop" "$work/window-data" 9

echo
echo "## stackwarden timeline --since 7d --json as a process"
hyperfine --style none --warmup 3 --runs 30 -N --export-json "$work/hyperfine.json" \
  -n "stackwarden timeline --since 7d --json" \
  "env STACKWARDEN_DATA_DIR=$work/data STACKWARDEN_CONFIG=/nonexistent/config.toml ./target/release/stackwarden timeline --since 7d --json" \
  -n "stackwarden timeline --since 24h --json" \
  "env STACKWARDEN_DATA_DIR=$work/data STACKWARDEN_CONFIG=/nonexistent/config.toml ./target/release/stackwarden timeline --since 24h --json" \
  >/dev/null
python3 - "$work/hyperfine.json" <<'PY'
import json, sys
print("| command | median [ms] | mean ± σ [ms] | min [ms] | max [ms] |")
print("|---|---|---|---|---|")
for r in json.load(open(sys.argv[1]))["results"]:
    ms = lambda v: f"{v * 1000:.1f}"
    print(f"| `{r['command']}` | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
env STACKWARDEN_DATA_DIR="$work/data" STACKWARDEN_CONFIG=/nonexistent/config.toml \
  ./target/release/stackwarden timeline --since 7d --json | wc -c | awk '{printf "(%.0f kB of JSON)\n", $1 / 1000}'

echo
echo "## Catching up on $events engine events (a Podman API service of its own)"
mkdir -p "$work/engine"
sed '/^\[engine\]/a events_logfile_path = "'"$work"'/engine/events.log"' "$CONTAINERS_CONF" >"$work/engine/containers.conf"
python3 - "$work/engine/events.log" "$events" <<'PY'
import json, sys, time, datetime
path, count = sys.argv[1], int(sys.argv[2])
now = time.time()
span = 24 * 3600  # spread over the last day
with open(path, "w") as f:
    for n in range(count):
        service = n // 2 % 10 + 1
        at = now - span + (n // 2) * (span / (count / 2)) + (n % 2) * 5
        stamp = datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
        event = {"ID": f"{service:064x}", "Image": "localhost/sw-test-busybox:latest",
                 "Name": f"sw-bench-svc{service:02d}", "Status": "died" if n % 2 == 0 else "start",
                 "Time": stamp, "Type": "container", "Attributes": {"io.buildah.version": "1.28.2"}}
        if n % 2 == 0:
            event["ContainerExitCode"] = 137
        f.write(json.dumps(event, separators=(",", ":")) + "\n")
PY
CONTAINERS_CONF="$work/engine/containers.conf" podman system service --time=0 "unix://$work/engine/podman.sock" \
  >/dev/null 2>"$work/engine/service.log" &
service_pid=$!
for _ in $(seq 100); do [ -S "$work/engine/podman.sock" ] && break; sleep 0.1; done
$bench catchup "$work/engine/podman.sock" "$work/data/stack.yaml" 5
