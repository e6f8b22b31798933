package bridge

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/tlsutil"
)

// OriginProperty is the MQTT v5 user property that every exported message
// carries: the region it was exported from.
const OriginProperty = "edgeplane-origin"

// LabelOrigin is the presence label an import gives the devices it brings
// in: the region their frames came from. With the device's region it tells
// an export which devices are not its own, so that frames never loop back.
const LabelOrigin = "edgeplane.origin"

// Options carry what the bridge gets from its owner. nil is valid.
type Options struct {
	// Logger is named "bridge"; nil discards logs.
	Logger hclog.Logger
	// Registerer receives the bridge's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics on Config.Listen; nil serves no /metrics.
	Gatherer prometheus.Gatherer
	// Cursors stores the export cursors. nil uses the backplane's own when it
	// implements backplane.Cursors, else a channel of the backplane per
	// cursor (see historyCursors).
	Cursors backplane.Cursors
}

// Bridge carries frames between one region's backplane and an MQTT broker.
// Create it with New, then call Run once.
type Bridge struct {
	cfg     *Config
	bp      backplane.Backplane
	cursors backplane.Cursors
	log     hclog.Logger
	m       *metrics
	gather  prometheus.Gatherer
	exports []*exportSpec
	imports []*importSpec
	window  chan struct{} // one token per exported message awaiting PUBACK

	presenceDirty   chan struct{} // cap 1
	metaDirty       chan struct{} // cap 1
	subscribeNow    chan struct{} // cap 1: the connection came up
	connected       atomic.Bool
	connectFailures atomic.Int64
	running         atomic.Bool
	certs           *tlsutil.CertReloader // of the HTTP listener; nil: plain HTTP

	// mu guards the following fields.
	mu       sync.Mutex
	cm       *autopaho.ConnectionManager
	devices  map[string]backplane.DeviceState // presence cache, by id
	changed  map[string]bool                  // devices whose presence changed since reconcile
	metaTodo map[string]bool                  // devices whose metadata is to be published
	metaAll  bool                             // publish every device's metadata (after a connect)
	metaSent map[string]string                // device -> fingerprint of the last published metadata
	workers  map[string][]*chanWorker         // by channel
	started  map[string]bool                  // export name + device -> worker exists
	addr     string                           // HTTP listener
	group    *errgroup.Group
	groupCtx context.Context

	imp importState
}

// New checks cfg (which must come from LoadConfig or ParseConfig) and wires
// the bridge; nothing runs before Run.
func New(bp backplane.Backplane, cfg *Config, opts *Options) (*Bridge, error) {
	if bp == nil {
		return nil, errors.New("bridge: nil backplane")
	}
	if cfg == nil || !cfg.checked {
		return nil, errors.New("bridge: config not validated; build it with LoadConfig or ParseConfig")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry() // registered nowhere: discarded
	}
	b := &Bridge{
		cfg:           cfg,
		bp:            bp,
		cursors:       o.Cursors,
		log:           o.Logger.Named("bridge"),
		gather:        o.Gatherer,
		window:        make(chan struct{}, cfg.MQTT.InFlight),
		presenceDirty: make(chan struct{}, 1),
		metaDirty:     make(chan struct{}, 1),
		subscribeNow:  make(chan struct{}, 1),
		devices:       map[string]backplane.DeviceState{},
		changed:       map[string]bool{},
		metaTodo:      map[string]bool{},
		metaSent:      map[string]string{},
		workers:       map[string][]*chanWorker{},
		started:       map[string]bool{},
	}
	if b.cursors == nil {
		if c, ok := bp.(backplane.Cursors); ok {
			b.cursors = c
		} else {
			b.cursors = historyCursors{bp}
		}
	}
	for i := range cfg.Exports {
		s, err := newExportSpec(&cfg.Exports[i])
		if err != nil {
			return nil, fmt.Errorf("bridge: export %q: %w", cfg.Exports[i].Name, err)
		}
		b.exports = append(b.exports, s)
	}
	for i := range cfg.Imports {
		s, err := newImportSpec(&cfg.Imports[i], cfg.Region)
		if err != nil {
			return nil, fmt.Errorf("bridge: import %q: %w", cfg.Imports[i].Name, err)
		}
		b.imports = append(b.imports, s)
	}
	b.imp.devices = map[string]*importedDevice{}
	b.m = newMetrics(o.Registerer, b.lag)
	if t := cfg.TLS; t != nil {
		certs, err := tlsutil.NewCertReloader(t.CertFile, t.KeyFile, &tlsutil.Options{Logger: b.log.Named("http")})
		if err != nil {
			return nil, fmt.Errorf("bridge: tls: %w", err)
		}
		b.certs = certs
	}
	return b, nil
}

