package frame_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func storedExample() *frame.Stored {
	f := realisticFrame(10)
	return &frame.Stored{Device: "pi-7", SpoolID: "5f2c9a1e", Seq: f.Seq, T0: f.T0, Samples: f.Samples}
}

func TestStoredRoundTrip(t *testing.T) {
	tests := map[string]*frame.Stored{
		"realistic": storedExample(),
		"empty":     {Device: "pi-7", Seq: 1, Samples: nil},
		"single":    {Device: "pi-7", SpoolID: "s", Seq: 9, T0: -1, Samples: []frame.Sample{{Sensor: "t", DT: 3, Value: frame.Rounded(20.87, 0.01)}}},
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := frame.AppendStored(nil, s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := frame.DecodeStored(b)
			if err != nil {
				t.Fatal(err)
			}
			want := *s
			want.Samples = append([]frame.Sample{}, s.Samples...)
			frame.SortSamples(want.Samples)
			// Resolutions come back from key 6: values are exactly equal.
			if !deepEqual(got, &want) {
				t.Fatalf("got  %+v\nwant %+v", got, &want)
			}
		})
	}
}

// TestStoredKeepsResolution: a hub that reads the stored form prints the
// rounded decimal, though the payload carried the float32 nearest to it.
func TestStoredKeepsResolution(t *testing.T) {
	s := &frame.Stored{Device: "pi-7", SpoolID: "s", Seq: 1, T0: 1733318400123456000, Samples: []frame.Sample{
		{Sensor: "t", DT: 0, Value: frame.Rounded(20.87, 0.01)},
		{Sensor: "v", DT: 0, Value: frame.Rounded(3.284, 0.001)},
	}}
	b, err := frame.AppendStored(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := frame.DecodeStored(b)
	if err != nil {
		t.Fatal(err)
	}
	js, err := frame.AppendServer(nil, &frame.DashFrame{Ch: "dev/pi-7", Off: 1, Device: got.Device, Seq: got.Seq, T0: got.T0, Samples: got.Samples}, frame.ProtoJSON)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"samples":[["t",0,20.87],["v",0,3.284]]`; !strings.Contains(string(js), want) {
		t.Fatalf("%s does not contain %s", js, want)
	}
	if r := got.Samples[0].Value.Resolution(); r != 0.01 {
		t.Fatalf("resolution %v, want 0.01", r)
	}
}

func TestDecodeStoredBadInputs(t *testing.T) {
	good, _ := frame.AppendStored(nil, storedExample())
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, frame.ErrUndecodable, "empty"},
		{"truncated", good[:len(good)-1], frame.ErrUndecodable, "truncated"},
		{"trailing", append(append([]byte{}, good...), 0), frame.ErrUndecodable, "data after the map"},
		{"array", mustCBOR(t, []int{1}), frame.ErrInvalid, "stored: want map, got array"},
		{"no device", mustCBOR(t, map[int]any{2: "s", 3: 1, 4: 0, 5: []any{}}), frame.ErrInvalid, "stored: missing required key 1 (device)"},
		{"bad device", mustCBOR(t, map[int]any{1: "a b", 2: "s", 3: 1, 4: 0, 5: []any{}}), frame.ErrInvalid, "stored: key 1 (device)"},
		{"no samples", mustCBOR(t, map[int]any{1: "a", 2: "s", 3: 1, 4: 0}), frame.ErrInvalid, "missing required key 5 (samples)"},
		{"bad resolution", mustCBOR(t, map[int]any{1: "a", 2: "s", 3: 1, 4: 0, 5: []any{}, 6: map[string]any{"t": -1}}), frame.ErrInvalid, `key 6 (resolutions): resolution of "t"`},
		{"too big", make([]byte, 2<<20), frame.ErrTooLarge, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := frame.DecodeStored(tt.in)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want %v saying %q", err, tt.want, tt.msg)
			}
		})
	}
}
