package loadtest

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// Config describes one load run. The zero value of a field means its
// default; New fills the defaults in on its own copy.
type Config struct {
	// URL is the hub to load, e.g. "http://127.0.0.1:8080" (ws:// and
	// wss:// work too); the tool dials URL+"/v1/agent" and URL+"/v1/ws".
	// Leave it empty with InProcess.
	URL string
	// InProcess starts a hub in this process on a loopback port (with
	// allow_anonymous) instead of dialing URL: the memory backplane, or
	// the Redis backplane when RedisAddr is set.
	InProcess bool
	// RedisAddr (host:port, InProcess only) backs the in-process hub with
	// the Redis backplane on that server, under a key prefix of its own
	// (edgeplane-load-<run id>), whose keys expire after HistoryTTL.
	RedisAddr string
	// RedisPublishLanes is the in-process hub's Redis pipelines in flight
	// at once (redis.Options.PublishLanes); 0 means the backplane's default.
	RedisPublishLanes int
	// CrossHub (InProcess with RedisAddr only) starts two hubs on the same
	// Redis: agents connect to the first, dashboards to the second, so every
	// delivery crosses the backplane.
	CrossHub bool
	// HistorySize is the in-process hub's history per channel. Default 1000.
	HistorySize int
	// HistoryTTL is the in-process hub's history TTL. Default 10 minutes.
	HistoryTTL time.Duration

	// Agents is the number of simulated agents, one device each. Default 10.
	Agents int
	// SamplesPerFrame is the samples in each FRAME, spread over up to ten
	// sensors sampled on a regular 1 ms period (so they travel as series,
	// like a real agent's). Default 10.
	SamplesPerFrame int
	// Rate is the FRAMEs per second each agent sends; 0 means as fast as
	// ACKs allow. Either way at most Window frames are un-ACKed at a time:
	// a rate the hub cannot absorb shows up as a lower achieved rate.
	Rate float64
	// Window is how many FRAMEs an agent may have sent and not had ACKed.
	// Default 64.
	Window int
	// FramesPerMessage puts that many FRAMEs into one WebSocket message (a
	// CBOR sequence, as a spool replay does); the hub ACKs the message
	// once. At most Window. Default 1.
	FramesPerMessage int

	// Clients is the number of dashboard connections; 0 means none (an
	// ingest-only run).
	Clients int
	// ChannelsPerClient is how many device channels each dashboard
	// subscribes to, at most Agents. Client c takes devices
	// (c*ChannelsPerClient + j) mod Agents, so subscribers spread evenly
	// when Clients*ChannelsPerClient is a multiple of Agents. Default 1.
	ChannelsPerClient int
	// Proto is the dashboards' encoding: "json" (default) or "cbor".
	Proto string
	// FullDecode makes JSON dashboards decode every message with the
	// protocol's decoder. By default they scan frames for ch, off and t0
	// only (falling back to the decoder for anything else), which costs
	// the machine a fraction of the CPU; CBOR is always fully decoded.
	FullDecode bool

	// Duration is how long agents send. Default 10 s.
	Duration time.Duration
	// ConnectTimeout bounds connecting and subscribing everything. Default 30 s.
	ConnectTimeout time.Duration
	// DrainTimeout bounds, after sending stopped, the wait for the last
	// ACKs and then for the last deliveries. Default 15 s.
	DrainTimeout time.Duration
	// DialConcurrency is how many WebSockets are being opened at a time.
	// Default 64.
	DialConcurrency int

	// AgentToken and ClientToken are sent as bearer tokens on the agent
	// and dashboard upgrade requests; empty means none (anonymous hub).
	AgentToken  string
	ClientToken string
	// DevicePrefix starts every simulated device id; the run id and the
	// agent's index follow. Default "load".
	DevicePrefix string
}

// Defaults of Config.
const (
	DefaultAgents           = 10
	DefaultSamplesPerFrame  = 10
	DefaultWindow           = 64
	DefaultClients          = 10 // edgeplane-load's -clients; Config.Clients 0 means none
	DefaultDuration         = 10 * time.Second
	DefaultConnectTimeout   = 30 * time.Second
	DefaultDrainTimeout     = 15 * time.Second
	DefaultDialConcurrency  = 64
	DefaultHistorySize      = 1000
	DefaultHistoryTTL       = 10 * time.Minute
	DefaultDevicePrefix     = "load"
	maxSamplesPerFrame      = 65536
	maxSensorsPerFrame      = 10
	samplePeriodMicros      = 1000
	defaultProto            = "json"
	defaultFramesPerMessage = 1
)

