package frame

import (
	"errors"
	"fmt"
	"math"
)

// Agent link codec: PROTOCOL.md, "Agent link". Every message is a CBOR map
// with unsigned integer keys; key 0 is the kind. Encoders write keys in
// ascending order with the shortest heads, so equal messages encode to equal
// bytes.

var kindNames = [...]string{KindHello: "HELLO", KindWelcome: "WELCOME", KindFrame: "FRAME", KindAck: "ACK",
	KindCommand: "COMMAND", KindResult: "RESULT", KindError: "ERROR"}

// String returns the kind's name as PROTOCOL.md writes it ("FRAME").
func (k Kind) String() string {
	if k >= KindHello && k <= KindError {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

var keyNames = [...][]string{
	KindHello:   {0: "kind", 1: "device", 2: "agent version", 3: "sensors", 4: "labels", 5: "first_seq", 6: "spool id"},
	KindWelcome: {0: "kind", 1: "hub id", 2: "region", 3: "acked_seq"},
	KindFrame:   {0: "kind", 1: "seq", 2: "t0", 3: "samples", 4: "series"},
	KindAck:     {0: "kind", 1: "seq"},
	KindCommand: {0: "kind", 1: "command id", 2: "name", 3: "args"},
	KindResult:  {0: "kind", 1: "command id", 2: "ok", 3: "result", 4: "error"},
	KindError:   {0: "kind", 1: "code", 2: "message"},
}

var sensorKeyNames = []string{1: "id", 2: "kind", 3: "unit", 4: "period_ms", 5: "resolution"}

func keyName(names []string, key uint64) string {
	if key < uint64(len(names)) && names[key] != "" {
		return fmt.Sprintf("key %d (%s)", key, names[key])
	}
	return fmt.Sprintf("key %d", key)
}

// required keys per kind, as bit sets.
var requiredKeys = [...]uint64{
	KindHello:   1<<1 | 1<<5 | 1<<6,
	KindWelcome: 1<<1 | 1<<2 | 1<<3,
	KindFrame:   1<<1 | 1<<2 | 1<<3,
	KindAck:     1 << 1,
	KindCommand: 1<<1 | 1<<2,
	KindResult:  1<<1 | 1<<2,
	KindError:   1<<1 | 1<<2,
}

func missing(seen *keySet, required uint64, names []string) error {
	for k := uint64(0); k < 64; k++ {
		if required&(1<<k) != 0 && !seen.has(k) {
			return invalidf("missing required %s", keyName(names, k))
		}
	}
	return nil
}

func appendAgent(dst []byte, m Message) ([]byte, error) {
	var err error
	start := len(dst)
	switch m := m.(type) {
	case *Hello:
		dst, err = appendHello(dst, m)
	case *Welcome:
		dst = appendHead(dst, majMap, 4)
		dst = appendUint(dst, 0)
		dst = appendUint(dst, uint64(KindWelcome))
		dst = appendText(appendUint(dst, 1), m.HubID)
		dst = appendText(appendUint(dst, 2), m.Region)
		dst = appendUint(appendUint(dst, 3), m.AckedSeq)
	case *Frame:
		dst, err = appendFrame(dst, m)
	case *Ack:
		dst = appendHead(dst, majMap, 2)
		dst = appendUint(dst, 0)
		dst = appendUint(dst, uint64(KindAck))
		dst = appendUint(appendUint(dst, 1), m.Seq)
	case *Command:
		n := uint64(3)
		if m.Args != nil {
			n++
		}
		dst = appendHead(dst, majMap, n)
		dst = appendUint(dst, 0)
		dst = appendUint(dst, uint64(KindCommand))
		dst = appendText(appendUint(dst, 1), m.ID)
		dst = appendText(appendUint(dst, 2), m.Name)
		if m.Args != nil {
			dst, err = appendAnyCBOR(appendUint(dst, 3), m.Args)
		}
	case *Result:
		dst, err = appendResult(dst, m)
	case *Error:
		dst = appendHead(dst, majMap, 3)
		dst = appendUint(dst, 0)
		dst = appendUint(dst, uint64(KindError))
		dst = appendUint(appendUint(dst, 1), uint64(m.Code))
		dst = appendText(appendUint(dst, 2), m.Message)
	case nil:
		return dst, fmt.Errorf("frame: encode: nil message")
	default:
		return dst, fmt.Errorf("frame: encode: unknown message type %T", m)
	}
	if err != nil {
		return dst[:start], fmt.Errorf("frame: encode %v: %w", m.Kind(), err)
	}
	return dst, nil
}

func appendHello(dst []byte, m *Hello) ([]byte, error) {
	if !ValidDeviceID(m.DeviceID) {
		return dst, fmt.Errorf("device id %q does not match [A-Za-z0-9._-]{1,64}", m.DeviceID)
	}
	if m.FirstSeq == 0 {
		return dst, fmt.Errorf("first_seq is 0: seqs start at 1")
	}
	if m.SpoolID == "" {
		return dst, fmt.Errorf("empty spool id")
	}
	n := uint64(4)
	if m.AgentVersion != "" {
		n++
	}
	if len(m.Sensors) > 0 {
		n++
	}
	if len(m.Labels) > 0 {
		n++
	}
	dst = appendHead(dst, majMap, n)
	dst = appendUint(dst, 0)
	dst = appendUint(dst, uint64(KindHello))
	dst = appendText(appendUint(dst, 1), m.DeviceID)
	if m.AgentVersion != "" {
		dst = appendText(appendUint(dst, 2), m.AgentVersion)
	}
	if len(m.Sensors) > 0 {
		dst = appendHead(appendUint(dst, 3), majArray, uint64(len(m.Sensors)))
		for _, s := range m.Sensors {
			if math.IsNaN(s.Resolution) || math.IsInf(s.Resolution, 0) || s.Resolution < 0 {
				return dst, fmt.Errorf("sensor %q: resolution %v: want a finite number >= 0", s.ID, s.Resolution)
			}
			dst = appendSensorInfo(dst, &s)
		}
	}
	if len(m.Labels) > 0 {
		dst = appendTextMap(appendUint(dst, 4), m.Labels)
	}
	dst = appendUint(appendUint(dst, 5), m.FirstSeq)
	dst = appendText(appendUint(dst, 6), m.SpoolID)
	return dst, nil
}

func appendSensorInfo(dst []byte, s *SensorInfo) []byte {
	n := uint64(1)
	for _, set := range []bool{s.Kind != "", s.Unit != "", s.PeriodMS != 0, s.Resolution != 0} {
		if set {
			n++
		}
	}
	dst = appendHead(dst, majMap, n)
	dst = appendText(appendUint(dst, 1), s.ID)
	if s.Kind != "" {
		dst = appendText(appendUint(dst, 2), s.Kind)
	}
	if s.Unit != "" {
		dst = appendText(appendUint(dst, 3), s.Unit)
	}
	if s.PeriodMS != 0 {
		dst = appendUint(appendUint(dst, 4), s.PeriodMS)
	}
	if s.Resolution != 0 {
		dst = appendFloat(appendUint(dst, 5), s.Resolution, 0)
	}
	return dst
}

func appendFrame(dst []byte, m *Frame) ([]byte, error) {
	if m.Seq == 0 {
		return dst, fmt.Errorf("seq is 0: seqs start at 1")
	}
	var sc planScratch
	p := planSamples(m.Samples, &sc)
	n := uint64(4)
	if len(p.series) > 0 {
		n++
	}
	dst = appendHead(dst, majMap, n)
	dst = appendUint(dst, 0)
	dst = appendUint(dst, uint64(KindFrame))
	dst = appendUint(appendUint(dst, 1), m.Seq)
	dst = appendInt(appendUint(dst, 2), m.T0)
	var err error
	if dst, err = appendSamplesArray(appendUint(dst, 3), m.Samples, &p); err != nil {
		return dst, err
	}
	if len(p.series) > 0 {
		if dst, err = appendSeriesArray(appendUint(dst, 4), m.Samples, &p); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

func appendResult(dst []byte, m *Result) ([]byte, error) {
	n := uint64(4) // kind, id, ok, and result or error
	withResult := m.OK && m.Result != nil
	if m.OK && !withResult {
		n--
	}
	dst = appendHead(dst, majMap, n)
	dst = appendUint(dst, 0)
	dst = appendUint(dst, uint64(KindResult))
	dst = appendText(appendUint(dst, 1), m.ID)
	dst = appendBool(appendUint(dst, 2), m.OK)
	if withResult {
		return appendAnyCBOR(appendUint(dst, 3), m.Result)
	}
	if !m.OK {
		dst = appendText(appendUint(dst, 4), m.Error)
	}
	return dst, nil
}

func decodeAgent(b []byte, lim *Limits, ids *internTable) ([]Message, error) {
	l := lim.withDefaults(DefaultAgentMessageBytes)
	if len(b) > l.MaxMessageBytes {
		return nil, errf(ErrTooLarge, "message of %d bytes: limit %d", len(b), l.MaxMessageBytes)
	}
	if len(b) == 0 {
		return nil, errf(ErrUndecodable, "empty message")
	}
	r := reader{b: b, lim: l, ids: ids}
	var msgs []Message
	for i := 0; !r.atEnd(); i++ {
		m, err := r.agentMessage()
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				if werr := wellFormed(b, l); werr != nil {
					return nil, werr
				}
			}
			if i > 0 {
				err = within(err, "item %d of the sequence", i+1)
			}
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// wellFormed returns the ErrUndecodable error of a message that is not a
// well-formed CBOR sequence, else nil. Decoders call it when they found a
// message invalid: bytes that are not CBOR at all are undecodable (close
// 1007), whatever else is wrong with them.
func wellFormed(b []byte, l Limits) error {
	r := reader{b: b, lim: l}
	for !r.atEnd() {
		if err := r.skip(); err != nil {
			if errors.Is(err, ErrUndecodable) {
				return err
			}
			return nil
		}
	}
	return nil
}

// agentMessage reads one agent-link map.
func (r *reader) agentMessage() (Message, error) {
	n, err := r.readMap()
	if err != nil {
		return nil, within(err, "message")
	}
	var seen keySet
	if n == 0 {
		return nil, invalidf("missing required key 0 (kind)")
	}
	first := r.off
	k, err := r.readKey(&seen)
	if err != nil {
		return nil, err
	}
	var d agentDecoder
	if k == 0 {
		// Fast path: the kind comes first, as every encoder of this package writes it.
		if err := d.start(r); err != nil {
			return nil, err
		}
		for i := 1; i < n; i++ {
			k, err := r.readKey(&seen)
			if err != nil {
				return nil, within(err, "%v", d.kind)
			}
			if err := d.field(r, k); err != nil {
				return nil, within(err, "%v: %s", d.kind, keyName(keyNames[d.kind], k))
			}
		}
	} else {
		// Slow path: find the kind, then decode the fields where they are.
		r.off = first
		seen = keySet{}
		type pos struct {
			key uint64
			off int
		}
		var fields []pos
		kindOff := -1
		for i := 0; i < n; i++ {
			k, err := r.readKey(&seen)
			if err != nil {
				return nil, err
			}
			if k == 0 {
				kindOff = r.off
			} else {
				fields = append(fields, pos{k, r.off})
			}
			if err := r.skip(); err != nil {
				return nil, err
			}
		}
		if kindOff < 0 {
			return nil, invalidf("missing required key 0 (kind)")
		}
		end := r.off
		r.off = kindOff
		if err := d.start(r); err != nil {
			return nil, err
		}
		for _, f := range fields {
			r.off = f.off
			if err := d.field(r, f.key); err != nil {
				return nil, within(err, "%v: %s", d.kind, keyName(keyNames[d.kind], f.key))
			}
		}
		r.off = end
	}
	r.leave()
	m, err := d.finish(r, &seen)
	if err != nil {
		return nil, within(err, "%v", d.kind)
	}
	return m, nil
}

// agentDecoder holds the message being decoded.
type agentDecoder struct {
	kind    Kind
	msg     Message
	samples sampleDecoder
}

func (d *agentDecoder) start(r *reader) error {
	k, err := r.readUint()
	if err != nil {
		return within(err, "key 0 (kind)")
	}
	switch Kind(k) {
	case KindHello:
		d.msg = &Hello{}
	case KindWelcome:
		d.msg = &Welcome{}
	case KindFrame:
		d.msg = &Frame{}
	case KindAck:
		d.msg = &Ack{}
	case KindCommand:
		d.msg = &Command{}
	case KindResult:
		d.msg = &Result{}
	case KindError:
		d.msg = &Error{}
	default:
		return invalidf("unknown kind %d", k)
	}
	d.kind = Kind(k)
	return nil
}

// field decodes the value of key k; unknown keys are skipped.
func (d *agentDecoder) field(r *reader, k uint64) error {
	var err error
	switch m := d.msg.(type) {
	case *Hello:
		switch k {
		case 1:
			if m.DeviceID, err = r.readText(); err == nil && !ValidDeviceID(m.DeviceID) {
				err = invalidf("device id %q does not match [A-Za-z0-9._-]{1,64}", m.DeviceID)
			}
		case 2:
			m.AgentVersion, err = r.readText()
		case 3:
			if m.Sensors, err = r.readSensors(); len(m.Sensors) == 0 {
				m.Sensors = nil // as when absent: encoders omit an empty list
			}
		case 4:
			if m.Labels, err = r.readTextMap(); len(m.Labels) == 0 {
				m.Labels = nil
			}
		case 5:
			if m.FirstSeq, err = r.readUint(); err == nil && m.FirstSeq == 0 {
				err = invalidf("first_seq is 0: seqs start at 1")
			}
		case 6:
			if m.SpoolID, err = r.readText(); err == nil && m.SpoolID == "" {
				err = invalidf("empty spool id")
			}
		default:
			err = r.skip()
		}
	case *Welcome:
		switch k {
		case 1:
			m.HubID, err = r.readText()
		case 2:
			m.Region, err = r.readText()
		case 3:
			m.AckedSeq, err = r.readUint()
		default:
			err = r.skip()
		}
	case *Frame:
		switch k {
		case 1:
			if m.Seq, err = r.readUint(); err == nil && m.Seq == 0 {
				err = invalidf("seq is 0: seqs start at 1")
			}
		case 2:
			m.T0, err = r.readInt()
		case 3:
			err = d.samples.readSamples(r)
		case 4:
			err = d.samples.readSeries(r)
		default:
			err = r.skip()
		}
	case *Ack:
		switch k {
		case 1:
			m.Seq, err = r.readUint()
		default:
			err = r.skip()
		}
	case *Command:
		switch k {
		case 1:
			m.ID, err = r.readText()
		case 2:
			m.Name, err = r.readText()
		case 3:
			m.Args, err = r.readArgs()
		default:
			err = r.skip()
		}
	case *Result:
		switch k {
		case 1:
			m.ID, err = r.readText()
		case 2:
			m.OK, err = r.readBool()
		case 3:
			m.Result, err = r.readAny()
		case 4:
			m.Error, err = r.readText()
		default:
			err = r.skip()
		}
	case *Error:
		switch k {
		case 1:
			var c uint64
			if c, err = r.readUint(); err == nil && c > math.MaxUint16 {
				err = invalidf("code %d out of range", c)
			}
			m.Code = uint16(c)
		case 2:
			m.Message, err = r.readText()
		default:
			err = r.skip()
		}
	}
	return err
}

func (d *agentDecoder) finish(r *reader, seen *keySet) (Message, error) {
	if err := missing(seen, requiredKeys[d.kind], keyNames[d.kind]); err != nil {
		return nil, err
	}
	switch m := d.msg.(type) {
	case *Frame:
		m.Samples = d.samples.result()
	case *Result:
		if m.OK {
			m.Error = "" // key 4 only counts when ok is false
		} else {
			m.Result = nil
			if !seen.has(4) {
				return nil, invalidf("missing required key 4 (error): required when ok is false")
			}
		}
	}
	return d.msg, nil
}

func (r *reader) readSensors() ([]SensorInfo, error) {
	n, err := r.readArray()
	if err != nil {
		return nil, err
	}
	out := make([]SensorInfo, n)
	for i := range out {
		if err := r.readSensorInfo(&out[i]); err != nil {
			return nil, within(err, "sensor %d", i)
		}
	}
	r.leave()
	return out, nil
}

func (r *reader) readSensorInfo(s *SensorInfo) error {
	n, err := r.readMap()
	if err != nil {
		return err
	}
	var seen keySet
	for i := 0; i < n; i++ {
		k, err := r.readKey(&seen)
		if err != nil {
			return err
		}
		switch k {
		case 1:
			s.ID, err = r.readText()
		case 2:
			s.Kind, err = r.readText()
		case 3:
			s.Unit, err = r.readText()
		case 4:
			s.PeriodMS, err = r.readUint()
		case 5:
			if s.Resolution, err = r.readNumber(); err == nil && s.Resolution < 0 {
				err = invalidf("negative resolution %v", s.Resolution)
			}
		default:
			err = r.skip()
		}
		if err != nil {
			return within(err, "%s", keyName(sensorKeyNames, k))
		}
	}
	r.leave()
	return missing(&seen, 1<<1, sensorKeyNames)
}

// readTextMap reads a map text -> text, refusing duplicate keys.
func (r *reader) readTextMap() (map[string]string, error) {
	n, err := r.readMap()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, n)
	for i := 0; i < n; i++ {
		k, err := r.readText()
		if err != nil {
			return nil, within(err, "map key")
		}
		v, err := r.readText()
		if err != nil {
			return nil, within(err, "value of %q", k)
		}
		if _, dup := m[k]; dup {
			return nil, invalidf("duplicate key %q", k)
		}
		m[k] = v
	}
	r.leave()
	return m, nil
}

func (r *reader) readAny() (any, error) {
	b, err := r.raw()
	if err != nil {
		return nil, err
	}
	dm, err := decModeFor(r.lim)
	if err != nil {
		return nil, err
	}
	return decodeAny(dm, b)
}

func (r *reader) readArgs() (map[string]any, error) {
	if m, err := r.peekMajor(); err != nil {
		return nil, err
	} else if m != 5 {
		_, info, _, _ := r.head()
		return nil, wantErr("map", m, info)
	}
	v, err := r.readAny()
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}
