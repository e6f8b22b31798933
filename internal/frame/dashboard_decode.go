package frame

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// Dashboard-link decoders: PROTOCOL.md, "Dashboard link". Both encodings
// decode into the same tree (map[string]any, []any, string, bool, nil,
// uint64 for non-negative integers, int64 for negative ones, float64 for the
// rest), with Limits enforced while decoding; the messages are then read
// from the tree, so JSON and CBOR are validated by the same code.

// decodeTree decodes one JSON value or one CBOR item and returns the rest.
func decodeTree(b []byte, p Proto, l Limits) (any, []byte, error) {
	switch p {
	case ProtoJSON:
		v, err := decodeJSONTree(b, l)
		return v, nil, err
	case ProtoCBOR:
		return decodeCBORTree(b, l)
	}
	return nil, nil, errf(ErrInvalid, "unknown dashboard encoding %d", p)
}

// decodeCBORTree checks the first item with the strict reader (exact limits,
// no indefinite lengths), then decodes it with fxamacker/cbor.
func decodeCBORTree(b []byte, l Limits) (any, []byte, error) {
	r := reader{b: b, lim: l}
	if err := r.skip(); err != nil {
		return nil, nil, err
	}
	dm, err := decModeFor(l)
	if err != nil {
		return nil, nil, err
	}
	v, err := decodeAny(dm, b[:r.off])
	if err != nil {
		return nil, nil, err
	}
	return v, b[r.off:], nil
}

// decodeJSONTree decodes exactly one JSON value (see jsonParser).
func decodeJSONTree(b []byte, l Limits) (any, error) { return parseJSON(b, l, false) }

// jsonNumber converts a JSON number: integers to uint64 or int64 when they
// fit, everything else to a finite float64.
func jsonNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if s[0] == '-' {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				if n == 0 {
					return uint64(0), nil
				}
				return n, nil
			}
		} else if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		if len(s) > 32 {
			s = s[:32] + "…"
		}
		return nil, invalidf("number %s out of range", s)
	}
	return f, nil
}

func treeType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "text"
	case uint64, int64, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case []byte:
		return "bytes"
	}
	return "value"
}

// fields reads typed members of one decoded object. The first error sticks.
type fields struct {
	m   map[string]any
	err error
}

func (f *fields) get(k string, required bool) (any, bool) {
	v, ok := f.m[k]
	if !ok && required && f.err == nil {
		f.err = invalidf("missing required field %q", k)
	}
	return v, ok
}

func (f *fields) bad(k, want string, v any) {
	if f.err == nil {
		f.err = invalidf("field %q: want %s, got %s", k, want, treeType(v))
	}
}

func (f *fields) str(k string, required bool) string {
	v, ok := f.get(k, required)
	if !ok {
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		f.bad(k, "text", v)
	}
	return s
}

func (f *fields) uint(k string, required bool) (uint64, bool) {
	v, ok := f.get(k, required)
	if !ok {
		return 0, false
	}
	n, isUint := v.(uint64)
	if !isUint {
		f.bad(k, "uint", v)
	}
	return n, isUint
}

func (f *fields) bool(k string, required bool) (bool, bool) {
	v, ok := f.get(k, required)
	if !ok {
		return false, false
	}
	b, isBool := v.(bool)
	if !isBool {
		f.bad(k, "bool", v)
	}
	return b, isBool
}

func (f *fields) number(k string, required bool) (float64, bool) {
	v, ok := f.get(k, required)
	if !ok {
		return 0, false
	}
	switch n := v.(type) {
	case uint64:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	f.bad(k, "number", v)
	return 0, false
}

func (f *fields) millis(k string, required bool) int64 {
	ms, ok := f.number(k, required)
	if !ok {
		return 0
	}
	ns, fits := millisToNs(ms)
	if !fits && f.err == nil {
		f.err = invalidf("field %q: time %v ms out of range", k, ms)
	}
	return ns
}

func (f *fields) object(k string, required bool) (map[string]any, bool) {
	v, ok := f.get(k, required)
	if !ok {
		return nil, false
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		f.bad(k, "object", v)
	}
	return m, isMap
}

func (f *fields) array(k string, required bool) ([]any, bool) {
	v, ok := f.get(k, required)
	if !ok {
		return nil, false
	}
	a, isArr := v.([]any)
	if !isArr {
		f.bad(k, "array", v)
	}
	return a, isArr
}

func (f *fields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = invalidf(format, args...)
	}
}