// withDefaults returns a validated copy of c with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Agents, DefaultAgents)
	def(&c.SamplesPerFrame, DefaultSamplesPerFrame)
	def(&c.Window, DefaultWindow)
	def(&c.FramesPerMessage, defaultFramesPerMessage)
	def(&c.ChannelsPerClient, 1)
	def(&c.DialConcurrency, DefaultDialConcurrency)
	def(&c.HistorySize, DefaultHistorySize)
	defD(&c.Duration, DefaultDuration)
	defD(&c.ConnectTimeout, DefaultConnectTimeout)
	defD(&c.DrainTimeout, DefaultDrainTimeout)
	defD(&c.HistoryTTL, DefaultHistoryTTL)
	if c.Proto == "" {
		c.Proto = defaultProto
	}
	if c.DevicePrefix == "" {
		c.DevicePrefix = DefaultDevicePrefix
	}

	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("loadtest: "+format, a...)) }
	for name, v := range map[string]int{
		"agents": c.Agents, "samples per frame": c.SamplesPerFrame, "window": c.Window,
		"frames per message": c.FramesPerMessage, "channels per client": c.ChannelsPerClient,
		"dial concurrency": c.DialConcurrency, "history size": c.HistorySize,
	} {
		if v < 1 {
			bad("%s is %d, must be at least 1", name, v)
		}
	}
	if c.Clients < 0 {
		bad("clients is %d, must not be negative", c.Clients)
	}
	for name, v := range map[string]time.Duration{
		"duration": c.Duration, "connect timeout": c.ConnectTimeout, "drain timeout": c.DrainTimeout, "history ttl": c.HistoryTTL,
	} {
		if v < 0 {
			bad("%s is %v, must not be negative", name, v)
		}
	}
	if c.RedisPublishLanes < 0 {
		bad("redis publish lanes is %d, must not be negative", c.RedisPublishLanes)
	}
	if c.Rate < 0 {
		bad("rate is %g, must not be negative", c.Rate)
	}
	if c.SamplesPerFrame > maxSamplesPerFrame {
		bad("samples per frame is %d, at most %d", c.SamplesPerFrame, maxSamplesPerFrame)
	}
	if c.FramesPerMessage > c.Window {
		bad("frames per message (%d) is more than the window (%d)", c.FramesPerMessage, c.Window)
	}
	if c.ChannelsPerClient > c.Agents {
		bad("channels per client (%d) is more than the agents (%d)", c.ChannelsPerClient, c.Agents)
	}
	if c.Proto != "json" && c.Proto != "cbor" {
		bad("proto %q: want json or cbor", c.Proto)
	}
	if !frame.ValidDeviceID(c.DevicePrefix + "-0123456789ab-" + fmt.Sprint(c.Agents)) {
		bad("device prefix %q does not make valid device ids ([A-Za-z0-9._-], at most 64 with the run id)", c.DevicePrefix)
	}
	switch {
	case c.InProcess && c.URL != "":
		bad("give a hub URL or in-process, not both")
	case !c.InProcess && c.URL == "":
		bad("give a hub URL or in-process")
	case !c.InProcess && c.RedisAddr != "":
		bad("a Redis address is for the in-process hub only")
	case c.CrossHub && c.RedisAddr == "":
		bad("cross-hub runs need the in-process hub on Redis")
	case c.URL != "":
		u, err := url.Parse(c.URL)
		if err != nil {
			bad("hub url %q: %w", c.URL, err)
		} else if s := strings.ToLower(u.Scheme); s != "http" && s != "https" && s != "ws" && s != "wss" {
			bad("hub url %q: scheme must be http, https, ws or wss", c.URL)
		}
		c.URL = strings.TrimRight(c.URL, "/")
	}
	return c, errors.Join(errs...)
}

// proto is the frame encoding of c.Proto.
func (c *Config) proto() frame.Proto {
	if c.Proto == "cbor" {
		return frame.ProtoCBOR
	}
	return frame.ProtoJSON
}

// deviceOf is the index of the device that client c subscribes to as its
// j-th channel.
func (c *Config) deviceOf(client, j int) int { return (client*c.ChannelsPerClient + j) % c.Agents }
