package agent

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/internal/auth"
	"github.com/edgeplane/edgeplane/internal/config"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
	"github.com/hashicorp/hcl/v2"
)

// Config is the agent's configuration, decoded from HCL (see
// configs/agent.hcl for a commented reference of every key). The zero value
// of every optional field means its default. Build it with LoadConfig or
// ParseConfig; a Config written in Go works as well (New checks it the same
// way, reporting problems without source positions).
type Config struct {
	// DeviceID names the gateway, [A-Za-z0-9._-]{1,64}; with a token it
	// must equal the token's subject.
	DeviceID string `hcl:"device_id"`
	// Labels are free-form key/values announced in HELLO (site, room ...).
	Labels map[string]string `hcl:"labels,optional"`
	// LogLevel is trace, debug, info (default), warn or error.
	LogLevel string `hcl:"log_level,optional"`
	// FlushInterval is how often the samples collected are sealed into one
	// FRAME, Go duration syntax; default "1s", at least "10ms". Shorter is
	// fresher on the dashboard and costs more bytes per sample.
	FlushInterval string `hcl:"flush_interval,optional"`
	// MaxSamples seals a FRAME early when it holds this many samples;
	// default 500, at most 10000.
	MaxSamples int `hcl:"max_samples,optional"`

	Hub       *HubConfig       `hcl:"hub,block"`
	Queue     *QueueConfig     `hcl:"queue,block"`
	Spool     *SpoolConfig     `hcl:"spool,block"`
	Metrics   *MetricsConfig   `hcl:"metrics,block"`
	Sensors   []SensorConfig   `hcl:"sensor,block"`
	Actuators []ActuatorConfig `hcl:"actuator,block"`
}

// HubConfig is where frames go.
type HubConfig struct {
	// URL is the hub's agent endpoint, ws://host:port/v1/agent or wss://.
	URL string `hcl:"url,optional"`
	// URLs lists several hubs; the agent moves to the next one whenever a
	// connection fails. Give url or urls.
	URLs []string `hcl:"urls,optional"`
	// Token is the device's bearer token; write token = env("NAME") or use
	// token_file rather than putting it in the file.
	Token auth.Token `hcl:"token,optional"`
	// TokenFile is a file holding the token (read at start).
	TokenFile string `hcl:"token_file,optional"`
	// CAFile is a PEM bundle trusted for wss:// instead of the system roots.
	CAFile string `hcl:"ca_file,optional"`
	// MaxInFlight bounds the frames sent and not yet acknowledged; default
	// 256. Past it the agent waits for ACKs and frames wait in the queue.
	MaxInFlight int `hcl:"max_inflight,optional"`
	// ReconnectMin and ReconnectMax bound the delay between connection
	// attempts, which doubles from min to max with full jitter; defaults
	// "500ms" and "30s".
	ReconnectMin string `hcl:"reconnect_min,optional"`
	ReconnectMax string `hcl:"reconnect_max,optional"`
	// HandshakeTimeout bounds dial, upgrade and WELCOME; default "10s".
	HandshakeTimeout string `hcl:"handshake_timeout,optional"`
}

// QueueConfig bounds the in-memory queue used when there is no spool block.
type QueueConfig struct {
	// MaxBytes bounds the encoded frames held, "16MiB" by default. When
	// full the oldest frames are dropped and counted.
	MaxBytes string `hcl:"max_bytes,optional"`
	// MaxFrames bounds the number of frames held; default 100000.
	MaxFrames int `hcl:"max_frames,optional"`
}

// SpoolConfig keeps unacknowledged frames on disk (agent/spool).
type SpoolConfig struct {
	// Dir holds the spool's segment files; required.
	Dir string `hcl:"dir"`
	// Sync is "always" (fsync per frame: no loss on power cut, wears SD
	// cards), a Go duration such as "1s" (default: a power cut loses at
	// most that much), or "never" (the OS decides; a process crash still
	// loses nothing).
	Sync string `hcl:"sync,optional"`
	// MaxBytes bounds the spool on disk, "64MiB" by default; when full the
	// oldest frames go, counted.
	MaxBytes string `hcl:"max_bytes,optional"`
}

