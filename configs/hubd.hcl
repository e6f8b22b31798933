# edgeplane-hubd configuration (HCL). Every key is optional; the values
# below are the defaults unless a comment says otherwise.
# Check a file with:  edgeplane-hubd -check -config configs/hubd.hcl

# HTTP address: the dashboard on /, dashboards on /v1/ws, agents on
# /v1/agent, and /metrics, /healthz, /readyz. The -listen flag overrides it.
listen = "127.0.0.1:8080"

# This hub's name in WELCOME, presence and the devices reply.
# Default: the host name.
# hub_id = "hub-a"

# The region the hub belongs to (all hubs of a region share one backplane).
region = "local"

# Let agents and dashboards in without a token. Set here (the default is
# false) so that the example works on one machine: it only ever admits
# connections that arrive on a loopback address, and the hub refuses to
# start with it on a non-loopback listen address.
allow_anonymous = true

# DANGER: extends allow_anonymous to every address. Anyone who reaches the
# port can then publish frames as any device and drive every actuator.
# allow_anonymous_nonloopback = false

# trace, debug, info, warn or error.
log_level = "info"

backplane {
  # "memory": single node, no Redis; history is lost when the hub stops
  # (dashboards then get a reset). "redis": many hubs share one Redis.
  type = "memory"

  # Frames kept per device channel for history and since-recovery.
  history_size = 1000

  # How long a channel's history outlives its last frame.
  history_ttl = "24h"

  # Used when type = "redis".
  # redis {
  #   addrs      = ["127.0.0.1:6379"]
  #   cluster    = false
  #   password   = env("EDGEPLANE_REDIS_PASSWORD")
  #   key_prefix = "edgeplane"
  # }
}

limits {
  # Largest agent-link message (a spool replay batch); larger ones close
  # the link with 1009.
  agent_message_bytes = "1MiB"

  # Largest dashboard message; larger ones close with 1009.
  client_message_bytes = "64KiB"

  # What may wait to be written to one dashboard. Over either bound the
  # dashboard is closed with 1013 (slow consumer) and recovers with since.
  send_queue_bytes    = "8MiB"
  send_queue_messages = 8192

  # Time a dashboard has to send its auth message (when anonymous access
  # does not apply); then it is closed with 1008.
  auth_timeout = "10s"

  # Time a command waits for the agent's result; then error 408.
  command_timeout = "10s"

  # Bound of one WebSocket write; a dashboard that takes longer is closed
  # as a slow consumer.
  write_timeout = "10s"

  # A device stays online this long without a refresh (the hub refreshes
  # every third of it), so a hub that dies takes its devices offline
  # within this bound plus the backplane's presence sweep (1 s).
  presence_ttl = "30s"

  # Bound of a graceful shutdown (SIGTERM): dashboards get 1001.
  drain_timeout = "10s"

  # Channels one dashboard connection may subscribe to.
  subscriptions = 1024
}
