package hubd

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/edgeplane/edgeplane/internal/config"
)

// Config is the hub's configuration, decoded from HCL (configs/hubd.hcl is
// the commented example). The zero value is valid and means the defaults;
// LoadConfig and New fill them in on their own copy.
type Config struct {
	// Listen is the TCP address of the HTTP server (dashboard, /v1/ws,
	// /v1/agent, /metrics, /healthz, /readyz). Default "127.0.0.1:8080".
	Listen string `hcl:"listen,optional"`
	// HubID names this hub in WELCOME, presence and the devices reply.
	// Default: the host name.
	HubID string `hcl:"hub_id,optional"`
	// Region is the region this hub belongs to. Default "local".
	Region string `hcl:"region,optional"`
	// AllowAnonymous lets agents and dashboards in without a token. Only
	// connections that arrive on a loopback address are let in this way,
	// and the configuration is refused when Listen is not a loopback
	// address, unless AllowAnonymousNonLoopback is set too. Default false.
	AllowAnonymous bool `hcl:"allow_anonymous,optional"`
	// AllowAnonymousNonLoopback (DANGER) extends AllowAnonymous to every
	// address: anyone who can reach the port can publish frames as any
	// device and send commands to every actuator. Default false.
	AllowAnonymousNonLoopback bool `hcl:"allow_anonymous_nonloopback,optional"`
	// LogLevel is trace, debug, info, warn or error. Default "info".
	LogLevel string `hcl:"log_level,optional"`

	// AllowedOrigins lists the browser origins, besides the hub's own, whose
	// pages may open dashboard connections: host patterns in path.Match
	// syntax ("dash.example.com", "*.example.com"), matched against
	// "scheme://host" when they contain "://". Default none: same origin
	// only. Cross-origin upgrades are refused with 403.
	AllowedOrigins []string `hcl:"allowed_origins,optional"`

	Backplane *BackplaneConfig `hcl:"backplane,block"`
	Limits    *LimitsConfig    `hcl:"limits,block"`
	// Auth turns on token authentication (security_config.go).
	Auth *AuthConfig `hcl:"auth,block"`
	// TLS serves the listener over TLS (security_config.go).
	TLS *TLSConfig `hcl:"tls,block"`

	r   resolved         // filled by Validate
	sec securityResolved // filled by Validate (validateSecurity)
}

// BackplaneConfig selects and sizes the backplane.
type BackplaneConfig struct {
	// Type is "memory" (single node, no Redis; the default) or "redis".
	Type string `hcl:"type,optional"`
	// HistorySize is how many frames each device channel keeps for
	// history and recovery. Default 1000, at most 1000000.
	HistorySize int `hcl:"history_size,optional"`
	// HistoryTTL is how long a channel's history outlives its last frame
	// (Go duration). Default "24h".
	HistoryTTL string `hcl:"history_ttl,optional"`

	Redis *RedisConfig `hcl:"redis,block"`
}

// RedisConfig is where the Redis backplane connects (type = "redis").
type RedisConfig struct {
	// Addrs lists host:port of standalone servers (channels are spread over
	// them by consistent hashing) or the seed nodes of a cluster.
	Addrs []string `hcl:"addrs,optional"`
	// Cluster says Addrs are Redis Cluster nodes. Default false.
	Cluster bool `hcl:"cluster,optional"`
	// Password authenticates to Redis; use env("...") or file("...").
	Password string `hcl:"password,optional"`
	// KeyPrefix is put before every key. Default "edgeplane".
	KeyPrefix string `hcl:"key_prefix,optional"`
}

