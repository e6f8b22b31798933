package bridge

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/internal/config"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

// Config is the bridge's configuration, decoded from HCL (see
// configs/bridge.hcl for every field with its default). Load it with
// LoadConfig or ParseConfig: they validate it and fill the defaults, and New
// accepts only a Config that went through them.
type Config struct {
	// Region is this region's name, e.g. "eu": the <region> of topics and the
	// edgeplane-origin property of every export. Required.
	Region string `hcl:"region"`
	// ID names this bridge: the hub of the devices it imports in presence,
	// and part of its export cursor names. Default "bridge-<region>".
	ID string `hcl:"id,optional"`
	// Listen is the address of /healthz, /readyz and /metrics; "" serves none.
	Listen string `hcl:"listen,optional"`
	// TLS serves Listen over TLS; the files are read again on SIGHUP.
	TLS *tlsutil.Files `hcl:"tls,block"`
	// LogLevel (trace, debug, info, warn, error) and LogFormat (json, text,
	// "" = auto) of the daemon's logger.
	LogLevel  string `hcl:"log_level,optional"`
	LogFormat string `hcl:"log_format,optional"`
	// PresenceTTL is how long an imported device stays online without a
	// message. Default 2m.
	PresenceTTL string `hcl:"presence_ttl,optional"`
	// PollInterval is how often an export reads a channel's history even
	// without a notification (a safety net; notifications drive it). Default 5s.
	PollInterval string `hcl:"poll_interval,optional"`
	// CursorInterval bounds how often a busy export stores a channel's
	// cursor; an idle one stores it at once. A crash re-exports at most this
	// much (the far side dedups it). Default 250ms.
	CursorInterval string `hcl:"cursor_interval,optional"`

	Backplane BackplaneConfig `hcl:"backplane,block"`
	MQTT      MQTTConfig      `hcl:"mqtt,block"`
	Exports   []ExportConfig  `hcl:"export,block"`
	Imports   []ImportConfig  `hcl:"import,block"`

	checked        bool
	presenceTTL    time.Duration
	pollInterval   time.Duration
	cursorInterval time.Duration
}

// BackplaneConfig says which backplane the daemon connects to; the bridge
// itself receives the backplane ready made.
type BackplaneConfig struct {
	// Addrs of the region's Redis servers (host:port). Required.
	Addrs []string `hcl:"addrs"`
	// Username and Password of Redis AUTH; use env() or file().
	Username string `hcl:"username,optional"`
	Password string `hcl:"password,optional"`
	// Prefix of every key, to share a Redis between deployments.
	Prefix string `hcl:"prefix,optional"`
}

// MQTTConfig is the broker connection: MQTT v5, QoS 1 both ways, a persistent
// session, reconnecting by itself.
type MQTTConfig struct {
	// URLs of the broker, tried in turn: mqtt://host:1883, mqtts:// or
	// tls://host:8883, ws://, wss://. Required.
	URLs []string `hcl:"urls"`
	// ClientID identifies the session on the broker; it must be stable for
	// the session (and its queued messages) to survive reconnects.
	// Default "edgeplane-<id>".
	ClientID string `hcl:"client_id,optional"`
	// Username and Password for the broker; use env() or file() for the password.
	Username string `hcl:"username,optional"`
	Password string `hcl:"password,optional"`
	// CAFile verifies the broker's certificate (default: system roots);
	// CertFile and KeyFile are this bridge's client certificate.
	CAFile   string `hcl:"ca_file,optional"`
	CertFile string `hcl:"cert_file,optional"`
	KeyFile  string `hcl:"key_file,optional"`
	// InsecureSkipVerify accepts any broker certificate. Testing only: it
	// lets anyone on the path read and forge every message.
	InsecureSkipVerify bool `hcl:"insecure_skip_verify,optional"`
	// KeepAlive of the connection. Default 30s.
	KeepAlive string `hcl:"keepalive,optional"`
	// SessionExpiry is how long the broker keeps the session (subscriptions
	// and messages queued for the imports) while the bridge is away.
	// Default 24h.
	SessionExpiry string `hcl:"session_expiry,optional"`
	// InFlight bounds the exported messages awaiting PUBACK, over all
	// channels. Default 64.
	InFlight int `hcl:"in_flight,optional"`
	// ReceiveMaximum bounds the imported messages the broker may send before
	// the bridge has stored and acknowledged them. Default 64.
	ReceiveMaximum int `hcl:"receive_maximum,optional"`
	// ConnectTimeout of one connection attempt (default 10s); PublishTimeout
	// is how long an export waits for a PUBACK before it resends from the
	// cursor (default 10s).
	ConnectTimeout string `hcl:"connect_timeout,optional"`
	PublishTimeout string `hcl:"publish_timeout,optional"`
	// ReconnectMax caps the growing, jittered delay between connection
	// attempts. Default 10s.
	ReconnectMax string `hcl:"reconnect_max,optional"`

	keepAlive      time.Duration
	sessionExpiry  time.Duration
	connectTimeout time.Duration
	publishTimeout time.Duration
	reconnectMax   time.Duration
	urls           []*url.URL
}

