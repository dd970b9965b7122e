#!/usr/bin/env bash
# The recovery benchmark of docs/benchmarks.md (issue 12): `stackwarden
# recover --yes` beside `docker-compose up -d` and `podman-compose up -d`,
# every container of the replica stack removed (volumes kept), each
# followed by the same readiness-and-data check, in one run (about 3
# minutes). Needs what scripts/test.sh installs and the test images.
#
#   bash bench/recover.sh              # 5 rounds each
#   ROUNDS=9 bash bench/recover.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
bash tests/support/engine.sh start >/dev/null
# shellcheck disable=SC1091
source "${SW_TEST_STATE:-/tmp/stackwarden-test}/engine.env"
podman image exists localhost/sw-test-busybox:latest || bash tests/support/engine.sh fixtures >/dev/null
podman image exists localhost/sw-test-db:latest || bash tests/support/engine.sh databases >/dev/null
cargo build --release --locked -p stackwarden-cli
SW_CLI="$root/target/release/stackwarden" python3 bench/recover.py
