package loadtest

import (
	"bytes"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// The scan must read what the full decoder reads, for every frame the hub
// can write, and refuse what it cannot read.
func TestScanJSONFrameAgreesWithDecoder(t *testing.T) {
	frames := []*frame.DashFrame{
		{Ch: "dev/pi-7", Off: 58, Device: "pi-7", Seq: 1234, T0: 1733318400123456000, Samples: []frame.Sample{{Sensor: "t", Value: frame.Rounded(21.5, 0.01)}}},
		{Ch: "dev/load-0123456789ab-17", Off: 1, Device: "load-0123456789ab-17", Seq: 1, T0: 1764806400000001000},
		{Ch: "dev/a", Off: 1<<53 + 1, Device: "a", Seq: 9, T0: 1, Samples: []frame.Sample{
			{Sensor: `"t0":`, Value: frame.Int(5)}, {Sensor: "off", DT: 3, Value: frame.Bool(true)}}},
	}
	var batch []byte
	for i, m := range frames {
		b, err := frame.AppendServer(nil, m, frame.ProtoJSON)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := scanJSONFrame(b)
		if !ok {
			t.Fatalf("frame %d: scan refused %s", i, b)
		}
		msgs, err := frame.DecodeServer(b, frame.ProtoJSON, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := msgs[0].(*frame.DashFrame)
		if string(f.ch) != d.Ch || f.off != d.Off || f.t0 != d.T0 {
			t.Errorf("frame %d: scan read ch %q off %d t0 %d, decoder %q %d %d", i, f.ch, f.off, f.t0, d.Ch, d.Off, d.T0)
		}
		if i > 0 {
			batch = append(batch, '\n')
		}
		batch = append(batch, b...)
	}
	if n := len(bytes.Split(batch, []byte{'\n'})); n != len(frames) {
		t.Fatalf("batch of %d lines, want %d", n, len(frames))
	}
	for name, in := range map[string]string{
		"ok reply":   `{"op":"ok","id":1,"ch":"dev/a","epoch":"e","off":0}`,
		"no off":     `{"op":"frame","ch":"dev/a","device":"a","seq":1,"t0":1,"samples":[]}`,
		"escaped ch": `{"op":"frame","ch":"dev/\u0061","off":1,"device":"a","seq":1,"t0":1,"samples":[]}`,
		"bad t0":     `{"op":"frame","ch":"dev/a","off":1,"device":"a","seq":1,"t0":x,"samples":[]}`,
		"reset":      `{"op":"reset","ch":"dev/a","epoch":"e"}`,
	} {
		if f, ok := scanJSONFrame([]byte(in)); ok {
			t.Errorf("%s: scan accepted %s as %+v; want the full decoder to handle it", name, in, f)
		}
	}
}
