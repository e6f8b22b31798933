package hubd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeplane/edgeplane/hubd/internal/window"
	"github.com/edgeplane/edgeplane/internal/backplane"
	"github.com/edgeplane/edgeplane/internal/backplane/memory"
	"github.com/edgeplane/edgeplane/internal/frame"
)

// recSink records what the fan-out queues, with the (bubble) time.
type recSink struct {
	mu    sync.Mutex
	p     frame.Proto
	times []time.Time
	msgs  [][]byte
}

func (r *recSink) encoding() frame.Proto { return r.p }

func (r *recSink) enqueue(b []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, time.Now())
	r.msgs = append(r.msgs, b)
	return true
}

func (r *recSink) frames(t *testing.T) []*frame.DashFrame {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*frame.DashFrame
	for _, b := range r.msgs {
		ms, err := frame.DecodeServer(b, r.p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			out = append(out, m.(*frame.DashFrame))
		}
	}
	return out
}

func newTestFanout(t *testing.T) (*fanout, *channel) {
	t.Helper()
	bp, err := memory.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	f := newFanout(bp, hclog.NewNullLogger(), newMetrics(prometheus.NewRegistry()))
	c, err := f.acquire(context.Background(), "dev/d")
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func attach(c *channel, s sink, filt window.Filter) *subscription {
	sub := &subscription{ch: c.name, sink: s}
	c.mu.Lock()
	c.addLocked(sub, filt)
	c.mu.Unlock()
	return sub
}

func publishStored(t *testing.T, f *fanout, off uint64, samples ...frame.Sample) {
	t.Helper()
	b, err := frame.AppendStored(nil, &frame.Stored{Device: "d", SpoolID: "s", Seq: off, T0: time.Now().UnixNano(), Samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	f.HandlePublication("dev/d", "e1", backplane.Publication{Offset: off, Data: b})
}

// TestMaxRate: a max_rate stream sends at most max_rate frames per second,
// merging what comes in between; unfiltered subscribers on the same
// channel get every frame; subscribers with the same filter share bytes.
func TestMaxRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, c := newTestFanout(t)
		all := &recSink{p: frame.ProtoJSON}
		slowA := &recSink{p: frame.ProtoJSON}
		slowB := &recSink{p: frame.ProtoJSON}
		slowC := &recSink{p: frame.ProtoCBOR}
		attach(c, all, window.Filter{})
		filt := window.NewFilter([]string{"t"}, 10)
		attach(c, slowA, filt)
		attach(c, slowB, filt)
		attach(c, slowC, filt)

		const n = 200 // one frame every 10 ms for 2 s
		for i := uint64(1); i <= n; i++ {
			publishStored(t, f, i,
				frame.Sample{Sensor: "t", DT: 0, Value: frame.Rounded(20+float64(i)/100, 0.01)},
				frame.Sample{Sensor: "rh", DT: 5, Value: frame.Float(41)})
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Second) // the last window flushes
		synctest.Wait()

		if got := all.frames(t); len(got) != n {
			t.Fatalf("unfiltered subscriber got %d frames, want %d", len(got), n)
		}
		got := slowA.frames(t)
		if len(got) < 18 || len(got) > 21 {
			t.Fatalf("max_rate 10 over 2 s gave %d frames", len(got))
		}
		for i := 1; i < len(slowA.times); i++ {
			if d := slowA.times[i].Sub(slowA.times[i-1]); d < 100*time.Millisecond {
				t.Fatalf("frames %d and %d only %v apart", i-1, i, d)
			}
		}
		var prev uint64
		for i, fr := range got {
			if fr.Off <= prev || len(fr.Samples) != 1 || fr.Samples[0].Sensor != "t" {
				t.Fatalf("frame %d: %+v", i, fr)
			}
			// The last sample of the window: the value of the newest frame.
			if want := 20 + float64(fr.Off)/100; fr.Samples[0].Value.Float64() != float64(int64(want*100+0.5))/100 {
				t.Fatalf("frame %d: t = %v, want the newest %v", i, fr.Samples[0].Value.Float64(), want)
			}
			prev = fr.Off
		}
		if got[len(got)-1].Off != n {
			t.Fatalf("last merged frame has off %d, want %d", got[len(got)-1].Off, n)
		}
		// One encode per encoding: the same bytes for A and B.
		if &slowA.msgs[0][0] != &slowB.msgs[0][0] {
			t.Fatal("subscribers with the same filter got separately encoded bytes")
		}
		if len(slowC.frames(t)) != len(got) {
			t.Fatal("cbor subscriber of the same stream differs")
		}
	})
}

