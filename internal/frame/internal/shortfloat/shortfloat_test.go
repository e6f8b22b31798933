package shortfloat

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestF16RoundTripsEveryValue(t *testing.T) {
	for h := 0; h <= 0xffff; h++ {
		f := F16ToF64(uint16(h))
		if math.IsNaN(f) {
			continue
		}
		if got := F16FromF32(float32(f)); got != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
	}
}

func TestF16FromF32IsNearest(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		f := float32(math.Ldexp(r.Float64()*2-1, r.IntN(40)-26))
		h := F16FromF32(f)
		got := F16ToF64(h)
		if math.IsInf(got, 0) {
			if math.Abs(float64(f)) < 65504 {
				t.Fatalf("%v became %v", f, got)
			}
			continue
		}
		// No neighbour of h is closer to f.
		for _, n := range []uint16{h - 1, h + 1} {
			nv := F16ToF64(n)
			if math.IsNaN(nv) || math.IsInf(nv, 0) || math.Signbit(nv) != math.Signbit(got) && got != 0 {
				continue
			}
			if math.Abs(nv-float64(f)) < math.Abs(got-float64(f)) {
				t.Fatalf("%v: chose %v, %v is nearer", f, got, nv)
			}
		}
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		v, res float64
		want   Width
	}{
		{0, 0, W16},
		{1.5, 0, W16},
		{20.87, 0, W64},
		{20.87, 0.01, W32},   // float16 20.875 is exactly half a step away: refused
		{45.3, 0.1, W16},     // 45.3125
		{1013.25, 0.01, W32}, // float16 steps are 0.5 there
		{48.3, 0.1, W16},
		{3.284, 0.001, W32},
		{19.4375, 0.0625, W16},
		{100000, 1, W32},   // over float16's range
		{1e300, 0.01, W64}, // over float32's
		{0.1, 0, W64},
		{math.Inf(1), 0, W16},
	}
	for _, tt := range tests {
		if got, _ := Choose(tt.v, tt.res); got != tt.want {
			t.Errorf("Choose(%v, %v) = %d bits, want %d", tt.v, tt.res, got, tt.want)
		}
	}
}

// TestF16KnownValues pins the conversion to values from the IEEE 754 tables.
func TestF16KnownValues(t *testing.T) {
	for h, want := range map[uint16]float64{
		0x0000: 0, 0x3c00: 1, 0xc000: -2, 0x7bff: 65504, 0x0001: math.Ldexp(1, -24),
		0x03ff: math.Ldexp(1023, -24), 0x0400: math.Ldexp(1, -14), 0x3555: 0.333251953125,
		0x4d3b: 20.921875, 0x7c00: math.Inf(1), 0xfc00: math.Inf(-1),
	} {
		if got := F16ToF64(h); got != want {
			t.Errorf("F16ToF64(%#04x) = %v, want %v", h, got, want)
		}
	}
	if got := F16ToF64(0x8000); got != 0 || !math.Signbit(got) {
		t.Errorf("F16ToF64(0x8000) = %v, want -0", got)
	}
	if !math.IsNaN(F16ToF64(0x7e00)) {
		t.Error("0x7e00 is not NaN")
	}
}
