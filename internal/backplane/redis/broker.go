package redis

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

var (
	_ backplane.Backplane   = (*Broker)(nil)
	_ backplane.Ready       = (*Broker)(nil)
	_ backplane.Hubs        = (*Broker)(nil)
	_ backplane.HubRegistry = (*Broker)(nil)
)

var (
	//go:embed broker_publish.lua
	publishLua string
	//go:embed broker_history.lua
	historyLua string
	//go:embed presence_set.lua
	presenceSetLua string
	//go:embed presence_expire.lua
	presenceExpireLua string
	//go:embed hubs_registry.lua
	hubsRegistryLua string
)

// Defaults of Options.
const (
	DefaultPrefix         = "edgeplane"
	DefaultHistorySize    = 1000
	DefaultHistoryTTL     = 24 * time.Hour
	DefaultPublishBatch   = 512
	DefaultPublishLanes   = 4
	DefaultRegion         = "default"
	DefaultPresenceSweep  = time.Second
	DefaultHealthInterval = 5 * time.Second
	DefaultDialTimeout    = 2 * time.Second
	DefaultIOTimeout      = 3 * time.Second
)

// Options configure New. Addrs is required; the zero value of every other
// field means its default.
type Options struct {
	// Addrs are standalone Redis servers (host:port); channels are spread
	// over them by rendezvous hashing. Every hub of a region must list the
	// same servers: a hub with a different list reads other streams.
	Addrs []string
	// Cluster says Addrs are seed nodes of one Redis Cluster instead of
	// standalone servers: commands follow the slots, notifications use
	// sharded pub/sub (SPUBLISH, SSUBSCRIBE on the slot's master).
	Cluster bool
	// Username and Password authenticate to every server (ACL or
	// requirepass); empty means none.
	Username string
	Password string
	// Prefix of every key and pub/sub channel, so several deployments (or
	// tests) can share a server. Default DefaultPrefix.
	Prefix string
	// HistorySize is how many publications a channel keeps (the stream is
	// trimmed with MAXLEN ~, History never returns more than this).
	// Default DefaultHistorySize.
	HistorySize int
	// HistoryTTL is how long a channel's history lives after its last
	// publication (up to 1/16 longer: the expiry is refreshed at most that
	// often); then a new epoch starts. Rounded up to whole seconds.
	// Default DefaultHistoryTTL.
	HistoryTTL time.Duration
	// PublishBatch is the most publications sent in one pipeline. Default
	// DefaultPublishBatch.
	PublishBatch int
	// HubID, when set, is this hub's id for backplane.Hubs: Run receives
	// the messages sent to it and hands them to a Handler that implements
	// backplane.HubHandler. Hub ids must be unique in the region.
	HubID string
	// PublishLanes is how many pipelines per server may be in flight at
	// once (each channel always uses the same one, keeping its order).
	// One lane caps a hub at one pipeline of PublishBatch publications per
	// round trip: about 75 k frames/s in BENCHMARKS.md, against 90–120 k
	// with 4 (hubd's agent links hand over whole batches, so the lanes'
	// pipelines stay full). More lanes make smaller batches when callers
	// publish one at a time, which costs Redis time per publication (see
	// BenchmarkPublish). Default DefaultPublishLanes.
	PublishLanes int
	// Region names the presence keys shared by the hubs of a region.
	// Default DefaultRegion.
	Region string
	// PresenceSweep is how often expired presence entries are turned
	// offline, which bounds how late an expiry is noticed. Default
	// DefaultPresenceSweep.
	PresenceSweep time.Duration
	// HealthInterval: a pub/sub connection silent this long is pinged, and
	// dropped (then re-established and repaired from the streams) when the
	// ping is not answered within another interval. Default
	// DefaultHealthInterval.
	HealthInterval time.Duration
	// DialTimeout and IOTimeout bound connecting and each read or write.
	// Defaults DefaultDialTimeout and DefaultIOTimeout.
	DialTimeout time.Duration
	IOTimeout   time.Duration
	// Logger is named "redis"; nil discards logs.
	Logger hclog.Logger
	// Registerer receives the backplane's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Broker is the Redis backplane.Backplane. It is safe for concurrent use;
// Run must be called once for deliveries and presence expiry.
type Broker struct {
	o      Options // with defaults
	ttlSec int64
	log    hclog.Logger
	m      *metrics
	shards []*shard
	// cluster is the Cluster client when Options.Cluster; shards then holds
	// one shard that uses it.
	cluster *goredis.ClusterClient
	// subscribersChanged (cap 1) tells Run that subscribers grew.
	subscribersChanged chan struct{}

	publish, history, presenceSet, presenceExpire, hubsRegistry *goredis.Script

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	runWG     sync.WaitGroup // Run
	inflight  sync.WaitGroup // Publish, History, Subscribe... calls; Add under mu while not closed

	// mu guards the following fields.
	mu          sync.Mutex
	closed      bool
	running     bool
	subscribers map[string]*subscriber // by address: one per standalone server, one per cluster master in use
}

// New validates opts and returns a Broker. It does not connect: servers
// may be down at start; calls fail with backplane.ErrUnavailable until they
// are up, and Run connects by itself.
func New(opts *Options) (*Broker, error) {
	if opts == nil {
		return nil, errors.New("backplane/redis: nil options")
	}
	o := *opts
	o.Addrs = append([]string(nil), opts.Addrs...)
	if len(o.Addrs) == 0 {
		return nil, errors.New("backplane/redis: no addrs")
	}
	seen := make(map[string]bool)
	for _, a := range o.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("backplane/redis: addr %q: %w", a, err)
		}
		if seen[a] {
			return nil, fmt.Errorf("backplane/redis: addr %q listed twice", a)
		}
		seen[a] = true
	}
	for name, v := range map[string]int64{
		"history size": int64(o.HistorySize), "history ttl": int64(o.HistoryTTL),
		"publish batch": int64(o.PublishBatch), "publish lanes": int64(o.PublishLanes),
		"presence sweep":  int64(o.PresenceSweep),
		"health interval": int64(o.HealthInterval), "dial timeout": int64(o.DialTimeout),
		"io timeout": int64(o.IOTimeout),
	} {
		if v < 0 {
			return nil, fmt.Errorf("backplane/redis: negative %s", name)
		}
	}
	setDefault(&o.Prefix, DefaultPrefix)
	setDefault(&o.Region, DefaultRegion)
	setDefault(&o.HistorySize, DefaultHistorySize)
	setDefault(&o.HistoryTTL, DefaultHistoryTTL)
	setDefault(&o.PublishBatch, DefaultPublishBatch)
	setDefault(&o.PublishLanes, DefaultPublishLanes)
	setDefault(&o.PresenceSweep, DefaultPresenceSweep)
	setDefault(&o.HealthInterval, DefaultHealthInterval)
	setDefault(&o.DialTimeout, DefaultDialTimeout)
	setDefault(&o.IOTimeout, DefaultIOTimeout)
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	b := &Broker{
		o:              o,
		ttlSec:         int64(math.Ceil(o.HistoryTTL.Seconds())),
		log:            o.Logger.Named("redis"),
		m:              newMetrics(o.Registerer),
		publish:        goredis.NewScript(publishLua),
		history:        goredis.NewScript(historyLua),
		presenceSet:    goredis.NewScript(presenceSetLua),
		presenceExpire: goredis.NewScript(presenceExpireLua),
		hubsRegistry:   goredis.NewScript(hubsRegistryLua),
		done:           make(chan struct{}),
	}
	b.subscribers = make(map[string]*subscriber)
	b.subscribersChanged = make(chan struct{}, 1)
	if o.Cluster {
		b.cluster = goredis.NewClusterClient(&goredis.ClusterOptions{
			Addrs:                    o.Addrs,
			Username:                 o.Username,
			Password:                 o.Password,
			DialTimeout:              o.DialTimeout,
			ReadTimeout:              o.IOTimeout,
			WriteTimeout:             o.IOTimeout,
			MaxRetries:               -1, // as for standalone servers, below
			DialerRetries:            1,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
		b.cluster.AddHook(b.m.hook())
		b.shards = []*shard{{addr: "cluster", client: b.cluster, lanes: make([]pubQueue, o.PublishLanes)}}
		return b, nil
	}
	for i, a := range o.Addrs {
		c := goredis.NewClient(&goredis.Options{
			Addr:         a,
			Username:     o.Username,
			Password:     o.Password,
			DialTimeout:  o.DialTimeout,
			ReadTimeout:  o.IOTimeout,
			WriteTimeout: o.IOTimeout,
			// No retries inside the client: a publish retried after a lost
			// reply could be stored twice without a spool id; callers retry.
			MaxRetries: -1,
			// Fail fast while a server is down; the reconnect loops retry.
			DialerRetries: 1,
			// Maintenance notifications are a managed-service feature; off,
			// the client starts no background goroutines of its own.
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
		c.AddHook(b.m.hook())
		sub := newSubscriber(a, c, false)
		// The region's presence and the hub channels live on the first server.
		sub.presence, sub.hub = i == 0, i == 0 && o.HubID != ""
		b.shards = append(b.shards, &shard{addr: a, client: c, sub: sub, lanes: make([]pubQueue, o.PublishLanes)})
		b.subscribers[a] = sub
	}
	return b, nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func (b *Broker) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// enter registers a call that Close must wait for; false after Close.
// A true return must be paired with b.inflight.Done().
func (b *Broker) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.inflight.Add(1)
	return true
}

// Key names; see the package doc.
func (b *Broker) streamKey(ch string) string { return b.o.Prefix + ":{" + ch + "}:s" }
func (b *Broker) metaKey(ch string) string   { return b.o.Prefix + ":{" + ch + "}:m" }
func (b *Broker) pubsubName(ch string) string {
	return b.o.Prefix + ":{" + ch + "}"
}

// channelOf returns the channel of a pub/sub name, or false.
func (b *Broker) channelOf(name string) (string, bool) {
	p := b.o.Prefix + ":{"
	if len(name) < len(p)+1 || name[:len(p)] != p || name[len(name)-1] != '}' {
		return "", false
	}
	return name[len(p) : len(name)-1], true
}

// wrap adds the operation and marks errors of an unreachable server with
// backplane.ErrUnavailable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("backplane/redis: %s: %w", op, err)
	}
	if isUnavailable(err) {
		return fmt.Errorf("backplane/redis: %s: %w: %w", op, backplane.ErrUnavailable, err)
	}
	return fmt.Errorf("backplane/redis: %s: %w", op, err)
}

// isUnavailable: network errors, and the server replies that mean "not
// now" (loading, read-only replica, cluster down).
func isUnavailable(err error) bool {
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		return goredis.IsLoadingError(err) || goredis.IsReadOnlyError(err) || goredis.IsClusterDownError(err) ||
			goredis.IsTryAgainError(err) || goredis.IsMasterDownError(err)
	}
	return true
}

