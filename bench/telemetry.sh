#!/usr/bin/env bash
# Telemetry ingest and following (docs/benchmarks.md, "Telemetry"):
#  1. a 1,000,000-line JSON Lines file with 1 % malformed lines, read from a
#     cold start into the aggregates (`stackwarden telemetry` on an empty
#     data folder: follower, aggregates, SQLite, report) side by side with
#     `jq -cR 'fromjson?' FILE > /dev/null` on the same file; wall time and
#     peak RSS, medians of 5;
#  2. the same on a ~1 GB file (peak RSS must stay flat);
#  3. `stackwarden watch` following a file appended at 1,000 lines/s: its CPU
#     over 30 s, beside the same watch with an idle file.
#
#   bash bench/telemetry.sh              # builds the release CLI first
#   SW_BENCH_NO_BUILD=1 bash bench/telemetry.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
runs=${BENCH_RUNS:-5}
work=$(mktemp -d /tmp/sw-bench-telemetry.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${SW_BENCH_NO_BUILD:-}" ]; then
  cargo build --release --locked -p stackwarden-cli
fi
sw="$root/target/release/stackwarden"

python3 bench/telemetry_lines.py 1000000 > "$work/events.jsonl"
for _ in 1 2 3 4 5 6 7 8; do cat "$work/events.jsonl"; done > "$work/big.jsonl"
mkdir -p "$work/tel"
cat > "$work/stack.yaml" <<YAML
name: bench
services:
  aidb:
    image: localhost/sw-test-busybox:latest
x-stackwarden:
  verify:
    telemetry:
      dir: $work/tel
      files: [events.jsonl]
YAML
lines() { wc -l < "$1" | tr -d ' '; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One timed run: prints "seconds peak_kib".
timed() { /usr/bin/time -f '%e %M' -o "$work/time" "$@" > /dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; cat "$work/time"; }

ingest() {
  rm -rf "$work/data" && ln -sf "$1" "$work/tel/events.jsonl"
  STACKWARDEN_DATA_DIR="$work/data" STACKWARDEN_CONFIG="$work/none.toml" \
    timed "$sw" telemetry --stack "$work/stack.yaml" --since 365d --json
}

echo "## Telemetry ingest: $(lines "$work/events.jsonl") lines, $(du -h "$work/events.jsonl" | cut -f1), 1 % malformed ($runs runs each)"
: > "$work/sw" ; : > "$work/jq"
for _ in $(seq "$runs"); do
  ingest "$work/events.jsonl" >> "$work/sw"
  timed jq -cR 'fromjson?' "$work/events.jsonl" >> "$work/jq"
done
n=$(lines "$work/events.jsonl")
sw_s=$(cut -d' ' -f1 "$work/sw" | median); sw_kb=$(cut -d' ' -f2 "$work/sw" | median)
jq_s=$(cut -d' ' -f1 "$work/jq" | median); jq_kb=$(cut -d' ' -f2 "$work/jq" | median)
echo "| | median s | lines/s | peak RSS MiB |"
echo "|---|---|---|---|"
awk -v s="$sw_s" -v k="$sw_kb" -v n="$n" 'BEGIN { printf "| stackwarden telemetry (cold, into SQLite) | %.2f | %.0f | %.1f |\n", s, n/s, k/1024 }'
awk -v s="$jq_s" -v k="$jq_kb" -v n="$n" 'BEGIN { printf "| jq -cR '"'"'fromjson?'"'"' | %.2f | %.0f | %.1f |\n", s, n/s, k/1024 }'
awk -v a="$sw_s" -v b="$jq_s" 'BEGIN { printf "jq / stackwarden: %.1fx\n", b/a }'

echo
big=$(lines "$work/big.jsonl")
read -r big_s big_kb < <(ingest "$work/big.jsonl")
echo "## The same, $big lines ($(du -h "$work/big.jsonl" | cut -f1)), one run"
awk -v s="$big_s" -v k="$big_kb" -v n="$big" 'BEGIN { printf "%.1f s, %.0f lines/s, peak RSS %.1f MiB\n", s, n/s, k/1024 }'

echo
echo "## Following an active file: stackwarden watch, CPU over 30 s"
cpu_of() { # pid seconds -> percent of one core
  local t0 t1
  t0=$(awk '{print $14+$15}' "/proc/$1/stat"); sleep "$2"; t1=$(awk '{print $14+$15}' "/proc/$1/stat")
  awk -v a="$t0" -v b="$t1" -v s="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b-a)*100/hz/s }'
}
watch_cpu() { # lines_per_second
  rm -rf "$work/data" "$work/tel/events.jsonl" && : > "$work/tel/events.jsonl"
  STACKWARDEN_DATA_DIR="$work/data" STACKWARDEN_CONFIG="$work/none.toml" \
    "$sw" watch --stack "$work/stack.yaml" 2>"$work/watch.log" &
  local watch=$!; pids+=("$watch")
  local writer=""
  if [ "$1" -gt 0 ]; then
    python3 bench/telemetry_lines.py --rate "$1" >> "$work/tel/events.jsonl" &
    writer=$!; pids+=("$writer")
  fi
  sleep 10
  cpu_of "$watch" 30
  [ -n "$writer" ] && kill "$writer"
  kill -TERM "$watch"; wait "$watch" 2>/dev/null || true
  # What the watch recorded, to show it followed the file (to stderr).
  python3 -c 'import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute("SELECT coalesce(sum(events_total), 0), coalesce(sum(malformed_total), 0) FROM telemetry_files").fetchone(); print(f"  (the watch recorded {r[0]} events, {r[1]} malformed)", file=sys.stderr)' "$work/data/stackwarden.sqlite3"
}
idle=$(watch_cpu 0 2>"$work/idle.note")
busy=$(watch_cpu 1000 2>"$work/busy.note")
echo "| file | watch CPU, % of one core |"
echo "|---|---|"
echo "| idle (no lines) | $idle |"
echo "| 1,000 lines/s | $busy |"
awk -v a="$idle" -v b="$busy" 'BEGIN { printf "following 1,000 lines/s costs %.2f %% of one core\n", b-a }'
echo "idle: $(cat "$work/idle.note"); 1,000 lines/s: $(cat "$work/busy.note")"
