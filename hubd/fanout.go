package hubd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/edgeplane/edgeplane/hubd/internal/window"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// sink is where a subscription's messages go: a dashboard session's send
// queue. enqueue never blocks; when the queue is over its bound it returns
// false and the sink closes itself (slow consumer, 1013). It is called with
// channel locks held.
type sink interface {
	encoding() frame.Proto
	enqueue(b []byte) bool
}

// shared is one hub → client message encoded at most once per encoding,
// on first use, and the same bytes are then queued to every session that
// uses that encoding (DESIGN.md: one encode per message per protocol).
type shared struct {
	msg  frame.ServerMessage
	once [2]sync.Once
	enc  [2][]byte
}

func newShared(m frame.ServerMessage) *shared { return &shared{msg: m} }

// bytes returns the encoding of the message in p, nil if it cannot be
// encoded (which is a bug: the hub built the message).
func (s *shared) bytes(p frame.Proto) []byte {
	s.once[p].Do(func() {
		b, err := frame.AppendServer(nil, s.msg, p)
		if err == nil {
			s.enc[p] = b
		}
	})
	return s.enc[p]
}

// fanout routes the backplane's publications of device channels to the
// local subscriptions. The hub holds one backplane subscription per channel,
// reference-counted by its local subscriptions. It is the hub's
// backplane.Handler (with presence, see presence.go).
type fanout struct {
	bp  backplane.Broker
	log hclog.Logger
	m   *metrics
	now func() time.Time

	mu       sync.Mutex // guards channels and every channel's refs
	channels map[string]*channel
}

func newFanout(bp backplane.Broker, log hclog.Logger, m *metrics) *fanout {
	return &fanout{bp: bp, log: log, m: m, now: time.Now, channels: make(map[string]*channel)}
}

// channel is the hub's state of one device channel.
type channel struct {
	name string
	f    *fanout

	refs int // guarded by fanout.mu: local subscriptions, pending ones included

	opMu       sync.Mutex // serializes the broker Subscribe/Unsubscribe of this channel
	subscribed bool       // guarded by opMu

	// mu guards the following fields; it is held for the whole delivery of
	// one publication, so that the streams see publications in order and
	// a subscription switches from replay to live between two of them.
	mu      sync.Mutex
	streams map[string]*stream // by window.Filter.Key()
}

// stream is the subscriptions of one channel that share a filter: they get
// the same messages, encoded once per encoding.
type stream struct {
	c       *channel
	filter  window.Filter
	subs    []*subscription
	limiter *window.Limiter // nil without max_rate
	timer   *time.Timer     // armed while the limiter holds a merged frame
	closed  bool
}

// subscription is one session's subscription to one device channel.
type subscription struct {
	ch   string
	sink sink
	st   *stream // guarded by the channel's mu
	idx  int     // position in st.subs

	// guarded by the channel's mu: while a subscription recovers from
	// history it buffers what the stream delivers (see subscribe.go).
	buffering bool
	buf       []bufItem
	maxBuf    int  // bound of buf: the session's send queue bound in messages
	overflow  bool // buf hit maxBuf: the session is closed as a slow consumer
	// seen is the position History read: frames of its epoch at or below
	// it were replayed or come before what was asked. The backplane may
	// deliver some of them to the hub only after the subscription went
	// live (a pub/sub connection lags behind the stream), so they are
	// dropped then too, not only while buffering.
	seen backplane.Position
}

// bufItem is a delivery held while its subscription reads history.
type bufItem struct {
	epoch string
	off   uint64  // of the frame; of the position after which offsets go on, for a reset
	msg   *shared // a frame, or a reset when reset is set
	reset bool
}

// acquire takes a reference on ch, subscribing the hub to it on the
// backplane for the first one.
func (f *fanout) acquire(ctx context.Context, name string) (*channel, error) {
	f.mu.Lock()
	c := f.channels[name]
	if c == nil {
		c = &channel{name: name, f: f, streams: make(map[string]*stream)}
		f.channels[name] = c
	}
	c.refs++
	f.mu.Unlock()

	c.opMu.Lock()
	defer c.opMu.Unlock()
	if !c.subscribed {
		if err := f.bp.Subscribe(ctx, name); err != nil {
			f.releaseLocked(c)
			return nil, fmt.Errorf("hubd: subscribe %s: %w", name, err)
		}
		c.subscribed = true
		f.m.channels.Inc()
	}
	return c, nil
}

// release drops a reference taken by acquire; the last one unsubscribes
// the hub from the channel.
func (f *fanout) release(c *channel) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	f.releaseLocked(c)
}

// releaseLocked is release with c.opMu held.
func (f *fanout) releaseLocked(c *channel) {
	f.mu.Lock()
	c.refs--
	last := c.refs == 0
	f.mu.Unlock()
	if !last {
		return
	}
	if c.subscribed {
		// Unsubscribe before the channel leaves the map: a new acquire
		// either finds this channel (and subscribes again under opMu) or
		// creates a new one after the broker was told.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := f.bp.Unsubscribe(ctx, c.name)
		cancel()
		if err != nil {
			f.log.Warn("unsubscribe failed", "channel", c.name, "error", err)
		}
		c.subscribed = false
		f.m.channels.Dec()
	}
	f.mu.Lock()
	if c.refs == 0 {
		delete(f.channels, c.name)
	}
	f.mu.Unlock()
}

