package hubd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// agentConn is one agent link (PROTOCOL.md, "Agent link").
//
// Goroutines: the HTTP handler's goroutine owns the connection. It runs
// the reader (which handles HELLO, FRAMEs and RESULTs in order and writes
// WELCOME), the publisher (which stores the FRAMEs the reader checked, in
// order, as many as are waiting in one backplane call), the acker (which
// writes coalesced ACKs) and, after HELLO, the presence refresher in an
// errgroup; waits for the link to end; closes the connection; then marks
// the device offline. Commands are written by the goroutine of the session
// that sent them; websocket.Conn.Write is safe for that.
type agentConn struct {
	srv   *Server
	conn  *websocket.Conn
	req   *http.Request
	ident Identity
	log   hclog.Logger

	closeOnce sync.Once
	closing   chan struct{}
	status    websocket.StatusCode
	reason    string

	// Set by the reader at HELLO; read-only afterwards (others read them
	// only after finding the conn in Server.agents, which HELLO fills).
	hello *frame.Hello
	ch    string
	res   map[string]float64 // sensor id → resolution

	acked   atomic.Uint64 // what the next ACK says; written by the publisher
	ackMu   sync.Mutex    // serializes ACK writes (flushAck)
	ackSent uint64        // guarded by ackMu: the highest ACK written
	lim     frameLimiter  // reader-owned (security.go)
	ackWake chan struct{} // capacity 1: acked moved
	helloed atomic.Bool   // HELLO was accepted (read by the HELLO deadline, security.go)

	seen uint64       // reader-owned: highest seq known to exist: acked_seq, or first_seq-1 of HELLO
	rbuf bytes.Buffer // reader-owned: readMessage's buffer

	// The reader hands checked FRAMEs to the publisher through out; it
	// closes out when it stops, and the publisher closes pubDone when it
	// has stopped (after which the reader may read lastSeq again).
	out       chan outFrame
	outClosed bool // reader-owned
	pubDone   chan struct{}
	lastSeq   uint64 // highest seq stored for this device and spool id; set by the reader at HELLO, then publisher-owned

	mu      sync.Mutex // guards the following
	pending map[string]chan *frame.Result
	ended   bool
}

func (srv *Server) newAgentConn(conn *websocket.Conn, r *http.Request, id Identity) *agentConn {
	return &agentConn{
		srv:     srv,
		conn:    conn,
		req:     r,
		ident:   id,
		log:     srv.log.Named("ingest").With("remote", r.RemoteAddr),
		closing: make(chan struct{}),
		ackWake: make(chan struct{}, 1),
		out:     make(chan outFrame, publishBatch),
		pubDone: make(chan struct{}),
		pending: make(map[string]chan *frame.Result),
	}
}

// end asks the link to close; the first call wins; it never blocks.
func (a *agentConn) end(status websocket.StatusCode, reason string) {
	a.closeOnce.Do(func() {
		a.status, a.reason = status, closeReason(reason)
		close(a.closing)
	})
}

// goingAway implements tracked.
func (a *agentConn) goingAway(reason string) { a.end(websocket.StatusGoingAway, reason) }

// fail reports err to the agent as an ERROR (when it has a code) and ends
// the link with the close status classify gives it.
func (a *agentConn) fail(ctx context.Context, err error) {
	f := classify(err)
	if f.code != 0 {
		a.srv.m.protoError(linkAgent, f.code)
		if b, err := frame.AppendAgent(nil, &frame.Error{Code: uint16(f.code), Message: f.msg}); err == nil {
			_ = a.write(ctx, b)
		}
	}
	a.log.Debug("agent link failed", "error", err)
	a.end(f.status, f.msg)
}

// write sends one agent-link message, bounded by the write timeout.
func (a *agentConn) write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, a.srv.cfg.r.writeTimeout)
	defer cancel()
	return a.conn.Write(ctx, websocket.MessageBinary, b)
}