// MetricsConfig serves /metrics (Prometheus) and /healthz locally.
type MetricsConfig struct {
	// Listen is the address, e.g. "127.0.0.1:9101". It is not
	// authenticated: keep it on the host, or behind a firewall that lets
	// only the Prometheus server in.
	Listen string `hcl:"listen"`
	// TLS serves it over TLS; the files are read again on SIGHUP.
	TLS *tlsutil.Files `hcl:"tls,block"`
}

// SensorConfig is a `sensor "<driver>" "<name>" { ... }` block. The name
// is the sensor's channel id (or its prefix, for drivers with several
// channels). The body holds the driver's settings; see configs/agent.hcl.
type SensorConfig struct {
	Driver string `hcl:"driver,label"`
	Name   string `hcl:"name,label"`
	// Optional sensors that cannot be opened (no thermal zone on this
	// machine, an I²C device not plugged in) are skipped with a warning
	// instead of stopping the agent.
	Optional bool `hcl:"optional,optional"`
	// Settings is the rest of the block, decoded by the driver; nil means
	// the driver's defaults.
	Settings hcl.Body `hcl:",remain"`
}

// ActuatorConfig is an `actuator "<driver>" "<name>" { ... }` block; the
// name is what commands use ("pin" of gpio.write).
type ActuatorConfig struct {
	Driver   string   `hcl:"driver,label"`
	Name     string   `hcl:"name,label"`
	Settings hcl.Body `hcl:",remain"`
}

// Defaults and bounds of Config.
const (
	DefaultFlushInterval    = time.Second
	DefaultMaxSamples       = 500
	DefaultMaxInFlight      = 256
	DefaultReconnectMin     = 500 * time.Millisecond
	DefaultReconnectMax     = 30 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultSpoolMaxBytes    = 64 << 20
	DefaultSpoolSync        = time.Second
	maxMaxSamples           = 10000
)

