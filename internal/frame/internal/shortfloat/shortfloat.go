// Package shortfloat chooses the shortest IEEE 754 binary format (16, 32 or
// 64 bit) that carries a float64 reading to a receiver that knows, or does not
// know, the reading's resolution. It is the pure logic behind the float
// encoding of docs/PROTOCOL.md, section "Values"; it does no I/O.
package shortfloat

import "math"

// Width is the size of a chosen float encoding in bits.
type Width uint8

// Float widths.
const (
	W16 Width = 16
	W32 Width = 32
	W64 Width = 64
)

// tolerance is the fraction of half the resolution a narrower float may be
// away from the rounded value. It is a hair below 1 so that rounding the
// narrow value back to the resolution lands on the same multiple even when the
// division v/res carries a rounding error (|v/res| < 2^30; above that neither
// float16 nor float32 comes within half the resolution anyway).
const tolerance = 0.9999

// Choose returns the shortest width whose value lies within res/2 of v
// (strictly, with a small safety margin), and the bits of v in that width
// (the low 16 or 32 bits for W16 and W32). With res <= 0 the chosen width
// keeps v exactly. NaN and infinities are kept exactly as well.
func Choose(v, res float64) (Width, uint64) {
	f32 := float32(v)
	h := F16FromF32(f32)
	if ok(F16ToF64(h), v, res) {
		return W16, uint64(h)
	}
	if ok(float64(f32), v, res) {
		return W32, uint64(math.Float32bits(f32))
	}
	return W64, math.Float64bits(v)
}

func ok(c, v, res float64) bool {
	if c == v {
		return true
	}
	if !(res > 0) || math.IsInf(c, 0) || math.IsNaN(c) || math.IsInf(v, 0) || math.IsNaN(v) {
		return false
	}
	return math.Abs(c-v) < res/2*tolerance
}

// F16FromF32 converts f to IEEE 754 binary16 bits, rounding to nearest even.
// Values too large become infinities; NaNs stay NaNs (quiet).
func F16FromF32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00 | uint16(man>>13)
		}
		return sign | 0x7c00
	case exp == 0 && man == 0:
		return sign
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): shift the full significand.
		if e < -10 {
			return sign // rounds to zero
		}
		m := man | 0x800000
		shift := uint32(14 - e) // 24-bit significand down to 10 bits at exponent -14
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, up to infinity: still correct
	}
	return sign | uint16(r)
}

// F16ToF64 converts IEEE 754 binary16 bits to a float64.
func F16ToF64(h uint16) float64 {
	sign := uint64(h>>15) << 63
	exp := uint64(h>>10) & 0x1f
	man := uint64(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal: man * 2^-24, exact
		f := float64(man) * (1.0 / (1 << 24))
		return math.Float64frombits(math.Float64bits(f) | sign)
	case 0x1f:
		if man != 0 {
			return math.Float64frombits(sign | 0x7ff8000000000000 | man<<42)
		}
		return math.Float64frombits(sign | 0x7ff0000000000000)
	}
	return math.Float64frombits(sign | (exp+1023-15)<<52 | man<<42)
}