// run serves the link until it ends; it closes the connection.
func (a *agentConn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.srv.m.agents.Inc()
	defer a.srv.m.agents.Dec()
	// readMessage enforces the size limit itself, so that the agent gets
	// ERROR 413 before the 1009 (PROTOCOL.md, "Limits").
	a.conn.SetReadLimit(-1)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.ackLoop(gctx) })
	g.Go(func() error { a.publishLoop(gctx); return nil })
	g.Go(func() error {
		defer a.closeOut()
		err := a.readLoop(gctx, g)
		switch {
		case err == nil:
		case isNormalEnd(err):
			a.end(websocket.StatusNormalClosure, "")
		default:
			a.log.Debug("agent link read failed", "error", err)
			a.end(websocket.StatusInternalError, "read failed")
		}
		return nil
	})
	select {
	case <-a.closing:
	case <-ctx.Done():
		a.end(websocket.StatusGoingAway, "hub stopping")
	}
	_ = a.conn.Close(a.status, a.reason)
	cancel()
	_ = g.Wait()
	a.cleanup()
}

// cleanup fails the commands in flight and, if this link still holds the
// device, unregisters it and marks it offline.
func (a *agentConn) cleanup() {
	a.mu.Lock()
	a.ended = true
	for id, ch := range a.pending {
		close(ch)
		delete(a.pending, id)
	}
	a.mu.Unlock()
	if a.hello == nil {
		return
	}
	if !a.srv.unregisterAgent(a) {
		return // a newer link of the device took over
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.srv.bp.SetDevice(ctx, a.state(false), a.srv.cfg.r.presenceTTL); err != nil {
		a.log.Warn("cannot mark device offline", "error", err)
	}
	a.log.Info("agent disconnected")
}

// state is the device's presence entry.
func (a *agentConn) state(online bool) backplane.DeviceState {
	h := a.hello
	return backplane.DeviceState{
		ID:           h.DeviceID,
		Online:       online,
		Hub:          a.srv.cfg.HubID,
		Region:       a.srv.cfg.Region,
		Labels:       h.Labels,
		Sensors:      h.Sensors,
		AgentVersion: h.AgentVersion,
		LastSeen:     a.srv.now(),
	}
}

// readLoop reads agent-link messages until the link fails or ends. A
// protocol error is reported with fail and ends the loop with nil.
func (a *agentConn) readLoop(ctx context.Context, g *errgroup.Group) error {
	dec := frame.NewAgentDecoder(&frame.Limits{MaxMessageBytes: int(a.srv.cfg.r.agentMessageBytes)})
	// Reads do not follow ctx: run closes the connection when ctx ends,
	// which ends a read as well, and a read without a cancelable context
	// costs the WebSocket library no context.AfterFunc per message.
	rctx := context.WithoutCancel(ctx)
	for {
		b, err := a.readMessage(rctx)
		if err != nil {
			var pe *protoError
			if errors.As(err, &pe) {
				a.failAfterFlush(ctx, err)
				return nil
			}
			return err
		}
		msgs, err := dec.Decode(b)
		if err != nil {
			a.failAfterFlush(ctx, err)
			return nil
		}
		if err := a.admit(ctx, msgs); err != nil {
			a.failAfterFlush(ctx, err)
			return nil
		}
		for _, m := range msgs {
			var err error
			switch m := m.(type) {
			case *frame.Hello:
				err = a.onHello(ctx, g, m)
			case *frame.Frame:
				err = a.onFrame(ctx, m)
			case *frame.Result:
				a.onResult(m)
			case *frame.Error:
				a.log.Warn("agent reported an error", "code", m.Code, "message", m.Message)
			default:
				err = errorf(400, "unexpected message kind %d from an agent", m.Kind())
			}
			if errors.Is(err, errPublisherEnded) {
				return nil
			}
			if err != nil {
				a.failAfterFlush(ctx, err)
				return nil
			}
		}
	}
}

// failAfterFlush ends the link for a protocol error of the reader: it lets
// the publisher store the frames before the bad one and ACKs them first, so
// that the agent does not send them again.
func (a *agentConn) failAfterFlush(ctx context.Context, err error) {
	a.closeOut()
	select {
	case <-a.pubDone:
	case <-ctx.Done():
		return
	}
	_ = a.flushAck(ctx)
	a.fail(ctx, err)
}

// closeOut tells the publisher that no more frames come; reader-only.
func (a *agentConn) closeOut() {
	if !a.outClosed {
		a.outClosed = true
		close(a.out)
	}
}

// ackLoop writes the newest cumulative ACK whenever the publisher stored
// frames. The publisher does not wait for it: while one ACK is being
// written, the frames stored meanwhile are covered by the next one.
func (a *agentConn) ackLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.closing:
			return nil
		case <-a.ackWake:
		}
		if err := a.flushAck(ctx); err != nil {
			a.end(websocket.StatusInternalError, "write failed")
			return nil
		}
	}
}

