package memory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/internal/backplane"
)

var (
	_ backplane.Backplane = (*Broker)(nil)
	_ backplane.Ready     = (*Broker)(nil)
	_ backplane.Hubs      = (*Broker)(nil)
)

// Defaults of Options.
const (
	DefaultHistorySize = 1000
	DefaultHistoryTTL  = 24 * time.Hour
	// HubQueueSize bounds hub messages waiting for Run.
	HubQueueSize = 1024
)

// Options configure New. The zero value (or nil) is valid.
type Options struct {
	// HistorySize is how many publications each channel keeps; older ones
	// are trimmed. 0 means DefaultHistorySize.
	HistorySize int
	// HistoryTTL is how long a channel's history lives after its last
	// publication; then it is dropped and the channel starts again with a new
	// epoch (like an expired Redis key). 0 means DefaultHistoryTTL.
	HistoryTTL time.Duration
	// HubID, when set, is this node's hub id for backplane.Hubs: messages
	// sent to it are delivered to a Handler that implements
	// backplane.HubHandler. On one node there is no other hub to reach.
	HubID string
	// Now is the clock of history and presence expiry; nil means time.Now.
	Now func() time.Time
	// Logger is named "memory"; nil discards logs.
	Logger hclog.Logger
	// Registerer receives the broker's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Broker is an in-process backplane.Backplane. It is safe for concurrent
// use; Run must be called once to deliver to a Handler.
type Broker struct {
	historySize int
	historyTTL  time.Duration
	hubID       string
	now         func() time.Time
	log         hclog.Logger
	m           *metrics

	notify chan struct{} // cap 1: something to deliver (dirty channels, presence changes, new expiry)
	done   chan struct{} // closed by Close

	closeOnce sync.Once

	// mu guards the following fields.
	mu       sync.Mutex
	closed   bool
	running  bool                // Run was called
	chans    map[string]*channel // history, by channel name
	subs     map[string]*cursor  // channels this node subscribes to
	dirty    []string            // subscribed channels with undelivered publications, each once
	devices  map[string]*device
	presence []backplane.DeviceState // changes not yet delivered, in order
	hubMsgs  [][]byte                // hub messages not yet delivered, at most HubQueueSize
	hubs     map[string]hubEntry     // hub registry
	cursors  map[string]backplane.Position
}

// channel is one channel's history.
type channel struct {
	epoch   string
	top     uint64
	pubs    []backplane.Publication // ascending, contiguous, ending at top
	spoolID string                  // dedup key of the last publication with a spool id
	lastSeq uint64
	expires time.Time
}

// cursor is where delivery of a subscribed channel stands.
type cursor struct {
	pos     backplane.Position // last delivered (or the top when subscribing)
	pending bool               // listed in Broker.dirty
}

// New returns a Broker with empty history and presence.
func New(opts *Options) (*Broker, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.HistorySize < 0 {
		return nil, fmt.Errorf("backplane/memory: negative history size %d", o.HistorySize)
	}
	if o.HistoryTTL < 0 {
		return nil, fmt.Errorf("backplane/memory: negative history ttl %v", o.HistoryTTL)
	}
	if o.HistorySize == 0 {
		o.HistorySize = DefaultHistorySize
	}
	if o.HistoryTTL == 0 {
		o.HistoryTTL = DefaultHistoryTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	return &Broker{
		historySize: o.HistorySize,
		historyTTL:  o.HistoryTTL,
		hubID:       o.HubID,
		now:         o.Now,
		log:         o.Logger.Named("memory"),
		m:           newMetrics(o.Registerer),
		notify:      make(chan struct{}, 1),
		done:        make(chan struct{}),
		chans:       make(map[string]*channel),
		subs:        make(map[string]*cursor),
		devices:     make(map[string]*device),
		hubs:        make(map[string]hubEntry),
		cursors:     make(map[string]backplane.Position),
	}, nil
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func (b *Broker) wake() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// channelLocked returns ch's history, dropping it first when it expired and
// creating it (with a new epoch) when absent.
func (b *Broker) channelLocked(ch string, now time.Time) *channel {
	c := b.chans[ch]
	if c != nil && !now.Before(c.expires) {
		delete(b.chans, ch)
		c = nil
	}
	if c == nil {
		c = &channel{epoch: newEpoch(), expires: now.Add(b.historyTTL)}
		b.chans[ch] = c
	}
	return c
}

// Publish stores data in ch's history and marks ch for delivery. It never
// waits for the Handler. data is copied.
func (b *Broker) Publish(ctx context.Context, ch string, data []byte, opts backplane.PublishOptions) (backplane.PublishResult, error) {
	if err := ctx.Err(); err != nil {
		return backplane.PublishResult{}, fmt.Errorf("backplane/memory: publish %s: %w", ch, err)
	}
	now := b.now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return backplane.PublishResult{}, backplane.ErrClosed
	}
	c := b.channelLocked(ch, now)
	if opts.SpoolID != "" && opts.SpoolID == c.spoolID && opts.Seq <= c.lastSeq {
		pos := backplane.Position{Epoch: c.epoch, Offset: c.top}
		b.mu.Unlock()
		b.m.duplicate.Inc()
		return backplane.PublishResult{Position: pos, Duplicate: true}, nil
	}
	if opts.SpoolID != "" {
		c.spoolID, c.lastSeq = opts.SpoolID, opts.Seq
	}
	c.top++
	c.pubs = append(c.pubs, backplane.Publication{Offset: c.top, Data: append([]byte(nil), data...)})
	if n := len(c.pubs) - b.historySize; n > 0 {
		// Copy down now and then instead of reslicing forever, so trimmed
		// publications are freed.
		if cap(c.pubs) > 2*b.historySize {
			c.pubs = append(make([]backplane.Publication, 0, 2*b.historySize), c.pubs[n:]...)
		} else {
			c.pubs = c.pubs[n:]
		}
	}
	c.expires = now.Add(b.historyTTL)
	pos := backplane.Position{Epoch: c.epoch, Offset: c.top}
	notify := false
	if cur := b.subs[ch]; cur != nil && !cur.pending {
		cur.pending = true
		b.dirty = append(b.dirty, ch)
		notify = true
	}
	b.mu.Unlock()
	b.m.stored.Inc()
	if notify {
		b.wake()
	}
	return backplane.PublishResult{Position: pos}, nil
}

// PublishBatch publishes msgs on ch in order, one Publish each; it stops
// at the first error.
func (b *Broker) PublishBatch(ctx context.Context, ch string, msgs []backplane.Message) ([]backplane.PublishResult, error) {
	res := make([]backplane.PublishResult, 0, len(msgs))
	for _, m := range msgs {
		r, err := b.Publish(ctx, ch, m.Data, m.Opts)
		if err != nil {
			return res, err
		}
		res = append(res, r)
	}
	return res, nil
}

// Subscribe makes Run deliver ch's publications after its current top.
// Subscribing again keeps the existing cursor.
func (b *Broker) Subscribe(ctx context.Context, ch string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: subscribe %s: %w", ch, err)
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.ErrClosed
	}
	if b.subs[ch] != nil {
		return nil
	}
	c := b.channelLocked(ch, now)
	b.subs[ch] = &cursor{pos: backplane.Position{Epoch: c.epoch, Offset: c.top}}
	return nil
}

// Unsubscribe stops delivery of ch; publications not yet delivered are not.
func (b *Broker) Unsubscribe(ctx context.Context, ch string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: unsubscribe %s: %w", ch, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.ErrClosed
	}
	delete(b.subs, ch) // a pending entry in dirty is skipped by deliver
	return nil
}

