#!/bin/bash
# The package test's part that runs inside the clean Debian 12 root (as the
# first process of its own PID and mount namespaces, chrooted; see test.sh).
# Its working files are in /tmp/pkg, which test.sh fills and reads.
#
#   in-root.sh install DEB   apt-get install ./DEB as a user would, then check
#                            what it installed (and add the desktop user `sw`)
#   in-root.sh app           start the installed app as `sw` on $DISPLAY with
#                            its own session bus; run the desktop actions
#                            test.sh asks for (/tmp/pkg/ctl/action.NAME holds
#                            the Exec line); stop on /tmp/pkg/ctl/stop
#   in-root.sh remove        apt-get remove the package, check it is gone
set -u
pkg=/tmp/pkg
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf '    [root] %s\n' "$*"; }
die() { printf '    [root] FAIL: %s\n' "$*" >&2; exit 1; }

install_pkg() {
  local deb=$1 t0 t1
  cd "$pkg" || die "no $pkg"
  t0=$(date +%s)
  apt-get update -qq -o DPkg::Lock::Timeout=600 >"$pkg/apt-update.log" 2>&1 ||
    { tail -n 20 "$pkg/apt-update.log" >&2; die "apt-get update failed (the Debian mirror in /etc/apt/sources.list)"; }
  say "apt-get install --no-install-recommends ./$deb"
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "./$deb" >"$pkg/apt-install.log" 2>&1 ||
    { tail -n 30 "$pkg/apt-install.log" >&2; die "apt-get install ./$deb failed"; }
  t1=$(date +%s)
  local fetched
  fetched=$(sed -n 's/^Need to get \([^/]*\)\/.*/\1/p; s/^Need to get \([0-9.,]* [kMG]*B\) of archives.*/\1/p' "$pkg/apt-install.log" | head -n 1)
  say "apt set up $(grep -c '^Setting up ' "$pkg/apt-install.log") packages in $((t1 - t0)) s (update included; fetched from the mirror: ${fetched:-nothing, all cached})"
  apt-get autoclean -qq >/dev/null 2>&1 || true

  dpkg-query -W -f='${Status}\n' stackwarden | grep -qx 'install ok installed' || die "dpkg does not list stackwarden as installed"
  local app cli
  app=$(command -v stackwarden-desktop) || die "stackwarden-desktop is not on PATH"
  cli=$(command -v stackwarden) || die "stackwarden is not on PATH"
  [ "$app" = /usr/bin/stackwarden-desktop ] || die "the app is $app, expected /usr/bin/stackwarden-desktop"
  [ "$cli" = /usr/bin/stackwarden ] || die "the command line is $cli, expected /usr/bin/stackwarden"
  say "binaries: $app, $cli"
  local missing
  missing=$(ldd "$app" "$cli" 2>&1 | grep 'not found' | sort -u)
  [ -z "$missing" ] || die "libraries the declared dependencies did not bring in:
$missing"
  say "ldd: every library of both binaries resolves"
  cmp -s /usr/share/applications/Stackwarden.desktop "$pkg/Stackwarden.desktop" ||
    die "/usr/share/applications/Stackwarden.desktop is missing or differs from the package's"
  for s in 32 64 128 256 512; do
    [ -f "/usr/share/icons/hicolor/${s}x${s}/apps/stackwarden-desktop.png" ] ||
      die "icon /usr/share/icons/hicolor/${s}x${s}/apps/stackwarden-desktop.png is missing"
  done
  say "desktop entry and hicolor icons (32..512) in place"

  local out rc
  out=$(HOME=/root stackwarden --help 2>&1); rc=$?
  [ "$rc" -eq 0 ] || { printf '%s\n' "$out" >&2; die "stackwarden --help exited $rc"; }
  printf '%s\n' "$out" | grep -q '^Usage: stackwarden' || { printf '%s\n' "$out" >&2; die "stackwarden --help printed no usage"; }
  say "stackwarden --help: exit 0 ($(printf '%s\n' "$out" | grep -c '^  [a-z]') commands listed); $(stackwarden --version 2>&1)"

  id sw >/dev/null 2>&1 || useradd -m -u 1000 -s /bin/bash sw || die "useradd sw failed"
}

