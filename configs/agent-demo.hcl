# The `make run` demo agent: simulated sensors from 10 Hz to 1 Hz, the
# host's CPU temperature when it has one, and a simulated relay.
# scripts/demo.sh points it at the demo hub with -hub-url.
device_id = "demo-pi"
labels = {
  site = "demo"
}
flush_interval = "500ms"

hub {
  url           = "ws://127.0.0.1:8080/v1/agent"
  reconnect_max = "5s"
}

sensor "sim.sine" "temperature" {
  period      = "100ms"
  kind        = "temperature"
  unit        = "°C"
  offset      = 21.5
  amplitude   = 3
  wave_period = "1m"
}

sensor "sim.walk" "humidity" {
  period     = "500ms"
  resolution = 0.1
  kind       = "humidity"
  unit       = "%"
  min        = 35
  max        = 65
  step       = 0.3
  seed       = 42
}

sensor "sim.toggle" "door" {
  period   = "1s"
  interval = "7s"
}

sensor "soc.thermal" "cpu" {
  optional = true
  period   = "2s"
}

actuator "sim.relay" "relay1" {}
