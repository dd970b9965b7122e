#!/usr/bin/env bash
# Installs what Stackwarden needs on Debian 12 / Ubuntu. Safe to run again:
# it only installs what is missing.
#
#   scripts/install-deps.sh app     # to build and run the desktop app
#   scripts/install-deps.sh test    # also the test engine, Xvfb, WebDriver, tauri-driver
set -euo pipefail

mode=${1:-app}
root=$(cd "$(dirname "$0")/.." && pwd)

# Debian package names for the Tauri 2 app (WebKitGTK 4.1, GTK 3, tray).
app_packages=(
  libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libssl-dev libxdo-dev pkg-config
  build-essential file curl ca-certificates git fonts-dejavu-core
)
# The real engine and GUI harness the tests use.
test_packages=(
  podman runc busybox-static xvfb xauth webkit2gtk-driver dbus dbus-x11
  python3-venv imagemagick hyperfine procps util-linux debootstrap jq chromium
  podman-compose docker-compose docker-registry gnome-keyring desktop-file-utils
  x11-utils dpkg-dev
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else
    echo "Need root for: $*" >&2
    echo "Run it as root, or install sudo, then run this script again." >&2
    exit 1
  fi
}

missing=()
want=("${app_packages[@]}")
[ "$mode" = test ] && want+=("${test_packages[@]}")
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> Installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -o DPkg::Lock::Timeout=600 -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node.js 20.19+ for the UI build (Vite 8).
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'
}
if ! node_ok; then
  echo "==> Installing Node.js and npm from the distribution"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 nodejs npm >/dev/null || true
  if ! node_ok; then
    echo "Node.js 20.19 or newer is needed to build the UI; this system has $(node --version 2>/dev/null || echo none)." >&2
    echo "Install it, for example: curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash - && sudo apt-get install -y nodejs" >&2
    exit 1
  fi
fi

# Rust 1.94+ (sqlx 0.9).
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "==> Installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null 2>&1 && [ "$mode" = test ]; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

echo "==> UI packages"
(cd "$root/ui" && npm ci --no-audit --no-fund --loglevel=error)

if [ "$mode" = test ]; then
  if ! command -v tauri-driver >/dev/null 2>&1; then
    echo "==> Installing tauri-driver"
    cargo install tauri-driver --version 2.1.0 --locked --quiet
  fi
  venv=${SW_TEST_VENV:-$root/target/e2e-venv}
  if [ ! -x "$venv/bin/pytest" ] || ! cmp -s "$root/tests/e2e/requirements.txt" "$venv/requirements.txt"; then
    echo "==> Python packages for the end-to-end tests"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/e2e/requirements.txt"
    cp "$root/tests/e2e/requirements.txt" "$venv/requirements.txt"
  fi
fi
