#!/usr/bin/env bash
# Starts a real Podman engine with its Docker-compatible API for the tests,
# builds the small test images locally (no registry is reachable) and runs the
# test containers. Safe to run again: everything is replaced, not duplicated.
#
#   tests/support/engine.sh start      # engine service only
#   tests/support/engine.sh fixtures   # images + test containers
#   tests/support/engine.sh databases  # real PostgreSQL and Redis containers
#   tests/support/engine.sh registry   # a local image registry on 127.0.0.1:5000
#   tests/support/engine.sh stop       # removes test containers, stops the service
#
# Environment it exports for callers (source tests/support/engine.env):
#   DOCKER_HOST, CONTAINERS_CONF
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
state_dir=${SW_TEST_STATE:-/tmp/stackwarden-test}
sock=${SW_TEST_SOCKET:-/run/podman/podman.sock}
conf="$state_dir/containers.conf"
mkdir -p "$state_dir" "$(dirname "$sock")"

write_conf() {
  local hard
  hard=$(ulimit -Hn)
  cat >"$conf" <<CONF
[containers]
default_ulimits = ["nofile=${hard}:${hard}", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  # The local registry of the tests (Debian's docker-registry) speaks plain HTTP.
  cat >"$state_dir/registries.conf" <<REG
[[registry]]
location = "127.0.0.1:5000"
insecure = true
REG
  cat >"$state_dir/engine.env" <<ENV
export CONTAINERS_CONF=$conf
export CONTAINERS_REGISTRIES_CONF=$state_dir/registries.conf
export DOCKER_HOST=unix://$sock
ENV
}

ping() { curl -fsS --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }

start() {
  write_conf
  export CONTAINERS_CONF=$conf CONTAINERS_REGISTRIES_CONF=$state_dir/registries.conf
  if ping; then echo "engine: already answering on $sock"; return 0; fi
  rm -f "$sock"
  podman system service --time=0 "unix://$sock" >"$state_dir/podman-service.log" 2>&1 &
  echo $! >"$state_dir/podman-service.pid"
  for _ in $(seq 1 100); do
    if ping; then echo "engine: answering on $sock (pid $(cat "$state_dir/podman-service.pid"))"; return 0; fi
    sleep 0.1
  done
  echo "engine: podman system service did not answer on $sock; its log:" >&2
  cat "$state_dir/podman-service.log" >&2
  return 1
}

# Stops the process whose PID is in $state_dir/NAME.pid, if any.
kill_pidfile() {
  local file="$state_dir/$1.pid"
  if [ -f "$file" ]; then
    kill "$(cat "$file")" 2>/dev/null || true
    rm -f "$file"
  fi
}

stop_service() { kill_pidfile podman-service; }

# Images: busybox from Debian's busybox-static, FROM scratch, built in ~2 s.
images() {
  export CONTAINERS_CONF=$conf
  local ctx="$state_dir/image-busybox"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp /bin/busybox "$ctx/busybox"
  cat >"$ctx/Containerfile" <<'CF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/var/tmp", "/etc", "/root"]
STOPSIGNAL SIGKILL
CMD ["sleep", "infinity"]
CF
  podman build --format docker -q -t localhost/sw-test-busybox:latest "$ctx" >/dev/null
  # Same userland with a HEALTHCHECK that passes while /tmp/healthy exists.
  cat >"$ctx/Containerfile.health" <<'CF'
FROM localhost/sw-test-busybox:latest
HEALTHCHECK --interval=2s --timeout=2s --retries=1 CMD test -f /tmp/healthy
CMD ["sh", "-c", "touch /tmp/healthy; exec sleep infinity"]
CF
  podman build --format docker -q -t localhost/sw-test-health:latest -f "$ctx/Containerfile.health" "$ctx" >/dev/null
}

# A real Debian userland with PostgreSQL 15 and Redis 7 from Debian's
# packages (no registry needed): debootstrap, then podman import. The base
# is built once and kept (`SW_REBUILD_DB_IMAGE=1` forces it); the layer with
# the entrypoint and schema is rebuilt whenever those files change.
db_image() {
  export CONTAINERS_CONF=$conf
  if ! podman image exists localhost/sw-test-db-base:latest || [ -n "${SW_REBUILD_DB_IMAGE:-}" ]; then
    local mirror root
    mirror=${SW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
    root="$state_dir/db-rootfs"
    rm -rf "$root"
    echo "engine: building the PostgreSQL/Redis test image (debootstrap from $mirror)"
    debootstrap --variant=minbase --include=postgresql-15,redis-server bookworm "$root" "$mirror" \
      >"$state_dir/debootstrap.log" 2>&1 || { tail -n 30 "$state_dir/debootstrap.log" >&2; return 1; }
    rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
    tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - localhost/sw-test-db-base:latest >/dev/null 2>"$state_dir/import.log"
    rm -rf "$root"
    podman rmi -f localhost/sw-test-db:latest >/dev/null 2>&1 || true
  fi
  local sum
  sum=$(cat "$here/db/postgres-entrypoint.sh" "$here/db/init.sql" | sha256sum | cut -c1-16)
  if podman image exists localhost/sw-test-db:latest &&
     [ "$(podman image inspect --format '{{index .Labels "sw.sum"}}' localhost/sw-test-db:latest 2>/dev/null)" = "$sum" ]; then
    return 0
  fi
  local ctx="$state_dir/image-db"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$here/db/postgres-entrypoint.sh" "$here/db/init.sql" "$ctx/"
  cat >"$ctx/Containerfile" <<CF
FROM localhost/sw-test-db-base:latest
COPY postgres-entrypoint.sh init.sql /usr/local/share/sw-test/
RUN chmod +x /usr/local/share/sw-test/postgres-entrypoint.sh
LABEL sw.sum=$sum
STOPSIGNAL SIGKILL
CF
  podman build --format docker -q -t localhost/sw-test-db:latest "$ctx" >/dev/null
}

db_containers() {
  export CONTAINERS_CONF=$conf
  for c in sw-db-postgres sw-db-redis; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  # Data in named volumes, as a real stack keeps it (verification checks it).
  podman run -d --name sw-db-postgres --label stackwarden.test=db -p 127.0.0.1:15432:5432 \
    -v sw-test-pgdata:/var/lib/postgresql/sw-data \
    -e POSTGRES_PASSWORD=sw-test-pw localhost/sw-test-db:latest \
    /usr/local/share/sw-test/postgres-entrypoint.sh >/dev/null
  podman run -d --name sw-db-redis --label stackwarden.test=db -p 127.0.0.1:16379:6379 \
    -v sw-test-redisdata:/data \
    localhost/sw-test-db:latest redis-server --bind 0.0.0.0 --protected-mode no --appendonly yes --dir /data >/dev/null
  for _ in $(seq 1 150); do
    if podman exec sw-db-postgres pg_isready -q -h 127.0.0.1 -U mcp -d mcp 2>/dev/null &&
       podman exec sw-db-redis redis-cli ping 2>/dev/null | grep -q PONG; then
      echo "engine: PostgreSQL on 127.0.0.1:15432, Redis on 127.0.0.1:16379"
      return 0
    fi
    sleep 0.2
  done
  echo "engine: the database containers did not become ready" >&2
  podman logs sw-db-postgres >&2 || true
  return 1
}

# Debian's docker-registry on 127.0.0.1:5000 (no registry on the internet is
# reachable), holding the busybox test image as 127.0.0.1:5000/sw-test-busybox.
registry() {
  export CONTAINERS_CONF=$conf CONTAINERS_REGISTRIES_CONF=$state_dir/registries.conf
  if ! curl -fsS --max-time 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    mkdir -p "$state_dir/registry-data"
    cat >"$state_dir/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $state_dir/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YML
    docker-registry serve "$state_dir/registry.yml" >"$state_dir/registry.log" 2>&1 &
    echo $! >"$state_dir/registry.pid"
    for _ in $(seq 1 100); do
      curl -fsS --max-time 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  podman push -q --tls-verify=false localhost/sw-test-busybox:latest 127.0.0.1:5000/sw-test-busybox:latest
  echo "engine: registry on 127.0.0.1:5000 holds sw-test-busybox"
}

# The test stack. Project "sw-ok": all running. Project "sw-mixed": one with a
# healthcheck, one that turns unhealthy, one that exits.
containers() {
  export CONTAINERS_CONF=$conf
  remove_containers
  podman run -d --name sw-ok-web --label com.docker.compose.project=sw-ok \
    --label com.docker.compose.service=web -p 127.0.0.1:18080:8080 \
    localhost/sw-test-busybox:latest httpd -f -p 8080 >/dev/null
  podman run -d --name sw-ok-worker --label com.docker.compose.project=sw-ok \
    --label com.docker.compose.service=worker localhost/sw-test-busybox:latest \
    sh -c 'echo worker ready; exec sleep infinity' >/dev/null
  podman run -d --name sw-mixed-healthy --label com.docker.compose.project=sw-mixed \
    --label com.docker.compose.service=healthy localhost/sw-test-health:latest >/dev/null 2>>"$state_dir/podman-cli.log"
  podman run -d --name sw-mixed-sick --label com.docker.compose.project=sw-mixed \
    --label com.docker.compose.service=sick localhost/sw-test-health:latest \
    sh -c 'touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep infinity' >/dev/null 2>>"$state_dir/podman-cli.log"
  podman run -d --name sw-mixed-exits --label com.docker.compose.project=sw-mixed \
    --label com.docker.compose.service=exits localhost/sw-test-busybox:latest sh -c 'exit 3' >/dev/null
  start_health_ticker
}

# Without systemd Podman never runs HEALTHCHECKs by itself; tick them.
start_health_ticker() {
  stop_health_ticker
  (
    while true; do
      for c in sw-mixed-healthy sw-mixed-sick; do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
      sleep 1
    done
  ) >/dev/null 2>&1 &
  echo $! >"$state_dir/health-ticker.pid"
}

stop_health_ticker() { kill_pidfile health-ticker; }

# Removes the test containers; the database containers (stackwarden.test=db)
# outlive a fixtures reset and go only with `remove_containers databases`.
remove_containers() {
  export CONTAINERS_CONF=$conf
  local ids filters
  ids=""
  filters="com.docker.compose.project=sw-ok com.docker.compose.project=sw-mixed stackwarden.test=it stackwarden.test=bench"
  [ "${1:-}" = databases ] && filters="$filters stackwarden.test=db"
  for filter in $filters; do
    ids="$ids $(podman ps -aq --filter "label=$filter" 2>/dev/null || true)"
  done
  for id in $ids; do podman rm -f -t 0 "$id" >/dev/null 2>&1 || true; done
}

case "${1:-}" in
  start) start ;;
  fixtures) write_conf; images; containers ;;
  databases) write_conf; db_image; db_containers ;;
  registry) write_conf; registry ;;
  stop) write_conf; stop_health_ticker; remove_containers databases; stop_service; kill_pidfile registry ;;
  stop-service) stop_service ;;
  *) echo "usage: $0 start|fixtures|stop|stop-service" >&2; exit 2 ;;
esac
