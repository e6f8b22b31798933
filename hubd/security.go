package hubd

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

// Limits (label values of edgeplane_hub_limit_hits_total; docs/SECURITY.md,
// "Limits").
const (
	limitFramesPerSecond  = "frames_per_second"
	limitSamplesPerFrame  = "samples_per_frame"
	limitSubscriptions    = "subscriptions"
	limitConnectionsPerIP = "connections_per_ip"
	limitConnections      = "connections"
	limitAuthTimeout      = "auth_timeout"
	limitIdleTimeout      = "idle_timeout"
)

var limitNames = []string{
	limitFramesPerSecond, limitSamplesPerFrame, limitSubscriptions, limitConnectionsPerIP,
	limitConnections, limitAuthTimeout, limitIdleTimeout,
}

// security is the hub's TLS certificate, connection accounting and limit
// metrics.
type security struct {
	cfg   securityResolved
	log   hclog.Logger
	certs *tlsutil.CertReloader // nil: plain TCP

	hits       *prometheus.CounterVec
	tlsReloads *prometheus.CounterVec
	certExpiry prometheus.Gauge

	limitLoopback atomic.Bool // tests: loopback peers count against connections_per_ip too

	mu    sync.Mutex // guards the following
	perIP map[string]int
	total int
}

func newSecurity(c *Config, log hclog.Logger, reg prometheus.Registerer) (*security, error) {
	f := promauto.With(reg)
	s := &security{
		cfg: c.sec,
		log: log.Named("security"),
		hits: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_limit_hits_total", Help: "Times a peer hit a limit (refused, throttled or closed), by limit.",
		}, []string{"limit"}),
		tlsReloads: f.NewCounterVec(prometheus.CounterOpts{
			Name: "edgeplane_hub_tls_reloads_total", Help: "Certificate reloads (SIGHUP), by result; a failed one keeps the old certificate.",
		}, []string{"result"}),
		certExpiry: f.NewGauge(prometheus.GaugeOpts{
			Name: "edgeplane_hub_tls_cert_expiry_timestamp_seconds", Help: "When the served certificate expires (0 without TLS).",
		}),
		perIP: make(map[string]int),
	}
	for _, l := range limitNames {
		s.hits.WithLabelValues(l)
	}
	for _, r := range []string{"ok", "failed"} {
		s.tlsReloads.WithLabelValues(r)
	}
	if c.sec.tlsCert != "" {
		certs, err := tlsutil.NewCertReloader(c.sec.tlsCert, c.sec.tlsKey, &tlsutil.Options{Logger: s.log})
		if err != nil {
			return nil, fmt.Errorf("hubd: tls: %w", err)
		}
		s.certs = certs
		s.certExpiry.Set(float64(certs.Leaf().NotAfter.Unix()))
	}
	return s, nil
}

// hit counts one hit of limit.
func (s *security) hit(limit string) { s.hits.WithLabelValues(limit).Inc() }

// listener wraps ln in TLS when the hub serves TLS.
func (s *security) listener(ln net.Listener) net.Listener {
	if s.certs == nil {
		return ln
	}
	return tls.NewListener(ln, s.certs.ServerConfig())
}

// ReloadTLS reads the tls block's cert_file and key_file again and serves
// the new pair from the next handshake on; edgeplane-hubd calls it on
// SIGHUP. When they do not load, the old pair stays in service and the
// error is returned (and logged). Without a tls block it does nothing.
func (srv *Server) ReloadTLS() error {
	s := srv.sec
	if s.certs == nil {
		return nil
	}
	if err := s.certs.Reload(); err != nil {
		s.tlsReloads.WithLabelValues("failed").Inc()
		return fmt.Errorf("hubd: %w", err)
	}
	s.tlsReloads.WithLabelValues("ok").Inc()
	s.certExpiry.Set(float64(s.certs.Leaf().NotAfter.Unix()))
	return nil
}

// limitConns refuses an upgrade over connections (HTTP 503) or over
// connections_per_ip (HTTP 429) before h runs, and holds the slot while h
// (the whole WebSocket's life) runs.
func (s *security) limitConns(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ip := remoteIP(r)
		if !s.limitLoopback.Load() && net.ParseIP(ip).IsLoopback() {
			ip = "" // not counted per address
		}
		switch s.acquire(ip) {
		case limitConnections:
			s.hit(limitConnections)
			http.Error(w, "hub is at its connection limit", http.StatusServiceUnavailable)
			return
		case limitConnectionsPerIP:
			s.hit(limitConnectionsPerIP)
			http.Error(w, "too many connections from your address", http.StatusTooManyRequests)
			return
		}
		defer s.release(ip)
		h(w, r)
	}
}

