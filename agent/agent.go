package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/agent/spool"
	"github.com/edgeplane/edgeplane/hw"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Options are what an Agent gets from its environment rather than from its
// config file. A nil *Options is valid.
type Options struct {
	// Logger is the parent logger; the agent logs under Named("agent").
	// Nil discards logs.
	Logger hclog.Logger
	// Registerer receives the edgeplane_agent_*, edgeplane_uplink_* (and
	// the queue's or spool's) metrics. Nil registers nothing.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics when the config has a metrics block; nil
	// means prometheus.DefaultGatherer when Registerer is nil, else the
	// Registerer when it is a Gatherer too.
	Gatherer prometheus.Gatherer
	// Ready is called once, when the queue is open and every sensor is
	// sampling, before the first hub connection (systemd READY=1).
	Ready func()
	// HubURLs replaces the config's hub url(s) (the -hub-url flag).
	HubURLs []string
	// HTTPClient dials the hub. Nil builds one that trusts hub.ca_file or
	// the system roots.
	HTTPClient *http.Client
	// Rand returns a uniform integer in [0, n); it draws the jitter of the
	// reconnect delays. Nil uses math/rand/v2.
	Rand func(n int64) int64
}

// Agent samples sensors, batches the samples into frames, keeps the frames
// in a queue (memory or disk spool) and streams them to a hub, which
// acknowledges them; it also runs the hub's commands on its actuators.
//
// Run does the work and may be called once. Healthy may be called from any
// goroutine.
type Agent struct {
	s       *settings
	log     hclog.Logger
	m       *metrics
	reg     prometheus.Registerer
	gather  prometheus.Gatherer
	ready   func()
	client  *http.Client
	rand    func(n int64) int64
	results *resultCache
	certs   *tlsutil.CertReloader // of the metrics listener; nil: plain HTTP
	started atomic.Bool

	mu        sync.Mutex // guards the fields below, set by Run
	q         queue.Queue
	sensors   []*sensorRun
	actuators map[string]hw.Actuator
	readings  chan hw.Reading // into the batcher; actuator levels are reported here too
	startedAt time.Time
}

