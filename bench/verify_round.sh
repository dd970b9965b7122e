#!/usr/bin/env bash
# Benchmark of issue 4: one-click verification of the built-in AI stack
# against local stand-ins of its services (bench/default_stack_standins.sh)
# and the report's telemetry files, side by side in the same run with the
# report's verification commands as a shell script
# (bench/manual_verification.sh) and `stackwarden verify` as a whole process.
#
#   bash bench/verify_round.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
own_engine=${SW_BENCH_OWN_ENGINE:-1}
home=$(mktemp -d)
if [ "$own_engine" = 1 ]; then
  bash tests/support/engine.sh start >/dev/null
  trap 'rm -rf "$home"; bash bench/default_stack_standins.sh down >/dev/null 2>&1 || true; bash tests/support/engine.sh stop >/dev/null 2>&1 || true' EXIT
else
  trap 'rm -rf "$home"; bash bench/default_stack_standins.sh down >/dev/null 2>&1 || true' EXIT
fi
# shellcheck disable=SC1091
source "${SW_TEST_STATE:-/tmp/stackwarden-test}/engine.env"
bash tests/support/engine.sh fixtures >/dev/null
bash tests/support/engine.sh databases >/dev/null
bash bench/default_stack_standins.sh up
export POSTGRES_PASSWORD=sw-test-pw
cargo build --release --locked -p stackwarden-cli
cargo build --release --locked -p stackwarden-verify --example verify_bench

# The report's telemetry: aidb-events.jsonl 34 KB, hybrid-events.jsonl 733 B.
telemetry="$home/.local/share/nixos-ai-stack/telemetry"
mkdir -p "$telemetry"
for i in $(seq 1 300); do echo "{\"event\":\"tool_call\",\"tool\":\"search\",\"n\":$i,\"latency_ms\":12.5,\"status\":\"ok\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}"; done >"$telemetry/aidb-events.jsonl"
for i in $(seq 1 8); do echo "{\"event\":\"route\",\"n\":$i,\"target\":\"qdrant\",\"ms\":3}"; done >"$telemetry/hybrid-events.jsonl"
# The measured commands see this HOME (the builds above need the real one).
export HOME="$home" STACKWARDEN_DATA_DIR="$home/data" STACKWARDEN_CONFIG=/nonexistent/config.toml


echo "## One-click verification of the built-in AI stack (in process, as the app runs it)"
./target/release/examples/verify_bench 30 | tee /tmp/sw-verify.txt
round=$(sed -n 's/^VERIFY_MEDIAN_MS=//p' /tmp/sw-verify.txt)
checks=$(sed -n 's/^VERIFY_CHECKS=//p' /tmp/sw-verify.txt)

echo
echo "## The report's verification commands as a script vs stackwarden verify (whole processes)"
hyperfine --style none --warmup 2 --runs 20 -N -i \
  --export-json /tmp/sw-verify-hyperfine.json \
  -n "manual verification script (bench/manual_verification.sh)" "bash bench/manual_verification.sh" \
  -n "stackwarden verify" "./target/release/stackwarden verify" \
  -n "stackwarden verify --no-record" "./target/release/stackwarden verify --no-record" >/dev/null
python3 - /tmp/sw-verify-hyperfine.json "$round" "$checks" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
round_ms, checks = float(sys.argv[2]), int(sys.argv[3])
print("| command | median [ms] | mean ± σ [ms] | min [ms] | max [ms] |")
print("|---|---|---|---|---|")
for r in results:
    ms = lambda v: f"{v * 1000:.1f}"
    print(f"| `{r['command']}` | {ms(r['median'])} | {ms(r['mean'])} ± {ms(r['stddev'])} | {ms(r['min'])} | {ms(r['max'])} |")
script = results[0]["median"] * 1000
process = results[1]["median"] * 1000
print(f"\nscript (7 commands) / in-app round ({checks} checks), medians: {script / round_ms:.1f}x (target ≥ 10x)")
print(f"script / stackwarden verify process, medians: {script / process:.1f}x (target ≥ 5x)")
PY
