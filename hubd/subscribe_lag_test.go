package hubd_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// laggingBackplane is a real memory backplane whose deliveries to the hub
// can be held back, as a Redis pub/sub connection lags behind the stream:
// a publication is stored (History sees it) before the hub is told of it.
type laggingBackplane struct {
	backplane.Backplane

	mu   sync.Mutex
	hold bool
	held []func()
}

func (l *laggingBackplane) Run(ctx context.Context, h backplane.Handler) error {
	return l.Backplane.Run(ctx, &laggingHandler{Handler: h, l: l})
}

type laggingHandler struct {
	backplane.Handler
	l *laggingBackplane
}

func (h *laggingHandler) HandlePublication(ch, epoch string, p backplane.Publication) {
	h.l.mu.Lock()
	if h.l.hold {
		h.l.held = append(h.l.held, func() { h.Handler.HandlePublication(ch, epoch, p) })
		h.l.mu.Unlock()
		return
	}
	h.l.mu.Unlock()
	h.Handler.HandlePublication(ch, epoch, p)
}

func (l *laggingBackplane) setHold(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = on
}

// waitHeld waits until n deliveries are held back.
func (l *laggingBackplane) waitHeld(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		l.mu.Lock()
		got := len(l.held)
		l.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries held after %v, want %d", got, waitTimeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// release delivers what was held, in order, and stops holding.
func (l *laggingBackplane) release() {
	l.mu.Lock()
	held := l.held
	l.held, l.hold = nil, false
	l.mu.Unlock()
	for _, f := range held {
		f()
	}
}

// TestSubscribeWhileDeliveryLags: publications that History already
// returned but whose delivery to the hub comes after the sub switched to
// live are not sent again: a dashboard that resumes with since, and one
// that subscribes live, see each offset once, in order.
func TestSubscribeWhileDeliveryLags(t *testing.T) {
	mem, err := memory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mem.Close() })
	bp := &laggingBackplane{Backplane: mem}
	h := startHubWith(t, nil, &hubd.Options{Backplane: bp})

	d1 := dialDash(t, h, frame.ProtoJSON) // keeps the hub subscribed to the channel
	ok := d1.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	a := connectAgent(t, h, "pi-7")
	a.publish(5)
	checkContiguous(t, d1.frames(5), 1)

	bp.setHold(true)
	a.publish(5) // 6..10: stored and ACKed, not yet delivered to the hub
	bp.waitHeld(t, 5)

	resumed := dialDash(t, h, frame.ProtoJSON)
	if ok2 := resumed.sub(frame.ClientMessage{Ch: "dev/pi-7", Since: &frame.Since{Epoch: ok.Epoch, Off: 3}}); ok2.Off != 10 || ok2.Recovered == nil || !*ok2.Recovered {
		t.Fatalf("ok of the since sub: %+v", ok2)
	}
	live := dialDash(t, h, frame.ProtoJSON)
	if ok3 := live.sub(frame.ClientMessage{Ch: "dev/pi-7"}); ok3.Off != 10 {
		t.Fatalf("ok of the live sub: %+v", ok3)
	}
	bp.release() // 6..10 reach the hub now, after both subs went live
	a.publish(1) // 11

	checkContiguous(t, resumed.frames(8), 4) // 4..10 replayed, then 11; 6..10 not again
	if f := live.frames(1)[0]; f.Off != 11 {
		t.Fatalf("the live sub's first frame is offset %d, want 11", f.Off)
	}
	checkContiguous(t, d1.frames(6), 6)
}
