package frame_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgeplane/edgeplane/internal/frame"
)

// normJSON turns what encoding/json decodes (with UseNumber) into the tree
// the dashboard decoders use.
func normJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				if n >= 0 {
					return uint64(n)
				}
				return n
			}
			if n, err := strconv.ParseUint(s, 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case []any:
		for i := range x {
			x[i] = normJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normJSON(x[k])
		}
	}
	return v
}

func checkJSONParser(t *testing.T, b []byte) {
	v, err := frame.ParseJSON(b)
	if !utf8.Valid(b) {
		if err == nil {
			t.Fatalf("accepted invalid UTF-8 %q", b)
		}
		return
	}
	valid := json.Valid(b)
	switch {
	case err == nil && !valid:
		t.Fatalf("accepted %q, which encoding/json refuses", b)
	case err != nil && valid && errors.Is(err, frame.ErrUndecodable):
		t.Fatalf("refused valid JSON %q: %v", b, err)
	case err != nil:
		return // invalid: duplicate members or numbers out of range
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if want = normJSON(want); !deepEqual(v, want) {
		t.Fatalf("%q: got %#v, encoding/json %#v", b, v, want)
	}
}

func TestJSONParser(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, ` {"a" : [1, -2, 3.5e-3, -0, 0.0, 1E+2, true, false, null, "x"]} `,
		`"\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`,
		`{"a":1,}`, `[1,]`, `[01]`, `[1.]`, `[.5]`, `[-]`, `[1e]`, `["a\x"]`, "[\"\x01\"]", `nul`, `tru`, `[1 2]`,
		`{"a" 1}`, `{1:2}`, `"abc`, `[`, `{"a":`, `1 2`, `18446744073709551616`, `-9223372036854775809`, `1e400`,
	} {
		checkJSONParser(t, []byte(in))
	}
}

// FuzzJSONParser compares the dashboard JSON parser with encoding/json.
func FuzzJSONParser(f *testing.F) {
	for _, e := range serverExamples {
		f.Add([]byte(e.json))
	}
	for _, c := range clientExamples {
		f.Add([]byte(c.json))
	}
	f.Add([]byte(`"\ud83d\ude00\u00e9"`))
	f.Fuzz(checkJSONParser)
}
