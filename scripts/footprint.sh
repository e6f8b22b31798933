#!/usr/bin/env bash
# What edgeplane-agent costs a gateway: resident memory and CPU while it
# samples 10 simulated sensors at 10 Hz into a real hub on this machine.
# Usage: scripts/footprint.sh [seconds]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
name=footprint
dir=$(mktemp -d "${TMPDIR:-/tmp}/edgeplane-footprint.XXXXXX")
. scripts/lib.sh

CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/" ./agent/cmd/edgeplane-agent ./hubd/cmd/edgeplane-hubd
port=$(free_port 18080)
start hubd "$port" "$dir/edgeplane-hubd" -config configs/hubd-demo.hcl -listen "127.0.0.1:$port"
{
  echo 'device_id = "footprint"'
  echo 'flush_interval = "1s"'
  echo "hub {"
  echo "  url = \"ws://127.0.0.1:$port/v1/agent\""
  echo "}"
  echo "spool {"
  echo "  dir = \"$dir/spool\""
  echo "}"
  for i in $(seq 0 9); do
    echo "sensor \"sim.sine\" \"s$i\" {"
    echo '  period = "100ms"'
    echo '  resolution = 0.01'
    echo "}"
  done
} >"$dir/agent.hcl"
start agent - "$dir/edgeplane-agent" -config "$dir/agent.hcl"
pid=${pids[-1]}
sleep 5 # let it reach its steady state before measuring
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks) s0=$(date +%s.%N)
sleep "$secs"
t1=$(ticks) s1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
size=$(stat -c %s "$dir/edgeplane-agent")
awk -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" -v hz="$hz" -v rss="$rss" -v hwm="$hwm" -v size="$size" 'BEGIN {
  printf "agent, 10 sensors x 10 Hz, disk spool, %.0f s:\n", s1 - s0
  printf "  cpu   %.2f %% of one core\n", 100 * (t1 - t0) / hz / (s1 - s0)
  printf "  rss   %.1f MiB (peak %.1f MiB)\n", rss / 1024, hwm / 1024
  printf "  binary %.1f MB\n", size / 1e6
}'
