#!/usr/bin/env bash
# Starts the report's AI stack as the built-in default stack expects it, with
# local stand-ins (no registry here): busybox httpd serving the JSON shapes of
# llama.cpp, Qdrant, MindsDB, AIDB and the Hybrid Coordinator on their real
# ports, Debian's PostgreSQL 15 and Redis 7 (the test image) on 5432 and 6379,
# and a health-monitor container. Containers are named local-ai-* and
# labelled stackwarden.test=bench, so `tests/support/engine.sh fixtures`
# removes them.
#
#   bash bench/default_stack_standins.sh up|down
set -euo pipefail
state=${SW_TEST_STATE:-/tmp/stackwarden-test}
# shellcheck disable=SC1091
source "$state/engine.env"
www=$state/bench-www
names="local-ai-llama-cpp local-ai-qdrant local-ai-postgres local-ai-redis local-ai-mindsdb local-ai-aidb local-ai-hybrid-coordinator local-ai-health-monitor"

down() {
  for n in $names; do podman rm -f -t 0 "$n" >/dev/null 2>&1 || true; done
}

serve() { # name port dir [more podman args]
  local name=$1 port=$2 dir=$3
  shift 3
  podman run -d --name "$name" --label stackwarden.test=bench -p "127.0.0.1:$port:$port" \
    -v "$dir:/www:ro" "$@" localhost/sw-test-busybox:latest httpd -f -p "$port" -h /www >/dev/null
}

up() {
  down
  rm -rf "$www"
  mkdir -p "$www"/{llama,qdrant,mindsdb,aidb,hybrid}
  echo '{"status":"ok"}' >"$www/llama/health"
  echo '{"result":{"collections":[{"name":"codebase-context"},{"name":"skills-patterns"},{"name":"error-solutions"},{"name":"interaction-history"},{"name":"best-practices"}]},"status":"ok","time":0.0001}' >"$www/qdrant/collections"
  echo '{"status":"ok"}' >"$www/mindsdb/index.html"
  echo '{"status":"ok","database":"ok","redis":"ok","ml_engine":"ok","pgvector":"ok","llama_cpp":"ok (no model loaded)","federation":"0 servers cached"}' >"$www/aidb/health"
  echo '{"status":"healthy","service":"hybrid-coordinator","collections":["codebase-context","skills-patterns","error-solutions","interaction-history","best-practices"]}' >"$www/hybrid/health"
  serve local-ai-llama-cpp 8080 "$www/llama"
  # Data services keep their data in the volumes the built-in stack declares.
  serve local-ai-qdrant 6333 "$www/qdrant" -v sw-bench-qdrant-data:/qdrant/storage
  serve local-ai-mindsdb 47334 "$www/mindsdb"
  serve local-ai-aidb 8091 "$www/aidb"
  serve local-ai-hybrid-coordinator 8092 "$www/hybrid"
  podman run -d --name local-ai-health-monitor --label stackwarden.test=bench \
    localhost/sw-test-busybox:latest sleep infinity >/dev/null
  podman run -d --name local-ai-postgres --label stackwarden.test=bench -p 127.0.0.1:5432:5432 \
    -e POSTGRES_PASSWORD=sw-test-pw -e PGDATA=/var/lib/postgresql/data \
    -v sw-bench-postgres-data:/var/lib/postgresql/data localhost/sw-test-db:latest \
    /usr/local/share/sw-test/postgres-entrypoint.sh >/dev/null
  podman run -d --name local-ai-redis --label stackwarden.test=bench -p 127.0.0.1:6379:6379 \
    -v sw-bench-redis-data:/data \
    localhost/sw-test-db:latest redis-server --bind 0.0.0.0 --protected-mode no --appendonly yes --dir /data >/dev/null
  for _ in $(seq 1 150); do
    if podman exec local-ai-postgres pg_isready -q -h 127.0.0.1 -U mcp -d mcp 2>/dev/null &&
       podman exec local-ai-redis redis-cli ping 2>/dev/null | grep -q PONG; then
      return 0
    fi
    sleep 0.2
  done
  echo "bench: the database stand-ins did not become ready" >&2
  return 1
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 64 ;;
esac
