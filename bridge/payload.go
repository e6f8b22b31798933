package bridge

import (
	"math"
	"strconv"
	"strings"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// Export payload formats.
const (
	PayloadJSON  = "json"  // one message per sample: {"value":21.5,"t":1733318400123.456,"seq":7,"unit":"°C"}
	PayloadValue = "value" // one message per sample: the bare value, "21.5", "true"
	PayloadCBOR  = "cbor"  // one message per batch of frames: their stored CBOR form, back to back (RFC 8742)
)

// appendJSONSample appends the json payload of one sample: value, t (unix
// milliseconds with µs precision, as on the dashboard link), the frame's seq,
// and unit when the device declared one.
func appendJSONSample(dst []byte, v frame.Value, tNS int64, seq uint64, unit string) []byte {
	dst = append(dst, `{"value":`...)
	dst = appendValue(dst, v, true)
	dst = append(dst, `,"t":`...)
	dst = appendMillis(dst, tNS)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	if unit != "" {
		dst = append(dst, `,"unit":`...)
		dst = strconv.AppendQuote(dst, unit)
	}
	return append(dst, '}')
}

// appendValue appends v as text: the rounded decimal for a float with a
// resolution (20.87, not 20.870000000000001), the shortest exact form
// otherwise. NaN and infinities are null in JSON, "NaN"/"+Inf"/"-Inf" bare.
func appendValue(dst []byte, v frame.Value, jsonForm bool) []byte {
	switch v.Kind() {
	case frame.KindInt:
		return strconv.AppendInt(dst, v.Int64(), 10)
	case frame.KindBool:
		return strconv.AppendBool(dst, v.Bool())
	}
	f := v.Float64()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if jsonForm {
			return append(dst, "null"...)
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	}
	if d := decimals(v.Resolution()); d >= 0 {
		return strconv.AppendFloat(dst, f, 'f', d, 64)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// decimals returns how many digits after the point res needs (0.01 -> 2,
// 0.25 -> 2, 5 -> 0), or -1 when res is unknown or too fine to help.
func decimals(res float64) int {
	if !(res > 0) || math.IsInf(res, 0) {
		return -1
	}
	s := strconv.FormatFloat(res, 'f', -1, 64)
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return 0
	}
	if d := len(s) - i - 1; d <= 17 {
		return d
	}
	return -1
}

// appendMillis appends unix nanoseconds as milliseconds with three decimals
// (µs precision), computed in integers so no digit is invented.
func appendMillis(dst []byte, ns int64) []byte {
	if ns < 0 {
		return strconv.AppendFloat(dst, float64(ns)/1e6, 'f', 3, 64)
	}
	dst = strconv.AppendInt(dst, ns/1e6, 10)
	us := (ns % 1e6) / 1e3
	dst = append(dst, '.', byte('0'+us/100), byte('0'+us/10%10), byte('0'+us%10))
	return dst
}