// LoadConfig reads and checks the HCL file at path. Errors name
// file:line:col (config.IsError reports them as configuration errors).
func LoadConfig(path string) (*Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ParseConfig is LoadConfig for HCL source held in memory; filename is used
// in messages.
func ParseConfig(filename string, src []byte) (*Config, error) {
	var c Config
	if err := config.Parse(filename, src, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate implements config.Validator: it runs every check New runs, so
// that a bad value fails at load (and in -check) with its position.
func (c *Config) Validate(chk *config.Checker) {
	_ = c.resolve(hclProblems{chk})
}

// settings is a Config with defaults applied and values parsed: what the
// agent runs on. It is made fresh by resolve; the Config is not changed.
type settings struct {
	deviceID      string
	labels        map[string]string
	logLevel      string
	flush         time.Duration
	maxSamples    int
	urls          []string
	token         auth.Token
	caFile        string
	maxInFlight   int
	reconnectMin  time.Duration
	reconnectMax  time.Duration
	handshake     time.Duration
	queueMaxBytes int64
	queueMaxRecs  int
	spool         *spoolSettings
	metricsListen string
	metricsTLS    *tlsutil.Files // nil: plain HTTP
	sensors       []*sensorSpec
	actuators     []*actuatorSpec
}

type spoolSettings struct {
	dir      string
	sync     string // "always", "never", a duration, or "" for the default
	maxBytes int64
}

// resolve checks c and returns its settings; problems go to p. When p
// received any, the settings must not be used.
func (c *Config) resolve(p problems) *settings {
	s := &settings{deviceID: c.DeviceID, labels: c.Labels}
	if !frame.ValidDeviceID(c.DeviceID) {
		p.Errorf("device_id", "%q is not a device id: 1 to 64 of A-Z a-z 0-9 . _ -", c.DeviceID)
	}
	s.logLevel = oneOf(p, "log_level", c.LogLevel, "info", "trace", "debug", "info", "warn", "error")
	s.flush = duration(p, "flush_interval", c.FlushInterval, DefaultFlushInterval, 10*time.Millisecond, time.Minute)
	s.maxSamples = intIn(p, "max_samples", c.MaxSamples, DefaultMaxSamples, 1, maxMaxSamples)

	if c.Hub == nil {
		p.Errorf("hub", `a hub block is required: hub { url = "ws://127.0.0.1:8080/v1/agent" }`)
	} else {
		c.Hub.resolve(p.Block("hub"), s)
	}
	s.queueMaxBytes, s.queueMaxRecs = 16<<20, 100_000
	if q := c.Queue; q != nil {
		qp := p.Block("queue")
		s.queueMaxBytes = byteSize(qp, "max_bytes", q.MaxBytes, s.queueMaxBytes, 4<<10)
		s.queueMaxRecs = intIn(qp, "max_frames", q.MaxFrames, s.queueMaxRecs, 1, 10_000_000)
	}
	if sp := c.Spool; sp != nil {
		pp := p.Block("spool")
		ss := &spoolSettings{dir: sp.Dir, sync: sp.Sync}
		if sp.Dir == "" {
			pp.Errorf("dir", "the spool needs a directory")
		}
		if sp.Sync != "" && sp.Sync != "always" && sp.Sync != "never" {
			if _, err := time.ParseDuration(sp.Sync); err != nil {
				pp.Errorf("sync", "%q is not \"always\", \"never\" or a duration like \"1s\"", sp.Sync)
			} else {
				duration(pp, "sync", sp.Sync, DefaultSpoolSync, time.Millisecond, time.Hour)
			}
		}
		ss.maxBytes = byteSize(pp, "max_bytes", sp.MaxBytes, DefaultSpoolMaxBytes, 64<<10)
		s.spool = ss
	}
	if m := c.Metrics; m != nil {
		s.metricsListen = m.Listen
		if !strings.Contains(m.Listen, ":") {
			p.Block("metrics").Errorf("listen", "%q is not host:port, e.g. \"127.0.0.1:9101\"", m.Listen)
		}
		if t := m.TLS; t != nil {
			if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
				p.Block("metrics").Block("tls").Errorf("cert_file", "%v", err)
			}
			s.metricsTLS = t
		}
	}

	seen := map[string]bool{}
	for _, sc := range c.Sensors {
		bp := p.Block("sensor", sc.Driver, sc.Name)
		if seen[sc.Name] {
			bp.Errorf("name", "a second sensor named %q; sensor names must be unique", sc.Name)
		}
		seen[sc.Name] = true
		if spec := newSensorSpec(bp, sc); spec != nil {
			s.sensors = append(s.sensors, spec)
		}
	}
	seen = map[string]bool{}
	for _, ac := range c.Actuators {
		bp := p.Block("actuator", ac.Driver, ac.Name)
		if seen[ac.Name] {
			bp.Errorf("name", "a second actuator named %q; actuator names must be unique", ac.Name)
		}
		seen[ac.Name] = true
		if spec := newActuatorSpec(bp, ac); spec != nil {
			s.actuators = append(s.actuators, spec)
		}
	}
	return s
}

func (h *HubConfig) resolve(p problems, s *settings) {
	switch {
	case h.URL != "" && len(h.URLs) > 0:
		p.Errorf("urls", "give url or urls, not both")
	case h.URL != "":
		s.urls = []string{h.URL}
	case len(h.URLs) > 0:
		s.urls = h.URLs
	default:
		p.Errorf("url", `the hub needs a url, e.g. "ws://127.0.0.1:8080/v1/agent"`)
	}
	attr := "url"
	if len(h.URLs) > 0 {
		attr = "urls"
	}
	h.checkURLs(p, attr, s.urls)
	s.token = h.Token
	if h.TokenFile != "" {
		if h.Token != "" {
			p.Errorf("token_file", "give token or token_file, not both")
		}
		b, err := os.ReadFile(h.TokenFile)
		if err != nil {
			p.Errorf("token_file", "%v", err)
		}
		s.token = auth.Token(strings.TrimSpace(string(b)))
	}
	s.caFile = h.CAFile
	if h.CAFile != "" {
		if _, err := os.Stat(h.CAFile); err != nil {
			p.Errorf("ca_file", "%v", err)
		}
	}
	s.maxInFlight = intIn(p, "max_inflight", h.MaxInFlight, DefaultMaxInFlight, 1, 65536)
	s.reconnectMin = duration(p, "reconnect_min", h.ReconnectMin, DefaultReconnectMin, time.Millisecond, time.Hour)
	s.reconnectMax = duration(p, "reconnect_max", h.ReconnectMax, DefaultReconnectMax, time.Millisecond, 24*time.Hour)
	if s.reconnectMax < s.reconnectMin {
		p.Errorf("reconnect_max", "%s is below reconnect_min %s", s.reconnectMax, s.reconnectMin)
	}
	s.handshake = duration(p, "handshake_timeout", h.HandshakeTimeout, DefaultHandshakeTimeout, 100*time.Millisecond, 10*time.Minute)
}

func (h *HubConfig) checkURLs(p problems, attr string, urls []string) {
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ws" && pu.Scheme != "wss") || pu.Host == "" {
			p.Errorf(attr, "%q is not a ws:// or wss:// URL", u)
		}
	}
}