// flushAck writes an ACK of acked unless one as high was written. ACK
// writes are serialized, so that the last one written is the highest: a
// link that ends with an ERROR flushes first, and no ACK follows the ERROR.
func (a *agentConn) flushAck(ctx context.Context) error {
	a.ackMu.Lock()
	defer a.ackMu.Unlock()
	seq := a.acked.Load()
	if seq <= a.ackSent {
		return nil
	}
	b, err := frame.AppendAgent(nil, &frame.Ack{Seq: seq})
	if err != nil {
		return fmt.Errorf("hubd: encode ack: %w", err)
	}
	if err := a.write(ctx, b); err != nil {
		return err
	}
	a.ackSent = seq
	return nil
}

// keepReadBuffer is the largest read buffer a link keeps between
// messages; a spool replay's large messages get a buffer of their own.
const keepReadBuffer = 64 << 10

// readMessage reads one WebSocket message of at most the agent message
// limit; a longer one is a 413 protocol error (the rest is not read). The
// bytes are valid until the next call: decoded messages share no memory
// with them (frame.DecodeAgent copies).
func (a *agentConn) readMessage(ctx context.Context) ([]byte, error) {
	_, r, err := a.conn.Reader(ctx)
	if err != nil {
		return nil, err
	}
	if a.rbuf.Cap() > keepReadBuffer {
		a.rbuf = bytes.Buffer{}
	}
	a.rbuf.Reset()
	limit := a.srv.cfg.r.agentMessageBytes
	if _, err := a.rbuf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, err
	}
	if int64(a.rbuf.Len()) > limit {
		return nil, errorf(413, "message over the limit of %d bytes", limit)
	}
	return a.rbuf.Bytes(), nil
}

// onHello registers the device, answers WELCOME and marks it online.
func (a *agentConn) onHello(ctx context.Context, g *errgroup.Group, h *frame.Hello) error {
	if a.hello != nil {
		return errorf(400, "second HELLO")
	}
	if !frame.ValidDeviceID(h.DeviceID) {
		return errorf(400, "device id %q does not match [A-Za-z0-9._-]{1,64}", h.DeviceID)
	}
	if a.ident.Role == RoleDevice && a.ident.Subject != h.DeviceID {
		return errorf(403, "token is for device %q, not %q", a.ident.Subject, h.DeviceID)
	}
	if h.SpoolID == "" {
		return errorf(400, "empty spool id")
	}
	a.hello = h
	a.helloed.Store(true)
	a.ch = frame.ChannelDevPrefix + h.DeviceID
	a.res = make(map[string]float64, len(h.Sensors))
	for _, s := range h.Sensors {
		a.res[s.ID] = s.Resolution
	}
	a.log = a.log.With("device", h.DeviceID)

	acked, err := a.srv.seqs.lastSeq(ctx, a.ch, h.SpoolID)
	if err != nil {
		return backplaneError(err)
	}
	a.lastSeq = acked
	a.seen = max(acked, h.FirstSeq-min(h.FirstSeq, 1))
	if acked > 0 && h.FirstSeq > acked+1 {
		a.srv.m.seqJumps.Inc()
		a.srv.m.seqSkipped.Add(float64(h.FirstSeq - acked - 1))
	}
	a.srv.registerAgent(a)

	if err := a.srv.bp.SetDevice(ctx, a.state(true), a.srv.cfg.r.presenceTTL); err != nil {
		a.log.Warn("cannot mark device online", "error", err)
	}
	b, err := frame.AppendAgent(nil, &frame.Welcome{HubID: a.srv.cfg.HubID, Region: a.srv.cfg.Region, AckedSeq: acked})
	if err != nil {
		return fmt.Errorf("hubd: encode welcome: %w", err)
	}
	if err := a.write(ctx, b); err != nil {
		return err
	}
	a.log.Info("agent connected", "spool_id", h.SpoolID, "first_seq", h.FirstSeq, "acked_seq", acked, "sensors", len(h.Sensors))
	g.Go(func() error { a.refreshPresence(ctx); return nil })
	return nil
}

// refreshPresence keeps the device online in the backplane while the link lives.
func (a *agentConn) refreshPresence(ctx context.Context) {
	t := time.NewTicker(a.srv.cfg.r.presenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.closing:
			return
		case <-t.C:
			if err := a.srv.bp.SetDevice(ctx, a.state(true), a.srv.cfg.r.presenceTTL); err != nil && ctx.Err() == nil {
				a.log.Warn("cannot refresh presence", "error", err)
			}
		}
	}
}