// acquire takes a connection slot; it returns the limit that refused it,
// or "".
func (s *security) acquire(ip string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.conns > 0 && s.total >= s.cfg.conns {
		return limitConnections
	}
	if ip != "" && s.cfg.connsPerIP > 0 && s.perIP[ip] >= s.cfg.connsPerIP {
		return limitConnectionsPerIP
	}
	s.total++
	if ip != "" {
		s.perIP[ip]++
	}
	return ""
}

func (s *security) release(ip string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if ip != "" {
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
	}
}

// remoteIP is the address part of r.RemoteAddr. X-Forwarded-For is not
// trusted (docs/SECURITY.md, "What is not protected").
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// keepAlive pings c every half of idle_timeout until the returned stop is
// called; a pong that does not come within the other half calls dead (which
// ends the connection). Pings need a reader on c: both links always read.
// stop waits for the pinger to end.
func (s *security) keepAlive(c *websocket.Conn, dead func(reason string)) (stop func()) {
	every := s.cfg.idleTimeout / 2
	if every <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, every)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				if ctx.Err() == nil {
					s.hit(limitIdleTimeout)
					dead("no pong within " + every.String())
				}
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// originAllowed reports whether a dashboard upgrade may proceed: requests
// without an Origin header (not from a browser), from the hub's own host,
// or from an allowed_origins pattern. It follows coder/websocket's check
// (accept.go, authenticateOrigin), which Accept repeats, so that a
// cross-origin page is refused before its token is looked at.
func (s *security) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(r.Host, u.Host) {
		return true
	}
	for _, p := range s.cfg.origins {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}

// frameLimiter is a device link's token bucket of frames (frames_per_second,
// frames_burst). Tokens go negative: a message of many frames is let
// through and the link then waits until the bucket is back at zero, so
// that a spool replay of any batch size makes progress at the rate.
// Reader-owned.
type frameLimiter struct {
	tokens float64
	last   time.Time
}

// admit applies the per-device limits to one agent-link message: a FRAME
// with too many samples is a 429 (ERROR, close 1008); over the frame rate
// the reader waits until the bucket refilled (or ctx ends).
func (a *agentConn) admit(ctx context.Context, msgs []frame.Message) error {
	sec := a.srv.sec
	n := 0
	for _, m := range msgs {
		f, ok := m.(*frame.Frame)
		if !ok {
			continue
		}
		n++
		if max := sec.cfg.samplesPerFrame; max > 0 && len(f.Samples) > max {
			sec.hit(limitSamplesPerFrame)
			return errorf(429, "frame %d has %d samples; at most %d per frame", f.Seq, len(f.Samples), max)
		}
	}
	rate := sec.cfg.framesPerSecond
	if n == 0 || rate <= 0 {
		return nil
	}
	l := &a.lim
	now := a.srv.now()
	burst := float64(sec.cfg.framesBurst)
	if l.last.IsZero() {
		l.tokens = burst
	} else {
		l.tokens = min(burst, l.tokens+now.Sub(l.last).Seconds()*rate)
	}
	l.last = now
	l.tokens -= float64(n)
	if l.tokens >= 0 {
		return nil
	}
	sec.hit(limitFramesPerSecond)
	wait := time.Duration(-l.tokens / rate * float64(time.Second))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-a.closing:
		return context.Canceled
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deviceFilter is a presence subscriber that sees only some devices.
type deviceFilter interface {
	presenceOf(device string) bool
}

// presenceOf implements deviceFilter: a session sees presence changes of
// the devices whose channel it may read.
func (s *session) presenceOf(device string) bool {
	return s.presenceIdent.canRead(frame.ChannelDevPrefix + device)
}

// helloDeadline ends the link with 1008 when no HELLO was accepted within
// auth_timeout: a token alone does not hold a connection open. The
// returned stop ends the timer.
func (a *agentConn) helloDeadline() (stop func()) {
	d := a.srv.cfg.r.authTimeout
	t := time.AfterFunc(d, func() {
		if !a.helloed.Load() {
			a.srv.sec.hit(limitAuthTimeout)
			a.end(websocket.StatusPolicyViolation, "no HELLO within "+d.String())
		}
	})
	return func() { t.Stop() }
}
