package hubd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/hubd/web"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
	"github.com/edgeplane/edgeplane/internal/backplane/redis"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// Options are what New takes beside the config. nil is valid.
type Options struct {
	// Logger is the root logger; the hub logs under Named("hubd"). nil
	// discards logs.
	Logger hclog.Logger
	// Registerer receives the hub's metrics (and those of a backplane built
	// from the config). nil means a new registry of the hub's own.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics serves. nil means Registerer when it is a
	// Gatherer (a *prometheus.Registry is), else nothing but the hub's own.
	Gatherer prometheus.Gatherer
	// Backplane is the backplane to use; the caller keeps ownership and
	// closes it. nil means one built from the config (closed by the hub
	// when Run ends).
	Backplane backplane.Backplane
	// Authenticator decides who peers are. nil means the config's
	// allow_anonymous rule and no tokens.
	Authenticator Authenticator
	// CommandRouter reaches devices of other hubs. nil means the
	// backplane's, when it implements CommandRouter; else one over
	// backplane.Hubs, when the backplane has that capability; else local
	// devices only.
	CommandRouter CommandRouter
	// Dashboard serves "/". nil means the embedded dashboard.
	Dashboard http.Handler
}

// Server is the hub: agent ingest on /v1/agent, dashboard sessions on
// /v1/ws, the dashboard on /, and /healthz, /readyz, /metrics.
//
// New wires and validates; Run delivers the backplane's publications and
// must run for sessions to receive anything; Serve runs Run and an HTTP
// server on a listener (call one of Run and Serve, once). Shutdown drains.
// All methods are safe for concurrent use.
type Server struct {
	cfg       *Config
	log       hclog.Logger
	m         *metrics
	gatherer  prometheus.Gatherer
	bp        backplane.Backplane
	ownBP     bool
	auth      Authenticator
	sec       *security // TLS, connection limits, limit metrics (security.go)
	router    CommandRouter
	hubRouter *hubRouter // the router over backplane.Hubs, when that is the router
	fanout    *fanout
	presence  *presenceHub
	seqs      *seqTracker
	mux       *http.ServeMux
	now       func() time.Time

	stopCtx context.Context // done when Shutdown finished draining
	stopped context.CancelFunc

	// mu guards the following fields.
	mu       sync.Mutex
	draining bool
	conns    map[tracked]struct{} // every live WebSocket
	agents   map[string]*agentConn
	httpSrv  *http.Server
	handlers sync.WaitGroup // WebSocket handlers running; Add only under mu while !draining
}

// tracked is a live WebSocket the hub closes with 1001 when it drains.
type tracked interface {
	goingAway(reason string)
}

// New returns a Server for cfg (nil: all defaults). It validates cfg on its
// own copy and builds the backplane unless opts gives one. It starts nothing.
func New(cfg *Config, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	c, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	log := o.Logger.Named("hubd")
	reg := o.Registerer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg = r
		if o.Gatherer == nil {
			o.Gatherer = r
		}
	}
	if o.Gatherer == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			o.Gatherer = g
		}
	}
	s := &Server{
		cfg:      c,
		log:      log,
		gatherer: o.Gatherer,
		bp:       o.Backplane,
		auth:     o.Authenticator,
		router:   o.CommandRouter,
		now:      time.Now,
		conns:    make(map[tracked]struct{}),
		agents:   make(map[string]*agentConn),
	}
	if s.sec, err = newSecurity(c, log, reg); err != nil {
		return nil, err
	}
	if s.bp == nil {
		if s.bp, err = newBackplane(c, log, reg); err != nil {
			return nil, err
		}
		s.ownBP = true
	}
	if s.auth == nil {
		s.auth = anonymousAuth{allow: c.AllowAnonymous, nonLoopback: c.AllowAnonymousNonLoopback}
		if c.sec.verifier != nil {
			s.auth = NewTokenAuthenticator(c.sec.verifier, s.auth)
		}
	}
	if s.router == nil {
		if r, ok := s.bp.(CommandRouter); ok {
			s.router = r
		} else if hubs, ok := s.bp.(backplane.Hubs); ok {
			s.hubRouter = newHubRouter(s, hubs)
			s.router = s.hubRouter
		}
	}
	seqStore, _ := s.bp.(SeqStore)
	s.stopCtx, s.stopped = context.WithCancel(context.Background())
	s.m = newMetrics(reg)
	s.fanout = newFanout(s.bp, log.Named("fanout"), s.m)
	s.presence = newPresenceHub()
	s.seqs = newSeqTracker(seqStore)
	dash := o.Dashboard
	if dash == nil {
		dash = web.Handler()
	}
	s.mux = s.routes(dash)
	return s, nil
}

