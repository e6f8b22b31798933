package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// clientLimits bound what a simulated dashboard decodes: the hub coalesces
// queued messages into writes of up to 1 MiB plus one message.
const (
	clientMaxMessageBytes = 16 << 20
	clientMaxArrayLen     = 1 << 20
)

func clientLimits() *frame.Limits {
	return &frame.Limits{MaxMessageBytes: clientMaxMessageBytes, MaxArrayLen: clientMaxArrayLen}
}

// chanState is one subscription of a simulated dashboard.
type chanState struct {
	ch  string
	dev int

	// Set from the first sub's ok, before the client reports ready.
	base uint64 // the channel's newest offset when subscribed

	// Client-owned.
	epoch string
	gaps  uint64 // offsets skipped (frames missed)
	dups  uint64 // offsets delivered again
	rcvd  uint64

	last atomic.Uint64 // highest offset delivered; read by the runner for completion
}

// simClient is one simulated dashboard (docs/PROTOCOL.md, "Dashboard
// link"): it subscribes to its channels, checks that offsets arrive
// contiguous, measures t0 → receive latency, and when the hub closes it as
// a slow consumer (1013) reconnects and recovers with since, as a real
// client does.
//
// Goroutines: none of its own; run reads on the caller's goroutine.
type simClient struct {
	r     *Runner
	idx   int
	lim   *frame.Limits // decode limits, made once: DecodeServer runs per message
	chans []*chanState
	byCh  map[string]*chanState

	// Client-owned until run returns.
	e2e          histogram
	deliveries   uint64
	slowCloses   uint64
	reconnects   uint64
	notRecovered uint64
	resets       uint64

	doneOnce sync.Once
	done     chan struct{} // closed when every channel has all frames of the run
}

func (r *Runner) newClient(idx int) *simClient {
	s := &simClient{r: r, idx: idx, lim: clientLimits(), byCh: make(map[string]*chanState), done: make(chan struct{})}
	for j := range r.cfg.ChannelsPerClient {
		dev := r.cfg.deviceOf(idx, j)
		cs := &chanState{ch: frame.DeviceChannel(r.deviceID(dev)), dev: dev}
		s.chans = append(s.chans, cs)
		s.byCh[cs.ch] = cs
	}
	return s
}

// run connects and reads until ctx ends; after a slow-consumer close it
// reconnects and resumes every channel with since.
func (s *simClient) run(ctx context.Context) error {
	first := true
	for {
		c, err := s.connect(ctx, !first)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = s.readLoop(ctx, c, first)
		c.CloseNow()
		first = false
		switch {
		case err == nil:
			return nil
		case websocket.CloseStatus(err) == websocket.StatusTryAgainLater:
			s.slowCloses++
			s.reconnects++
			s.r.slowCloses.Add(1)
		default:
			return fmt.Errorf("loadtest: dashboard %d: %w", s.idx, err)
		}
	}
}

// connect dials /v1/ws and sends a sub for every channel: live on the first
// connection, with since after a reconnect.
func (s *simClient) connect(ctx context.Context, resume bool) (*websocket.Conn, error) {
	r := s.r
	release, err := r.dialSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	dctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	sub := frame.SubprotocolJSON
	if r.proto == frame.ProtoCBOR {
		sub = frame.SubprotocolCBOR
	}
	opts := &websocket.DialOptions{HTTPClient: r.httpClient, Subprotocols: []string{sub}}
	if r.cfg.ClientToken != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + r.cfg.ClientToken}}
	}
	c, resp, err := websocket.Dial(dctx, r.clientURL, opts)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("loadtest: dashboard %d: dial %s: HTTP %d: %w", s.idx, r.clientURL, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("loadtest: dashboard %d: dial %s: %w", s.idx, r.clientURL, err)
	}
	c.SetReadLimit(clientMaxMessageBytes)
	typ := websocket.MessageText
	if r.proto == frame.ProtoCBOR {
		typ = websocket.MessageBinary
	}
	var buf []byte
	for j, cs := range s.chans {
		m := &frame.ClientMessage{Op: frame.OpSub, ID: uint64(j + 1), HasID: true, Ch: cs.ch}
		if resume {
			m.Since = &frame.Since{Epoch: cs.epoch, Off: cs.last.Load()}
		}
		if buf, err = frame.AppendClient(buf[:0], m, r.proto); err != nil {
			c.CloseNow()
			return nil, fmt.Errorf("loadtest: dashboard %d: encode sub: %w", s.idx, err)
		}
		if err := c.Write(dctx, typ, buf); err != nil {
			c.CloseNow()
			return nil, fmt.Errorf("loadtest: dashboard %d: send sub: %w", s.idx, err)
		}
	}
	return c, nil
}

