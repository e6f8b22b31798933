package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/edgeplane/edgeplane/agent/queue"
	"github.com/edgeplane/edgeplane/internal/frame"
	"github.com/edgeplane/edgeplane/internal/version"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"
)

// Uplink tuning. A message carries at most maxFramesPerMessage frames and
// maxMessageBytes of them (the hub's default limit is 1 MiB), so that a
// spool replay after an outage goes out in few, large writes.
const (
	maxFramesPerMessage = 64
	maxMessageBytes     = 256 << 10
	pingInterval        = 20 * time.Second
	writeTimeout        = 30 * time.Second
	commandQueueLen     = 32
	// A session counts as working (the reconnect delay starts again from
	// its minimum) when the hub acknowledged something or it lasted this long.
	workedAfter = 10 * time.Second
)

// HubError is an ERROR message from the hub (PROTOCOL.md, "Agent link",
// ERROR); the hub closes the connection after it.
type HubError struct {
	Code    uint16
	Message string
}

func (e *HubError) Error() string {
	return fmt.Sprintf("uplink: hub error %d: %s", e.Code, e.Message)
}

// uplink streams the queue to a hub over the agent link (PROTOCOL.md,
// "Agent link"): HELLO, WELCOME, FRAMEs in a bounded window, ACKs, and
// COMMAND/RESULT. It is the queue's only consumer.
type uplink struct {
	a   *Agent
	q   queue.Queue
	log hclog.Logger
	m   *metrics
	url int // index into a.s.urls of the hub to dial next
	buf []byte
}

func newUplink(a *Agent, q queue.Queue) *uplink {
	return &uplink{a: a, q: q, log: a.log.Named("uplink"), m: a.m}
}

// run keeps a hub session up until ctx ends, reconnecting with backoff.
func (u *uplink) run(ctx context.Context) error {
	s := u.a.s
	b := &backoff{min: s.reconnectMin, max: s.reconnectMax, rand: u.a.rand}
	reconnect(ctx, b, u.session, func(err error, d time.Duration) {
		u.log.Warn("hub connection ended; reconnecting", "error", err, "retry_in", d.Round(time.Millisecond).String())
	})
	return nil
}

