package hubd

import (
	"crypto/tls"
	"path"
	"time"

	"github.com/edgeplane/edgeplane/internal/auth"
	"github.com/edgeplane/edgeplane/internal/config"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

// TLSConfig serves the listener over TLS (docs/SECURITY.md, "TLS"). The
// files are read again on SIGHUP (Server.ReloadTLS); a pair that does not
// load keeps the old one in service.
type TLSConfig = tlsutil.Files

// securityResolved holds what validateSecurity derives (docs/SECURITY.md
// has the table of limits with their defaults).
type securityResolved struct {
	verifier         *auth.Verifier // nil: no token authentication
	tlsCert, tlsKey  string         // "": plain TCP
	origins          []string
	framesPerSecond  float64 // 0: no limit
	framesBurst      int
	samplesPerFrame  int // 0: no limit
	connsPerIP       int // 0: no limit
	conns            int // 0: no limit
	handshakeTimeout time.Duration
	idleTimeout      time.Duration // 0: no pings
}

// Security defaults (docs/SECURITY.md, "Limits").
const (
	DefaultFramesPerSecond  = 5000
	DefaultFramesBurst      = 50000
	DefaultSamplesPerFrame  = 4096
	DefaultConnectionsPerIP = 256
	DefaultConnections      = 20000
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
)

// validateSecurity derives c.sec from the auth, tls, allowed_origins and
// security limit settings; Validate calls it after the limits block.
func (c *Config) validateSecurity(v *config.Checker) {
	c.sec = securityResolved{}
	if a := c.Auth; a != nil {
		av := v.Block("auth")
		leeway := av.Duration("leeway", a.Leeway, 30*time.Second, 0, time.Hour)
		keys := make([]auth.Key, 0, len(a.Keys))
		for _, kc := range a.Keys {
			k, err := kc.Key()
			if err != nil {
				av.Block("key", kc.ID).Errorf("kid", "%v", err)
				continue
			}
			keys = append(keys, k)
		}
		if len(keys) == len(a.Keys) {
			if len(keys) == 0 {
				av.Errorf("key", "an auth block needs at least one key \"kid\" { ... } block")
			} else if ver, err := auth.NewVerifier(keys, &auth.VerifierOptions{Leeway: leeway}); err != nil {
				av.Errorf("key", "%v", err)
			} else {
				c.sec.verifier = ver
			}
		}
	}
	if t := c.TLS; t != nil {
		tv := v.Block("tls")
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			tv.Errorf("cert_file", "%v", err)
		}
		c.sec.tlsCert, c.sec.tlsKey = t.CertFile, t.KeyFile
	}
	for _, p := range c.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			v.Errorf("allowed_origins", "%q is not a host pattern (path.Match syntax, e.g. \"dash.example.com\" or \"https://*.example.com\")", p)
		}
	}
	c.sec.origins = c.AllowedOrigins

	l := c.Limits
	if l == nil {
		l = &LimitsConfig{}
	}
	lv := v.Block("limits")
	off := func(n int) bool { return n < 0 } // -1 turns a count limit off
	if !off(l.FramesPerSecond) {
		c.sec.framesPerSecond = float64(lv.Int("frames_per_second", l.FramesPerSecond, DefaultFramesPerSecond, 1, 1<<30))
		c.sec.framesBurst = lv.Int("frames_burst", l.FramesBurst, max(DefaultFramesBurst, int(c.sec.framesPerSecond)), 1, 1<<30)
	}
	if !off(l.SamplesPerFrame) {
		c.sec.samplesPerFrame = lv.Int("samples_per_frame", l.SamplesPerFrame, DefaultSamplesPerFrame, 1, 1<<24)
	}
	if !off(l.ConnectionsPerIP) {
		c.sec.connsPerIP = lv.Int("connections_per_ip", l.ConnectionsPerIP, DefaultConnectionsPerIP, 1, 1<<24)
	}
	if !off(l.Connections) {
		c.sec.conns = lv.Int("connections", l.Connections, DefaultConnections, 1, 1<<24)
	}
	c.sec.handshakeTimeout = lv.Duration("handshake_timeout", l.HandshakeTimeout, DefaultHandshakeTimeout, 100*time.Millisecond, 10*time.Minute)
	c.sec.idleTimeout = lv.Duration("idle_timeout", l.IdleTimeout, DefaultIdleTimeout, 0, 24*time.Hour)
	if l.IdleTimeout != "" && c.sec.idleTimeout > 0 && c.sec.idleTimeout < 100*time.Millisecond {
		lv.Errorf("idle_timeout", "%s is too short; use at least 100ms, or \"0s\" for no pings", c.sec.idleTimeout)
	}
}

// securityLogValues are the security settings for the start-up log line
// (no key material).
func (c *Config) securityLogValues() []any {
	kids := 0
	if c.Auth != nil {
		kids = len(c.Auth.Keys)
	}
	return []any{
		"auth_keys", kids, "tls", c.sec.tlsCert != "", "allowed_origins", c.sec.origins,
		"frames_per_second", c.sec.framesPerSecond, "frames_burst", c.sec.framesBurst,
		"samples_per_frame", c.sec.samplesPerFrame, "connections_per_ip", c.sec.connsPerIP,
		"connections", c.sec.conns, "handshake_timeout", c.sec.handshakeTimeout.String(),
		"idle_timeout", c.sec.idleTimeout.String(),
	}
}
