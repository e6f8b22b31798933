package hubd_test

import (
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// point is a sample's dt and value, by sensor id.
type point struct {
	dt uint64
	v  float64
}

// wantMinMax is what the contract says a frame merged from frames holds
// with minmax: the last sample of each sensor and, for each, <sensor>@min
// and @max at the dt (from the first frame's t0) of the first occurrence.
func wantMinMax(frames []*frame.DashFrame) map[string]point {
	t0 := frames[0].T0
	want := map[string]point{}
	for _, fr := range frames {
		for _, s := range fr.Samples {
			p := point{uint64((fr.T0-t0)/1000) + s.DT, s.Value.Float64()}
			want[s.Sensor] = p
			if m, ok := want[s.Sensor+"@min"]; !ok || p.v < m.v {
				want[s.Sensor+"@min"] = p
			}
			if m, ok := want[s.Sensor+"@max"]; !ok || p.v > m.v {
				want[s.Sensor+"@max"] = p
			}
		}
	}
	return want
}

// TestMinMax: a max_rate subscription with minmax gets, in replayed and in
// live frames, the min and max of each window beside the last value, while
// an unfiltered subscriber of the same channel gets every frame unchanged.
func TestMinMax(t *testing.T) {
	h := startHub(t, nil)
	a := connectAgent(t, h, "pi-7")
	a.publish(20) // t0 100 ms apart: max_rate 2 merges five into one

	plain := dialDash(t, h, frame.ProtoJSON)
	if ok := plain.sub(frame.ClientMessage{Ch: "dev/pi-7", History: 20}); ok.Filtered {
		t.Fatalf("plain ok %+v", ok)
	}
	mm := dialDash(t, h, frame.ProtoJSON) // values as the plain subscriber's
	if ok := mm.sub(frame.ClientMessage{Ch: "dev/pi-7", History: 20, MaxRate: 2, MinMax: true}); !ok.Filtered || ok.Off != 20 {
		t.Fatalf("minmax ok %+v", ok)
	}
	const n = 45
	a.publish(n - 20)

	fs := plain.frames(n)
	checkContiguous(t, fs, 1)
	for _, f := range fs {
		if len(f.Samples) != 2 || f.Seq != f.Off || f.T0 != testFrame(f.Seq).T0 {
			t.Fatalf("unfiltered frame %+v", f)
		}
		for _, s := range f.Samples {
			if strings.Contains(s.Sensor, "@") {
				t.Fatalf("unfiltered frame with %s: %+v", s.Sensor, f)
			}
		}
	}

	var prev uint64
	for i := 0; prev < n; i++ {
		f := mm.frames(1)[0]
		if f.Off <= prev {
			t.Fatalf("minmax frame %d: off %d after %d", i, f.Off, prev)
		}
		if i < 4 && f.Off != uint64(5*(i+1)) {
			t.Fatalf("replayed minmax frame %d: off %d, want %d", i, f.Off, 5*(i+1))
		}
		first := prev + 1
		if f.T0 != testFrame(first).T0 || f.Seq != f.Off {
			t.Fatalf("minmax frame %d (frames %d..%d): t0 %d seq %d", i, first, f.Off, f.T0, f.Seq)
		}
		want := wantMinMax(fs[first-1 : f.Off])
		got := map[string]point{}
		for _, s := range f.Samples {
			got[s.Sensor] = point{s.DT, s.Value.Float64()}
		}
		if len(got) != len(want) || len(f.Samples) != len(want) {
			t.Fatalf("minmax frame %d (frames %d..%d): samples %v, want %v", i, first, f.Off, got, want)
		}
		for id, w := range want {
			if got[id] != w {
				t.Fatalf("minmax frame %d (frames %d..%d): %s = %+v, want %+v", i, first, f.Off, id, got[id], w)
			}
		}
		prev = f.Off
	}
	if prev != n {
		t.Fatalf("last minmax frame has off %d, want %d", prev, n)
	}
}

// TestMinMaxNeedsMaxRate: minmax without max_rate is error 400 and the
// connection stays.
func TestMinMaxNeedsMaxRate(t *testing.T) {
	h := startHub(t, nil)
	for _, p := range []frame.Proto{frame.ProtoJSON, frame.ProtoCBOR} {
		d := dialDash(t, h, p)
		d.request(frame.ClientMessage{Op: frame.OpSub, Ch: "dev/pi-7", MinMax: true})
		if e, ok := d.next().(*frame.ErrorReply); !ok || e.Code != 400 || !strings.Contains(e.Message, "max_rate") {
			t.Fatalf("encoding %d: want error 400 about max_rate, got %T %+v", p, e, e)
		}
		if ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7", MaxRate: 1, MinMax: true}); !ok.Filtered {
			t.Fatalf("encoding %d: ok %+v", p, ok)
		}
	}
}