// session is one connection: dial, HELLO, WELCOME, then stream until
// something fails or ctx ends. It always returns with the connection
// closed and every goroutine it started ended.
func (u *uplink) session(ctx context.Context) (worked bool, err error) {
	s := u.a.s
	url := s.urls[u.url]
	defer func() {
		if !worked && len(s.urls) > 1 {
			u.url = (u.url + 1) % len(s.urls)
		}
	}()

	hctx, cancel := context.WithTimeout(ctx, s.handshake)
	defer cancel()
	hdr := http.Header{}
	if s.token != "" {
		hdr.Set("Authorization", "Bearer "+s.token.Reveal())
	}
	c, resp, err := websocket.Dial(hctx, url, &websocket.DialOptions{
		HTTPClient:   u.a.client,
		HTTPHeader:   hdr,
		Subprotocols: []string{frame.SubprotocolAgent},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			u.m.dials.WithLabelValues("rejected").Inc()
			return false, fmt.Errorf("uplink: dial %s: HTTP %s: %w", url, resp.Status, err)
		}
		u.m.dials.WithLabelValues("error").Inc()
		return false, fmt.Errorf("uplink: dial %s: %w", url, err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != frame.SubprotocolAgent {
		u.m.dials.WithLabelValues("rejected").Inc()
		c.Close(websocket.StatusProtocolError, "subprotocol "+frame.SubprotocolAgent+" required")
		return false, fmt.Errorf("uplink: dial %s: the hub did not accept subprotocol %s", url, frame.SubprotocolAgent)
	}
	c.SetReadLimit(frame.DefaultAgentMessageBytes)

	// HELLO, then WELCOME (PROTOCOL.md, "Agent link", HELLO and WELCOME).
	hello := &frame.Hello{
		DeviceID:     s.deviceID,
		AgentVersion: version.Get().Version,
		Sensors:      u.a.sensorInfos(),
		Labels:       s.labels,
		FirstSeq:     u.q.FirstSeq(),
		SpoolID:      u.q.ID(),
	}
	if err := u.send(hctx, c, hello); err != nil {
		u.m.dials.WithLabelValues("error").Inc()
		return false, err
	}
	msgs, err := u.read(hctx, c)
	if err != nil {
		u.m.dials.WithLabelValues("error").Inc()
		return false, fmt.Errorf("uplink: waiting for WELCOME: %w", err)
	}
	w, ok := msgs[0].(*frame.Welcome)
	if !ok {
		u.m.dials.WithLabelValues("rejected").Inc()
		if e, ok := msgs[0].(*frame.Error); ok {
			return false, &HubError{Code: e.Code, Message: e.Message}
		}
		u.protocolError(c, fmt.Errorf("%w: expected WELCOME, got kind %d", frame.ErrInvalid, msgs[0].Kind()))
		return false, fmt.Errorf("uplink: expected WELCOME, got message kind %d", msgs[0].Kind())
	}
	u.m.dials.WithLabelValues("ok").Inc()

	// Everything up to acked_seq is stored at the hub: release it, and
	// resend the rest.
	first := u.q.FirstSeq()
	next := first + uint64(u.q.Stats().Records)
	if w.AckedSeq >= first {
		if err := u.q.Ack(w.AckedSeq); err != nil {
			return false, fmt.Errorf("uplink: ack %d: %w", w.AckedSeq, err)
		}
	}
	if w.AckedSeq >= next {
		// The hub has seqs of this spool id that the spool has not made
		// (a spool restored from an old copy): frames up to acked_seq
		// would be taken for duplicates.
		u.log.Warn("hub acknowledges seqs this spool has not made yet; frames up to acked_seq will be treated as duplicates",
			"acked_seq", w.AckedSeq, "next_seq", next, "spool_id", u.q.ID())
	}
	st := &sessionState{ackCh: make(chan struct{}, 1), cmds: make(chan *frame.Command, commandQueueLen)}
	st.acked.Store(w.AckedSeq)
	sent := max(w.AckedSeq, first-1)
	u.m.ackedSeq.Set(float64(w.AckedSeq))
	u.m.connected.Set(1)
	defer u.m.connected.Set(0)
	welcomed := time.Now()
	log := u.log.With("hub", url, "hub_id", w.HubID, "region", w.Region)
	log.Info("connected", "acked_seq", w.AckedSeq, "first_seq", first, "queued_frames", u.q.Stats().Records)
	defer func() {
		worked = st.gotAck.Load() || time.Since(welcomed) >= workedAfter
	}()

	for _, m := range msgs[1:] {
		if err := u.handle(ctx, c, st, m); err != nil {
			return false, err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		// Closing is the only way to end a Read: 1001 when the agent
		// stops, an abrupt close when the session failed.
		<-gctx.Done()
		if ctx.Err() != nil {
			c.Close(websocket.StatusGoingAway, "agent stopping")
		} else {
			c.CloseNow()
		}
		return nil
	})
	g.Go(func() error {
		// The one reader of the connection, for its whole life. Its ctx
		// is not gctx: cancelling a Read mid-message closes the
		// connection before the 1001 above could be sent.
		rctx := context.WithoutCancel(ctx)
		for {
			msgs, err := u.read(rctx, c)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if err := u.handle(gctx, c, st, m); err != nil {
					return err
				}
			}
		}
	})
	g.Go(func() error { return u.stream(gctx, c, st, sent) })
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case cmd := <-st.cmds:
				// A command under way finishes even when the session ends.
				r := u.a.execute(context.WithoutCancel(ctx), cmd)
				if err := u.send(gctx, c, r); err != nil {
					return err
				}
			}
		}
	})
	g.Go(func() error {
		t := time.NewTicker(pingInterval)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
				pctx, cancel := context.WithTimeout(gctx, s.handshake)
				err := c.Ping(pctx)
				cancel()
				if err != nil && gctx.Err() == nil {
					return fmt.Errorf("uplink: no pong within %s: %w", s.handshake, err)
				}
			}
		}
	})
	err = g.Wait()
	if ctx.Err() != nil {
		u.m.disconnects.WithLabelValues("shutdown").Inc()
		log.Info("disconnected: agent stopping")
		return true, nil
	}
	var he *HubError
	switch {
	case errors.As(err, &he):
		u.m.disconnects.WithLabelValues("hub_error").Inc()
	case errors.Is(err, frame.ErrInvalid), errors.Is(err, frame.ErrUndecodable), errors.Is(err, frame.ErrTooLarge):
		u.m.disconnects.WithLabelValues("protocol").Inc()
	default:
		u.m.disconnects.WithLabelValues("network").Inc()
	}
	return false, err
}

// sessionState is shared by a session's goroutines.
type sessionState struct {
	acked  atomic.Uint64 // highest seq the hub acknowledged
	gotAck atomic.Bool
	ackCh  chan struct{} // capacity one: acked moved
	cmds   chan *frame.Command
}

