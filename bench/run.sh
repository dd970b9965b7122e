#!/usr/bin/env bash
# Runs the benchmarks of docs/benchmarks.md on this machine, side by side with
# their baselines in the same run. Needs what scripts/test.sh installs.
#
#   bash bench/run.sh            # full run (about 35 minutes)
#   BENCH_APP_SECONDS=20 bash bench/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
venv=${SW_TEST_VENV:-$root/target/e2e-venv}
seconds=${BENCH_APP_SECONDS:-60}

bash tests/support/engine.sh start >/dev/null
# shellcheck disable=SC1091
source "${SW_TEST_STATE:-/tmp/stackwarden-test}/engine.env"
trap 'bash tests/support/engine.sh stop >/dev/null 2>&1 || true' EXIT
bash tests/support/engine.sh fixtures >/dev/null   # builds the images
bash tests/support/engine.sh stop >/dev/null 2>&1 || true
bash tests/support/engine.sh start >/dev/null

(cd ui && npm run --silent build)
cargo build --release --locked -p stackwarden-desktop -p stackwarden-cli
cargo build --release --locked -p stackwarden-desktop --example minimal_tauri
cargo build --release --locked -p stackwarden-engine --example refresh_bench

echo "## Machine"
echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r), $(podman --version)"
echo
echo "## Desktop app footprint beside a minimal Tauri 2 app: the test stack"
bash tests/support/engine.sh fixtures >/dev/null
bash tests/support/engine.sh databases >/dev/null
"$venv/bin/python" bench/app_cpu.py "$root/target/release/stackwarden-desktop" \
  "$root/target/release/examples/minimal_tauri" "$seconds" --stack bench/stacks/footprint.yaml

echo
echo "## Refresh: in-process vs the podman CLI pair"
./target/release/examples/refresh_bench 10 50

echo
echo "## Whole process: stackwarden status vs podman ps + podman stats --no-stream (50 containers)"
SW_BENCH_KEEP=1 ./target/release/examples/refresh_bench 50 >/dev/null
names=$(podman ps -q --filter label=stackwarden.test=bench | tr '\n' ' ')
hyperfine --style none --warmup 3 --runs 30 -N \
  --export-json /tmp/sw-hyperfine.json \
  -n "stackwarden status" "./target/release/stackwarden status" \
  -n "podman ps + podman stats --no-stream" "sh -c 'podman ps >/dev/null && podman stats --no-stream $names >/dev/null'" \
  -i >/dev/null
python3 - /tmp/sw-hyperfine.json <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print("| command | median [ms] | mean ± σ [ms] | min [ms] | max [ms] |")
print("|---|---|---|---|---|")
for r in results:
    ms = lambda v: f"{v * 1000:.1f}"
    print(f"| `{r['command']}` | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['max'])} |")
base = results[1]["median"] / results[0]["median"]
print(f"\nCLI pair / stackwarden status (medians): {base:.2f}x")
PY

echo
echo "## Desktop app footprint with 50 more containers"
"$venv/bin/python" bench/app_cpu.py "$root/target/release/stackwarden-desktop" \
  "$root/target/release/examples/minimal_tauri" "$seconds" --stack bench/stacks/footprint.yaml

echo
SW_BENCH_OWN_ENGINE=0 bash bench/health_round.sh

echo
SW_BENCH_OWN_ENGINE=0 bash bench/verify_round.sh

echo
bash bench/timeline.sh

echo
bash bench/heal.sh

echo
bash bench/recover.sh
