package frame

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict, allocation-lean JSON (RFC 8259) parser into the tree of
// dashboard_decode.go. Limits are checked as it goes: nesting before an
// object or array is entered, lengths as elements arrive, so hostile input
// costs one pass and no recursion beyond MaxNesting. Numbers are converted
// one by one (jsonNumber): 1e400 is an error, 100k digits are one pass.
// With typedSamples, a top-level "samples" member shaped as frame samples is
// decoded straight into []Sample (the hot path of DecodeServer); anything
// else there falls back to the generic tree.
type jsonParser struct {
	b            []byte
	i            int
	lim          Limits
	depth        int
	typedSamples bool
}

func (p *jsonParser) syntax(what string) error {
	if p.i >= len(p.b) {
		return errf(ErrUndecodable, "not JSON: truncated")
	}
	return errf(ErrUndecodable, "not JSON: %s at offset %d", what, p.i)
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// parseJSON parses exactly one JSON value, surrounded by optional space.
func parseJSON(b []byte, l Limits, typedSamples bool) (any, error) {
	if !utf8.Valid(b) {
		return nil, errf(ErrUndecodable, "JSON is not valid UTF-8")
	}
	p := jsonParser{b: b, lim: l, typedSamples: typedSamples}
	p.ws()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.b) {
		return nil, errf(ErrUndecodable, "not JSON: data after the value at offset %d", p.i)
	}
	return v, nil
}

func (p *jsonParser) value() (any, error) {
	if p.i >= len(p.b) {
		return nil, p.syntax("")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || ('0' <= c && c <= '9'):
		s, err := p.numberText()
		if err != nil {
			return nil, err
		}
		return jsonNumber(string(s))
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.syntax("unexpected character")
}

func (p *jsonParser) literal(s string) error {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		if len(p.b)-p.i < len(s) && string(p.b[p.i:]) == s[:len(p.b)-p.i] {
			p.i = len(p.b)
			return p.syntax("")
		}
		return p.syntax("invalid literal")
	}
	p.i += len(s)
	return nil
}

func (p *jsonParser) enter() error {
	p.depth++
	if p.depth > p.lim.MaxNesting {
		return errf(ErrTooLarge, "nesting deeper than %d", p.lim.MaxNesting)
	}
	p.i++ // '{' or '['
	return nil
}

func (p *jsonParser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	m := map[string]any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return m, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.syntax("want object key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.syntax("want ':'")
		}
		p.i++
		p.ws()
		if len(m) >= p.lim.MaxMapPairs {
			return nil, errf(ErrTooLarge, "object of more than %d members", p.lim.MaxMapPairs)
		}
		if _, dup := m[k]; dup {
			return nil, invalidf("duplicate member %q", k)
		}
		var v any
		if p.typedSamples && p.depth == 1 && k == "samples" {
			save := p.i
			if s, ok := p.samples(); ok {
				v = s
			} else {
				p.i, p.depth = save, 1
			}
		}
		if v == nil {
			if v, err = p.value(); err != nil {
				return nil, err
			}
		}
		m[k] = v
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.syntax("")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return m, nil
		default:
			return nil, p.syntax("want ',' or '}'")
		}
	}
}

func (p *jsonParser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	a := []any{}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return a, nil
	}
	for {
		p.ws()
		if len(a) >= p.lim.MaxArrayLen {
			return nil, errf(ErrTooLarge, "array of more than %d elements", p.lim.MaxArrayLen)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.syntax("")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return a, nil
		default:
			return nil, p.syntax("want ',' or ']'")
		}
	}
}

// str parses a string; the input is valid UTF-8 already.
func (p *jsonParser) str() (string, error) {
	p.i++ // '"'
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := string(p.b[start:p.i])
			p.i++
			return s, nil
		}
		if c == '\\' {
			return p.strEscaped(start)
		}
		if c < 0x20 {
			return "", p.syntax("control character in string")
		}
		p.i++
	}
	return "", p.syntax("")
}

