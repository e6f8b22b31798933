package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// simAgent is one simulated agent speaking the agent link
// (docs/PROTOCOL.md, "Agent link"): HELLO, WELCOME, then FRAMEs with seqs
// from 1 under a fresh spool id, each carrying its send time as t0, and
// cumulative ACKs back.
//
// Goroutines: run (the writer) starts the reader in an errgroup and waits
// for it; the reader ends when the connection closes, which run does.
type simAgent struct {
	r      *Runner
	idx    int
	device string
	spool  string

	// sent[seq % len] is the send time (unix ns) of un-ACKed seq; written
	// by the writer before the frame goes out, read by the reader at its ACK.
	sent    []atomic.Int64
	lastSnt atomic.Uint64 // highest seq written
	acked   atomic.Uint64 // highest seq ACKed
	credits chan struct{} // one per frame that may be sent; the reader refills
	ackPoke chan struct{} // cap 1: an ACK arrived
	closing atomic.Bool   // the writer has begun closing the link: the reader's end is normal

	ackHist histogram // reader-owned until run returns
}

func (r *Runner) newAgent(idx int) *simAgent {
	a := &simAgent{
		r:       r,
		idx:     idx,
		device:  r.deviceID(idx),
		spool:   r.runID + "-" + strconv.Itoa(idx),
		sent:    make([]atomic.Int64, r.cfg.Window),
		credits: make(chan struct{}, r.cfg.Window),
		ackPoke: make(chan struct{}, 1),
	}
	for range r.cfg.Window {
		a.credits <- struct{}{}
	}
	return a
}

// sensors are the sensors the agent declares in HELLO: up to ten, each
// sampled every millisecond at 0.01 resolution.
func (r *Runner) sensors() []frame.SensorInfo {
	n := min(r.cfg.SamplesPerFrame, maxSensorsPerFrame)
	s := make([]frame.SensorInfo, n)
	for i := range s {
		s[i] = frame.SensorInfo{ID: "s" + strconv.Itoa(i), Kind: "temperature", Unit: "°C", PeriodMS: 1, Resolution: 0.01}
	}
	return s
}

// run connects, waits for the start, sends until stop, waits (bounded by
// the drain timeout) for the last ACK, and closes the link.
func (a *simAgent) run(ctx context.Context) error {
	r := a.r
	c, err := a.connect(ctx)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.readLoop(gctx, c) })
	werr := a.writeLoop(gctx, c)
	r.agentDone(a)
	a.closing.Store(true)
	if werr == nil {
		werr = c.Close(websocket.StatusNormalClosure, "load run done")
		if werr != nil && websocket.CloseStatus(werr) == websocket.StatusNormalClosure {
			werr = nil
		}
	} else {
		c.CloseNow()
	}
	rerr := g.Wait()
	if werr != nil {
		return fmt.Errorf("loadtest: agent %s: %w", a.device, werr)
	}
	if rerr != nil {
		return fmt.Errorf("loadtest: agent %s: %w", a.device, rerr)
	}
	return nil
}

// connect dials the agent link and does HELLO/WELCOME.
func (a *simAgent) connect(ctx context.Context) (*websocket.Conn, error) {
	r := a.r
	release, err := r.dialSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	opts := &websocket.DialOptions{
		HTTPClient:   r.httpClient,
		Subprotocols: []string{frame.SubprotocolAgent},
	}
	if r.cfg.AgentToken != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + r.cfg.AgentToken}}
	}
	c, resp, err := websocket.Dial(ctx, r.agentURL, opts)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("loadtest: agent %s: dial %s: HTTP %d: %w", a.device, r.agentURL, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("loadtest: agent %s: dial %s: %w", a.device, r.agentURL, err)
	}
	c.SetReadLimit(1 << 20)
	hello, err := frame.AppendAgent(nil, &frame.Hello{
		DeviceID:     a.device,
		AgentVersion: "edgeplane-load",
		Sensors:      r.sensors(),
		Labels:       map[string]string{"load": r.runID},
		FirstSeq:     1,
		SpoolID:      a.spool,
	})
	if err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("loadtest: agent %s: encode hello: %w", a.device, err)
	}
	if err := c.Write(ctx, websocket.MessageBinary, hello); err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("loadtest: agent %s: send hello: %w", a.device, err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("loadtest: agent %s: read welcome: %w", a.device, err)
	}
	msgs, err := frame.DecodeAgent(b, nil)
	if err != nil || len(msgs) == 0 {
		c.CloseNow()
		return nil, fmt.Errorf("loadtest: agent %s: decode welcome: %v", a.device, err)
	}
	switch m := msgs[0].(type) {
	case *frame.Welcome:
		if m.AckedSeq != 0 {
			c.CloseNow()
			return nil, fmt.Errorf("loadtest: agent %s: welcome acks seq %d of a fresh spool", a.device, m.AckedSeq)
		}
	case *frame.Error:
		c.CloseNow()
		return nil, fmt.Errorf("loadtest: agent %s: hub refused hello: %d %s", a.device, m.Code, m.Message)
	default:
		c.CloseNow()
		return nil, fmt.Errorf("loadtest: agent %s: got kind %d instead of welcome", a.device, m.Kind())
	}
	r.ready()
	return c, nil
}