// TestSharedEncoding: every session of one encoding gets the same bytes.
func TestSharedEncoding(t *testing.T) {
	f, c := newTestFanout(t)
	sinks := make([]*recSink, 10)
	for i := range sinks {
		sinks[i] = &recSink{p: frame.Proto(i % 2)}
		attach(c, sinks[i], window.Filter{})
	}
	publishStored(t, f, 1, frame.Sample{Sensor: "t", Value: frame.Float(1)})
	for i := 2; i < len(sinks); i++ {
		if &sinks[i].msgs[0][0] != &sinks[i%2].msgs[0][0] {
			t.Fatalf("sink %d got its own encoding", i)
		}
	}
}

// TestLiveAfter: the buffered deliveries kept after a history read.
func TestLiveAfter(t *testing.T) {
	fr := func(ep string, off uint64) bufItem { return bufItem{epoch: ep, off: off} }
	rs := func(ep string, off uint64) bufItem { return bufItem{epoch: ep, off: off, reset: true} }
	cases := []struct {
		name string
		buf  []bufItem
		top  backplane.Position
		want []bufItem
	}{
		{"overlap", []bufItem{fr("e", 4), fr("e", 5), fr("e", 6)}, backplane.Position{Epoch: "e", Offset: 5}, []bufItem{fr("e", 6)}},
		{"older epoch dropped", []bufItem{fr("a", 9), rs("e", 0), fr("e", 1)}, backplane.Position{Epoch: "e", Offset: 1}, nil},
		{"newer epoch kept", []bufItem{fr("e", 5), rs("n", 0), fr("n", 1)}, backplane.Position{Epoch: "e", Offset: 5}, []bufItem{rs("n", 0), fr("n", 1)}},
		{"trim reset after the read", []bufItem{rs("e", 9), fr("e", 10)}, backplane.Position{Epoch: "e", Offset: 5}, []bufItem{rs("e", 9), fr("e", 10)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := liveAfter(tc.buf, tc.top)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// TestReset: a reset reaches every subscription of the channel, once per
// encoding, and drops what a max_rate stream held back.
func TestReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, c := newTestFanout(t)
		plain := &recSink{p: frame.ProtoCBOR}
		limited := &recSink{p: frame.ProtoJSON}
		attach(c, plain, window.Filter{})
		attach(c, limited, window.NewFilter(nil, 1))
		publishStored(t, f, 1, frame.Sample{Sensor: "t", Value: frame.Float(1)})
		publishStored(t, f, 2, frame.Sample{Sensor: "t", Value: frame.Float(2)}) // held back by max_rate
		f.HandleReset("dev/d", backplane.Position{Epoch: "e2"})
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, r := range []*recSink{plain, limited} {
			var ops []string
			for _, b := range r.msgs {
				ms, err := frame.DecodeServer(b, r.p, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					ops = append(ops, m.ServerOp())
				}
			}
			want := "frame frame reset"
			if r == limited {
				want = "frame reset"
			}
			if got := strings.Join(ops, " "); got != want {
				t.Fatalf("%s sink got %q, want %q", protoName(r.p), got, want)
			}
		}
	})
}

// countSink counts what it is given, like a session queue without I/O.
type countSink struct {
	p frame.Proto
	q sendQueue
}

func (c *countSink) encoding() frame.Proto { return c.p }
func (c *countSink) enqueue(b []byte) bool {
	if c.q.push(b) != pushOK {
		c.q.take(nil)
		return c.q.push(b) == pushOK
	}
	return true
}

// BenchmarkFanoutQueue measures the hub side of fan-out alone: one
// publication decoded, encoded once per encoding and queued to N session
// queues (no sockets).
//
//	go test -run '^$' -bench FanoutQueue ./hubd/
func BenchmarkFanoutQueue(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			bp, err := memory.New(nil)
			if err != nil {
				b.Fatal(err)
			}
			defer bp.Close()
			f := newFanout(bp, hclog.NewNullLogger(), newMetrics(prometheus.NewRegistry()))
			c, err := f.acquire(context.Background(), "dev/d")
			if err != nil {
				b.Fatal(err)
			}
			for i := range n {
				attach(c, &countSink{p: frame.Proto(i % 2), q: newSendQueue(1<<30, 1<<16)}, window.Filter{})
			}
			data, err := frame.AppendStored(nil, &frame.Stored{Device: "d", SpoolID: "s", Seq: 1, T0: time.Now().UnixNano(),
				Samples: []frame.Sample{{Sensor: "t", Value: frame.Rounded(20.87, 0.01)}, {Sensor: "rh", DT: 10, Value: frame.Rounded(41.3, 0.1)}}})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				f.HandlePublication("dev/d", "e", backplane.Publication{Offset: uint64(i + 1), Data: data})
			}
			b.ReportMetric(float64(b.N)*float64(n)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}