// History reads ch's stored publications (see backplane.HistoryOptions).
// The returned Data must not be modified.
func (b *Broker) History(ctx context.Context, ch string, opts backplane.HistoryOptions) (backplane.HistoryResult, error) {
	if err := ctx.Err(); err != nil {
		return backplane.HistoryResult{}, fmt.Errorf("backplane/memory: history %s: %w", ch, err)
	}
	if opts.Last < 0 {
		return backplane.HistoryResult{}, fmt.Errorf("backplane/memory: history %s: negative last %d", ch, opts.Last)
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.HistoryResult{}, backplane.ErrClosed
	}
	c := b.channelLocked(ch, now)
	res := backplane.HistoryResult{Position: backplane.Position{Epoch: c.epoch, Offset: c.top}}
	if s := opts.Since; s != nil {
		pubs, ok := c.after(*s)
		if ok {
			res.Publications = append([]backplane.Publication(nil), pubs...)
			res.Recovered = true
		}
		return res, nil
	}
	n := min(opts.Last, len(c.pubs))
	if n > 0 {
		res.Publications = append([]backplane.Publication(nil), c.pubs[len(c.pubs)-n:]...)
	}
	return res, nil
}

// after returns the publications after pos, and false when pos is of
// another epoch, beyond the top, or publications after it were trimmed.
func (c *channel) after(pos backplane.Position) ([]backplane.Publication, bool) {
	if pos.Epoch != c.epoch || pos.Offset > c.top {
		return nil, false
	}
	if pos.Offset == c.top {
		return nil, true
	}
	first := c.pubs[0].Offset // c.pubs is not empty: top > pos.Offset >= 0
	if pos.Offset+1 < first {
		return nil, false
	}
	return c.pubs[pos.Offset+1-first:], true
}

// Ready reports ErrClosed after Close; the memory broker is otherwise
// always reachable.
func (b *Broker) Ready(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return backplane.ErrClosed
	}
	return ctx.Err()
}

