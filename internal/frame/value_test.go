package frame_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/edgeplane/edgeplane/internal/frame"
)

func TestRounded(t *testing.T) {
	tests := []struct {
		v, res, want float64
	}{
		{20.8712, 0.01, 20.87},
		{20.87, 0.01, 20.87},
		{20.865, 0.01, 20.87},
		{45.349, 0.1, 45.3},
		{1013.2549, 0.01, 1013.25},
		{3.2836, 0.001, 3.284},
		{0.3, 0.25, 0.25},
		{0.4, 0.25, 0.5},
		{19.44, 0.0625, 19.4375},
		{7, 2, 8},
		{-0.001, 0.01, 0},
		{-20.8712, 0.01, -20.87},
		{20.8712, 0, 20.8712},
		{20.8712, -1, 20.8712},
		{20.8712, math.NaN(), 20.8712},
		{1e300, 0.01, 1e300},
	}
	for _, tt := range tests {
		v := frame.Rounded(tt.v, tt.res)
		if got := v.Float64(); got != tt.want || math.Signbit(got) != math.Signbit(tt.want) {
			t.Errorf("Rounded(%v, %v) = %v, want %v", tt.v, tt.res, got, tt.want)
		}
	}
	// The float64 nearest the decimal, so that JSON prints the decimal.
	if s := strconv.FormatFloat(frame.Rounded(20.8712, 0.01).Float64(), 'g', -1, 64); s != "20.87" {
		t.Errorf("Rounded(20.8712, 0.01) prints %s", s)
	}
	if r := frame.Rounded(1, 0.01).Resolution(); r != 0.01 {
		t.Errorf("Resolution() = %v", r)
	}
	if k := frame.Int(3).WithResolution(0.1).Kind(); k != frame.KindInt {
		t.Errorf("WithResolution changed an int to kind %d", k)
	}
}

// TestValueRecoveredAtResolution is the promise of PROTOCOL.md "Values": a
// receiver that knows the resolution gets back exactly the rounded float64,
// whichever float width the encoder chose.
func TestValueRecoveredAtResolution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	resolutions := []float64{0.001, 0.01, 0.1, 0.25, 0.5, 1, 0.0625, 0.005, 2, 10}
	for i := 0; i < 20000; i++ {
		res := resolutions[i%len(resolutions)]
		v := frame.Rounded(math.Ldexp(r.Float64()*2-1, r.IntN(30)-5), res)
		b, err := frame.AppendAgent(nil, &frame.Frame{Seq: 1, Samples: []frame.Sample{{Sensor: "x", Value: v}}})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := frame.DecodeAgent(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := ms[0].(*frame.Frame).Samples[0].Value
		if back := got.WithResolution(res).Float64(); back != v.Float64() {
			t.Fatalf("%v at %v: sent as %v, recovered %v", v.Float64(), res, got.Float64(), back)
		}
		if d := math.Abs(got.Float64() - v.Float64()); d >= res/2 {
			t.Fatalf("%v at %v: sent as %v, off by %v", v.Float64(), res, got.Float64(), d)
		}
	}
}

func TestDeviceIDsAndChannels(t *testing.T) {
	for id, want := range map[string]bool{
		"pi-7": true, "A.b_c-9": true, "": false, "pi 7": false, "pi/7": false, "é": false,
		string(make([]byte, 65)): false,
	} {
		if got := frame.ValidDeviceID(id); got != want {
			t.Errorf("ValidDeviceID(%q) = %v", id, got)
		}
	}
	long := ""
	for range 64 {
		long += "a"
	}
	if !frame.ValidDeviceID(long) || frame.ValidDeviceID(long+"a") {
		t.Error("the 64-character bound is wrong")
	}
	if ch := frame.DeviceChannel("pi-7"); ch != "dev/pi-7" {
		t.Errorf("DeviceChannel = %q", ch)
	}
	for ch, want := range map[string]string{"dev/pi-7": "pi-7", "dev/": "", "presence": "", "dev/a b": "", "xdev/a": ""} {
		id, ok := frame.ChannelDevice(ch)
		if id != want || ok != (want != "") {
			t.Errorf("ChannelDevice(%q) = %q, %v", ch, id, ok)
		}
	}
}

func TestErrorCode(t *testing.T) {
	_, errInvalid := frame.DecodeAgent([]byte{0xa1, 0x00, 0x09}, nil)
	_, errUndecodable := frame.DecodeAgent([]byte{0xa1, 0x00}, nil)
	_, errTooLarge := frame.DecodeAgent(make([]byte, 2<<20), nil)
	tests := []struct {
		err       error
		code      uint16
		closeCode int
	}{
		{errInvalid, 400, 1008},
		{errTooLarge, 413, 1009},
		{errUndecodable, 0, 1007},
		{nil, 0, 1000},
		{strconv.ErrRange, 0, 1011},
	}
	for _, tt := range tests {
		code, cc := frame.ErrorCode(tt.err)
		if code != tt.code || cc != tt.closeCode {
			t.Errorf("ErrorCode(%v) = %d, %d; want %d, %d", tt.err, code, cc, tt.code, tt.closeCode)
		}
	}
}

// TestJSONRoundedDigits: the integer fast path prints exactly what strconv
// prints for rounded values.
func TestJSONRoundedDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	resolutions := []float64{1, 2, 5, 0.1, 0.2, 0.5, 0.01, 0.02, 0.05, 0.25, 0.001, 0.002, 0.005, 0.125, 0.0001, 0.0625, 0.00001, 0.03125, 0.000001, 0.015625}
	for i := 0; i < 200000; i++ {
		res := resolutions[i%len(resolutions)]
		scale := math.Pow(10, float64(r.IntN(12)-3))
		v := frame.Rounded((r.Float64()*2-1)*scale, res).Float64()
		if i%97 == 0 {
			v = frame.Rounded(-0.0001, res).Float64()
		}
		got := string(frame.AppendJSONRounded(nil, v, res))
		want := string(frame.AppendJSONFloatValue(nil, v))
		if got != want {
			t.Fatalf("%v at %v: fast path %s, strconv %s", v, res, got, want)
		}
	}
}

// TestRoundToFastPath: the integer path gives the float64 the decimal
// (strconv) path gives, for every resolution it covers.
func TestRoundToFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	resolutions := []float64{1, 2, 5, 0.1, 0.2, 0.5, 0.01, 0.02, 0.05, 0.25, 0.001, 0.002, 0.005, 0.125, 0.0001, 0.0625, 0.00001, 0.03125, 0.000001, 0.015625}
	for i := 0; i < 300000; i++ {
		res := resolutions[i%len(resolutions)]
		v := (r.Float64()*2 - 1) * math.Pow(10, float64(r.IntN(14)-4))
		if got, want := frame.RoundTo(v, res), frame.RoundToSlow(v, res); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("roundTo(%v, %v) = %v, strconv path %v", v, res, got, want)
		}
	}
}