// ReloadTLS reads the listener's cert_file and key_file again (SIGHUP);
// when they do not load, the old pair stays in service and the error is
// returned. Without TLS it does nothing.
func (b *Bridge) ReloadTLS() error {
	if b.certs == nil {
		return nil
	}
	if err := b.certs.Reload(); err != nil {
		return fmt.Errorf("bridge: tls: %w", err)
	}
	return nil
}

// Run connects to the broker and carries frames until ctx ends; it returns
// nil then. It reconnects to the broker by itself and retries what the
// backplane refuses; it returns an error only when it cannot start (TLS
// files, HTTP listener) or when the backplane's Run fails.
func (b *Bridge) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bridge: Run called twice")
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	b.mu.Lock()
	b.group, b.groupCtx = g, ctx
	b.mu.Unlock()

	cliCfg, err := b.clientConfig()
	if err != nil {
		return err
	}
	cm, err := autopaho.NewConnection(ctx, cliCfg)
	if err != nil {
		return fmt.Errorf("bridge: mqtt: %w", err)
	}
	b.mu.Lock()
	b.cm = cm
	b.mu.Unlock()
	b.log.Info("starting", "config", b.cfg.Applied())

	var srv *http.Server
	if b.cfg.Listen != "" {
		srv, err = b.listen(ctx, g)
		if err != nil {
			cancel()
			<-cm.Done()
			return err
		}
	}
	g.Go(func() error { return b.bp.Run(ctx, handler{b}) })
	g.Go(func() error { b.presenceLoop(ctx); return nil })
	g.Go(func() error { b.metaLoop(ctx); return nil })
	g.Go(func() error { b.subscribeLoop(ctx); return nil })
	for _, e := range b.exports {
		for _, id := range e.cfg.Devices {
			b.ensureWorker(e, id)
		}
	}
	<-ctx.Done()
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	err = g.Wait()
	<-cm.Done()
	if parent.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	if err == nil {
		err = parent.Err()
	}
	return err
}

// Ready reports whether the bridge can work: connected to the broker, and
// the backplane reachable (when it can tell).
func (b *Bridge) Ready(ctx context.Context) error {
	if !b.connected.Load() {
		return errors.New("bridge: not connected to the MQTT broker")
	}
	if r, ok := b.bp.(backplane.Ready); ok {
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("bridge: backplane: %w", err)
		}
	}
	return nil
}

// conn returns the connection manager; nil before Run.
func (b *Bridge) conn() *autopaho.ConnectionManager {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cm
}

// lag sums the export lag of every channel worker.
func (b *Bridge) lag() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n uint64
	for _, ws := range b.workers {
		for _, w := range ws {
			n += w.lag.Load()
		}
	}
	return float64(n)
}

// handler receives the backplane's notifications. It never blocks: it
// wakes the channel workers and the presence loop.
type handler struct{ b *Bridge }

func (h handler) HandlePublication(ch string, _ string, _ backplane.Publication) { h.b.wake(ch) }
func (h handler) HandleReset(ch string, _ backplane.Position)                    { h.b.wake(ch) }
func (h handler) HandlePresence(d backplane.DeviceState) {
	b := h.b
	b.mu.Lock()
	b.devices[d.ID] = d
	b.changed[d.ID] = true
	b.mu.Unlock()
	signal(b.presenceDirty)
}

