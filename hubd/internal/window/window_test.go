package window

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func df(off uint64, t0ms int64, samples ...frame.Sample) *frame.DashFrame {
	return &frame.DashFrame{Ch: "dev/d", Device: "d", Off: off, Seq: off + 100, T0: t0ms * 1e6, Samples: samples}
}

func s(id string, dt uint64, v float64) frame.Sample {
	return frame.Sample{Sensor: id, DT: dt, Value: frame.Float(v)}
}

func TestFilterSelect(t *testing.T) {
	in := df(1, 0, s("t", 0, 1), s("rh", 10, 2), s("t", 20, 3))
	cases := []struct {
		name    string
		sensors []string
		want    []string // sensor ids left; nil = frame skipped
	}{
		{"all", nil, []string{"t", "rh", "t"}},
		{"one", []string{"t"}, []string{"t", "t"}},
		{"dups and order", []string{"rh", "t", "rh"}, []string{"t", "rh", "t"}},
		{"none left", []string{"p"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := NewFilter(tc.sensors, 0).Select(in)
			if tc.want == nil {
				if out != nil {
					t.Fatalf("got %+v, want skipped", out)
				}
				return
			}
			if len(out.Samples) != len(tc.want) {
				t.Fatalf("got %+v", out.Samples)
			}
			for i, id := range tc.want {
				if out.Samples[i].Sensor != id {
					t.Fatalf("sample %d: %s, want %s", i, out.Samples[i].Sensor, id)
				}
			}
		})
	}
	if len(in.Samples) != 3 {
		t.Fatal("Select changed its input")
	}
}

func TestFilterKey(t *testing.T) {
	a := NewFilter([]string{"t", "rh"}, 10)
	b := NewFilter([]string{"rh", "t", "t"}, 10)
	if a.Key() != b.Key() {
		t.Fatalf("equal filters, keys %q %q", a.Key(), b.Key())
	}
	for _, other := range []Filter{NewFilter([]string{"t"}, 10), NewFilter([]string{"t", "rh"}, 5), {}, a.WithMinMax(true)} {
		if other.Key() == a.Key() {
			t.Fatalf("%+v and %+v share a key", other, a)
		}
	}
	if a.WithMinMax(true).Key() != b.WithMinMax(true).Key() {
		t.Fatal("equal minmax filters, different keys")
	}
	if NewFilter(nil, 0).WithMinMax(true).MinMax {
		t.Fatal("minmax without a rate limit")
	}
	if !NewFilter(nil, -1).IsZero() || NewFilter(nil, 0).Key() != "" {
		t.Fatal("zero filter")
	}
}

// TestMerge follows the contract: t0 of the oldest, the last sample of each
// sensor with dt from that t0, seq and off of the newest.
func TestMerge(t *testing.T) {
	a := df(1, 1000, s("t", 0, 20.1), s("rh", 500, 40))
	b := df(2, 1100, s("t", 0, 20.2))
	c := df(3, 1200, s("t", 50_000, 20.3), s("p", 10, 1013))
	var f Filter
	m := f.Merge(nil, a)
	m = f.Merge(m, b)
	m = f.Merge(m, c)
	if m.T0 != a.T0 || m.Off != 3 || m.Seq != c.Seq {
		t.Fatalf("merged header %+v", m)
	}
	want := []frame.Sample{s("rh", 500, 40), s("p", 200_010, 1013), s("t", 250_000, 20.3)} // sample order
	if len(m.Samples) != len(want) {
		t.Fatalf("samples %+v", m.Samples)
	}
	for i, w := range want {
		g := m.Samples[i]
		if g.Sensor != w.Sensor || g.DT != w.DT || g.Value.Float64() != w.Value.Float64() {
			t.Fatalf("sample %d: %+v, want %+v", i, g, w)
		}
	}
	if len(a.Samples) != 2 || a.Samples[0].Value.Float64() != 20.1 {
		t.Fatal("Merge changed the first frame")
	}
}

