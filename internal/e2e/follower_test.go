package e2e_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// follower is a dashboard client that behaves as the dashboard does: after a
// drop it dials again (the next of its hub URLs) and recovers with since;
// when recovery is impossible (another epoch: history lost) or a reset
// arrives, it counts the reset and backfills the new epoch from its start.
// It drops what it already holds by (epoch, offset), so what it counts per
// seq is what a user would see twice. It stays connected through a hub's
// drain, so it sees every frame the old hub delivered.
type follower struct {
	urls     []string
	cur      int
	ch       string
	pos      *frame.Since        // epoch and newest offset held
	seen     map[uint64][]string // device seq -> epochs it was received in
	resets   int
	maxSeq   uint64
	times    map[int64]int // sample time (unix ns) -> times received
	progress chan uint64   // each new highest seq, dropped when nobody listens
	lastT0   atomic.Int64  // t0 of the newest frame (unix ns), read by the test goroutine
	ready    chan struct{} // closed once the first sub was answered
	prevSeq  uint64        // seq of the previous frame received
	reorder  int           // frames with a seq below the previous one's
}

func newFollower(ch string, urls ...string) *follower {
	return &follower{urls: urls, ch: ch, seen: map[uint64][]string{}, times: map[int64]int{},
		progress: make(chan uint64), ready: make(chan struct{})}
}

// run follows the channel until ctx ends.
func (f *follower) run(ctx context.Context) {
	for ctx.Err() == nil {
		f.session(ctx, f.urls[f.cur%len(f.urls)])
		f.cur++
	}
}

func (f *follower) session(ctx context.Context, url string) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{frame.SubprotocolJSON}})
	if err != nil {
		select { // the hub is restarting or gone: try again shortly
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(64 << 20)
	var id uint64
	send := func(m frame.ClientMessage) uint64 {
		id++
		m.ID, m.HasID = id, true
		b, _ := frame.AppendClient(nil, &m, frame.ProtoJSON)
		_ = c.Write(ctx, websocket.MessageText, b)
		return id
	}
	// resync asks for every frame of epoch after off.
	subID := send(frame.ClientMessage{Op: frame.OpSub, Ch: f.ch, Since: f.pos})
	resync := func(epoch string) {
		f.resets++
		f.pos = &frame.Since{Epoch: epoch, Off: 0}
		send(frame.ClientMessage{Op: frame.OpUnsub, Ch: f.ch})
		subID = send(frame.ClientMessage{Op: frame.OpSub, Ch: f.ch, Since: f.pos})
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return // dropped (1001 on drain, or the hub died): reconnect
		}
		ms, err := frame.DecodeServer(b, frame.ProtoJSON, nil)
		if err != nil {
			return
		}
		for _, m := range ms {
			switch m := m.(type) {
			case *frame.OK:
				if m.ID != subID {
					continue
				}
				switch {
				case f.pos == nil:
					f.pos = &frame.Since{Epoch: m.Epoch, Off: m.Off} // first sub: live from here
					close(f.ready)
				case m.Recovered == nil || !*m.Recovered:
					resync(m.Epoch) // history lost: take the new epoch from its start
				}
			case *frame.Reset:
				if m.Ch == f.ch {
					resync(m.Epoch)
				}
			case *frame.DashFrame:
				if m.Ch != f.ch || f.pos == nil || m.Off <= f.pos.Off {
					continue
				}
				f.pos.Off = m.Off
				if m.Seq < f.prevSeq {
					f.reorder++
				}
				f.prevSeq = m.Seq
				f.seen[m.Seq] = append(f.seen[m.Seq], f.pos.Epoch)
				for _, smp := range m.Samples {
					f.times[m.T0+int64(smp.DT)*1000]++
				}
				f.lastT0.Store(m.T0)
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

// waitReady returns once the follower's first sub was answered: what is
// published from then on reaches it.
func (f *follower) waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-f.ready:
	case <-ctx.Done():
		t.Fatal("the follower's sub was never answered")
	}
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
			if time.Unix(0, f.lastT0.Load()).After(tm) {
				return
			}
		case <-ctx.Done():
			t.Fatalf("the follower saw no frame sampled after %v", tm)
		}
	}
}

// checkExactlyOnce fails unless seqs 1..maxSeq were each received once,
// in order.
func (f *follower) checkExactlyOnce(t *testing.T) {
	t.Helper()
	if f.reorder != 0 {
		t.Errorf("%d frames arrived after a frame with a higher seq", f.reorder)
	}
	for s := uint64(1); s <= f.maxSeq; s++ {
		if n := len(f.seen[s]); n != 1 {
			t.Errorf("seq %d received %d times", s, n)
		}
	}
}

// checkOnceButResets fails unless every seq 1..maxSeq was received, and
// a seq received twice came in two epochs: a frame stored before a reset
// and stored again after it (its ACK was lost with the history) is
// announced by the reset, never a silent duplicate. It returns how many such
// seqs there were.
func (f *follower) checkOnceButResets(t *testing.T) (across int) {
	t.Helper()
	for s := uint64(1); s <= f.maxSeq; s++ {
		eps := f.seen[s]
		if len(eps) == 0 {
			t.Errorf("seq %d never received", s)
		}
		for i := 1; i < len(eps); i++ {
			if eps[i] == eps[i-1] {
				t.Errorf("seq %d received twice in epoch %s", s, eps[i])
			}
		}
		if len(eps) > 1 {
			across++
		}
	}
	return across
}
