#!/usr/bin/env bash
# The self-healing benchmark of docs/benchmarks.md (issue 11): Stackwarden's
# healer beside an autoheal-style loop and Podman's own restart policy, on
# the test engine, in one run (about 12 minutes). Needs what scripts/test.sh
# installs and the test engine's images.
#
#   bash bench/heal.sh                      # 10 kills each, flapping for 120 s
#   ROUNDS=5 FLAP_SECONDS=60 bash bench/heal.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
bash tests/support/engine.sh start >/dev/null
# shellcheck disable=SC1091
source "${SW_TEST_STATE:-/tmp/stackwarden-test}/engine.env"
podman image exists localhost/sw-test-busybox:latest || bash tests/support/engine.sh fixtures >/dev/null
cargo build --release --locked -p stackwarden-cli
SW_CLI="$root/target/release/stackwarden" python3 bench/heal.py
