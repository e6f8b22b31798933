package e2e_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// follower is a dashboard client that reconnects by itself: after a drop it
// dials again and recovers with since; when recovery is impossible (another
// epoch: the hub's memory backplane restarted) it counts a reset and
// backfills with history. It stays connected through a hub's drain, so it
// sees every frame the old hub delivered.
type follower struct {
	url      string
	ch       string
	pos      *frame.Since
	counts   map[uint64]int // device seq -> times received
	resets   int
	maxSeq   uint64
	times    map[int64]int // sample time (unix ns) -> times received
	progress chan uint64   // each new highest seq, dropped when nobody listens
	lastT0   atomic.Int64  // t0 of the newest frame (unix ns), read by the test goroutine
}

func newFollower(url, ch string) *follower {
	return &follower{url: url, ch: ch, counts: map[uint64]int{}, times: map[int64]int{}, progress: make(chan uint64)}
}

// waitSeq returns once the follower has seen seq target.
func (f *follower) waitSeq(t *testing.T, ctx context.Context, target uint64) uint64 {
	t.Helper()
	for {
		select {
		case s := <-f.progress:
			if s >= target {
				return s
			}
		case <-ctx.Done():
			t.Fatalf("the follower did not reach seq %d", target)
		}
	}
}

// waitTime returns once the follower has seen a frame with t0 after tm.
func (f *follower) waitTime(t *testing.T, ctx context.Context, tm time.Time) {
	t.Helper()
	for {
		select {
		case <-f.progress:
			if time.Unix(0, f.lastT0Seen()).After(tm) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("the follower saw no frame sampled after %v", tm)
		}
	}
}

// checkExactlyOnce fails unless seqs 1..maxSeq were each received once.
func (f *follower) checkExactlyOnce(t *testing.T) {
	t.Helper()
	for s := uint64(1); s <= f.maxSeq; s++ {
		if n := f.counts[s]; n != 1 {
			t.Errorf("seq %d received %d times", s, n)
		}
	}
}

// run follows the channel until ctx ends.
func (f *follower) run(ctx context.Context) {
	for ctx.Err() == nil {
		f.session(ctx)
	}
}

func (f *follower) session(ctx context.Context) {
	c, _, err := websocket.Dial(ctx, f.url, &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolJSON}})
	if err != nil {
		select { // the hub is restarting: try again shortly
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	send := func(m frame.ClientMessage) {
		b, _ := frame.AppendClient(nil, &m, frame.ProtoJSON)
		_ = c.Write(ctx, websocket.MessageText, b)
	}
	send(frame.ClientMessage{Op: frame.OpSub, ID: 1, HasID: true, Ch: f.ch, Since: f.pos})
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return // dropped (1001 on drain): reconnect
		}
		ms, err := frame.DecodeServer(b, frame.ProtoJSON, nil)
		if err != nil {
			return
		}
		for _, m := range ms {
			switch m := m.(type) {
			case *frame.OK:
				if m.ID == 1 && f.pos != nil && (m.Recovered == nil || !*m.Recovered) {
					// History lost: this is the reset. Backfill all there is.
					f.resets++
					f.pos = nil
					send(frame.ClientMessage{Op: frame.OpUnsub, ID: 2, HasID: true, Ch: f.ch})
					send(frame.ClientMessage{Op: frame.OpSub, ID: 3, HasID: true, Ch: f.ch, History: 1000})
					continue
				}
				if m.ID == 1 || m.ID == 3 {
					f.pos = &frame.Since{Epoch: m.Epoch, Off: m.Off}
				}
			case *frame.Reset:
				f.resets++
			case *frame.DashFrame:
				if m.Ch != f.ch || f.pos == nil {
					continue
				}
				f.counts[m.Seq]++
				for _, smp := range m.Samples {
					f.times[m.T0+int64(smp.DT)*1000]++
				}
				f.storeT0(m.T0)
				f.pos.Off = m.Off
				if m.Seq > f.maxSeq {
					f.maxSeq = m.Seq
					select {
					case f.progress <- m.Seq:
					default:
					}
				}
			}
		}
	}
}

// After the hub restarts (memory backplane: all history gone, a new epoch),
// the agent reconnects and resends what was not ACKed, and a dashboard
// client that reconnects by itself ends with every device seq exactly once.
func TestHubRestart(t *testing.T) {
	h := startHub(t, "127.0.0.1:0", nil)
	runAgent(t, h.agentURL(), fastAgent("pi-4"))

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	f := newFollower(h.wsURL(), "dev/pi-4")
	fctx, fstop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.run(fctx) }()

	before := f.waitSeq(t, ctx, 40)
	h.stop() // drain: dashboards and the agent get 1001
	startHub(t, h.addr, nil)
	f.waitSeq(t, ctx, before+100)
	fstop()
	<-done

	if f.resets == 0 {
		t.Fatal("the client never learnt that the history was lost")
	}
	f.checkExactlyOnce(t)
	if !t.Failed() {
		t.Logf("seqs 1..%d each exactly once across the restart (%d reset)", f.maxSeq, f.resets)
	}
}

func (f *follower) storeT0(t0 int64)  { f.lastT0.Store(t0) }
func (f *follower) lastT0Seen() int64 { return f.lastT0.Load() }