// TestMergeSeries: a frame with several samples of one sensor merges to
// the last of them, also when it is the first frame of the window.
func TestMergeSeries(t *testing.T) {
	var f Filter
	m := f.Merge(nil, df(1, 0, s("t", 0, 1), s("rh", 0, 5), s("t", 10, 2), s("t", 20, 3)))
	sameSamples(t, m.Samples, []frame.Sample{s("rh", 0, 5), s("t", 20, 3)})
	m = f.Merge(m, df(2, 1, s("t", 0, 4), s("t", 5, 6)))
	sameSamples(t, m.Samples, []frame.Sample{s("rh", 0, 5), s("t", 1005, 6)})
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(NewFilter(nil, 10)) // 100ms
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	if out, _ := l.Push(at(0), df(1, 0)); out == nil || out.Off != 1 {
		t.Fatal("first frame held back")
	}
	if out, flush := l.Push(at(10), df(2, 10)); out != nil || !flush.Equal(at(100)) {
		t.Fatalf("second frame: %v, flush at %v", out, flush)
	}
	if out, flush := l.Push(at(50), df(3, 50)); out != nil || !flush.Equal(at(100)) {
		t.Fatalf("third frame: %v, flush at %v", out, flush)
	}
	if m := l.Flush(at(100)); m == nil || m.Off != 3 || m.T0 != 10*1e6 {
		t.Fatalf("flush %+v", m)
	}
	if m := l.Flush(at(150)); m != nil {
		t.Fatalf("empty flush %+v", m)
	}
	// Within the next interval (100..200) a frame waits again.
	if out, flush := l.Push(at(150), df(4, 150)); out != nil || !flush.Equal(at(200)) {
		t.Fatalf("fourth: %v %v", out, flush)
	}
	l.Reset()
	if m := l.Flush(at(200)); m != nil {
		t.Fatalf("after reset %+v", m)
	}
	if out, _ := l.Push(at(300), df(5, 300)); out == nil {
		t.Fatal("idle limiter held a frame back")
	}
}

func TestDownsample(t *testing.T) {
	var in []*frame.DashFrame
	for i := range 10 {
		in = append(in, df(uint64(i+1), int64(i*30), s("t", 0, float64(i))))
	}
	out := Downsample(NewFilter(nil, 10), in) // 100ms windows by frame time: 0,30,60,90 | 120..210 | 240..
	if len(out) != 3 {
		t.Fatalf("%d frames: %+v", len(out), out)
	}
	wantOff := []uint64{4, 8, 10}
	for i, f := range out {
		if f.Off != wantOff[i] {
			t.Fatalf("frame %d off %d, want %d", i, f.Off, wantOff[i])
		}
	}
	if got := Downsample(Filter{}, in); len(got) != 10 {
		t.Fatal("no rate: frames changed")
	}
}

func si(id string, dt uint64, v int64) frame.Sample {
	return frame.Sample{Sensor: id, DT: dt, Value: frame.Int(v)}
}

func sb(id string, dt uint64, v bool) frame.Sample {
	return frame.Sample{Sensor: id, DT: dt, Value: frame.Bool(v)}
}

// sameSamples compares sensor, dt, kind and value.
func sameSamples(t *testing.T, got, want []frame.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("samples\n got  %v\n want %v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.Sensor != w.Sensor || g.DT != w.DT || g.Value.Kind() != w.Value.Kind() ||
			g.Value.Float64() != w.Value.Float64() || g.Value.Int64() != w.Value.Int64() {
			t.Fatalf("sample %d: %+v, want %+v\n got  %v\n want %v", i, g, w, got, want)
		}
	}
}