// publishBatch is the most FRAMEs of one link that wait for the
// publisher, and the most it stores in one backplane call. An agent keeps
// up to its window (agent.DefaultMaxInFlight, 256) frames in flight, so a
// replay fills whole batches; a live agent sends a frame now and then.
const publishBatch = 64

// outFrame is a FRAME checked and encoded by the reader for the publisher.
type outFrame struct {
	seq  uint64
	data []byte // frame.AppendStored
}

// onFrame checks one FRAME and hands it to the publisher, which stores it
// on the device's channel, deduplicated by (spool id, seq). The reader goes
// on reading while the publisher waits for the backplane, so a window of
// frames is stored in one round trip, and the ACK still follows only what
// the backplane answered (DESIGN.md, "Durability contract").
func (a *agentConn) onFrame(ctx context.Context, f *frame.Frame) error {
	if a.hello == nil {
		return errorf(400, "FRAME before HELLO")
	}
	if f.Seq == 0 {
		return errorf(400, "seq 0: seqs start at 1")
	}
	if f.Seq > a.seen+1 {
		a.srv.m.seqJumps.Inc()
		a.srv.m.seqSkipped.Add(float64(f.Seq - a.seen - 1))
	}
	a.seen = max(a.seen, f.Seq)
	// The decoded frame is the link's own: its samples are rounded in place.
	for i, s := range f.Samples {
		if res := a.res[s.Sensor]; res > 0 {
			f.Samples[i].Value = s.Value.WithResolution(res)
		}
	}
	st := frame.Stored{
		Device:  a.hello.DeviceID,
		SpoolID: a.hello.SpoolID,
		Seq:     f.Seq,
		T0:      f.T0,
		Samples: f.Samples,
	}
	data, err := frame.AppendStored(nil, &st)
	if err != nil {
		return errorf(400, "frame %d cannot be stored: %v", f.Seq, err)
	}
	select {
	case a.out <- outFrame{seq: f.Seq, data: data}:
		return nil
	case <-a.pubDone:
		return errPublisherEnded
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errPublisherEnded is onFrame's error when the publisher has stopped: it
// failed and ended the link itself, so the reader just stops (the frame is
// not ACKed; the agent sends it again).
var errPublisherEnded = errors.New("hubd: agent link publisher ended")

// publishLoop stores the frames the reader hands over, in order: all that
// are waiting (up to publishBatch) in one PublishBatch call. After each
// call it moves the ACK to the last stored seq. A backplane error ends the
// link with ERROR 503 after ACKing the frames stored before it; the agent
// sends the rest again.
func (a *agentConn) publishLoop(ctx context.Context) {
	defer close(a.pubDone)
	batch := make([]outFrame, 0, publishBatch)
	msgs := make([]backplane.Message, 0, publishBatch)
	for {
		batch, msgs = batch[:0], msgs[:0]
		f, ok := <-a.out
		if !ok {
			return
		}
		batch = append(batch, f)
	more:
		for len(batch) < publishBatch {
			select {
			case f, ok := <-a.out:
				if !ok {
					break more
				}
				batch = append(batch, f)
			default:
				break more
			}
		}
		for _, f := range batch {
			msgs = append(msgs, backplane.Message{Data: f.data, Opts: backplane.PublishOptions{SpoolID: a.hello.SpoolID, Seq: f.seq}})
		}
		res, err := a.srv.bp.PublishBatch(ctx, a.ch, msgs)
		stored := false
		for i, r := range res {
			if r.Duplicate {
				a.srv.m.duplicates.Inc()
			} else {
				a.srv.m.framesIn.Inc()
			}
			if seq := batch[i].seq; seq > a.lastSeq {
				a.lastSeq = seq
				stored = true
			}
		}
		if stored {
			a.srv.seqs.stored(a.ch, a.hello.SpoolID, a.lastSeq)
		}
		if len(res) > 0 {
			a.acked.Store(a.lastSeq)
			select {
			case a.ackWake <- struct{}{}:
			default:
			}
		}
		if err != nil {
			a.srv.m.publishErrors.Inc()
			if ctx.Err() != nil {
				return
			}
			_ = a.flushAck(ctx)
			a.fail(ctx, errorf(503, "frame %d not stored: %v", batch[len(res)].seq, err))
			return
		}
	}
}
