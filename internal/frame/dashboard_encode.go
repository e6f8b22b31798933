package frame

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Dashboard-link encoders: PROTOCOL.md, "Dashboard link". One writer covers
// both encodings: JSON objects, or CBOR maps with the same text keys in the
// same order. CBOR needs the pair count up front, so every encoder counts
// the fields it writes.

type objWriter struct {
	b     []byte
	cbor  bool
	first bool
	err   error
}

func newObjWriter(dst []byte, p Proto) (objWriter, error) {
	switch p {
	case ProtoJSON:
		return objWriter{b: dst}, nil
	case ProtoCBOR:
		return objWriter{b: dst, cbor: true}, nil
	}
	return objWriter{}, fmt.Errorf("frame: unknown dashboard encoding %d", p)
}

func (w *objWriter) open(n int) {
	if w.cbor {
		w.b = appendHead(w.b, majMap, uint64(n))
		return
	}
	w.b = append(w.b, '{')
	w.first = true
}

func (w *objWriter) close() {
	if !w.cbor {
		w.b = append(w.b, '}')
	}
	w.first = false
}

func (w *objWriter) openArray(n int) {
	if w.cbor {
		w.b = appendHead(w.b, majArray, uint64(n))
		return
	}
	w.b = append(w.b, '[')
	w.first = true
}

func (w *objWriter) closeArray() {
	if !w.cbor {
		w.b = append(w.b, ']')
	}
	w.first = false
}

// elem separates array elements.
func (w *objWriter) elem() {
	if !w.cbor {
		if !w.first {
			w.b = append(w.b, ',')
		}
		w.first = false
	}
}

// key writes an object key; keys are constants that need no escaping.
func (w *objWriter) key(k string) {
	if w.cbor {
		w.b = appendText(w.b, k)
		return
	}
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) str(s string) {
	if w.cbor {
		w.b = appendText(w.b, s)
	} else {
		w.b = appendJSONString(w.b, s)
	}
}

func (w *objWriter) uint(n uint64) {
	if w.cbor {
		w.b = appendUint(w.b, n)
	} else {
		w.b = strconv.AppendUint(w.b, n, 10)
	}
}

func (w *objWriter) int(n int64) {
	if w.cbor {
		w.b = appendInt(w.b, n)
	} else {
		w.b = strconv.AppendInt(w.b, n, 10)
	}
}

func (w *objWriter) bool(v bool) {
	switch {
	case w.cbor:
		w.b = appendBool(w.b, v)
	case v:
		w.b = append(w.b, "true"...)
	default:
		w.b = append(w.b, "false"...)
	}
}

// number writes a plain float (resolution, max_rate): exact in CBOR, the
// shortest decimal in JSON.
func (w *objWriter) number(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		w.fail(fmt.Errorf("frame: encode %v: %w", f, errNotFinite))
		return
	}
	if w.cbor {
		w.b = appendFloat(w.b, f, 0)
	} else {
		w.b = appendJSONNumber(w.b, f)
	}
}

func (w *objWriter) millis(ns int64) {
	if w.cbor {
		w.b = appendFloat(w.b, nsToMillis(ns), 0)
	} else {
		w.b = appendJSONMillis(w.b, ns)
	}
}

func (w *objWriter) value(v Value) {
	if w.cbor {
		var err error
		if w.b, err = appendValue(w.b, v); err != nil {
			w.fail(err)
		}
		return
	}
	switch v.kind {
	case KindInt:
		w.b = strconv.AppendInt(w.b, v.i, 10)
	case KindBool:
		w.bool(v.i != 0)
	default:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			w.fail(fmt.Errorf("frame: encode value %v: %w", v.f, errNotFinite))
			return
		}
		if v.res > 0 {
			w.b = appendJSONRounded(w.b, v.f, v.res)
		} else {
			w.b = appendJSONFloatValue(w.b, v.f)
		}
	}
}

func (w *objWriter) any(v any) {
	if w.cbor {
		var err error
		if w.b, err = appendAnyCBOR(w.b, v); err != nil {
			w.fail(err)
		}
		return
	}
	b, err := appendJSONAny(w.b, v)
	if err != nil {
		w.fail(fmt.Errorf("frame: encode value: %w", err))
		return
	}
	w.b = b
}