func (p *jsonParser) strEscaped(start int) (string, error) {
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.syntax("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++ // '\\'
		if p.i >= len(p.b) {
			return "", p.syntax("")
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.syntax("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A pair makes one rune; a lone half becomes U+FFFD, as in encoding/json.
				r2 := rune(-1)
				if save := p.i; len(p.b)-p.i >= 6 && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					p.i += 2
					var ok2 bool
					if r2, ok2 = p.hex4(); !ok2 {
						return "", p.syntax("invalid \\u escape")
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						r2 = -2
					} else {
						p.i = save
					}
				}
				if r2 != -2 {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.i--
			return "", p.syntax("invalid escape")
		}
	}
	return "", p.syntax("")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		p.i = len(p.b)
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

// numberText scans a number by the RFC 8259 grammar and returns its text.
func (p *jsonParser) numberText() ([]byte, error) {
	start := p.i
	digits := func() bool {
		n := p.i
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
		}
		return p.i > n
	}
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if !digits() {
		return nil, p.syntax("invalid number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if !digits() {
			return nil, p.syntax("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !digits() {
			return nil, p.syntax("invalid number")
		}
	}
	return p.b[start:p.i], nil
}

// samples parses frame samples, [[sensor, dt, value], ...], into []Sample;
// ok is false (and p must be reset) for anything else.
func (p *jsonParser) samples() ([]Sample, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '[' || p.lim.MaxNesting < 3 {
		return nil, false
	}
	p.i++
	out := make([]Sample, 0, 16)
	var intern internTable
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return out, true
	}
	for {
		if len(out) >= p.lim.MaxArrayLen {
			return nil, false
		}
		p.ws()
		s, ok := p.sample(&intern)
		if !ok {
			return nil, false
		}
		out = append(out, s)
		p.ws()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return out, true
		default:
			return nil, false
		}
	}
}

func (p *jsonParser) sep(c byte) bool {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != c {
		return false
	}
	p.i++
	p.ws()
	return true
}

func (p *jsonParser) sample(intern *internTable) (Sample, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return Sample{}, false
	}
	p.i++
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return Sample{}, false
	}
	// Sensor ids without escapes are interned straight from the input.
	start := p.i + 1
	end := start
	for end < len(p.b) && p.b[end] != '"' && p.b[end] != '\\' && p.b[end] >= 0x20 {
		end++
	}
	if end >= len(p.b) || p.b[end] != '"' {
		return Sample{}, false
	}
	var s Sample
	s.Sensor = intern.get(p.b[start:end])
	p.i = end + 1
	if !p.sep(',') {
		return Sample{}, false
	}
	num, err := p.numberText()
	if err != nil || len(num) == 0 || num[0] == '-' {
		return Sample{}, false
	}
	dt, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil {
		return Sample{}, false
	}
	s.DT = dt
	if !p.sep(',') || p.i >= len(p.b) {
		return Sample{}, false
	}
	switch c := p.b[p.i]; {
	case c == 't':
		if p.literal("true") != nil {
			return Sample{}, false
		}
		s.Value = Bool(true)
	case c == 'f':
		if p.literal("false") != nil {
			return Sample{}, false
		}
		s.Value = Bool(false)
	case c == '-' || ('0' <= c && c <= '9'):
		num, err := p.numberText()
		if err != nil {
			return Sample{}, false
		}
		v, err := jsonNumber(string(num))
		if err != nil {
			return Sample{}, false
		}
		switch x := v.(type) {
		case uint64:
			if x > math.MaxInt64 {
				return Sample{}, false
			}
			s.Value = Int(int64(x))
		case int64:
			s.Value = Int(x)
		case float64:
			s.Value = Float(x)
		}
	default:
		return Sample{}, false
	}
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != ']' {
		return Sample{}, false
	}
	p.i++
	return s, true
}
