#!/usr/bin/env bash
# Benchmark of issue 3: one probe round over the built-in AI stack against
# local stand-ins of its services, side by side in the same run with the same
# checks done by hand (bench/manual_health_checks.sh: podman ps, curl | jq,
# psql and redis-cli through podman exec), and `stackwarden health` as a
# whole process. Needs what scripts/test.sh installs.
#
#   bash bench/health_round.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
own_engine=${SW_BENCH_OWN_ENGINE:-1}

if [ "$own_engine" = 1 ]; then
  bash tests/support/engine.sh start >/dev/null
  trap 'bash bench/default_stack_standins.sh down >/dev/null 2>&1 || true; bash tests/support/engine.sh stop >/dev/null 2>&1 || true' EXIT
else
  trap 'bash bench/default_stack_standins.sh down >/dev/null 2>&1 || true' EXIT
fi
# shellcheck disable=SC1091
source "${SW_TEST_STATE:-/tmp/stackwarden-test}/engine.env"
bash tests/support/engine.sh fixtures >/dev/null   # the busybox images
bash tests/support/engine.sh databases >/dev/null  # the PostgreSQL/Redis image
bash bench/default_stack_standins.sh up
export POSTGRES_PASSWORD=sw-test-pw

cargo build --release --locked -p stackwarden-cli
cargo build --release --locked -p stackwarden-probes --example probe_round_bench

echo "## Probe round over the built-in AI stack (in process, as the app runs it)"
./target/release/examples/probe_round_bench 30 | tee /tmp/sw-round.txt
round=$(sed -n 's/^ROUND_MEDIAN_MS=//p' /tmp/sw-round.txt)

echo
echo "## The same checks by hand vs stackwarden health (whole processes)"
hyperfine --style none --warmup 2 --runs 20 -N -i \
  --export-json /tmp/sw-health-hyperfine.json \
  -n "manual checks (bench/manual_health_checks.sh)" "bash bench/manual_health_checks.sh" \
  -n "stackwarden health" "./target/release/stackwarden health" >/dev/null
python3 - /tmp/sw-health-hyperfine.json "$round" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
round_ms = float(sys.argv[2])
print("| command | median [ms] | mean ± σ [ms] | min [ms] | max [ms] |")
print("|---|---|---|---|---|")
for r in results:
    ms = lambda v: f"{v * 1000:.1f}"
    print(f"| `{r['command']}` | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['max'])} |")
manual = results[0]["median"] * 1000
process = results[1]["median"] * 1000
print(f"\nmanual checks / in-process round (medians): {manual / round_ms:.1f}x (target ≥ 10x)")
print(f"manual checks / stackwarden health process (medians): {manual / process:.1f}x")
PY