func decodeClient(b []byte, p Proto, lim *Limits) (ClientMessage, error) {
	l := lim.withDefaults(DefaultClientMessageBytes)
	if len(b) > l.MaxMessageBytes {
		return ClientMessage{}, errf(ErrTooLarge, "message of %d bytes: limit %d", len(b), l.MaxMessageBytes)
	}
	if len(b) == 0 {
		return ClientMessage{}, errf(ErrUndecodable, "empty message")
	}
	v, rest, err := decodeTree(b, p, l)
	if err != nil {
		return ClientMessage{}, err
	}
	if len(rest) > 0 {
		return ClientMessage{}, errf(ErrUndecodable, "data after the message: client messages come one per WebSocket message")
	}
	return clientFromTree(v)
}

func clientFromTree(v any) (ClientMessage, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return ClientMessage{}, invalidf("message: want object, got %s", treeType(v))
	}
	f := fields{m: obj}
	var m ClientMessage
	m.Op = f.str("op", true)
	if f.err != nil {
		return ClientMessage{}, f.err
	}
	m.ID, m.HasID = f.uint("id", false)
	switch m.Op {
	case OpAuth:
		if m.Token = f.str("token", true); f.err == nil && m.Token == "" {
			f.fail("field \"token\" is empty")
		}
	case OpSub:
		m.Ch = f.str("ch", true)
		if since, ok := f.object("since", false); ok {
			sf := fields{m: since}
			s := &Since{Epoch: sf.str("epoch", true)}
			s.Off, _ = sf.uint("off", true)
			if sf.err != nil {
				f.fail("field \"since\": %s", sf.err.(*wireError).msg)
			}
			m.Since = s
		}
		if h, ok := f.uint("history", false); ok {
			if h > math.MaxInt32 {
				f.fail("field \"history\": %d out of range", h)
			}
			m.History = int(h)
		}
		if a, ok := f.array("sensors", false); ok {
			m.Sensors = make([]string, len(a))
			for i, e := range a {
				s, isStr := e.(string)
				if !isStr {
					f.fail("field \"sensors\": element %d: want text, got %s", i, treeType(e))
				}
				m.Sensors[i] = s
			}
		}
		if r, ok := f.number("max_rate", false); ok {
			if !(r > 0) {
				f.fail("field \"max_rate\": %v: want a number > 0", r)
			}
			m.MaxRate = r
		}
		if mm, ok := f.bool("minmax", false); ok {
			if mm && m.MaxRate == 0 && f.err == nil {
				f.fail("field \"minmax\": only with max_rate (min and max are kept per max_rate window)")
			}
			m.MinMax = mm
		}
	case OpUnsub:
		m.Ch = f.str("ch", true)
	case OpDevices, OpPing:
	case OpCmd:
		if m.Device = f.str("device", true); f.err == nil && !ValidDeviceID(m.Device) {
			f.fail("field \"device\": %q does not match [A-Za-z0-9._-]{1,64}", m.Device)
		}
		if m.Name = f.str("name", true); f.err == nil && m.Name == "" {
			f.fail("field \"name\" is empty")
		}
		m.Args, _ = f.object("args", false)
	default:
		return ClientMessage{}, invalidf("unknown op %q", m.Op)
	}
	if (m.Op == OpSub || m.Op == OpUnsub) && f.err == nil && !ValidChannel(m.Ch) {
		f.fail("field \"ch\": %q is not a channel (dev/<device id> or presence)", m.Ch)
	}
	if f.err != nil {
		return ClientMessage{}, within(f.err, "%s", m.Op)
	}
	return m, nil
}