// newBackplane builds the backplane the config asks for.
func newBackplane(c *Config, log hclog.Logger, reg prometheus.Registerer) (backplane.Backplane, error) {
	switch c.Backplane.Type {
	case "memory":
		b, err := memory.New(&memory.Options{
			HistorySize: c.r.historySize,
			HistoryTTL:  c.r.historyTTL,
			Logger:      log,
			Registerer:  reg,
		})
		if err != nil {
			return nil, fmt.Errorf("hubd: %w", err)
		}
		return b, nil
	case "redis":
		rc := c.Backplane.Redis
		b, err := redis.New(&redis.Options{
			Addrs:       rc.Addrs,
			Cluster:     rc.Cluster,
			Password:    rc.Password,
			Prefix:      rc.KeyPrefix,
			HistorySize: c.r.historySize,
			HistoryTTL:  c.r.historyTTL,
			HubID:       c.HubID,
			Region:      c.Region,
			Logger:      log,
			Registerer:  reg,
		})
		if err != nil {
			return nil, fmt.Errorf("hubd: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("hubd: backplane type %q is not available in this build", c.Backplane.Type)
}

// Config returns the applied configuration (defaults filled in).
func (s *Server) Config() *Config { return s.cfg }

// Handler returns the hub's HTTP handler. Sessions receive frames only
// while Run (or Serve) runs.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes(dash http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent", s.sec.limitConns(s.handleAgent))
	mux.HandleFunc("GET /v1/ws", s.sec.limitConns(s.handleSession))
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.Handle("/", dash)
	return mux
}

// Run delivers the backplane's publications, resets and presence changes
// to the hub's sessions until ctx ends or Shutdown is called. A backplane
// built from the config is closed when Run returns.
func (s *Server) Run(ctx context.Context) error {
	if s.ownBP {
		defer s.bp.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := context.AfterFunc(s.stopCtx, cancel)
	defer stopped()
	if s.hubRouter != nil {
		defer s.hubRouter.wg.Wait() // remote commands end with stopCtx or their timeout
	}
	var g errgroup.Group
	if reg, ok := s.bp.(backplane.HubRegistry); ok {
		g.Go(func() error { s.registerHub(ctx, reg); return nil })
	}
	err := s.bp.Run(ctx, handler{fanout: s.fanout, presence: s.presence, router: s.hubRouter})
	cancel()
	_ = g.Wait()
	if err != nil && !errors.Is(err, backplane.ErrClosed) {
		return fmt.Errorf("hubd: backplane: %w", err)
	}
	return nil
}

// registerHub keeps this hub in the region's hub registry (refreshed every
// third of presence_ttl, so a hub that dies drops out within presence_ttl)
// until ctx ends, then removes it.
func (s *Server) registerHub(ctx context.Context, reg backplane.HubRegistry) {
	ttl := s.cfg.r.presenceTTL
	info := backplane.HubInfo{ID: s.cfg.HubID, Region: s.cfg.Region, Addr: "http://" + s.cfg.Listen}
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		info.LastSeen = s.now()
		if err := reg.RegisterHub(ctx, info, ttl); err != nil && ctx.Err() == nil {
			s.log.Warn("cannot register the hub", "error", err)
		}
		select {
		case <-ctx.Done():
			uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := reg.UnregisterHub(uctx, s.cfg.HubID); err != nil && !errors.Is(err, backplane.ErrClosed) {
				s.log.Warn("cannot unregister the hub", "error", err)
			}
			return
		case <-t.C:
		}
	}
}

// Serve runs the hub on ln until ctx ends or Shutdown is called; then it
// drains (bounded by limits.drain_timeout) and returns nil. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.sec.handshakeTimeout, // also bounds the TLS handshake
		IdleTimeout:       s.cfg.sec.handshakeTimeout + s.cfg.sec.idleTimeout,
		ErrorLog:          s.log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.httpSrv = hs
	s.mu.Unlock()
	ln = s.sec.listener(ln)

	runCtx, runCancel := context.WithCancel(context.Background())
	defer runCancel()
	g, gctx := errgroup.WithContext(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(runCtx) }()
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("hubd: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		select {
		case <-gctx.Done():
		case <-s.stopCtx.Done():
		case err := <-runDone:
			runDone <- err
		}
		dctx, cancel := context.WithTimeout(context.Background(), s.cfg.r.drainTimeout)
		defer cancel()
		return s.Shutdown(dctx)
	})
	err := g.Wait()
	runCancel()
	if rerr := <-runDone; err == nil {
		err = rerr
	}
	return err
}

// Shutdown drains the hub: it stops accepting connections, closes every
// WebSocket with 1001 (sessions flush what is queued first), and waits for
// them until ctx ends. http.Server.Shutdown leaves hijacked connections
// alone, so the hub tracks and closes its WebSockets itself. It then stops
// Run. Calling it again waits again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	hs := s.httpSrv
	conns := make([]tracked, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	var err error
	if hs != nil {
		err = hs.Shutdown(ctx) // closes the listeners, waits for plain requests
	}
	for _, c := range conns {
		c.goingAway("hub going away")
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("hubd: drain: %w", ctx.Err())
		}
	}
	s.stopped()
	return err
}

