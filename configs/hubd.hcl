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

# Browser origins, besides the hub's own, whose pages may open dashboard
# connections (path.Match host patterns; with "://" matched against
# scheme://host). Others get HTTP 403. Default: none, same origin only.
# allowed_origins = ["dash.example.com", "https://*.ops.example.com"]

# Token authentication (docs/SECURITY.md): JWTs signed by one of these keys,
# chosen by the token's kid. Rotate by adding a key, minting with it, and
# removing the old one once its tokens expired. Mint with
#   edgeplane-hubd token -config hubd.hcl -kid 2026-12 -sub pi-7 -role device -ttl 720h
# auth {
#   key "2026-12" { hmac_secret = env("EDGEPLANE_HMAC_2026_12") }         # >= 32 bytes
#   key "ops"     { ed25519_public_key = file("/etc/edgeplane/ops.pub") } # verify only
#   leeway = "30s"
# }

# TLS on the listener; SIGHUP (systemctl reload) reads the files again, and
# a pair that does not load keeps the old certificate in service.
# tls {
#   cert_file = "/etc/edgeplane/tls/fullchain.pem"
#   key_file  = "/etc/edgeplane/tls/privkey.pem"
# }

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

  # Frames one device may store: a bucket of frames_burst refilled at
  # frames_per_second. Over it the hub reads the link more slowly (a spool
  # replay is spread out, not refused). -1 turns a count limit off.
  frames_per_second = 5000
  frames_burst      = 50000

  # Samples in one FRAME; more is ERROR 429 and close 1008.
  samples_per_frame = 4096

  # WebSocket connections from one address (loopback exempt; HTTP 429) and
  # in total (HTTP 503), refused before the upgrade.
  connections_per_ip = 256
  connections        = 20000

  # TLS handshake plus request headers of any HTTP connection (slowloris).
  handshake_timeout = "10s"

  # Every WebSocket is pinged every half of this; no pong within the other
  # half closes it with 1008. "0s": no pings.
  idle_timeout = "60s"
}