func (b *Bridge) wake(ch string) {
	b.mu.Lock()
	ws := b.workers[ch]
	b.mu.Unlock()
	for _, w := range ws {
		signal(w.wake)
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// foreign reports whether d belongs to another region: imported from there
// (its origin label) or connected there (its region). Such devices are never
// exported, which is what keeps two-way region links from looping.
func (b *Bridge) foreign(d backplane.DeviceState) bool {
	if o, ok := d.Labels[LabelOrigin]; ok && o != b.cfg.Region {
		return true
	}
	return d.Region != "" && d.Region != b.cfg.Region
}

// device returns the presence of id from the cache, or asks the backplane
// when it is not cached (a device an import just announced).
func (b *Bridge) device(ctx context.Context, id string) (backplane.DeviceState, bool, error) {
	b.mu.Lock()
	d, ok := b.devices[id]
	b.mu.Unlock()
	if ok {
		return d, true, nil
	}
	d, ok, err := b.bp.Device(ctx, id)
	if err != nil || !ok {
		return d, ok, err
	}
	b.mu.Lock()
	if _, dup := b.devices[id]; !dup {
		b.devices[id] = d
	}
	b.mu.Unlock()
	return d, true, nil
}

// presenceLoop loads every device at start and again every poll interval
// (notifications can be lost while the backplane is away), and starts
// channel workers for the devices the exports select.
func (b *Bridge) presenceLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ds, err := b.bp.Devices(ctx); err != nil {
				if ctx.Err() == nil {
					b.log.Warn("cannot list devices; retrying", "error", err)
				}
				t.Reset(time.Second)
				continue
			} else {
				b.mu.Lock()
				for _, d := range ds {
					b.devices[d.ID] = d
					b.changed[d.ID] = true
				}
				b.mu.Unlock()
			}
			t.Reset(b.cfg.pollInterval * 6)
		case <-b.presenceDirty:
		}
		b.reconcile()
	}
}

// reconcile starts workers for newly selected devices and queues metadata
// of changed ones.
func (b *Bridge) reconcile() {
	b.mu.Lock()
	changed := slices.Collect(maps.Keys(b.changed))
	clear(b.changed)
	var devs []backplane.DeviceState
	for _, id := range changed {
		devs = append(devs, b.devices[id])
	}
	b.mu.Unlock()
	meta := false
	for _, d := range devs {
		if b.foreign(d) {
			continue
		}
		for _, e := range b.exports {
			if !e.selects(d) {
				continue
			}
			b.ensureWorker(e, d.ID)
			if e.cfg.meta {
				meta = true
			}
		}
		if meta {
			b.mu.Lock()
			b.metaTodo[d.ID] = true
			b.mu.Unlock()
		}
	}
	if meta {
		signal(b.metaDirty)
	}
}

// ensureWorker starts the channel worker of export e for device id once.
func (b *Bridge) ensureWorker(e *exportSpec, id string) {
	key := e.cfg.Name + "\x00" + id
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started[key] || b.group == nil || b.groupCtx.Err() != nil {
		return
	}
	b.started[key] = true
	w := newChanWorker(b, e, id)
	b.workers[w.ch] = append(b.workers[w.ch], w)
	ctx := b.groupCtx
	b.group.Go(func() error { w.run(ctx); return nil })
}