// New checks cfg and prepares an agent; it opens no hardware and no
// connection (Run does). opts may be nil.
func New(cfg *Config, opts *Options) (*Agent, error) {
	if cfg == nil {
		return nil, errors.New("agent: nil config")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if len(o.HubURLs) > 0 {
		s.urls = append([]string(nil), o.HubURLs...)
		// Checked like the config's urls.
		var errs []string
		(&HubConfig{URLs: s.urls}).checkURLs(errProblems{errs: &errs}, "urls", s.urls)
		if len(errs) > 0 {
			return nil, fmt.Errorf("agent: hub url: %s", errs[0])
		}
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	a := &Agent{
		s:       s,
		log:     o.Logger.Named("agent"),
		m:       newMetrics(o.Registerer),
		reg:     o.Registerer,
		gather:  o.Gatherer,
		ready:   o.Ready,
		client:  o.HTTPClient,
		rand:    o.Rand,
		results: newResultCache(256),
	}
	if a.gather == nil {
		if g, ok := o.Registerer.(prometheus.Gatherer); ok {
			a.gather = g
		} else if o.Registerer == nil {
			a.gather = prometheus.DefaultGatherer
		}
	}
	if a.client == nil {
		a.client, err = httpClient(s.caFile)
		if err != nil {
			return nil, err
		}
	}
	if t := s.metricsTLS; t != nil {
		a.certs, err = tlsutil.NewCertReloader(t.CertFile, t.KeyFile, &tlsutil.Options{Logger: a.log.Named("http")})
		if err != nil {
			return nil, fmt.Errorf("agent: metrics tls: %w", err)
		}
	}
	return a, nil
}

// ReloadTLS reads the metrics listener's cert_file and key_file again
// (SIGHUP); when they do not load, the old pair stays in service and the
// error is returned. Without TLS it does nothing.
func (a *Agent) ReloadTLS() error {
	if a.certs == nil {
		return nil
	}
	if err := a.certs.Reload(); err != nil {
		return fmt.Errorf("agent: metrics tls: %w", err)
	}
	return nil
}

func httpClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("agent: hub ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agent: hub ca_file %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// Run opens the queue, the sensors and the actuators, then samples and
// streams until ctx ends. On the way out it seals the samples collected so
// far into a last frame in the queue, returns the actuators to their safe
// defaults and closes everything. It returns nil when ctx ended, or the
// error that stopped it (a sensor that cannot be opened, a spool that
// cannot be read).
func (a *Agent) Run(ctx context.Context) (err error) {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("agent: Run called twice")
	}
	s := a.s
	a.log.Info("starting", "device", s.deviceID, "version", version.Get().Version,
		"hub", s.urls, "flush_interval", s.flush.String(), "max_samples", s.maxSamples,
		"queue", a.queueKind(), "sensors", len(s.sensors), "actuators", len(s.actuators))

	q, err := a.openQueue(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := q.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("agent: close queue: %w", cerr)
		}
	}()
	sensors, err := a.openSensors()
	defer func() {
		for _, r := range sensors {
			if cerr := r.sensor.Close(); cerr != nil {
				a.log.Warn("closing sensor", "sensor", r.spec.name, "error", cerr)
			}
		}
	}()
	if err != nil {
		return err
	}
	acts, err := a.openActuators()
	defer func() {
		for name, act := range acts {
			if cerr := act.Close(); cerr != nil {
				a.log.Error("returning actuator to its safe level", "actuator", name, "error", cerr)
			}
		}
	}()
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.q, a.sensors, a.actuators, a.startedAt = q, sensors, acts, time.Now()
	a.mu.Unlock()

	res := map[string]float64{}
	for _, r := range sensors {
		for _, d := range r.descs {
			res[d.ID] = d.Resolution
		}
	}
	readings := make(chan hw.Reading, 256)
	a.mu.Lock()
	a.readings = readings
	a.mu.Unlock()
	// Every actuator's level is a channel of the device too (kind "relay" or
	// "gpio.output" in HELLO), reported at start and after each change, so
	// dashboards show the state of a switch, not the last command sent.
	for _, act := range acts {
		if v, err := act.Get(ctx); err == nil {
			readings <- hw.Reading{ID: act.Name(), Time: time.Now(), Value: v}
		}
	}
	b := &batcher{q: q, flush: s.flush, max: s.maxSamples, res: res, log: a.log.Named("batch"), m: a.m}
	up := newUplink(a, q)

	var srv *http.Server
	var ln net.Listener
	if s.metricsListen != "" {
		if srv, ln, err = a.newHTTPServer(s.metricsListen); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range sensors {
		g.Go(func() error { return a.sample(gctx, r, readings) })
		if es, ok := r.sensor.(hw.EventSensor); ok && r.events {
			g.Go(func() error { return a.events(gctx, r, es, readings) })
		}
	}
	g.Go(func() error { return b.run(gctx, readings) })
	g.Go(func() error { return up.run(gctx) })
	if srv != nil {
		g.Go(func() error { return serveHTTP(gctx, srv, ln) })
	}
	if a.ready != nil {
		a.ready()
	}
	err = g.Wait()
	a.log.Info("stopped", "queued_frames", q.Stats().Records, "dropped_frames", q.Stats().Dropped)
	return err
}

func (a *Agent) queueKind() string {
	if a.s.spool != nil {
		return "spool " + a.s.spool.dir
	}
	return "memory"
}

// openQueue is the one seam between the memory queue and the disk spool.
func (a *Agent) openQueue(ctx context.Context) (queue.Queue, error) {
	if sp := a.s.spool; sp != nil {
		seg := int64(spool.DefaultSegmentBytes)
		if sp.maxBytes < 2*seg {
			seg = max(sp.maxBytes/2, spool.MinSegmentBytes)
		}
		q, err := spool.Open(ctx, &spool.Options{
			Dir: sp.dir, MaxBytes: sp.maxBytes, SegmentBytes: seg, Sync: sp.sync,
			Logger: a.log, Registerer: a.reg,
		})
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		return q, nil
	}
	q, err := queue.NewMemory(&queue.MemoryOptions{
		MaxBytes: a.s.queueMaxBytes, MaxRecords: a.s.queueMaxRecs,
		Logger: a.log.Named("queue"), Registerer: a.reg,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return q, nil
}

// openSensors opens every configured sensor. An optional sensor that
// cannot be opened is skipped with a warning; any other failure is an
// error, and the sensors already open are returned for closing.
func (a *Agent) openSensors() ([]*sensorRun, error) {
	var out []*sensorRun
	ids := map[string]string{}
	for _, spec := range a.s.sensors {
		sn, err := spec.open()
		if err != nil {
			if spec.optional {
				a.log.Warn("optional sensor not available; skipping it", "sensor", spec.name, "driver", spec.driver, "error", err)
				continue
			}
			return out, fmt.Errorf("agent: sensor %q %q: %w", spec.driver, spec.name, err)
		}
		r := newSensorRun(spec, sn)
		out = append(out, r)
		for _, d := range r.descs {
			if other, dup := ids[d.ID]; dup {
				return out, fmt.Errorf("agent: sensor %q %q: channel id %q is also produced by sensor %q", spec.driver, spec.name, d.ID, other)
			}
			ids[d.ID] = spec.name
		}
		if r.period.Load() == 0 && !r.events {
			return out, fmt.Errorf("agent: sensor %q %q: it has no period and produces no events; set period", spec.driver, spec.name)
		}
		a.log.Debug("sensor open", "sensor", spec.name, "driver", spec.driver, "period", time.Duration(r.period.Load()).String(), "events", r.events)
	}
	return out, nil
}

func (a *Agent) openActuators() (map[string]hw.Actuator, error) {
	out := map[string]hw.Actuator{}
	for _, spec := range a.s.actuators {
		act, err := spec.open()
		if err != nil {
			return out, fmt.Errorf("agent: actuator %q %q: %w", spec.driver, spec.name, err)
		}
		out[spec.name] = act
	}
	return out, nil
}

// sensorInfos lists every channel for HELLO, with the current periods.
func (a *Agent) sensorInfos() []frame.SensorInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []frame.SensorInfo
	for _, r := range a.sensors {
		p := time.Duration(r.period.Load())
		for _, d := range r.descs {
			out = append(out, frame.SensorInfo{
				ID: d.ID, Kind: d.Kind, Unit: d.Unit,
				PeriodMS: uint64(p / time.Millisecond), Resolution: d.Resolution,
			})
		}
	}
	for _, spec := range a.s.actuators {
		out = append(out, frame.SensorInfo{ID: spec.name, Kind: actuatorKind(spec.driver)})
	}
	return out
}

// actuatorKind is the kind an actuator is announced with in HELLO: what
// dashboards show a switch for.
func actuatorKind(driver string) string {
	if driver == "gpio" {
		return "gpio.output"
	}
	return "relay"
}

// reportLevel hands an actuator's level to the batcher as a sample of its
// channel. It never blocks a command for long: a full pipeline drops the
// report (the next change or restart reports again).
func (a *Agent) reportLevel(ctx context.Context, name string, v any) {
	a.mu.Lock()
	ch := a.readings
	a.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- hw.Reading{ID: name, Time: time.Now(), Value: v}:
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// Healthy reports whether every sampler is keeping up: nil while each
// periodic sensor was read within three periods (plus a minute of slack),
// an error naming the first that was not. It is what main feeds to the
// systemd watchdog, so a hung sensor read gets the service restarted.
func (a *Agent) Healthy() error {
	a.mu.Lock()
	sensors := a.sensors
	a.mu.Unlock()
	now := time.Now()
	for _, r := range sensors {
		p := time.Duration(r.period.Load())
		if p == 0 {
			continue
		}
		last := time.Unix(0, r.lastTick.Load())
		if late := now.Sub(last); late > 3*p+time.Minute {
			return fmt.Errorf("agent: sensor %s has not been read for %s", r.spec.name, late.Round(time.Second))
		}
	}
	return nil
}