// readLoop handles ACKs until the connection closes.
func (a *simAgent) readLoop(ctx context.Context, c *websocket.Conn) error {
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			// Once the writer closes the link, the read may end with the
			// close frame or with the closed connection, whichever wins.
			if isNormalEnd(ctx, err) || a.closing.Load() {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
		msgs, err := frame.DecodeAgent(b, nil)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		for _, m := range msgs {
			switch m := m.(type) {
			case *frame.Ack:
				if err := a.onAck(m.Seq); err != nil {
					return err
				}
			case *frame.Error:
				return fmt.Errorf("hub sent ERROR %d: %s", m.Code, m.Message)
			case *frame.Command:
				// The load tool has no actuators; it answers so that the
				// hub's command does not wait for its timeout.
				res, err := frame.AppendAgent(nil, &frame.Result{ID: m.ID, Error: "edgeplane-load has no actuators"})
				if err == nil {
					err = c.Write(ctx, websocket.MessageBinary, res)
				}
				if err != nil && !isNormalEnd(ctx, err) {
					return fmt.Errorf("answer command: %w", err)
				}
			}
		}
	}
}

// onAck records the ACK latency of every newly ACKed seq and returns their
// credits. It runs on the reader only.
func (a *simAgent) onAck(seq uint64) error {
	prev := a.acked.Load()
	if seq <= prev {
		return nil // a repeated cumulative ACK
	}
	if seq > a.lastSnt.Load() {
		return fmt.Errorf("ACK of seq %d, only %d sent", seq, a.lastSnt.Load())
	}
	now := time.Now().UnixNano()
	w := uint64(len(a.sent))
	for s := prev + 1; s <= seq; s++ {
		a.ackHist.record(time.Duration(now - a.sent[s%w].Load()))
	}
	a.acked.Store(seq)
	a.r.framesAcked.Add(seq - prev)
	for s := prev + 1; s <= seq; s++ {
		a.credits <- struct{}{} // never blocks: at most Window were taken
	}
	select {
	case a.ackPoke <- struct{}{}:
	default:
	}
	return nil
}

// writeLoop sends FRAMEs from the start until stop, then waits for the
// last ACK until the drain timeout.
func (a *simAgent) writeLoop(ctx context.Context, c *websocket.Conn) error {
	r := a.r
	select {
	case <-r.start:
	case <-ctx.Done():
		return nil
	}
	n := r.cfg.SamplesPerFrame
	nsens := min(n, maxSensorsPerFrame)
	ids := make([]string, nsens)
	for i := range ids {
		ids[i] = "s" + strconv.Itoa(i)
	}
	f := &frame.Frame{Samples: make([]frame.Sample, n)}
	for j := range f.Samples {
		f.Samples[j] = frame.Sample{Sensor: ids[j%nsens], DT: uint64(j/nsens) * samplePeriodMicros}
	}
	var buf []byte
	batch := r.cfg.FramesPerMessage
	var interval time.Duration
	if r.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(batch) / r.cfg.Rate)
	}
	// Agents start spread over one interval, not all at once.
	begin := time.Now()
	if interval > 0 {
		begin = begin.Add(time.Duration(a.idx) * interval / time.Duration(r.cfg.Agents))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	var seq uint64
	for k := 0; ; k++ {
		if interval > 0 {
			timer.Reset(time.Until(begin.Add(time.Duration(k) * interval)))
			select {
			case <-timer.C:
			case <-r.stop:
				return a.drain(ctx)
			case <-ctx.Done():
				return nil
			}
		}
		for range batch {
			select {
			case <-a.credits:
			case <-r.stop:
				return a.drain(ctx)
			case <-ctx.Done():
				return nil
			}
		}
		// Checked after the credits, so that a stop closes the run even
		// when credits are always there.
		select {
		case <-r.stop:
			return a.drain(ctx)
		default:
		}
		buf = buf[:0]
		now := time.Now().UnixNano()
		for range batch {
			seq++
			f.Seq, f.T0 = seq, now
			for j := range f.Samples {
				f.Samples[j].Value = frame.Rounded(20+0.01*float64((int(seq)+j)%500), 0.01)
			}
			var err error
			if buf, err = frame.AppendAgent(buf, f); err != nil {
				return fmt.Errorf("encode frame: %w", err)
			}
			a.sent[seq%uint64(len(a.sent))].Store(now)
		}
		a.lastSnt.Store(seq)
		if err := c.Write(ctx, websocket.MessageBinary, buf); err != nil {
			if isNormalEnd(ctx, err) {
				return nil
			}
			return fmt.Errorf("send frame %d: %w", seq, err)
		}
		r.framesSent.Add(uint64(batch))
	}
}

// drain waits until every sent frame is ACKed or the drain timeout passes.
func (a *simAgent) drain(ctx context.Context) error {
	t := time.NewTimer(a.r.cfg.DrainTimeout)
	defer t.Stop()
	for a.acked.Load() < a.lastSnt.Load() {
		select {
		case <-a.ackPoke:
		case <-t.C:
			return nil // counted as un-ACKed in the result
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// isNormalEnd reports whether err ends a connection the way a run ends:
// the context was cancelled, or the peer closed normally or going away.
func isNormalEnd(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return true
	}
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return true
	}
	return false
}