// LimitsConfig bounds what one connection may cost.
type LimitsConfig struct {
	// AgentMessageBytes is the largest agent-link message; larger ones
	// close the link with 1009. Default "1MiB".
	AgentMessageBytes string `hcl:"agent_message_bytes,optional"`
	// ClientMessageBytes is the largest dashboard message; larger ones close
	// with 1009. Default "64KiB".
	ClientMessageBytes string `hcl:"client_message_bytes,optional"`
	// SendQueueBytes and SendQueueMessages bound what waits to be written to
	// one dashboard connection; over either, the connection is closed with
	// 1013 (slow consumer) and the client recovers with since.
	// Defaults "8MiB" and 8192.
	SendQueueBytes    string `hcl:"send_queue_bytes,optional"`
	SendQueueMessages int    `hcl:"send_queue_messages,optional"`
	// AuthTimeout is how long a dashboard has to send its auth message.
	// Default "10s".
	AuthTimeout string `hcl:"auth_timeout,optional"`
	// CommandTimeout is how long a cmd waits for the agent's RESULT before
	// it fails with 408. Default "10s".
	CommandTimeout string `hcl:"command_timeout,optional"`
	// WriteTimeout bounds one WebSocket write. Default "10s".
	WriteTimeout string `hcl:"write_timeout,optional"`
	// PresenceTTL is how long a device stays online in the backplane
	// without a refresh (this hub refreshes every third of it). Default "30s".
	PresenceTTL string `hcl:"presence_ttl,optional"`
	// DrainTimeout bounds a graceful shutdown. Default "10s".
	DrainTimeout string `hcl:"drain_timeout,optional"`
	// Subscriptions bounds the channels one dashboard connection may
	// subscribe to (more are refused with 429). Default 1024.
	Subscriptions int `hcl:"subscriptions,optional"`

	// The following bound what one peer may cost (docs/SECURITY.md,
	// "Limits"); -1 turns a count limit off.

	// FramesPerSecond and FramesBurst bound the frames one device link
	// stores: a token bucket of FramesBurst frames refilled at
	// FramesPerSecond. Over it the hub stops reading the link until the
	// bucket refills, which slows the agent down (a spool replay is
	// spread out, not refused). Defaults 5000 and 50000.
	FramesPerSecond int `hcl:"frames_per_second,optional"`
	FramesBurst     int `hcl:"frames_burst,optional"`
	// SamplesPerFrame bounds the samples of one FRAME; more is ERROR 429
	// and close 1008. Default 4096.
	SamplesPerFrame int `hcl:"samples_per_frame,optional"`
	// ConnectionsPerIP bounds the WebSocket connections (agents and
	// dashboards) from one remote address; more are refused with HTTP 429
	// before the upgrade. Loopback addresses are exempt (a reverse proxy on
	// the same host). Default 256.
	ConnectionsPerIP int `hcl:"connections_per_ip,optional"`
	// Connections bounds all WebSocket connections of the hub; more are
	// refused with HTTP 503 before the upgrade. Default 20000.
	Connections int `hcl:"connections,optional"`
	// HandshakeTimeout bounds the TLS handshake and the request headers
	// of every HTTP connection (slowloris). Default "10s".
	HandshakeTimeout string `hcl:"handshake_timeout,optional"`
	// IdleTimeout: the hub pings every WebSocket every half of it and
	// closes one whose pong takes longer than the other half (1008).
	// "0s" sends no pings. Default "60s".
	IdleTimeout string `hcl:"idle_timeout,optional"`
}

// resolved holds the parsed values Validate derives from the HCL fields.
type resolved struct {
	agentMessageBytes  int64
	clientMessageBytes int64
	sendQueueBytes     int64
	sendQueueMessages  int
	authTimeout        time.Duration
	commandTimeout     time.Duration
	writeTimeout       time.Duration
	presenceTTL        time.Duration
	drainTimeout       time.Duration
	subscriptions      int
	historySize        int
	historyTTL         time.Duration
}

// Defaults.
const (
	DefaultListen = "127.0.0.1:8080"
	DefaultRegion = "local"
)

// LoadConfig reads and validates the HCL file at path. Every problem comes
// back as a *config.Error naming file:line:col.
func LoadConfig(path string) (*Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return nil, fmt.Errorf("hubd: %w", err)
	}
	return &c, nil
}

// ParseConfig is LoadConfig on bytes; filename is used in messages.
func ParseConfig(filename string, src []byte) (*Config, error) {
	var c Config
	if err := config.Parse(filename, src, &c); err != nil {
		return nil, fmt.Errorf("hubd: %w", err)
	}
	return &c, nil
}

