#!/usr/bin/env bash
# Installs what the app needs, builds it (release) and starts it.
# The `stackwarden` command line is built beside it in target/release/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh app
export PATH="$HOME/.cargo/bin:$PATH"
echo "==> Building the UI"
(cd ui && npm run --silent build)
echo "==> Building the app and the command line (release)"
cargo build --release --locked -p stackwarden-desktop -p stackwarden-cli
echo "==> Starting Stackwarden (the command line is target/release/stackwarden)"
exec "$root/target/release/stackwarden-desktop" "$@"
