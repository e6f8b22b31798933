package window

import (
	"testing"
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
	for _, other := range []Filter{NewFilter([]string{"t"}, 10), NewFilter([]string{"t", "rh"}, 5), {}} {
		if other.Key() == a.Key() {
			t.Fatalf("%+v and %+v share a key", other, a)
		}
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
	m := Merge(nil, a)
	m = Merge(m, b)
	m = Merge(m, c)
	if m.T0 != a.T0 || m.Off != 3 || m.Seq != c.Seq {
		t.Fatalf("merged header %+v", m)
	}
	want := []frame.Sample{s("t", 250_000, 20.3), s("rh", 500, 40), s("p", 200_010, 1013)}
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