as_user() {
  setpriv --reuid=sw --regid=sw --init-groups \
    env -i HOME=/home/sw USER=sw LOGNAME=sw SHELL=/bin/bash PATH=/usr/bin:/bin LANG=C.UTF-8 \
    DISPLAY="$DISPLAY" DBUS_SESSION_BUS_ADDRESS="${bus_address:-}" XDG_RUNTIME_DIR=/run/user/1000 \
    NO_AT_BRIDGE=1 STACKWARDEN_HOST=unix:///run/user/1000/no-engine.sock "$@"
}

run_app() {
  local ctl=$pkg/ctl
  mkdir -p "$ctl" /run/user/1000
  chown sw:sw /run/user/1000; chmod 700 /run/user/1000
  # The desktop's session bus, as a login would start it.
  local out
  out=$(bus_address='' as_user dbus-daemon --session --fork --print-address=1 --print-pid=1) || die "dbus-daemon did not start"
  bus_address=$(printf '%s\n' "$out" | sed -n 1p)
  local bus_pid
  bus_pid=$(printf '%s\n' "$out" | sed -n 2p)
  say "session bus pid $bus_pid"
  as_user stackwarden-desktop >"$pkg/app.log" 2>&1 &
  local app=$!
  echo "$app" >"$ctl/app.pid"
  say "started /usr/bin/stackwarden-desktop as user sw (pid $app in the root's namespace)"
  : >"$ctl/ready"
  while :; do
    if ! kill -0 "$app" 2>/dev/null; then
      wait "$app"; echo "$?" >"$ctl/app.exit"
      say "the app exited by itself"
      kill "$bus_pid" 2>/dev/null
      return 1
    fi
    local req
    for req in "$ctl"/action.*; do
      case "$req" in *'*'* | *.rc | *.alive) continue ;; esac
      local name cmdline words rc
      name=${req##*/action.}
      cmdline=$(cat "$req"); rm -f "$req"
      read -r -a words <<<"$cmdline"
      say "desktop action $name: $cmdline"
      as_user timeout 30 "${words[@]}" >>"$pkg/action-$name.log" 2>&1; rc=$?
      if kill -0 "$app" 2>/dev/null; then echo yes >"$ctl/action.$name.alive"; else echo no >"$ctl/action.$name.alive"; fi
      echo "$rc" >"$ctl/action.$name.rc"
    done
    if [ -e "$ctl/stop" ]; then
      kill -TERM "$app" 2>/dev/null
      local _
      for _ in $(seq 1 50); do kill -0 "$app" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$app" 2>/dev/null; then
        say "the app did not stop on SIGTERM within 10 s: SIGKILL"
        kill -KILL "$app" 2>/dev/null
      fi
      wait "$app"; echo "$?" >"$ctl/app.exit"
      kill "$bus_pid" 2>/dev/null
      say "stopped the app (pid $app) and its session bus (pid $bus_pid)"
      return 0
    fi
    sleep 0.2
  done
}

remove_pkg() {
  apt-get remove -y -q stackwarden >"$pkg/apt-remove.log" 2>&1 || { tail -n 20 "$pkg/apt-remove.log" >&2; die "apt-get remove stackwarden failed"; }
  local f
  for f in /usr/bin/stackwarden-desktop /usr/bin/stackwarden /usr/share/applications/Stackwarden.desktop \
    /usr/share/icons/hicolor/128x128/apps/stackwarden-desktop.png; do
    [ ! -e "$f" ] || die "$f is still there after apt-get remove"
  done
  say "apt-get remove stackwarden: binaries, desktop entry and icons gone"
}

case "${1:-}" in
  install) install_pkg "$2" ;;
  app) run_app ;;
  remove) remove_pkg ;;
  *) die "usage: in-root.sh install DEB | app | remove" ;;
esac
