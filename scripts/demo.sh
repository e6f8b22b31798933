#!/usr/bin/env bash
# The `make run` demo: one edgeplane-hubd (memory backplane, anonymous access
# on 127.0.0.1 only) and one edgeplane-agent on simulated sensors and the
# host's CPU temperature. Ctrl-C stops both.
# EDGEPLANE_PORT picks the first port to try (default 8080); BIN the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin}
name=demo
dir=$(mktemp -d "${TMPDIR:-/tmp}/edgeplane-demo.XXXXXX")
. scripts/lib.sh

port=$(free_port "${EDGEPLANE_PORT:-8080}")
start hubd "$port" "$bin/edgeplane-hubd" -config configs/hubd-demo.hcl -listen "127.0.0.1:$port"
start agent - "$bin/edgeplane-agent" -config configs/agent-demo.hcl -hub-url "ws://127.0.0.1:$port/v1/agent"

echo "dashboard: http://127.0.0.1:$port/"
echo "raw frames: $bin/edgeplane-watch -url ws://127.0.0.1:$port/v1/ws dev/demo-pi"
echo "logs: $dir (Ctrl-C stops the hub and the agent)"
wait_any
