#!/usr/bin/env bash
# Builds Stackwarden's Debian package with Tauri's bundler: the desktop app as
# /usr/bin/stackwarden-desktop, the `stackwarden` command line beside it as
# /usr/bin/stackwarden, the desktop entry (packaging/stackwarden.desktop.hbs)
# and the hicolor icons. Safe to run again: the previous package is replaced.
#
#   bash scripts/package.sh           # release build, then
#                                     #   target/release/bundle/deb/stackwarden_<version>_<arch>.deb
#   bash scripts/package.sh --debug   # packages the debug binaries already built
#                                     # (no compiling), for the package test:
#                                     #   target/debug/bundle/deb/stackwarden_<version>_<arch>.deb
#
# The release build runs `tauri build`, which runs
#   cargo build --locked --bins --features tauri/custom-protocol --release
# The feature turns off tauri's dev mode (cfg(dev)); with no devUrl configured
# the app serves its embedded UI either way. A plain `cargo build --release`
# compiles without the feature, so the two alternate recompiling tauri, its
# plugins and the app in target/release. The debug package holds the debug
# binary `cargo build` made (dev mode).
set -euo pipefail

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

mode=release
for arg in "$@"; do
  case "$arg" in
    --debug) mode=debug ;;
    --release) mode=release ;;
    -h | --help) usage; exit 0 ;;
    *) echo "package.sh: unknown argument '$arg'" >&2; usage >&2; exit 64 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v cargo >/dev/null 2>&1 || export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n==> %s\n' "$*"; }
fail() { echo "package.sh: $*" >&2; exit 1; }

tauri=(node "$root/ui/node_modules/@tauri-apps/cli/tauri.js")
tauri_cli_ok() {
  [ -f "$root/ui/node_modules/@tauri-apps/cli/tauri.js" ] && "${tauri[@]}" --version >/dev/null 2>&1
}

# Where cargo puts its output (CARGO_TARGET_DIR honoured).
target_dir=${CARGO_TARGET_DIR:-$root/target}

# Renames Tauri's Stackwarden_<v>_<arch>.deb to Debian's package_version_arch
# and removes the bundler's unpacked copy next to it.
finish_deb() {
  local dir=$1 out=$2 deb name old
  shopt -s nullglob
  local debs=("$dir"/*.deb)
  shopt -u nullglob
  [ "${#debs[@]}" -eq 1 ] || fail "expected one .deb in $dir, found ${#debs[@]}"
  deb=${debs[0]}
  name="$(dpkg-deb -f "$deb" Package)_$(dpkg-deb -f "$deb" Version)_$(dpkg-deb -f "$deb" Architecture).deb"
  mkdir -p "$out"
  for old in "$out"/*.deb; do
    [ "$old" = "$deb" ] || rm -f "$old"
  done
  [ "$deb" = "$out/$name" ] || mv "$deb" "$out/$name"
  rm -rf "${deb%.deb}"
  step "Package: $out/$name ($(du -h "$out/$name" | cut -f1))"
  dpkg-deb -f "$out/$name" Package Version Architecture Depends Recommends
}

if [ "$mode" = release ]; then
  step "Build dependencies (system packages, UI packages)"
  bash scripts/install-deps.sh app

  step "UI build (embedded into the app)"
  (cd ui && npm run --silent build)

  step "The stackwarden command line (release)"
  cargo build --release --locked -p stackwarden-cli

  step "The app (release) and its Debian package: tauri build --bundles deb"
  rm -rf "$target_dir/release/bundle/deb"
  # The package takes target/release/stackwarden (bundle.linux.deb.files;
  # given again here for a CARGO_TARGET_DIR elsewhere).
  # --ignore-version-mismatches: tauri build refuses a Rust plugin and its npm
  # package on different minor versions, and the crate tauri-plugin-shell 2.6
  # has no npm release of its own (@tauri-apps/plugin-shell stops at 2.4).
  override=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/stackwarden":"%s"}}}}}' "$target_dir/release/stackwarden")
  "${tauri[@]}" build --ci --ignore-version-mismatches --bundles deb --config "$override" -- --locked
  finish_deb "$target_dir/release/bundle/deb" "$target_dir/release/bundle/deb"
  exit 0
fi

# --debug: package the binaries `cargo build` left in target/debug. A copy of
# them is bundled (from target/package-debug/debug), so a build running at the
# same time cannot change them halfway and the bundler's in-place patching
# (bundle type for the updater) never touches cargo's own output.
step "Tauri's command line"
if ! tauri_cli_ok; then
  bash scripts/install-deps.sh app
fi
tauri_cli_ok || fail "the Tauri CLI is missing from ui/node_modules: run (cd ui && npm ci)"
"${tauri[@]}" --version
command -v dpkg-deb >/dev/null 2>&1 || fail "dpkg-deb is missing (package dpkg)"

app_bin="$target_dir/debug/stackwarden-desktop"
cli_bin="$target_dir/debug/stackwarden"
for b in "$app_bin" "$cli_bin"; do
  [ -x "$b" ] || fail "$b is missing: build it first with
  cargo build --locked -p stackwarden-desktop -p stackwarden-cli"
done

step "Staging the debug binaries"
stage="$target_dir/package-debug"
rm -rf "$stage"
mkdir -p "$stage/debug"
cp "$app_bin" "$cli_bin" "$stage/debug/"
stat -c '%n  %s bytes, built %y' "$app_bin" "$cli_bin"

step "Debian package of the debug build: tauri bundle --debug --bundles deb (no compiling)"
override=$(printf '{"bundle":{"linux":{"deb":{"files":{"/usr/bin/stackwarden":"%s"}}}}}' "$stage/debug/stackwarden")
CARGO_TARGET_DIR="$stage" "${tauri[@]}" bundle --ci --debug --bundles deb --config "$override"
finish_deb "$stage/debug/bundle/deb" "$target_dir/debug/bundle/deb"
rm -rf "$stage"