// readLoop reads until ctx ends (nil) or the connection fails. On the first
// connection it reports ready once every sub is answered.
func (s *simClient) readLoop(ctx context.Context, c *websocket.Conn, first bool) error {
	pending := len(s.chans)
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		now := time.Now().UnixNano()
		n, err := s.handle(b, now, first, &pending)
		if err != nil {
			return err
		}
		if n > 0 {
			s.deliveries += n
			s.r.deliveries.Add(n)
			if s.r.targetsSet.Load() && s.complete() {
				s.doneOnce.Do(func() { close(s.done) })
			}
		}
	}
}

// handle handles one WebSocket message (a batch) and returns the frames in
// it. JSON frames are scanned (see scan.go) unless FullDecode is set.
func (s *simClient) handle(b []byte, now int64, first bool, pending *int) (uint64, error) {
	if s.r.proto != frame.ProtoJSON || s.r.cfg.FullDecode {
		return s.decode(b, now, first, pending)
	}
	var n uint64
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if f, ok := scanJSONFrame(line); ok {
			cs := s.byCh[string(f.ch)]
			if cs == nil {
				return n, fmt.Errorf("frame of %s, not subscribed", f.ch)
			}
			s.onFrame(cs, f.off, f.t0, now)
			n++
			continue
		}
		k, err := s.decode(line, now, first, pending)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// decode handles a message, or one line of a JSON batch, through the full
// decoder.
func (s *simClient) decode(b []byte, now int64, first bool, pending *int) (uint64, error) {
	msgs, err := frame.DecodeServer(b, s.r.proto, s.lim)
	if err != nil {
		return 0, fmt.Errorf("decode: %w", err)
	}
	var n uint64
	for _, m := range msgs {
		switch m := m.(type) {
		case *frame.DashFrame:
			cs := s.byCh[m.Ch]
			if cs == nil {
				return n, fmt.Errorf("frame of %s, not subscribed", m.Ch)
			}
			s.onFrame(cs, m.Off, m.T0, now)
			n++
		case *frame.OK:
			if m.ID == 0 || m.ID > uint64(len(s.chans)) {
				return n, fmt.Errorf("ok with unknown id %d", m.ID)
			}
			s.onOK(s.chans[m.ID-1], m, first)
			if *pending--; *pending == 0 && first {
				s.r.ready()
			}
		case *frame.Reset:
			s.resets++
			if cs := s.byCh[m.Ch]; cs != nil {
				cs.epoch = m.Epoch
			}
		case *frame.ErrorReply:
			return n, fmt.Errorf("hub replied error %d to request %d: %s", m.Code, m.ID, m.Message)
		}
	}
	return n, nil
}

func (s *simClient) onFrame(cs *chanState, off uint64, t0, now int64) {
	s.e2e.record(time.Duration(now - t0))
	cs.rcvd++
	last := cs.last.Load()
	switch {
	case off == last+1:
		cs.last.Store(off)
	case off <= last:
		cs.dups++
	default:
		cs.gaps += off - last - 1
		cs.last.Store(off)
	}
}

func (s *simClient) onOK(cs *chanState, m *frame.OK, first bool) {
	if first {
		cs.epoch, cs.base = m.Epoch, m.Off
		cs.last.Store(m.Off)
		return
	}
	if m.Recovered != nil && *m.Recovered {
		return // what was missed follows, in order
	}
	// Not recovered: what was missed is lost to this client.
	s.notRecovered++
	if last := cs.last.Load(); m.Epoch == cs.epoch && m.Off > last {
		cs.gaps += m.Off - last
	}
	cs.epoch = m.Epoch
	cs.last.Store(m.Off)
}

// complete reports whether every channel got the frames of the run: the
// runner's targets are the frames ACKed per device.
func (s *simClient) complete() bool {
	for _, cs := range s.chans {
		if cs.last.Load() < cs.base+s.r.targets[cs.dev].Load() {
			return false
		}
	}
	return true
}