// ExportConfig is one export: which device channels, to which topics, in
// which payload.
type ExportConfig struct {
	Name string `hcl:"name,label"`
	// Devices are exported by id, whatever their labels.
	Devices []string `hcl:"devices,optional"`
	// Select blocks choose devices by presence labels: a device matches a
	// block when it has every label of it; any block may match. With neither
	// devices nor select, every device of this region is exported.
	Selects []SelectConfig `hcl:"select,block"`
	// Topic template with <region>, <device> and <sensor>. Default
	// "edgeplane/<region>/<device>/<sensor>" (json, value) or
	// "edgeplane/<region>/<device>" (cbor, one message per batch of frames).
	Topic string `hcl:"topic,optional"`
	// Payload is json (default), value or cbor.
	Payload string `hcl:"payload,optional"`
	// Retain sets the retain flag on json and value messages, so that a new
	// subscriber sees each sensor's last value at once.
	Retain bool `hcl:"retain,optional"`
	// Start is where a channel without a stored cursor begins: "oldest"
	// (default: everything its history still holds) or "newest".
	Start string `hcl:"start,optional"`
	// Meta publishes retained device metadata and availability. Default true.
	Meta *bool `hcl:"meta,optional"`
	// MetaTopic and AvailabilityTopic are templates with <region> and
	// <device>. Defaults: the topic up to <device>, then "/$meta" and
	// "/$availability".
	MetaTopic         string `hcl:"meta_topic,optional"`
	AvailabilityTopic string `hcl:"availability_topic,optional"`
	// HomeAssistant publishes MQTT discovery configs (json and value only).
	HomeAssistant *HomeAssistantConfig `hcl:"homeassistant,block"`
	// BatchFrames is the most frames in one cbor message (default 64);
	// MaxMessageBytes its size limit (default "256KiB").
	BatchFrames     int    `hcl:"batch_frames,optional"`
	MaxMessageBytes string `hcl:"max_message_bytes,optional"`

	maxMessageBytes int
	meta            bool
}

// SelectConfig selects devices by labels.
type SelectConfig struct {
	Labels map[string]string `hcl:"labels"`
}

// HomeAssistantConfig enables Home Assistant MQTT discovery.
type HomeAssistantConfig struct {
	// Prefix of discovery topics. Default "homeassistant".
	Prefix string `hcl:"prefix,optional"`
}