// handle acts on one hub message after WELCOME.
func (u *uplink) handle(ctx context.Context, c *websocket.Conn, st *sessionState, m frame.Message) error {
	switch m := m.(type) {
	case *frame.Ack:
		if m.Seq <= st.acked.Load() {
			return nil
		}
		if err := u.q.Ack(m.Seq); err != nil {
			return fmt.Errorf("uplink: ack %d: %w", m.Seq, err)
		}
		st.acked.Store(m.Seq)
		st.gotAck.Store(true)
		u.m.ackedSeq.Set(float64(m.Seq))
		u.m.lastAck.SetToCurrentTime()
		select {
		case st.ackCh <- struct{}{}:
		default:
		}
	case *frame.Command:
		select {
		case st.cmds <- m:
		default:
			// Commands are quick; a hub that sends this many at once
			// gets told to slow down rather than queued without bound.
			return u.send(ctx, c, &frame.Result{ID: m.ID, OK: false, Error: "agent busy: too many commands waiting; retry later"})
		}
	case *frame.Error:
		return &HubError{Code: m.Code, Message: m.Message}
	default:
		err := fmt.Errorf("%w: unexpected message kind %d from the hub", frame.ErrInvalid, m.Kind())
		u.protocolError(c, err)
		return fmt.Errorf("uplink: %w", err)
	}
	return nil
}

// stream sends queued frames after seq sent, keeping at most max_inflight
// unacknowledged; past that, frames wait in the queue (backpressure into
// the spool, never into memory). Several frames go in one message, a CBOR
// sequence, when the queue holds them (PROTOCOL.md, "Agent link").
func (u *uplink) stream(ctx context.Context, c *websocket.Conn, st *sessionState, sent uint64) error {
	window := uint64(u.a.s.maxInFlight)
	for {
		for {
			acked := st.acked.Load()
			sent = max(sent, acked)
			inflight := sent - acked
			u.m.inFlight.Set(float64(inflight))
			if inflight >= window {
				break
			}
			recs, err := u.q.Next(sent, int(min(window-inflight, maxFramesPerMessage)), maxMessageBytes)
			if err != nil {
				return fmt.Errorf("uplink: read queue: %w", err)
			}
			if len(recs) == 0 {
				break
			}
			u.buf = u.buf[:0]
			for _, r := range recs {
				u.buf = append(u.buf, r.Data...)
			}
			if err := u.write(c, u.buf); err != nil {
				return err
			}
			sent = recs[len(recs)-1].Seq
			u.m.sentFrames.Add(float64(len(recs)))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-u.q.Appended():
		case <-st.ackCh:
		}
	}
}

// send encodes and writes one message.
func (u *uplink) send(ctx context.Context, c *websocket.Conn, m frame.Message) error {
	b, err := frame.AppendAgent(nil, m)
	if err != nil {
		return fmt.Errorf("uplink: encode message kind %d: %w", m.Kind(), err)
	}
	if ctx.Err() != nil {
		return nil
	}
	return u.write(c, b)
}

// write sends one binary message. Its deadline does not follow the
// session's ctx, so that a write under way when the agent stops completes
// and the close that follows is clean.
func (u *uplink) write(c *websocket.Conn, b []byte) error {
	wctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.Write(wctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("uplink: write: %w", err)
	}
	u.m.sentBytes.Add(float64(len(b)))
	return nil
}

// read returns the messages of the next WebSocket message.
func (u *uplink) read(ctx context.Context, c *websocket.Conn) ([]frame.Message, error) {
	typ, b, err := c.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("uplink: read: %w", err)
	}
	if typ != websocket.MessageBinary {
		err := fmt.Errorf("%w: text message on the agent link", frame.ErrInvalid)
		u.protocolError(c, err)
		return nil, fmt.Errorf("uplink: %w", err)
	}
	msgs, err := frame.DecodeAgent(b, nil)
	if err != nil {
		u.protocolError(c, err)
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if len(msgs) == 0 {
		err := fmt.Errorf("%w: empty message", frame.ErrInvalid)
		u.protocolError(c, err)
		return nil, fmt.Errorf("uplink: %w", err)
	}
	return msgs, nil
}

// protocolError tells the hub what was wrong with its message and closes
// the connection (PROTOCOL.md, "Agent link", ERROR).
func (u *uplink) protocolError(c *websocket.Conn, err error) {
	code, closeCode := frame.ErrorCode(err)
	if code != 0 {
		if b, eerr := frame.AppendAgent(nil, &frame.Error{Code: code, Message: err.Error()}); eerr == nil {
			_ = u.write(c, b)
		}
	}
	c.Close(websocket.StatusCode(closeCode), "")
}
