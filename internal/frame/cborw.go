package frame

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/edgeplane/edgeplane/internal/frame/internal/shortfloat"
)

// Hand-written CBOR appenders (RFC 8949, preferred serialization: the
// shortest argument form, definite lengths). They are what makes the encoders
// deterministic and allocation-free.

const (
	majUint   = 0 << 5
	majNeg    = 1 << 5
	majBytes  = 2 << 5
	majText   = 3 << 5
	majArray  = 4 << 5
	majMap    = 5 << 5
	majTag    = 6 << 5
	majSimple = 7 << 5

	cborFalse = 0xf4
	cborTrue  = 0xf5
	cborNull  = 0xf6
)

func appendHead(dst []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= math.MaxUint8:
		return append(dst, major|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, major|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, major|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, major|27), n)
}

func appendUint(dst []byte, n uint64) []byte { return appendHead(dst, majUint, n) }

func appendInt(dst []byte, n int64) []byte {
	if n >= 0 {
		return appendHead(dst, majUint, uint64(n))
	}
	return appendHead(dst, majNeg, uint64(-(n + 1)))
}

func appendText(dst []byte, s string) []byte {
	return append(appendHead(dst, majText, uint64(len(s))), s...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, cborTrue)
	}
	return append(dst, cborFalse)
}

// appendFloat appends v in the shortest CBOR float that stays within half of
// res of v (exact when res is 0). PROTOCOL.md, "Values".
func appendFloat(dst []byte, v, res float64) []byte {
	w, bits := shortfloat.Choose(v, res)
	switch w {
	case shortfloat.W16:
		return binary.BigEndian.AppendUint16(append(dst, majSimple|25), uint16(bits))
	case shortfloat.W32:
		return binary.BigEndian.AppendUint32(append(dst, majSimple|26), uint32(bits))
	}
	return binary.BigEndian.AppendUint64(append(dst, majSimple|27), bits)
}

// appendValue appends a sample value: a float (shortest within half its
// resolution), an integer or a bool. Non-finite floats are refused: JSON
// cannot carry them and no sensor reading is infinite.
func appendValue(dst []byte, v Value) ([]byte, error) {
	switch v.kind {
	case KindInt:
		return appendInt(dst, v.i), nil
	case KindBool:
		return appendBool(dst, v.i != 0), nil
	case KindFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return dst, fmt.Errorf("frame: encode value %v: %w", v.f, errNotFinite)
		}
		return appendFloat(dst, v.f, v.res), nil
	}
	return dst, fmt.Errorf("frame: encode value: unknown value kind %d", v.kind)
}

// cborKeyLess orders text keys as RFC 8949 core deterministic encoding does
// (bytewise on the encoded key, which for text is shorter first, then bytes).
func cborKeyLess(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func sortedKeys[V any](m map[string]V, cmp func(a, b string) int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

// appendTextMap appends a map text -> text with keys in deterministic order.
func appendTextMap(dst []byte, m map[string]string) []byte {
	dst = appendHead(dst, majMap, uint64(len(m)))
	for _, k := range sortedKeys(m, cborKeyLess) {
		dst = appendText(appendText(dst, k), m[k])
	}
	return dst
}