func decodeServer(b []byte, p Proto, lim *Limits) ([]ServerMessage, error) {
	l := lim.withDefaults(DefaultServerMessageBytes)
	if len(b) > l.MaxMessageBytes {
		return nil, errf(ErrTooLarge, "message of %d bytes: limit %d", len(b), l.MaxMessageBytes)
	}
	if len(b) == 0 {
		return nil, errf(ErrUndecodable, "empty message")
	}
	var out []ServerMessage
	add := func(v any) error {
		m, err := serverFromTree(v)
		if err != nil {
			if len(out) > 0 {
				err = within(err, "item %d of the batch", len(out)+1)
			}
			return err
		}
		out = append(out, m)
		return nil
	}
	switch p {
	case ProtoJSON:
		for len(b) > 0 {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line, b = b[:i], b[i+1:]
			} else {
				b = nil
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			v, err := parseJSON(line, l, true)
			if err != nil {
				return nil, err
			}
			if err := add(v); err != nil {
				return nil, err
			}
		}
	case ProtoCBOR:
		for len(b) > 0 {
			v, rest, err := decodeCBORServerItem(b, l)
			if err != nil {
				return nil, err
			}
			if err := add(v); err != nil {
				return nil, err
			}
			b = rest
		}
	default:
		return nil, errf(ErrInvalid, "unknown dashboard encoding %d", p)
	}
	if len(out) == 0 {
		return nil, errf(ErrUndecodable, "empty message")
	}
	return out, nil
}

// decodeCBORServerItem decodes the first item of a hub -> client batch: as
// decodeCBORTree, except that a top-level "samples" member shaped as frame
// samples goes straight into []Sample.
func decodeCBORServerItem(b []byte, l Limits) (any, []byte, error) {
	r := reader{b: b, lim: l}
	if err := r.skip(); err != nil {
		return nil, nil, err
	}
	rest := b[r.off:]
	if v, ok := cborServerMap(b[:r.off], l); ok {
		return v, rest, nil
	}
	v, _, err := decodeCBORTree(b[:r.off], l) // the general path, and its error
	return v, rest, err
}

// cborServerMap decodes a well-formed item that is a map with text keys;
// ok is false for anything else, including invalid values.
func cborServerMap(b []byte, l Limits) (map[string]any, bool) {
	r := reader{b: b, lim: l}
	n, err := r.readMap()
	if err != nil {
		return nil, false
	}
	dm, err := decModeFor(l)
	if err != nil {
		return nil, false
	}
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, err := r.readText()
		if err != nil {
			return nil, false
		}
		if _, dup := m[k]; dup {
			return nil, false
		}
		if k == "samples" && l.MaxNesting >= 3 {
			save := r
			var sd sampleDecoder
			if err := sd.readSamples(&r); err == nil {
				if sd.samples == nil {
					sd.samples = []Sample{}
				}
				m[k] = sd.samples
				continue
			}
			r = save
		}
		raw, err := r.raw()
		if err != nil {
			return nil, false
		}
		v, err := decodeAny(dm, raw)
		if err != nil {
			return nil, false
		}
		m[k] = v
	}
	return m, true
}