// TestMergeMinMax: a minmax merge adds <sensor>@min and @max at the dt of
// the extreme (its first occurrence), for ints and floats, not for bools.
func TestMergeMinMax(t *testing.T) {
	const big = 1<<62 + 1 // not exact as a float64
	cases := []struct {
		name   string
		frames []*frame.DashFrame
		want   []frame.Sample
	}{
		{"one frame, one sample", []*frame.DashFrame{df(1, 0, s("t", 7, 20))},
			[]frame.Sample{s("t", 7, 20), s("t@max", 7, 20), s("t@min", 7, 20)}},
		{"series in one frame", []*frame.DashFrame{df(1, 0, s("t", 0, 20.87), s("t", 1000, 20.95), s("t", 2000, 20.91))},
			[]frame.Sample{s("t@min", 0, 20.87), s("t@max", 1000, 20.95), s("t", 2000, 20.91)}},
		{"across frames", []*frame.DashFrame{
			df(1, 1000, s("t", 0, 21), s("rh", 10, 40)),
			df(2, 1100, s("t", 0, 19.5)),
			df(3, 1200, s("t", 0, 22), s("rh", 0, 45)),
			df(4, 1300, s("t", 0, 20)),
		}, []frame.Sample{
			s("rh@min", 10, 40), s("t@min", 100_000, 19.5),
			s("rh", 200_000, 45), s("rh@max", 200_000, 45), s("t@max", 200_000, 22),
			s("t", 300_000, 20),
		}},
		{"ties keep the first", []*frame.DashFrame{df(1, 0, s("t", 0, 5), s("t", 10, 5))},
			[]frame.Sample{s("t@max", 0, 5), s("t@min", 0, 5), s("t", 10, 5)}},
		{"ints keep every bit", []*frame.DashFrame{df(1, 0, si("n", 0, big), si("n", 1, big-1), si("n", 2, big))},
			[]frame.Sample{si("n@max", 0, big), si("n@min", 1, big-1), si("n", 2, big)}},
		{"bools have none", []*frame.DashFrame{df(1, 0, sb("door", 0, true)), df(2, 1, sb("door", 0, false))},
			[]frame.Sample{sb("door", 1000, false)}},
		{"NaN takes no part", []*frame.DashFrame{df(1, 0, s("t", 0, math.NaN()), s("t", 1, 3), s("t", 2, 1))},
			[]frame.Sample{s("t@max", 1, 3), s("t", 2, 1), s("t@min", 2, 1)}},
	}
	f := NewFilter(nil, 1).WithMinMax(true)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m *frame.DashFrame
			for _, fr := range tc.frames {
				m = f.Merge(m, fr)
			}
			last := tc.frames[len(tc.frames)-1]
			if m.T0 != tc.frames[0].T0 || m.Off != last.Off || m.Seq != last.Seq {
				t.Fatalf("merged header %+v", m)
			}
			sameSamples(t, m.Samples, tc.want)
		})
	}
}

// TestSelectReserved: on a minmax stream an agent's own sensor named like
// a min or max sample is left out; elsewhere it passes.
func TestSelectReserved(t *testing.T) {
	in := df(1, 0, s("t", 0, 1), s("t@min", 0, 2), s("x@max", 0, 3))
	if out := NewFilter(nil, 1).Select(in); out != in {
		t.Fatal("plain filter changed the frame")
	}
	sameSamples(t, NewFilter(nil, 1).WithMinMax(true).Select(in).Samples, []frame.Sample{s("t", 0, 1)})
	if out := NewFilter([]string{"x@max"}, 1).WithMinMax(true).Select(in); out != nil {
		t.Fatalf("got %+v, want skipped", out)
	}
	if len(in.Samples) != 3 {
		t.Fatal("Select changed its input")
	}
}

// TestLimiterMinMax: with minmax even a frame that goes out at once is a
// merged one, and a window's merged frame has the window's extremes.
func TestLimiterMinMax(t *testing.T) {
	l := NewLimiter(NewFilter(nil, 10).WithMinMax(true))
	t0 := time.Unix(1000, 0)
	out, _ := l.Push(t0, df(1, 0, s("t", 0, 3), s("t", 10, 2)))
	sameSamples(t, out.Samples, []frame.Sample{s("t@max", 0, 3), s("t", 10, 2), s("t@min", 10, 2)})
	l.Push(t0.Add(10*time.Millisecond), df(2, 10, s("t", 0, 5)))
	l.Push(t0.Add(20*time.Millisecond), df(3, 20, s("t", 0, 1)))
	l.Push(t0.Add(30*time.Millisecond), df(4, 30, s("t", 0, 4)))
	m := l.Flush(t0.Add(100 * time.Millisecond))
	sameSamples(t, m.Samples, []frame.Sample{s("t@max", 0, 5), s("t@min", 10_000, 1), s("t", 20_000, 4)})
}

