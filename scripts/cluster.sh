#!/usr/bin/env bash
# `make cluster`: one region on this machine: its own redis-server (never on
# 6379), two edgeplane-hubd (region "eu") on that Redis, and two agents, one
# on each hub. Either dashboard shows both devices. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-bin}
name=cluster
command -v redis-server >/dev/null || { echo "cluster: redis-server not found (sudo apt-get install -y redis-server)" >&2; exit 1; }
for b in edgeplane-hubd edgeplane-agent; do
  [ -x "$bin/$b" ] || { echo "cluster: $bin/$b missing; run make build" >&2; exit 1; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/edgeplane-cluster.XXXXXX")
. scripts/lib.sh

redis_port=$(free_port 16379)
mkdir -p "$dir/redis"
start redis "$redis_port" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --save "" --appendonly no

declare -A hub_port
for h in a b; do
  hub_port[$h]=$(free_port 8080)
  cat >"$dir/hubd-$h.hcl" <<CONF
listen          = "127.0.0.1:${hub_port[$h]}"
hub_id          = "hub-$h"
region          = "eu"
allow_anonymous = true
backplane {
  type = "redis"
  redis {
    addrs = ["127.0.0.1:$redis_port"]
  }
}
CONF
  start "hubd-$h" "${hub_port[$h]}" "$bin/edgeplane-hubd" -config "$dir/hubd-$h.hcl"
done
for h in a b; do
  sed "s/^device_id *=.*/device_id = \"pi-$h\"/" configs/agent-demo.hcl >"$dir/agent-$h.hcl"
  start "agent-$h" - "$bin/edgeplane-agent" -config "$dir/agent-$h.hcl" -hub-url "ws://127.0.0.1:${hub_port[$h]}/v1/agent"
done

echo "hub A dashboard: http://127.0.0.1:${hub_port[a]}/   (agent pi-a is connected here)"
echo "hub B dashboard: http://127.0.0.1:${hub_port[b]}/   (agent pi-b is connected here; both show on both)"
echo "raw frames: $bin/edgeplane-watch -url ws://127.0.0.1:${hub_port[b]}/v1/ws dev/pi-a dev/pi-b"
echo "redis: redis-cli -p $redis_port"
echo "logs: $dir (Ctrl-C stops everything)"
wait_any