// Ready pings every server; an unreachable one is reported with
// backplane.ErrUnavailable.
func (b *Broker) Ready(ctx context.Context) error {
	if b.isClosed() {
		return backplane.ErrClosed
	}
	if b.cluster != nil {
		return wrap("ready", b.cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			return c.Ping(ctx).Err()
		}))
	}
	for _, s := range b.shards {
		if err := s.sub.client.Ping(ctx).Err(); err != nil {
			return wrap("ready "+s.addr, err)
		}
	}
	return nil
}

// publishCmd is the notification command of the scripts.
func (b *Broker) publishCmd() string {
	if b.cluster != nil {
		return "spublish"
	}
	return "publish"
}

// Run delivers publications of subscribed channels and presence changes to
// h, and expires presence entries, until ctx ends or Close is called; it
// returns nil then. It reconnects by itself (with a growing, jittered
// delay) whenever a server is unreachable.
//
// Delivery per channel follows backplane.Handler: in offset order, with
// gaps repaired from the stream; HandleReset when the epoch changed or the
// gap was already trimmed.
func (b *Broker) Run(ctx context.Context, h backplane.Handler) error {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return backplane.ErrClosed
	case b.running:
		b.mu.Unlock()
		return errors.New("backplane/redis: Run called twice")
	}
	b.running = true
	b.runWG.Add(1)
	b.mu.Unlock()
	defer b.runWG.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		select {
		case <-b.done:
			cancel()
		case <-ctx.Done():
		}
		return nil
	})
	g.Go(func() error {
		// One reader per subscriber, started as subscribers appear.
		started := make(map[*subscriber]bool)
		if b.cluster != nil {
			b.placeClusterChannels(ctx)
		}
		for {
			for _, s := range b.allSubscribers() {
				if !started[s] {
					started[s] = true
					g.Go(func() error { return b.runSubscriber(ctx, s, h) })
				}
			}
			select {
			case <-ctx.Done():
				return nil
			case <-b.subscribersChanged:
			}
		}
	})
	g.Go(func() error { return b.runPresenceSweep(ctx) })
	return g.Wait()
}

