# edgeplane-agent — reference configuration. Every key is shown with its
# default or an example; everything but device_id and hub.url is optional.
# Check a file with:  edgeplane-agent -check -config agent.hcl
# Durations use Go syntax ("500ms", "10s", "1m"); sizes "64MiB", "500KB".
# Secrets: write token = env("EDGEPLANE_TOKEN") or use token_file.

# The gateway's id, [A-Za-z0-9._-]{1,64}. With a token, it must equal the
# token's subject.
device_id = "pi-7"

# Free-form labels announced to the hub and shown on the dashboard.
labels = {
  site = "greenhouse"
  room = "north"
}

# trace, debug, info, warn or error. Logs are JSON unless stderr is a terminal.
log_level = "info"

# One FRAME seals the samples of every sensor collected in this interval
# (at least 10ms, at most 1m). Longer = fewer bytes per sample, later on screen.
flush_interval = "1s"

# A FRAME is sealed early when it holds this many samples (1..10000).
max_samples = 500

hub {
  # The hub's agent endpoint: ws:// or wss://. Or a list for failover:
  #   urls = ["wss://hub-a.example.net/v1/agent", "wss://hub-b.example.net/v1/agent"]
  # the agent moves to the next one whenever a connection attempt fails.
  url = "ws://127.0.0.1:8080/v1/agent"

  # The device's bearer token (sent as Authorization: Bearer ...).
  # token = env("EDGEPLANE_TOKEN")
  # token_file = "/etc/edgeplane/agent.token"

  # PEM bundle to trust for wss:// instead of the system roots.
  # ca_file = "/etc/edgeplane/hub-ca.pem"

  # Frames sent and not yet acknowledged (1..65536). Past this the agent
  # waits for ACKs; frames wait in the queue or spool meanwhile.
  max_inflight = 256

  # Reconnect delays double from reconnect_min up to reconnect_max; each
  # delay is drawn uniformly below that ceiling (full jitter).
  reconnect_min = "500ms"
  reconnect_max = "30s"

  # Bound on dial + upgrade + WELCOME, and on waiting for a pong.
  handshake_timeout = "10s"
}

# Without a spool block, unacknowledged frames wait in memory, bounded;
# when full, the oldest frames are dropped and counted
# (edgeplane_agent_queue_dropped_frames_total). An agent restart loses them.
queue {
  max_bytes  = "16MiB"
  max_frames = 100000
}

# With a spool block, frames are written to disk before they are sent and
# removed after the hub acknowledges them; a restart or power cut resumes.
# This is what a gateway should run with: the packaged unit gives the agent
# /var/lib/edgeplane/agent (StateDirectory) and nothing else to write.
spool {
  dir = "/var/lib/edgeplane/agent/spool"
  # "always": fsync every frame (no loss on power cut; wears SD cards),
  # a duration such as "1s" (default: a power cut loses at most that much),
  # "never": the kernel decides. A process crash loses nothing either way.
  sync = "1s"
  # Disk bound; when full the oldest frames go, counted.
  max_bytes = "64MiB"
}

# /metrics (Prometheus) and /healthz on a local port. Unauthenticated:
# keep it on 127.0.0.1, or serve it over TLS to a Prometheus elsewhere
# behind a firewall (SIGHUP reads the two files again).
# metrics {
#   listen = "127.0.0.1:9101"
#   tls {
#     cert_file = "/etc/edgeplane/tls/agent.pem"   # leaf first
#     key_file  = "/etc/edgeplane/tls/agent.key"
#   }
# }

# Sensors: sensor "<driver>" "<name>" { ... }. The name is the channel id on
# the wire. Every sensor takes:
#   optional = true   skip it with a warning when it cannot be opened
#                     (no thermal zone, device not plugged in)
# and its driver's own keys, below.

# A sine wave: offset + amplitude * sin(2π t / wave_period + phase).
sensor "sim.sine" "t" {
  period      = "1s"    # sampling period (default 1s)
  resolution  = 0.01    # values are rounded to this (default 0.01)
  kind        = "temperature"
  unit        = "°C"
  amplitude   = 2.5     # default 1
  offset      = 21      # default 0
  wave_period = "10m"   # default 1m
  phase       = 0       # radians
}