func (w *objWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *objWriter) textMap(m map[string]string) {
	cmp := strings.Compare
	if w.cbor {
		cmp = cborKeyLess
	}
	w.open(len(m))
	for _, k := range sortedKeys(m, cmp) {
		if w.cbor {
			w.b = appendText(w.b, k)
		} else {
			if !w.first {
				w.b = append(w.b, ',')
			}
			w.first = false
			w.b = appendJSONString(w.b, k)
			w.b = append(w.b, ':')
		}
		w.str(m[k])
	}
	w.close()
}

func (w *objWriter) sensorInfo(s *SensorInfo) {
	n := 1
	for _, set := range []bool{s.Kind != "", s.Unit != "", s.PeriodMS != 0, s.Resolution != 0} {
		if set {
			n++
		}
	}
	w.open(n)
	w.key("id")
	w.str(s.ID)
	if s.Kind != "" {
		w.key("kind")
		w.str(s.Kind)
	}
	if s.Unit != "" {
		w.key("unit")
		w.str(s.Unit)
	}
	if s.PeriodMS != 0 {
		w.key("period_ms")
		w.uint(s.PeriodMS)
	}
	if s.Resolution != 0 {
		w.key("resolution")
		w.number(s.Resolution)
	}
	w.close()
}

func (w *objWriter) samples(s []Sample) {
	w.openArray(len(s))
	for i := range s {
		w.elem()
		w.openArray(3)
		w.elem()
		w.str(s[i].Sensor)
		w.elem()
		w.uint(s[i].DT)
		w.elem()
		w.value(s[i].Value)
		w.closeArray()
	}
	w.closeArray()
}

func appendServer(dst []byte, m ServerMessage, p Proto) ([]byte, error) {
	w, err := newObjWriter(dst, p)
	if err != nil {
		return dst, err
	}
	switch m := m.(type) {
	case *DashFrame:
		w.frame(m)
	case *OK:
		w.ok(m)
	case *PresenceMsg:
		n := 4
		if m.Hub != "" {
			n++
		}
		if m.Region != "" {
			n++
		}
		w.open(n)
		w.key("op")
		w.str(OpPresence)
		w.key("ch")
		w.str(ChannelPresence)
		w.key("device")
		w.str(m.Device)
		w.key("online")
		w.bool(m.Online)
		if m.Hub != "" {
			w.key("hub")
			w.str(m.Hub)
		}
		if m.Region != "" {
			w.key("region")
			w.str(m.Region)
		}
		w.close()
	case *Reset:
		w.open(3)
		w.key("op")
		w.str(OpReset)
		w.key("ch")
		w.str(m.Ch)
		w.key("epoch")
		w.str(m.Epoch)
		w.close()
	case *CmdResult:
		withResult := m.OK && m.Result != nil
		n := 3
		if withResult || !m.OK {
			n++
		}
		w.open(n)
		w.key("op")
		w.str(OpResult)
		w.key("id")
		w.uint(m.ID)
		w.key("ok")
		w.bool(m.OK)
		if withResult {
			w.key("result")
			w.any(m.Result)
		} else if !m.OK {
			w.key("error")
			w.str(m.Error)
		}
		w.close()
	case *ErrorReply:
		n := 3
		if m.HasID {
			n++
		}
		w.open(n)
		w.key("op")
		w.str(OpError)
		if m.HasID {
			w.key("id")
			w.uint(m.ID)
		}
		w.key("code")
		w.int(int64(m.Code))
		w.key("message")
		w.str(m.Message)
		w.close()
	case *Pong:
		w.open(2)
		w.key("op")
		w.str(OpPong)
		w.key("id")
		w.uint(m.ID)
		w.close()
	case *DeviceList:
		w.open(3)
		w.key("op")
		w.str(OpDevices)
		w.key("id")
		w.uint(m.ID)
		w.key("devices")
		w.openArray(len(m.Devices))
		for i := range m.Devices {
			w.elem()
			w.device(&m.Devices[i])
		}
		w.closeArray()
		w.close()
	case nil:
		return dst, fmt.Errorf("frame: encode: nil server message")
	default:
		return dst, fmt.Errorf("frame: encode: unknown server message type %T", m)
	}
	if w.err != nil {
		return dst, fmt.Errorf("frame: encode %s: %w", m.ServerOp(), w.err)
	}
	return w.b, nil
}