func TestDownsampleMinMax(t *testing.T) {
	var in []*frame.DashFrame
	for i := range 10 {
		in = append(in, df(uint64(i+1), int64(i*30), s("t", 0, float64((i*7)%10))))
	}
	// values 0 7 4 1 | 8 5 2 9 | 6 3 at t0 0,30,60,90 | 120..210 | 240,270
	out := Downsample(NewFilter(nil, 10).WithMinMax(true), in)
	want := [][]frame.Sample{
		{s("t@min", 0, 0), s("t@max", 30_000, 7), s("t", 90_000, 1)},
		{s("t@min", 60_000, 2), s("t", 90_000, 9), s("t@max", 90_000, 9)},
		{s("t@max", 0, 6), s("t", 30_000, 3), s("t@min", 30_000, 3)},
	}
	if len(out) != len(want) {
		t.Fatalf("%d frames", len(out))
	}
	for i := range want {
		sameSamples(t, out[i].Samples, want[i])
	}
}

// TestRateBoundMinMax drives a Limiter as the hub does (a timer flushes the
// held frame) under synctest: a minmax stream of frames every 10 ms at
// max_rate 10 sends frames at least 100 ms apart, each with the extremes of
// exactly the frames merged into it, and loses none of them.
func TestRateBoundMinMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(NewFilter(nil, 10).WithMinMax(true))
		var (
			mu    sync.Mutex
			timer *time.Timer
			sent  []time.Time
			outs  []*frame.DashFrame
		)
		emit := func(fr *frame.DashFrame) {
			sent = append(sent, time.Now())
			outs = append(outs, fr)
		}
		value := func(i int) float64 { return float64((i * 37) % 101) }
		const n = 300
		start := time.Now()
		for i := 1; i <= n; i++ {
			mu.Lock()
			fr := df(uint64(i), time.Since(start).Milliseconds(), s("t", 0, value(i)), sb("door", 0, i%2 == 0))
			out, flushAt := l.Push(time.Now(), fr)
			if out != nil {
				emit(out)
			} else if timer == nil {
				timer = time.AfterFunc(time.Until(flushAt), func() {
					mu.Lock()
					defer mu.Unlock()
					timer = nil
					if m := l.Flush(time.Now()); m != nil {
						emit(m)
					}
				})
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()

		mu.Lock()
		defer mu.Unlock()
		if len(outs) < 29 || len(outs) > 31 {
			t.Fatalf("max_rate 10 over 3 s gave %d frames", len(outs))
		}
		for i := 1; i < len(sent); i++ {
			if d := sent[i].Sub(sent[i-1]); d < 100*time.Millisecond {
				t.Fatalf("frames %d and %d only %v apart", i-1, i, d)
			}
		}
		prev := 0
		for i, fr := range outs {
			lo, hi := math.Inf(1), math.Inf(-1)
			for k := prev + 1; k <= int(fr.Off); k++ {
				lo, hi = min(lo, value(k)), max(hi, value(k))
			}
			got := map[string]float64{}
			for _, smp := range fr.Samples {
				got[smp.Sensor] = smp.Value.Float64()
			}
			if len(fr.Samples) != 4 || got["t"] != value(int(fr.Off)) || got["t@min"] != lo || got["t@max"] != hi {
				t.Fatalf("frame %d (frames %d..%d): %v, want t %v min %v max %v", i, prev+1, fr.Off, fr.Samples, value(int(fr.Off)), lo, hi)
			}
			prev = int(fr.Off)
		}
		if prev != n {
			t.Fatalf("last frame has off %d, want %d", prev, n)
		}
	})
}

// TestProtocolExample is the minmax example of PROTOCOL.md ("Dashboard
// link", sub): two frames 2 s apart replayed at max_rate 0.25.
func TestProtocolExample(t *testing.T) {
	a := df(57, 1000, sb("door", 0, false), s("t", 0, 21.5), s("t", 1_000_000, 21.7))
	b := df(58, 3000, s("t", 0, 21.4), sb("door", 500_000, true), s("t", 1_000_000, 21.6))
	out := Downsample(NewFilter(nil, 0.25).WithMinMax(true), []*frame.DashFrame{a, b})
	if len(out) != 1 || out[0].T0 != a.T0 || out[0].Off != 58 || out[0].Seq != b.Seq {
		t.Fatalf("got %+v", out)
	}
	sameSamples(t, out[0].Samples, []frame.Sample{s("t@max", 1_000_000, 21.7), s("t@min", 2_000_000, 21.4), sb("door", 2_500_000, true), s("t", 3_000_000, 21.6)})
}