// ImportConfig maps MQTT topics to device channels.
type ImportConfig struct {
	Name string `hcl:"name,label"`
	// Topic pattern: literal levels, + and a final #, and the placeholders
	// <device>, <sensor> and <region> (each one level). Required.
	Topic string `hcl:"topic"`
	// ShareGroup subscribes as $share/<group>/<filter>, so that several
	// bridges split the messages instead of each importing all of them.
	ShareGroup string `hcl:"share_group,optional"`
	// Payload is value (default: a bare number or true/false/on/off), json
	// (fields by path) or cbor (edgeplane stored frames, as a cbor export
	// sends them).
	Payload string `hcl:"payload,optional"`
	// Device is the device id when the topic has no <device>; DevicePrefix
	// is put before the topic's <device>.
	Device       string `hcl:"device,optional"`
	DevicePrefix string `hcl:"device_prefix,optional"`
	// Sensor is the sensor id when the topic has no <sensor> (value, and json
	// with Path); Path is the JSON field of that sensor, e.g. "value".
	Sensor     string  `hcl:"sensor,optional"`
	Path       string  `hcl:"path,optional"`
	Unit       string  `hcl:"unit,optional"`
	Kind       string  `hcl:"kind,optional"`
	Resolution float64 `hcl:"resolution,optional"`
	// Field blocks take several sensors from one JSON message:
	// field "t" { path = "BME280.Temperature" }.
	Fields []FieldConfig `hcl:"field,block"`
	// Labels are given to the imported devices in presence.
	Labels map[string]string `hcl:"labels,optional"`
	// Origin is the region of messages without the edgeplane-origin
	// property. Default: this region (third-party devices belong to it).
	Origin string `hcl:"origin,optional"`
}

// FieldConfig is one sensor of a JSON import.
type FieldConfig struct {
	Sensor     string  `hcl:"sensor,label"`
	Path       string  `hcl:"path"`
	Unit       string  `hcl:"unit,optional"`
	Kind       string  `hcl:"kind,optional"`
	Resolution float64 `hcl:"resolution,optional"`
}

// LoadConfig reads and validates the HCL file at path.
func LoadConfig(path string) (*Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseConfig decodes and validates src; filename names it in messages.
func ParseConfig(filename string, src []byte) (*Config, error) {
	var c Config
	if err := config.Parse(filename, src, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate implements config.Validator: it checks every value and fills the
// defaults.
func (c *Config) Validate(v *config.Checker) {
	if !frame.ValidDeviceID(c.Region) {
		v.Errorf("region", "%q must match [A-Za-z0-9._-]{1,64}", c.Region)
	}
	if c.ID == "" {
		c.ID = "bridge-" + c.Region
	}
	if !frame.ValidDeviceID(c.ID) {
		v.Errorf("id", "%q must match [A-Za-z0-9._-]{1,64}", c.ID)
	}
	c.LogLevel = v.OneOf("log_level", c.LogLevel, "info", "trace", "debug", "info", "warn", "error")
	c.LogFormat = v.OneOf("log_format", c.LogFormat, "", "json", "text")
	c.presenceTTL = v.Duration("presence_ttl", c.PresenceTTL, 2*time.Minute, time.Second, 0)
	c.pollInterval = v.Duration("poll_interval", c.PollInterval, 5*time.Second, 10*time.Millisecond, time.Hour)
	c.cursorInterval = v.Duration("cursor_interval", c.CursorInterval, 250*time.Millisecond, 0, time.Minute)

	if t := c.TLS; t != nil {
		tv := v.Block("tls")
		if c.Listen == "" {
			tv.Errorf("cert_file", "a tls block needs listen")
		}
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			tv.Errorf("cert_file", "%v", err)
		}
	}

	bv := v.Block("backplane")
	if len(c.Backplane.Addrs) == 0 {
		bv.Errorf("addrs", "at least one Redis address is needed")
	}

	c.MQTT.validate(v.Block("mqtt"), c.ID)

	seen := map[string]bool{}
	for i := range c.Exports {
		e := &c.Exports[i]
		ev := v.Block("export", e.Name)
		if seen["export "+e.Name] {
			ev.Errorf("name", "export %q is defined twice", e.Name)
		}
		seen["export "+e.Name] = true
		e.validate(ev)
	}
	for i := range c.Imports {
		im := &c.Imports[i]
		iv := v.Block("import", im.Name)
		if seen["import "+im.Name] {
			iv.Errorf("name", "import %q is defined twice", im.Name)
		}
		seen["import "+im.Name] = true
		im.validate(iv)
	}
	if len(c.Exports) == 0 && len(c.Imports) == 0 {
		v.Errorf("export", "the bridge has nothing to do: add an export or an import block")
	}
	c.checked = true
}

func (m *MQTTConfig) validate(v *config.Checker, id string) {
	if len(m.URLs) == 0 {
		v.Errorf("urls", "at least one broker URL is needed, like \"mqtt://127.0.0.1:1883\"")
	}
	m.urls = nil
	for _, s := range m.URLs {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			v.Errorf("urls", "%q is not a URL like mqtt://host:1883", s)
			continue
		}
		switch u.Scheme {
		case "mqtt", "tcp", "mqtts", "ssl", "tls", "ws", "wss":
		default:
			v.Errorf("urls", "%q: scheme %q is not one of mqtt, tcp, mqtts, ssl, tls, ws, wss", s, u.Scheme)
			continue
		}
		m.urls = append(m.urls, u)
	}
	if m.ClientID == "" {
		m.ClientID = "edgeplane-" + id
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		v.Errorf("cert_file", "cert_file and key_file go together")
	}
	for attr, p := range map[string]string{"ca_file": m.CAFile, "cert_file": m.CertFile, "key_file": m.KeyFile} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			v.Errorf(attr, "%v", err)
		}
	}
	m.keepAlive = v.Duration("keepalive", m.KeepAlive, 30*time.Second, time.Second, 18*time.Hour)
	m.sessionExpiry = v.Duration("session_expiry", m.SessionExpiry, 24*time.Hour, 0, 136*365*24*time.Hour)
	m.InFlight = v.Int("in_flight", m.InFlight, 64, 1, 65535)
	m.ReceiveMaximum = v.Int("receive_maximum", m.ReceiveMaximum, 64, 1, 65535)
	m.connectTimeout = v.Duration("connect_timeout", m.ConnectTimeout, 10*time.Second, 100*time.Millisecond, 5*time.Minute)
	m.publishTimeout = v.Duration("publish_timeout", m.PublishTimeout, 10*time.Second, 100*time.Millisecond, 5*time.Minute)
	m.reconnectMax = v.Duration("reconnect_max", m.ReconnectMax, 10*time.Second, 200*time.Millisecond, time.Hour)
}

