#!/usr/bin/env bash
# The checks of the user's report, done the way they do them by hand today:
# one command per check, one after another. The baseline of the probe-round
# benchmark (bench/health_round.sh); it checks what the built-in stack's
# probes check.
podman ps --filter name=local-ai- --format '{{.Names}} {{.Status}}'
curl -s -m 2 -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.1:8080/health
curl -s -m 2 http://127.0.0.1:6333/collections | jq '.result.collections | length'
podman exec local-ai-postgres psql -U mcp -d mcp -c '\dt'
podman exec local-ai-postgres psql -U mcp -d mcp -c '\dx'
podman exec local-ai-redis redis-cli ping
podman exec local-ai-redis redis-cli info persistence | grep -E 'aof_enabled|rdb_last_bgsave_status'
curl -s -m 2 -o /dev/null -w '%{http_code}\n' http://127.0.0.1:47334/
curl -s -m 2 http://127.0.0.1:8091/health | jq .
curl -s -m 2 http://127.0.0.1:8092/health | jq '.status, (.collections | length)'
