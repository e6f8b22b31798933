#!/usr/bin/env bash
# `make regions`: two regions on this machine linked over MQTT.
#   region "eu": redis-server, edgeplane-hubd, edgeplane-bridge, an agent
#   region "us": redis-server, edgeplane-hubd, edgeplane-bridge
#   one mosquitto between the two bridges
# Every server gets its own free port (never 6379 or 1883, which system
# servers may hold) and its data in a temporary directory. The eu agent's
# frames show live on the us dashboard. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BIN:-bin}
for cmd in redis-server mosquitto; do
  command -v "$cmd" >/dev/null || { echo "regions: $cmd not found (sudo apt-get install -y $cmd)" >&2; exit 1; }
done
for b in edgeplane-hubd edgeplane-bridge edgeplane-agent; do
  [ -x "$bin/$b" ] || { echo "regions: $bin/$b missing; run make build" >&2; exit 1; }
done

name=regions
dir=$(mktemp -d "${TMPDIR:-/tmp}/edgeplane-regions.XXXXXX")
. scripts/lib.sh

mqtt_port=$(free_port 11883)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root"   # else mosquitto switches to a user that cannot write $dir
cat >"$dir/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $dir/
$user_line
CONF
start mosquitto "$mqtt_port" mosquitto -c "$dir/mosquitto.conf"

declare -A redis_port hub_port bridge_port
for r in eu us; do
  redis_port[$r]=$(free_port 16379)
  mkdir -p "$dir/redis-$r"
  start "redis-$r" "${redis_port[$r]}" redis-server --port "${redis_port[$r]}" --bind 127.0.0.1 --dir "$dir/redis-$r" --save "" --appendonly no
  hub_port[$r]=$(free_port 8080)
  bridge_port[$r]=$(free_port 9102)

  cat >"$dir/hubd-$r.hcl" <<CONF
listen = "127.0.0.1:${hub_port[$r]}"
hub_id = "hub-$r"
region = "$r"
allow_anonymous = true
backplane {
  type = "redis"
  redis {
    addrs = ["127.0.0.1:${redis_port[$r]}"]
  }
}
CONF
  start "hubd-$r" "${hub_port[$r]}" "$bin/edgeplane-hubd" -config "$dir/hubd-$r.hcl"

  cat >"$dir/bridge-$r.hcl" <<CONF
region = "$r"
listen = "127.0.0.1:${bridge_port[$r]}"
backplane {
  addrs = ["127.0.0.1:${redis_port[$r]}"]
}
mqtt {
  urls = ["mqtt://127.0.0.1:$mqtt_port"]
}
export "link" {
  payload = "cbor"
}
import "regions" {
  topic   = "edgeplane/<region>/<device>"
  payload = "cbor"
}
CONF
  "$bin/edgeplane-bridge" -check -config "$dir/bridge-$r.hcl" >/dev/null
  start "bridge-$r" "${bridge_port[$r]}" "$bin/edgeplane-bridge" -config "$dir/bridge-$r.hcl"
done

# The us bridge must be subscribed before eu exports, or the broker has no
# session to queue eu's first frames for: wait until it is ready.
for _ in $(seq 1 200); do
  http_ok "${bridge_port[us]}" /readyz && break
  sleep 0.05
done

start agent-eu - "$bin/edgeplane-agent" -config configs/agent-demo.hcl -hub-url "ws://127.0.0.1:${hub_port[eu]}/v1/agent"

echo "eu dashboard: http://127.0.0.1:${hub_port[eu]}/"
echo "us dashboard: http://127.0.0.1:${hub_port[us]}/   (the eu agent demo-pi shows here, through the bridges)"
echo "bridges: http://127.0.0.1:${bridge_port[eu]}/metrics (eu)  http://127.0.0.1:${bridge_port[us]}/metrics (us)"
echo "mqtt: mosquitto_sub -p $mqtt_port -V 5 -t 'edgeplane/#' -v"
echo "logs: $dir (Ctrl-C stops everything)"

wait_any
