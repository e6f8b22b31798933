package frame

import (
	"math"
	"strconv"
)

// roundTo rounds v to the nearest multiple of res and returns the float64
// nearest to that multiple written as a decimal: roundTo(20.8712, 0.01) is
// the float64 nearest 20.87, not 2087*0.01 (20.870000000000001). The decimal
// step makes JSON print "20.87" and lets a receiver that knows res recover the
// same float64 from a narrower CBOR float (PROTOCOL.md, "Values").
// Resolutions that are not powers of ten (0.25, 0.5, 2) work the same way.
func roundTo(v, res float64) float64 {
	if !(res > 0) || math.IsInf(res, 0) || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	q := v / res
	if math.Abs(q) >= 1<<53 {
		return v // v's own spacing is coarser than res: nothing to round
	}
	if d, k, ok := fastRes(res); ok && math.Abs(q)*float64(k) < 1<<53 {
		// res is k/10^d: the multiple is m/10^d with m an exact integer, and
		// IEEE division of two exact values is correctly rounded, so this is
		// the float64 nearest the decimal, as the strconv path below gives.
		m := math.Round(q) * float64(k)
		if m == 0 {
			return 0
		}
		return m / pow10[d]
	}
	return roundToSlow(v, res, q)
}

// roundToSlow rounds through strconv, for any resolution.
func roundToSlow(v, res, q float64) float64 {
	r := math.Round(q) * res
	if math.IsInf(r, 0) {
		return v // the next multiple is beyond float64
	}
	d := resDecimals(res)
	if d < 0 {
		return r
	}
	var buf [64]byte
	s := strconv.AppendFloat(buf[:0], r, 'f', d, 64)
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return r
	}
	if f == 0 {
		return 0 // no negative zero from rounding -0.001 to 0.01
	}
	return f
}

// fastRes describes the usual resolutions as k/10^d, for the integer fast
// paths of roundTo and appendJSONRounded.
func fastRes(res float64) (d int, k int64, ok bool) {
	switch res {
	case 1:
		return 0, 1, true
	case 2:
		return 0, 2, true
	case 5:
		return 0, 5, true
	case 0.1:
		return 1, 1, true
	case 0.2:
		return 1, 2, true
	case 0.5:
		return 1, 5, true
	case 0.01:
		return 2, 1, true
	case 0.02:
		return 2, 2, true
	case 0.05:
		return 2, 5, true
	case 0.25:
		return 2, 25, true
	case 0.001:
		return 3, 1, true
	case 0.002:
		return 3, 2, true
	case 0.005:
		return 3, 5, true
	case 0.125:
		return 3, 125, true
	case 0.0001:
		return 4, 1, true
	case 0.0625:
		return 4, 625, true
	case 0.00001:
		return 5, 1, true
	case 0.03125:
		return 5, 3125, true
	case 0.000001:
		return 6, 1, true
	case 0.015625:
		return 6, 15625, true
	}
	return 0, 0, false
}

// resDecimals returns the digits after the decimal point of res written in
// its shortest form (0.01 -> 2, 0.25 -> 2, 5 -> 0), or -1 when that needs
// more digits than a decimal round trip can help with.
func resDecimals(res float64) int {
	switch res { // the common cases without formatting
	case 1, 2, 5, 10:
		return 0
	case 0.1, 0.5, 0.2:
		return 1
	case 0.01, 0.05, 0.25:
		return 2
	case 0.001:
		return 3
	case 0.0001:
		return 4
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], res, 'e', -1, 64)
	// s is d[.ddd]e±XX: decimals = digits after the point - exponent.
	mant, exp := 0, 0
	i := 0
	for ; i < len(s) && s[i] != 'e'; i++ {
		if s[i] >= '0' && s[i] <= '9' {
			mant++
		}
	}
	e, err := strconv.Atoi(string(s[i+1:]))
	if err != nil {
		return -1
	}
	exp = e
	d := mant - 1 - exp
	if d < 0 {
		d = 0
	}
	if d > 30 {
		return -1
	}
	return d
}