func serverFromTree(v any) (ServerMessage, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalidf("message: want object, got %s", treeType(v))
	}
	f := fields{m: obj}
	op := f.str("op", true)
	if f.err != nil {
		return nil, f.err
	}
	var m ServerMessage
	switch op {
	case OpOK:
		o := &OK{Ch: f.str("ch", false)}
		o.ID, _ = f.uint("id", true)
		if _, ok := f.m["epoch"]; ok {
			o.HasPos = true
			o.Epoch = f.str("epoch", true)
			o.Off, _ = f.uint("off", true)
		}
		if r, ok := f.bool("recovered", false); ok {
			o.Recovered = &r
		}
		o.Filtered, _ = f.bool("filtered", false)
		m = o
	case OpFrame:
		d := &DashFrame{Ch: f.str("ch", true), Device: f.str("device", true)}
		d.Off, _ = f.uint("off", true)
		d.Seq, _ = f.uint("seq", true)
		d.T0 = f.millis("t0", true)
		if s, ok := f.m["samples"].([]Sample); ok {
			d.Samples = s // decoded on the fast path
		} else if a, ok := f.array("samples", true); ok {
			d.Samples = make([]Sample, len(a))
			for i, e := range a {
				s, err := sampleFromTree(e)
				if err != nil {
					f.fail("field \"samples\": sample %d: %s", i, err.(*wireError).msg)
					break
				}
				d.Samples[i] = s
			}
		}
		m = d
	case OpPresence:
		pm := &PresenceMsg{Device: f.str("device", true), Hub: f.str("hub", false), Region: f.str("region", false)}
		pm.Online, _ = f.bool("online", true)
		m = pm
	case OpReset:
		m = &Reset{Ch: f.str("ch", true), Epoch: f.str("epoch", true)}
	case OpResult:
		r := &CmdResult{}
		r.ID, _ = f.uint("id", true)
		r.OK, _ = f.bool("ok", true)
		if r.OK {
			r.Result, _ = f.get("result", false)
		} else {
			r.Error = f.str("error", true)
		}
		m = r
	case OpError:
		e := &ErrorReply{Message: f.str("message", true)}
		e.ID, e.HasID = f.uint("id", false)
		if c, ok := f.uint("code", true); ok {
			if c > math.MaxUint16 {
				f.fail("field \"code\": %d out of range", c)
			}
			e.Code = int(c)
		}
		m = e
	case OpPong:
		pg := &Pong{}
		pg.ID, _ = f.uint("id", true)
		m = pg
	case OpDevices:
		dl := &DeviceList{}
		dl.ID, _ = f.uint("id", true)
		if a, ok := f.array("devices", true); ok {
			dl.Devices = make([]DeviceInfo, len(a))
			for i, e := range a {
				if err := deviceFromTree(e, &dl.Devices[i]); err != nil {
					f.fail("field \"devices\": device %d: %s", i, err.(*wireError).msg)
					break
				}
			}
		}
		m = dl
	default:
		return nil, invalidf("unknown op %q", op)
	}
	if f.err != nil {
		return nil, within(f.err, "%s", op)
	}
	return m, nil
}

func sampleFromTree(v any) (Sample, error) {
	a, ok := v.([]any)
	if !ok || len(a) != 3 {
		return Sample{}, invalidf("want [sensor, dt, value]")
	}
	var s Sample
	if s.Sensor, ok = a[0].(string); !ok {
		return Sample{}, invalidf("sensor: want text, got %s", treeType(a[0]))
	}
	if s.DT, ok = a[1].(uint64); !ok {
		return Sample{}, invalidf("dt: want uint, got %s", treeType(a[1]))
	}
	switch x := a[2].(type) {
	case bool:
		s.Value = Bool(x)
	case uint64:
		if x > math.MaxInt64 {
			return Sample{}, invalidf("value: integer out of range")
		}
		s.Value = Int(int64(x))
	case int64:
		s.Value = Int(x)
	case float64:
		s.Value = Float(x)
	default:
		return Sample{}, invalidf("value: want number or bool, got %s", treeType(a[2]))
	}
	return s, nil
}

func deviceFromTree(v any, d *DeviceInfo) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return invalidf("want object, got %s", treeType(v))
	}
	f := fields{m: obj}
	d.ID = f.str("id", true)
	d.Online, _ = f.bool("online", true)
	d.Hub = f.str("hub", false)
	d.Region = f.str("region", false)
	d.AgentVersion = f.str("agent_version", false)
	d.LastSeen = f.millis("last_seen", true)
	d.Labels = map[string]string{}
	if lm, ok := f.object("labels", true); ok {
		for k, e := range lm {
			s, isStr := e.(string)
			if !isStr {
				f.fail("field \"labels\": %q: want text, got %s", k, treeType(e))
			}
			d.Labels[k] = s
		}
	}
	d.Sensors = []SensorInfo{}
	if a, ok := f.array("sensors", true); ok {
		d.Sensors = make([]SensorInfo, len(a))
		for i, e := range a {
			so, isObj := e.(map[string]any)
			if !isObj {
				f.fail("field \"sensors\": sensor %d: want object, got %s", i, treeType(e))
				break
			}
			sf := fields{m: so}
			s := &d.Sensors[i]
			s.ID = sf.str("id", true)
			s.Kind = sf.str("kind", false)
			s.Unit = sf.str("unit", false)
			s.PeriodMS, _ = sf.uint("period_ms", false)
			s.Resolution, _ = sf.number("resolution", false)
			if sf.err != nil {
				f.fail("field \"sensors\": sensor %d: %s", i, sf.err.(*wireError).msg)
			}
		}
	}
	return f.err
}
