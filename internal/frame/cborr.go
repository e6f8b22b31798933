package frame

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"github.com/edgeplane/edgeplane/internal/frame/internal/shortfloat"
)

// reader is a strict CBOR (RFC 8949) reader over one WebSocket message. It
// enforces Limits itself (nesting, array length, map pairs) while it reads,
// so that hostile input costs at most one pass over the bytes, and it
// refuses what protocol v1 excludes: indefinite lengths, invalid UTF-8 in
// text, non-finite sample values (PROTOCOL.md, "Encoding rules").
type reader struct {
	b     []byte
	off   int
	depth int
	lim   Limits
	ids   *internTable // sensor ids kept across messages (AgentDecoder); nil: per message
}

func (r *reader) atEnd() bool { return r.off >= len(r.b) }

func errTruncated() error { return errf(ErrUndecodable, "truncated CBOR") }

var majorNames = [8]string{"uint", "negative int", "bytes", "text", "array", "map", "tag", "simple/float"}

// head reads an initial byte and its argument. For major type 7 the argument
// is the raw float bits or simple value.
func (r *reader) head() (major byte, info byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, 0, errTruncated()
	}
	c := r.b[r.off]
	major, info = c>>5, c&0x1f
	r.off++
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info <= 27:
		n := 1 << (info - 24)
		if len(r.b)-r.off < n {
			return 0, 0, 0, errTruncated()
		}
		p := r.b[r.off:]
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		r.off += n
		if major == 7 && info == 24 && arg < 32 {
			return 0, 0, 0, errf(ErrUndecodable, "malformed CBOR: simple value %d in two bytes", arg)
		}
		return major, info, arg, nil
	case info == 31:
		if major >= 2 && major <= 5 {
			return 0, 0, 0, invalidf("indefinite-length %s not allowed", majorNames[major])
		}
		return 0, 0, 0, errf(ErrUndecodable, "malformed CBOR: unexpected break or indefinite length")
	}
	return 0, 0, 0, errf(ErrUndecodable, "malformed CBOR: reserved additional information %d", info)
}

func (r *reader) peekMajor() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated()
	}
	return r.b[r.off] >> 5, nil
}

func typeName(major, info byte) string {
	if major == 7 {
		switch info {
		case 20, 21:
			return "bool"
		case 22:
			return "null"
		case 23:
			return "undefined"
		case 25, 26, 27:
			return "float"
		}
		return "simple value"
	}
	return majorNames[major]
}

func wantErr(want string, major, info byte) error {
	return invalidf("want %s, got %s", want, typeName(major, info))
}

func (r *reader) readUint() (uint64, error) {
	m, info, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if m != 0 {
		return 0, wantErr("uint", m, info)
	}
	return arg, nil
}