# A bounded random walk; the same seed gives the same walk.
sensor "sim.walk" "rh" {
  period     = "1s"
  resolution = 0.1
  kind       = "humidity"
  unit       = "%"
  min        = 30       # bounds; default 0 and 100
  max        = 70
  step       = 0.4      # largest change per read; default 1% of max-min
  start      = 50       # default: the middle
  seed       = 7
}

# A GPIO-like level that flips every interval, delivered as an event at each
# flip; with a period it is also read on that period.
sensor "sim.toggle" "door" {
  interval = "5s"       # default 5s
  period   = "0s"       # 0s (default): events only
  initial  = false
  kind     = "level"
}

# The SoC temperature from /sys/class/thermal/thermal_zone*/temp.
sensor "soc.thermal" "cpu" {
  optional   = true     # containers and VMs often have no thermal zone
  period     = "5s"     # default 5s
  resolution = 0.1      # default 0.1
  # zone       = "thermal_zone0"  # default: the lowest-numbered readable zone
  # sysfs_root = "/sys"
}

# Load average, memory and disk use (hw/sysstat), from /proc and statfs.
# Channels: system.load1, system.memory_used, system.disk_used ...
sensor "sysstat" "system" {
  period = "30s"
  disk   = "/"          # the file system whose use is reported
  # proc_root = "/proc"
}

# The periph drivers below find their bus or pin by name; a wrong name fails
# at start listing what periph found ("i2c bus "3" not found; periph found:
# "I2C1" (number 1)"). optional = true skips a device that is not plugged in.

# A GPIO input: its level every period, and each (debounced) edge as it happens.
sensor "gpio" "button" {
  optional   = true
  pin        = "GPIO17"  # periph pin name: "GPIO17", "P1_11", "17"
  pull       = "up"      # up, down, none; unset keeps the pin's setting
  edge       = "both"    # both (default), rising, falling, none
  debounce   = "20ms"    # default 20ms; "0s" turns it off
  active_low = true      # report true when the pin is low
  period     = "10s"     # default 10s
}

# Pulses counted on a GPIO, reported as a rate in Hz (flow meters, anemometers).
sensor "counter" "flow" {
  optional = true
  pin      = "GPIO22"
  pull     = "up"
  edge     = "falling"   # rising (default), falling, both
  period   = "10s"       # counting window; default 10s
  debounce = "5ms"       # default off; caps the rate at 1/debounce
}

# BME280 (temperature, humidity, pressure) or BMP280 on I²C.
# Channels: env.temperature, env.humidity, env.pressure.
sensor "bme280" "env" {
  optional     = true
  bus          = "1"     # periph bus name or number; default the first bus
  address      = "0x76"  # 0x76 (default) or 0x77
  period       = "10s"
  oversampling = 4       # 1, 2, 4 (default), 8, 16
}

# DS18B20 temperature probe on 1-Wire.
sensor "ds18b20" "tank" {
  optional   = true
  bus        = "w1"
  address    = "28-0000070e41ac"  # default: the only probe on the bus
  resolution = 12                 # bits, 9..12
  period     = "10s"
}

# ADS1115 ADC channels on I²C, in volts. Channels: adc.ain0, adc.ain2-ain3.
sensor "ads1115" "adc" {
  optional   = true
  bus        = "1"
  address    = "0x48"
  channels   = ["ain0", "ain2-ain3"]
  full_scale = 4.096     # volts
  data_rate  = 128       # samples per second
  period     = "1s"
}

# Actuators: actuator "<driver>" "<name>" { ... }. Commands address them by
# name: gpio.write {pin = "relay1", level = true}.

# A simulated relay that remembers its level.
actuator "sim.relay" "relay1" {
  # Level at start and when the agent stops. Default false (off).
  safe_level = false
}

# A GPIO output: driven to its safe level at start and when the agent stops.
actuator "gpio" "pump" {
  pin        = "GPIO27"
  active_low = true      # most relay boards switch on a low level
  safe_level = false     # logical level; true only for loads that must stay on
}
