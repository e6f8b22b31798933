package hubd_test

import (
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// TestSensorsFilter: a sensors subscription gets only those samples, frames
// left with none are skipped, and an unfiltered subscriber of the same
// channel is untouched.
func TestSensorsFilter(t *testing.T) {
	h := startHub(t, nil)
	a := connectAgent(t, h, "pi-7")
	a.publish(4)

	plain := dialDash(t, h, frame.ProtoJSON)
	plain.sub(frame.ClientMessage{Ch: "dev/pi-7"})
	onlyT := dialDash(t, h, frame.ProtoCBOR)
	ok := onlyT.sub(frame.ClientMessage{Ch: "dev/pi-7", Sensors: []string{"t"}, History: 2})
	if !ok.Filtered || ok.Off != 4 {
		t.Fatalf("ok %+v", ok)
	}
	none := dialDash(t, h, frame.ProtoJSON)
	if ok := none.sub(frame.ClientMessage{Ch: "dev/pi-7", Sensors: []string{"pressure"}}); !ok.Filtered {
		t.Fatalf("ok %+v", ok)
	}

	a.publish(3)
	fs := onlyT.frames(5) // 2 replayed, 3 live
	checkContiguous(t, fs, 3)
	for _, f := range fs {
		if len(f.Samples) != 1 || f.Samples[0].Sensor != "t" {
			t.Fatalf("filtered frame %+v", f)
		}
	}
	for _, f := range plain.frames(3) {
		if len(f.Samples) != 2 {
			t.Fatalf("unfiltered frame %+v", f)
		}
	}
	// Nothing for "pressure": the next message is the pong.
	id := none.request(frame.ClientMessage{Op: frame.OpPing})
	if p, ok := none.next().(*frame.Pong); !ok || p.ID != id {
		t.Fatalf("want pong, got %T %+v", p, p)
	}
}

// TestMaxRateHistory: replayed history is merged by the frames' own time
// (the test frames are 100 ms apart: max_rate 2 merges five into one).
func TestMaxRateHistory(t *testing.T) {
	h := startHub(t, nil)
	a := connectAgent(t, h, "pi-7")
	a.publish(20)
	d := dialDash(t, h, frame.ProtoJSON)
	ok := d.sub(frame.ClientMessage{Ch: "dev/pi-7", MaxRate: 2, History: 20})
	if !ok.Filtered {
		t.Fatalf("ok %+v", ok)
	}
	fs := d.frames(4)
	for i, f := range fs {
		if want := uint64(5 * (i + 1)); f.Off != want || f.Seq != want {
			t.Fatalf("merged frame %d: off %d seq %d, want %d", i, f.Off, f.Seq, want)
		}
		if f.T0 != testFrame(uint64(5*i+1)).T0 {
			t.Fatalf("merged frame %d: t0 %d is not the oldest's", i, f.T0)
		}
	}
}
