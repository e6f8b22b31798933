#!/usr/bin/env bash
# The `make run` demo: one edgeplane-hubd (memory backplane, anonymous access
# on 127.0.0.1 only) and one edgeplane-agent on simulated sensors and the
# host's CPU temperature. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=${EDGEPLANE_PORT:-8080}
for _ in $(seq 1 50); do
  port_busy "$port" || break
  port=$((port + 1))
done
if port_busy "$port"; then
  echo "demo: no free port from ${EDGEPLANE_PORT:-8080} on; set EDGEPLANE_PORT" >&2
  exit 1
fi

bin=${BIN:-bin}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/edgeplane-demo.XXXXXX")
hub_pid= agent_pid=
stop() {
  trap - INT TERM EXIT
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null || true
  [ -n "$hub_pid" ] && kill -TERM "$hub_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "demo: stopped (logs in $logdir)"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

"$bin/edgeplane-hubd" -config configs/hubd-demo.hcl -listen "127.0.0.1:$port" >"$logdir/hubd.log" 2>&1 &
hub_pid=$!
for _ in $(seq 1 100); do
  port_busy "$port" && break
  kill -0 "$hub_pid" 2>/dev/null || { echo "demo: edgeplane-hubd exited:" >&2; cat "$logdir/hubd.log" >&2; exit 1; }
  sleep 0.05
done

"$bin/edgeplane-agent" -config configs/agent-demo.hcl -hub-url "ws://127.0.0.1:$port/v1/agent" >"$logdir/agent.log" 2>&1 &
agent_pid=$!

echo "dashboard: http://127.0.0.1:$port/"
echo "raw frames: $bin/edgeplane-watch -url ws://127.0.0.1:$port/v1/ws dev/demo-pi"
echo "logs: $logdir (Ctrl-C stops the hub and the agent)"

# Return when either process ends (or on Ctrl-C through the trap).
wait -n "$hub_pid" "$agent_pid" || true
echo "demo: a process ended; see $logdir" >&2
