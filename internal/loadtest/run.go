package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// Options are what New takes beside the config. nil is valid.
type Options struct {
	// Logger is named "loadtest"; the in-process hub logs below it. nil
	// discards logs.
	Logger hclog.Logger
}

// Runner runs one load run. New validates; Run does the run once.
type Runner struct {
	cfg        Config
	log        hclog.Logger
	proto      frame.Proto
	runID      string
	httpClient *http.Client
	agentURL   string
	clientURL  string

	dialSem chan struct{} // bounds WebSockets being opened

	// Run phases, closed by Run in this order.
	allReady chan struct{} // every agent welcomed and every sub answered
	start    chan struct{} // agents may send
	stop     chan struct{} // agents stop sending and drain
	nReady   atomic.Int64
	nDone    atomic.Int64  // agents finished draining
	allDone  chan struct{} // closed when nDone reaches Agents

	framesSent  atomic.Uint64
	framesAcked atomic.Uint64
	deliveries  atomic.Uint64
	slowCloses  atomic.Uint64

	// targets[i] is the frames device i had ACKed when its agent stopped;
	// set before targetsSet.
	targets    []atomic.Uint64
	targetsSet atomic.Bool
	agents     []*simAgent
}

// New validates cfg (a copy of it, with defaults filled in) and returns a
// Runner. It connects nothing.
func New(cfg *Config, opts *Options) (*Runner, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("loadtest: run id: %w", err)
	}
	r := &Runner{
		cfg:        c,
		log:        o.Logger.Named("loadtest"),
		proto:      c.proto(),
		runID:      hex.EncodeToString(id[:]),
		httpClient: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: -1}},
		dialSem:    make(chan struct{}, c.DialConcurrency),
		allReady:   make(chan struct{}),
		start:      make(chan struct{}),
		stop:       make(chan struct{}),
		allDone:    make(chan struct{}),
		targets:    make([]atomic.Uint64, c.Agents),
	}
	return r, nil
}

// Config returns the applied configuration.
func (r *Runner) Config() Config { return r.cfg }

func (r *Runner) deviceID(i int) string {
	return r.cfg.DevicePrefix + "-" + r.runID + "-" + strconv.Itoa(i)
}

// dialSlot waits for one of DialConcurrency dial slots; release frees it.
func (r *Runner) dialSlot(ctx context.Context) (release func(), err error) {
	select {
	case r.dialSem <- struct{}{}:
		return func() { <-r.dialSem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("loadtest: dial: %w", ctx.Err())
	}
}

// ready is called once by every agent (welcomed) and every dashboard (all
// subs answered).
func (r *Runner) ready() {
	if r.nReady.Add(1) == int64(r.cfg.Agents+r.cfg.Clients) {
		close(r.allReady)
	}
}

// agentDone is called once by every agent when it stopped sending and
// drained (or gave up draining).
func (r *Runner) agentDone(a *simAgent) {
	r.targets[a.idx].Store(a.acked.Load())
	if r.nDone.Add(1) == int64(r.cfg.Agents) {
		close(r.allDone)
	}
}

// Run does the run: connect every agent and dashboard and subscribe; send
// for Duration; wait for the last ACKs and deliveries (each bounded by
// DrainTimeout); close everything. It blocks until every goroutine it
// started has ended. A Runner runs once.
//
// It returns an error when the run could not be done (hub unreachable,
// protocol error, ctx cancelled before the end); missed or duplicated
// frames are not errors but figures of the Result, which its Check turns
// into one.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	if r.agents != nil {
		return nil, errors.New("loadtest: Run called twice")
	}
	cfg := &r.cfg
	target, backplaneName := cfg.URL, "external"
	if cfg.InProcess {
		nhubs := 1
		if cfg.CrossHub {
			nhubs = 2
		}
		var hubs []*inProcessHub
		defer func() {
			for _, h := range hubs {
				if err := h.stop(); err != nil {
					r.log.Warn("in-process hub did not stop cleanly", "error", err)
				}
			}
		}()
		for i := range nhubs {
			h, err := startHub(ctx, cfg, r.runID, "load-hub-"+strconv.Itoa(i), r.log)
			if err != nil {
				return nil, err
			}
			hubs = append(hubs, h)
		}
		target, backplaneName = hubs[0].url+" (in-process)", "memory"
		if cfg.RedisAddr != "" {
			backplaneName = "redis " + cfg.RedisAddr
		}
		r.setURLs(hubs[0].url, hubs[len(hubs)-1].url)
		if cfg.CrossHub {
			target = "agents " + hubs[0].url + ", dashboards " + hubs[1].url + " (in-process, cross-hub)"
		}
	} else {
		r.setURLs(cfg.URL, cfg.URL)
	}

	r.agents = make([]*simAgent, cfg.Agents)
	clients := make([]*simClient, cfg.Clients)
	g, gctx := errgroup.WithContext(ctx)
	cctx, stopClients := context.WithCancel(gctx)
	defer stopClients()
	for i := range clients {
		clients[i] = r.newClient(i)
		g.Go(func() error { return clients[i].run(cctx) })
	}
	for i := range r.agents {
		r.agents[i] = r.newAgent(i)
		g.Go(func() error { return r.agents[i].run(gctx) })
	}

	res := &Result{
		Target: target, Backplane: backplaneName, Agents: cfg.Agents, Clients: cfg.Clients,
		ChannelsPerClient: cfg.ChannelsPerClient, SamplesPerFrame: cfg.SamplesPerFrame,
		Rate: cfg.Rate, Window: cfg.Window, FramesPerMessage: cfg.FramesPerMessage, Proto: cfg.Proto, FullDecode: cfg.FullDecode,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), Started: time.Now().UTC(),
	}
	phaseErr := r.phases(gctx, res, clients, stopClients)
	err := g.Wait()
	if err == nil && phaseErr != nil {
		err = phaseErr
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loadtest: run stopped before its end: %w", err)
	}
	r.collect(res, clients)
	return res, nil
}

