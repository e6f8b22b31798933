package frame

import (
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Free-form values (COMMAND args, RESULT result, dashboard args and result)
// go through fxamacker/cbor with the same limits as the rest of the message.
// Their Go form is what encoding/json would produce, so that they pass
// between the links unchanged: nil, bool, string, uint64 (non-negative
// integers), int64 (negative integers), float64, []byte, []any and
// map[string]any (maps with text keys only).

var (
	anyEncMode = mustEncMode()
	// anyDecMode is the decode mode for default limits; other limits build
	// their own (decModeFor).
	anyDecMode = mustDecMode(DefaultAgentLimits())
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.EncOptions{
		Sort:          cbor.SortCoreDeterministic,
		ShortestFloat: cbor.ShortestFloat16,
		NaNConvert:    cbor.NaNConvertReject,
		InfConvert:    cbor.InfConvertReject,
		IndefLength:   cbor.IndefLengthForbidden,
		TagsMd:        cbor.TagsForbidden,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}

func decOptions(lim Limits) cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  clamp(lim.MaxNesting, 4, 65535),
		MaxArrayElements: clamp(lim.MaxArrayLen, 16, 2147483647),
		MaxMapPairs:      clamp(lim.MaxMapPairs, 16, 2147483647),
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertNone,
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		UTF8:             cbor.UTF8RejectInvalid,
		NaN:              cbor.NaNDecodeForbidden,
		Inf:              cbor.InfDecodeForbidden,
	}
}

func mustDecMode(lim Limits) cbor.DecMode {
	dm, err := decOptions(lim).DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

func decModeFor(lim Limits) (cbor.DecMode, error) {
	d := DefaultAgentLimits()
	if lim.MaxNesting == d.MaxNesting && lim.MaxArrayLen == d.MaxArrayLen && lim.MaxMapPairs == d.MaxMapPairs {
		return anyDecMode, nil
	}
	dm, err := decOptions(lim).DecMode()
	if err != nil {
		return nil, fmt.Errorf("frame: decode options: %w", err)
	}
	return dm, nil
}

// cborError classifies an error of fxamacker/cbor under the sentinels.
func cborError(err error) error {
	var (
		syn     *cbor.SyntaxError
		extra   *cbor.ExtraneousDataError
		nest    *cbor.MaxNestedLevelError
		arr     *cbor.MaxArrayElementsError
		pairs   *cbor.MaxMapPairsError
		wireErr *wireError
	)
	switch {
	case errors.As(err, &wireErr):
		return err
	case errors.As(err, &nest), errors.As(err, &arr), errors.As(err, &pairs):
		return errf(ErrTooLarge, "%s", trimCBOR(err))
	case errors.As(err, &syn), errors.As(err, &extra), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errf(ErrUndecodable, "%s", trimCBOR(err))
	}
	return errf(ErrInvalid, "%s", trimCBOR(err))
}

func trimCBOR(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "cbor: " {
		return s[6:]
	}
	return s
}

// decodeAny decodes one free-form CBOR item (already checked by the
// reader) and checks its Go form.
func decodeAny(dm cbor.DecMode, b []byte) (any, error) {
	var v any
	if err := dm.Unmarshal(b, &v); err != nil {
		return nil, cborError(err)
	}
	if err := checkAny(v, 0); err != nil {
		return nil, err
	}
	return v, nil
}

// checkAny accepts the Go forms listed above.
func checkAny(v any, depth int) error {
	if depth > 1000 {
		return errf(ErrTooLarge, "nesting too deep")
	}
	switch x := v.(type) {
	case nil, bool, string, uint64, int64, []byte:
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return invalidf("value is %v: want a finite number", x)
		}
	case []any:
		for _, e := range x {
			if err := checkAny(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range x {
			if err := checkAny(e, depth+1); err != nil {
				return err
			}
		}
	default:
		return invalidf("unsupported value of type %T", v)
	}
	return nil
}

// appendAnyCBOR appends v with deterministic key order and shortest floats.
func appendAnyCBOR(dst []byte, v any) ([]byte, error) {
	b, err := anyEncMode.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("frame: encode value: %w", err)
	}
	return append(dst, b...), nil
}
