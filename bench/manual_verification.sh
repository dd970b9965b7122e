#!/usr/bin/env bash
# The verification commands the user's report ends with, run as a script:
# the baseline of the verification benchmark (bench/verify_round.sh).
podman ps
curl -s http://localhost:8091/health | jq
curl -s http://localhost:8092/health | jq
podman stats local-ai-llama-cpp --no-stream
podman exec local-ai-postgres psql -U mcp -d mcp -c "\dt"
ls -lh ~/.local/share/nixos-ai-stack/telemetry/
podman stats --no-stream