// problems receives validation errors. Loading from HCL uses the
// config.Checker (errors carry file:line:col); a Config built in Go gets
// plain errors naming the block and attribute.
type problems interface {
	Errorf(attr, format string, args ...any)
	Block(typ string, labels ...string) problems
}

type hclProblems struct{ c *config.Checker }

func (h hclProblems) Errorf(attr, format string, args ...any) { h.c.Errorf(attr, format, args...) }
func (h hclProblems) Block(typ string, labels ...string) problems {
	return hclProblems{h.c.Block(typ, labels...)}
}

type errProblems struct {
	path string
	errs *[]string
}

func (e errProblems) Errorf(attr, format string, args ...any) {
	where := strings.TrimSpace(e.path + " " + attr)
	if where == "" {
		where = "config"
	}
	*e.errs = append(*e.errs, fmt.Sprintf("%s: %s", where, fmt.Sprintf(format, args...)))
}

func (e errProblems) Block(typ string, labels ...string) problems {
	path := typ
	for _, l := range labels {
		path += fmt.Sprintf(" %q", l)
	}
	return errProblems{path: strings.TrimSpace(e.path + " " + path), errs: e.errs}
}

// check resolves c outside HCL loading, for New.
func (c *Config) check() (*settings, error) {
	var errs []string
	s := c.resolve(errProblems{errs: &errs})
	if len(errs) > 0 {
		return nil, fmt.Errorf("agent: config: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// decodeSettings decodes a block's remaining body into v (a struct with
// hcl tags) and reports each diagnostic at the attribute it concerns.
func decodeSettings(p problems, body hcl.Body, v any) bool {
	if body == nil {
		return true
	}
	diags := gohclDecode(body, v)
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		attr := attrAt(body, d.Subject)
		if attr == "" {
			attr = "block"
		}
		p.Errorf(attr, "%s", msg)
	}
	return !diags.HasErrors()
}

func oneOf(p problems, attr, s, def string, allowed ...string) string {
	if s == "" {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	sorted := append([]string(nil), allowed...)
	sort.Strings(sorted)
	p.Errorf(attr, "%q is not one of %s", s, strings.Join(sorted, ", "))
	return def
}

func duration(p problems, attr, s string, def, lo, hi time.Duration) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.Errorf(attr, "%q is not a duration; write it like \"500ms\", \"10s\" or \"1m\"", s)
		return def
	}
	if d < lo || (hi > 0 && d > hi) {
		if hi > 0 {
			p.Errorf(attr, "%s is out of range; it must be between %s and %s", d, lo, hi)
		} else {
			p.Errorf(attr, "%s is too small; it must be at least %s", d, lo)
		}
		return def
	}
	return d
}

func intIn(p problems, attr string, v, def, lo, hi int) int {
	if v == 0 {
		return def
	}
	if v < lo || v > hi {
		p.Errorf(attr, "%d is out of range; it must be between %d and %d", v, lo, hi)
		return def
	}
	return v
}

func byteSize(p problems, attr, s string, def, lo int64) int64 {
	if s == "" {
		return def
	}
	n, err := config.ParseBytes(s)
	if err != nil {
		p.Errorf(attr, "%v", err)
		return def
	}
	if n < lo {
		p.Errorf(attr, "%d bytes is too small; it must be at least %d", n, lo)
		return def
	}
	return n
}