// lookup returns the channel named ch, nil when the hub holds none.
func (f *fanout) lookup(ch string) *channel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.channels[ch]
}

// addLocked attaches sub to the stream of filt, creating it; c.mu held.
func (c *channel) addLocked(sub *subscription, filt window.Filter) {
	key := filt.Key()
	st := c.streams[key]
	if st == nil {
		st = &stream{c: c, filter: filt}
		if filt.MaxRate > 0 {
			st.limiter = window.NewLimiter(filt)
		}
		c.streams[key] = st
	}
	sub.st = st
	sub.idx = len(st.subs)
	st.subs = append(st.subs, sub)
}

// removeLocked detaches sub from its stream; c.mu held.
func (c *channel) removeLocked(sub *subscription) {
	st := sub.st
	if st == nil {
		return
	}
	last := len(st.subs) - 1
	st.subs[sub.idx] = st.subs[last]
	st.subs[sub.idx].idx = sub.idx
	st.subs[last] = nil
	st.subs = st.subs[:last]
	sub.st = nil
	if len(st.subs) == 0 {
		st.closed = true
		if st.timer != nil {
			st.timer.Stop()
			st.timer = nil
		}
		delete(c.streams, st.filter.Key())
	}
}

// HandlePublication implements backplane.Handler: it decodes the stored
// frame once and hands it to every stream of the channel.
func (f *fanout) HandlePublication(ch string, epoch string, p backplane.Publication) {
	c := f.lookup(ch)
	if c == nil {
		return
	}
	st, err := frame.DecodeStored(p.Data)
	if err != nil {
		f.log.Warn("undecodable publication", "channel", ch, "offset", p.Offset, "error", err)
		return
	}
	df := dashFrame(ch, p.Offset, st)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.streams {
		s.pushLocked(epoch, df)
	}
}

// HandleReset implements backplane.Handler: every subscription of the
// channel is told that its history was lost.
func (f *fanout) HandleReset(ch string, pos backplane.Position) {
	c := f.lookup(ch)
	if c == nil {
		return
	}
	msg := newShared(&frame.Reset{Ch: ch, Epoch: pos.Epoch})
	c.mu.Lock()
	defer c.mu.Unlock()
	f.m.resets.Inc()
	for _, s := range c.streams {
		if s.limiter != nil {
			s.limiter.Reset()
		}
		for _, sub := range s.subs {
			sub.deliverLocked(bufItem{epoch: pos.Epoch, off: pos.Offset, msg: msg, reset: true})
		}
	}
}

// dashFrame builds the dashboard frame of a stored frame.
func dashFrame(ch string, off uint64, st *frame.Stored) *frame.DashFrame {
	return &frame.DashFrame{Ch: ch, Off: off, Device: st.Device, Seq: st.Seq, T0: st.T0, Samples: st.Samples}
}

// pushLocked runs one frame through the stream's filter and delivers what
// comes out; the channel's mu is held. This is the per-subscription filter
// hook: sensors selects samples, max_rate merges frames per window.
func (s *stream) pushLocked(epoch string, df *frame.DashFrame) {
	df = s.filter.Select(df)
	if df == nil {
		return
	}
	if s.limiter != nil {
		now := s.c.f.now()
		out, flushAt := s.limiter.Push(now, df)
		if out == nil {
			if s.timer == nil {
				s.timer = time.AfterFunc(flushAt.Sub(now), func() { s.flush(epoch) })
			}
			return
		}
		df = out
	}
	s.emitLocked(epoch, df)
}

// flush sends the limiter's merged frame when its window is over.
func (s *stream) flush(epoch string) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closed {
		return
	}
	s.timer = nil
	if df := s.limiter.Flush(c.f.now()); df != nil {
		s.emitLocked(epoch, df)
	}
}

// emitLocked delivers one frame to every subscription of the stream.
func (s *stream) emitLocked(epoch string, df *frame.DashFrame) {
	it := bufItem{epoch: epoch, off: df.Off, msg: newShared(df)}
	n := 0
	for _, sub := range s.subs {
		if sub.deliverLocked(it) {
			n++
		}
	}
	s.c.f.m.deliveries.Add(float64(n))
}

// deliverLocked queues it to the session, or buffers it while the
// subscription recovers. It reports whether a frame was queued.
func (sub *subscription) deliverLocked(it bufItem) bool {
	if !it.reset && it.epoch == sub.seen.Epoch && it.off <= sub.seen.Offset {
		return false
	}
	if sub.buffering {
		if len(sub.buf) >= sub.maxBuf {
			sub.overflow = true
			return false
		}
		sub.buf = append(sub.buf, it)
		return false
	}
	b := it.msg.bytes(sub.sink.encoding())
	if b == nil {
		return false
	}
	return sub.sink.enqueue(b) && !it.reset
}
