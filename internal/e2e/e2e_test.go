package e2e_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/edgeplane/edgeplane/hubd"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// Frames from a real agent reach a dashboard in order, with contiguous
// offsets and the agent's seqs, in both encodings.
func TestFramesInOrder(t *testing.T) {
	h := startHub(t, "127.0.0.1:0", nil)
	runAgent(t, h.agentURL(), fastAgent("pi-1"))
	for _, p := range []frame.Proto{frame.ProtoJSON, frame.ProtoCBOR} {
		d := dialDash(t, h.wsURL(), p)
		d.sub(frame.ClientMessage{Ch: "dev/pi-1"})
		fs := d.frames("dev/pi-1", 30)
		checkContiguous(t, fs)
		for _, f := range fs {
			if f.Device != "pi-1" || len(f.Samples) == 0 {
				t.Fatalf("frame %+v", f)
			}
			for _, s := range f.Samples {
				if s.Sensor != "t" && s.Sensor != "rh" {
					t.Fatalf("unknown sensor %q", s.Sensor)
				}
			}
		}
		// With the memory backplane and one spool, offset and seq move together.
		if fs[0].Off != fs[0].Seq {
			t.Fatalf("off %d, seq %d", fs[0].Off, fs[0].Seq)
		}
	}
}

// A client that comes back with since after missing at least 50 frames gets
// exactly the frames it missed, then live ones, with no gap or duplicate.
func TestSinceRecovery(t *testing.T) {
	h := startHub(t, "127.0.0.1:0", nil)
	runAgent(t, h.agentURL(), fastAgent("pi-2"))

	a := dialDash(t, h.wsURL(), frame.ProtoJSON)
	a.sub(frame.ClientMessage{Ch: "dev/pi-2"})
	seen := a.frames("dev/pi-2", 5)
	last := seen[len(seen)-1]
	a.c.Close(websocket.StatusNormalClosure, "bye")

	// Another client watches until at least 50 more frames were published.
	w := dialDash(t, h.wsURL(), frame.ProtoJSON)
	okw := w.sub(frame.ClientMessage{Ch: "dev/pi-2"})
	for top := okw.Off; top < last.Off+50; {
		top = w.frames("dev/pi-2", 1)[0].Off
	}

	b := dialDash(t, h.wsURL(), frame.ProtoJSON)
	ok := b.sub(frame.ClientMessage{Ch: "dev/pi-2", Since: &frame.Since{Epoch: okw.Epoch, Off: last.Off}})
	if ok.Recovered == nil || !*ok.Recovered {
		t.Fatalf("ok %+v: want recovered", ok)
	}
	missed := int(ok.Off - last.Off)
	if missed < 50 {
		t.Fatalf("top %d after %d: only %d missed", ok.Off, last.Off, missed)
	}
	fs := b.frames("dev/pi-2", missed+20) // the missed ones, then 20 live
	if fs[0].Off != last.Off+1 || fs[0].Seq != last.Seq+1 {
		t.Fatalf("first recovered frame off %d seq %d, want %d %d", fs[0].Off, fs[0].Seq, last.Off+1, last.Seq+1)
	}
	checkContiguous(t, fs)
	t.Logf("recovered %d missed frames, then 20 live", missed)
}

// A dashboard that stops reading is closed with 1013; a healthy one on the
// same channel keeps receiving without a gap.
func TestSlowConsumer(t *testing.T) {
	h := startHubOn(t, "127.0.0.1:0", func(c *hubd.Config) {
		c.Limits.SendQueueBytes = "64KiB"
		c.Limits.SendQueueMessages = 64
	}, func(ln net.Listener) net.Listener { return smallSendBuffers{ln} })
	// Many samples per frame, so that socket buffers fill soon.
	runAgent(t, h.agentURL(), `
device_id      = "pi-3"
flush_interval = "10ms"
hub {
  url = "ws://127.0.0.1:1/v1/agent"
}
sensor "sim.sine" "a" { period = "1ms" }
sensor "sim.sine" "b" { period = "1ms" }
sensor "sim.sine" "c" { period = "1ms" }
sensor "sim.sine" "d" { period = "1ms" }
`)
	healthy := dialDash(t, h.wsURL(), frame.ProtoJSON)
	healthy.sub(frame.ClientMessage{Ch: "dev/pi-3"})
	slow := dialDashWith(t, h.wsURL(), frame.ProtoJSON, smallBufferClient())
	slow.sub(frame.ClientMessage{Ch: "dev/pi-3"})

	// The slow client reads nothing more; its close arrives as an error of
	// Read, which we wait for in the background while the healthy one reads.
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
		defer cancel()
		// Block the reader: wait for the hub to give up on us first.
		<-slowStarved(ctx, h)
		_, _, err := slow.c.Read(ctx)
		for err == nil {
			_, _, err = slow.c.Read(ctx)
		}
		closed <- err
	}()

	var got []*frame.DashFrame
	var err error
	for done := false; !done; {
		got = append(got, healthy.frames("dev/pi-3", 10)...)
		select {
		case err = <-closed:
			done = true
		default:
		}
	}
	if code := websocket.CloseStatus(err); code != websocket.StatusTryAgainLater {
		t.Fatalf("slow client ended with %v (code %v), want 1013", err, code)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "slow") {
		t.Fatalf("close reason %q does not say why", ce.Reason)
	}
	got = append(got, healthy.frames("dev/pi-3", 20)...)
	checkContiguous(t, got)
	t.Logf("healthy client received %d contiguous frames while the slow one was cut off", len(got))
}

// slowStarved is closed once the hub counts a slow consumer (read from its
// metrics endpoint).
func slowStarved(ctx context.Context, h *hub) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for ctx.Err() == nil {
			if metricAbove(ctx, "http://"+h.addr+"/metrics", "edgeplane_hub_slow_consumers_total", 0) {
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return ch
}
