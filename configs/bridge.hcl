# edgeplane-bridge: links this region's backplane to an MQTT v5 broker.
# Validate with: edgeplane-bridge -check -config configs/bridge.hcl
# Durations are Go durations ("500ms", "10s", "1h"); sizes like "256KiB".
# Secrets: env("NAME") or file("/path"), never written here.

# This region's name: <region> in topics, and the edgeplane-origin user
# property of every exported message. Required.
region = "eu"

# Names this bridge in presence (the hub of imported devices) and in its
# export cursor names. Default "bridge-<region>".
id = "bridge-eu-1"

# /healthz, /readyz (broker connected, backplane reachable) and /metrics.
# Leave out to serve none.
listen = "127.0.0.1:9102"
# Serve it over TLS (SIGHUP reads the two files again):
# tls {
#   cert_file = "/etc/edgeplane/tls/bridge.pem"   # leaf first
#   key_file  = "/etc/edgeplane/tls/bridge.key"
# }

log_level = "info"      # trace, debug, info, warn, error
# log_format = "json"   # json, text; default: text on a terminal, else json

# An imported device goes offline after this long without a message.
presence_ttl = "2m"

# Exports are driven by backplane notifications; this is how often they read
# the history anyway. Default 5s.
poll_interval = "5s"

# A busy export stores each channel's cursor at most this often; a crash
# re-exports at most this much (the importing side drops it by seq).
cursor_interval = "250ms"

# The region's Redis backplane (the same one the hubs use).
backplane {
  addrs = ["127.0.0.1:6380"]
  # password = env("EDGEPLANE_REDIS_PASSWORD")
  # prefix   = "edgeplane"
}

mqtt {
  # Tried in turn. mqtt:// or tcp:// plain, mqtts://, ssl:// or tls:// with
  # TLS, ws:// and wss:// over WebSocket.
  urls = ["mqtt://127.0.0.1:1884"]

  # Must stay the same across restarts: it names the persistent session in
  # which the broker keeps the imports' subscriptions and queued messages.
  client_id = "edgeplane-bridge-eu-1"

  # username = "edgeplane"
  # password = env("EDGEPLANE_MQTT_PASSWORD")

  # TLS: the CA of the broker's certificate (default: system roots), and a
  # client certificate if the broker asks for one.
  # ca_file   = "/etc/edgeplane/mqtt-ca.pem"
  # cert_file = "/etc/edgeplane/bridge.pem"
  # key_file  = "/etc/edgeplane/bridge.key"
  # insecure_skip_verify = false   # testing only: accepts any certificate

  keepalive       = "30s"
  session_expiry  = "24h"  # how long the broker keeps the session while the bridge is away
  in_flight       = 64     # exported messages awaiting PUBACK, over all channels
  receive_maximum = 64     # imported messages the broker may send before they are stored
  connect_timeout = "10s"
  publish_timeout = "10s"  # no PUBACK by then: resend from the cursor
  reconnect_max   = "10s"  # cap of the growing, jittered reconnect delay
}

# Home Assistant and anything else that reads plain MQTT: one message per
# sample, {"value":21.5,"t":1733318400123.456,"seq":7,"unit":"°C"}, plus
# retained metadata, availability and discovery configs.
export "home" {
  # Devices by id, and/or by presence labels (a device matches a select
  # block when it has all of its labels). Neither: every device of the region.
  devices = ["pi-7"]
  select {
    labels = { site = "berlin" }
  }
  topic   = "edgeplane/<region>/<device>/<sensor>"
  payload = "json"     # json, value (bare "21.5") or cbor
  retain  = true       # new subscribers see each sensor's last value at once
  start   = "newest"   # a channel without a cursor starts at its top ("oldest": its whole history)
  meta    = true       # retained <topic up to device>/$meta and /$availability
  # meta_topic         = "edgeplane/<region>/<device>/$meta"
  # availability_topic = "edgeplane/<region>/<device>/$availability"
  homeassistant {
    prefix = "homeassistant"
  }
}

# Region link: whole frames in their stored CBOR form, several per message,
# for the bridge of another region to import with device id, spool id and
# seq intact.
export "link" {
  topic        = "edgeplane/<region>/<device>"
  payload      = "cbor"
  start        = "oldest"
  batch_frames = 64
  max_message_bytes = "256KiB"
}

# The other regions' frames. Messages carrying our own region as origin are
# dropped; devices imported here are never exported again. A cbor import
# also reads <topic>/$meta (the exporting bridge's retained metadata), so
# the devices are listed with their sensors and labels.
import "regions" {
  topic   = "edgeplane/<region>/<device>"
  payload = "cbor"
}

# A Tasmota device with a BME280: tele/<device>/SENSOR carries
# {"Time":"…","BME280":{"Temperature":21.3,"Humidity":45.1,"Pressure":1013.2},"TempUnit":"C"}
import "tasmota" {
  topic         = "tele/<device>/SENSOR"
  device_prefix = "tasmota-"
  payload       = "json"
  labels        = { vendor = "tasmota" }
  field "t" {
    path       = "BME280.Temperature"
    kind       = "temperature"
    unit       = "°C"
    resolution = 0.1
  }
  field "rh" {
    path       = "BME280.Humidity"
    kind       = "humidity"
    unit       = "%"
    resolution = 0.1
  }
  field "p" {
    path       = "BME280.Pressure"
    kind       = "pressure"
    unit       = "hPa"
    resolution = 0.1
  }
}

# One bare value per topic: shellies/<device>/sensor/<sensor> = "21.5".
import "shelly" {
  topic         = "shellies/<device>/sensor/<sensor>"
  device_prefix = "shelly-"
  payload       = "value"
  # share_group = "edgeplane"   # several bridges split these messages
}