func (r *Runner) setURLs(agentBase, clientBase string) {
	ws := func(base string) string {
		switch {
		case strings.HasPrefix(base, "http://"):
			return "ws://" + strings.TrimPrefix(base, "http://")
		case strings.HasPrefix(base, "https://"):
			return "wss://" + strings.TrimPrefix(base, "https://")
		}
		return base
	}
	r.agentURL, r.clientURL = ws(agentBase)+"/v1/agent", ws(clientBase)+"/v1/ws"
}

// phases drives the run from the runner's goroutine; it returns when the
// clients were told to stop (or the group failed).
func (r *Runner) phases(ctx context.Context, res *Result, clients []*simClient, stopClients context.CancelFunc) error {
	cfg := &r.cfg
	defer stopClients()
	connectT := time.NewTimer(cfg.ConnectTimeout + time.Duration(cfg.Agents+cfg.Clients)*time.Millisecond)
	defer connectT.Stop()
	t0 := time.Now()
	select {
	case <-r.allReady:
	case <-ctx.Done():
		return nil // the group's error says why
	case <-connectT.C:
		return fmt.Errorf("loadtest: %d of %d agents and dashboards ready after %v", r.nReady.Load(), cfg.Agents+cfg.Clients, time.Since(t0).Round(time.Millisecond))
	}
	res.ConnectSeconds = time.Since(t0).Seconds()
	r.log.Info("connected", "agents", cfg.Agents, "dashboards", cfg.Clients, "seconds", res.ConnectSeconds)

	cpu0 := processCPU()
	redis0, redisErr := readRedisCPU(ctx, cfg.RedisAddr)
	begin := time.Now()
	close(r.start)
	sendT := time.NewTimer(cfg.Duration)
	defer sendT.Stop()
	select {
	case <-sendT.C:
	case <-ctx.Done():
		close(r.stop)
		return nil
	}
	close(r.stop)
	end := time.Now()
	res.SendSeconds = end.Sub(begin).Seconds()
	res.FramesSentInWindow = r.framesSent.Load()
	res.FramesAckedInWindow = r.framesAcked.Load()
	res.DeliveriesInWindow = r.deliveries.Load()
	res.CPUCoresInWindow = (processCPU() - cpu0).Seconds() / res.SendSeconds
	res.LoadAverage = loadAverage()
	if redis1, err := readRedisCPU(ctx, cfg.RedisAddr); err == nil && redisErr == nil {
		res.RedisCPUCores = (redis1 - redis0) / res.SendSeconds
	}

	select {
	case <-r.allDone:
	case <-ctx.Done():
		return nil
	}
	r.targetsSet.Store(true)
	drainT := time.NewTimer(cfg.DrainTimeout)
	defer drainT.Stop()
	for _, c := range clients {
		if c.complete() {
			continue
		}
		select {
		case <-c.done:
		case <-drainT.C:
			res.DrainTimedOut = true
		case <-ctx.Done():
			return nil
		}
		if res.DrainTimedOut {
			break
		}
	}
	res.DrainEndSeconds = time.Since(begin).Seconds()
	return nil
}

// collect fills in the figures from the agents and dashboards after every
// goroutine ended.
func (r *Runner) collect(res *Result, clients []*simClient) {
	var ack, e2e histogram
	for i, a := range r.agents {
		ack.merge(&a.ackHist)
		res.FramesSent += a.lastSnt.Load()
		res.FramesAcked += r.targets[i].Load()
	}
	res.FramesUnacked = res.FramesSent - res.FramesAcked
	for _, c := range clients {
		e2e.merge(&c.e2e)
		res.SlowConsumerCloses += c.slowCloses
		res.Reconnects += c.reconnects
		res.NotRecovered += c.notRecovered
		res.Resets += c.resets
		for _, cs := range c.chans {
			res.DeliveriesExpected += r.targets[cs.dev].Load()
			res.DeliveriesReceived += cs.rcvd
			res.Gaps += cs.gaps
			res.Duplicates += cs.dups
			if got, want := cs.last.Load(), cs.base+r.targets[cs.dev].Load(); got < want {
				res.Missing += want - got
			}
		}
	}
	res.AckLatency = ack.summary()
	res.EndToEnd = e2e.summary()
	if res.SendSeconds > 0 {
		res.FramesPerSecond = float64(res.FramesAckedInWindow) / res.SendSeconds
		res.DeliveriesPerSecond = float64(res.DeliveriesInWindow) / res.SendSeconds
		res.SamplesPerSecond = res.FramesPerSecond * float64(r.cfg.SamplesPerFrame)
	}
}