func (e *ExportConfig) validate(v *config.Checker) {
	e.Payload = v.OneOf("payload", e.Payload, PayloadJSON, PayloadJSON, PayloadValue, PayloadCBOR)
	if e.Topic == "" {
		e.Topic = "edgeplane/<region>/<device>/<sensor>"
		if e.Payload == PayloadCBOR {
			e.Topic = "edgeplane/<region>/<device>"
		}
	}
	t, err := parseTemplate(e.Topic)
	if err != nil {
		v.Errorf("topic", "%v", err)
	} else {
		if !t.has(phDevice) {
			v.Errorf("topic", "%q has no <device>", e.Topic)
		}
		switch {
		case e.Payload == PayloadCBOR && t.has(phSensor):
			v.Errorf("topic", "a cbor export sends whole frames: its topic cannot have <sensor>")
		case e.Payload != PayloadCBOR && !t.has(phSensor):
			v.Errorf("topic", "a %s export sends one message per sensor: its topic needs <sensor>", e.Payload)
		}
	}
	prefix := e.Topic
	if i := strings.Index(prefix, phDevice); i >= 0 {
		prefix = prefix[:i+len(phDevice)]
	}
	if e.MetaTopic == "" {
		e.MetaTopic = prefix + "/$meta"
	}
	if e.AvailabilityTopic == "" {
		e.AvailabilityTopic = prefix + "/$availability"
	}
	for attr, s := range map[string]string{"meta_topic": e.MetaTopic, "availability_topic": e.AvailabilityTopic} {
		t, err := parseTemplate(s)
		if err != nil {
			v.Errorf(attr, "%v", err)
		} else if !t.has(phDevice) || t.has(phSensor) {
			v.Errorf(attr, "%q needs <device> and no <sensor>", s)
		}
	}
	e.Start = v.OneOf("start", e.Start, "oldest", "oldest", "newest")
	e.meta = e.Meta == nil || *e.Meta
	for _, d := range e.Devices {
		if !frame.ValidDeviceID(d) {
			v.Errorf("devices", "%q is not a device id ([A-Za-z0-9._-]{1,64})", d)
		}
	}
	for i, s := range e.Selects {
		if len(s.Labels) == 0 {
			v.Block("select").Errorf("labels", "select block %d has no labels (it would match every device)", i+1)
		}
	}
	if e.HomeAssistant != nil {
		if e.Payload == PayloadCBOR {
			v.Errorf("payload", "Home Assistant reads json or value payloads, not cbor")
		}
		if !e.meta {
			v.Errorf("meta", "Home Assistant discovery needs the availability messages of meta = true")
		}
		if e.HomeAssistant.Prefix == "" {
			e.HomeAssistant.Prefix = "homeassistant"
		}
	}
	e.BatchFrames = v.Int("batch_frames", e.BatchFrames, 64, 1, 10000)
	e.maxMessageBytes = int(v.Bytes("max_message_bytes", e.MaxMessageBytes, 256<<10, 1<<10))
	if e.maxMessageBytes > 256<<20 {
		v.Errorf("max_message_bytes", "%d bytes is over MQTT's limit of 256MiB", e.maxMessageBytes)
	}
}

