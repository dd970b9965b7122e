#!/usr/bin/env bash
# The Debian package test: checks the .deb's contents and desktop entry, then
# installs it with apt into a clean Debian 12 root (debootstrap minbase,
# chrooted in PID, mount, IPC and UTS namespaces of its own: unshare) and, in
# there, runs `stackwarden --help`, starts the app on an Xvfb display, sees
# its window (title, WM_CLASS against the entry's StartupWMClass, painted),
# runs the entry's two desktop actions against the running instance, stops it
# and removes the package. Needs root. Stops every process it started.
#
#   tests/package/test.sh              # bundles the debug build first
#                                      # (scripts/package.sh --debug, no compiling)
#   tests/package/test.sh --no-build   # the debug package already in target/debug/bundle/deb
#   tests/package/test.sh --release    # the release package scripts/package.sh built
#   tests/package/test.sh --deb FILE   # any package file
#
# Cached in ${SW_TEST_STATE:-/tmp/stackwarden-test}/package: the pristine root
# (a tarball; SW_REBUILD_PKG_ROOT=1 makes it again) and apt's downloads. Each
# run installs into a fresh copy. Screenshots go to tests/artifacts/
# (SW_ARTIFACTS). The Debian mirror is the host's (SW_DEBIAN_MIRROR,
# SW_DEBIAN_SECURITY_MIRROR override it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${SW_TEST_STATE:-/tmp/stackwarden-test}
pstate=$state/package
artifacts=${SW_ARTIFACTS:-$root/tests/artifacts}
target_dir=${CARGO_TARGET_DIR:-$root/target}

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
mode=debug deb='' build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --release) mode=release ;;
    --debug) mode=debug ;;
    --no-build) build=0 ;;
    --deb) deb=${2:?--deb needs a file}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument '$1'" >&2; usage >&2; exit 64 ;;
  esac
  shift
done