// Close stops Run, waits for it, and closes the connections; later calls
// return backplane.ErrClosed. Publish calls in flight finish first. It is
// idempotent.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.done)
		b.runWG.Wait()
		b.inflight.Wait()
		for _, s := range b.shards {
			if cerr := s.client.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("backplane/redis: close %s: %w", s.addr, cerr)
			}
		}
		// A cluster's node clients belong to the cluster client.
	})
	return err
}

// placeClusterChannels finds the masters of the presence and hub channels
// and marks their subscribers, retrying until it succeeds or ctx ends.
func (b *Broker) placeClusterChannels(ctx context.Context) {
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		err := b.placeChannel(ctx, b.o.Region, b.presenceChannel(), func(s *subscriber) { s.presence = true })
		if err == nil && b.o.HubID != "" {
			err = b.placeChannel(ctx, b.o.HubID, b.hubChannel(b.o.HubID), func(s *subscriber) { s.hub = true })
		}
		if err == nil {
			return
		}
		b.log.Warn("cluster not reachable", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (b *Broker) placeChannel(ctx context.Context, tag, name string, mark func(*subscriber)) error {
	s, err := b.subscriberFor(ctx, tag, name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	mark(s)
	ps := s.ps
	s.mu.Unlock()
	if ps != nil {
		_ = s.subscribe(ctx, ps, name) // a failure is the connection's: it reconnects with it
	}
	return nil
}