func (r *reader) readInt() (int64, error) {
	m, info, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	switch {
	case m > 1:
		return 0, wantErr("int", m, info)
	case arg > math.MaxInt64:
		return 0, invalidf("integer out of range")
	case m == 1:
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

func (r *reader) readBool() (bool, error) {
	m, info, _, err := r.head()
	if err != nil {
		return false, err
	}
	if m != 7 || (info != 20 && info != 21) {
		return false, wantErr("bool", m, info)
	}
	return info == 21, nil
}

// readTextBytes returns the bytes of a text string, aliasing r.b.
func (r *reader) readTextBytes() ([]byte, error) {
	m, info, arg, err := r.head()
	if err != nil {
		return nil, err
	}
	if m != 3 {
		return nil, wantErr("text", m, info)
	}
	if arg > uint64(len(r.b)-r.off) {
		return nil, errTruncated()
	}
	s := r.b[r.off : r.off+int(arg)]
	r.off += int(arg)
	if !utf8.Valid(s) {
		return nil, invalidf("text is not valid UTF-8")
	}
	return s, nil
}

func (r *reader) readText() (string, error) {
	s, err := r.readTextBytes()
	return string(s), err
}

// readFloat reads a CBOR float of any width, or an integer (a resolution of
// 1 may well be sent as 1).
func (r *reader) readNumber() (float64, error) {
	v, err := r.readValue()
	if err != nil {
		return 0, within(err, "want number")
	}
	if v.kind == KindBool {
		return 0, invalidf("want number, got bool")
	}
	return v.Float64(), nil
}

// readValue reads a sample value: an integer, a float or a bool.
func (r *reader) readValue() (Value, error) {
	m, info, arg, err := r.head()
	if err != nil {
		return Value{}, err
	}
	switch m {
	case 0:
		if arg > math.MaxInt64 {
			return Value{}, invalidf("integer out of range")
		}
		return Value{i: int64(arg), kind: KindInt}, nil
	case 1:
		if arg > math.MaxInt64 {
			return Value{}, invalidf("integer out of range")
		}
		return Value{i: -1 - int64(arg), kind: KindInt}, nil
	case 7:
		var f float64
		switch info {
		case 20, 21:
			return Bool(info == 21), nil
		case 25:
			f = shortfloat.F16ToF64(uint16(arg))
		case 26:
			f = float64(math.Float32frombits(uint32(arg)))
		case 27:
			f = math.Float64frombits(arg)
		default:
			return Value{}, wantErr("number or bool", m, info)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return Value{}, invalidf("value is %v: want a finite number", f)
		}
		return Value{f: f, kind: KindFloat}, nil
	}
	return Value{}, wantErr("number or bool", m, info)
}

func (r *reader) enter() error {
	r.depth++
	if r.depth > r.lim.MaxNesting {
		return errf(ErrTooLarge, "nesting deeper than %d", r.lim.MaxNesting)
	}
	return nil
}

func (r *reader) leave() { r.depth-- }

// readArray reads an array head and enters it; the caller calls leave.
func (r *reader) readArray() (int, error) {
	m, info, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if m != 4 {
		return 0, wantErr("array", m, info)
	}
	return r.container(arg, 1, "array of %d elements: limit %d", r.lim.MaxArrayLen)
}

// readMap reads a map head and enters it; the caller calls leave.
func (r *reader) readMap() (int, error) {
	m, info, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if m != 5 {
		return 0, wantErr("map", m, info)
	}
	return r.container(arg, 2, "map of %d pairs: limit %d", r.lim.MaxMapPairs)
}

func (r *reader) container(n uint64, per uint64, tooLarge string, limit int) (int, error) {
	if n > uint64(limit) {
		return 0, errf(ErrTooLarge, tooLarge, n, limit)
	}
	if n*per > uint64(len(r.b)-r.off) {
		return 0, errTruncated() // each item takes at least one byte
	}
	if err := r.enter(); err != nil {
		return 0, err
	}
	return int(n), nil
}

// skip reads over one data item of any type, checking it as strictly as
// the typed reads do (limits, UTF-8, no indefinite lengths). Tags are
// allowed, so that future fields may use them.
func (r *reader) skip() error {
	m, _, arg, err := r.head()
	if err != nil {
		return err
	}
	switch m {
	case 2, 3:
		if arg > uint64(len(r.b)-r.off) {
			return errTruncated()
		}
		s := r.b[r.off : r.off+int(arg)]
		r.off += int(arg)
		if m == 3 && !utf8.Valid(s) {
			return invalidf("text is not valid UTF-8")
		}
	case 4, 5:
		per, limit, msg := uint64(1), r.lim.MaxArrayLen, "array of %d elements: limit %d"
		if m == 5 {
			per, limit, msg = 2, r.lim.MaxMapPairs, "map of %d pairs: limit %d"
		}
		n, err := r.container(arg, per, msg, limit)
		if err != nil {
			return err
		}
		for i := uint64(0); i < uint64(n)*per; i++ {
			if err := r.skip(); err != nil {
				return err
			}
		}
		r.leave()
	case 6:
		if err := r.enter(); err != nil {
			return err
		}
		if err := r.skip(); err != nil {
			return err
		}
		r.leave()
	}
	return nil
}

// raw returns the bytes of the next data item, checked as skip does.
func (r *reader) raw() ([]byte, error) {
	start := r.off
	if err := r.skip(); err != nil {
		return nil, err
	}
	return r.b[start:r.off], nil
}

// keySet tracks which integer keys a map has had, to refuse duplicates.
type keySet struct {
	low  uint64   // keys 0..63
	high []uint64 // larger keys, rare
}

func (s *keySet) add(k uint64) bool {
	if k < 64 {
		if s.low&(1<<k) != 0 {
			return false
		}
		s.low |= 1 << k
		return true
	}
	for _, h := range s.high {
		if h == k {
			return false
		}
	}
	s.high = append(s.high, k)
	return true
}

func (s *keySet) has(k uint64) bool { return k < 64 && s.low&(1<<k) != 0 }

// readKey reads the key of an integer-keyed map and refuses duplicates.
func (r *reader) readKey(seen *keySet) (uint64, error) {
	m, info, k, err := r.head()
	if err != nil {
		return 0, err
	}
	if m != 0 {
		return 0, invalidf("map key: want uint, got %s", typeName(m, info))
	}
	if !seen.add(k) {
		return 0, invalidf("duplicate key %d", k)
	}
	return k, nil
}

// internTable makes one string per distinct sensor id of a message, or of
// the messages of one AgentDecoder.
type internTable struct {
	few  []string
	many map[string]string
}

// maxInterned bounds an AgentDecoder's table: a peer that names ever new
// sensors makes it start over instead of grow.
const maxInterned = 1024

func (t *internTable) get(b []byte) string {
	for _, s := range t.few {
		if s == string(b) {
			return s
		}
	}
	if t.many != nil {
		if s, ok := t.many[string(b)]; ok {
			return s
		}
	}
	s := string(b)
	if len(t.few) < 16 {
		t.few = append(t.few, s)
		return s
	}
	if t.many == nil || len(t.many) >= maxInterned {
		t.many = make(map[string]string)
	}
	t.many[s] = s
	return s
}