t_start=$(date +%s)
elapsed() { echo $(($(date +%s) - t_start)); }
step() { printf '\n==> [%3ss] %s\n' "$(elapsed)" "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
fail() { printf '\nPACKAGE TEST FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run it as root: it uses debootstrap, chroot and mounts in a private namespace"
for tool in dpkg-deb desktop-file-validate debootstrap unshare chroot Xvfb xwininfo xprop import identify convert python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing: run scripts/install-deps.sh test"
done

mkdir -p "$pstate" "$pstate/apt-archives/partial" "$artifacts"
# A run killed outright (SIGKILL) leaves its root behind: remove the roots of
# runs whose process is gone.
for stale in "$pstate"/run.*; do
  [ -d "$stale" ] || continue
  kill -0 "${stale##*/run.}" 2>/dev/null && continue
  grep -q " $stale/" /proc/self/mountinfo || rm -rf "$stale"
done
work=$pstate/run.$$
rm -rf "$work"
mkdir -p "$work"
rootdir=$work/root
runner_pid='' xvfb_pid='' display_num=''

cleanup() {
  local rc=$?
  set +e
  if [ -n "$runner_pid" ] && kill -0 "$runner_pid" 2>/dev/null; then
    # unshare --fork ignores SIGTERM; killed, it takes the root's first
    # process with it (--kill-child), and with that process every other one
    # in the root's PID namespace.
    kill -KILL "$runner_pid"; wait "$runner_pid" 2>/dev/null
  fi
  if [ -n "$xvfb_pid" ] && kill -0 "$xvfb_pid" 2>/dev/null; then kill "$xvfb_pid"; wait "$xvfb_pid" 2>/dev/null; fi
  # The root's mounts live in its private mount namespace and are gone with
  # it; never delete through a mount that is somehow still there.
  if grep -q " $work/" /proc/self/mountinfo; then
    echo "warning: mounts remain under $work; not deleting it" >&2
  else
    rm -rf "$work"
  fi
  if [ "$rc" -eq 0 ]; then
    printf '\n==> Package test passed in %s s\n' "$(elapsed)"
  else
    printf '\n==> Package test failed after %s s (exit %s)\n' "$(elapsed)" "$rc" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------
step "The package"
if [ -z "$deb" ]; then
  if [ "$mode" = debug ]; then
    [ "$build" -eq 0 ] || bash "$root/scripts/package.sh" --debug
    debdir=$target_dir/debug/bundle/deb
    hint="bash scripts/package.sh --debug"
  else
    debdir=$target_dir/release/bundle/deb
    hint="bash scripts/package.sh"
  fi
  shopt -s nullglob
  debs=("$debdir"/*.deb)
  shopt -u nullglob
  [ "${#debs[@]}" -eq 1 ] || fail "expected one .deb in $debdir, found ${#debs[@]}: build it with $hint"
  deb=${debs[0]}
fi
[ -f "$deb" ] || fail "$deb does not exist"
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
echo "    $deb ($(du -h "$deb" | cut -f1), built $(date -r "$deb" '+%F %T'))"

# ---------------------------------------------------------------------------
step "Contents (dpkg-deb -c) and control fields"
dpkg-deb -c "$deb" >"$work/contents.txt" || fail "dpkg-deb cannot read $deb"
# Paths as dpkg-deb lists them, without a leading "./".
sed -i 's| \./| |' "$work/contents.txt"
has() { awk -v p="$1" '$6 == p { found = 1 } END { exit !found }' "$work/contents.txt"; }
for p in usr/bin/stackwarden-desktop usr/bin/stackwarden usr/share/applications/Stackwarden.desktop \
  usr/share/doc/stackwarden/copyright \
  usr/share/icons/hicolor/{32x32,64x64,128x128,256x256,512x512}/apps/stackwarden-desktop.png; do
  has "$p" || fail "the package lacks $p"
done
for p in usr/bin/stackwarden-desktop usr/bin/stackwarden; do
  awk -v p="$p" '$6 == p && $1 ~ /^-rwxr-xr-x$/ { found = 1 } END { exit !found }' "$work/contents.txt" ||
    fail "$p is not an executable (mode 0755) file in the package"
done
ok "app /usr/bin/stackwarden-desktop, command line /usr/bin/stackwarden, Stackwarden.desktop, copyright"
ok "hicolor icons: $(grep -o 'hicolor/[0-9x]*/apps/stackwarden-desktop.png' "$work/contents.txt" | cut -d/ -f2 | tr '\n' ' ')"
package=$(dpkg-deb -f "$deb" Package)
depends=$(dpkg-deb -f "$deb" Depends)
[ "$package" = stackwarden ] || fail "the package is named '$package', expected stackwarden"
for d in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1; do
  printf '%s\n' "$depends" | tr ',' '\n' | grep -Eq "^ *$d( |\$)" || fail "Depends lacks $d: $depends"
done
ok "Package: $package $(dpkg-deb -f "$deb" Version) $(dpkg-deb -f "$deb" Architecture)"
ok "Depends: $depends"

# ---------------------------------------------------------------------------
step "Desktop entry"
dpkg-deb -x "$deb" "$work/data"
entry=$work/data/usr/share/applications/Stackwarden.desktop
desktop-file-validate "$entry" || fail "desktop-file-validate rejects Stackwarden.desktop"
ok "desktop-file-validate: no errors"
vars=$(python3 "$here/desktop_entry.py" "$entry" "$work/data" | tee "$work/entry-check.txt" | grep -E '^[A-Z_a-z]+=') ||
  { cat "$work/entry-check.txt"; fail "the desktop entry is not what the package needs"; }
grep -v -E "^[A-Z_a-z]+=" "$work/entry-check.txt" || true
STARTUP_WM_CLASS='' ACTION_verify='' ACTION_recover=''
eval "$vars"

# ---------------------------------------------------------------------------
step "Declared dependencies against the libraries the binaries link"
if command -v dpkg-shlibdeps >/dev/null 2>&1; then
  mkdir -p "$work/shlibs/debian"
  printf 'Source: stackwarden\n\nPackage: stackwarden\nArchitecture: any\n' >"$work/shlibs/debian/control"
  needed=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$work/data/usr/bin/stackwarden-desktop" \
    -e"$work/data/usr/bin/stackwarden" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
  [ -n "$needed" ] || fail "dpkg-shlibdeps found no dependencies"
  declared=$(printf '%s\n' "$depends" | tr ',|' '\n' | sed 's/(.*//; s/ //g' | sort -u)
  missing=()
  while IFS= read -r alt; do
    satisfied=0
    for name in $(printf '%s\n' "$alt" | tr '|' '\n' | sed 's/(.*//; s/ //g'); do
      grep -qx "$name" <<<"$declared" && satisfied=1
    done
    [ "$satisfied" -eq 1 ] || missing+=("$alt")
  done < <(printf '%s\n' "$needed" | tr ',' '\n' | sed 's/^ *//')
  [ "${#missing[@]}" -eq 0 ] || fail "the binaries link libraries of packages Depends does not name: ${missing[*]}
(add them to bundle.linux.deb.depends in tauri.conf.json)"
  ok "every package dpkg-shlibdeps derives is declared: $(printf '%s\n' "$needed" | tr ',' '\n' | sed 's/ (.*//; s/^ *//' | tr '\n' ' ')"
else
  echo "    skipped: dpkg-shlibdeps is missing (package dpkg-dev); the installed root's ldd check still runs"
fi

# ---------------------------------------------------------------------------
step "A clean Debian 12 root (debootstrap --variant=minbase bookworm)"
read -r mirror security < <(python3 - <<'PY'
import glob, os, re
mirror = os.environ.get("SW_DEBIAN_MIRROR", "")
security = os.environ.get("SW_DEBIAN_SECURITY_MIRROR", "")
entries = []
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        for line in open(path):
            m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m:
                entries.append((m.group(1), [m.group(2)]))
    except OSError:
        pass
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    try:
        for stanza in open(path).read().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            if "deb" in fields.get("Types", "").split():
                for uri in fields.get("URIs", "").split():
                    entries.append((uri, fields.get("Suites", "").split()))
    except OSError:
        pass
for uri, suites in entries:
    if not mirror and "bookworm" in suites and "security" not in uri:
        mirror = uri
    if not security and "bookworm-security" in suites:
        security = uri
print(mirror.rstrip("/") or "http://deb.debian.org/debian",
      security.rstrip("/") or "http://deb.debian.org/debian-security")
PY
)
base=$pstate/rootfs-bookworm-minbase.tar
if [ -s "$base" ] && [ -z "${SW_REBUILD_PKG_ROOT:-}" ]; then
  ok "cached: $base ($(du -h "$base" | cut -f1), made $(date -r "$base" '+%F %T'))"
else
  echo "    debootstrap from $mirror (about 30 s)"
  t0=$(date +%s)
  debootstrap --variant=minbase bookworm "$work/bootstrap" "$mirror" >"$pstate/debootstrap.log" 2>&1 ||
    { tail -n 30 "$pstate/debootstrap.log" >&2; fail "debootstrap failed (log: $pstate/debootstrap.log)"; }
  rm -rf "$work/bootstrap/var/cache/apt/archives"/*.deb "$work/bootstrap/var/lib/apt/lists"/*
  tar -C "$work/bootstrap" -cf "$base.tmp.$$" . && mv "$base.tmp.$$" "$base"
  rm -rf "$work/bootstrap"
  ok "made $base ($(du -h "$base" | cut -f1)) in $(($(date +%s) - t0)) s"
fi

mkdir -p "$rootdir"
tar -C "$rootdir" -xf "$base"
{
  echo "deb $mirror bookworm main"
  echo "deb $mirror bookworm-updates main"
  echo "deb $security bookworm-security main"
} >"$rootdir/etc/apt/sources.list"
cp -L /etc/resolv.conf "$rootdir/etc/resolv.conf" 2>/dev/null || true
apt-config dump 2>/dev/null | grep -i '^Acquire::[a-z]*::Proxy' >"$rootdir/etc/apt/apt.conf.d/01proxy" || rm -f "$rootdir/etc/apt/apt.conf.d/01proxy"
# No service starts from a package's maintainer scripts in here.
printf '#!/bin/sh\nexit 101\n' >"$rootdir/usr/sbin/policy-rc.d"
chmod 755 "$rootdir/usr/sbin/policy-rc.d"
mkdir -p "$rootdir/tmp/pkg/ctl" "$rootdir/tmp/.X11-unix"
chmod 1777 "$rootdir/tmp/.X11-unix"
debname=$(basename "$deb")
cp "$deb" "$rootdir/tmp/pkg/$debname"
cp "$entry" "$rootdir/tmp/pkg/Stackwarden.desktop"
cp "$here/in-root.sh" "$rootdir/tmp/pkg/in-root.sh"
ok "fresh copy in $rootdir; mirror $mirror (+ bookworm-updates, $security)"

# Runs a command chrooted into the root as the first process of new PID,
# mount, IPC and UTS namespaces: /dev, /sys, /proc, apt's download cache and
# the X socket are mounted there privately and vanish with the namespaces.
# The app runs with a network namespace of its own too (in_root_offline): it
# reaches the X server and its session bus through their socket files, and
# its probes of 127.0.0.1 cannot touch anything on this host.
# shellcheck disable=SC2016 # expanded by the inner bash
in_root=(unshare --mount --pid --ipc --uts --fork --kill-child --mount-proc="$rootdir/proc" --
  bash -c 'set -e; r=$1; x=$2; cache=$3; shift 3
    mount --rbind /dev "$r/dev"
    mount --rbind /sys "$r/sys"
    mount --bind "$cache" "$r/var/cache/apt/archives"
    if [ -n "$x" ]; then
      : >"$r/tmp/.X11-unix/X$x"
      mount --bind "/tmp/.X11-unix/X$x" "$r/tmp/.X11-unix/X$x"
    fi
    exec chroot "$r" "$@"' in-root "$rootdir")
in_root_offline=(unshare --net "${in_root[@]:1}")
# In the background with `wait`, so an interrupt reaches the cleanup at once.
run_in_root() {
  local rc=0
  "${in_root[@]}" "" "$pstate/apt-archives" "$@" &
  runner_pid=$!
  wait "$runner_pid" || rc=$?
  runner_pid=''
  return "$rc"
}

# ---------------------------------------------------------------------------
step "apt-get install ./$debname in the clean root"
run_in_root /bin/bash /tmp/pkg/in-root.sh install "$debname" ||
  fail "installing the package into a clean Debian 12 failed (logs above)"

# ---------------------------------------------------------------------------
step "The installed app's window (Xvfb on the host, the app in the root)"
for n in $(seq 150 199); do
  { [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; } && continue
  Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 1 50); do
    xwininfo -display ":$n" -root >/dev/null 2>&1 && { display_num=$n; break; }
    kill -0 "$xvfb_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$display_num" ] && break
  kill "$xvfb_pid" 2>/dev/null; wait "$xvfb_pid" 2>/dev/null || true
  xvfb_pid=''
done
[ -n "$display_num" ] || fail "no Xvfb display could be started on :150..:199"
dpy=":$display_num"
ok "Xvfb $dpy (pid $xvfb_pid)"

ctl=$rootdir/tmp/pkg/ctl
app_log=$rootdir/tmp/pkg/app.log
show_app_log() { echo "---- the app's log (last 30 lines) ----" >&2; tail -n 30 "$app_log" >&2 2>/dev/null || true; }
DISPLAY=$dpy "${in_root_offline[@]}" "$display_num" "$pstate/apt-archives" /bin/bash /tmp/pkg/in-root.sh app &
runner_pid=$!
t_app=$(date +%s)
for _ in $(seq 1 100); do [ -e "$ctl/ready" ] && break; kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.2; done
[ -e "$ctl/ready" ] || { show_app_log; fail "the app did not start in the root"; }

win=''
for _ in $(seq 1 300); do
  win=$(xwininfo -display "$dpy" -root -children 2>/dev/null | awk '$2 == "\"Stackwarden\":" { print $1; exit }')
  [ -n "$win" ] && xwininfo -display "$dpy" -id "$win" | grep -q 'Map State: IsViewable' && break
  win=''
  [ -e "$ctl/app.exit" ] && { show_app_log; fail "the installed app exited (status $(cat "$ctl/app.exit")) before showing its window"; }
  sleep 0.2
done
[ -n "$win" ] || { show_app_log; fail "no viewable window titled 'Stackwarden' within 60 s"; }
ok "window $win 'Stackwarden' viewable $(($(date +%s) - t_app)) s after start"

wm_class=$(xprop -display "$dpy" -id "$win" WM_CLASS | sed -n 's/^WM_CLASS(STRING) = //p')
wm_instance=$(printf '%s' "$wm_class" | cut -d'"' -f2)
wm_class_name=$(printf '%s' "$wm_class" | cut -d'"' -f4)
if [ "$wm_class_name" = "$STARTUP_WM_CLASS" ]; then
  ok "WM_CLASS $wm_class: its class matches the entry's StartupWMClass=$STARTUP_WM_CLASS"
elif [ "$wm_instance" = "$STARTUP_WM_CLASS" ]; then
  ok "WM_CLASS $wm_class: its instance matches the entry's StartupWMClass=$STARTUP_WM_CLASS"
else
  fail "the window's WM_CLASS is $wm_class, the desktop entry says StartupWMClass=$STARTUP_WM_CLASS: docks would not match them"
fi

shot=$artifacts/package-installed-app.png
colours=0
for _ in $(seq 1 60); do
  import -display "$dpy" -window "$win" "$work/shot.png" 2>/dev/null &&
    colours=$(identify -format '%k' "$work/shot.png" 2>/dev/null || echo 0)
  [ "${colours:-0}" -ge 64 ] && break
  sleep 0.5
done
[ "${colours:-0}" -ge 64 ] || { show_app_log; fail "the window stayed blank (only ${colours:-0} colours in 30 s)"; }
sleep 1
screenshot() { # a 256-colour PNG keeps the artifact small
  import -display "$dpy" -window "$win" "$work/shot.png" && convert "$work/shot.png" -dither None -colors 256 "PNG8:$1"
}
screenshot "$shot"
ok "painted ($colours colours): screenshot $shot"

# ---------------------------------------------------------------------------
step "The desktop entry's actions reach the running instance"
run_action() {
  local name=$1 cmdline=$2
  rm -f "$ctl/action.$name.rc" "$ctl/action.$name.alive"
  printf '%s\n' "$cmdline" >"$ctl/.action.$name" && mv "$ctl/.action.$name" "$ctl/action.$name"
  for _ in $(seq 1 200); do [ -e "$ctl/action.$name.rc" ] && break; sleep 0.2; done
  [ -e "$ctl/action.$name.rc" ] || { show_app_log; fail "action $name ($cmdline) did not finish within 40 s"; }
  local rc alive
  rc=$(cat "$ctl/action.$name.rc"); alive=$(cat "$ctl/action.$name.alive")
  [ "$rc" = 0 ] || { cat "$rootdir/tmp/pkg/action-$name.log" >&2; fail "action $name: '$cmdline' exited $rc (124: still running after 30 s, so it did not hand over to the running app)"; }
  [ "$alive" = yes ] || { show_app_log; fail "action $name: the running app died"; }
  ok "$name: '$cmdline' handed over and exited 0; the first instance still runs"
}
lines_before=$(wc -l <"$app_log")
run_action verify "$ACTION_verify"
for _ in $(seq 1 75); do
  tail -n +"$((lines_before + 1))" "$app_log" | grep -qi 'verification' && break
  sleep 0.2
done
tail -n +"$((lines_before + 1))" "$app_log" | grep -qi 'verification' ||
  { show_app_log; fail "after '$ACTION_verify' the running app logged no verification within 15 s"; }
ok "the running app verified: $(tail -n +"$((lines_before + 1))" "$app_log" | grep -i -m1 'verification' | sed 's/\x1b\[[0-9;]*m//g; s/^.*verification/verification/')"
sleep 1
screenshot "$artifacts/package-action-verify.png"
ok "screenshot $artifacts/package-action-verify.png"
run_action recover "$ACTION_recover"

# ---------------------------------------------------------------------------
step "Stopping the app"
: >"$ctl/stop"
runner_rc=0
for _ in $(seq 1 100); do kill -0 "$runner_pid" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$runner_pid" 2>/dev/null; then
  fail "the app did not stop within 20 s of the request"
fi
wait "$runner_pid" || runner_rc=$?
runner_pid=''
[ "$runner_rc" -eq 0 ] || { show_app_log; fail "the root's app runner ended with $runner_rc"; }
ok "app stopped (exit status $(cat "$ctl/app.exit"), 143 = SIGTERM); the root's namespace is gone"
left=$(for p in /proc/[0-9]*; do [ "$(readlink "$p/root" 2>/dev/null)" = "$rootdir" ] && echo "${p#/proc/}"; done || true)
[ -z "$left" ] || fail "processes still running in the root: $left"
kill "$xvfb_pid"; wait "$xvfb_pid" 2>/dev/null || true
xvfb_pid=''
cp "$app_log" "$artifacts/package-app.log" 2>/dev/null || true

# ---------------------------------------------------------------------------
step "apt-get remove"
run_in_root /bin/bash /tmp/pkg/in-root.sh remove ||
  fail "removing the package failed"