// track registers a WebSocket for draining; false when the hub drains (the
// caller closes it with 1001). untrack must follow a true.
func (s *Server) track(c tracked) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[c] = struct{}{}
	s.handlers.Add(1)
	return true
}

func (s *Server) untrack(c tracked) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.handlers.Done()
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// registerAgent makes a the device's link; an older link of the same
// device is closed (the agent reconnected before the hub saw it go).
func (s *Server) registerAgent(a *agentConn) {
	s.mu.Lock()
	old := s.agents[a.hello.DeviceID]
	s.agents[a.hello.DeviceID] = a
	s.mu.Unlock()
	if old != nil {
		old.end(websocket.StatusPolicyViolation, "replaced by a newer connection of the same device")
	}
}

// unregisterAgent removes a if it is still the device's link.
func (s *Server) unregisterAgent(a *agentConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agents[a.hello.DeviceID] != a {
		return false
	}
	delete(s.agents, a.hello.DeviceID)
	return true
}

// agent returns the local link of device, nil when it is not connected here.
func (s *Server) agent(device string) *agentConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agents[device]
}

// offered reports whether the upgrade request offers subprotocol p.
func offered(r *http.Request, p string) bool {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, v := range strings.Split(h, ",") {
			if strings.TrimSpace(v) == p {
				return true
			}
		}
	}
	return false
}

// handleAgent upgrades /v1/agent (PROTOCOL.md, "Agent link").
func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request) {
	if s.isDraining() {
		http.Error(w, "hub going away", http.StatusServiceUnavailable)
		return
	}
	if !offered(r, frame.SubprotocolAgent) {
		http.Error(w, "the agent link needs WebSocket subprotocol "+frame.SubprotocolAgent, http.StatusBadRequest)
		return
	}
	id, err := s.auth.Authenticate(r.Context(), Credentials{Token: bearerToken(r), Request: r})
	if err == nil && !id.canAgent() {
		err = fmt.Errorf("%w: role %s is not a device", ErrForbidden, id.Role)
	}
	if err != nil {
		st := authStatus(err)
		s.m.protoError(linkAgent, st)
		http.Error(w, http.StatusText(st), st)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{frame.SubprotocolAgent}})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	a := s.newAgentConn(conn, r, id)
	if !s.track(a) {
		conn.Close(websocket.StatusGoingAway, "hub going away")
		return
	}
	defer s.untrack(a)
	defer s.sec.keepAlive(conn, func(reason string) { a.end(websocket.StatusPolicyViolation, reason) })()
	defer a.helloDeadline()()
	a.run(r.Context())
}

// handleSession upgrades /v1/ws (PROTOCOL.md, "Dashboard link").
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	if s.isDraining() {
		http.Error(w, "hub going away", http.StatusServiceUnavailable)
		return
	}
	var protos []string
	for _, p := range []string{frame.SubprotocolJSON, frame.SubprotocolCBOR} {
		if offered(r, p) {
			protos = append(protos, p)
		}
	}
	if len(protos) == 0 {
		http.Error(w, "the dashboard link needs WebSocket subprotocol "+frame.SubprotocolJSON+" or "+frame.SubprotocolCBOR, http.StatusBadRequest)
		return
	}
	if !s.sec.originAllowed(r) {
		s.m.protoError(linkDashboard, http.StatusForbidden)
		http.Error(w, "origin not allowed (allowed_origins)", http.StatusForbidden)
		return
	}
	if tok := bearerToken(r); tok != "" {
		// Non-browser clients may authenticate the upgrade itself.
		id, err := s.auth.Authenticate(r.Context(), Credentials{Token: tok, Request: r})
		if err == nil && !id.canView() {
			err = fmt.Errorf("%w: role %s may not use the dashboard link", ErrForbidden, id.Role)
		}
		if err != nil {
			st := authStatus(err)
			s.m.protoError(linkDashboard, st)
			http.Error(w, http.StatusText(st), st)
			return
		}
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: protos, OriginPatterns: s.cfg.sec.origins})
	if err != nil {
		return
	}
	p := frame.ProtoJSON
	if conn.Subprotocol() == frame.SubprotocolCBOR {
		p = frame.ProtoCBOR
	}
	sess := s.newSession(conn, r, p)
	if !s.track(sess) {
		conn.Close(websocket.StatusGoingAway, "hub going away")
		return
	}
	defer s.untrack(sess)
	defer s.sec.keepAlive(conn, func(reason string) { sess.end(websocket.StatusPolicyViolation, reason, false) })()
	sess.run(r.Context())
}