func (im *ImportConfig) validate(v *config.Checker) {
	im.Payload = v.OneOf("payload", im.Payload, PayloadValue, PayloadValue, PayloadJSON, PayloadCBOR)
	p, err := parsePattern(im.Topic)
	if err != nil {
		v.Errorf("topic", "%v", err)
		return
	}
	if im.Origin != "" && !frame.ValidDeviceID(im.Origin) {
		v.Errorf("origin", "%q is not a region name", im.Origin)
	}
	if im.ShareGroup != "" && strings.ContainsAny(im.ShareGroup, "/+#") {
		v.Errorf("share_group", "%q cannot contain /, + or #", im.ShareGroup)
	}
	if im.Payload == PayloadCBOR {
		if len(im.Fields) > 0 || im.Path != "" || im.Sensor != "" || im.Device != "" {
			v.Errorf("payload", "a cbor import takes device, sensors and values from the frames: remove device, sensor, path and field")
		}
		return
	}
	switch {
	case p.has(phDevice) && im.Device != "":
		v.Errorf("device", "the topic already has <device>")
	case !p.has(phDevice) && !frame.ValidDeviceID(im.Device):
		v.Errorf("device", "the topic has no <device>, so device must name one ([A-Za-z0-9._-]{1,64})")
	}
	if im.DevicePrefix != "" && !frame.ValidDeviceID(im.DevicePrefix) {
		v.Errorf("device_prefix", "%q may only hold [A-Za-z0-9._-]", im.DevicePrefix)
	}
	single := p.has(phSensor) || im.Sensor != ""
	if p.has(phSensor) && im.Sensor != "" {
		v.Errorf("sensor", "the topic already has <sensor>")
	}
	switch im.Payload {
	case PayloadValue:
		if !single {
			v.Errorf("sensor", "a value import needs <sensor> in the topic or sensor = \"...\"")
		}
		if len(im.Fields) > 0 || im.Path != "" {
			v.Errorf("payload", "field blocks and path need payload = \"json\"")
		}
	case PayloadJSON:
		if single == (len(im.Fields) > 0) {
			v.Errorf("field", "a json import has either field blocks, or one sensor (<sensor> or sensor) with path")
		}
		if single && im.Path == "" {
			v.Errorf("path", "name the JSON field of the value, e.g. path = \"value\"")
		}
		for _, f := range im.Fields {
			fv := v.Block("field", f.Sensor)
			if f.Sensor == "" {
				fv.Errorf("sensor", "empty sensor id")
			}
			if f.Path == "" {
				fv.Errorf("path", "empty path")
			}
			if f.Resolution < 0 {
				fv.Errorf("resolution", "must not be negative")
			}
		}
	}
	if im.Resolution < 0 {
		v.Errorf("resolution", "must not be negative")
	}
}

// Applied returns a one-line summary of the applied configuration, for the
// start-up log.
func (c *Config) Applied() string {
	return fmt.Sprintf("region=%s id=%s brokers=%s client_id=%s exports=%d imports=%d in_flight=%d",
		c.Region, c.ID, strings.Join(c.MQTT.URLs, ","), c.MQTT.ClientID, len(c.Exports), len(c.Imports), c.MQTT.InFlight)
}