// Run delivers to h until ctx ends or Close is called, and returns nil
// then. It also expires presence entries (HandlePresence with Online false)
// and drops expired channel histories.
//
// For each subscribed channel, h sees every publication after the position
// at Subscribe, in offset order. When the channel's epoch changed (its
// history expired) h gets HandleReset with the position before the next
// delivered publication. When h fell so far behind that publications it has
// not seen were trimmed (more than HistorySize), it gets HandleReset with
// the unchanged epoch and the position before the oldest retained
// publication: the gap is announced, never silent.
func (b *Broker) Run(ctx context.Context, h backplane.Handler) error {
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return backplane.ErrClosed
	case b.running:
		b.mu.Unlock()
		return errors.New("backplane/memory: Run called twice")
	}
	b.running = true
	b.mu.Unlock()

	sweep := time.NewTicker(min(b.historyTTL, time.Minute))
	defer sweep.Stop()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	for {
		next := b.deliver(h)
		if !next.IsZero() {
			expiry.Reset(max(next.Sub(b.now()), 0))
		} else {
			expiry.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.done:
			return nil
		case <-b.notify:
		case <-expiry.C:
		case <-sweep.C:
			b.sweep()
		}
	}
}

// deliver hands every pending publication and presence change to h, and
// returns the next presence expiry (zero if none).
func (b *Broker) deliver(h backplane.Handler) time.Time {
	for {
		b.mu.Lock()
		next := b.expireLocked(b.now())
		changes := b.presence
		b.presence = nil
		dirty := b.dirty
		b.dirty = nil
		msgs := b.hubMsgs
		b.hubMsgs = nil
		b.mu.Unlock()
		if len(changes) == 0 && len(dirty) == 0 && len(msgs) == 0 {
			return next
		}
		for _, d := range changes {
			h.HandlePresence(d)
		}
		if hh, ok := h.(backplane.HubHandler); ok {
			for _, m := range msgs {
				hh.HandleHubMessage(m)
			}
		}
		for _, ch := range dirty {
			b.deliverChannel(h, ch)
		}
	}
}

// deliverChannel hands ch's undelivered publications to h. Only Run's
// goroutine calls it, so the cursor moves before h is called without
// another delivery racing it.
func (b *Broker) deliverChannel(h backplane.Handler, ch string) {
	now := b.now()
	b.mu.Lock()
	cur := b.subs[ch]
	if cur == nil {
		b.mu.Unlock()
		return
	}
	cur.pending = false
	c := b.chans[ch]
	if c == nil || !now.Before(c.expires) {
		b.mu.Unlock()
		return // expired: the next publication creates it with a new epoch
	}
	var reset *backplane.Position
	pubs, ok := c.after(cur.pos)
	if !ok {
		first := uint64(0)
		if len(c.pubs) > 0 {
			first = c.pubs[0].Offset - 1
		}
		if c.epoch != cur.pos.Epoch {
			b.m.resetEpoch.Inc()
		} else {
			b.m.resetTrimmed.Inc()
		}
		reset = &backplane.Position{Epoch: c.epoch, Offset: first}
		pubs = c.pubs
	}
	cur.pos = backplane.Position{Epoch: c.epoch, Offset: c.top}
	b.mu.Unlock()
	if reset != nil {
		b.log.Debug("reset", "channel", ch, "epoch", reset.Epoch, "offset", reset.Offset)
		h.HandleReset(ch, *reset)
	}
	for _, p := range pubs {
		h.HandlePublication(ch, c.epoch, p)
	}
}

// sweep drops expired histories that nobody touched since they expired.
func (b *Broker) sweep() {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for name, c := range b.chans {
		if !now.Before(c.expires) {
			delete(b.chans, name)
		}
	}
}

// Close stops Run and makes later calls return backplane.ErrClosed. It is
// idempotent.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.done)
	})
	return nil
}

// sortDevices orders by ID, so Devices is deterministic.
func sortDevices(ds []backplane.DeviceState) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].ID < ds[j].ID })
}

// SendToHub queues data for this node's Handler when hub is Options.HubID
// (a Handler without HandleHubMessage drops it); any other hub id is
// ErrNoHub. Past HubQueueSize undelivered messages it fails instead of
// growing.
func (b *Broker) SendToHub(ctx context.Context, hub string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backplane/memory: send to hub %s: %w", hub, err)
	}
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return backplane.ErrClosed
	case b.hubID == "" || hub != b.hubID:
		b.mu.Unlock()
		return fmt.Errorf("backplane/memory: send to hub %s: %w", hub, backplane.ErrNoHub)
	case len(b.hubMsgs) >= HubQueueSize:
		b.mu.Unlock()
		return fmt.Errorf("backplane/memory: send to hub %s: queue full", hub)
	}
	b.hubMsgs = append(b.hubMsgs, append([]byte(nil), data...))
	b.mu.Unlock()
	b.wake()
	return nil
}