// frame is the hot path: it runs once per frame and encoding, and its bytes
// go to every subscriber.
func (w *objWriter) frame(m *DashFrame) {
	w.open(7)
	w.key("op")
	w.str(OpFrame)
	w.key("ch")
	w.str(m.Ch)
	w.key("off")
	w.uint(m.Off)
	w.key("device")
	w.str(m.Device)
	w.key("seq")
	w.uint(m.Seq)
	w.key("t0")
	w.millis(m.T0)
	w.key("samples")
	w.samples(m.Samples)
	w.close()
}

func (w *objWriter) ok(m *OK) {
	n := 2
	if m.Ch != "" {
		n++
	}
	if m.HasPos {
		n += 2
	}
	if m.Recovered != nil {
		n++
	}
	if m.Filtered {
		n++
	}
	w.open(n)
	w.key("op")
	w.str(OpOK)
	w.key("id")
	w.uint(m.ID)
	if m.Ch != "" {
		w.key("ch")
		w.str(m.Ch)
	}
	if m.HasPos {
		w.key("epoch")
		w.str(m.Epoch)
		w.key("off")
		w.uint(m.Off)
	}
	if m.Recovered != nil {
		w.key("recovered")
		w.bool(*m.Recovered)
	}
	if m.Filtered {
		w.key("filtered")
		w.bool(true)
	}
	w.close()
}

// device writes one entry of the devices reply: id, online, labels,
// sensors and last_seen always; hub and region only while online.
func (w *objWriter) device(d *DeviceInfo) {
	n := 5
	if d.Online {
		if d.Hub != "" {
			n++
		}
		if d.Region != "" {
			n++
		}
	}
	if d.AgentVersion != "" {
		n++
	}
	w.open(n)
	w.key("id")
	w.str(d.ID)
	w.key("online")
	w.bool(d.Online)
	if d.Online && d.Hub != "" {
		w.key("hub")
		w.str(d.Hub)
	}
	if d.Online && d.Region != "" {
		w.key("region")
		w.str(d.Region)
	}
	w.key("labels")
	w.textMap(d.Labels)
	w.key("sensors")
	w.openArray(len(d.Sensors))
	for i := range d.Sensors {
		w.elem()
		w.sensorInfo(&d.Sensors[i])
	}
	w.closeArray()
	if d.AgentVersion != "" {
		w.key("agent_version")
		w.str(d.AgentVersion)
	}
	w.key("last_seen")
	w.millis(d.LastSeen)
	w.close()
}

func appendClient(dst []byte, m *ClientMessage, p Proto) ([]byte, error) {
	if m == nil {
		return dst, fmt.Errorf("frame: encode: nil client message")
	}
	w, err := newObjWriter(dst, p)
	if err != nil {
		return dst, err
	}
	set := []bool{m.HasID, m.Token != "", m.Ch != "", m.Since != nil, m.History > 0, m.Sensors != nil,
		m.MaxRate != 0, m.MinMax, m.Device != "", m.Name != "", m.Args != nil}
	n := 1
	for _, s := range set {
		if s {
			n++
		}
	}
	w.open(n)
	w.key("op")
	w.str(m.Op)
	if m.HasID {
		w.key("id")
		w.uint(m.ID)
	}
	if m.Token != "" {
		w.key("token")
		w.str(m.Token)
	}
	if m.Ch != "" {
		w.key("ch")
		w.str(m.Ch)
	}
	if m.Since != nil {
		w.key("since")
		w.open(2)
		w.key("epoch")
		w.str(m.Since.Epoch)
		w.key("off")
		w.uint(m.Since.Off)
		w.close()
	}
	if m.History > 0 {
		w.key("history")
		w.uint(uint64(m.History))
	}
	if m.Sensors != nil {
		w.key("sensors")
		w.openArray(len(m.Sensors))
		for _, s := range m.Sensors {
			w.elem()
			w.str(s)
		}
		w.closeArray()
	}
	if m.MaxRate != 0 {
		w.key("max_rate")
		w.number(m.MaxRate)
	}
	if m.MinMax {
		w.key("minmax")
		w.bool(true)
	}
	if m.Device != "" {
		w.key("device")
		w.str(m.Device)
	}
	if m.Name != "" {
		w.key("name")
		w.str(m.Name)
	}
	if m.Args != nil {
		w.key("args")
		w.any(m.Args)
	}
	w.close()
	if w.err != nil {
		return dst, fmt.Errorf("frame: encode %s: %w", m.Op, w.err)
	}
	return w.b, nil
}