// clientConfig builds the autopaho configuration: MQTT v5, persistent
// session (no clean start, a session expiry), manual acknowledgement of
// imported messages after they are stored, a receive maximum, QoS 1.
func (b *Bridge) clientConfig() (autopaho.ClientConfig, error) {
	m := &b.cfg.MQTT
	tlsCfg, err := m.tlsConfig()
	if err != nil {
		return autopaho.ClientConfig{}, err
	}
	recvMax := uint16(m.ReceiveMaximum)
	plog := pahoLogger{b.log.Named("mqtt")}
	c := autopaho.ClientConfig{
		ServerUrls:                    m.urls,
		TlsCfg:                        tlsCfg,
		KeepAlive:                     uint16(m.keepAlive / time.Second),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(m.sessionExpiry / time.Second),
		ReconnectBackoff:              backoff(100*time.Millisecond, m.reconnectMax),
		ConnectTimeout:                m.connectTimeout,
		ConnectUsername:               m.Username,
		ConnectPassword:               []byte(m.Password),
		Errors:                        plog,
		PahoErrors:                    plog,
		ConnectPacketBuilder: func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if cp.Properties == nil {
				cp.Properties = &paho.ConnectProperties{}
			}
			cp.Properties.ReceiveMaximum = &recvMax
			return cp, nil
		},
		OnConnectionUp: func(_ *autopaho.ConnectionManager, ack *paho.Connack) {
			b.connected.Store(true)
			b.connectFailures.Store(0)
			b.m.connected.Set(1)
			b.log.Info("connected to the MQTT broker", "session_present", ack.SessionPresent)
			signal(b.subscribeNow)
			b.mu.Lock()
			b.metaAll = true
			b.mu.Unlock()
			signal(b.metaDirty)
		},
		OnConnectionDown: func() bool {
			b.connected.Store(false)
			b.m.connected.Set(0)
			b.log.Warn("MQTT connection lost; reconnecting")
			return true
		},
		OnConnectError: func(err error) {
			// Logged once per outage (and every 100th attempt), not at
			// every retry.
			if n := b.connectFailures.Add(1); n == 1 || n%100 == 0 {
				b.log.Warn("MQTT connect failed; retrying", "error", err, "attempts", n)
			}
		},
		ClientConfig: paho.ClientConfig{
			ClientID:                   m.ClientID,
			EnableManualAcknowledgment: true,
			SendAcksInterval:           10 * time.Millisecond,
			PacketTimeout:              m.publishTimeout,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){
				func(pr paho.PublishReceived) (bool, error) { b.onPublish(pr); return true, nil },
			},
		},
	}
	return c, nil
}

// subscribeLoop (re)subscribes the import filters whenever the connection
// comes up: after a broker restart that lost the session they are gone.
func (b *Bridge) subscribeLoop(ctx context.Context) {
	if len(b.imports) == 0 {
		return
	}
	var subs []paho.SubscribeOptions
	for _, s := range b.imports {
		for _, f := range s.filters() {
			// NoLocal: this connection's own exports are not sent back to it.
			subs = append(subs, paho.SubscribeOptions{Topic: f, QoS: 1, NoLocal: true})
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.subscribeNow:
		}
		for attempt := 0; ctx.Err() == nil; attempt++ {
			sctx, cancel := context.WithTimeout(ctx, b.cfg.MQTT.publishTimeout)
			ack, err := b.conn().Subscribe(sctx, &paho.Subscribe{Subscriptions: subs})
			cancel()
			if err == nil {
				for i, rc := range ack.Reasons {
					if rc >= 0x80 && i < len(subs) {
						b.log.Error("subscription refused", "filter", subs[i].Topic, "reason", rc)
					}
				}
				break
			}
			if errors.Is(err, autopaho.ConnectionDownError) {
				break // the next connection signals again
			}
			b.log.Warn("subscribe failed; retrying", "error", err)
			if !sleep(ctx, backoff(100*time.Millisecond, 5*time.Second)(attempt+1)) {
				return
			}
		}
	}
}

// backoff returns a jittered delay growing from min to max with the attempt.
func backoff(lo, hi time.Duration) func(int) time.Duration {
	return func(attempt int) time.Duration {
		if attempt <= 0 {
			return 0
		}
		d := lo << min(attempt-1, 20)
		if d > hi || d <= 0 {
			d = hi
		}
		return d/2 + rand.N(d/2+1)
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pahoLogger passes paho's error logs to hclog.
type pahoLogger struct{ l hclog.Logger }

func (p pahoLogger) Println(v ...any)               { p.l.Warn(fmt.Sprint(v...)) }
func (p pahoLogger) Printf(format string, v ...any) { p.l.Warn(fmt.Sprintf(format, v...)) }
