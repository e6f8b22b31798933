package frame

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Hand-written JSON appenders for the dashboard link: what encoding/json
// would print, without reflection or allocation.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as in encoding/json; U+2028 and U+2029 are escaped so that the
// output is also valid JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSONNumber appends a finite float as encoding/json does: the
// shortest decimal that reads back to f, exponent form only below 1e-6 and
// from 1e21 up.
func appendJSONNumber(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmtc = 'e'
	}
	n := len(dst)
	dst = strconv.AppendFloat(dst, f, fmtc, -1, 64)
	if fmtc == 'e' {
		// clean up e-09 to e-9
		m := len(dst) - n
		if m >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// appendJSONFloatValue appends a float sample value: like appendJSONNumber,
// plus ".0" when the digits have no point or exponent, so that a reader can
// tell the float 21.0 from the integer 21 (PROTOCOL.md, "Values").
func appendJSONFloatValue(dst []byte, f float64) []byte {
	n := len(dst)
	dst = appendJSONNumber(dst, f)
	for _, c := range dst[n:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, '.', '0')
}

// pow10 holds the powers of ten the decimal fast path uses.
var pow10 = [...]float64{1, 10, 100, 1000, 1e4, 1e5, 1e6}

// appendJSONRounded appends a float value rounded to res (PROTOCOL.md,
// "Values"). For the usual resolutions (a power of ten down to 1e-6, or
// 0.5, 0.25, ...) and |v| < 1e9 it prints the decimal from integers: v is
// the float64 nearest to n/10^d, so round(v*10^d) recovers n exactly, and
// because float64 steps are finer than 10^-d there, that decimal is also the
// shortest that reads back to v — the same digits strconv would print, at
// a fraction of the cost. Anything else goes through appendJSONFloatValue.
func appendJSONRounded(dst []byte, v, res float64) []byte {
	d, _, ok := fastRes(res)
	if !ok || !(math.Abs(v) < 1e9) {
		return appendJSONFloatValue(dst, v)
	}
	n := int64(math.Round(v * pow10[d]))
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	} else if n == 0 && math.Signbit(v) {
		dst = append(dst, '-')
	}
	if d == 0 {
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, '.', '0')
	}
	p := int64(pow10[d])
	dst = strconv.AppendInt(dst, n/p, 10)
	frac := n % p
	dst = append(dst, '.')
	if frac == 0 {
		return append(dst, '0')
	}
	var buf [6]byte
	for i := d - 1; i >= 0; i-- {
		buf[i] = byte('0' + frac%10)
		frac /= 10
	}
	m := d
	for buf[m-1] == '0' {
		m--
	}
	return append(dst, buf[:m]...)
}

// appendJSONMillis appends unix nanoseconds as milliseconds with µs
// precision, printed exactly from the integer: 1733318400123456000 ->
// 1733318400123.456 (PROTOCOL.md, "Times"). Sub-µs digits are dropped.
func appendJSONMillis(dst []byte, ns int64) []byte {
	us := ns / 1000
	if us < 0 {
		dst = append(dst, '-')
		us = -us
	}
	dst = strconv.AppendInt(dst, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return dst
	}
	d := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for d[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, d[:n]...)
}

// nsToMillis is the float form of appendJSONMillis, for CBOR: the float64
// nearest to the decimal that JSON prints.
func nsToMillis(ns int64) float64 { return float64(ns/1000) / 1000 }

// maxMillis bounds the times the dashboard link carries: within ±2^43 ms
// (the years 1691 to 2248) a float64 of milliseconds still tells every µs
// apart, so that millisToNs recovers the µs that nsToMillis or the JSON
// decimal carried.
const maxMillis = 1 << 43

// millisToNs inverts nsToMillis at µs precision. It rounds the exact
// product ms*1000 (not its float64 rounding) to the nearest µs.
func millisToNs(ms float64) (int64, bool) {
	if !(math.Abs(ms) < maxMillis) {
		return 0, false
	}
	hi := ms * 1000
	lo := math.FMA(ms, 1000, -hi) // hi + lo == ms*1000 exactly
	us := math.Round(hi)
	switch d := (hi - us) + lo; {
	case d > 0.5:
		us++
	case d < -0.5:
		us--
	}
	return int64(us) * 1000, true
}

// appendJSONAny appends a free-form value (command args and results). The
// tree forms of this package are written by hand, floats with a point (see
// appendJSONFloatValue) so that a float stays a float through a round trip;
// anything else goes through encoding/json.
func appendJSONAny(dst []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return appendJSONString(dst, x), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return dst, errNotFinite
		}
		return appendJSONFloatValue(dst, x), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJSONAny(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range sortedKeys(x, strings.Compare) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendJSONString(dst, k), ':')
			if dst, err = appendJSONAny(dst, x[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}
