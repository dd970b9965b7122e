#!/usr/bin/env bash
# Runs every test: formatting, lints, UI type check and tests, Rust unit and
# integration tests against a real Podman engine, binding freshness, and the
# end-to-end tests of the real window and tray, and the Debian package
# installed into a clean Debian 12. Installs what it needs first and is safe
# to run again. Stops every process it started.
#
#   bash scripts/test.sh             # the package test uses the debug build's package
#   bash scripts/test.sh --package   # also builds the release .deb and tests it instead
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
package_release=0
for arg in "$@"; do
  case "$arg" in
    --package) package_release=1 ;;
    *) echo "test.sh: unknown argument '$arg' (known: --package)" >&2; exit 64 ;;
  esac
done
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/install-deps.sh test
if [ "${CI:-}" = "true" ]; then
  # A one-off build gains nothing from incremental caches; they double the
  # size of target/.
  export CARGO_INCREMENTAL=0
fi
venv=${SW_TEST_VENV:-$root/target/e2e-venv}
state=${SW_TEST_STATE:-/tmp/stackwarden-test}
export SW_TEST_STATE=$state

step() { printf '\n==> %s\n' "$*"; }
cleanup() {
  step "Stopping the test engine and fixtures"
  bash tests/support/engine.sh stop || true
}
trap cleanup EXIT

step "Disk space for the build"
df -h "$root" | tail -n 1
avail_kb=$(df -Pk "$root" | awk 'NR == 2 { print $4 }')
if [ "${avail_kb:-0}" -lt $((6 * 1024 * 1024)) ]; then
  echo "warning: less than 6 GiB free where target/ is built; the test build needs about that much" >&2
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "UI type check and tests"
(cd ui && npm run --silent typecheck && npm run --silent test)

step "UI build (embedded into the app)"
(cd ui && npm run --silent build)

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Starting Podman's API service and the test containers"
bash tests/support/engine.sh start
bash tests/support/engine.sh fixtures
bash tests/support/engine.sh databases
bash tests/support/engine.sh registry
# shellcheck disable=SC1091
source "$state/engine.env"

step "Rust unit and integration tests (real engine, real SQLite)"
cargo test --workspace --locked

step "TypeScript bindings are fresh"
if ! git diff --quiet -- ui/src/bindings || [ -n "$(git status --porcelain -- ui/src/bindings)" ]; then
  git status --short -- ui/src/bindings
  echo "The generated bindings in ui/src/bindings changed: commit what cargo test wrote." >&2
  exit 1
fi

step "End-to-end: the real window (tauri-driver + WebKitWebDriver under Xvfb) and the tray (D-Bus)"
cargo build --locked -p stackwarden-desktop
bash tests/support/engine.sh fixtures
mkdir -p tests/artifacts
if ! SW_APP_BINARY="$root/target/debug/stackwarden-desktop" SW_ARTIFACTS="$root/tests/artifacts" \
  "$venv/bin/pytest" -p no:cacheprovider -q tests/e2e; then
  # CI keeps only what was printed: the app's own last words say why a
  # window went away.
  echo "--- the app's log (tests/artifacts/app.log), its problems and last lines ---" >&2
  grep -naE 'panic|ERROR|WARN|abort|signal' tests/artifacts/app.log | tail -n 40 >&2 || true
  tail -n 40 tests/artifacts/app.log >&2 || true
  exit 1
fi
echo "Screenshots kept in tests/artifacts/"

if [ "$package_release" -eq 1 ]; then
  step "Release Debian package (scripts/package.sh: a release build, 15-25 min here) and its test"
  bash scripts/package.sh
  SW_ARTIFACTS="$root/tests/artifacts" bash tests/package/test.sh --release
else
  step "Debian package of the debug build: contents, desktop entry, apt install into a clean Debian 12, the app's window"
  # The package takes both debug binaries (the CLI's is built for its tests too).
  cargo build --locked -p stackwarden-desktop -p stackwarden-cli
  SW_ARTIFACTS="$root/tests/artifacts" bash tests/package/test.sh
fi