// Validate fills in defaults and checks every value (config.Validator). It
// can run more than once: it derives, and never consumes, the HCL fields.
func (c *Config) Validate(v *config.Checker) {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		v.Errorf("listen", "%q is not host:port, e.g. \"127.0.0.1:8080\"", c.Listen)
	}
	if c.HubID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "hub"
		}
		c.HubID = h
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.AllowAnonymous && !c.AllowAnonymousNonLoopback && !isLoopbackAddr(c.Listen) {
		v.Errorf("allow_anonymous", "anonymous access is only allowed on a loopback listen address, and listen is %q; "+
			"use 127.0.0.1 or [::1], configure tokens, or (dangerous) set allow_anonymous_nonloopback = true", c.Listen)
	}
	if c.AllowAnonymousNonLoopback && !c.AllowAnonymous {
		v.Errorf("allow_anonymous_nonloopback", "has no effect without allow_anonymous = true")
	}
	c.LogLevel = v.OneOf("log_level", strings.ToLower(c.LogLevel), "info", "trace", "debug", "info", "warn", "error")

	b := c.Backplane
	if b == nil {
		b = &BackplaneConfig{}
	}
	bv := v.Block("backplane")
	b.Type = bv.OneOf("type", b.Type, "memory", "memory", "redis")
	c.r.historySize = bv.Int("history_size", b.HistorySize, 1000, 1, 1_000_000)
	c.r.historyTTL = bv.Duration("history_ttl", b.HistoryTTL, 24*time.Hour, time.Second, 0)
	if b.Type == "redis" && (b.Redis == nil || len(b.Redis.Addrs) == 0) {
		bv.Errorf("type", "type \"redis\" needs a redis { addrs = [\"host:port\"] } block")
	}
	c.Backplane = b

	l := c.Limits
	if l == nil {
		l = &LimitsConfig{}
	}
	lv := v.Block("limits")
	c.r.agentMessageBytes = lv.Bytes("agent_message_bytes", l.AgentMessageBytes, 1<<20, 1<<10)
	c.r.clientMessageBytes = lv.Bytes("client_message_bytes", l.ClientMessageBytes, 64<<10, 1<<10)
	c.r.sendQueueBytes = lv.Bytes("send_queue_bytes", l.SendQueueBytes, 8<<20, 64<<10)
	c.r.sendQueueMessages = lv.Int("send_queue_messages", l.SendQueueMessages, 8192, 16, 1<<24)
	c.r.authTimeout = lv.Duration("auth_timeout", l.AuthTimeout, 10*time.Second, 10*time.Millisecond, time.Hour)
	c.r.commandTimeout = lv.Duration("command_timeout", l.CommandTimeout, 10*time.Second, 10*time.Millisecond, time.Hour)
	c.r.writeTimeout = lv.Duration("write_timeout", l.WriteTimeout, 10*time.Second, 10*time.Millisecond, time.Hour)
	c.r.presenceTTL = lv.Duration("presence_ttl", l.PresenceTTL, 30*time.Second, 300*time.Millisecond, 24*time.Hour)
	c.r.drainTimeout = lv.Duration("drain_timeout", l.DrainTimeout, 10*time.Second, 10*time.Millisecond, time.Hour)
	c.r.subscriptions = lv.Int("subscriptions", l.Subscriptions, 1024, 1, 1<<20)
	c.Limits = l
	c.validateSecurity(v)
}

// goConfig runs Validate on a Config built in Go (not loaded from HCL)
// through the same config.Parse path, so that problems read the same.
type goConfig struct{ c *Config }

func (g *goConfig) Validate(v *config.Checker) { g.c.Validate(v) }

// resolve returns a validated copy of c with defaults filled in; c itself
// is left untouched. A nil c means all defaults.
func (c *Config) resolve() (*Config, error) {
	var n Config
	if c != nil {
		n = *c
		if c.Backplane != nil {
			b := *c.Backplane
			n.Backplane = &b
		}
		if c.Limits != nil {
			l := *c.Limits
			n.Limits = &l
		}
	}
	if err := config.Parse("hubd config", nil, &goConfig{c: &n}); err != nil {
		return nil, fmt.Errorf("hubd: %w", err)
	}
	return &n, nil
}

// isLoopbackAddr reports whether the host of a host:port address is a
// loopback address or "localhost". An empty host (every interface) is not.
func isLoopbackAddr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogValues returns the applied configuration as key/value pairs for the
// one start-up log line (no secrets: the Redis password is left out).
func (c *Config) LogValues() []any {
	if c == nil {
		return nil
	}
	kv := []any{
		"listen", c.Listen, "hub_id", c.HubID, "region", c.Region,
		"allow_anonymous", c.AllowAnonymous, "allow_anonymous_nonloopback", c.AllowAnonymousNonLoopback,
		"log_level", c.LogLevel,
	}
	if c.Backplane != nil {
		kv = append(kv, "backplane", c.Backplane.Type, "history_size", c.r.historySize, "history_ttl", c.r.historyTTL.String())
	}
	kv = append(kv,
		"agent_message_bytes", c.r.agentMessageBytes, "client_message_bytes", c.r.clientMessageBytes,
		"send_queue_bytes", c.r.sendQueueBytes, "send_queue_messages", c.r.sendQueueMessages,
		"auth_timeout", c.r.authTimeout.String(), "command_timeout", c.r.commandTimeout.String(),
		"presence_ttl", c.r.presenceTTL.String(), "drain_timeout", c.r.drainTimeout.String())
	return append(kv, c.securityLogValues()...)
}
