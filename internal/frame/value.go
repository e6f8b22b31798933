package frame

import "math"

// ValueKind tells which of a Value's forms is set.
type ValueKind uint8

const (
	KindFloat ValueKind = iota
	KindInt
	KindBool
)

// Value is one sample's reading: a float with an optional resolution, a
// signed integer, or a bool. The zero Value is the float 0.
type Value struct {
	f    float64 // KindFloat
	i    int64   // KindInt; 0/1 for KindBool
	res  float64 // KindFloat: resolution (0 = unknown, keep every bit)
	kind ValueKind
}

// Float returns a float Value with no resolution: it encodes in the shortest
// CBOR float that keeps it exactly.
func Float(v float64) Value { return Value{f: v, kind: KindFloat} }

// Rounded returns v rounded to res (for example 0.01 for a BME280 temperature).
// The encoders then pick the shortest CBOR float within half of res of the
// rounded value, and JSON prints the rounded decimal. res <= 0 or NaN means
// no rounding.
func Rounded(v, res float64) Value {
	if !(res > 0) || math.IsInf(res, 0) {
		return Float(v)
	}
	return Value{f: roundTo(v, res), res: res, kind: KindFloat}
}

// Int returns an integer Value.
func Int(v int64) Value { return Value{i: v, kind: KindInt} }

// Bool returns a bool Value.
func Bool(v bool) Value {
	var i int64
	if v {
		i = 1
	}
	return Value{i: i, kind: KindBool}
}

// Kind reports which form v has.
func (v Value) Kind() ValueKind { return v.kind }

// Float64 returns v as a float64 (ints converted, bools 0 or 1).
func (v Value) Float64() float64 {
	switch v.kind {
	case KindInt, KindBool:
		return float64(v.i)
	}
	return v.f
}

// Int64 returns v as an int64 (floats truncated).
func (v Value) Int64() int64 {
	if v.kind == KindFloat {
		return int64(v.f)
	}
	return v.i
}

// Bool returns v as a bool (non-zero is true).
func (v Value) Bool() bool {
	if v.kind == KindFloat {
		return v.f != 0
	}
	return v.i != 0
}

// Resolution returns the resolution of a float Value, 0 when unknown.
func (v Value) Resolution() float64 { return v.res }

// WithResolution returns v rounded to res; non-float values are unchanged.
func (v Value) WithResolution(res float64) Value {
	if v.kind != KindFloat {
		return v
	}
	return Rounded(v.f, res)
}
